//! `quire-crash-child`: the victim of the crash-safety test. Opens an engine on the
//! data folder given as its first argument, finds (or creates) the document titled
//! "crash", and appends `<n>` for n = 1, 2, ... (continuing after the highest n already
//! in the text) as fast as it can, with up to 64 edits in flight. Each time an edit's
//! receipt says it is durable it prints `saved {n}` and flushes stdout. Every 100 edits
//! it also takes a named version. It never stops by itself: the test kills it.
//!
//! An optional second argument sets `compact_after_updates`, so that crashes also hit
//! log compaction.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use quire_engine::{Edit, Engine, EngineConfig, EngineError, Receipt};

/// Edits whose receipts may be outstanding at once.
const IN_FLIGHT: usize = 64;
/// A named version every this many edits.
const VERSION_EVERY: u64 = 100;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let dir = PathBuf::from(
        args.next()
            .context("usage: quire-crash-child <data dir> [compact_after_updates]")?,
    );
    let mut config = EngineConfig::new(dir);
    if let Some(n) = args.next() {
        config.compact_after_updates = n
            .to_str()
            .and_then(|s| s.parse().ok())
            .context("compact_after_updates must be a number")?;
    }
    let engine = open(config).await?;
    let id = match engine.resolve("crash").await {
        Ok(id) => id,
        Err(EngineError::NoSuchDocument(_)) => engine.create("crash", "").await?,
        Err(e) => return Err(e.into()),
    };
    let mut n = highest(&engine.text(id).await?);

    let mut out = std::io::stdout().lock();
    let mut pending: VecDeque<(u64, Receipt)> = VecDeque::with_capacity(IN_FLIGHT);
    loop {
        n += 1;
        let receipt = engine.submit_edit(id, Edit::Append(format!("<{n}>")))?;
        pending.push_back((n, receipt));
        if n.is_multiple_of(VERSION_EVERY) {
            engine.create_version(id, Some(&format!("at {n}"))).await?;
        }
        while pending.len() >= IN_FLIGHT {
            if let Some((k, receipt)) = pending.pop_front() {
                receipt
                    .saved()
                    .await
                    .with_context(|| format!("edit {k} was not saved"))?;
                writeln!(out, "saved {k}")?;
                out.flush()?;
            }
        }
    }
}

/// Opens the engine; the previous owner of the folder may still be letting go of it.
async fn open(config: EngineConfig) -> Result<Engine> {
    let dir = config.data_dir.clone();
    quire_tests::open_when_free(config)
        .await
        .with_context(|| format!("cannot open {}", dir.display()))
}

/// The highest `<n>` in the text (0 for none).
fn highest(text: &str) -> u64 {
    text.split('<')
        .filter_map(|t| t.strip_suffix('>')?.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
}
