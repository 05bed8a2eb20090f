//! The mailbox key: a per-document ed25519 key pair that every holder of the
//! document's write key derives the same way, and nobody else can.
//!
//! A relay's mailbox cannot read documents, so it cannot tell a writer's item from a
//! reader's or a stranger's. It can check a signature: writers sign every put and
//! compaction with the mailbox key, and the relay keeps only what the key it pinned
//! for the topic signed (see `quire_net::mailbox_auth`). The key is derived, not
//! stored or sent in tickets, so every writer (old invites included) has it, and its
//! public half says nothing about the write key or the document id.

use libp2p_identity::ed25519;
use zeroize::Zeroize;

use crate::doc_keys::WriteKey;
use crate::error::KeyError;

/// The blake3 `derive_key` context: binds the derived key to this one use, so no
/// other key derived from the write secret can equal it.
const MAILBOX_KEY_CONTEXT: &str = "quire 2026-12 mailbox signing key from a document write key";

/// Length of a mailbox public key.
pub const MAILBOX_PUBLIC_KEY_BYTES: usize = 32;

/// Length of a mailbox signature.
pub const MAILBOX_SIGNATURE_BYTES: usize = 64;

/// A document's mailbox key pair (see the module docs).
#[derive(Clone)]
pub struct MailboxKey(ed25519::Keypair);

impl MailboxKey {
    /// Derives the document's mailbox key from its write key.
    pub fn derive(write: &WriteKey) -> Result<Self, KeyError> {
        let mut secret = write.to_secret_bytes();
        let mut seed = blake3::derive_key(MAILBOX_KEY_CONTEXT, &secret);
        secret.zeroize();
        // (`try_from_bytes` zeroes the seed.)
        ed25519::SecretKey::try_from_bytes(&mut seed)
            .map(|secret| Self(ed25519::Keypair::from(secret)))
            .map_err(|_| KeyError::InvalidWriteKey)
    }

    /// The public half, which a relay pins for the document's topic.
    pub fn public(&self) -> [u8; MAILBOX_PUBLIC_KEY_BYTES] {
        self.0.public().to_bytes()
    }

    /// Signs `message` (built by `quire_net::mailbox_auth`).
    pub fn sign(&self, message: &[u8]) -> [u8; MAILBOX_SIGNATURE_BYTES] {
        let signature = self.0.sign(message);
        let mut out = [0; MAILBOX_SIGNATURE_BYTES];
        if let Some(chunk) = signature.first_chunk::<MAILBOX_SIGNATURE_BYTES>() {
            out = *chunk;
        }
        out
    }
}

impl std::fmt::Debug for MailboxKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MailboxKey({})", crate::base32::encode(&self.public()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::DocKeys;

    #[test]
    fn every_writer_derives_the_same_key_and_other_documents_another() {
        let (keys, _) = DocKeys::generate();
        let write = keys.write_key().unwrap();
        let again = WriteKey::from_secret_bytes(write.to_secret_bytes()).unwrap();
        let key = MailboxKey::derive(write).unwrap();
        assert_eq!(key.public(), MailboxKey::derive(&again).unwrap().public());
        // Not the writer key itself (which is the document id of new documents).
        assert_ne!(key.public(), keys.writer().to_bytes());
        let (other, _) = DocKeys::generate();
        let other = MailboxKey::derive(other.write_key().unwrap()).unwrap();
        assert_ne!(key.public(), other.public());
        assert!(keys.read_only().mailbox_key().is_none());
        assert_eq!(keys.mailbox_key().unwrap().public(), key.public());
    }

    #[test]
    fn signatures_check_against_the_public_half() {
        let (keys, _) = DocKeys::generate();
        let key = keys.mailbox_key().unwrap();
        let signature = key.sign(b"message");
        let public = ed25519::PublicKey::try_from_bytes(&key.public()).unwrap();
        assert!(public.verify(b"message", &signature));
        assert!(!public.verify(b"messagf", &signature));
    }
}
