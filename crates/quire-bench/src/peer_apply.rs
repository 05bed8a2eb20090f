//! The receiving side of a trace: every transaction as the update a peer would send,
//! applied one by one through `quire_doc::Document::apply_update` (size and shape
//! checks, forged-clock and encodability checks) against bare yrs applying the same
//! updates. What a device pays per keystroke a collaborator types, as the document
//! grows.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use serde::Serialize;
use yrs::updates::decoder::Decode;
use yrs::{GetString, Text, Transact, Update};

use crate::trace::Trace;
use crate::trace_replay::{apply_patches, bare_yrs_doc};

#[derive(Debug, Serialize)]
pub(crate) struct PeerApply {
    updates: usize,
    bare_yrs_ms: f64,
    quire_doc_ms: f64,
    /// quire_doc_ms / bare_yrs_ms of the median run.
    ratio: f64,
    ratios_of_all_runs: Vec<f64>,
}

/// Times `repeat` pairs of runs (bare yrs, then quire-doc) and reports the pair with
/// the median ratio.
pub(crate) fn measure(trace: &Trace, repeat: usize) -> Result<PeerApply> {
    let updates = updates_of(trace);
    let mut runs = Vec::with_capacity(repeat);
    for _ in 0..repeat.max(1) {
        let bare = apply_bare(&updates, &trace.end_content)?;
        let ours = apply_quire_doc(&updates, &trace.end_content)?;
        runs.push((ours.as_secs_f64() / bare.as_secs_f64(), bare, ours));
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let ratios = runs.iter().map(|r| r.0).collect();
    let &(ratio, bare, ours) = runs.get(runs.len() / 2).context("no runs")?;
    Ok(PeerApply {
        updates: updates.len(),
        bare_yrs_ms: bare.as_secs_f64() * 1e3,
        quire_doc_ms: ours.as_secs_f64() * 1e3,
        ratio,
        ratios_of_all_runs: ratios,
    })
}

/// The start content and then each transaction, as the v1 update its author's
/// transaction produced.
fn updates_of(trace: &Trace) -> Vec<Vec<u8>> {
    let (doc, text) = bare_yrs_doc();
    let mut updates = Vec::with_capacity(trace.txns.len() + 1);
    {
        let mut t = doc.transact_mut();
        text.insert(&mut t, 0, &trace.start_content);
        updates.push(t.encode_update_v1());
    }
    for txn in &trace.txns {
        let mut t = doc.transact_mut();
        apply_patches(&text, &mut t, &txn.patches);
        updates.push(t.encode_update_v1());
    }
    updates
}

fn apply_bare(updates: &[Vec<u8>], end: &str) -> Result<Duration> {
    let (doc, text) = bare_yrs_doc();
    let start = Instant::now();
    for update in updates {
        doc.transact_mut()
            .apply_update(Update::decode_v1(update)?)?;
    }
    let elapsed = start.elapsed();
    ensure!(
        text.get_string(&doc.transact()) == end,
        "bare yrs peer replay diverged"
    );
    Ok(elapsed)
}

fn apply_quire_doc(updates: &[Vec<u8>], end: &str) -> Result<Duration> {
    let mut doc = quire_doc::Document::new();
    let start = Instant::now();
    for update in updates {
        doc.apply_update(update)?;
    }
    let elapsed = start.elapsed();
    ensure!(doc.text() == end, "quire-doc peer replay diverged");
    Ok(elapsed)
}
