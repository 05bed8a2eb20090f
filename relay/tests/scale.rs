//! Real `quire daemon` processes at the sizes teams reach (issue: scale cliffs).
//!
//! - Two daemons sharing 1,000 documents: every document syncs, a live edit to the
//!   last one arrives live, and after a reconnect the 1% changed while apart arrive;
//!   the same with 1,000 documents through a relay only, where the two idle devices
//!   then read no mailbox in a whole read interval (the relay names what changed).
//!   Before the gossip limits were set, gossipsub's
//!   default subscription filter took 100 topics per peer and its 16 KiB control
//!   limit dropped a longer subscription list whole: Bob got at most 100 of them.
//! - Thirty daemons on one IP address in one document, in a star and in a seeded
//!   random topology: every edit reaches every daemon. Before, gossipsub's IP
//!   colocation penalty graylisted peers from 14 on one address and nothing arrived.
//!   Twenty members reaching each other only through one relay, the same.
//!
//! The scenarios run one at a time (they are heavy for a 2-core machine).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use quire_engine::{DocumentId, Role};
use quire_node::RELAY_FETCH_EVERY;
use support::{Daemon, Relay, append_in, free_port, open, quire_in};

/// One scenario at a time (each test has its own runtime; tokio's mutex works
/// across them).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Documents two devices share in the many-documents scenario.
const SHARED_DOCUMENTS: usize = 1_000;
/// Documents two devices share through a relay only: ten times the old cliff (the
/// relay's gossip delivered about 100 of 250). Before batched mailbox reads this
/// did not finish within the time limit (each document's mailbox was read with a
/// request of its own, at most 40 a second), and the test ran 300.
const SHARED_THROUGH_RELAY: usize = 1_000;
/// Daemons in one document in the many-peers scenarios.
const PEERS_ON_ONE_IP: usize = 30;
/// Members in one document reaching each other only through the relay.
const PEERS_THROUGH_RELAY: usize = 20;
/// How long a scenario may take to converge before it fails.
const CONVERGE_WITHIN: Duration = Duration::from_secs(120);

async fn lock() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

fn tcp(port: u16) -> String {
    format!("/ip4/127.0.0.1/tcp/{port}")
}

fn text(data: &Path, id: &str) -> String {
    String::from_utf8_lossy(&quire_in(None, data, &["doc", "cat", id]).stdout).into_owned()
}

