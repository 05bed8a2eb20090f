//! Members meet through the relay: Ann and Bob know only the team relay (Bob from his
//! invite link, Ann from her settings; no mDNS; neither dials the other). Each
//! reserves a slot at the relay and registers under the document's topic at its
//! rendezvous point; they find each other there, connect through the relay's
//! circuit, and DCUtR upgrades the connection to a direct one (on loopback nothing
//! stands in the way); the circuit then closes. Then they edit live over the direct
//! connection.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use quire_engine::Edit;
use quire_net::ConnectionPath;
use quire_node::NodeEvent;
use support::{Online, Team, go_online};

/// Waits until `from` has a connection to `to` that does not run through the relay.
async fn until_direct(from: &Online, to: &Online) -> ConnectionPath {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let paths = from.node.net().connection_paths().await.unwrap();
        if let Some((_, path)) = paths.iter().find(|(p, _)| *p == to.node.peer_id())
            && *path != ConnectionPath::Relayed
        {
            return *path;
        }
        assert!(
            Instant::now() < deadline,
            "no direct connection within 60 s; connections: {paths:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_find_each_other_at_the_relay_and_punch_through_to_a_direct_connection() {
    let team = Team::new("Plan", "Start.\n", Vec::new()).await;
    let (id, relay) = (team.id, &team.relay);
    let ann = go_online(team.ann_dir.path(), Some(&relay.addr)).await;
    let mut ann_events = ann.node.subscribe();
    let bob = go_online(team.bob_dir.path(), None).await;

    // Ann's side reports the hole punch (whichever side started it, both hear of it).
    let punched = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Ok(NodeEvent::HolePunch { peer, direct }) = ann_events.recv().await
                && peer == bob.node.peer_id()
            {
                return direct;
            }
        }
    })
    .await
    .expect("DCUtR was tried on the connection through the relay");
    assert!(punched, "DCUtR made the connection direct");
    let path = until_direct(&ann, &bob).await;
    assert_eq!(
        path,
        ConnectionPath::Lan,
        "a loopback connection is on the LAN"
    );
    until_direct(&bob, &ann).await;

    // The circuit is closed once the connection is direct: it would hold one of the
    // relay's circuit slots for nothing.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let paths = ann
            .node
            .net()
            .connections_to(bob.node.peer_id())
            .await
            .unwrap();
        if !paths.is_empty() && !paths.contains(&ConnectionPath::Relayed) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the circuit stayed open beside the direct connection: {paths:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Both hold a slot at the relay: members behind other NATs could reach them.
    for member in [&ann, &bob] {
        let status = member.node.status().await.unwrap();
        let at_relay = status.relays.iter().find(|r| r.peer == relay.peer).unwrap();
        assert!(
            at_relay.connected && at_relay.reachable_through,
            "{at_relay:?}"
        );
    }

    // Live, both ways, over the connection they made.
    bob.until_text_has(id, "Start.").await;
    ann.engine
        .edit(id, Edit::Append("Ann: we met at the relay.\n".into()))
        .await
        .unwrap();
    bob.until_text_has(id, "Ann: we met at the relay.").await;
    bob.engine
        .edit(id, Edit::Append("Bob: and went direct.\n".into()))
        .await
        .unwrap();
    let text = ann.until_text_has(id, "Bob: and went direct.").await;
    assert_eq!(bob.until_text_has(id, "Bob: and went direct.").await, text);
    ann.go_offline().await;
    bob.go_offline().await;
}
