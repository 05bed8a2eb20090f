//! Seeded random concurrent edits on 2 and 5 devices, with random disconnects and
//! reconnects: everyone ends with the same text, and that text holds every edit
//! (it equals the merge of every device's full state). The seed is printed; rerun a
//! failure with `QUIRE_SEED=<seed>`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use quire_engine::{Edit, Role};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::{Peer, converged};

const SNIPPETS: &[&str] = &[
    "a",
    "hello ",
    "🎈",
    "日本語",
    "\n",
    "- item\n",
    "ok",
    "é",
    "👩‍💻 ",
];

fn seed() -> u64 {
    let seed = std::env::var("QUIRE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("convergence seed: {seed} (rerun with QUIRE_SEED={seed})");
    seed
}

async fn random_edit(rng: &mut StdRng, peer: &Peer, id: quire_engine::DocumentId) {
    let len = peer.text(id).await.chars().count();
    let edit = if len > 0 && rng.random_bool(0.3) {
        let at = rng.random_range(0..len);
        let n = rng.random_range(1..=(len - at).min(8));
        Edit::Delete { at, len: n }
    } else {
        let text = SNIPPETS[rng.random_range(0..SNIPPETS.len())].to_owned();
        Edit::Insert {
            at: rng.random_range(0..=len),
            text,
        }
    };
    // A concurrent remote change may have shortened the text: that is a refused
    // edit, not a failure of sync.
    let _ = peer.engine.edit(id, edit).await;
}

async fn run(peers: usize, edits: usize) {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut devices = Vec::new();
    for _ in 0..peers {
        devices.push(Peer::start().await);
    }
    let id = devices[0].engine.create("Race", "start\n").await.unwrap();
    let link = devices[0].share(id, Role::Write).await;
    for device in &devices[1..] {
        device.engine.join(&link).await.unwrap();
    }
    let mut addrs = Vec::new();
    for device in &devices {
        addrs.push(device.addrs().await);
    }
    converged(&devices.iter().collect::<Vec<_>>(), id).await;

    for _ in 0..edits {
        let who = rng.random_range(0..peers);
        random_edit(&mut rng, &devices[who], id).await;
        if rng.random_bool(0.04) {
            // Cut a random device off from another.
            let (a, b) = (rng.random_range(0..peers), rng.random_range(0..peers));
            if a != b {
                let _ = devices[a]
                    .node
                    .net()
                    .disconnect(devices[b].node.peer_id())
                    .await;
            }
        }
        if rng.random_bool(0.06) {
            let (a, b) = (rng.random_range(0..peers), rng.random_range(0..peers));
            if a != b {
                for addr in &addrs[b] {
                    let _ = devices[a].node.dial(addr.parse().unwrap()).await;
                }
            }
        }
        if rng.random_bool(0.1) {
            tokio::time::sleep(std::time::Duration::from_millis(rng.random_range(1..10))).await;
        }
    }
    // Heal the network: everyone dials everyone.
    for (a, device) in devices.iter().enumerate() {
        for (b, their_addrs) in addrs.iter().enumerate() {
            if a != b {
                for addr in their_addrs {
                    let _ = device.node.dial(addr.parse().unwrap()).await;
                }
            }
        }
    }
    let text = converged(&devices.iter().collect::<Vec<_>>(), id).await;

    // Nothing was lost: the merge of every device's whole state is that same text.
    let mut merged = quire_doc::Document::new();
    for device in &devices {
        let state = device.engine.encode_state(id).await.unwrap();
        merged.apply_update(&state).unwrap();
    }
    assert_eq!(merged.text(), text, "seed {seed}");
    for device in devices {
        device.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_peers_converge_through_random_edits_and_disconnects() {
    run(2, 300).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_peers_converge_through_random_edits_and_disconnects() {
    run(5, 400).await;
}
