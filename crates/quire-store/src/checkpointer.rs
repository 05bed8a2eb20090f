//! Moves WAL pages into the database file on its own thread, so commits never wait
//! for a checkpoint.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rusqlite::Connection;

use crate::StoreError;

/// How often the WAL is checked.
const CHECK_EVERY: Duration = Duration::from_millis(500);

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
                    checkpoint(&conn);
                }
                checkpoint(&conn);
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

/// A passive checkpoint never waits for (or blocks) the writer or readers; run this
/// often, it keeps the WAL small as long as no reader holds a snapshot for long.
fn checkpoint(conn: &Connection) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!("WAL checkpoint failed: {e}");
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
