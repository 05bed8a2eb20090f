//! Saying why the app cannot start. Started from a terminal, the message goes to
//! stderr; started from the desktop (no terminal to read), it is also shown in a
//! system message box, since otherwise nothing at all would happen
//! (`QUIRE_NO_DIALOGS` set to anything turns the box off, for scripts and tests).

use std::io::IsTerminal;
use std::process::ExitCode;

/// Reports `message` and gives the exit code for a failed start.
pub(crate) fn fail(message: &str) -> ExitCode {
    eprintln!("quire-app: {message}");
    let wanted = std::env::var_os("QUIRE_NO_DIALOGS").is_none();
    if wanted && !std::io::stderr().is_terminal() && has_display() {
        rfd::MessageDialog::new()
            .set_level(rfd::MessageLevel::Error)
            .set_title("Quire cannot start")
            .set_description(message)
            .set_buttons(rfd::MessageButtons::Ok)
            .show();
    }
    ExitCode::FAILURE
}

/// Whether there is a screen to show a message box on.
fn has_display() -> bool {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}
