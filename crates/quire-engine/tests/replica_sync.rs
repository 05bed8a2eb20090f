//! Two engines with their own data folders catch up with each other through the
//! sans-io sync messages (what the network layer will carry): a replica adopted from
//! nothing fills up, edits made apart on both sides merge, and the result is durable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use quire_doc::sync::{SyncMessage, SyncSession};
use quire_engine::{DocumentId, Edit, Engine, EngineConfig, Origin};

/// `asker` sends its state vector to `answerer` and applies the answer, every
/// message going through its wire encoding.
async fn catch_up(asker: &Engine, answerer: &Engine, id: DocumentId) {
    let (mut at_asker, mut at_answerer) = (SyncSession::default(), SyncSession::default());
    let ask = SyncMessage::decode(&asker.sync_open(id).await.unwrap().encode()).unwrap();
    let replies = answerer
        .sync_handle(id, &mut at_answerer, &ask, Origin::Peer("asker".into()))
        .await
        .unwrap();
    for reply in replies {
        let msg = SyncMessage::decode(&reply.encode()).unwrap();
        let back = asker
            .sync_handle(id, &mut at_asker, &msg, Origin::Peer("answerer".into()))
            .await
            .unwrap();
        assert!(back.is_empty(), "an answer needs no reply");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_catch_up_both_ways_and_keep_it() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Engine::open(EngineConfig::new(dir_a.path())).await.unwrap();
    let b = Engine::open(EngineConfig::new(dir_b.path())).await.unwrap();

    let big: String = (0..30_000)
        .map(|i| format!("line {i} of the plan 😀\n"))
        .collect();
    let id = a.create("Plan", &big).await.unwrap();
    a.edit(
        id,
        Edit::Insert {
            at: 0,
            text: "# Plan\n".into(),
        },
    )
    .await
    .unwrap();

    b.adopt(id, "(joining)").await.unwrap();
    b.adopt(id, "(joining)").await.unwrap(); // idempotent
    assert_eq!(b.text(id).await.unwrap(), "");
    catch_up(&b, &a, id).await;
    assert_eq!(b.text(id).await.unwrap(), a.text(id).await.unwrap());
    assert_eq!(
        b.info(id).await.unwrap().title,
        "Plan",
        "the title came with the document"
    );

    // Apart: both edit, then each catches up with the other.
    a.edit(id, Edit::Append("from A\n".into())).await.unwrap();
    b.edit(
        id,
        Edit::Insert {
            at: 0,
            text: "from B\n".into(),
        },
    )
    .await
    .unwrap();
    catch_up(&a, &b, id).await;
    catch_up(&b, &a, id).await;
    let merged = a.text(id).await.unwrap();
    assert_eq!(b.text(id).await.unwrap(), merged);
    assert!(merged.starts_with("from B\n# Plan\n") && merged.ends_with("from A\n"));

    b.close().await.unwrap();
    drop(b);
    let b = Engine::open(EngineConfig::new(dir_b.path())).await.unwrap();
    assert_eq!(b.text(id).await.unwrap(), merged);
    assert_eq!(b.info(id).await.unwrap().title, "Plan");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_sync_messages_are_refused_without_damage() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig::new(dir.path())).await.unwrap();
    let id = engine.create("Doc", "keep me").await.unwrap();
    let mut session = SyncSession::default();
    let peer = || Origin::Peer("hostile".into());
    let bad_sv = SyncMessage::StateVector(vec![0xff; 40]);
    assert!(
        engine
            .sync_handle(id, &mut session, &bad_sv, peer())
            .await
            .is_err()
    );
    let bad_chunk = SyncMessage::UpdateChunk {
        index: 0,
        count: 1,
        bytes: vec![1, 1, 9, 9, 9],
    };
    assert!(
        engine
            .sync_handle(id, &mut session, &bad_chunk, peer())
            .await
            .is_err()
    );
    assert_eq!(engine.text(id).await.unwrap(), "keep me");
}

/// Two engines' digests of one document agree exactly when a catch-up between them
/// has nothing to carry: after it, after the same edit on both, and not while an edit
/// (a local one, or one applied from a peer) is on one side only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_digests_agree_exactly_when_replicas_hold_the_same() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Engine::open(EngineConfig::new(dir_a.path())).await.unwrap();
    let b = Engine::open(EngineConfig::new(dir_b.path())).await.unwrap();
    let key = [9; 32];
    let id = a.create("Notes", "# Notes\n").await.unwrap();
    let other = a.create("Other", "text\n").await.unwrap();
    b.adopt(id, "(joining)").await.unwrap();
    let digests = |engine: &Engine| {
        let engine = engine.clone();
        async move { engine.sync_digests(vec![(id, key)]).await.unwrap()[0] }
    };
    assert_ne!(digests(&a).await, digests(&b).await);
    catch_up(&b, &a, id).await;
    let same = digests(&a).await;
    assert!(same.is_some());
    assert_eq!(same, digests(&b).await);

    // A local edit changes the digest (the cached one is not served).
    a.edit(id, Edit::Append("more\n".into())).await.unwrap();
    let edited = digests(&a).await;
    assert_ne!(edited, same);
    // Applied from a peer: the other side's digest follows.
    catch_up(&b, &a, id).await;
    assert_eq!(digests(&b).await, edited);

    // Many at once, in the order asked; an unknown document has none.
    let unknown = DocumentId::random();
    let many = a
        .sync_digests(vec![(other, key), (unknown, key), (id, key)])
        .await
        .unwrap();
    assert_eq!(many.len(), 3);
    assert!(many[0].is_some() && many[0] != edited);
    assert_eq!(many[1], None);
    assert_eq!(many[2], edited);
}
