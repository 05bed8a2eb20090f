//! Importing Markdown files chosen in the system's file dialog (File → Import
//! Markdown…, or Ctrl/Cmd+O). The dialog and the reading happen here, not in the page:
//! a page may only open a file chooser during a click, which a menu item is not, and
//! the engine reads each file whole, refusing one that is not UTF-8 rather than
//! replacing what it cannot decode.
//!
//! The window follows along through `import-progress` (which file of how many) and
//! `import-done` (the last document imported, and the files that failed and why).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_dialog::DialogExt;

use quire_engine::Engine;

use crate::App;

/// Whether an import is running (one at a time: a second request is ignored).
static RUNNING: AtomicBool = AtomicBool::new(false);

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct ImportProgress {
    done: usize,
    total: usize,
    name: String,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct ImportDone {
    /// The last document imported, which the window opens.
    last: Option<String>,
    /// "name (why)" for each file that was not imported.
    failed: Vec<String>,
}

/// Asks for Markdown files and imports them one by one; returns how many were
/// imported (none when the dialog was cancelled or an import already runs).
pub(crate) async fn pick_and_import<R: Runtime>(app: AppHandle<R>) -> usize {
    if RUNNING.swap(true, Ordering::SeqCst) {
        return 0;
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Import Markdown files")
        .add_filter("Markdown", &["md", "markdown", "mdown", "txt"])
        .pick_files(move |files| {
            let _ = tx.send(files);
        });
    let chosen = rx.await.ok().flatten().unwrap_or_default();
    let paths: Vec<PathBuf> = chosen
        .into_iter()
        .filter_map(|file| file.into_path().ok())
        .collect();
    let engine = app.state::<App>().engine.clone();
    let imported = import_paths(&engine, &paths, |event| {
        let _ = match event {
            ImportEvent::Progress(p) => app.emit("import-progress", p),
            ImportEvent::Done(d) => app.emit("import-done", d),
        };
    })
    .await;
    RUNNING.store(false, Ordering::SeqCst);
    imported
}

/// What an import reports as it goes.
enum ImportEvent {
    Progress(ImportProgress),
    Done(ImportDone),
}

/// Imports `paths` one by one into `engine`, reporting each file before it and the
/// outcome after all of them; returns how many were imported.
async fn import_paths(engine: &Engine, paths: &[PathBuf], report: impl Fn(ImportEvent)) -> usize {
    if paths.is_empty() {
        return 0;
    }
    let (mut last, mut failed, mut imported) = (None, Vec::new(), 0);
    for (done, path) in paths.iter().enumerate() {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        report(ImportEvent::Progress(ImportProgress {
            done,
            total: paths.len(),
            name: name.clone(),
        }));
        match engine.import_markdown(path).await {
            Ok(id) => {
                last = Some(id.to_string());
                imported += 1;
            }
            Err(e) => failed.push(format!("{name} ({e})")),
        }
    }
    report(ImportEvent::Done(ImportDone { last, failed }));
    imported
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Mutex;

    use quire_engine::EngineConfig;

    use super::*;

    #[test]
    fn files_are_imported_one_by_one_and_refusals_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let files = dir.path().join("files");
        std::fs::create_dir(&files).unwrap();
        let notes = files.join("notes.md");
        std::fs::write(&notes, "# Meeting notes\r\nAgreed: ship it.\r\n").unwrap();
        let latin1 = files.join("latin1.md");
        std::fs::write(&latin1, b"caf\xe9\n").unwrap();
        let plain = files.join("todo.txt");
        std::fs::write(&plain, "buy milk\n").unwrap();

        tauri::async_runtime::block_on(async {
            let engine = Engine::open(EngineConfig::new(dir.path().join("data")))
                .await
                .unwrap();
            let events = Mutex::new(Vec::new());
            let imported = import_paths(&engine, &[notes, latin1, plain], |e| {
                events.lock().unwrap().push(match e {
                    ImportEvent::Progress(p) => {
                        format!("{} of {}: {}", p.done + 1, p.total, p.name)
                    }
                    ImportEvent::Done(d) => {
                        format!("done, last {:?}, failed {:?}", d.last.is_some(), d.failed)
                    }
                });
            })
            .await;
            assert_eq!(imported, 2);
            let events = events.into_inner().unwrap();
            assert_eq!(
                events[..3],
                ["1 of 3: notes.md", "2 of 3: latin1.md", "3 of 3: todo.txt"]
            );
            assert!(
                events[3].starts_with("done, last true, failed [\"latin1.md ("),
                "{events:?}"
            );
            assert!(events[3].contains("UTF-8"), "{events:?}");

            let mut titles: Vec<String> = engine
                .list()
                .await
                .unwrap()
                .into_iter()
                .map(|d| d.title)
                .collect();
            titles.sort();
            assert_eq!(titles, ["Meeting notes", "todo"]);
            let docs = engine.list().await.unwrap();
            let meeting = docs.iter().find(|d| d.title == "Meeting notes").unwrap();
            assert_eq!(
                engine.text(meeting.id).await.unwrap(),
                "# Meeting notes\nAgreed: ship it.\n"
            );
            engine.close().await.unwrap();
        });
    }
}
