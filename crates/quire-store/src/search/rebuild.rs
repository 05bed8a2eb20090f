//! Rebuilding the search index from the documents themselves.
//!
//! The index is derived data: every document's title and body can be read back from
//! its stored state. So a database from before the current index (its tables are
//! made empty by the migration) is reindexed on a background thread while the store
//! is in use, and a damaged index is dropped and rebuilt by the search that found it.
//! A document is indexed when it has a `search_text` row; the rebuild indexes those
//! that have none, a chunk per transaction, so it resumes where it stopped.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use quire_doc::{Document, DocumentId};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use super::write_entry;
use crate::StoreError;
use crate::schema::CREATE_INDEX_SQL;
use crate::update_log::read_state;

/// Documents indexed per transaction: short enough that edits queued behind the
/// rebuild wait tens of milliseconds, not seconds.
pub(crate) const REBUILD_CHUNK: usize = 50;

/// Whether search covers every document yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexStatus {
    /// Every document is indexed.
    Ready,
    /// The index is being rebuilt; results may miss documents not yet indexed.
    Rebuilding {
        /// Documents indexed so far.
        done: u64,
        /// Documents to index in all.
        total: u64,
    },
}

/// Progress shared between the rebuild thread and the store.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    running: AtomicBool,
    done: AtomicU64,
    total: AtomicU64,
    stop: AtomicBool,
}

impl Progress {
    pub(crate) fn status(&self) -> IndexStatus {
        if self.running.load(Ordering::SeqCst) {
            IndexStatus::Rebuilding {
                done: self.done.load(Ordering::SeqCst),
                total: self.total.load(Ordering::SeqCst),
            }
        } else {
            IndexStatus::Ready
        }
    }
}

/// Documents with no index entry.
pub(crate) fn missing_count(c: &Connection) -> Result<u64, StoreError> {
    let n: i64 = c.query_row(
        "SELECT count(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM search_text s WHERE s.rowid = d.rowid)",
        [],
        |r| r.get(0),
    )?;
    Ok(n.max(0) as u64)
}

