//! Sharing in the engine alone: keys made on first share, roles, links that must match
//! the document they name, read-only refusal, leave and re-join.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use quire_engine::{Edit, Engine, EngineConfig, EngineError, Role};

async fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig::new(dir.path())).await.unwrap();
    (dir, engine)
}

#[tokio::test]
async fn share_join_roles_and_forged_links() {
    let ((_da, a), (_db, b)) = (engine().await, engine().await);
    let id = a.create("Plan", "x\n").await.unwrap();
    assert!(a.membership(id).await.unwrap().is_none());
    let write = a.share(id, Role::Write, vec![]).await.unwrap();
    let read = a.share(id, Role::Read, vec![]).await.unwrap();
    assert_eq!(write.doc_id(), id.as_bytes());
    assert_eq!(a.membership(id).await.unwrap().unwrap().role(), Role::Write);
    // The same keys every time.
    assert_eq!(
        a.share(id, Role::Write, vec![]).await.unwrap().to_link(),
        write.to_link()
    );

    // A reader: cannot edit, cannot pass on write access; a later write link upgrades.
    assert_eq!(b.join(&read.to_link()).await.unwrap(), id);
    let refused = b.edit(id, Edit::Append("no".into())).await.unwrap_err();
    assert!(matches!(refused, EngineError::ReadOnly(_)), "{refused}");
    assert!(matches!(
        b.rename(id, "Mine").await,
        Err(EngineError::ReadOnly(_))
    ));
    assert!(matches!(
        b.share(id, Role::Write, vec![]).await,
        Err(EngineError::CannotGrantWrite(_))
    ));
    b.join(&write.to_link()).await.unwrap();
    b.edit(id, Edit::Append("yes\n".into())).await.unwrap();
    // ...and a read link never downgrades it again.
    b.join(&read.to_link()).await.unwrap();
    assert_eq!(b.membership(id).await.unwrap().unwrap().role(), Role::Write);

    // A link naming a document that is here with other keys is refused, and changes
    // nothing: for a shared document, and for one that is not shared at all.
    let (forged, _) = quire_engine::DocKeys::generate();
    let forged = quire_engine::DocKeys::new(
        *id.as_bytes(),
        quire_crypto::ReadKey::generate(),
        forged.writer().clone(),
        None,
    )
    .unwrap();
    let link = quire_engine::Ticket::new(forged, vec![]).unwrap().to_link();
    assert!(matches!(
        b.join(&link).await,
        Err(EngineError::TicketMismatch(_))
    ));
    assert_eq!(b.membership(id).await.unwrap().unwrap().role(), Role::Write);
    let local = b.create("Private", "mine\n").await.unwrap();
    let (keys, _) = quire_engine::DocKeys::generate();
    let keys = quire_engine::DocKeys::new(
        *local.as_bytes(),
        quire_crypto::ReadKey::generate(),
        keys.writer().clone(),
        None,
    )
    .unwrap();
    let takeover = quire_engine::Ticket::new(keys, vec![]).unwrap().to_link();
    assert!(matches!(
        b.join(&takeover).await,
        Err(EngineError::TicketMismatch(_))
    ));
    b.edit(local, Edit::Append("still mine\n".into()))
        .await
        .unwrap();
    assert!(b.membership(local).await.unwrap().is_none());

    // Leave and re-join keep the keys; a document never shared cannot be left.
    b.leave(id).await.unwrap();
    assert!(!b.membership(id).await.unwrap().unwrap().syncing);
    b.rejoin(id).await.unwrap();
    assert!(b.membership(id).await.unwrap().unwrap().syncing);
    assert!(matches!(
        b.leave(local).await,
        Err(EngineError::NotShared(_))
    ));
    assert!(matches!(
        b.join("quire://join/garbage").await,
        Err(EngineError::Ticket(_))
    ));
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test]
async fn display_names_are_tidied() {
    let (_d, e) = engine().await;
    assert_eq!(
        e.set_display_name("  Ann \n Lee ").await.unwrap(),
        "Ann Lee"
    );
    assert_eq!(e.display_name().await.unwrap(), "Ann Lee");
    assert!(matches!(
        e.set_display_name(" \t").await,
        Err(EngineError::InvalidInput(_))
    ));
    let long = "x".repeat(200);
    assert_eq!(
        e.set_display_name(&long).await.unwrap().chars().count(),
        quire_engine::MAX_DISPLAY_NAME_CHARS
    );
    e.close().await.unwrap();
}

#[tokio::test]
async fn relays_and_relay_marks_are_kept_across_a_reopen() {
    let (dir, engine) = engine().await;
    let relay =
        "/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
    let kept = engine
        .set_relays(&[format!("  {relay} "), String::new()])
        .await
        .unwrap();
    assert_eq!(kept, [relay]);
    let too_many: Vec<String> = (0..=quire_engine::MAX_RELAYS)
        .map(|i| format!("/relay/{i}"))
        .collect();
    assert!(matches!(
        engine.set_relays(&too_many).await,
        Err(EngineError::InvalidInput(_))
    ));
    let id = engine.create("Notes", "x").await.unwrap();
    let sv = engine.state_vector(id).await.unwrap();
    engine.set_relay_cursor("relay-a", id, 7).await.unwrap();
    engine.set_relay_uploaded("relay-a", id, &sv).await.unwrap();
    engine.close().await.unwrap();
    drop(engine);

    let engine = Engine::open(EngineConfig::new(dir.path())).await.unwrap();
    assert_eq!(engine.relays().await.unwrap(), [relay]);
    let mark = engine.relay_mark("relay-a", id).await.unwrap();
    assert_eq!((mark.cursor, mark.uploaded), (7, sv));
    assert_eq!(
        engine.relay_mark("relay-b", id).await.unwrap(),
        quire_engine::RelayMark::default()
    );
}
