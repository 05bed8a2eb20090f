//! Who may read and write: a read-only member's edits are refused by its own engine
//! and, when forged past it, by every writer; a device without the key sees only
//! ciphertext (checked on everything gossip delivered to it) and cannot write.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::time::Duration;

use quire_crypto::{DocKeys, Kind, LocalSession, ReadKey, Role, WriteKey};
use quire_engine::{Edit, EngineError};
use quire_net::{NetEvent, Validation};
use quire_node::DropReason;
use support::{Peer, converged, eventually};

/// A yrs update that inserts `text` into a document with this body.
fn forged_update(body: &str, text: &str) -> Vec<u8> {
    let mut doc = quire_doc::Document::new();
    doc.insert(0, body).unwrap();
    let before = doc.state_vector();
    doc.insert(0, text).unwrap();
    doc.diff_since(&before).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_members_follow_but_cannot_edit() {
    let (writer, reader) = (Peer::start().await, Peer::start().await);
    let id = writer
        .engine
        .create("Minutes", "agreed: ship it\n")
        .await
        .unwrap();
    let link = writer.share(id, Role::Read).await;
    reader.engine.join(&link).await.unwrap();
    converged(&[&writer, &reader], id).await;

    // The reader follows live edits.
    writer
        .engine
        .edit(id, Edit::Append("next: party\n".into()))
        .await
        .unwrap();
    converged(&[&writer, &reader], id).await;

    // Its own engine refuses to edit, with a clear message.
    let refused = reader
        .engine
        .edit(id, Edit::Append("sneaky".into()))
        .await
        .unwrap_err();
    assert!(matches!(refused, EngineError::ReadOnly(_)), "{refused}");
    assert!(refused.to_string().contains("read-only"), "{refused}");
    // And it cannot pass on write access it does not have.
    assert!(matches!(
        reader.engine.share(id, Role::Write, vec![]).await,
        Err(EngineError::CannotGrantWrite(_))
    ));

    // A reader that goes around its engine: a session with its read-only keys, its
    // hello and a forged update, published on the document's topic.
    let keys = reader.keys(id).await;
    assert_eq!(keys.role(), Role::Read);
    let mut rogue = LocalSession::start(reader.engine.identity(), &keys);
    let net = reader.node.net();
    net.publish(keys.topic(), rogue.hello().unwrap().encode())
        .await
        .unwrap();
    let forged = forged_update("agreed: ship it\n", "CANCELLED ");
    let sealed = rogue.seal(1, Kind::Update, &forged).unwrap().encode();
    net.publish(keys.topic(), sealed).await.unwrap();

    let writer_peer = writer.node.peer_id();
    let reader_peer = reader.node.peer_id();
    eventually("the writer to refuse the forged edit", || async {
        let status = writer.node.status().await.ok()?;
        let dropped = status
            .docs
            .first()?
            .dropped
            .get(&DropReason::NotAWriter)
            .copied();
        (dropped >= Some(1)).then_some(())
    })
    .await;
    assert!(!writer.text(id).await.contains("CANCELLED"));
    let score = writer.node.net().peer_score(reader_peer).await.unwrap();
    assert!(
        score.is_some_and(|s| s < 0.0),
        "the reader was penalised: {score:?}"
    );
    // The reader's own copy is unchanged too: its node never applied the forgery.
    assert!(!reader.text(id).await.contains("CANCELLED"));
    let _ = writer_peer;
    writer.stop().await;
    reader.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_without_the_key_sees_only_ciphertext_and_cannot_write() {
    let (a, b, id) = support::two_writers("Launch", "draft\n").await;
    let keys = a.keys(id).await;
    let topic = keys.topic();

    // An outsider who knows the topic hash (as a relay would) joins the swarm.
    let outsider_key = quire_crypto::DeviceIdentity::generate();
    let (outsider, mut events) = support::raw_node_in_topic(&outsider_key, &a, topic).await;

    const SECRET: &str = "the launch code is 4471-ALPHA";
    for word in SECRET.split_inclusive(' ') {
        a.engine.edit(id, Edit::Append(word.into())).await.unwrap();
    }
    a.engine
        .edit(id, Edit::Append(format!("\n{SECRET}\n")))
        .await
        .unwrap();
    converged(&[&a, &b], id).await;

    // Everything gossip delivered to the outsider.
    let mut captured = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.recv()).await {
        if let NetEvent::Message { id, from, data, .. } = event {
            captured.push(data);
            outsider
                .report_validation(id, from, Validation::Ignore)
                .await
                .unwrap();
        }
    }
    // Under load the edits go out merged into fewer messages, so count what matters:
    // a hello and updates were captured, one long enough to carry the whole secret.
    assert!(
        captured.len() >= 3 && captured.iter().any(|d| d.len() > SECRET.len() + 64),
        "the outsider saw the traffic ({} messages, sizes {:?})",
        captured.len(),
        captured.iter().map(Vec::len).collect::<Vec<_>>()
    );
    for data in &captured {
        for needle in [SECRET.as_bytes(), b"4471", b"launch code", b"draft"] {
            assert!(
                !data.windows(needle.len()).any(|w| w == needle),
                "plaintext on the wire"
            );
        }
    }
    // With a key of its own making it can open nothing.
    let guessed = DocKeys::new(
        *keys.doc_id(),
        ReadKey::generate(),
        keys.writer().clone(),
        None,
    )
    .unwrap();
    let mut book = quire_crypto::SessionBook::new();
    for data in &captured {
        assert!(quire_crypto::receive(&guessed, &mut book, data, &topic).is_err());
    }

    // Nor can it write: its messages are dropped and it is penalised.
    let write = WriteKey::generate();
    let fake = DocKeys::new(
        *keys.doc_id(),
        ReadKey::generate(),
        write.public(),
        Some(write),
    )
    .unwrap();
    let mut session = LocalSession::start(&outsider_key, &fake);
    outsider
        .publish(topic, session.hello().unwrap().encode())
        .await
        .unwrap();
    let forged = forged_update("draft\n", "OWNED ");
    outsider
        .publish(
            topic,
            session.seal(1, Kind::Update, &forged).unwrap().encode(),
        )
        .await
        .unwrap();
    eventually("a to drop the outsider's messages", || async {
        let status = a.node.status().await.ok()?;
        let dropped: u64 = status.docs.first()?.dropped.values().sum();
        (dropped >= 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!a.text(id).await.contains("OWNED"));
    assert!(!b.text(id).await.contains("OWNED"));
    let score = a
        .node
        .net()
        .peer_score(outsider.local_peer_id())
        .await
        .unwrap();
    assert!(
        score.is_some_and(|s| s < 0.0),
        "outsider penalised: {score:?}"
    );
    outsider.shutdown().await.unwrap();
    a.stop().await;
    b.stop().await;
}
