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
                .map(|b| format!("  {}.  {}", b.number, local_time(b.made_at)))
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

/// `2026-12-07 02:00 UTC` from ms since the epoch.
fn local_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}
