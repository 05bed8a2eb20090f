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
    let mut samples: Vec<Duration> = Vec::with_capacity(runs);
    let mut engine_only: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let engine = Engine::open(EngineConfig::new(data.path())).await?;
        let opened = start.elapsed();
        let text = engine.text(id).await?;
        samples.push(start.elapsed());
        engine_only.push(opened);
        ensure!(
            text == trace.end_content,
            "reopened text differs from endContent"
        );
        drop(engine);
    }
    Ok(json!({
        "bench": "open",
        "document": "automerge-paper",
        "transactions": trace.txns.len(),
        "open_database_and_read_text": Latency::of(samples),
        "open_database_only": Latency::of(engine_only),
    }))
}
