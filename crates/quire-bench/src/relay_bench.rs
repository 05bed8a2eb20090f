//! `quire-bench relay`: the `quire-relay` binary on loopback.
//!
//! - mailbox: a member puts small sealed-size items, one per request (32 requests in
//!   flight), then 64 per request (`PutMany`, 4 in flight), then reads them all
//!   back; updates per second and per second of the relay's CPU, against bare
//!   SQLite doing the same durable inserts (`synchronous=FULL`, one transaction
//!   each) in the same run;
//! - memory: the relay's resident memory idle, and with N members connected (each a
//!   real libp2p node: noise, yamux, identify, ping), per connection;
//! - live: two members (engines on disk, sync nodes) who reach each other only
//!   through the relay's gossip (it gives no reservation slots, so they cannot meet
//!   through a circuit either) replay the automerge-paper trace, paced and at full
//!   speed; per transaction, the time from the writer's local transaction to its
//!   durable apply at the reader, against the same runs directly connected.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use quire_crypto::{MailboxKey, WriteKey};
use quire_net::mailbox_auth::{MailboxAuth, Operation};
use quire_net::mailbox_protocol::{MailboxRequest, MailboxResponse, PutItem};
use quire_net::{Keypair, Multiaddr, NetConfig, NetHandle, Node, PeerId};
use serde_json::{Value, json};

use crate::sync_bench::{Via, paced};
use crate::trace::Trace;

/// Items put in each throughput run, one per request and batched.
const ITEMS: usize = 10_000;
const BATCHED_ITEMS: usize = 100_000;
/// Bytes per item: a sealed keystroke update is about 120.
const ITEM_BYTES: usize = 120;
/// Requests in flight at once.
const IN_FLIGHT: usize = 32;
/// Items per request in the batched run (`PutMany`, as a member uploading several
/// documents at once sends them).
const BATCH: usize = 64;
/// Batched requests in flight at once.
const BATCHES_IN_FLIGHT: usize = 4;

/// A `quire-relay` process, killed when dropped.
pub(crate) struct Relay {
    child: Child,
    peer: PeerId,
    pub(crate) addr: Multiaddr,
}

