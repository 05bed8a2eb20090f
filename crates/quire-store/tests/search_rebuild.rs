//! The search index is derived data: a database made by the previous schema (whose
//! index cannot find CJK words) is reindexed after the upgrade, in the background,
//! losing nothing; and an index whose pages are damaged on disk is rebuilt by the
//! search that finds the damage, which then answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/store_docs.rs"]
mod support;

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use quire_store::{IndexStatus, SCHEMA_VERSION, Store};
use rusqlite::Connection;
use support::{add, found};

/// The layout schema version 2 left: the same tables, with the old index (one FTS5
/// table, `unicode61`, holding its own copy of titles and bodies).
const SCHEMA_2_INDEX: &str = "
DROP TABLE search_index;
DROP TABLE search_text;
CREATE VIRTUAL TABLE search USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');
PRAGMA user_version = 2;
";

/// Waits (for the store's own report, at most a minute) until the index is complete.
fn wait_until_indexed(store: &Store) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.search_index_status() != IndexStatus::Ready {
        assert!(Instant::now() < deadline, "reindexing did not finish");
        std::thread::yield_now();
    }
}

#[test]
fn a_database_of_the_previous_schema_is_reindexed_and_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quire.db");
    let bodies: Vec<(String, String)> = (0..120)
        .map(|i| {
            (
                format!("旅行記 {i}"),
                format!("第{i}日: 東京で寿司を食べた。note{i} Straße"),
            )
        })
        .collect();
    {
        let store = Store::open(&path).unwrap();
        for (i, (title, body)) in bodies.iter().enumerate() {
            add(&store, title, body, i as i64);
        }
    }
    // Turn the file into what the previous version wrote, its index filled as it did.
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(SCHEMA_2_INDEX).unwrap();
        for (title, body) in &bodies {
            conn.execute(
                "INSERT INTO search (rowid, title, body) SELECT rowid, ?1, ?2 FROM documents WHERE title = ?1",
                [title, body],
            )
            .unwrap();
        }
        // The old index could not find a word inside a CJK sentence.
        let old: i64 = conn
            .query_row(
                "SELECT count(*) FROM search WHERE search MATCH '\"寿司\"'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old, 0);
    }
    let store = Store::open(&path).unwrap();
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    wait_until_indexed(&store);
    assert_eq!(store.search("寿司", 500).unwrap().len(), bodies.len());
    assert_eq!(found(&store, "note7 寿司"), ["旅行記 7"]);
    assert_eq!(store.search("strasse", 500).unwrap().len(), bodies.len());
    // Nothing lost: every document is still there with its title.
    assert_eq!(
        store
            .documents(quire_store::Lifecycle::Active)
            .unwrap()
            .len(),
        bodies.len()
    );
}

/// A small xorshift generator; the seed is printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Page numbers of the index's tables (FTS5 shadow tables and the text).
fn index_pages(path: &Path) -> (u64, Vec<u64>) {
    let conn = Connection::open(path).unwrap();
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    let page_size = page_size as u64;
    let mut stmt = conn
        .prepare("SELECT pageno FROM dbstat WHERE name LIKE 'search_%' ORDER BY pageno")
        .unwrap();
    let pages = stmt
        .query_map([], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(|p| p.unwrap() as u64)
        .collect();
    (page_size, pages)
}

#[test]
fn a_damaged_index_is_rebuilt_by_the_search_that_finds_it() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quire.db");
    {
        let store = Store::open(&path).unwrap();
        for i in 0..20 {
            add(
                &store,
                &format!("Note {i}"),
                &format!("寿司 and basil, entry {i}. {}", "filler text ".repeat(300)),
                i,
            );
        }
        // Everything in the main file, so the damage below is what SQLite reads.
        store.vacuum().unwrap();
    }
    let (page_size, pages) = index_pages(&path);
    assert!(pages.len() > 4, "the index spans several pages: {pages:?}");
    {
        // 30 random 64-byte blocks over the index's pages, each page's header hit.
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        for (n, page) in pages.iter().cycle().take(30.max(pages.len())).enumerate() {
            let header = if *page == 1 { 100 } else { 0 };
            let within = if n < pages.len() {
                header
            } else {
                rng.next() % (page_size - 64)
            };
            let block: Vec<u8> = (0..64).map(|_| rng.next() as u8).collect();
            file.seek(SeekFrom::Start((page - 1) * page_size + within))
                .unwrap();
            file.write_all(&block).unwrap();
        }
        file.sync_all().unwrap();
    }
    // The damage is real: the index cannot be read as it is.
    {
        let conn = Connection::open(&path).unwrap();
        let raw = conn.query_row(
            "SELECT count(*) FROM search_index WHERE search_index MATCH 'basil'",
            [],
            |r| r.get::<_, i64>(0),
        );
        let text = conn.query_row("SELECT count(*) FROM search_text", [], |r| {
            r.get::<_, i64>(0)
        });
        assert!(
            raw.is_err() || text.is_err(),
            "damage went unnoticed: {raw:?} {text:?}"
        );
    }
    let store = Store::open(&path).unwrap();
    let hits = store.search("basil", 50).unwrap();
    assert_eq!(hits.len(), 20);
    assert_eq!(found(&store, "entry 7"), ["Note 7"]);
    assert_eq!(store.search("寿司", 50).unwrap().len(), 20);
    // The documents were never touched by the damage, and the file is whole again.
    assert_eq!(
        store
            .documents(quire_store::Lifecycle::Active)
            .unwrap()
            .len(),
        20
    );
    store.integrity_check().unwrap();
}
