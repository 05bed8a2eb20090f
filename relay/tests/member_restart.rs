//! A member whose daemon is killed (SIGKILL: no goodbye) and started again at once
//! is back in live sync through the relay within seconds. Everything runs over QUIC,
//! where nothing tells the relay that the old connection died until its idle
//! timeout: the restarted daemon's connection is the relay's second one to the same
//! peer, and without the relay's restart check gossip kept using the dead one (and
//! never told the restarted member which documents the relay forwards).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::{Daemon, Team, append_in, open, quire_in, until_text_in};

const QUIC: &str = "/ip4/127.0.0.1/udp/0/quic-v1";

fn text(data: &Path, id: &str) -> String {
    String::from_utf8_lossy(&quire_in(None, data, &["doc", "cat", id]).stdout).into_owned()
}

/// Waits until `data`'s copy holds `part` (at most 30 s).
fn until_has(data: &Path, id: &str, part: &str, daemons: [&Daemon; 2]) {
    until_text_in(None, data, id, part, daemons, Duration::from_secs(30));
}

/// Whether `data`'s daemon shows anyone present in the (one) document.
fn ann_present_at(data: &Path) -> bool {
    let out = quire_in(None, data, &["--json", "status"]);
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .ok()
        .and_then(|s| {
            s["documents"][0]["present"]
                .as_array()
                .map(|p| !p.is_empty())
        })
        .unwrap_or(false)
}

/// Each writes a line, and each gets the other's.
fn edit_both_ways(ann: &Path, bob: &Path, id: &str, round: &str, daemons: [&Daemon; 2]) {
    let (from_ann, from_bob) = (format!("ann {round}\n"), format!("bob {round}\n"));
    append_in(None, ann, id, &from_ann);
    append_in(None, bob, id, &from_bob);
    until_has(bob, id, &from_ann, daemons);
    until_has(ann, id, &from_bob, daemons);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_killed_and_restarted_is_back_in_live_sync_through_the_relay() {
    // No circuit slots: the members never meet, every edit goes through the relay.
    let args = ["--listen", QUIC, "--max-reservations", "0"].map(String::from);
    let team = Team::new("Restart", "Start.\n", args.to_vec()).await;
    let (ann, bob) = (team.ann_dir.path(), team.bob_dir.path());
    let engine = open(ann).await;
    engine
        .set_relays(&[team.relay.addr.to_string()])
        .await
        .unwrap();
    engine.close().await.unwrap();
    drop(engine);
    let id = team.id.to_string();

    let ann_daemon = Daemon::start_in(None, ann, QUIC);
    let bob_daemon = Daemon::start_in(None, bob, QUIC);
    until_has(bob, &id, "Start.", [&ann_daemon, &bob_daemon]);
    edit_both_ways(ann, bob, &id, "before", [&ann_daemon, &bob_daemon]);

    bob_daemon.kill();
    let bob_daemon = Daemon::start_in(None, bob, QUIC);
    let restarted = Instant::now();
    // Back in touch: each has heard the other's new hello and presence through the
    // relay. (An edit Ann makes before that is not lost: it comes from the mailbox,
    // or with her next live edit, which shows that one is missing.)
    let deadline = restarted + Duration::from_secs(30);
    while !ann_present_at(bob) {
        assert!(
            Instant::now() < deadline,
            "bob never heard from ann again after his restart\n--- bob\n{}",
            bob_daemon.log_tail()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for round in ["after 1", "after 2", "after 3"] {
        edit_both_ways(ann, bob, &id, round, [&ann_daemon, &bob_daemon]);
    }
    let took = restarted.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "three rounds of edits took {took:?} after bob's restart"
    );
    assert_eq!(text(ann, &id), text(bob, &id));
    let peers = quire_in(None, ann, &["--json", "peers"]);
    let bob_peer = quire_in(None, bob, &["whoami"]);
    let bob_peer = String::from_utf8_lossy(&bob_peer.stdout);
    let bob_peer = bob_peer
        .lines()
        .find_map(|l| l.strip_prefix("peer id "))
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&peers.stdout).contains(bob_peer),
        "ann and bob connected directly: the test is meant to go through the relay"
    );
}
