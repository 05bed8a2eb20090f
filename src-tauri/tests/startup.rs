//! The app refuses to start on a data folder it cannot use, saying which and why,
//! and exits with a failure code (no window, no half-made folder).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn a_data_folder_that_cannot_be_made_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let folder = file.join("quire");
    let out = Command::new(env!("CARGO_BIN_EXE_quire-app"))
        .env("QUIRE_DATA_DIR", &folder)
        // The reason goes to stderr only: no message box to wait on.
        .env("QUIRE_NO_DIALOGS", "1")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot use the data folder")
            && stderr.contains(&*folder.to_string_lossy()),
        "{stderr}"
    );
    assert!(!folder.exists());
}
