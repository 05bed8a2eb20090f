//! Hands the database file's free pages back to the OS.
//!
//! Compacting a long update log, or purging a document, frees most of the pages that
//! held it. SQLite keeps freed pages in the file for reuse: without this, a file keeps
//! the size of its largest moment for ever. The file is made with
//! `auto_vacuum = INCREMENTAL`, so `PRAGMA incremental_vacuum(N)` moves up to N pages
//! from the end of the file into free slots and shortens it; the next WAL checkpoint
//! truncates the file on disk.
//!
//! `incremental_vacuum` frees one page per step of its statement, so it must be
//! stepped until done (rusqlite's `execute_batch` steps once and frees one page).

use rusqlite::Connection;

/// A write that freed pages hands them back only when at least this many are free...
const WORTHWHILE_FREE_PAGES: u64 = 64;
/// ...and they are at least this fraction (1/N) of the file.
const WORTHWHILE_FREE_SHARE: u64 = 4;
/// At most this many pages (4 MiB at 4 KiB pages) per write, so that the commit it
/// rides on (and the keystrokes queued behind it) waits tens of milliseconds at most.
/// A larger free list shrinks over the next compactions.
pub(crate) const MOST_PAGES_PER_WRITE: u64 = 1024;

/// The file's size in pages and how many of them are free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageUse {
    /// Pages in the database file (as the latest commit left it).
    pub pages: u64,
    /// Of those, pages that hold nothing.
    pub free: u64,
}

pub(crate) fn page_use(c: &Connection) -> rusqlite::Result<PageUse> {
    let read = |pragma: &str| c.query_row(pragma, [], |r| r.get::<_, i64>(0));
    Ok(PageUse {
        pages: read("PRAGMA page_count")?.max(0) as u64,
        free: read("PRAGMA freelist_count")?.max(0) as u64,
    })
}

/// Frees up to `most` free pages (all of them if `None`).
pub(crate) fn hand_back(c: &Connection, most: Option<u64>) -> rusqlite::Result<()> {
    let sql = match most {
        Some(n) => format!("PRAGMA incremental_vacuum({n})"),
        // 0 (or a negative count) means the whole free list.
        None => "PRAGMA incremental_vacuum(0)".to_owned(),
    };
    let mut stmt = c.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// After a write that freed pages: hands back up to [`MOST_PAGES_PER_WRITE`] of them
/// if enough are free to be worth it. Best effort, in its own savepoint: a failure is
/// logged and undone, and never fails the write it follows.
pub(crate) fn hand_back_if_worthwhile(c: &Connection) {
    let worthwhile = |u: PageUse| {
        u.free >= WORTHWHILE_FREE_PAGES && u.free.saturating_mul(WORTHWHILE_FREE_SHARE) >= u.pages
    };
    let result = (|| {
        if !worthwhile(page_use(c)?) {
            return Ok(());
        }
        c.execute_batch("SAVEPOINT hand_back")?;
        match hand_back(c, Some(MOST_PAGES_PER_WRITE)) {
            Ok(()) => c.execute_batch("RELEASE hand_back"),
            Err(e) => {
                c.execute_batch("ROLLBACK TO hand_back; RELEASE hand_back")?;
                Err(e)
            }
        }
    })();
    if let Err(e) = result {
        tracing::warn!("handing free pages back to the OS failed: {e}");
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use quire_doc::DocumentId;

    use super::*;
    use crate::{Origin, Store, ops};

    /// A store with one document whose log holds `bytes` of updates.
    fn store_with_long_log(dir: &tempfile::TempDir, bytes: usize) -> (Store, DocumentId, i64) {
        let store = Store::open(&dir.path().join("quire.db")).unwrap();
        let id = DocumentId::random();
        store
            .write(ops::create_document(id, "Long".into(), 0, 0, Vec::new()))
            .unwrap();
        let update = vec![0x5a; 4000];
        let count = (bytes / update.len()) as i64;
        for seq in 1..=count {
            store
                .log_update(&id, seq, Origin::Local, 0, 0, &update)
                .unwrap();
        }
        store.flush().unwrap();
        (store, id, count)
    }

    fn compact(store: &Store, id: DocumentId, covers_seq: i64) {
        let (tx, rx) = std::sync::mpsc::channel();
        store.compact(id, covers_seq, vec![1, 2, 3], move |r| {
            let _ = tx.send(r);
        });
        rx.recv().unwrap().unwrap();
    }

    fn file_len(store: &Store) -> u64 {
        std::fs::metadata(store.path())
            .map(|m| m.len())
            .unwrap_or(0)
    }

    #[test]
    fn compacting_a_long_log_gives_its_pages_back_to_the_os() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, last) = store_with_long_log(&dir, 2_400_000);
        let before = store.page_use().unwrap();
        assert!(
            before.pages > 550,
            "the log should fill the file: {before:?}"
        );
        compact(&store, id, last);
        let after = store.page_use().unwrap();
        assert!(
            after.free * WORTHWHILE_FREE_SHARE < after.pages && after.pages < 100,
            "compaction left the log's pages in the file: {before:?} -> {after:?}"
        );
        // The checkpointer (every 500 ms) truncates the file on disk.
        let deadline = Instant::now() + Duration::from_secs(20);
        while file_len(&store) > after.pages * 4096 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            file_len(&store) <= after.pages * 4096,
            "the file kept {} bytes for {after:?}",
            file_len(&store)
        );
        assert!(store.load_state(&id).unwrap().updates.is_empty());
        store.integrity_check().unwrap();
    }

    #[test]
    fn one_write_hands_back_a_bounded_number_of_pages_and_vacuum_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let pages = MOST_PAGES_PER_WRITE as usize + 500;
        let (store, id, last) = store_with_long_log(&dir, pages * 4096);
        let before = store.page_use().unwrap();
        compact(&store, id, last);
        let after = store.page_use().unwrap();
        // The compaction's own writes may free a page or two more.
        let shrunk = before.pages - after.pages;
        assert!(
            (MOST_PAGES_PER_WRITE..MOST_PAGES_PER_WRITE + 4).contains(&shrunk) && after.free > 400,
            "{before:?} -> {after:?}"
        );
        store.vacuum().unwrap();
        assert_eq!(store.page_use().unwrap().free, 0);
        store.integrity_check().unwrap();
    }

    #[test]
    fn purging_a_document_gives_its_pages_back() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, _) = store_with_long_log(&dir, 2_400_000);
        store.write(ops::purge(id)).unwrap();
        let after = store.page_use().unwrap();
        assert!(
            after.free * WORTHWHILE_FREE_SHARE < after.pages,
            "purge left the document's pages in the file: {after:?}"
        );
        store.integrity_check().unwrap();
    }

    #[test]
    fn a_few_free_pages_stay_for_reuse() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, last) = store_with_long_log(&dir, 40 * 4000);
        compact(&store, id, last);
        let after = store.page_use().unwrap();
        assert!(
            after.free > 0 && after.free < WORTHWHILE_FREE_PAGES,
            "{after:?}"
        );
    }
}
