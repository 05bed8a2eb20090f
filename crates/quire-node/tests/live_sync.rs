//! Two devices on loopback: invite links, live edits both ways, titles, offline
//! edits on both sides, a late joiner of a 1 MB document, leave and re-join; and
//! hellos of sessions a device never heard from, fetched from whoever forwarded them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use quire_engine::{Edit, Role};
use std::time::Duration;

use quire_node::NodeEvent;
use support::{Peer, converged, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joined_document_syncs_live_both_ways() {
    let (a, b) = (Peer::start().await, Peer::start().await);
    let id = a.engine.create("Plan", "# Plan\n").await.unwrap();
    let link = a.share(id, Role::Write).await;
    assert!(link.starts_with("quire://join/"));
    assert_eq!(b.engine.join(&link).await.unwrap(), id);
    assert_eq!(converged(&[&a, &b], id).await, "# Plan\n");
    eventually("title from the peer", || async {
        (b.engine.info(id).await.ok()?.title == "Plan").then_some(())
    })
    .await;

    a.engine
        .edit(id, Edit::Append("- from a\n".into()))
        .await
        .unwrap();
    b.engine
        .edit(id, Edit::Append("- from b\n".into()))
        .await
        .unwrap();
    let text = converged(&[&a, &b], id).await;
    assert!(
        text.contains("- from a\n") && text.contains("- from b\n"),
        "{text}"
    );

    // Both devices hold the peer's edits durably: they survive a restart.
    let Peer { dir, engine, node } = b;
    node.shutdown().await.unwrap();
    engine.close().await.unwrap();
    drop(engine);
    let b_dir = dir.path().to_owned();
    let reopened = quire_engine::Engine::open(quire_engine::EngineConfig::new(&b_dir))
        .await
        .unwrap();
    assert_eq!(reopened.text(id).await.unwrap(), text);
    reopened.close().await.unwrap();
    drop(dir);
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_on_both_sides_merge_on_reconnect() {
    let (a, b, id) = support::two_writers("Trip", "packing list\n").await;

    // Cut the connection, edit on both sides, reconnect.
    // (Waits for the event, not a state: b redials the link's addresses at once.)
    // Both sides must have seen it: a's swarm may still be closing the connection
    // (and take a publish into it) when b already reports it gone.
    let b_peer = b.node.peer_id();
    let a_peer = a.node.peer_id();
    let (mut a_events, mut b_events) = (a.node.subscribe(), b.node.subscribe());
    a.node.net().disconnect(b_peer).await.unwrap();
    for (events, other, who) in [(&mut b_events, a_peer, "b"), (&mut a_events, b_peer, "a")] {
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                if let Ok(NodeEvent::PeerDisconnected(p)) = events.recv().await
                    && p == other
                {
                    break;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{who} saw the disconnect"));
    }
    for i in 0..20 {
        a.engine
            .edit(id, Edit::Append(format!("a{i} ")))
            .await
            .unwrap();
        b.engine
            .edit(
                id,
                Edit::Insert {
                    at: 0,
                    text: format!("b{i} "),
                },
            )
            .await
            .unwrap();
    }
    // The node reads the engine's events after a status request that came first.
    eventually("a counts its offline edits as pending", || async {
        (a.node.status().await.ok()?.docs.first()?.pending > 0).then_some(())
    })
    .await;
    for addr in a.addrs().await {
        b.node.dial(addr.parse().unwrap()).await.unwrap();
    }
    let text = converged(&[&a, &b], id).await;
    for i in 0..20 {
        assert!(
            text.contains(&format!("a{i} ")) && text.contains(&format!("b{i} ")),
            "{text}"
        );
    }
    eventually("nothing pending", || async {
        (a.node.status().await.ok()?.docs[0].pending == 0).then_some(())
    })
    .await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_catches_up_on_a_megabyte() {
    let a = Peer::start().await;
    let line = "All work and no play makes Jack a dull boy. 🎈 ✓\n";
    let big: String = line.repeat(1024 * 1024 / line.len() + 1);
    let id = a.engine.create("Big", "").await.unwrap();
    // Many transactions, not one snapshot: the answer is a real merged log.
    let lines: Vec<&str> = big.split_inclusive('\n').collect();
    for piece in lines.chunks(1000) {
        a.engine
            .edit(id, Edit::Append(piece.concat()))
            .await
            .unwrap();
    }
    let expected = a.text(id).await;
    assert!(expected.len() >= 1024 * 1024);
    let link = a.share(id, Role::Write).await;

    let b = Peer::start().await;
    let mut events = b.node.subscribe();
    b.engine.join(&link).await.unwrap();
    assert_eq!(converged(&[&a, &b], id).await, expected);

    // The answer came in several chunks, each reported as progress, up to all of them
    // (the last report follows the last chunk's apply, so it may come just after the
    // text is whole).
    let mut progress = Vec::new();
    let until = tokio::time::Instant::now() + support::CONVERGE_WITHIN;
    while let Ok(Ok(event)) = tokio::time::timeout_at(until, events.recv()).await {
        if let NodeEvent::CatchingUp {
            id: doc,
            received,
            total,
            ..
        } = event
        {
            assert_eq!(doc, id);
            progress.push((received, total));
            if received == total {
                break;
            }
        }
    }
    // Only the last exchange counts: a retry may have started one before it.
    let last_run = progress.iter().rposition(|p| p.0 == 1).unwrap_or_default();
    let progress = progress.get(last_run..).unwrap_or_default();
    let total = progress.last().map(|p| p.1).unwrap_or_default();
    assert!(
        total >= 4,
        "a megabyte is several 256 KiB chunks: {progress:?}"
    );
    let received: Vec<u32> = progress.iter().map(|p| p.0).collect();
    assert_eq!(received, (1..=total).collect::<Vec<_>>(), "{progress:?}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_left_document_stops_syncing_until_rejoined() {
    let (a, b, id) = support::two_writers("Notes", "start\n").await;

    b.engine.leave(id).await.unwrap();
    eventually("b left", || async {
        b.node.status().await.ok()?.docs.is_empty().then_some(())
    })
    .await;
    a.engine
        .edit(id, Edit::Append("while b was away\n".into()))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        b.text(id).await,
        "start\n",
        "a left document does not change"
    );
    b.engine
        .edit(id, Edit::Append("b, alone\n".into()))
        .await
        .unwrap();

    b.engine.rejoin(id).await.unwrap();
    let text = converged(&[&a, &b], id).await;
    assert!(
        text.contains("while b was away\n") && text.contains("b, alone\n"),
        "{text}"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_while_already_connected_syncs_both_ways() {
    let (a, b) = (Peer::start().await, Peer::start().await);
    // Connected first (as on a LAN), for no document yet.
    for addr in a.addrs().await {
        b.node.dial(addr.parse().unwrap()).await.unwrap();
    }
    eventually("connected", || async {
        (!b.node.status().await.ok()?.connected.is_empty()).then_some(())
    })
    .await;
    let id = a.engine.create("Later", "joined later\n").await.unwrap();
    // A link with no address: the existing connection must do.
    let link = a
        .engine
        .share(id, Role::Write, vec![])
        .await
        .unwrap()
        .to_link();
    b.engine.join(&link).await.unwrap();
    converged(&[&a, &b], id).await;
    b.engine
        .edit(id, Edit::Append("from b, live\n".into()))
        .await
        .unwrap();
    let text = converged(&[&a, &b], id).await;
    assert!(text.ends_with("from b, live\n"), "{text}");
    assert_eq!(
        b.node.status().await.unwrap().docs[0].peers,
        vec![a.node.peer_id()]
    );
    a.stop().await;
    b.stop().await;
}

/// Three devices in a line, A — B — C: C reached the document through B's link and
/// is not connected to A. A's keystrokes reach C through B's forwarding, and C must
/// be able to open them live; that takes A's session (its hello), which A said before
/// C joined, so only B can pass it on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_forwarded_from_a_device_never_met_are_applied_live() {
    let (a, b, c) = (
        Peer::start().await,
        Peer::start().await,
        Peer::start().await,
    );
    let id = a.engine.create("Line", "# Line\n").await.unwrap();
    b.engine
        .join(&a.share(id, Role::Write).await)
        .await
        .unwrap();
    converged(&[&a, &b], id).await;
    // Let A and B mesh and say their hellos before C comes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.engine
        .join(&b.share(id, Role::Write).await)
        .await
        .unwrap();
    converged(&[&a, &b, &c], id).await;
    let a_id = a.node.peer_id();
    let c_status = c.node.status().await.unwrap();
    assert!(
        !c_status.connected.contains(&a_id),
        "C must not be connected to A for this test"
    );
    // Gossip meshes on its heartbeat.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mut events = c.node.subscribe();
    for i in 0..10 {
        a.engine
            .edit(id, Edit::Append(format!("- line {i}\n")))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    converged(&[&a, &b, &c], id).await;
    let mut live_from_a = 0;
    while let Ok(event) = events.try_recv() {
        if let NodeEvent::RemoteApplied { sender, .. } = event
            && sender == a_id
        {
            live_from_a += 1;
        }
    }
    assert!(
        live_from_a >= 5,
        "C applied {live_from_a} of A's 10 keystrokes live (the rest by catch-up)"
    );
    for p in [a, b, c] {
        p.stop().await;
    }
}

/// A message from a session this device never heard of (its hello never reached it)
/// makes it ask the forwarder for a catch-up naming that session's hint, and the hello
/// in the answer opens the session's next messages live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_of_an_unknown_session_asks_its_forwarder_for_that_hello() {
    use quire_crypto::{DeviceIdentity, Kind, LocalSession};
    use quire_node::wire::encode_bundle;

    let a = Peer::start().await;
    let id = a.engine.create("Ask", "intact\n").await.unwrap();
    a.share(id, Role::Write).await;
    let keys = a.keys(id).await;
    let topic = keys.topic();
    let (forwarder, mut events) =
        support::raw_node_in_topic(&DeviceIdentity::generate(), &a, topic).await;

    // A writer's session that a has never heard of; each of its edits comes from a
    // document of its own (its own client), so a later one applies without the first.
    let mut session = LocalSession::start(&DeviceIdentity::generate(), &keys);
    let hello = session.hello().unwrap().encode();
    let wanted = session.id().hint();
    let mut seal = |seq: u64, text: &str| {
        let update = quire_doc::Document::new().insert(0, text).unwrap().unwrap();
        session.seal(seq, Kind::Update, &update).unwrap().encode()
    };
    let first = seal(1, "one\n");
    eventually("the forwarder to see a in the topic", || async {
        match forwarder.publish(topic, first.clone()).await {
            Err(quire_net::NetError::NoPeersSubscribed) => None,
            _ => Some(()),
        }
    })
    .await;

    // Every catch-up request gets an answer with the session's hello only if it
    // names the session's hint.
    let asked = async {
        while let Some(event) = events.recv().await {
            let quire_net::NetEvent::SyncRequest {
                request,
                reply,
                topic,
                ..
            } = event
            else {
                continue;
            };
            // Like a node from before summaries: it refuses them.
            if topic == quire_node::summary::SUMMARY_TOPIC {
                continue;
            }
            let named = support::wanted_hints(&keys, &request).contains(&wanted);
            let items = if named {
                vec![hello.clone()]
            } else {
                Vec::new()
            };
            let _ = reply.send(encode_bundle(&items));
            if named {
                return;
            }
        }
    };
    tokio::time::timeout(support::CONVERGE_WITHIN, asked)
        .await
        .expect("a never named the unknown session's hint to its forwarder");

    // Once a has taken the answer, the session's next message opens live (each try
    // is a new message: gossip drops repeats).
    let mut seq = 1;
    eventually("the unknown session's next edit applied", || {
        seq += 1;
        let next = seal(seq, "two\n");
        let (forwarder, a) = (&forwarder, &a);
        async move {
            forwarder.publish(topic, next).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            a.text(id).await.contains("two\n").then_some(())
        }
    })
    .await;
    assert!(!a.text(id).await.contains("one\n"), "the first was dropped");
    forwarder.shutdown().await.unwrap();
    a.stop().await;
}
