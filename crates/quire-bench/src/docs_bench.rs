//! `quire-bench docs`: two devices sharing many documents (10, 100, 1,000, 10,000),
//! each a real engine on disk and a real node on loopback, in one process.
//!
//! Per size: Bob's node goes offline, Ann edits 1% of the documents, Bob's node
//! comes back. Measured: the time until the changed documents arrive, the time until
//! every document's catch-up has run, and everything on the loopback interface
//! meanwhile; then both devices idle (CPU as a share of one core, resident memory).
//! The baseline in the same run: two devices sharing only the changed documents,
//! with the same changes (what a reconnect would cost if it scaled with what changed
//! and not with how many documents there are): the ratios say how far from that.
//!
//! With `--relay-bin`, the two devices never meet: each has a real `quire-relay`
//! process (its default rate limit, no circuit slots) as its only relay, and the
//! links name only the relay; everything goes through its gossip and mailbox. A
//! document counts as checked there when the changed ones arrived (nothing says that
//! an unchanged document's mailbox was read), so only the arrival time is given;
//! the relay's CPU and memory while idle are.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use quire_engine::{DocumentId, Edit, Engine, EngineConfig, Role};
use quire_net::Multiaddr;
use quire_node::{NodeConfig, NodeEvent, SyncNode};
use serde_json::{Value, json};

use crate::relay_bench::{Relay, start_relay};
use crate::sync_bench::lo_bytes;

/// Text each document starts with (a short note).
const NOTE: &str = "# A note\n\nSome text that every document starts with, about a paragraph long, \
so that a catch-up carries something.\n";
/// How long a step may take before the benchmark gives up.
const STEP_LIMIT: Duration = Duration::from_secs(600);

/// The idle time is also reported in windows this long, to show whether it settles.
const IDLE_WINDOW: Duration = Duration::from_secs(10);

struct Device {
    dir: tempfile::TempDir,
    engine: Engine,
    node: Option<SyncNode>,
}

impl Device {
    async fn open(root: &Path) -> Result<Self> {
        let dir = tempfile::tempdir_in(root)?;
        let engine = Engine::open(EngineConfig::new(dir.path())).await?;
        Ok(Self {
            dir,
            engine,
            node: None,
        })
    }

    async fn go_online(
        &mut self,
        bootstrap: Vec<Multiaddr>,
        relay: Option<&Relay>,
    ) -> Result<&SyncNode> {
        let mut config = NodeConfig::loopback();
        config.bootstrap = bootstrap;
        config.relays = relay.map(|r| r.addr.clone()).into_iter().collect();
        let node = SyncNode::start(self.engine.clone(), config).await?;
        Ok(self.node.insert(node))
    }

    async fn go_offline(&mut self) -> Result<()> {
        if let Some(node) = self.node.take() {
            node.shutdown().await?;
        }
        Ok(())
    }

    fn node(&self) -> Result<&SyncNode> {
        self.node.as_ref().context("the device is offline")
    }

    async fn addrs(&self) -> Result<Vec<Multiaddr>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let listen = self.node()?.status().await?.listen;
            if !listen.is_empty() {
                return Ok(listen);
            }
            ensure!(Instant::now() < deadline, "the node did not listen");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Runs the benchmark for each size in `sizes` (documents shared), `changed_per_mille`
/// of them changed while apart, idling `idle` after each reconnect.
pub(crate) async fn run(
    sizes: &[usize],
    changed_per_mille: usize,
    idle: Duration,
    relay_bin: Option<&Path>,
) -> Result<Value> {
    let mut runs = Vec::new();
    for &size in sizes {
        let changed = (size * changed_per_mille).div_ceil(1000).max(1);
        eprintln!("docs: {size} shared, {changed} changed");
        let shared = reconnect(size, changed, idle, relay_bin).await?;
        eprintln!("docs: baseline, {changed} shared, all changed");
        let baseline = reconnect(changed, changed, Duration::ZERO, relay_bin).await?;
        let ratio = |key: &str| {
            let a = shared.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN);
            let b = baseline
                .get(key)
                .and_then(Value::as_f64)
                .unwrap_or(f64::NAN);
            a / b
        };
        runs.push(json!({
            "documents": size,
            "changed": changed,
            "shared": shared,
            "baseline_only_changed_shared": baseline,
            "ratio_changed_arrived": ratio("changed_arrived_secs"),
            "ratio_all_checked": ratio("all_checked_secs"),
            "ratio_bytes": ratio("loopback_bytes"),
        }));
    }
    Ok(json!({
        "bench": "docs",
        "via": if relay_bin.is_some() { "relay only" } else { "direct" },
        "changed_per_mille": changed_per_mille,
        "runs": runs,
    }))
}

