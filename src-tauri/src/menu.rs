//! The native menu bar. The standard edit items (undo, cut, copy, paste, select all)
//! are the system's own, which macOS needs for its shortcuts to reach the editor. The
//! app's own items are sent to the window as a `menu` event naming the command, the
//! same commands its keyboard shortcuts run.

use tauri::menu::{
    AboutMetadataBuilder, Menu, MenuBuilder, MenuEvent, MenuItemBuilder, PredefinedMenuItem,
    SubmenuBuilder,
};
use tauri::{AppHandle, Emitter, Runtime};

/// The window's commands a menu item can run: (id, label, accelerator).
const FILE_ITEMS: [(&str, &str, &str); 3] = [
    ("new", "New Document", "CmdOrCtrl+N"),
    ("import", "Import Markdown…", "CmdOrCtrl+O"),
    ("join", "Join with a Link…", "CmdOrCtrl+J"),
];
const VIEW_ITEMS: [(&str, &str, &str); 4] = [
    ("search", "Search", "CmdOrCtrl+K"),
    ("history", "History", "CmdOrCtrl+Shift+H"),
    ("share", "Share…", "CmdOrCtrl+Shift+S"),
    ("settings", "Settings…", "CmdOrCtrl+,"),
];

/// Shows the backups and how to restore one (see `backups.rs`).
const RESTORE_BACKUP: &str = "restore-backup";

/// Builds the menu bar.
pub(crate) fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Menu<R>> {
    let item = |(id, label, accelerator): (&str, &str, &str)| {
        MenuItemBuilder::with_id(id, label)
            .accelerator(accelerator)
            .build(app)
    };
    let about = AboutMetadataBuilder::new()
        .name(Some("Quire"))
        .version(Some(env!("CARGO_PKG_VERSION")))
        .comments(Some(
            "Local-first collaborative Markdown editor: your documents stay on your devices.",
        ))
        .license(Some(env!("CARGO_PKG_LICENSE")))
        .build();

    let mut file = SubmenuBuilder::new(app, "File");
    for entry in FILE_ITEMS {
        file = file.item(&item(entry)?);
    }
    let file = file
        .separator()
        .item(&MenuItemBuilder::with_id(RESTORE_BACKUP, "Restore from a Backup…").build(app)?)
        .separator()
        .item(&PredefinedMenuItem::close_window(app, None)?);
    // macOS has Quit in the app menu.
    #[cfg(not(target_os = "macos"))]
    let file = file.item(&PredefinedMenuItem::quit(app, None)?);
    let file = file.build()?;
    let edit = SubmenuBuilder::new(app, "Edit")
        .undo()
        .redo()
        .separator()
        .cut()
        .copy()
        .paste()
        .select_all()
        .build()?;
    let mut view = SubmenuBuilder::new(app, "View");
    for entry in VIEW_ITEMS {
        view = view.item(&item(entry)?);
    }
    let view = view.build()?;
    let help = SubmenuBuilder::new(app, "Help")
        .item(&PredefinedMenuItem::about(
            app,
            Some("About Quire"),
            Some(about),
        )?)
        .build()?;

    let bar = MenuBuilder::new(app);
    #[cfg(target_os = "macos")]
    let bar = bar.item(&app_menu(app)?);
    bar.items(&[&file, &edit, &view, &help]).build()
}

/// macOS puts the first submenu under the app's name.
#[cfg(target_os = "macos")]
fn app_menu<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<tauri::menu::Submenu<R>> {
    SubmenuBuilder::new(app, "Quire")
        .services()
        .separator()
        .hide()
        .hide_others()
        .show_all()
        .separator()
        .quit()
        .build()
}

/// Runs an app menu item: import here (a page may not open a file dialog on its
/// own), the others by sending the window their command.
pub(crate) fn forward<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    let id = event.id().as_ref();
    if id == "import" {
        let app = app.clone();
        tauri::async_runtime::spawn(crate::import::pick_and_import(app));
        return;
    }
    if id == RESTORE_BACKUP {
        crate::backups::show(app);
        return;
    }
    let known = FILE_ITEMS
        .iter()
        .chain(&VIEW_ITEMS)
        .any(|(item, ..)| *item == id);
    if known && let Err(e) = app.emit("menu", id) {
        tracing::warn!("cannot send the menu command {id} to the window: {e}");
    }
}