/// Polls `check` every 100 ms until it holds; on time-out, fails with `what` and the
/// tail of every daemon's log.
#[track_caller]
fn until(what: &str, daemons: &[&Daemon], mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + CONVERGE_WITHIN;
    while !check() {
        if Instant::now() >= deadline {
            let logs: Vec<String> = daemons.iter().take(3).map(|d| d.log_tail()).collect();
            panic!("timed out: {what}\n--- logs\n{}", logs.join("\n---\n"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Documents of `data` that hold text, by `quire doc ls` (through its daemon).
fn documents_with_text(data: &Path) -> usize {
    let out = quire_in(None, data, &["--json", "doc", "ls"]);
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .ok()
        .and_then(|docs| {
            docs.as_array().map(|docs| {
                docs.iter()
                    .filter(|d| d["chars"].as_u64() > Some(0))
                    .count()
            })
        })
        .unwrap_or(0)
}

/// Ann's `count` new documents, shared with write access by links naming `addrs`;
/// Bob joins every link while offline. Returns the ids in order.
async fn share_many(ann: &Path, bob: &Path, count: usize, addrs: &[String]) -> Vec<DocumentId> {
    let (ann_engine, bob_engine) = (open(ann).await, open(bob).await);
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let id = ann_engine
            .create(
                &format!("Note {n}"),
                &format!("# Note {n}\n\nStarted by Ann.\n"),
            )
            .await
            .unwrap();
        let link = ann_engine
            .share(id, Role::Write, addrs.to_vec())
            .await
            .unwrap();
        bob_engine.join(&link.to_link()).await.unwrap();
        ids.push(id);
    }
    ann_engine.close().await.unwrap();
    bob_engine.close().await.unwrap();
    ids
}

/// Every document's text is the same on both devices (read with both daemons
/// stopped); returns how many differ, naming the first.
async fn differing(ann: &Path, bob: &Path, ids: &[DocumentId]) -> Vec<DocumentId> {
    let (a, b) = (open(ann).await, open(bob).await);
    let mut differ = Vec::new();
    for id in ids {
        if a.text(*id).await.unwrap() != b.text(*id).await.unwrap_or_default() {
            differ.push(*id);
        }
    }
    a.close().await.unwrap();
    b.close().await.unwrap();
    differ
}

/// The many-documents scenario, directly (`relay`: None) or through a relay only.
async fn many_documents(relay: Option<&Relay>, count: usize) {
    let (ann_dir, bob_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ann, bob) = (ann_dir.path(), bob_dir.path());
    let ann_port = free_port();
    let addrs = match relay {
        Some(relay) => vec![format!("{}/p2p-circuit", relay.addr)],
        None => {
            let ann_id = open(ann).await.peer_id();
            vec![format!("{}/p2p/{ann_id}", tcp(ann_port))]
        }
    };
    if let Some(relay) = relay {
        for dir in [ann, bob] {
            let engine = open(dir).await;
            engine.set_relays(&[relay.addr.to_string()]).await.unwrap();
            engine.close().await.unwrap();
        }
    }
    let ids = share_many(ann, bob, count, &addrs).await;

    let ann_daemon = Daemon::start_in(None, ann, &tcp(ann_port));
    let bob_daemon = Daemon::start_in(None, bob, &tcp(0));
    let daemons = [&ann_daemon, &bob_daemon];
    until(
        &format!("bob synced all {count} documents"),
        &daemons,
        || documents_with_text(bob) == count,
    );

    // A live edit to the last document arrives while both run.
    let last = ids[count - 1].to_string();
    append_in(None, ann, &last, "A live line.\n");
    until("the live edit to the last document", &daemons, || {
        text(bob, &last).contains("A live line.")
    });

    // Apart: Ann changes 1% of the documents; Bob comes back and gets them all.
    drop(bob_daemon);
    let changed: Vec<String> = ids.iter().step_by(100).map(ToString::to_string).collect();
    for id in &changed {
        append_in(None, ann, id, "Changed while Bob was away.\n");
    }
    let bob_daemon = Daemon::start_in(None, bob, &tcp(0));
    let daemons = [&ann_daemon, &bob_daemon];
    until(
        "bob got every document changed while he was away",
        &daemons,
        || {
            changed
                .iter()
                .all(|id| text(bob, id).contains("Changed while Bob was away."))
        },
    );
    if let Some(http) = relay.and_then(|r| r.http.as_deref()) {
        idle_devices_read_only_what_changed(http, count, &daemons);
    }
    drop(bob_daemon);
    drop(ann_daemon);
    let differ = differing(ann, bob, &ids).await;
    assert!(
        differ.is_empty(),
        "{} of {count} documents differ, the first {}",
        differ.len(),
        differ[0]
    );
}

/// Both devices idle, connected to the relay, for a whole read interval: they read
/// a mailbox only when something was put to it (each put, at most once by each
/// device). Before the relay gave change numbers, each read all `count` of its
/// mailboxes every read interval.
fn idle_devices_read_only_what_changed(http: &str, count: usize, daemons: &[&Daemon]) {
    let metric = |name: &str| -> f64 {
        let page = support::http_get(http, "/metrics");
        page.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} on the metrics page:\n{page}"))
    };
    const GETS: &str = "quire_relay_mailbox_gets_total";
    const ASKS: &str = "quire_relay_mailbox_change_asks_total";
    const PUTS: &str = "quire_relay_mailbox_puts_total";
    let (gets, asks, puts) = (metric(GETS), metric(ASKS), metric(PUTS));
    let start = Instant::now();
    // A window of a whole read interval, closed by an ask of each device.
    until(
        "a read interval passed and both devices asked the relay again what changed",
        daemons,
        || start.elapsed() > RELAY_FETCH_EVERY && metric(ASKS) >= asks + 2.0,
    );
    let (read, asked, put) = (
        metric(GETS) - gets,
        metric(ASKS) - asks,
        metric(PUTS) - puts,
    );
    eprintln!(
        "idle for {:.1} s: {asked} asks for changes, {put} puts, {read} mailbox reads ({count} documents, 2 devices)",
        start.elapsed().as_secs_f64()
    );
    assert!(
        read <= 2.0 * put + (count / 20) as f64,
        "idle devices read {read} mailboxes of {count} in one read interval, with {put} puts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_sharing_a_thousand_documents_sync_every_one() {
    let _one = lock().await;
    many_documents(None, SHARED_DOCUMENTS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_documents_sync_through_the_relay_only() {
    let _one = lock().await;
    let relay_dir = tempfile::tempdir().unwrap();
    // No circuit slots: the members never meet; everything goes through the relay's
    // gossip and mailbox.
    let args = [
        "--allow-any",
        "--max-reservations",
        "0",
        "--http",
        "127.0.0.1:0",
    ];
    let relay = Relay::start(relay_dir.path(), &args.map(String::from));
    many_documents(Some(&relay), SHARED_THROUGH_RELAY).await;
}

/// A deterministic generator for the random topology (the seed is printed).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// How the daemons of the many-peers scenario find each other.
enum Topology {
    /// Everyone's link names the first daemon.
    Star,
    /// Everyone's link names two others picked at random (a connected graph: the
    /// first of them is always an earlier daemon).
    Random { seed: u64 },
    /// Everyone's link names only the relay, which gives no circuits.
    RelayOnly,
}

/// `count` daemons in one document, found by `topology`; each appends a line, and
/// every daemon must end with every line.
async fn many_peers(count: usize, topology: Topology) {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = match topology {
        Topology::RelayOnly => Some(Relay::start(
            relay_dir.path(),
            &["--allow-any", "--max-reservations", "0"].map(String::from),
        )),
        _ => None,
    };
    let dirs: Vec<tempfile::TempDir> = (0..count).map(|_| tempfile::tempdir().unwrap()).collect();
    let ports: Vec<u16> = (0..count).map(|_| free_port()).collect();
    let mut peer_ids = Vec::new();
    for dir in &dirs {
        peer_ids.push(open(dir.path()).await.peer_id());
    }
    let addr_of = |n: usize| format!("{}/p2p/{}", tcp(ports[n]), peer_ids[n]);
    let first = open(dirs[0].path()).await;
    let id = first.create("Standup", "# Standup\n").await.unwrap();
    let mut rng = match topology {
        Topology::Random { seed } => {
            eprintln!("random topology, seed {seed}");
            Some(SplitMix(seed))
        }
        _ => None,
    };
    let mut links = Vec::new();
    for n in 1..count {
        let addrs = match (&topology, rng.as_mut(), &relay) {
            (Topology::Random { .. }, Some(rng), _) => {
                let earlier = rng.below(n);
                let any = rng.below(count);
                let set: BTreeSet<usize> = [earlier, any].into_iter().filter(|m| *m != n).collect();
                set.into_iter().map(addr_of).collect()
            }
            (Topology::RelayOnly, _, Some(relay)) => vec![format!("{}/p2p-circuit", relay.addr)],
            _ => vec![addr_of(0)],
        };
        links.push(first.share(id, Role::Write, addrs).await.unwrap().to_link());
    }
    first.close().await.unwrap();
    drop(first);
    for (dir, link) in dirs.iter().skip(1).zip(&links) {
        let engine = open(dir.path()).await;
        engine.join(link).await.unwrap();
        if let Some(relay) = &relay {
            engine.set_relays(&[relay.addr.to_string()]).await.unwrap();
        }
        engine.close().await.unwrap();
    }
    if let Some(relay) = &relay {
        let engine = open(dirs[0].path()).await;
        engine.set_relays(&[relay.addr.to_string()]).await.unwrap();
        engine.close().await.unwrap();
    }
    let daemons: Vec<Daemon> = dirs
        .iter()
        .zip(&ports)
        .map(|(dir, port)| Daemon::start_in(None, dir.path(), &tcp(*port)))
        .collect();
    let all: Vec<&Daemon> = daemons.iter().collect();
    let id = id.to_string();
    // Everyone has the start (so every daemon is in the document's gossip).
    until("every daemon has the document", &all, || {
        dirs.iter()
            .all(|d| text(d.path(), &id).contains("# Standup"))
    });
    for (n, dir) in dirs.iter().enumerate() {
        append_in(None, dir.path(), &id, &format!("line from member {n}\n"));
    }
    let lines: Vec<String> = (0..count)
        .map(|n| format!("line from member {n}\n"))
        .collect();
    until(
        &format!("all {count} daemons have all {count} lines"),
        &all,
        || {
            dirs.iter().all(|d| {
                let t = text(d.path(), &id);
                lines.iter().all(|l| t.contains(l.as_str()))
            })
        },
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_daemons_on_one_address_in_a_star_all_get_every_edit() {
    let _one = lock().await;
    many_peers(PEERS_ON_ONE_IP, Topology::Star).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_daemons_on_one_address_in_a_random_mesh_all_get_every_edit() {
    let _one = lock().await;
    let seed = std::env::var("QUIRE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand_seed);
    eprintln!("replay with QUIRE_TEST_SEED={seed}");
    many_peers(PEERS_ON_ONE_IP, Topology::Random { seed }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_members_through_one_relay_all_get_every_edit() {
    let _one = lock().await;
    many_peers(PEERS_THROUGH_RELAY, Topology::RelayOnly).await;
}

fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}