/// Indexes up to `limit` documents that have no index entry, from their stored state;
/// returns how many it indexed. Run inside a transaction.
pub(crate) fn index_missing(c: &Connection, limit: usize) -> Result<usize, StoreError> {
    let todo: Vec<(i64, String, String)> = c
        .prepare_cached(
            "SELECT rowid, id, title FROM documents d
             WHERE NOT EXISTS (SELECT 1 FROM search_text s WHERE s.rowid = d.rowid)
             ORDER BY rowid LIMIT ?1",
        )?
        .query_map(params![limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    for (rowid, id, stored_title) in &todo {
        let (title, body) = match read_text(c, id) {
            Ok((title, body)) => (title.unwrap_or_else(|| stored_title.clone()), body),
            // Index what is known so the rebuild does not stop at it; the document
            // itself reports the damage when opened.
            Err(e) => {
                tracing::warn!("search rebuild: document {id} cannot be read: {e}");
                (stored_title.clone(), String::new())
            }
        };
        write_entry(c, *rowid, &title, &body)?;
    }
    Ok(todo.len())
}

/// A document's title (if its metadata holds one) and body, from its stored state.
fn read_text(c: &Connection, id: &str) -> Result<(Option<String>, String), StoreError> {
    let damaged = |detail: String| StoreError::DamagedData {
        doc: id.to_owned(),
        detail,
    };
    let doc_id: DocumentId = id.parse().map_err(|e| damaged(format!("bad id: {e}")))?;
    let state = read_state(c, &doc_id)?;
    let parts = state
        .snapshot
        .iter()
        .map(Vec::as_slice)
        .chain(state.updates.iter().map(|(_, u)| u.as_slice()));
    let doc = Document::load(parts).map_err(|e| damaged(e.to_string()))?;
    Ok((doc.title(), doc.text()))
}

/// The index's tables and their FTS5 shadow tables, as named in `sqlite_schema`.
const INDEX_TABLES: &str = "'search_index', 'search_index_data', 'search_index_idx', \
     'search_index_docsize', 'search_index_config', 'search_index_content', 'search_text'";

/// Drops the index tables (in order to rebuild an index that reads fine).
pub(crate) fn drop_index(c: &Connection) -> Result<(), StoreError> {
    c.execute_batch("DROP TABLE IF EXISTS search_index; DROP TABLE IF EXISTS search_text;")?;
    Ok(())
}

/// Removes a damaged index from the schema without reading its pages (dropping a
/// table reads every page to free it, and fails on the damaged ones). Its pages then
/// belong to nothing until the file is vacuumed.
pub(crate) fn forget_index(c: &Connection) -> Result<(), StoreError> {
    c.execute_batch(&format!(
        "PRAGMA writable_schema = ON;
         DELETE FROM sqlite_schema WHERE tbl_name IN ({INDEX_TABLES});
         PRAGMA writable_schema = OFF;"
    ))?;
    Ok(())
}

/// Makes the index tables, empty. After [`forget_index`], only once the file
/// is vacuumed: with `auto_vacuum` a new table's root page moves whatever page is in
/// its place, and that may be a damaged page of the forgotten index.
pub(crate) fn create_index(c: &Connection) -> Result<(), StoreError> {
    c.execute_batch(CREATE_INDEX_SQL)?;
    Ok(())
}

/// The background rebuild: a thread with its own connection that indexes missing
/// documents a chunk per transaction until none is left or the store closes.
pub(crate) struct Rebuilder {
    progress: Arc<Progress>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Rebuilder {
    /// Starts the rebuild if any document lacks an index entry.
    pub(crate) fn start(
        path: &Path,
        conn: &Connection,
        progress: Arc<Progress>,
    ) -> Result<Self, StoreError> {
        let total = missing_count(conn)?;
        let mut rebuilder = Self {
            progress: progress.clone(),
            thread: None,
        };
        if total == 0 {
            return Ok(rebuilder);
        }
        tracing::info!("search index: reindexing {total} documents in the background");
        progress.total.store(total, Ordering::SeqCst);
        progress.done.store(0, Ordering::SeqCst);
        progress.running.store(true, Ordering::SeqCst);
        let mut own = crate::open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        let spawned = thread::Builder::new()
            .name("quire-search-rebuild".into())
            .spawn(move || {
                if let Err(e) = run(&mut own, &progress) {
                    tracing::warn!("search index rebuild stopped: {e}; the next search retries it");
                }
                progress.running.store(false, Ordering::SeqCst);
            });
        match spawned {
            Ok(handle) => rebuilder.thread = Some(handle),
            Err(e) => {
                rebuilder.progress.running.store(false, Ordering::SeqCst);
                return Err(StoreError::CommitFailed(format!(
                    "cannot start the search rebuild thread: {e}"
                )));
            }
        }
        Ok(rebuilder)
    }
}

/// Least pause between two chunks of the rebuild.
const MIN_REBUILD_PAUSE: Duration = Duration::from_millis(10);

fn run(conn: &mut Connection, progress: &Progress) -> Result<(), StoreError> {
    while !progress.stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = index_missing(&tx, REBUILD_CHUNK)?;
        tx.commit()?;
        if n == 0 {
            break;
        }
        progress.done.fetch_add(n as u64, Ordering::SeqCst);
        // Leave the write lock free as long as a chunk held it. Taking it again at
        // once starved the store's own writer, whose busy handler only looks now and
        // then: under load an upgraded app failed to start ("database is locked"
        // after the 5 s busy timeout), and reads waiting on the writer stalled.
        thread::sleep(started.elapsed().max(MIN_REBUILD_PAUSE));
    }
    Ok(())
}

impl Drop for Rebuilder {
    fn drop(&mut self) {
        self.progress.stop.store(true, Ordering::SeqCst);
        if let Some(handle) = self.thread.take() {
            let _ = handle.join();
        }
    }
}
