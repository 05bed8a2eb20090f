//! Target `sealed`: one sealed item as gossip or a relay delivers it, a session hello
//! or a message ([`Sealed::decode`], [`Hello::decode`], [`Envelope::decode`]), then
//! [`receive`] with the document's keys, as a member does.
//!
//! Every accepted encoding must be the only one of its value (signatures cover the
//! re-encoded bytes, so a second spelling would be a second valid message), and the
//! three decoders must agree.

use quire_crypto::{Envelope, Hello, Sealed, SessionBook, receive};

use crate::{Outcome, keys, refused};

/// Decodes one item and receives it on the fuzzed document's topic.
pub fn fuzz(data: &[u8]) -> Outcome {
    let sealed = Sealed::decode(data);
    match &sealed {
        Ok(Sealed::Hello(hello)) => {
            assert_eq!(hello.encode(), data, "a hello has a second encoding");
            assert_eq!(Hello::decode(data).as_ref(), Ok(hello));
        }
        Ok(Sealed::Message(envelope)) => {
            assert_eq!(envelope.encode(), data, "a message has a second encoding");
            assert_eq!(envelope.encoded_len(), data.len());
            assert_eq!(Envelope::decode(data).as_ref(), Ok(envelope));
        }
        Err(_) => {}
    }
    sealed.map_err(refused)?;
    let keys = keys::writer_keys().map_err(refused)?;
    let mut book = SessionBook::new();
    receive(&keys, &mut book, data, &keys.topic()).map_err(refused)?;
    Ok(())
}
