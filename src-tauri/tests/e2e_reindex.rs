//! End to end, an upgrade: the real app (Xvfb, WebDriver) opens a data folder whose
//! database an older Quire wrote (schema 2, its search index of the old kind). The
//! index is rebuilt in the background while the app is in use: under the search box
//! the page says "Reindexing… N of M" with N growing, search answers meanwhile from
//! what is indexed, the document list is there, and once the rebuild is done the line
//! goes away and search finds every document. Screenshots go to `target/e2e/`.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Driver, Session};

/// Documents in the upgraded folder: enough that the rebuild outlasts the app's
/// start several times over (measured on the 2-core machine, debug build, busy with
/// other builds: the line first seen 5 s after the app started, the rebuild done
/// after 23 to 74 s; with 6,000 documents it was sometimes over before the page
/// looked twice).
const DOCUMENTS: usize = 20_000;
/// Documents created at once (the engine groups their commits).
const CREATE_BATCH: usize = 500;
/// A paragraph of filler, so each document costs the rebuild some reading.
const FILLER: &str = "Notes on the garden, the orchard and the greenhouse; 東京で寿司を食べた。 ";
/// Paragraphs of filler per document.
const FILLER_REPEAT: usize = 20;
/// The longest the rebuild may take before the test gives up.
const REBUILD_PATIENCE: Duration = Duration::from_secs(600);

/// What schema 2 left: the same tables, with the old index (one FTS5 table holding its
/// own copy of titles and bodies), as in quire-store's `search_rebuild` test.
const SCHEMA_2_INDEX: &str = "
DROP TABLE search_index;
DROP TABLE search_text;
CREATE VIRTUAL TABLE search USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO search (rowid, title, body) SELECT rowid, title, '' FROM documents;
PRAGMA user_version = 2;
";

/// A word found in document `n` only.
fn marker(n: usize) -> String {
    format!("marker{n:05}")
}

fn fill_data_folder(dir: &Path) {
    tauri::async_runtime::block_on(async {
        let engine = quire_engine::Engine::open(quire_engine::EngineConfig::new(dir))
            .await
            .unwrap();
        for batch in (0..DOCUMENTS).collect::<Vec<_>>().chunks(CREATE_BATCH) {
            let tasks: Vec<_> = batch
                .iter()
                .map(|&n| {
                    let engine = engine.clone();
                    tauri::async_runtime::spawn(async move {
                        let text = format!(
                            "# Note {n}\n\n{} {}\n",
                            FILLER.repeat(FILLER_REPEAT),
                            marker(n)
                        );
                        engine.create(&format!("Note {n:05}"), &text).await.unwrap();
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        }
        engine.close().await.unwrap();
    });
    let db = rusqlite::Connection::open(dir.join("quire.db")).unwrap();
    db.execute_batch(SCHEMA_2_INDEX).unwrap();
}

/// The reindexing line's text while it is shown, else null.
const STATUS: &str = "const s = document.querySelector('.search-status'); return s && !s.hidden ? s.textContent : null;";

/// `done` of "Reindexing… done of total", checking the total.
fn progress(text: &str) -> u64 {
    let rest = text
        .strip_prefix("Reindexing… ")
        .unwrap_or_else(|| panic!("{text:?}"));
    let (done, total) = rest.split_once(" of ").unwrap();
    assert_eq!(total, DOCUMENTS.to_string(), "{text:?}");
    done.parse().unwrap()
}

/// Waits until the search results list the document titled `title`.
fn wait_for_hit(session: &Session, what: &str, title: &str) {
    session.wait_for(
        what,
        &format!("return [...document.querySelectorAll('.doc-list .doc-item.hit .doc-title')].some(t => t.textContent === {title:?});"),
    );
}

#[test]
fn an_upgraded_database_is_reindexed_in_the_background_and_the_app_says_so() {
    if !support::tools_present() {
        return;
    }
    let shots = support::shots();
    let data = tempfile::tempdir().unwrap();
    let made = Instant::now();
    fill_data_folder(data.path());
    println!(
        "data folder: {DOCUMENTS} documents of schema 2 made in {:.1} s",
        made.elapsed().as_secs_f64()
    );
    let (display, _xvfb) = support::display();
    let driver = Driver::start(&display, data.path());
    let started = Instant::now();
    let session = Session::start(driver.port, support::app());

    let first = session.wait_for("the reindexing line", STATUS);
    let first = first.as_str().unwrap().to_owned();
    let mut seen = vec![progress(&first)];
    println!(
        "reindexing line {first:?} seen {:.1} s after the app started",
        started.elapsed().as_secs_f64()
    );

    // The app stays usable: the document list is there while the rebuild runs.
    let listed = session.wait_for(
        "the document list while reindexing",
        "return document.querySelector('.doc-list .doc-item') !== null && (document.querySelector('.search-status').hidden ? 'after' : 'during');",
    );
    println!(
        "document list shown {listed} the rebuild, {:.1} s after the app started",
        started.elapsed().as_secs_f64()
    );
    session.screenshot(&shots.join("reindex-1-progress.png"));

    // Search answers while the rebuild runs, from what is indexed (the first documents).
    session.fill("input.search", &marker(0));
    wait_for_hit(&session, "a result while reindexing", "Note 00000");

    // The line follows the rebuild and goes away when it is done.
    let deadline = Instant::now() + REBUILD_PATIENCE;
    while let Value::String(text) = session.script(STATUS) {
        let done = progress(&text);
        let last = *seen.last().unwrap();
        assert!(
            done >= last,
            "progress never goes back: {seen:?} then {done}"
        );
        if done != last {
            seen.push(done);
        }
        assert!(
            Instant::now() < deadline,
            "reindexing did not finish: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "reindexing done {:.1} s after the app started; {} different counts shown, from {} to {}",
        started.elapsed().as_secs_f64(),
        seen.len(),
        seen.first().unwrap(),
        seen.last().unwrap()
    );
    assert!(
        seen.len() >= 2,
        "the progress shown moved on while the rebuild ran: {seen:?}"
    );

    // Every document is found now, the last one indexed too.
    let last = DOCUMENTS - 1;
    session.fill("input.search", &marker(last));
    wait_for_hit(&session, "the last document", &format!("Note {last:05}"));
    session.screenshot(&shots.join("reindex-2-done.png"));
    session.quit();
}
