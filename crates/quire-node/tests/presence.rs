//! Presence between two devices: name, colour, cursor and typing arrive, changes
//! follow, and leaving the document says goodbye. Also: the devices reach each other
//! over QUIC alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use quire_engine::{Engine, EngineConfig, Role};
use quire_node::{Cursor, NodeConfig, NodeEvent, SyncNode};
use support::{Peer, converged, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_shows_names_cursors_and_typing_and_goodbyes() {
    let (a, b) = (Peer::start().await, Peer::start().await);
    a.engine.set_display_name("Ann").await.unwrap();
    let id = a.engine.create("Draft", "hello world\n").await.unwrap();
    b.engine
        .join(&a.share(id, Role::Write).await)
        .await
        .unwrap();
    converged(&[&a, &b], id).await;
    a.engine.set_color("#E6194B").await.unwrap();
    let color = a.engine.color().await.unwrap();
    assert_eq!(color.as_deref(), Some("#e6194b"));
    a.node.set_profile("Ann".into(), color).await.unwrap();

    let cursor = Cursor {
        anchor: 6,
        head: 11,
    };
    a.node.set_presence(id, Some(cursor), true).await.unwrap();
    let seen = eventually("a's presence at b", || async {
        let status = b.node.status().await.ok()?;
        let p = status.docs.first()?.present.first()?.clone();
        (p.presence.cursor == Some(cursor) && p.presence.typing).then_some(p)
    })
    .await;
    assert_eq!(seen.peer, a.node.peer_id());
    assert_eq!(seen.presence.name, "Ann");
    assert_eq!(seen.presence.color, "#e6194b");

    // A change follows; then a goodbye when a leaves the document.
    let mut events = b.node.subscribe();
    a.node.set_presence(id, None, false).await.unwrap();
    eventually("a stopped typing", || async {
        let status = b.node.status().await.ok()?;
        let p = status.docs.first()?.present.first()?.clone();
        (!p.presence.typing && p.presence.cursor.is_none()).then_some(())
    })
    .await;
    a.engine.leave(id).await.unwrap();
    eventually("a's goodbye", || async {
        let status = b.node.status().await.ok()?;
        status.docs.first()?.present.is_empty().then_some(())
    })
    .await;
    let mut saw_goodbye = false;
    while let Ok(event) = events.try_recv() {
        if let NodeEvent::Presence {
            presence: None,
            peer,
            ..
        } = event
        {
            saw_goodbye |= peer == a.node.peer_id();
        }
    }
    assert!(saw_goodbye, "subscribers hear that a left");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_sync_over_quic_alone() {
    let quic_only = || NodeConfig {
        listen: vec!["/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap()],
        ..NodeConfig::loopback()
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Engine::open(EngineConfig::new(dir_a.path())).await.unwrap();
    let b = Engine::open(EngineConfig::new(dir_b.path())).await.unwrap();
    let (node_a, node_b) = (
        SyncNode::start(a.clone(), quic_only()).await.unwrap(),
        SyncNode::start(b.clone(), quic_only()).await.unwrap(),
    );
    let addrs = eventually("a listening", || async {
        let listen = node_a.status().await.ok()?.listen;
        (!listen.is_empty()).then_some(listen)
    })
    .await;
    assert!(addrs.iter().all(|a| a.to_string().contains("/quic-v1/")));
    let id = a.create("Over QUIC", "datagrams\n").await.unwrap();
    let link = a
        .share(
            id,
            Role::Write,
            addrs.iter().map(ToString::to_string).collect(),
        )
        .await
        .unwrap()
        .to_link();
    b.join(&link).await.unwrap();
    eventually("b caught up over QUIC", || async {
        (b.text(id).await.ok()? == "datagrams\n").then_some(())
    })
    .await;
    node_a.shutdown().await.unwrap();
    node_b.shutdown().await.unwrap();
    a.close().await.unwrap();
    b.close().await.unwrap();
}
