//! A device that shares as many documents as one device may
//! ([`quire_net::MAX_TOPICS_PER_PEER`]) is heard in full by a peer that connects.
//!
//! A peer's subscriptions arrive in one RPC when it connects. With gossipsub's
//! defaults, a list of more than 100 topics was refused by its subscription filter
//! ("too many subscribed topics"), one of more than about 580 by its 16 KiB control
//! limit, and one of more than about 2,400 by its 64 KiB frame limit: the peer then
//! learned of none of the topics, and two devices sharing more than 100 documents
//! synced about 100 of them. This fails if any of those limits falls back to its
//! default.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use quire_net::{Keypair, MAX_TOPICS_PER_PEER, NetConfig, NetEvent, Node};
use tokio::time::timeout;

fn topic(n: usize) -> [u8; 32] {
    *blake3::hash(&n.to_le_bytes()).as_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_in_the_most_topics_a_device_may_join_is_heard_in_every_one() {
    let config = || {
        let mut config = NetConfig::new(Keypair::generate_ed25519());
        config.enable_mdns = false;
        config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
        config
    };
    let (busy, mut busy_events) = Node::spawn(config()).unwrap();
    for n in 0..MAX_TOPICS_PER_PEER {
        busy.subscribe(topic(n)).await.unwrap();
    }
    // One more is refused with a clear error.
    let refused = busy.subscribe(topic(MAX_TOPICS_PER_PEER)).await;
    assert!(
        matches!(refused, Err(quire_net::NetError::TooManyTopics { .. })),
        "{refused:?}"
    );
    let addr = timeout(Duration::from_secs(20), async {
        loop {
            if let Some(NetEvent::Listening(addr)) = busy_events.recv().await {
                return addr;
            }
        }
    })
    .await
    .unwrap();
    tokio::spawn(async move { while busy_events.recv().await.is_some() {} });

    // The other device is in three of the documents: the first, one in the middle
    // and the last the busy one joined.
    let (other, mut events) = Node::spawn(config()).unwrap();
    let wanted = [0, MAX_TOPICS_PER_PEER / 2, MAX_TOPICS_PER_PEER - 1].map(topic);
    for t in wanted {
        other.subscribe(t).await.unwrap();
    }
    other.dial(addr).await.unwrap();
    let mut heard = std::collections::HashSet::new();
    timeout(Duration::from_secs(30), async {
        while heard.len() < wanted.len() {
            match events.recv().await {
                Some(NetEvent::PeerSubscribed { topic, .. }) => {
                    heard.insert(topic);
                }
                Some(_) => {}
                None => panic!("the node stopped"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("heard the busy peer in {} of 3 shared topics", heard.len()));
    busy.shutdown().await.unwrap();
    other.shutdown().await.unwrap();
}
