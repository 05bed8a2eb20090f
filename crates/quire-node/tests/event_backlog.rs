//! No network state event is ever lost: with the network's event channel forced to
//! hold one event, a storm of disconnects and reconnects between two devices that
//! share many documents still ends with the peer known as connected, in every
//! document, and every document in sync. Before, the network actor dropped
//! `PeerConnected`, `PeerDisconnected` and `PeerSubscribed` when the channel was full:
//! a lost disconnect left a dead peer behind and a lost subscription a document
//! that never synced until the next reconnect.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use quire_engine::{Edit, Role};
use quire_node::NodeConfig;
use support::{Peer, converged, eventually};

/// Documents the two devices share.
const DOCUMENTS: usize = 40;
/// Disconnects in the storm.
const DISCONNECTS: usize = 15;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_storm_with_a_tiny_event_channel_loses_no_peer_and_no_document() {
    let tiny = NodeConfig {
        net_event_capacity: 1,
        ..NodeConfig::loopback()
    };
    let (a, b) = (Peer::start().await, Peer::start_with(tiny).await);
    let mut ids = Vec::new();
    for n in 0..DOCUMENTS {
        let id = a
            .engine
            .create(&format!("Doc {n}"), &format!("start {n}\n"))
            .await
            .unwrap();
        b.engine
            .join(&a.share(id, Role::Write).await)
            .await
            .unwrap();
        ids.push(id);
    }
    for id in &ids {
        converged(&[&a, &b], *id).await;
    }

    let a_peer = a.node.peer_id();
    let a_addr: quire_net::Multiaddr = a.addrs().await[0].parse().unwrap();
    for _ in 0..DISCONNECTS {
        b.node.net().disconnect(a_peer).await.unwrap();
        b.node.dial(a_addr.clone()).await.unwrap();
    }
    // b's view of a is right, before anyone edits (an edit would tell b that a is
    // in its document): connected, a member of every document, and no dead peer.
    eventually("b sees a connected and in every document", || async {
        let status = b.node.status().await.ok()?;
        let live = b.node.net().connected_peers().await.ok()?;
        (status.connected.contains(&a_peer)
            && status.connected.iter().all(|p| live.contains(p))
            && status.docs.len() == DOCUMENTS
            && status.docs.iter().all(|d| d.peers.contains(&a_peer)))
        .then_some(())
    })
    .await;
    // Edits after the storm reach b in every document.
    for (n, id) in ids.iter().enumerate() {
        a.engine
            .edit(*id, Edit::Append(format!("after the storm {n}\n")))
            .await
            .unwrap();
    }
    for id in &ids {
        converged(&[&a, &b], *id).await;
    }
    a.stop().await;
    b.stop().await;
}
