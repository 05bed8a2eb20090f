# Debian packages Quire needs to build and test, installed with apt when missing
# (as root) or listed for the user to install. Sourced by scripts/test and scripts/run.

# The desktop app (Tauri 2 on WebKitGTK 4.1), its end-to-end test (a WebDriver for
# WebKitGTK and a virtual display), the namespace tests (`ip`, `ping`) and their NAT routers (`iptables`).
QUIRE_APT_PACKAGES=(
    libwebkit2gtk-4.1-dev libjavascriptcoregtk-4.1-dev libsoup-3.0-dev librsvg2-dev
    libxdo-dev libssl-dev libayatana-appindicator3-dev build-essential pkg-config file
    webkit2gtk-driver xvfb iproute2 iptables iputils-ping
)

ensure_system_packages() {
    [ "$(uname -s)" = Linux ] || return 0
    command -v dpkg-query >/dev/null || return 0
    local missing=()
    for p in "${QUIRE_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "missing Debian packages: ${missing[*]}"
        echo "install them with: sudo apt-get install ${missing[*]}"
        return 1
    fi
}
