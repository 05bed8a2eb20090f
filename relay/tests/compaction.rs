//! Members keep the relay's mailbox small: once a writer has read enough items of a
//! document there, it replaces them with one sealed snapshot. A newcomer then reads
//! that one item and has the whole document.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use quire_engine::{Edit, Role};
use quire_node::{NodeConfig, NodeEvent};
use support::{Team, go_online, go_online_with, open};

fn items_at(relay_dir: &std::path::Path) -> i64 {
    let db = rusqlite::Connection::open(relay_dir.join("mailbox.sqlite")).unwrap();
    db.query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_compacts_what_it_read_and_a_newcomer_reads_one_snapshot() {
    // Cid, a third member, joins later by his own link.
    let cid_dir = tempfile::tempdir().unwrap();
    let cid = open(cid_dir.path()).await;
    let cid_peer = cid.peer_id().to_string();
    cid.close().await.unwrap();
    drop(cid);
    let team = Team::new("Log", "Day 1.\n", vec!["--allow".to_owned(), cid_peer]).await;
    let (id, relay) = (team.id, &team.relay);
    let ann = open(team.ann_dir.path()).await;
    let link = ann
        .share(id, Role::Write, vec![format!("{}/p2p-circuit", relay.addr)])
        .await
        .unwrap();
    ann.close().await.unwrap();
    drop(ann);
    let cid = open(cid_dir.path()).await;
    cid.join(&link.to_link()).await.unwrap();
    cid.close().await.unwrap();
    drop(cid);

    // Ann writes four entries while nobody else is online: one upload each.
    let ann = go_online(team.ann_dir.path(), Some(&relay.addr)).await;
    for day in 2..=5 {
        ann.engine
            .edit(id, Edit::Append(format!("Day {day}.\n")))
            .await
            .unwrap();
        ann.until_relay_has_everything(relay, id).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let expected = ann.engine.text(id).await.unwrap();
    ann.go_offline().await;
    let before = items_at(team.relay_dir.path());
    assert!(before >= 4, "one item per upload: {before}");

    // Bob reads them all and compacts them into one snapshot.
    let mut config = NodeConfig::loopback();
    config.relay_compact_after = 3;
    let bob = go_online_with(team.bob_dir.path(), config).await;
    let mut events = bob.node.subscribe();
    let seq = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Ok(NodeEvent::RelayCompacted { id: doc, seq, .. }) = events.recv().await
                && doc == id
            {
                return seq;
            }
        }
    })
    .await
    .expect("Bob compacted the relay's items");
    assert!(
        seq > before as u64,
        "the snapshot comes after the items it replaced"
    );
    assert_eq!(bob.until_text_has(id, "Day 5.").await, expected);
    // Let Bob's node settle (it has nothing of its own to upload), then leave.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    bob.go_offline().await;
    assert_eq!(
        items_at(team.relay_dir.path()),
        1,
        "only the snapshot is left"
    );

    // Cid, new, knows the relay only from his link: the one item left, the
    // snapshot, gives him everything.
    let cid = go_online(cid_dir.path(), None).await;
    assert_eq!(cid.until_text_has(id, "Day 5.").await, expected);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mark = cid
            .engine
            .relay_mark(&relay.peer.to_string(), id)
            .await
            .unwrap();
        if mark.cursor == seq {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Cid's cursor is {}, not the snapshot's {seq}",
            mark.cursor
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cid.go_offline().await;
}
