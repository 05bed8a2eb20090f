//! The disk's floor under a durable apply: a bare SQLite commit of one small row, in
//! the same folder and with the store's settings (WAL, `synchronous = FULL`), paced
//! like the sync run. None of Quire runs here, so what a receiver's commit costs
//! above this figure is Quire's; the rest is the disk's.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use rusqlite::{Connection, params};

use crate::stats::Latency;

/// Times `count` commits of one 30-byte row, `rate` per second.
pub(crate) fn bare_commit_latency(dir: &Path, rate: f64, count: usize) -> Result<Latency> {
    let conn = Connection::open(dir.join("commit-floor.db"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, at INTEGER, data BLOB)",
    )?;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    let mut samples = Vec::with_capacity(count);
    // The store's checkpointer does this every 500 ms on its own thread.
    let checkpoint_every = ((rate / 2.0) as usize).max(1);
    for i in 0..count {
        if i % checkpoint_every == 0 {
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        }
        if let Some(wait) = (start + interval * i as u32).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let began = Instant::now();
        conn.execute_batch("BEGIN IMMEDIATE")?;
        conn.prepare_cached("INSERT INTO log (seq, at, data) VALUES (?1, ?2, ?3)")?
            .execute(params![i as i64, i as i64, [7u8; 30].as_slice()])?;
        conn.execute_batch("COMMIT")?;
        samples.push(began.elapsed());
    }
    Ok(Latency::of(samples))
}
