//! A hostile peer in the document's topic sends garbage, truncated and replayed
//! messages and bad catch-up requests: each is dropped and counted, the peer is
//! penalised (and cut off), and the honest devices keep editing together.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use quire_engine::{Edit, Role};
use rand::{Rng, SeedableRng};
use support::{Peer, converged, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_peer_is_penalised_and_the_others_keep_working() {
    let seed: u64 = rand::random();
    println!("hostile seed: {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (a, b) = (Peer::start().await, Peer::start().await);
    let id = a.engine.create("Target", "intact\n").await.unwrap();
    b.engine
        .join(&a.share(id, Role::Write).await)
        .await
        .unwrap();
    converged(&[&a, &b], id).await;
    let topic = a.engine.membership(id).await.unwrap().unwrap().keys.topic();

    let identity = quire_crypto::DeviceIdentity::generate();
    let (hostile, _events) = support::raw_node_in_topic(&identity, &a, topic).await;

    // Garbage of every shape: random bytes, a valid header with junk, truncations.
    let mut junk: Vec<Vec<u8>> = Vec::new();
    for _ in 0..20 {
        let len = rng.random_range(0..600);
        junk.push((0..len).map(|_| rng.random()).collect());
    }
    for kind in 1..=4u8 {
        let mut bytes = vec![(quire_crypto::ENVELOPE_VERSION << 4) | kind];
        bytes.extend((0..rng.random_range(0..200)).map(|_| rng.random::<u8>()));
        junk.push(bytes);
    }
    // The hostile side must first learn that a is in the topic.
    eventually("the hostile peer to see a in the topic", || async {
        match hostile.publish(topic, vec![1, 1, 0xde, 0xad]).await {
            Err(quire_net::NetError::NoPeersSubscribed) => None,
            _ => Some(()),
        }
    })
    .await;
    for data in junk {
        // Gossip refuses to publish some shapes (empty); the others go out. Once a
        // has graylisted the peer (after about three), it ignores the rest.
        let _ = hostile.publish(topic, data).await;
    }
    eventually("a to drop the garbage and penalise its sender", || async {
        let status = a.node.status().await.ok()?;
        let dropped: u64 = status.docs.first()?.dropped.values().sum();
        let score = a
            .node
            .net()
            .peer_score(hostile.local_peer_id())
            .await
            .ok()??;
        (dropped >= 3 && score < quire_net::GRAYLIST_SCORE_THRESHOLD).then_some(())
    })
    .await;

    // A garbage catch-up request is refused (no answer) and the peer is cut off.
    let answer = hostile
        .sync_request(a.node.peer_id(), topic, vec![1, 0, 0xff])
        .await;
    assert!(answer.is_err(), "garbage request got an answer");

    // The honest pair keeps working, both ways.
    a.engine
        .edit(id, Edit::Append("from a\n".into()))
        .await
        .unwrap();
    b.engine
        .edit(id, Edit::Append("from b\n".into()))
        .await
        .unwrap();
    let text = converged(&[&a, &b], id).await;
    assert!(text.starts_with("intact\n") && text.contains("from a\n") && text.contains("from b\n"));
    hostile.shutdown().await.unwrap();
    a.stop().await;
    b.stop().await;
}
