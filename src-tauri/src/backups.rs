//! File → Restore from a Backup…: shows the backups Quire keeps and how to restore
//! one. The restore itself is not done live: the app holds the database open, and
//! putting a backup in its place under a running engine (and a sync node that is
//! sending its updates to peers) would lose or mix edits. The dialog names the
//! command that restores safely once Quire has quit (`quire backup restore N`,
//! which keeps the replaced database beside it).

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_dialog::DialogExt;

use crate::App;

/// Most backups listed in the dialog (every kept one, as [`quire_engine::BACKUPS_KEPT`]).
const LISTED: usize = quire_engine::BACKUPS_KEPT;

/// Shows the backups and the restore command.
pub(crate) fn show<R: Runtime>(app: &AppHandle<R>) {
    let folder = app.state::<App>().data_folder.clone();
    let text = match quire_engine::list_backups(&folder) {
        Ok(backups) if backups.is_empty() => format!(
            "There is no backup yet in {}.\n\nQuire makes one every day while it runs, and each time it quits.",
            folder.join(quire_engine::BACKUP_DIR).display()
        ),
        Ok(backups) => {
            let lines: Vec<String> = backups
                .iter()
                .take(LISTED)
                .map(|b| {
                    format!(
                        "  {}.  {}",
                        b.number,
                        quire_engine::local_time_label(b.made_at)
                    )
                })
                .collect();
            format!(
                "Quire keeps these backups of your documents (newest first), made every day and each time it quits:\n\n{}\n\nTo restore one, quit Quire, then run in a terminal:\n\n    quire backup restore NUMBER\n\nThe documents as they are now are kept beside it, not deleted. A backup cannot be restored while Quire is open, because the documents in use would be replaced under it.",
                lines.join("\n")
            )
        }
        Err(e) => format!("The backups cannot be listed: {e}"),
    };
    app.dialog()
        .message(text)
        .title("Restore from a Backup")
        .show(|_| {});
}
