# Builds the Linux installers with the pinned Tauri CLI (`npm --prefix ui run tauri --
# build`) and checks what a user would install: a .deb with the app, its desktop entry
# registered for quire:// links (passed on as %u), and its libraries all found; and an
# .rpm. Sourced by scripts/test.

check_installers() {
    [ "$(uname -s)" = Linux ] || { echo "installers: checked on Linux only"; return 0; }
    command -v dpkg-deb >/dev/null || { echo "installers: dpkg-deb is needed to check the .deb"; return 1; }
    local bundle=target/release/bundle deb rpm root
    # Only this build's packages are checked.
    rm -rf "$bundle/deb" "$bundle/rpm"
    npm --prefix ui run tauri --silent -- build --bundles deb,rpm --ci || return 1
    deb=$(ls "$bundle"/deb/*.deb 2>/dev/null | head -n1)
    rpm=$(ls "$bundle"/rpm/*.rpm 2>/dev/null | head -n1)
    [ -n "$deb" ] || { echo "installers: no .deb was made"; return 1; }
    [ -n "$rpm" ] || { echo "installers: no .rpm was made"; return 1; }
    root=$(mktemp -d)
    dpkg-deb -x "$deb" "$root"
    local desktop="$root/usr/share/applications/Quire.desktop" problems=()
    [ -x "$root/usr/bin/quire-app" ] || problems+=("the .deb has no usr/bin/quire-app")
    grep -qx 'MimeType=x-scheme-handler/quire;' "$desktop" || problems+=("the desktop entry does not take quire:// links")
    grep -qx 'Exec=quire-app %u' "$desktop" || problems+=("the desktop entry does not pass the link to the app")
    dpkg-deb -f "$deb" Depends | grep -q libwebkit2gtk-4.1 || problems+=("the .deb does not depend on WebKitGTK 4.1")
    if ldd "$root/usr/bin/quire-app" | grep -q 'not found'; then
        problems+=("the app needs libraries this system lacks: $(ldd "$root/usr/bin/quire-app" | grep 'not found' | tr -s ' \n' ' ')")
    fi
    # An RPM file starts with the lead magic ed ab ee db.
    [ "$(head -c4 "$rpm" | od -An -tx1 | tr -d ' \n')" = edabeedb ] || problems+=("$rpm is not an RPM package")
    rm -rf "$root"
    if [ ${#problems[@]} -gt 0 ]; then
        printf 'installers: %s\n' "${problems[@]}"
        return 1
    fi
    echo "installers: ok ($(du -h "$deb" | cut -f1) $(basename "$deb"), $(du -h "$rpm" | cut -f1) $(basename "$rpm"))"
}
