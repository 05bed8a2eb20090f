//! `quire-bench sync`: live sync between real nodes on loopback (each with its own
//! engine, data folder on disk and libp2p swarm; one process, so one clock), with
//! durable commits and sealing on both ends, side by side with a y-websocket server
//! and two Yjs clients in separate processes on the same trace in the same run.
//!
//! - paced: A replays the trace's first transactions at a fixed rate; per
//!   transaction, the time from A's local transaction to its durable apply at B.
//! - full speed: A replays the whole trace as fast as it can; time from A's first
//!   transaction until B's text equals `endContent`.
//! - fan-out: the paced run with one writer and N - 1 receivers for each N of
//!   `--fanout` (default 10; e.g. `2,10,30,50`), p50/p99 over every receiver.
//! - wire: raw update bytes, sealed bytes, and everything on the loopback interface
//!   (gossipsub, yamux, noise, TCP/IP) per update in the paced run.
//! - CPU: microseconds per transaction of every thread of the run, by kind (async
//!   runtime, store writers, ...), from the first transaction until all converged.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use quire_engine::{Edit, Engine, EngineConfig, Role};
use quire_net::Multiaddr;
use quire_node::{NodeConfig, NodeEvent, SyncNode};
use serde_json::{Value, json};

use crate::cpu::CpuTime;
use crate::stats::Latency;
use crate::trace::Trace;
use crate::trace_replay::splices;

struct Device {
    _dir: tempfile::TempDir,
    engine: Engine,
    node: SyncNode,
}

impl Device {
    /// A device on loopback; `relay`: a team relay in its settings.
    async fn start(root: &Path, relay: Option<&Multiaddr>) -> Result<Self> {
        let dir = tempfile::tempdir_in(root)?;
        let engine = Engine::open(EngineConfig::new(dir.path())).await?;
        let mut config = NodeConfig::loopback();
        config.relays.extend(relay.cloned());
        let node = SyncNode::start(engine.clone(), config).await?;
        Ok(Self {
            _dir: dir,
            engine,
            node,
        })
    }

