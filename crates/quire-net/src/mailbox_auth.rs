//! Signed mailbox writes: which member may put to a topic's mailbox and compact it.
//!
//! A relay cannot read documents, so every put and compaction carries a
//! [`MailboxAuth`]: the document's mailbox public key (derived from the write key,
//! so every writer has the same one and readers none, see
//! `quire_crypto::MailboxKey`) and its signature over [`signed_message`]. The relay
//! pins the key on the first put it stores for a topic (trust on first use) and
//! from then on keeps only what that key signed. Gets are not signed: readers read.
//!
//! What a signature covers, so that no captured request does harm elsewhere:
//! a domain tag, the operation, the relay's peer id (a request made for one relay
//! does nothing at another, whose items are numbered differently), the topic, a
//! hash of the item or snapshot, and for a compaction the last item number the
//! member had read (the relay supersedes nothing after it). Requests travel inside
//! the noise-encrypted connection to the relay, so only that relay sees them; a
//! replay there adds a copy of an item members already have.

use libp2p::PeerId;
use libp2p::identity::ed25519;
use serde::{Deserialize, Serialize};

/// Length of a mailbox public key (ed25519).
pub const MAILBOX_KEY_BYTES: usize = 32;

/// Length of a mailbox signature (ed25519).
pub const MAILBOX_SIGNATURE_BYTES: usize = 64;

/// Domain separation: no other signature Quire makes can pass for a mailbox one.
const MAILBOX_AUTH_DOMAIN: &[u8] = b"quire/v1/mailbox-op";

/// The key and signature on a put or a compaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxAuth {
    /// The document's mailbox public key.
    #[serde(with = "serde_bytes")]
    pub key: [u8; MAILBOX_KEY_BYTES],
    /// Its signature over [`signed_message`].
    #[serde(with = "serde_bytes")]
    pub signature: [u8; MAILBOX_SIGNATURE_BYTES],
}

/// What is signed besides the relay and the topic.
#[derive(Debug, Clone, Copy)]
pub enum Operation<'a> {
    /// Keep `item`.
    Put {
        /// The sealed item.
        item: &'a [u8],
    },
    /// Replace items up to `supersedes` (the last one the member read) with `snapshot`.
    Compact {
        /// The last item number the snapshot covers.
        supersedes: u64,
        /// The sealed snapshot.
        snapshot: &'a [u8],
    },
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The key is not an ed25519 public key.
    #[error("the mailbox key is not a valid public key")]
    InvalidKey,
    /// The signature does not match the key, relay, topic and operation.
    #[error("the signature does not match this relay, document and request")]
    BadSignature,
}

/// The bytes a writer signs for `operation` on `topic` at `relay`.
pub fn signed_message(relay: &PeerId, topic: &[u8; 32], operation: Operation<'_>) -> Vec<u8> {
    let relay = relay.to_bytes();
    let (tag, supersedes, payload): (&[u8], u64, &[u8]) = match operation {
        Operation::Put { item } => (b"put", 0, item),
        Operation::Compact {
            supersedes,
            snapshot,
        } => (b"compact", supersedes, snapshot),
    };
    let mut message = Vec::with_capacity(MAILBOX_AUTH_DOMAIN.len() + relay.len() + 128);
    message.extend_from_slice(MAILBOX_AUTH_DOMAIN);
    for part in [tag, relay.as_slice()] {
        // Length-prefixed, so no two different inputs give the same bytes.
        message.extend_from_slice(&(part.len() as u32).to_be_bytes());
        message.extend_from_slice(part);
    }
    message.extend_from_slice(topic);
    message.extend_from_slice(&supersedes.to_be_bytes());
    message.extend_from_slice(blake3::hash(payload).as_bytes());
    message
}

impl MailboxAuth {
    /// Signs `operation` with `sign` (the mailbox key's signing function), whose
    /// public key is `key`.
    pub fn sign(
        key: [u8; MAILBOX_KEY_BYTES],
        sign: impl FnOnce(&[u8]) -> [u8; MAILBOX_SIGNATURE_BYTES],
        relay: &PeerId,
        topic: &[u8; 32],
        operation: Operation<'_>,
    ) -> Self {
        let signature = sign(&signed_message(relay, topic, operation));
        Self { key, signature }
    }

    /// Checks the signature for `operation` on `topic` at `relay`.
    pub fn verify(
        &self,
        relay: &PeerId,
        topic: &[u8; 32],
        operation: Operation<'_>,
    ) -> Result<(), AuthError> {
        let key =
            ed25519::PublicKey::try_from_bytes(&self.key).map_err(|_| AuthError::InvalidKey)?;
        if key.verify(&signed_message(relay, topic, operation), &self.signature) {
            Ok(())
        } else {
            Err(AuthError::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn signer() -> (ed25519::Keypair, [u8; MAILBOX_KEY_BYTES]) {
        let keypair = ed25519::Keypair::generate();
        let public = keypair.public().to_bytes();
        (keypair, public)
    }

    fn sign(
        keypair: &ed25519::Keypair,
        relay: &PeerId,
        topic: &[u8; 32],
        op: Operation<'_>,
    ) -> MailboxAuth {
        MailboxAuth::sign(
            keypair.public().to_bytes(),
            |m| {
                let mut out = [0; MAILBOX_SIGNATURE_BYTES];
                out.copy_from_slice(&keypair.sign(m));
                out
            },
            relay,
            topic,
            op,
        )
    }

    #[test]
    fn a_signature_holds_only_for_its_relay_topic_and_request() {
        let (keypair, _) = signer();
        let (relay, other_relay) = (PeerId::random(), PeerId::random());
        let topic = [1; 32];
        let put = Operation::Put { item: b"sealed" };
        let auth = sign(&keypair, &relay, &topic, put);
        assert_eq!(auth.verify(&relay, &topic, put), Ok(()));
        assert_eq!(
            auth.verify(&other_relay, &topic, put),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            auth.verify(&relay, &[2; 32], put),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            auth.verify(&relay, &topic, Operation::Put { item: b"sealee" }),
            Err(AuthError::BadSignature)
        );
        // A put's signature is no compaction's.
        let compact = Operation::Compact {
            supersedes: 0,
            snapshot: b"sealed",
        };
        assert_eq!(
            auth.verify(&relay, &topic, compact),
            Err(AuthError::BadSignature)
        );
        let auth = sign(&keypair, &relay, &topic, compact);
        assert_eq!(auth.verify(&relay, &topic, compact), Ok(()));
        // The last item read is signed: it cannot be raised.
        let raised = Operation::Compact {
            supersedes: 9,
            snapshot: b"sealed",
        };
        assert_eq!(
            auth.verify(&relay, &topic, raised),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn another_key_or_a_malformed_one_is_refused() {
        let (keypair, _) = signer();
        let (_, stranger) = signer();
        let relay = PeerId::random();
        let put = Operation::Put { item: b"x" };
        let mut auth = sign(&keypair, &relay, &[1; 32], put);
        auth.key = stranger;
        assert_eq!(
            auth.verify(&relay, &[1; 32], put),
            Err(AuthError::BadSignature)
        );
        auth.key = [0xff; MAILBOX_KEY_BYTES];
        assert!(auth.verify(&relay, &[1; 32], put).is_err());
    }
}
