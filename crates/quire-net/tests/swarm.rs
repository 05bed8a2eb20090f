//! Real swarms on loopback: gossip delivery, validation gating, sync round trips, limits.
// Helpers outside `#[test]` functions panic on failure too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use quire_net::{
    DEFAULT_MAX_MESSAGE_BYTES, Keypair, MAX_SYNC_PAYLOAD_BYTES, Multiaddr, NetConfig, NetError,
    NetEvent, NetHandle, Node, PeerId, Validation,
};
use tokio::{
    sync::mpsc,
    time::{Instant, sleep, timeout},
};

const TOPIC: [u8; 32] = [42; 32];
/// Overall budget for anything that waits on the network in one test.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Pause between retries while the gossip mesh forms.
const RETRY_INTERVAL: Duration = Duration::from_millis(200);

/// What a test engine saw (validation and sync replies are handled for it).
#[derive(Debug)]
enum Seen {
    Connected(PeerId),
    Message(Vec<u8>),
    Rejected(Vec<u8>),
}

/// A node plus a task playing the engine: rejects payloads starting with `bad`,
/// accepts the rest, answers sync requests with the reversed request (or refuses
/// those starting with `refuse`).
struct TestNode {
    net: NetHandle,
    seen: mpsc::UnboundedReceiver<Seen>,
    addr: Multiaddr,
}

async fn spawn_node() -> TestNode {
    let mut config = NetConfig::new(Keypair::generate_ed25519());
    config.enable_mdns = false;
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    let (net, mut events) = Node::spawn(config).unwrap();
    let addr = timeout(TEST_TIMEOUT, async {
        loop {
            if let Some(NetEvent::Listening(addr)) = events.recv().await {
                return addr;
            }
        }
    })
    .await
    .expect("node starts listening");
    let (seen_tx, seen) = mpsc::unbounded_channel();
    let engine = net.clone();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                NetEvent::Message { id, from, data, .. } => {
                    let verdict = if data.starts_with(b"bad") {
                        Validation::Reject
                    } else {
                        Validation::Accept
                    };
                    let _ = engine.report_validation(id, from, verdict).await;
                    let _ = seen_tx.send(match verdict {
                        Validation::Accept => Seen::Message(data),
                        _ => Seen::Rejected(data),
                    });
                }
                // Dropping `reply` refuses the request.
                NetEvent::SyncRequest { request, reply, .. } if !request.starts_with(b"refuse") => {
                    let _ = reply.send(request.into_iter().rev().collect());
                }
                NetEvent::PeerConnected(peer) => {
                    let _ = seen_tx.send(Seen::Connected(peer));
                }
                _ => {}
            }
        }
    });
    TestNode { net, seen, addr }
}

async fn wait_connected(node: &mut TestNode, peer: PeerId) {
    timeout(TEST_TIMEOUT, async {
        loop {
            match node.seen.recv().await {
                Some(Seen::Connected(p)) if p == peer => return,
                Some(_) => {}
                None => panic!("engine task ended"),
            }
        }
    })
    .await
    .expect("peers connect");
}

/// Publishes numbered `warmup` messages from `from` until `to` receives one, which
/// shows the gossip mesh (and subscriptions) have formed along the path.
async fn wait_for_mesh(from: &TestNode, to: &mut TestNode) {
    let deadline = Instant::now() + TEST_TIMEOUT;
    for n in 0u32.. {
        assert!(
            Instant::now() < deadline,
            "gossip mesh did not form in time"
        );
        match from
            .net
            .publish(TOPIC, format!("warmup {n}").into_bytes())
            .await
        {
            Ok(()) | Err(NetError::NoPeersSubscribed) => {}
            Err(e) => panic!("unexpected publish error: {e}"),
        }
        if let Ok(Some(Seen::Message(data))) = timeout(RETRY_INTERVAL, to.seen.recv()).await
            && data.starts_with(b"warmup")
        {
            // Let the rest of the warm-up traffic drain.
            sleep(RETRY_INTERVAL).await;
            while to.seen.try_recv().is_ok() {}
            return;
        }
    }
}