    async fn addrs(&self) -> Result<Vec<String>> {
        for _ in 0..200 {
            let listen = self.node.status().await?.listen;
            if !listen.is_empty() {
                return Ok(listen.iter().map(ToString::to_string).collect());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        bail!("node did not start listening")
    }

    async fn stop(self) -> Result<()> {
        self.node.shutdown().await?;
        self.engine.close().await?;
        Ok(())
    }
}

/// How the devices of a run reach each other.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Via<'a> {
    /// Directly: the link names the writer's addresses.
    Direct,
    /// Only through this team relay: it is in the writer's settings and the only
    /// address in the link (as `<relay>/p2p-circuit`).
    Relay(&'a Multiaddr),
}

/// A writer and `receivers` devices that joined its document and caught up.
async fn network(
    root: &Path,
    receivers: usize,
    start: &str,
    via: Via<'_>,
) -> Result<(Device, Vec<Device>, quire_engine::DocumentId)> {
    let relay = match via {
        Via::Direct => None,
        Via::Relay(addr) => Some(addr),
    };
    let writer = Device::start(root, relay).await?;
    let id = writer.engine.create("bench", start).await?;
    let addrs = match relay {
        None => writer.addrs().await?,
        Some(addr) => vec![format!("{addr}/p2p-circuit")],
    };
    let link = writer.engine.share(id, Role::Write, addrs).await?.to_link();
    let mut others = Vec::new();
    for _ in 0..receivers {
        let device = Device::start(root, None).await?;
        device.engine.join(&link).await?;
        others.push(device);
    }
    for device in &others {
        wait_for_text(&device.engine, id, start, Duration::from_secs(60)).await?;
    }
    // Let gossipsub build its mesh (one heartbeat) before measuring; through a
    // relay, the relay joins the document's topic at the members' first mailbox
    // requests, then meshes.
    let settle = if relay.is_some() { 4000 } else { 1500 };
    tokio::time::sleep(Duration::from_millis(settle)).await;
    Ok((writer, others, id))
}

async fn wait_for_text(
    engine: &Engine,
    id: quire_engine::DocumentId,
    text: &str,
    within: Duration,
) -> Result<Duration> {
    let start = Instant::now();
    loop {
        if engine.text(id).await.unwrap_or_default() == text {
            return Ok(start.elapsed());
        }
        ensure!(start.elapsed() < within, "no convergence within {within:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Per receiver and live update from the writer: when the receiver's node reported
/// it applied (in memory, as seen by a subscriber task), and when it became durable.
fn watch_durable_applies(
    device: &Device,
) -> tokio::task::JoinHandle<std::collections::HashMap<u64, (Instant, Instant)>> {
    let mut events = device.node.subscribe();
    let mut progress = device.engine.durable_progress();
    tokio::spawn(async move {
        let mut tickets: Vec<(u64, u64, Instant)> = Vec::new();
        let mut commits: Vec<(u64, Instant)> = Vec::new();
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(NodeEvent::RemoteApplied { seq, ticket: Some(t), .. }) => {
                        tickets.push((seq, t, Instant::now()));
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => break,
                },
                changed = progress.changed() => {
                    if changed.is_err() { break; }
                    let p = *progress.borrow_and_update();
                    commits.push((p.up_to, p.at));
                }
            }
        }
        tickets
            .iter()
            .filter_map(|(seq, t, applied)| {
                let i = commits.partition_point(|(up_to, _)| up_to < t);
                commits.get(i).map(|(_, at)| (*seq, (*applied, *at)))
            })
            .collect()
    })
}

/// Bytes through the loopback interface so far (both directions count once: each
/// packet is received once on `lo`).
pub(crate) fn lo_bytes() -> Option<u64> {
    let dev = std::fs::read_to_string("/proc/net/dev").ok()?;
    let line = dev.lines().find(|l| l.trim_start().starts_with("lo:"))?;
    line.split(':')
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Replays `count` transactions at `rate` per second (`f64::INFINITY`: as fast as
/// the writer can) and times each one until it is durable at every receiver.
pub(crate) async fn paced(
    root: &Path,
    trace: &Trace,
    receivers: usize,
    rate: f64,
    count: usize,
    via: Via<'_>,
) -> Result<Value> {
    let (writer, others, id) = network(root, receivers, &trace.start_content, via).await?;
    let watchers: Vec<_> = others.iter().map(watch_durable_applies).collect();
    let mut raw = Vec::with_capacity(count);
    let mut local_changes = writer.engine.subscribe();
    // Read while the run goes (at full speed there are more messages than the
    // broadcast channel holds).
    let mut published = writer.node.subscribe();
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let collector = tokio::spawn({
        let sent = std::sync::Arc::clone(&sent);
        async move {
            loop {
                match published.recv().await {
                    Ok(NodeEvent::Published {
                        seq, transactions, ..
                    }) => {
                        if let Ok(mut sent) = sent.lock() {
                            sent.push((seq, transactions));
                        }
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        }
    });
    let lo_before = lo_bytes();
    let interval = if rate.is_finite() {
        Duration::from_secs_f64(1.0 / rate)
    } else {
        Duration::ZERO
    };
    let cpu_before = CpuTime::now();
    let start = tokio::time::Instant::now();
    let mut sent_at = Vec::with_capacity(count);
    for (i, txn) in trace.txns.iter().take(count).enumerate() {
        if interval.is_zero() {
            if i % 64 == 0 {
                tokio::task::yield_now().await;
            }
        } else {
            tokio::time::sleep_until(start + interval * i as u32).await;
        }
        sent_at.push(Instant::now());
        let _receipt = writer
            .engine
            .submit_edit(id, Edit::Splices(splices(&txn.patches)))?;
    }
    let expected = writer.engine.text(id).await?;
    for device in &others {
        wait_for_text(&device.engine, id, &expected, Duration::from_secs(60)).await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lo_after = lo_bytes();
    let cpu = match (CpuTime::now(), cpu_before) {
        (Some(after), Some(before)) => after.per_op_since(&before, count),
        _ => Value::Null,
    };
    loop {
        match local_changes.try_recv() {
            Ok(quire_engine::EngineEvent::Changed { update, .. }) => raw.push(update.len()),
            Ok(_) | Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => {}
            Err(_) => break,
        }
    }
    let status = writer.node.status().await?;
    let doc = status.docs.first().context("writer status")?;
    let (live, sealed_bytes) = (doc.live_sent, doc.sent_bytes);
    writer.stop().await?;
    // Which message (by sequence number) carried each transaction (queued
    // transactions go as one).
    collector.abort();
    let sent = sent.lock().map(|s| s.clone()).unwrap_or_default();
    let messages = sent.len();
    let message_of: Vec<u64> = sent
        .iter()
        .flat_map(|(seq, n)| std::iter::repeat_n(*seq, *n))
        .collect();
    ensure!(
        message_of.len() == count,
        "published {} of {count} transactions",
        message_of.len()
    );
    let (mut latencies, mut applied_latencies, mut commit_latencies) =
        (Vec::new(), Vec::new(), Vec::new());
    // A message a receiver got by catch-up instead of live gossip has no live time.
    let mut not_live = 0;
    for (device, watcher) in others.into_iter().zip(watchers) {
        device.stop().await?;
        let durable = watcher.await?;
        not_live += messages.saturating_sub(durable.len());
        for (seq, sent) in message_of.iter().zip(&sent_at) {
            if let Some((applied, at)) = durable.get(seq) {
                latencies.push(at.saturating_duration_since(*sent));
                applied_latencies.push(applied.saturating_duration_since(*sent));
                commit_latencies.push(at.saturating_duration_since(*applied));
            }
        }
    }
    let raw_avg = raw.iter().sum::<usize>() as f64 / raw.len().max(1) as f64;
    Ok(json!({
        "receivers": receivers,
        "rate_per_s": if rate.is_finite() { json!(rate) } else { json!("full speed") },
        "transactions": count,
        "gossip_messages": messages,
        "messages_not_received_live": not_live,
        "latency_local_tx_to_durable_apply": Latency::of(latencies),
        "latency_local_tx_to_remote_apply_in_memory": Latency::of(applied_latencies),
        // The receiver's part after the apply: its commit (see `bare_sqlite_commit`).
        "latency_remote_apply_to_durable": Latency::of(commit_latencies),
        // Every device's threads, all in this process (writer and receivers).
        "cpu_us_per_transaction": cpu,
        "wire": {
            "raw_update_bytes_avg": raw_avg,
            "sealed_message_bytes_avg": sealed_bytes as f64 / live.max(1) as f64,
            "sealing_overhead_bytes_avg": sealed_bytes as f64 / live.max(1) as f64 - raw_avg,
            "loopback_bytes_per_update": match (lo_before, lo_after) {
                (Some(b), Some(a)) => json!((a - b) as f64 / count as f64),
                _ => Value::Null,
            },
        },
    }))
}

async fn full_speed(root: &Path, trace: &Trace) -> Result<Value> {
    let (writer, mut others, id) = network(root, 1, &trace.start_content, Via::Direct).await?;
    let receiver = others.pop().context("receiver")?;
    let start = Instant::now();
    let engine = writer.engine.clone();
    let txns: Vec<_> = trace.txns.iter().map(|t| splices(&t.patches)).collect();
    let replay = tokio::spawn(async move {
        let mut last = None;
        for (i, s) in txns.into_iter().enumerate() {
            last = Some(engine.submit_edit(id, Edit::Splices(s))?);
            if i % 64 == 0 {
                tokio::task::yield_now().await;
            }
        }
        if let Some(last) = last {
            last.saved().await?;
        }
        anyhow::Ok(start.elapsed())
    });
    let converged = wait_for_text(
        &receiver.engine,
        id,
        &trace.end_content,
        Duration::from_secs(600),
    )
    .await;
    let elapsed = start.elapsed();
    let local = replay.await??;
    let status = writer.node.status().await?;
    let live = status.docs.first().map_or(0, |d| d.live_sent);
    writer.stop().await?;
    receiver.stop().await?;
    converged?;
    Ok(json!({
        "transactions": trace.txns.len(),
        "ms_until_peer_has_end_content": elapsed.as_secs_f64() * 1e3,
        "ms_local_replay_durable": local.as_secs_f64() * 1e3,
        "gossip_messages": live,
    }))
}

fn y_websocket(yws: &Path, trace_path: &Path, rate: f64, count: usize) -> Value {
    let runner = yws.join("run.mjs");
    if !yws.join("node_modules").exists() {
        return json!({ "skipped": format!("run `npm ci` in {} first", yws.display()) });
    }
    let out = std::env::temp_dir().join(format!("quire-yws-{}.json", std::process::id()));
    let status = std::process::Command::new("node")
        .arg(&runner)
        .arg("--trace")
        .arg(trace_path)
        .args([
            "--paced-rate",
            &rate.to_string(),
            "--paced-count",
            &count.to_string(),
        ])
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => std::fs::read_to_string(&out)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_else(|| json!({ "error": "no result file" })),
        Ok(s) => json!({ "error": format!("y-websocket runner failed: {s}") }),
        Err(e) => json!({ "error": format!("cannot run node: {e}") }),
    }
}

pub(crate) async fn run(
    traces: &Path,
    yws: &Path,
    rate: f64,
    count: usize,
    fanout: &[usize],
    parts: &[String],
) -> Result<Value> {
    let wants = |part: &str| parts.iter().any(|p| p == part);
    let trace_path = traces.join("automerge-paper.json.gz");
    let trace = Trace::load(&trace_path)?;
    // Data folders on the real disk (durable commits are part of the figure).
    let root = tempfile::tempdir_in(std::env::current_dir()?)?;
    let paced_two = if wants("paced") {
        paced(root.path(), &trace, 1, rate, count, Via::Direct).await?
    } else {
        Value::Null
    };
    // The disk's floor under a durable apply, measured in this run.
    let commit_floor = if wants("paced") {
        let dir = root.path().to_owned();
        let commits = count.min(1000);
        let floor = tokio::task::spawn_blocking(move || {
            crate::commit_floor::bare_commit_latency(&dir, rate, commits)
        })
        .await??;
        serde_json::to_value(floor)?
    } else {
        Value::Null
    };
    let full = if wants("full") {
        let full = full_speed(root.path(), &trace).await?;
        // The floor: the writer's own replay into bare yrs, in memory, no network.
        let bare = crate::trace_replay::replay_bare_yrs(&trace)?;
        json!({ "sync": full, "ms_bare_yrs_local_replay": bare.as_secs_f64() * 1e3 })
    } else {
        Value::Null
    };
    // One document, more and more peers: how keystroke latency to every peer grows
    // with the number of peers (the smallest run is the baseline for the others).
    let mut fan_out = Vec::new();
    if wants("fanout") {
        for &devices in fanout.iter().filter(|&&n| n > 1) {
            fan_out.push(paced(root.path(), &trace, devices - 1, rate, count, Via::Direct).await?);
        }
    }
    let baseline = if wants("yws") {
        tokio::task::spawn_blocking({
            let (yws, trace_path) = (yws.to_owned(), trace_path.clone());
            move || y_websocket(&yws, &trace_path, rate, count)
        })
        .await?
    } else {
        Value::Null
    };
    Ok(json!({
        "bench": "sync",
        "trace": "automerge-paper",
        "quire": { "paced": paced_two, "full_speed": full, "fan_out": fan_out },
        "bare_sqlite_commit": commit_floor,
        "y_websocket": baseline,
    }))
}
