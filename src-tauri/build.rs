//! Tauri's build step. The one `tauri.conf.json` is at the repository root (where the
//! Tauri CLI finds it too); tauri-build reads the configuration from the working
//! folder, so it runs from there.

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if let Err(e) = std::env::set_current_dir(&root) {
        panic!("cannot enter the repository root {}: {e}", root.display());
    }
    println!("cargo:rerun-if-changed=../tauri.conf.json");
    tauri_build::build();
}