async fn next_message(node: &mut TestNode) -> Vec<u8> {
    timeout(TEST_TIMEOUT, async {
        loop {
            match node.seen.recv().await {
                Some(Seen::Message(data)) => return data,
                Some(_) => {}
                None => panic!("engine task ended"),
            }
        }
    })
    .await
    .expect("message arrives")
}

/// Two connected nodes, B dialled A, both subscribed to [`TOPIC`].
async fn pair() -> (TestNode, TestNode) {
    let mut a = spawn_node().await;
    let mut b = spawn_node().await;
    a.net.subscribe(TOPIC).await.unwrap();
    b.net.subscribe(TOPIC).await.unwrap();
    b.net.dial(a.addr.clone()).await.unwrap();
    wait_connected(&mut a, b.net.local_peer_id()).await;
    wait_connected(&mut b, a.net.local_peer_id()).await;
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_bytes_arrive_exactly() {
    let (a, mut b) = pair().await;
    wait_for_mesh(&a, &mut b).await;
    let payload: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    a.net.publish(TOPIC, payload.clone()).await.unwrap();
    assert_eq!(next_message(&mut b).await, payload);
    a.net.shutdown().await.unwrap();
    b.net.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_message_is_not_forwarded() {
    // Line topology A - B - C: C only hears A through B.
    let (mut a, mut b) = pair().await;
    let mut c = spawn_node().await;
    c.net.subscribe(TOPIC).await.unwrap();
    c.net.dial(b.addr.clone()).await.unwrap();
    wait_connected(&mut c, b.net.local_peer_id()).await;
    wait_connected(&mut b, c.net.local_peer_id()).await;
    wait_for_mesh(&a, &mut c).await;
    while b.seen.try_recv().is_ok() {}

    a.net
        .publish(TOPIC, b"bad: forged update".to_vec())
        .await
        .unwrap();
    a.net.publish(TOPIC, b"good update".to_vec()).await.unwrap();

    // B rejected the bad one and accepted the good one; C gets only the good one.
    let rejected = timeout(TEST_TIMEOUT, b.seen.recv())
        .await
        .expect("B validates");
    assert!(
        matches!(rejected, Some(Seen::Rejected(ref d)) if d == b"bad: forged update"),
        "{rejected:?}"
    );
    assert_eq!(next_message(&mut b).await, b"good update");
    assert_eq!(next_message(&mut c).await, b"good update");
    sleep(Duration::from_secs(2)).await; // two heartbeats: time for any gossip (IHAVE)
    while let Ok(seen) = c.seen.try_recv() {
        assert!(
            !matches!(seen, Seen::Message(ref d) if d.starts_with(b"bad")),
            "C got the rejected message"
        );
    }
    let _ = a.seen.try_recv();
    for node in [&a, &b, &c] {
        node.net.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_round_trip_small_and_one_megabyte() {
    let (a, b) = pair().await;
    let peer = a.net.local_peer_id();

    let small = b
        .net
        .sync_request(peer, TOPIC, b"sv".to_vec())
        .await
        .unwrap();
    assert_eq!(small, b"vs");

    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let start = Instant::now();
    let reply = timeout(TEST_TIMEOUT, b.net.sync_request(peer, TOPIC, big.clone()))
        .await
        .expect("1 MB sync finishes in time")
        .unwrap();
    let expected: Vec<u8> = big.into_iter().rev().collect();
    assert_eq!(reply, expected);
    eprintln!("1 MB sync round trip: {:?}", start.elapsed());

    a.net.shutdown().await.unwrap();
    b.net.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_payloads_are_refused() {
    let node = spawn_node().await;
    node.net.subscribe(TOPIC).await.unwrap();

    let err = node
        .net
        .publish(TOPIC, vec![0; DEFAULT_MAX_MESSAGE_BYTES + 1])
        .await
        .unwrap_err();
    assert!(
        matches!(err, NetError::MessageTooLarge { len, max } if len == DEFAULT_MAX_MESSAGE_BYTES + 1 && max == DEFAULT_MAX_MESSAGE_BYTES),
        "{err}"
    );
    assert!(err.to_string().contains("sync_request"), "{err}");

    let err = node
        .net
        .sync_request(PeerId::random(), TOPIC, vec![0; MAX_SYNC_PAYLOAD_BYTES + 1])
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::SyncPayloadTooLarge { .. }), "{err}");
    node.net.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_sync_request_fails_fast() {
    let (a, b) = pair().await;
    let start = Instant::now();
    let err = b
        .net
        .sync_request(a.net.local_peer_id(), TOPIC, b"refuse this".to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(err, NetError::SyncFailed { peer, .. } if peer == a.net.local_peer_id()),
        "{err}"
    );
    assert!(
        start.elapsed() < TEST_TIMEOUT,
        "refusal should not wait for a timeout"
    );
    a.net.shutdown().await.unwrap();
    b.net.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handle_reports_stopped_after_shutdown() {
    let node = spawn_node().await;
    assert_eq!(
        node.net.listen_addrs().await.unwrap(),
        vec![node.addr.clone()]
    );
    node.net.shutdown().await.unwrap();
    sleep(Duration::from_millis(50)).await;
    assert!(matches!(
        node.net.subscribe(TOPIC).await,
        Err(NetError::Stopped)
    ));
}

/// Messages that arrive while the engine is not reading events are dropped (the
/// channel is bounded), but the engine hears that they were, once it reads again:
/// without that, the last edits of a burst would wait for the next periodic catch-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_dropped_while_the_engine_is_busy_are_reported_as_lost() {
    let mut a = spawn_node().await;
    a.net.subscribe(TOPIC).await.unwrap();
    // B's events are read here, by the test, so it can stop reading them.
    let mut config = NetConfig::new(Keypair::generate_ed25519());
    config.enable_mdns = false;
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    let (b, mut events) = Node::spawn(config).unwrap();
    b.subscribe(TOPIC).await.unwrap();
    b.dial(a.addr.clone()).await.unwrap();
    wait_connected(&mut a, b.local_peer_id()).await;
    // The mesh is up once B sees a warm-up message.
    let deadline = Instant::now() + TEST_TIMEOUT;
    'mesh: for n in 0u32.. {
        assert!(
            Instant::now() < deadline,
            "gossip mesh did not form in time"
        );
        let _ = a
            .net
            .publish(TOPIC, format!("warmup {n}").into_bytes())
            .await;
        while let Ok(Some(event)) = timeout(RETRY_INTERVAL, events.recv()).await {
            if let NetEvent::Message { id, from, .. } = event {
                b.report_validation(id, from, Validation::Accept)
                    .await
                    .unwrap();
                break 'mesh;
            }
        }
    }
    sleep(RETRY_INTERVAL).await;
    while events.try_recv().is_ok() {}

    // B's engine stops reading; A sends more than B's event channel holds.
    let sent = quire_net::EVENT_CHANNEL_CAPACITY + 500;
    for n in 0..sent {
        a.net
            .publish(TOPIC, format!("burst {n}").into_bytes())
            .await
            .unwrap();
    }
    sleep(Duration::from_secs(2)).await;

    // Reading again: the messages that fit, then word of those that did not.
    let mut delivered = 0;
    let lost = timeout(TEST_TIMEOUT, async {
        loop {
            match events.recv().await.expect("node runs") {
                NetEvent::Message { id, from, .. } => {
                    delivered += 1;
                    let _ = b.report_validation(id, from, Validation::Accept).await;
                }
                NetEvent::MessagesLost { topic, from } => return (topic, from),
                _ => {}
            }
        }
    })
    .await
    .expect("the lost messages are reported");
    println!("{delivered} of {sent} messages delivered before the loss was reported");
    assert_eq!(lost, (TOPIC, a.net.local_peer_id()));
    assert!(delivered < sent, "some messages were lost");
    a.net.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}
