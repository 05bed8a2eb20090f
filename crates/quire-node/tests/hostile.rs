//! A hostile peer in the document's topic sends garbage, truncated and replayed
//! messages and bad catch-up requests, or alters a member's messages as it forwards
//! them: each is dropped and counted, the peer is penalised (and cut off, also when
//! it comes back under the same identity), and the honest devices keep editing
//! together.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use quire_engine::Edit;
use rand::{Rng, SeedableRng};
use support::{Peer, converged, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_peer_is_penalised_and_the_others_keep_working() {
    let seed: u64 = rand::random();
    println!("hostile seed: {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (a, b, id) = support::two_writers("Target", "intact\n").await;
    let topic = a.keys(id).await.topic();

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
        (dropped >= 3 && graylisted(&a, &hostile).await).then_some(())
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

    // Coming back under the same identity does not wipe its record.
    hostile.shutdown().await.unwrap();
    let mut config = quire_net::NetConfig::new(identity.to_libp2p_keypair());
    config.enable_mdns = false;
    let (again, _again_events) = quire_net::Node::spawn(config).unwrap();
    for addr in a.addrs().await {
        again.dial(addr.parse().unwrap()).await.unwrap();
    }
    eventually("the hostile peer back, and still graylisted", || async {
        let status = a.node.status().await.ok()?;
        (status.connected.contains(&again.local_peer_id()) && graylisted(&a, &again).await)
            .then_some(())
    })
    .await;
    again.shutdown().await.unwrap();
    a.stop().await;
    b.stop().await;
}

/// A peer in the topic alters a member's messages as it forwards them (one byte of the
/// signature). Each now verifies under no session, though its hint names a known one.
/// The receiver asks the forwarder for a catch-up naming the hint (an honest forwarder
/// opened the message, so its answer shows the hello that opens it). This one answers
/// with no hello, so the messages are rejected, counted as bad signatures and cost it
/// gossip score. None is applied, and the members keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarder_that_alters_messages_is_penalised() {
    let (a, b, id) = support::two_writers("Target", "intact\n").await;
    let keys = a.keys(id).await;
    let topic = keys.topic();

    let identity = quire_crypto::DeviceIdentity::generate();
    let (hostile, mut events) = support::raw_node_in_topic(&identity, &a, topic).await;
    // The hostile side hands on what gossip brings it, and answers every catch-up
    // request with an empty answer (complete, as a reader's with nothing to give).
    let (captured_tx, mut captured) = tokio::sync::mpsc::unbounded_channel();
    let (asked_tx, mut asked) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                quire_net::NetEvent::Message { data, .. } => {
                    let _ = captured_tx.send(data);
                }
                // Like a node from before summaries: it refuses them.
                quire_net::NetEvent::SyncRequest { topic, .. }
                    if topic == quire_node::summary::SUMMARY_TOPIC => {}
                quire_net::NetEvent::SyncRequest {
                    peer,
                    request,
                    reply,
                    ..
                } => {
                    let _ = reply.send(quire_node::wire::encode_bundle(&[]));
                    let _ = asked_tx.send((peer, request));
                }
                _ => {}
            }
        }
    });

    // b's edits reach the hostile peer through a (once a has it in its mesh).
    let update_header = (quire_crypto::ENVELOPE_VERSION << 4) | 1;
    let mut altered = Vec::new();
    let mut edits = 0;
    while altered.len() < 3 {
        assert!(
            edits < 200,
            "the hostile peer never got b's edits through a"
        );
        edits += 1;
        b.engine
            .edit(id, Edit::Append(format!("b{edits}\n")))
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(200);
        while let Ok(Some(mut data)) = tokio::time::timeout_at(deadline, captured.recv()).await {
            if data.first() == Some(&update_header) {
                *data.last_mut().unwrap() ^= 1;
                altered.push(data);
            }
        }
    }
    let dropped_before = bad_signatures(&a).await;
    for data in altered.iter().take(3) {
        hostile.publish(topic, data.clone()).await.unwrap();
    }
    // a asks the forwarder for a catch-up naming b's hint (read here with the
    // document's keys, which the forwarder lacks).
    let b_hint = quire_crypto::SessionHint([altered[0][1], altered[0][2]]);
    let named = async {
        loop {
            let (requester, request) = asked.recv().await.unwrap();
            assert_eq!(requester, a.node.peer_id());
            if support::wanted_hints(&keys, &request).contains(&b_hint) {
                break;
            }
        }
    };
    tokio::time::timeout(support::CONVERGE_WITHIN, named)
        .await
        .expect("a never asked the forwarder for the hellos under b's hint");
    eventually(
        "a to reject the altered messages and penalise their forwarder",
        || async {
            let rejected = bad_signatures(&a).await - dropped_before;
            (rejected >= 3 && graylisted(&a, &hostile).await).then_some(())
        },
    )
    .await;

    // Nothing altered was applied: both still agree, on every edit of b's.
    let text = converged(&[&a, &b], id).await;
    assert!(text.starts_with("intact\n") && text.ends_with(&format!("b{edits}\n")));
    a.engine
        .edit(id, Edit::Append("from a\n".into()))
        .await
        .unwrap();
    assert!(converged(&[&a, &b], id).await.ends_with("from a\n"));
    hostile.shutdown().await.unwrap();
    a.stop().await;
    b.stop().await;
}

/// Messages a has dropped as wrongly signed, in the document.
async fn bad_signatures(peer: &Peer) -> u64 {
    let status = peer.node.status().await.unwrap();
    let doc = status.docs.first().unwrap();
    doc.dropped
        .get(&quire_node::DropReason::BadSignature)
        .copied()
        .unwrap_or(0)
}

/// Whether `peer` gives `other` a gossip score below the graylist threshold.
async fn graylisted(peer: &Peer, other: &quire_net::NetHandle) -> bool {
    let score = peer.node.net().peer_score(other.local_peer_id()).await;
    score
        .ok()
        .flatten()
        .is_some_and(|s| s < quire_net::GRAYLIST_SCORE_THRESHOLD)
}