/// Ann and Bob share `size` documents; Bob goes offline, Ann changes `changed` of
/// them, Bob comes back; times and bytes until he has the changes and until every
/// document was checked, then idle cost.
async fn reconnect(
    size: usize,
    changed: usize,
    idle: Duration,
    relay_bin: Option<&Path>,
) -> Result<Value> {
    let root = tempfile::tempdir()?;
    let relay = match relay_bin {
        Some(bin) => {
            let dir = root.path().join("relay");
            std::fs::create_dir(&dir)?;
            // The relay's default rate limit (what a member paces itself under).
            let flags = ["--max-reservations", "0", "--puts-per-second", "50"];
            Some(start_relay(bin, &dir, &flags)?)
        }
        None => None,
    };
    let relay = relay.as_ref();
    let mut ann = Device::open(root.path()).await?;
    let mut bob = Device::open(root.path()).await?;
    ann.go_online(Vec::new(), relay).await?;
    let (ann_addrs, links): (Vec<Multiaddr>, Vec<String>) = match relay {
        None => {
            let addrs = ann.addrs().await?;
            let links = addrs.iter().map(ToString::to_string).collect();
            (addrs, links)
        }
        Some(relay) => (Vec::new(), vec![format!("{}/p2p-circuit", relay.addr)]),
    };
    let made = Instant::now();
    let mut ids: Vec<DocumentId> = Vec::with_capacity(size);
    for n in 0..size {
        let id = ann.engine.create(&format!("Note {n}"), NOTE).await?;
        let link = ann.engine.share(id, Role::Write, links.clone()).await?;
        bob.engine.join(&link.to_link()).await?;
        ids.push(id);
    }
    let setup_secs = made.elapsed().as_secs_f64();

    // First contact: Bob has every link and nothing else.
    let first = Instant::now();
    bob.go_online(ann_addrs.clone(), relay).await?;
    match relay {
        None => until_synced(&bob, &ids).await?,
        Some(_) => until_texts(&bob, &ids, NOTE).await?,
    }
    let first_sync_secs = first.elapsed().as_secs_f64();
    wait_quiet(&bob).await?;

    // Apart: Ann changes some documents.
    bob.go_offline().await?;
    let changed_ids: Vec<DocumentId> = ids
        .iter()
        .step_by((size / changed).max(1))
        .take(changed)
        .copied()
        .collect();
    for id in &changed_ids {
        ann.engine
            .edit(*id, Edit::Append("Changed while Bob was away.\n".into()))
            .await?;
    }

    let bytes_before = lo_bytes();
    let cpu_before = process_cpu_secs();
    let back = Instant::now();
    let back_ms = quire_engine::now_ms();
    let mut events = bob.go_online(ann_addrs.clone(), relay).await?.subscribe();
    let mut synced = std::collections::HashSet::new();
    let mut changed_arrived = None;
    let mut missing: std::collections::HashSet<DocumentId> = changed_ids.iter().copied().collect();
    let all_checked = loop {
        ensure!(
            back.elapsed() < STEP_LIMIT,
            "the reconnect did not finish in {STEP_LIMIT:?}"
        );
        match tokio::time::timeout(Duration::from_millis(50), events.recv()).await {
            Ok(Ok(NodeEvent::Synced { id, .. })) => {
                synced.insert(id);
            }
            Ok(Ok(_)) | Err(_) => {}
            // A summary settles thousands of documents at once, more Synced events
            // than the channel holds: read which are synced from the status.
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                let status = bob.node()?.status().await?;
                synced.extend(
                    status
                        .docs
                        .iter()
                        .filter(|d| d.last_sync.is_some_and(|t| t >= back_ms))
                        .map(|d| d.id),
                );
            }
            Ok(Err(_)) => anyhow::bail!("the node stopped"),
        }
        if changed_arrived.is_none() {
            let mut arrived = Vec::new();
            for id in &missing {
                if bob
                    .engine
                    .text(*id)
                    .await?
                    .contains("Changed while Bob was away.")
                {
                    arrived.push(*id);
                }
            }
            for id in arrived {
                missing.remove(&id);
            }
            if missing.is_empty() {
                changed_arrived = Some(back.elapsed());
            }
        }
        if let Some(arrived) = changed_arrived
            && (relay.is_some() || synced.len() >= size)
        {
            break arrived.max(back.elapsed());
        }
    };
    let reconnect_cpu = process_cpu_secs().zip(cpu_before).map(|(a, b)| a - b);
    let counters = bob.node()?.status().await?.catch_ups;
    let bytes = lo_bytes()
        .zip(bytes_before)
        .map(|(a, b)| a.saturating_sub(b));

    // Idle: both devices online with nothing to do.
    let idle_figures = if idle.is_zero() {
        Value::Null
    } else {
        wait_quiet(&bob).await?;
        eprintln!("docs: idle for {} s", idle.as_secs());
        let cpu_start = process_cpu_secs();
        let relay_cpu_start = relay.and_then(Relay::cpu_seconds);
        let start = Instant::now();
        // CPU per window of the idle time too, to show whether it settles.
        let mut windows = Vec::new();
        let mut window_start = (Instant::now(), process_cpu_secs());
        while start.elapsed() < idle {
            tokio::time::sleep(IDLE_WINDOW.min(idle.saturating_sub(start.elapsed()))).await;
            let now = (Instant::now(), process_cpu_secs());
            let secs = now.0.duration_since(window_start.0).as_secs_f64();
            windows.push(now.1.zip(window_start.1).map(|(a, b)| (a - b) / secs));
            window_start = now;
        }
        let secs = start.elapsed().as_secs_f64();
        let cpu = process_cpu_secs().zip(cpu_start).map(|(a, b)| a - b);
        let relay_cpu = relay
            .and_then(Relay::cpu_seconds)
            .zip(relay_cpu_start)
            .map(|(a, b)| (a - b) / secs);
        json!({
            "seconds": secs,
            "cpu_share_of_one_core_both_devices": cpu.map(|c| c / secs),
            "cpu_share_by_window": windows,
            "window_secs": IDLE_WINDOW.as_secs(),
            "resident_mb_both_devices": resident_mb(),
            "relay_cpu_share_of_one_core": relay_cpu,
            "relay_resident_mb": relay.and_then(Relay::resident_mb),
        })
    };
    let result = json!({
        "setup_secs": setup_secs,
        "first_sync_secs": first_sync_secs,
        "changed_arrived_secs": changed_arrived.map(|d| d.as_secs_f64()),
        "all_checked_secs": relay.is_none().then_some(all_checked.as_secs_f64()),
        "loopback_bytes": bytes,
        "process_cpu_secs": reconnect_cpu,
        "bob_full_catch_ups": counters.catch_ups_started,
        "bob_summaries_sent": counters.summaries_sent,
        "bob_summarised_unchanged": counters.summarised_unchanged,
        "idle": idle_figures,
    });
    for mut device in [ann, bob] {
        device.go_offline().await?;
        device.engine.close().await?;
        drop(device.dir);
    }
    Ok(result)
}

