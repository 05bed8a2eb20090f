//! End to end: the real app in a real window (Xvfb), driven through WebDriver
//! (`tauri-driver` + `WebKitWebDriver`). Create a document, type, move and resize the
//! window, quit, relaunch: the text is there (and on disk), and the window is where it
//! was left. Screenshots of each step go to `target/e2e/`.
//!
//! Needs `Xvfb`, `WebKitWebDriver` (Debian `webkit2gtk-driver`) and `tauri-driver`
//! (`cargo install tauri-driver --locked`); `scripts/test` installs them. Where one is
//! missing the test says which and fails, unless `QUIRE_E2E=skip` asks to skip.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::{Driver, Session};

#[test]
fn a_document_typed_in_the_app_is_there_after_a_relaunch() {
    if !support::tools_present() {
        return;
    }
    let shots = support::shots();
    let data = tempfile::tempdir().unwrap();
    let (display, _xvfb) = support::display();
    let driver = Driver::start(&display, data.path());
    let port = driver.port;
    let app = Path::new(env!("CARGO_BIN_EXE_quire-app"));

    // First run: an empty app; make a document and type.
    let first = Session::start(port, app);
    first.wait_for(
        "the app",
        "return document.querySelector('button.primary') !== null",
    );
    first.screenshot(&shots.join("01-first-run.png"));
    first.script("document.querySelector('button.primary').click(); return true");
    first.wait_for(
        "the editor",
        "return document.querySelector('.cm-content') !== null",
    );
    const TEXT: &str = "Typed in a real window, kept across a relaunch.";
    first.type_into(".cm-content", TEXT);
    first.wait_for(
        "the text in the editor",
        &format!("return document.querySelector('.cm-content').textContent.includes({TEXT:?})"),
    );
    // The bridge sends edits to the engine, which answers once they are durable.
    std::thread::sleep(Duration::from_secs(2));
    first.screenshot(&shots.join("02-typed.png"));
    const PLACE: [i64; 4] = [64, 48, 960, 640];
    first.set_window_rect(PLACE);
    std::thread::sleep(Duration::from_secs(1)); // written down within half a second
    assert_eq!(first.window_rect(), PLACE, "the window moved and resized");
    first.quit();

    // On disk, as another process sees it once the app has let go of the folder.
    let on_disk = tauri::async_runtime::block_on(async {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match quire_engine::Engine::open(quire_engine::EngineConfig::new(data.path())).await {
                Ok(engine) => {
                    let docs = engine.list().await.unwrap();
                    assert_eq!(docs.len(), 1, "one document was made");
                    let text = engine.text(docs[0].id).await.unwrap();
                    engine.close().await.unwrap();
                    break text;
                }
                Err(quire_engine::EngineError::Busy(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("{e}"),
            }
        }
    });
    assert!(on_disk.contains(TEXT), "on disk: {on_disk:?}");

    // Relaunch: the document is listed, and opening it shows the text.
    let second = Session::start(port, app);
    second.wait_for(
        "the document list",
        "return document.querySelector('button.doc-open') !== null",
    );
    second.script("document.querySelector('button.doc-open').click(); return true");
    second.wait_for(
        "the text after a relaunch",
        &format!("const c = document.querySelector('.cm-content'); return c !== null && c.textContent.includes({TEXT:?})"),
    );
    second.screenshot(&shots.join("03-relaunched.png"));
    assert_eq!(
        second.window_rect(),
        PLACE,
        "the window is where it was left"
    );
    second.quit();
}
