//! `trace`: the engine against bare yrs on real keystroke traces, typed here and
//! received from a peer.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use quire_doc::Splice;
use quire_engine::{Edit, Engine, EngineConfig};
use serde::Serialize;
use serde_json::{Value, json};
use yrs::{Doc, GetString, OffsetKind, Options, Text, TextRef, Transact, TransactionMut};

use crate::peer_apply::{self, PeerApply};
use crate::stats::Latency;
use crate::trace::Trace;

#[derive(Debug, Serialize)]
struct TraceResult {
    trace: String,
    transactions: usize,
    bare_yrs_ms: f64,
    engine_ms: f64,
    /// engine_ms / bare_yrs_ms of the median run.
    ratio: f64,
    /// The ratio of every run, sorted.
    ratios_of_all_runs: Vec<f64>,
    /// From submitting a transaction to its commit being durable.
    edit_to_durable: Latency,
    final_text_matches: bool,
    /// Database file (plus WAL) after compaction.
    database_bytes: u64,
    /// The document encoded as one yrs update.
    encoded_document_bytes: usize,
    /// database_bytes / encoded_document_bytes.
    database_ratio: f64,
    /// Where the database's bytes go, per table and index.
    database_breakdown: Vec<(String, u64)>,
    /// The same transactions received from a peer, one update each.
    peer_updates: PeerApply,
}

/// Sequential traces in `dir` (the concurrent ones need a multi-agent replay).
pub(crate) fn sequential_traces(dir: &Path, only: Option<&str>) -> Result<Vec<std::path::PathBuf>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.ends_with(".json.gz")
                && !name.contains("concurrent")
                && only.is_none_or(|o| name.contains(o))
        })
        .collect();
    paths.sort();
    Ok(paths)
}

pub(crate) async fn run(dir: &Path, only: Option<&str>, repeat: usize) -> Result<Value> {
    let mut results = Vec::new();
    for path in sequential_traces(dir, only)? {
        let trace = Trace::load(&path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().replace(".json.gz", ""))
            .unwrap_or_default();
        eprintln!(
            "trace {name}: {} transactions, {repeat} run(s)",
            trace.txns.len()
        );
        // Pairs of runs, baseline then engine; the pair with the median ratio is
        // reported whole, and every pair's ratio is listed (these machines are noisy).
        let mut runs = Vec::with_capacity(repeat);
        for _ in 0..repeat.max(1) {
            let bare = replay_bare_yrs(&trace)?;
            let engine = replay_engine(&trace).await?;
            runs.push((
                engine.elapsed.as_secs_f64() / bare.as_secs_f64(),
                bare,
                engine,
            ));
        }
        runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let ratios: Vec<f64> = runs.iter().map(|r| r.0).collect();
        let median = runs.len() / 2;
        let Some((ratio, bare, engine)) = runs.into_iter().nth(median) else {
            continue;
        };
        let peer_updates = peer_apply::measure(&trace, repeat)?;
        results.push(TraceResult {
            trace: name,
            transactions: trace.txns.len(),
            bare_yrs_ms: ms(bare),
            engine_ms: ms(engine.elapsed),
            ratio,
            ratios_of_all_runs: ratios,
            edit_to_durable: Latency::of(engine.latencies),
            final_text_matches: engine.text_matches,
            database_bytes: engine.database_bytes,
            encoded_document_bytes: engine.encoded_bytes,
            database_ratio: engine.database_bytes as f64 / engine.encoded_bytes.max(1) as f64,
            database_breakdown: engine.breakdown,
            peer_updates,
        });
    }
    Ok(json!({ "bench": "trace", "results": results }))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub(crate) fn splices(patches: &[(usize, usize, String)]) -> Vec<Splice> {
    patches
        .iter()
        .map(|(pos, delete, insert)| Splice {
            pos: *pos,
            delete: *delete,
            insert: insert.clone(),
        })
        .collect()
}

/// A bare yrs document with UTF-16 offsets (as the engine's), and its body text.
pub(crate) fn bare_yrs_doc() -> (Doc, TextRef) {
    let doc = Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        ..Options::default()
    });
    let text = doc.get_or_insert_text(quire_doc::BODY);
    (doc, text)
}

/// Applies one trace transaction's patches to `text` in bare yrs.
pub(crate) fn apply_patches(
    text: &TextRef,
    t: &mut TransactionMut<'_>,
    patches: &[(usize, usize, String)],
) {
    for (pos, delete, insert) in patches {
        if *delete > 0 {
            text.remove_range(t, *pos as u32, *delete as u32);
        }
        if !insert.is_empty() {
            text.insert(t, *pos as u32, insert);
        }
    }
}

/// The baseline: the same transactions straight into a yrs document, in memory.
pub(crate) fn replay_bare_yrs(trace: &Trace) -> Result<Duration> {
    let (doc, text) = bare_yrs_doc();
    text.insert(&mut doc.transact_mut(), 0, &trace.start_content);
    let start = Instant::now();
    for txn in &trace.txns {
        apply_patches(&text, &mut doc.transact_mut(), &txn.patches);
    }
    let elapsed = start.elapsed();
    ensure!(
        text.get_string(&doc.transact()) == trace.end_content,
        "bare yrs replay diverged from endContent"
    );
    Ok(elapsed)
}

struct EngineRun {
    elapsed: Duration,
    latencies: Vec<Duration>,
    text_matches: bool,
    database_bytes: u64,
    encoded_bytes: usize,
    breakdown: Vec<(String, u64)>,
}

async fn replay_engine(trace: &Trace) -> Result<EngineRun> {
    let dir = tempfile::tempdir()?;
    let engine = Engine::open(EngineConfig::new(dir.path())).await?;
    let id = engine.create("trace", &trace.start_content).await?;
    // A watcher notes when each commit landed (the time the writer stamped on it; a
    // commit the watcher skipped over counts at the next one's later time, which can
    // only overstate latency). Submit times are matched to commit times after the
    // run, so measuring adds no cross-thread traffic to the edit path.
    let mut progress = engine.durable_progress();
    let watcher = tokio::spawn(async move {
        let mut commits: Vec<(u64, Instant)> = Vec::with_capacity(1 << 16);
        while progress.changed().await.is_ok() {
            let p = *progress.borrow_and_update();
            commits.push((p.up_to, p.at));
        }
        commits
    });
    let mut submitted: Vec<(u64, Instant)> = Vec::with_capacity(trace.txns.len());
    let start = Instant::now();
    let mut last = None;
    for txn in &trace.txns {
        let at = Instant::now();
        let receipt = engine.submit_edit(id, Edit::Splices(splices(&txn.patches)))?;
        if let Some(ticket) = receipt.ticket() {
            submitted.push((ticket, at));
        }
        last = Some(receipt);
    }
    last.context("empty trace")?.saved().await?;
    let elapsed = start.elapsed();
    let text_matches = engine.text(id).await? == trace.end_content;
    engine.close().await?;
    let encoded_bytes = engine.encode_state(id).await?.len();
    let database_bytes = engine.disk_size().await?;
    let breakdown = engine.table_sizes().await?;
    drop(engine);
    let commits = watcher.await?;
    let latencies = submitted
        .iter()
        .filter_map(|(ticket, at)| {
            let i = commits.partition_point(|(up_to, _)| up_to < ticket);
            commits
                .get(i)
                .map(|(_, durable)| durable.duration_since(*at))
        })
        .collect();
    Ok(EngineRun {
        elapsed,
        latencies,
        text_matches,
        database_bytes,
        encoded_bytes,
        breakdown,
    })
}