/// Waits until a catch-up with Ann completed for every document (by the node's
/// status: each has a last sync time).
async fn until_synced(device: &Device, ids: &[DocumentId]) -> Result<()> {
    let start = Instant::now();
    loop {
        let status = device.node()?.status().await?;
        let done = status.docs.iter().filter(|d| d.last_sync.is_some()).count();
        if done >= ids.len() {
            return Ok(());
        }
        ensure!(
            start.elapsed() < STEP_LIMIT,
            "only {done} of {} synced",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every document holds `text` (what each starts with) on the device.
async fn until_texts(device: &Device, ids: &[DocumentId], text: &str) -> Result<()> {
    let start = Instant::now();
    let mut missing: Vec<DocumentId> = ids.to_vec();
    while !missing.is_empty() {
        ensure!(
            start.elapsed() < STEP_LIMIT,
            "only {} of {} arrived",
            ids.len() - missing.len(),
            ids.len()
        );
        let mut still = Vec::new();
        for id in missing {
            if !device.engine.text(id).await?.contains(text) {
                still.push(id);
            }
        }
        missing = still;
        if !missing.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Waits until the device's node has no catch-up running (its events go quiet for
/// a second).
async fn wait_quiet(device: &Device) -> Result<()> {
    let mut events = device.node()?.subscribe();
    loop {
        match tokio::time::timeout(Duration::from_secs(1), events.recv()).await {
            Err(_) => return Ok(()),
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return Ok(()),
            Ok(_) => {}
        }
    }
}

/// User and system CPU time of this process so far (Linux).
fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// This process's resident memory in MB (Linux).
fn resident_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
