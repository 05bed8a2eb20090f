//! `quire-bench relay`: the `quire-relay` binary on loopback.
//!
//! - mailbox: a member puts small sealed-size items (32 requests in flight), then
//!   reads them all back; updates per second, against bare SQLite doing the same
//!   durable inserts (`synchronous=FULL`, one transaction each) in the same run;
//! - memory: the relay's resident memory idle, and with N members connected (each a
//!   real libp2p node: noise, yamux, identify, ping), per connection.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use quire_net::mailbox_protocol::{MailboxRequest, MailboxResponse};
use quire_net::{Keypair, Multiaddr, NetConfig, NetHandle, Node, PeerId};
use serde_json::{Value, json};

/// Items put in the throughput run.
const ITEMS: usize = 5_000;
/// Bytes per item: a sealed keystroke update is about 120.
const ITEM_BYTES: usize = 120;
/// Requests in flight at once.
const IN_FLIGHT: usize = 32;

struct Relay {
    child: Child,
    peer: PeerId,
    addr: Multiaddr,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_relay(bin: &Path, dir: &Path) -> Result<Relay> {
    let mut child = Command::new(bin)
        .arg("--data-dir")
        .arg(dir)
        .args([
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--allow-any",
            "--puts-per-second",
            "1000000",
        ])
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

/// Resident memory of a process, in kilobytes (Linux).
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

async fn mailbox_throughput(relay: &Relay) -> Result<Value> {
    let net = member(relay).await?;
    let (topic, peer) = ([9u8; 32], relay.peer);
    let start = Instant::now();
    let mut pending = tokio::task::JoinSet::new();
    for i in 0..ITEMS {
        if pending.len() >= IN_FLIGHT {
            pending.join_next().await.context("put")???;
        }
        let net = net.clone();
        let item = vec![(i % 251) as u8; ITEM_BYTES];
        pending.spawn(async move {
            match net
                .mailbox(peer, MailboxRequest::Put { topic, item })
                .await?
            {
                MailboxResponse::Stored { .. } => Ok::<_, anyhow::Error>(()),
                other => bail!("put refused: {other:?}"),
            }
        });
    }
    while let Some(done) = pending.join_next().await {
        done??;
    }
    let put = start.elapsed();
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
        "items": ITEMS,
        "item_bytes": ITEM_BYTES,
        "in_flight": IN_FLIGHT,
        "puts_per_s": ITEMS as f64 / put.as_secs_f64(),
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

pub(crate) async fn run(relay_bin: &Path, members: usize) -> Result<Value> {
    let dir = tempfile::tempdir()?;
    let relay = start_relay(relay_bin, dir.path())?;
    let mailbox = mailbox_throughput(&relay).await?;
    let baseline = sqlite_baseline(dir.path())?;
    let memory = memory(&relay, members).await?;
    Ok(json!({
        "relay": { "mailbox": mailbox, "memory": memory },
        "baseline": { "sqlite_durable_inserts": baseline },
    }))
}
