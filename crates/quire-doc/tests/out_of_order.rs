//! Updates that arrive out of order wait as pending and join the text later; local
//! edits after that must still land at the right character, emoji included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use quire_doc::Document;

#[test]
fn character_positions_hold_after_a_pending_update_with_emoji_joins() {
    let mut peer = Document::with_client_id(7);
    let first = peer.insert(0, "a😀b").unwrap().unwrap();
    let second = peer.insert(3, "c").unwrap().unwrap();

    let mut doc = Document::with_client_id(8);
    let applied = doc.apply_update(&second).unwrap();
    assert!(applied.pending, "the second update depends on the first");
    assert_eq!(doc.text(), "");
    doc.apply_update(&first).unwrap();
    assert_eq!(doc.text(), "a😀bc");
    assert_eq!(doc.len_chars(), 4);

    doc.insert(3, "X").unwrap();
    assert_eq!(doc.text(), "a😀bXc");
    doc.delete(1, 1).unwrap();
    assert_eq!(doc.text(), "abXc");
}

#[test]
fn a_document_larger_than_the_peer_update_cap_reloads() {
    // The cap guards against peers; the device's own snapshot may exceed it.
    let mut doc = Document::with_client_id(9);
    let big = "x".repeat(quire_doc::MAX_UPDATE_BYTES + 10);
    doc.insert(0, &big).unwrap();
    let snapshot = doc.encode_state().unwrap();
    assert!(snapshot.len() > quire_doc::MAX_UPDATE_BYTES);
    assert!(Document::new().apply_update(&snapshot).is_err());
    let reloaded = Document::load([snapshot.as_slice()]).unwrap();
    assert_eq!(reloaded.text().len(), big.len());
}
