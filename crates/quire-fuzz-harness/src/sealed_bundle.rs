//! Target `sealed_bundle`: a catch-up request or answer as it arrives over `/quire/sync/1`,
//! or an item fetched from a relay's mailbox: a bundle of sealed items
//! ([`decode_bundle`]), each received in order into one session book (hellos first,
//! then the messages they announce), and each opened message's plaintext decoded as
//! the node does by its kind: a catch-up request ([`CatchUpRequest::decode`]) or an
//! answer chunk ([`decode_chunk`], [`SyncMessage::decode`]).

use quire_crypto::{Kind, Received, SessionBook, receive};
use quire_doc::sync::SyncMessage;
use quire_node::wire::{
    CatchUpRequest, MAX_BUNDLE_ITEMS, bundle_len, decode_bundle, decode_chunk, encode_bundle,
};

use crate::{Outcome, keys, refused};

/// Splits the bundle and takes in every item; `Err` at the first item refused.
pub fn fuzz(data: &[u8]) -> Outcome {
    let items = decode_bundle(data).map_err(refused)?;
    assert!(
        items.len() <= MAX_BUNDLE_ITEMS,
        "a bundle over the item limit"
    );
    assert_eq!(bundle_len(items.iter().map(|i| i.len())), data.len());
    let owned: Vec<Vec<u8>> = items.iter().map(|i| i.to_vec()).collect();
    assert_eq!(
        encode_bundle(&owned),
        data,
        "a bundle has a second encoding"
    );

    let keys = keys::writer_keys().map_err(refused)?;
    let topic = keys.topic();
    let mut book = SessionBook::new();
    for item in items {
        let Received::Message(opened) = receive(&keys, &mut book, item, &topic).map_err(refused)?
        else {
            continue;
        };
        match opened.kind {
            Kind::Sync => {
                CatchUpRequest::decode(&opened.plaintext).map_err(refused)?;
            }
            Kind::Update => {
                let (_exchange, message) = decode_chunk(&opened.plaintext).map_err(refused)?;
                SyncMessage::decode(message).map_err(refused)?;
            }
            // Presence is not part of a catch-up; the node refuses it there.
            Kind::Awareness => return Err("awareness in a bundle".to_owned()),
        }
    }
    Ok(())
}
