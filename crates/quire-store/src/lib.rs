//! `quire-store`: the durable home of a device's documents, one SQLite file.
//!
//! The file (WAL mode, `synchronous = FULL`) holds, per document: its metadata row, an
//! append-only log of yrs updates (one row per local transaction or received update,
//! with its origin and time), one snapshot that the log is compacted into, version
//! checkpoints stored as text patches, and a full-text index (FTS5) of title and body.
//!
//! Every write goes through one writer thread ([`Store::write`]) that takes all
//! writes queued while the previous commit was running and commits them as one
//! transaction (group commit), so a burst of keystrokes shares one fsync. A write's
//! completion callback runs only after its transaction is durable. Reads use a
//! separate connection and see every committed write.
//!
//! ```no_run
//! # fn main() -> Result<(), quire_store::StoreError> {
//! use quire_doc::DocumentId;
//! use quire_store::{Store, ops};
//!
//! let store = Store::open(std::path::Path::new("quire.db"))?;
//! let id = DocumentId::random();
//! store.write(ops::create_document(id, "Notes".into(), 0, 0, Vec::new()))?;
//! assert_eq!(store.document(&id)?.title, "Notes");
//! # Ok(()) }
//! ```

mod backup;
mod checkpointer;
mod documents;
mod error;
mod free_pages;
mod log_rows;
mod memberships;
pub mod private_files;
mod salvage;
mod schema;
mod search;
mod update_log;
mod versions;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags};

pub use documents::{DocumentRecord, Lifecycle};
pub use error::StoreError;
pub use free_pages::PageUse;
pub use memberships::{MemberRole, MembershipRecord};
pub use salvage::{
    LostDocument, MAX_PROBLEMS_REPORTED, MAX_UNREADABLE_ROWIDS_IN_A_ROW, SalvageReport, check_file,
    salvage,
};
pub use schema::SCHEMA_VERSION;
pub use search::{
    DocumentFilter, FilterTextError, IndexStatus, MAX_AGE_MS, SearchHit, Sharing, SortOrder,
    parse_age_ms,
};
pub use update_log::{Origin, StoredState};
pub use versions::{NewVersion, VersionKind, VersionRecord};
pub use writer::{DurableHook, WriteOp};

/// Constructors of [`WriteOp`]s, one per kind of write.
pub mod ops {
    pub use crate::documents::{create_document, purge, rename, set_lifecycle};
    pub use crate::memberships::{put_membership, set_last_sync, set_setting, set_syncing};
    pub use crate::search::index_text;
    pub use crate::versions::add_version;
}

/// A device's document store: one SQLite file.
pub struct Store {
    path: PathBuf,
    // Stopped first: it writes through its own connection.
    _search_rebuild: Option<search::Rebuilder>,
    search_progress: std::sync::Arc<search::Progress>,
    // Field order is drop order: stop the checkpointer, then drain the writer.
    _checkpointer: checkpointer::Checkpointer,
    writer: writer::Writer,
    reader: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating or migrating as needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        // Owner-only before SQLite creates it: its -wal and -shm files take its mode.
        private_files::ensure_private_file(path).map_err(|e| StoreError::CannotOpen {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        let mut conn = open_connection(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        schema::migrate(&mut conn, path)?;
        let search_progress = std::sync::Arc::new(search::Progress::default());
        // Reindexing after an upgrade runs in the background; a damaged index found
        // here is left to the first search, which rebuilds it.
        let search_rebuild = match search::Rebuilder::start(path, &conn, search_progress.clone()) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!("search index not checked at open: {e}");
                None
            }
        };
        // WAL checkpoints run on their own thread, off the commit path.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let reader = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        let checkpoints = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        Ok(Self {
            path: path.to_owned(),
            _search_rebuild: search_rebuild,
            search_progress,
            _checkpointer: checkpointer::Checkpointer::spawn(checkpoints)?,
            writer: writer::Writer::spawn(conn)?,
            reader: Mutex::new(reader),
        })
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues `op`; `done` runs on the writer thread once it is durable (or failed).
    pub fn submit(&self, op: WriteOp, done: impl FnOnce(Result<(), StoreError>) + Send + 'static) {
        // A refused submit has already called `done` with the reason.
        let _ = self.writer.submit(op, Some(Box::new(done)), None);
    }

    /// Replaces a document's snapshot with `snapshot`, the whole document including
    /// every update up to `covers_seq`, and drops those updates from its log. Once
    /// committed, a log that had lost an update takes updates again.
    pub fn compact(
        &self,
        doc: quire_doc::DocumentId,
        covers_seq: i64,
        snapshot: Vec<u8>,
        done: impl FnOnce(Result<(), StoreError>) + Send + 'static,
    ) {
        let op = update_log::compact(doc, covers_seq, now_ms(), snapshot);
        let _ = self.writer.submit(op, Some(Box::new(done)), Some(doc));
    }

    /// Queues one update for a document's log (the hot path of every keystroke) and
    /// returns its ticket. `chars` is the body length after it, for the listing.
    pub fn log_update(
        &self,
        doc: &quire_doc::DocumentId,
        seq: i64,
        origin: Origin,
        at: i64,
        chars: usize,
        data: &[u8],
    ) -> Result<u64, StoreError> {
        self.writer.log_update(*doc, seq, origin, at, chars, data)
    }

    /// Sets the function told after every commit which tickets are durable (and which
    /// failed). Tickets count up in submission order and commit in that order.
    pub fn on_durable(&self, hook: DurableHook) {
        self.writer.set_hook(hook);
    }

    /// Runs `op` and waits until it is durable.
    pub fn write(&self, op: WriteOp) -> Result<(), StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.submit(op, move |r| {
            let _ = tx.send(r);
        });
        rx.recv().map_err(|_| StoreError::WriterGone)?
    }

    /// Waits until every write submitted before this call is durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.write(Box::new(|_| Ok(())))
    }

    pub(crate) fn reader(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.reader.lock().map_err(|_| StoreError::Poisoned)
    }

    /// Runs `PRAGMA integrity_check`; `Ok` only if SQLite answers "ok".
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let conn = self.reader()?;
        let answer: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if answer == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                path: self.path.clone(),
                detail: answer,
            })
        }
    }

    /// Size of the database file plus its WAL, in bytes.
    pub fn disk_size(&self) -> u64 {
        let wal = self.path.with_extension("db-wal");
        [self.path.as_path(), wal.as_path()]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Bytes used per table and index (SQLite's `dbstat`), largest first.
    pub fn table_sizes(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare(
            "SELECT name, SUM(pgsize) AS size FROM dbstat GROUP BY name ORDER BY size DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The database file's size in pages and how many are free, as the latest commit
    /// left it.
    pub fn page_use(&self) -> Result<PageUse, StoreError> {
        let conn = self.reader()?;
        Ok(free_pages::page_use(&conn)?)
    }

    /// Returns every free page to the OS (through the writer, the only writer) and
    /// moves the WAL into the database file; for measuring the size on disk.
    pub fn vacuum(&self) -> Result<(), StoreError> {
        self.write(Box::new(|c| Ok(free_pages::hand_back(c, None)?)))?;
        let conn = self.reader()?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| StoreError::classify(e, path))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // These pragmas read the schema, so they are the first reads of the file: a
    // damaged or foreign file fails here, and must be reported as such.
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(|e| StoreError::classify(e, path))?;
    // FULL: a commit is on disk (WAL fsynced) before the writer reports it saved.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| StoreError::classify(e, path))?;
    Ok(conn)
}

/// Milliseconds since the Unix epoch, the store's time unit.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
