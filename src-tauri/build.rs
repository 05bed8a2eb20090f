//! Tauri's build step: reads the one `tauri.conf.json` at the repository root, next to
//! the app's `Cargo.toml` (where the Tauri CLI finds it too).

fn main() {
    tauri_build::build();
}
