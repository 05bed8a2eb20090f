//! Live editing through the relay when no circuit can be had: Ann and Bob are online
//! at the same time but cannot reach each other (Bob's invite link names only the
//! relay; no mDNS; neither dials the other) and the relay has no reservation slot to
//! give (`--max-reservations 0`), so they cannot meet through it either. The relay
//! joins the document's gossip, so each keystroke passes through it: each side
//! applies the other's edits as live gossip messages (not from the mailbox), and the
//! two never connect. (`traversal.rs` is the usual case: they meet through the relay.)
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use quire_engine::Edit;
use quire_node::NodeEvent;
use support::{Online, Team, go_online};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_who_cannot_reach_each_other_edit_live_through_the_relay() {
    let no_slots = vec!["--max-reservations".to_owned(), "0".to_owned()];
    let team = Team::new("Minutes", "Agenda.\n", no_slots).await;
    let (id, relay) = (team.id, &team.relay);
    let (ann_dir, bob_dir) = (&team.ann_dir, &team.bob_dir);

    // Ann has the team relay in her settings; Bob knows it only from the link.
    let ann = go_online(ann_dir.path(), Some(&relay.addr)).await;
    let bob = go_online(bob_dir.path(), None).await;
    bob.until_text_has(id, "Agenda.").await;

    let live = |to: &Online, from: &Online| {
        let (mut events, sender) = (to.node.subscribe(), from.node.peer_id());
        async move {
            tokio::time::timeout(Duration::from_secs(30), async {
                loop {
                    if let Ok(NodeEvent::RemoteApplied {
                        id: doc, sender: s, ..
                    }) = events.recv().await
                        && doc == id
                        && s == sender
                    {
                        return;
                    }
                }
            })
            .await
            .expect("a live update through the relay");
        }
    };
    let at_bob = live(&bob, &ann);
    ann.engine
        .edit(id, Edit::Append("Ann: live through the relay.\n".into()))
        .await
        .unwrap();
    at_bob.await;
    bob.until_text_has(id, "Ann: live through the relay.").await;

    let at_ann = live(&ann, &bob);
    bob.engine
        .edit(id, Edit::Append("Bob: heard you.\n".into()))
        .await
        .unwrap();
    at_ann.await;
    let text = ann.until_text_has(id, "Bob: heard you.").await;
    assert_eq!(bob.until_text_has(id, "Bob: heard you.").await, text);

    // They never met directly.
    let ann_peers = ann.node.net().connected_peers().await.unwrap();
    assert!(!ann_peers.contains(&bob.node.peer_id()), "{ann_peers:?}");
    assert_eq!(ann_peers, [relay.peer]);
    ann.go_offline().await;
    bob.go_offline().await;
}