impl Relay {
    /// CPU time (user + system) the relay has used so far, in seconds.
    pub(crate) fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(self.child.id())
    }

    /// The relay's resident memory, in MB.
    pub(crate) fn resident_mb(&self) -> Option<f64> {
        rss_kb(self.child.id()).map(|kb| kb as f64 / 1024.0)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the relay at `bin` on loopback with its data in `dir`, open to any device
/// and with no rate limit (unless `extra` sets one), then `extra`'s flags.
pub(crate) fn start_relay(bin: &Path, dir: &Path, extra: &[&str]) -> Result<Relay> {
    let mut args = vec!["--listen", "/ip4/127.0.0.1/tcp/0", "--allow-any"];
    if !extra.contains(&"--puts-per-second") {
        args.extend(["--puts-per-second", "1000000"]);
    }
    let mut child = Command::new(bin)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .args(extra)
        .env("QUIRE_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!(
                "cannot start {}; build it with `cargo build --release -p quire-relay`",
                bin.display()
            )
        })?;
    let stdout = child.stdout.take().context("relay stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let (mut peer, mut addr) = (None, None);
    for line in lines.by_ref() {
        let line = line?;
        if let Some(id) = line.strip_prefix("quire-relay ") {
            peer = Some(id.parse()?);
        } else if let Some(a) = line.strip_prefix("address ") {
            addr = Some(a.parse()?);
        } else if line == "ready" {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Ok(Relay {
        child,
        peer: peer.context("relay peer id")?,
        addr: addr.context("relay address")?,
    })
}

async fn member(relay: &Relay) -> Result<NetHandle> {
    let mut config = NetConfig::new(Keypair::generate_ed25519());
    config.enable_mdns = false;
    let (net, mut events) = Node::spawn(config)?;
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    net.dial(relay.addr.clone()).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !net.connected_peers().await?.contains(&relay.peer) {
        if Instant::now() > deadline {
            bail!("no connection to the relay");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(net)
}

/// CPU time (user + system) a process has used so far, in seconds (Linux).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let (utime, stime): (u64, u64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    // Clock ticks are 100 per second on Linux.
    Some((utime + stime) as f64 / 100.0)
}

/// Resident memory of a process, in kilobytes (Linux).
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Puts `count` items into `topic`, `batch` per request (`1`: plain puts), with
/// `in_flight` requests at once; the rate, and the relay's CPU time for them.
async fn put_run(
    net: &NetHandle,
    relay: &Relay,
    topic: [u8; 32],
    (count, batch, in_flight): (usize, usize, usize),
) -> Result<Value> {
    let (peer, pid) = (relay.peer, relay.child.id());
    let cpu_before = cpu_seconds(pid);
    let start = Instant::now();
    let mut pending = tokio::task::JoinSet::new();
    let items: Vec<Vec<u8>> = (0..count)
        .map(|i| vec![(i % 251) as u8; ITEM_BYTES])
        .collect();
    // Signed as a writer signs (the relay checks every signature), outside the timing
    // only in that the member's signing is not the relay's CPU.
    let key = MailboxKey::derive(&WriteKey::from_secret_bytes(topic)?)?;
    let sign = |item: &[u8]| {
        Some(MailboxAuth::sign(
            key.public(),
            |m| key.sign(m),
            &peer,
            &topic,
            Operation::Put { item },
        ))
    };
    for chunk in items.chunks(batch) {
        if pending.len() >= in_flight {
            pending.join_next().await.context("put")???;
        }
        let net = net.clone();
        let request = if let [item] = chunk {
            MailboxRequest::Put {
                topic,
                item: item.clone(),
                auth: sign(item),
            }
        } else {
            MailboxRequest::PutMany {
                items: chunk
                    .iter()
                    .map(|item| PutItem {
                        topic,
                        item: item.clone(),
                        auth: sign(item),
                    })
                    .collect(),
            }
        };
        pending.spawn(async move {
            match net.mailbox(peer, request).await? {
                MailboxResponse::Stored { .. } => Ok::<_, anyhow::Error>(()),
                MailboxResponse::StoredMany { results }
                    if results
                        .iter()
                        .all(|r| matches!(r, MailboxResponse::Stored { .. })) =>
                {
                    Ok(())
                }
                other => bail!("put refused: {other:?}"),
            }
        });
    }
    while let Some(done) = pending.join_next().await {
        done??;
    }
    let elapsed = start.elapsed();
    let cpu = cpu_seconds(pid)
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    Ok(json!({
        "items": count,
        "items_per_request": batch,
        "requests_in_flight": in_flight,
        "puts_per_s": count as f64 / elapsed.as_secs_f64(),
        "relay_cpu_s": cpu,
        "puts_per_relay_cpu_s": cpu.map(|cpu| count as f64 / cpu.max(0.01)),
    }))
}

async fn mailbox_throughput(relay: &Relay) -> Result<Value> {
    let net = member(relay).await?;
    let topic = [9u8; 32];
    let single = put_run(&net, relay, topic, (ITEMS, 1, IN_FLIGHT)).await?;
    let batched = put_run(
        &net,
        relay,
        [10u8; 32],
        (BATCHED_ITEMS, BATCH, BATCHES_IN_FLIGHT),
    )
    .await?;
    let start = Instant::now();
    let (mut after, mut read) = (0, 0);
    loop {
        let request = MailboxRequest::Get {
            topic,
            after,
            max_bytes: 1 << 20,
        };
        match net.mailbox(relay.peer, request).await? {
            MailboxResponse::Items { items, more } => {
                read += items.len();
                after = items.last().map_or(after, |i| i.seq);
                if !more {
                    break;
                }
            }
            other => bail!("get refused: {other:?}"),
        }
    }
    let get = start.elapsed();
    net.shutdown().await?;
    Ok(json!({
        "item_bytes": ITEM_BYTES,
        "puts": single,
        "puts_batched": batched,
        "gets_items_per_s": read as f64 / get.as_secs_f64(),
    }))
}

/// The same durable inserts into bare SQLite: one transaction per item, WAL,
/// `synchronous=FULL`.
fn sqlite_baseline(dir: &Path) -> Result<Value> {
    let conn = rusqlite::Connection::open(dir.join("baseline.sqlite"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(
        "CREATE TABLE items (topic BLOB NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (topic, seq)) WITHOUT ROWID",
    )?;
    let start = Instant::now();
    for i in 0..ITEMS {
        conn.execute(
            "INSERT INTO items (topic, seq, bytes) VALUES (?1, ?2, ?3)",
            rusqlite::params![&[9u8; 32][..], i as i64, vec![(i % 251) as u8; ITEM_BYTES]],
        )?;
    }
    Ok(json!({ "inserts_per_s": ITEMS as f64 / start.elapsed().as_secs_f64() }))
}

async fn memory(relay: &Relay, members: usize) -> Result<Value> {
    let pid = relay.child.id();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_kb(pid).context("reading the relay's memory (Linux only)")?;
    let mut nets = Vec::with_capacity(members);
    for _ in 0..members {
        nets.push(member(relay).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let loaded = rss_kb(pid).context("reading the relay's memory")?;
    for net in nets {
        let _ = net.shutdown().await;
    }
    Ok(json!({
        "members": members,
        "rss_idle_kb": idle,
        "rss_with_members_kb": loaded,
        "kb_per_connection": (loaded.saturating_sub(idle)) as f64 / members.max(1) as f64,
    }))
}

/// Transactions in the paced live runs, and their rate.
const LIVE_PACED: (usize, f64) = (3000, 200.0);
/// Transactions in the full-speed live runs.
const LIVE_FULL_SPEED: usize = 3_000;

async fn live_latency(relay_bin: &Path, traces: &Path) -> Result<(Value, Value)> {
    let dir = tempfile::tempdir()?;
    let relay = start_relay(relay_bin, dir.path(), &["--max-reservations", "0"])?;
    let trace = Trace::load(&traces.join("automerge-paper.json.gz"))?;
    // Data folders on the real disk (durable commits are part of the figure).
    let root = tempfile::tempdir_in(std::env::current_dir()?)?;
    let (count, rate) = LIVE_PACED;
    let mut relayed = serde_json::Map::new();
    let mut direct = serde_json::Map::new();
    for (name, rate, count) in [
        ("paced", rate, count),
        ("full_speed", f64::INFINITY, LIVE_FULL_SPEED),
    ] {
        let via_relay = Via::Relay(&relay.addr);
        relayed.insert(
            name.into(),
            paced(root.path(), &trace, 1, rate, count, via_relay).await?,
        );
        direct.insert(
            name.into(),
            paced(root.path(), &trace, 1, rate, count, Via::Direct).await?,
        );
    }
    Ok((Value::Object(relayed), Value::Object(direct)))
}

/// Which parts run.
pub(crate) struct Parts {
    pub(crate) mailbox: bool,
    pub(crate) memory: bool,
    pub(crate) live: bool,
}

pub(crate) async fn run(
    relay_bin: &Path,
    traces: &Path,
    members: usize,
    parts: &Parts,
) -> Result<Value> {
    let dir = tempfile::tempdir()?;
    let relay = start_relay(relay_bin, dir.path(), &[])?;
    let (mut mailbox, mut baseline, mut memory_use) = (Value::Null, Value::Null, Value::Null);
    if parts.mailbox {
        mailbox = mailbox_throughput(&relay).await?;
        baseline = sqlite_baseline(dir.path())?;
    }
    if parts.memory {
        memory_use = memory(&relay, members).await?;
    }
    drop(relay);
    let (live, live_direct) = if parts.live {
        live_latency(relay_bin, traces).await?
    } else {
        (Value::Null, Value::Null)
    };
    Ok(json!({
        "relay": { "mailbox": mailbox, "memory": memory_use, "live_through_relay": live },
        "baseline": { "sqlite_durable_inserts": baseline, "live_direct": live_direct },
    }))
}
