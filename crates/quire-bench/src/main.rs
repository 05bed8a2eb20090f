//! `quire-bench`: benchmarks of the Quire engine, each measured side by side with a
//! baseline in the same run, printed as JSON.
//!
//! - `trace`: replays real keystroke traces through the engine (every transaction
//!   persisted) and through bare yrs.
//! - `open`: cold opens of a document with its full editing history.
//! - `sync`: live sync between nodes on loopback, against y-websocket.
//! - `docs`: two devices sharing 10 to 10,000 documents: a reconnect after 1% changed
//!   (against sharing only the changed ones), and idle cost.
//! - `relay`: the relay's mailbox throughput (against bare SQLite), memory per
//!   connection, and live latency through it (against a direct connection).
//! - `search`: multilingual search (the store's index against FTS5 `unicode61` and
//!   `trigram`): build time, index size, query latency and recall per script.

mod commit_floor;
mod cpu;
mod docs_bench;
mod open;
mod peer_apply;
mod relay_bench;
mod search_bench;
mod search_corpus;
mod stats;
mod sync_bench;
mod trace;
mod trace_replay;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "quire-bench",
    about = "Benchmarks of the Quire engine (JSON out)"
)]
struct Cli {
    /// Folder of editing traces (`*.json.gz`).
    #[arg(long, default_value = "../shared/data/editing-traces")]
    traces: PathBuf,
    /// Also write the JSON result to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Replay traces through the engine and through bare yrs.
    Trace {
        /// Only traces whose file name contains this.
        #[arg(long)]
        only: Option<String>,
        /// Runs per trace; the median run is reported.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
    /// Cold-open the automerge-paper document with its full history.
    Open {
        /// How many opens to time.
        #[arg(long, default_value_t = 30)]
        runs: usize,
    },
    /// Live sync on loopback (paced, full speed, fan-out) against y-websocket.
    Sync {
        /// Paced replay rate, transactions per second.
        #[arg(long, default_value_t = 200.0)]
        rate: f64,
        /// Transactions in the paced runs.
        #[arg(long, default_value_t = 3000)]
        count: usize,
        /// Devices in one document for the fan-out runs, one run per number (one
        /// writer, the rest receive; all on loopback, one IP; 0 or 1 skips).
        #[arg(long, value_delimiter = ',', default_value = "10")]
        fanout: Vec<usize>,
        /// Folder of the y-websocket baseline (`npm ci` there first).
        #[arg(long, default_value = "crates/quire-bench/yws")]
        yws: PathBuf,
        /// Parts to run: any of paced, full, fanout, yws.
        #[arg(long, value_delimiter = ',', default_value = "paced,full,fanout,yws")]
        parts: Vec<String>,
    },
    /// Two devices sharing many documents: reconnect cost and idle cost.
    Docs {
        /// Documents shared, one run each.
        #[arg(long, value_delimiter = ',', default_value = "10,100,1000,10000")]
        sizes: Vec<usize>,
        /// Documents changed while apart, per thousand shared (at least one).
        #[arg(long, default_value_t = 10)]
        changed_per_mille: usize,
        /// Seconds both devices idle after the reconnect (CPU and memory measured).
        #[arg(long, default_value_t = 10)]
        idle_secs: u64,
        /// Through a relay only: the `quire-relay` binary to run (`cargo build
        /// --release -p quire-relay`); directly when not given.
        #[arg(long)]
        relay_bin: Option<PathBuf>,
    },
    /// The relay's mailbox throughput, memory per connection and live latency.
    Relay {
        /// The relay binary (`cargo build --release -p quire-relay`).
        #[arg(long, default_value = "target/release/quire-relay")]
        relay_bin: PathBuf,
        /// Members connected in the memory run.
        #[arg(long, default_value_t = 1000)]
        members: usize,
        /// Parts to run: any of mailbox, memory, live.
        #[arg(long, value_delimiter = ',', default_value = "mailbox,memory,live")]
        parts: Vec<String>,
    },
    /// Multilingual search: the store's index against FTS5 unicode61 and trigram.
    Search {
        /// Documents in the corpus.
        #[arg(long, default_value_t = 10_000)]
        docs: usize,
        /// Bytes of body text per document (10,000 x 1,000 = about 10 MB).
        #[arg(long, default_value_t = 1_000)]
        body_bytes: usize,
        /// Timed queries per script and kind (one word, two words, prefix).
        #[arg(long, default_value_t = 200)]
        queries: usize,
    },
}

/// Environment variable with a log filter for the nodes and engines the benchmarks run
/// (off by default; e.g. `quire_node=debug`). Logs go to standard error.
const LOG_ENV: &str = "QUIRE_LOG";

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env(LOG_ENV) {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        match cli.bench {
            Bench::Trace { only, repeat } => {
                trace_replay::run(&cli.traces, only.as_deref(), repeat).await
            }
            Bench::Open { runs } => open::run(&cli.traces, runs).await,
            Bench::Sync {
                rate,
                count,
                fanout,
                yws,
                parts,
            } => sync_bench::run(&cli.traces, &yws, rate, count, &fanout, &parts).await,
            Bench::Docs {
                sizes,
                changed_per_mille,
                idle_secs,
                relay_bin,
            } => {
                docs_bench::run(
                    &sizes,
                    changed_per_mille,
                    std::time::Duration::from_secs(idle_secs),
                    relay_bin.as_deref(),
                )
                .await
            }
            Bench::Relay {
                relay_bin,
                members,
                parts,
            } => {
                let wants = |part: &str| parts.iter().any(|p| p == part);
                let parts = relay_bench::Parts {
                    mailbox: wants("mailbox"),
                    memory: wants("memory"),
                    live: wants("live"),
                };
                relay_bench::run(&relay_bin, &cli.traces, members, &parts).await
            }
            Bench::Search {
                docs,
                body_bytes,
                queries,
            } => search_bench::run(docs, body_bytes, queries),
        }
    })?;
    let text = serde_json::to_string_pretty(&result)?;
    println!("{text}");
    if let Some(path) = cli.out {
        std::fs::write(&path, text + "\n")?;
    }
    Ok(())
}
