//! An update that makes yrs panic half-way through integration (the fuzzer found the
//! kind, `fuzz/crashers/panic-integrate-gc-over-skip`; this is a sequence that does it
//! for any document) must be rejected with an error, and the document must come back
//! exactly as it was durably stored: no half-applied state, no lost edits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use quire_doc::{DocError, Document};
use quire_engine::{Edit, Engine, EngineConfig, EngineError, Origin};

/// A peer inserts text, then sends garbage-collected ranges that overlap in a way yrs
/// does not expect; the last one panics inside `BlockStore::push`.
fn hostile_sequence() -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut peer = Document::with_client_id(7);
    let legit = peer.insert(0, "abcdef").unwrap().unwrap();
    let gc = |clock: u8, len: u8| vec![1u8, 1, 7, clock, 0, len, 0];
    (legit, vec![gc(20, 5), gc(10, 5), gc(10, 0x32)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_update_is_rejected_and_the_document_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig::new(dir.path())).await.unwrap();
    let id = engine
        .create("Poison", "# Poison\nfirst line\n")
        .await
        .unwrap();
    // An edit still in flight when the bad update arrives must survive the reload.
    let receipt = engine
        .submit_edit(id, Edit::Append("second line\n".into()))
        .unwrap();

    let (legit, hostile) = hostile_sequence();
    let peer = || Origin::Peer("hostile".into());
    engine.apply_update(id, &legit, peer()).await.unwrap();
    let before = engine.text(id).await.unwrap();
    let sv_before = engine.state_vector(id).await.unwrap();
    let mut last = None;
    for update in &hostile {
        last = Some(engine.apply_update(id, update, peer()).await);
    }
    let result = last.unwrap();
    if cfg!(debug_assertions) {
        // Release builds of yrs may reject it without panicking; either way it is an error.
        assert!(
            matches!(result, Err(EngineError::Doc(DocError::ApplyPanicked))),
            "expected the panic to be caught, got {result:?}"
        );
    }
    assert!(result.is_err());
    receipt.saved().await.unwrap();

    assert_eq!(engine.text(id).await.unwrap(), before);
    assert_eq!(engine.state_vector(id).await.unwrap(), sv_before);
    engine
        .edit(id, Edit::Append("third line\n".into()))
        .await
        .unwrap();
    let expected = format!("{before}third line\n");
    assert_eq!(engine.text(id).await.unwrap(), expected);
    engine.close().await.unwrap();
    drop(engine);

    let engine = Engine::open(EngineConfig::new(dir.path())).await.unwrap();
    assert_eq!(engine.text(id).await.unwrap(), expected);
    engine.integrity_check().await.unwrap();
}
