//! `open`: cold open of a document with its full history.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use quire_doc::Splice;
use quire_engine::{Edit, Engine, EngineConfig};
use serde_json::{Value, json};

use crate::stats::Latency;
use crate::trace::Trace;

pub(crate) async fn run(dir: &Path, runs: usize) -> Result<Value> {
    let path = dir.join("automerge-paper.json.gz");
    let trace = Trace::load(&path)?;
    let data = tempfile::tempdir()?;
    let id = {
        let engine = Engine::open(EngineConfig::new(data.path())).await?;
        let id = engine
            .create("automerge-paper", &trace.start_content)
            .await?;
        let mut last = None;
        for txn in &trace.txns {
            let s = txn
                .patches
                .iter()
                .map(|(pos, delete, insert)| Splice {
                    pos: *pos,
                    delete: *delete,
                    insert: insert.clone(),
                })
                .collect();
            last = Some(engine.submit_edit(id, Edit::Splices(s))?);
        }
        last.context("empty trace")?.saved().await?;
        engine.close().await?;
        id
    };
    let warm = time_opens(data.path(), id, runs, &trace.end_content, false).await?;
    let cold = if drop_page_cache() {
        Some(time_opens(data.path(), id, runs, &trace.end_content, true).await?)
    } else {
        None
    };
    Ok(json!({
        "bench": "open",
        "document": "automerge-paper",
        "transactions": trace.txns.len(),
        "what": "Engine::open + Engine::text of the document (snapshot + log load)",
        "warm_page_cache": warm,
        "cold_page_cache": cold.unwrap_or_else(
            || json!("not measured: cannot write /proc/sys/vm/drop_caches (needs root on Linux)"),
        ),
    }))
}

/// Times `runs` opens of the data folder and a read of the document's text.
async fn time_opens(
    dir: &Path,
    id: quire_engine::DocumentId,
    runs: usize,
    expected: &str,
    cold: bool,
) -> Result<Value> {
    let mut open_and_read: Vec<Duration> = Vec::with_capacity(runs);
    let mut open_only: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs {
        if cold {
            drop_page_cache();
        }
        let start = Instant::now();
        let engine = Engine::open(EngineConfig::new(dir)).await?;
        open_only.push(start.elapsed());
        let text = engine.text(id).await?;
        open_and_read.push(start.elapsed());
        ensure!(text == expected, "reopened text differs from endContent");
        drop(engine);
    }
    Ok(json!({
        "open_and_read_text": Latency::of(open_and_read),
        "open_database_only": Latency::of(open_only),
    }))
}

/// Asks Linux to drop clean page-cache pages (after a sync), so the next read comes
/// from the disk. Returns false where that is not allowed.
fn drop_page_cache() -> bool {
    let synced = std::process::Command::new("sync")
        .status()
        .is_ok_and(|s| s.success());
    synced && std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}
