//! Moves WAL pages into the database file on its own thread, so commits never wait
//! for a checkpoint.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rusqlite::Connection;

use crate::StoreError;

/// How often the WAL is checked.
const CHECK_EVERY: Duration = Duration::from_millis(500);
/// Beyond this many pages in the WAL, wait for readers and truncate it instead of a
/// passive checkpoint, so that the WAL cannot grow without bound.
const TRUNCATE_ABOVE_PAGES: i64 = 16 * 1024;

pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn spawn(conn: Connection) -> Result<Self, StoreError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name("quire-store-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECK_EVERY) {
                    checkpoint(&conn, "PASSIVE");
                }
                checkpoint(&conn, "PASSIVE");
            })
            .map_err(|e| {
                StoreError::CommitFailed(format!("cannot start the checkpoint thread: {e}"))
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

fn checkpoint(conn: &Connection, mode: &str) {
    // Returns (busy, pages in WAL, pages checkpointed).
    let result = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    });
    match result {
        Ok((_, wal_pages)) if wal_pages > TRUNCATE_ABOVE_PAGES && mode == "PASSIVE" => {
            checkpoint(conn, "TRUNCATE")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("WAL checkpoint failed: {e}"),
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
