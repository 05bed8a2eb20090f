//! Target `catch_up`: the plaintexts inside a catch-up's sealed messages, which only a
//! member can seal but any member can forge: a request (exchange, first chunk, state
//! vector, wanted hints) answered from a document with content, or an answer chunk
//! (exchange, [`SyncMessage`]) assembled and applied to it.
//!
//! The first byte chooses: even for a request, odd for an answer chunk; the rest is
//! the plaintext.

use quire_doc::Document;
use quire_doc::sync::{SyncMessage, SyncSession, has_news};
use quire_node::wire::{CatchUpRequest, MAX_WANTED_HINTS, decode_chunk, encode_chunk};

use crate::{Outcome, refused};

/// Selector byte of a request (an answer chunk is `ANSWER`).
pub const REQUEST: u8 = 0;

/// Selector byte of an answer chunk.
pub const ANSWER: u8 = 1;

/// Decodes and handles one request or answer chunk.
pub fn fuzz(data: &[u8]) -> Outcome {
    let (&selector, plaintext) = data.split_first().ok_or("empty input")?;
    if selector % 2 == REQUEST {
        request(plaintext)
    } else {
        answer(plaintext)
    }
}

/// A request is answered as the node answers it: news check, then a diff.
fn request(plaintext: &[u8]) -> Outcome {
    let request = CatchUpRequest::decode(plaintext).map_err(refused)?;
    assert!(request.wanted_hints.len() <= MAX_WANTED_HINTS);
    assert_eq!(
        CatchUpRequest::decode(&request.encode()),
        Ok(request.clone())
    );
    let doc = document()?;
    has_news(&doc.state_vector(), &request.state_vector).map_err(refused)?;
    let answer = SyncSession::default()
        .handle(&doc, &SyncMessage::StateVector(request.state_vector))
        .map_err(refused)?;
    assert!(answer.complete_update.is_none());
    Ok(())
}

/// An answer chunk is assembled, and a complete answer applied to the document.
fn answer(plaintext: &[u8]) -> Outcome {
    let (exchange, message) = decode_chunk(plaintext).map_err(refused)?;
    assert_eq!(encode_chunk(&exchange, message), plaintext);
    let message = SyncMessage::decode(message).map_err(refused)?;
    assert_eq!(SyncMessage::decode(&message.encode()), Ok(message.clone()));
    let mut doc = document()?;
    let output = SyncSession::default()
        .handle(&doc, &message)
        .map_err(refused)?;
    if let Some(update) = output.complete_update {
        let (text, sv) = (doc.text(), doc.state_vector());
        let applied = doc.apply_update(&update);
        if applied.is_err() && !doc.is_poisoned() {
            assert_eq!(doc.text(), text, "a refused answer changed the text");
            assert_eq!(doc.state_vector(), sv, "a refused answer changed the state");
        }
        applied.map_err(refused)?;
    }
    Ok(())
}

/// A document with content from two writers (the same as the `apply_update` target's).
pub(crate) fn document() -> Result<Document, String> {
    let mut doc = Document::with_client_id(1);
    doc.insert(0, "# Title\nsome text 😀 here\n")
        .map_err(refused)?;
    doc.set_title("Fuzz").map_err(refused)?;
    doc.delete(3, 4).map_err(refused)?;
    let mut peer = Document::with_client_id(2);
    if let Some(update) = peer.insert(0, "peer text").map_err(refused)? {
        doc.apply_update(&update).map_err(refused)?;
    }
    Ok(doc)
}
