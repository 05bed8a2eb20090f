//! The relay's gossip serves its team only, and junk it forwards costs it nothing.
//!
//! - An outsider connected to a team relay is not offered gossip at all: it hears no
//!   topic the relay is in (the relay's subscription list goes to every peer its
//!   gossip runs with), receives no message, and what it publishes goes nowhere.
//!   Before, gossip was open to every connection: an outsider learnt every topic
//!   hash the relay served and could inject messages.
//! - A device the relay allows but that is no member of the document floods the
//!   topic with junk. The relay forwards it (it holds no keys to check it); the
//!   members drop it without penalising the relay, so two members who reach each
//!   other only through the relay keep editing live during the flood. Before, three
//!   junk messages put the relay under the members' graylist threshold and live sync
//!   through it stopped for everyone.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::time::Duration;

use quire_crypto::DeviceIdentity;
use quire_net::{NetConfig, NetEvent, NetHandle, Node};
use support::{Team, go_online};

/// Junk messages the allowed non-member publishes.
const JUNK: usize = 200;

/// A bare libp2p node (no engine, no keys) in `topic`, dialled into the relay.
async fn raw_node(
    identity: &DeviceIdentity,
    relay: &support::Relay,
    topic: [u8; 32],
) -> (NetHandle, tokio::sync::mpsc::Receiver<NetEvent>) {
    let mut config = NetConfig::new(identity.to_libp2p_keypair());
    config.enable_mdns = false;
    let (node, events) = Node::spawn(config).unwrap();
    node.subscribe(topic).await.unwrap();
    node.dial(relay.addr.clone()).await.unwrap();
    (node, events)
}

/// Waits for the relay to show up in `topic` among `events`; returns what else came.
async fn until_relay_in_topic(
    events: &mut tokio::sync::mpsc::Receiver<NetEvent>,
    relay: libp2p::PeerId,
    topic: [u8; 32],
) -> Vec<NetEvent> {
    let mut other = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.recv().await.expect("the node runs") {
                NetEvent::PeerSubscribed { peer, topic: t } if peer == relay && t == topic => {
                    return;
                }
                event => other.push(event),
            }
        }
    })
    .await
    .expect("the relay in the topic");
    other
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outsiders_get_no_gossip_and_junk_from_a_device_the_relay_allows_costs_it_nothing() {
    let insider = DeviceIdentity::generate();
    // No circuit slots: the members reach each other only through the relay's gossip.
    let args = vec![
        "--max-reservations".to_owned(),
        "0".to_owned(),
        "--allow".to_owned(),
        insider.peer_id().to_string(),
    ];
    let team = Team::new("Standup", "Agenda.\n", args).await;
    let (id, relay) = (team.id, &team.relay);
    let ann = go_online(team.ann_dir.path(), Some(&relay.addr)).await;
    let bob = go_online(team.bob_dir.path(), Some(&relay.addr)).await;
    bob.until_text_has(id, "Agenda.").await;
    let topic = ann
        .engine
        .membership(id)
        .await
        .unwrap()
        .unwrap()
        .keys
        .topic();

    // The outsider connects first, then a device the relay allows: the allowed one
    // hears the relay in the topic; the outsider, connected earlier, heard nothing
    // (the relay sends its subscriptions the moment gossip starts on a connection).
    let outsider = DeviceIdentity::generate();
    let (outsider_node, mut outsider_events) = raw_node(&outsider, relay, topic).await;
    tokio::time::timeout(Duration::from_secs(20), async {
        while !outsider_node
            .connected_peers()
            .await
            .unwrap()
            .contains(&relay.peer)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the outsider connected to the relay");
    let (insider_node, mut insider_events) = raw_node(&insider, relay, topic).await;
    until_relay_in_topic(&mut insider_events, relay.peer, topic).await;
    let mut heard = Vec::new();
    while let Ok(event) = outsider_events.try_recv() {
        heard.push(event);
    }
    assert!(
        !heard.iter().any(|e| matches!(
            e,
            NetEvent::PeerSubscribed { .. } | NetEvent::Message { .. }
        )),
        "the outsider heard gossip from the team relay: {heard:?}"
    );
    // Nothing the outsider publishes goes anywhere: nobody is in the topic for it.
    assert!(matches!(
        outsider_node.publish(topic, vec![1, 2, 3]).await,
        Err(quire_net::NetError::NoPeersSubscribed)
    ));

    // The allowed non-member floods the topic while Ann and Bob keep editing.
    let flood = tokio::spawn(async move {
        for n in 0..JUNK {
            let mut junk = vec![0x21, 0x01];
            junk.extend_from_slice(&(n as u64).to_le_bytes());
            let _ = insider_node.publish(topic, junk).await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        insider_node
    });
    let slowest = ann
        .edits_arrive_live(&bob, id, "ann during the flood", 5)
        .await;
    let insider_node = flood.await.unwrap();
    println!("slowest live edit through the relay during the flood: {slowest:?}");
    let status = bob.node.status().await.unwrap();
    let dropped: u64 = status.docs[0].dropped.values().sum();
    assert!(dropped > 0, "bob saw none of the junk the relay forwarded");
    let score = bob.node.net().peer_score(relay.peer).await.unwrap();
    assert!(
        score.unwrap_or(0.0) >= 0.0,
        "bob penalised the relay for junk it only forwarded: {score:?}"
    );
    outsider_node.shutdown().await.unwrap();
    insider_node.shutdown().await.unwrap();
    ann.go_offline().await;
    bob.go_offline().await;
}
