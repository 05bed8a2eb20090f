//! A genuine message that arrives late costs its honest forwarder nothing and is not
//! lost. Gossip can deliver a message seconds late (an IWANT answer, a slow path), by
//! which time a busy member has sent far more than the replay window's 64 newer ones
//! (a keystroke and a presence message each reach 64 in about 3 s). Such a message
//! used to count as a replay: rejected, and its forwarder penalised. Now a late
//! update is applied (a CRDT update applied twice changes nothing) and nobody's score
//! drops.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use quire_crypto::{DeviceIdentity, Kind, LocalSession, REPLAY_WINDOW};
use support::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_delivered_late_by_an_honest_forwarder_is_taken_without_penalty() {
    let (a, b, id) = support::two_writers("Late", "start\n").await;
    let keys = a.keys(id).await;
    let topic = keys.topic();

    // Carol, a writer, seals a word per message; the forwarder passes on all but her
    // first, then the first, long after it was sealed.
    let carol = DeviceIdentity::generate();
    let mut session = LocalSession::start(&carol, &keys);
    let hello = session.hello().unwrap().encode();
    let count = REPLAY_WINDOW + 6;
    let mut sealed = Vec::new();
    for seq in 1..=count {
        let mut doc = quire_doc::Document::new();
        let update = doc.insert(0, &format!("word{seq} ")).unwrap().unwrap();
        sealed.push(session.seal(seq, Kind::Update, &update).unwrap().encode());
    }

    let forwarder_identity = DeviceIdentity::generate();
    let (forwarder, _events) = support::raw_node_in_topic(&forwarder_identity, &b, topic).await;
    let forwarder_peer = forwarder.local_peer_id();
    eventually("the forwarder to see b in the topic", || async {
        forwarder.publish(topic, hello.clone()).await.ok()
    })
    .await;
    for message in &sealed[1..] {
        forwarder.publish(topic, message.clone()).await.unwrap();
    }
    let last = format!("word{count} ");
    eventually("b to take carol's messages", || async {
        b.text(id).await.contains(&last).then_some(())
    })
    .await;
    let score_before = b.node.net().peer_score(forwarder_peer).await.unwrap();

    // The first message, now more than the replay window behind the newest.
    forwarder.publish(topic, sealed[0].clone()).await.unwrap();
    eventually("b to take the late message", || async {
        b.text(id).await.contains("word1 ").then_some(())
    })
    .await;
    let score_after = b.node.net().peer_score(forwarder_peer).await.unwrap();
    assert!(
        score_after.unwrap_or(0.0) >= score_before.unwrap_or(0.0),
        "the honest forwarder lost score: {score_before:?} -> {score_after:?}"
    );
    let status = b.node.status().await.unwrap();
    let dropped: u64 = status.docs[0].dropped.values().sum();
    assert_eq!(
        dropped, 0,
        "b dropped messages: {:?}",
        status.docs[0].dropped
    );
    forwarder.shutdown().await.unwrap();
    a.stop().await;
    b.stop().await;
}
