//! Per-document keys: the shared read key, the writer keypair, and the write grants
//! the writer key signs for devices.

use std::fmt;

use libp2p_identity::ed25519;
use zeroize::Zeroize;

use crate::base32;
use crate::error::KeyError;
use crate::identity::{DevicePublicKey, PUBLIC_KEY_BYTES, SIGNATURE_BYTES};

/// Length of a document id.
pub const DOC_ID_BYTES: usize = 32;

/// Length of a symmetric document key (XChaCha20-Poly1305).
pub const READ_KEY_BYTES: usize = 32;

/// Length of a write key's secret.
pub const WRITE_KEY_BYTES: usize = 32;

/// Length of a gossipsub topic hash.
pub const TOPIC_BYTES: usize = 32;

/// Prefix hashed with the document id to name its topic.
const TOPIC_PREFIX: &[u8] = b"quire/doc/";

/// The blake3 `derive_key` context of a document's sync digest key (see
/// [`DocKeys::sync_digest_key`]).
const SYNC_DIGEST_KEY_CONTEXT: &str = "quire 2026-12 sync digest key from a document read key";

/// Domain separation for write grants, so no other signature can pass for one.
const GRANT_DOMAIN: &[u8] = b"quire/v1/write-grant";

/// The gossipsub topic (and relay mailbox / rendezvous namespace) of a document:
/// `blake3("quire/doc/" ‖ id)` over the id's 32 raw bytes, so a relay sees a hash, not
/// the id.
pub fn topic_for(doc_id: &[u8; DOC_ID_BYTES]) -> [u8; TOPIC_BYTES] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(TOPIC_PREFIX);
    hasher.update(doc_id);
    *hasher.finalize().as_bytes()
}

/// A topic hash as lowercase base32 text, the form used for gossipsub topic and
/// rendezvous namespace strings.
pub fn topic_name(topic: &[u8; TOPIC_BYTES]) -> String {
    base32::encode(topic)
}

/// What a holder of a document's keys may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Read and follow the document, send awareness; its edits are rejected.
    Read,
    /// Read and edit.
    Write,
}

impl Role {
    /// `read` or `write`, as shown to people and scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
        }
    }
}

/// The symmetric key every member uses to seal and open a document's messages.
///
/// Deliberately not comparable with `==`, which would not run in constant time.
#[derive(Clone)]
pub struct ReadKey([u8; READ_KEY_BYTES]);

impl ReadKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self(rand::random())
    }

    /// Wraps raw key bytes (from storage or a ticket).
    pub fn from_bytes(bytes: [u8; READ_KEY_BYTES]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes; a secret, to be stored as carefully as the key itself.
    pub fn to_bytes(&self) -> [u8; READ_KEY_BYTES] {
        self.0
    }

    pub(crate) fn as_bytes(&self) -> &[u8; READ_KEY_BYTES] {
        &self.0
    }
}

impl Drop for ReadKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for ReadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadKey(..)")
    }
}

/// The document's writer public key: checks write grants.
#[derive(Clone, PartialEq, Eq)]
pub struct WriterPublicKey(ed25519::PublicKey);

impl WriterPublicKey {
    /// Parses raw key bytes.
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_BYTES]) -> Result<Self, KeyError> {
        ed25519::PublicKey::try_from_bytes(bytes)
            .map(Self)
            .map_err(|_| KeyError::InvalidWriterKey)
    }

    /// The raw key bytes.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_BYTES] {
        self.0.to_bytes()
    }

    /// Checks that `grant` lets `device` write to document `doc_id`.
    pub fn verify_grant(
        &self,
        doc_id: &[u8; DOC_ID_BYTES],
        device: &DevicePublicKey,
        grant: &WriteGrant,
    ) -> bool {
        self.0.verify(&grant_message(doc_id, device), &grant.0)
    }
}

impl fmt::Debug for WriterPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WriterPublicKey({})", base32::encode(&self.to_bytes()))
    }
}

/// The document's write key (an ed25519 signing key): whoever holds it may edit, and
/// proves it by signing write grants for their devices.
#[derive(Clone)]
pub struct WriteKey(ed25519::Keypair);

impl WriteKey {
    /// A fresh random write key.
    pub fn generate() -> Self {
        Self(ed25519::Keypair::generate())
    }

    /// Rebuilds a write key from its secret bytes.
    pub fn from_secret_bytes(mut bytes: [u8; WRITE_KEY_BYTES]) -> Result<Self, KeyError> {
        let secret = ed25519::SecretKey::try_from_bytes(&mut bytes);
        bytes.zeroize();
        secret
            .map(|secret| Self(ed25519::Keypair::from(secret)))
            .map_err(|_| KeyError::InvalidWriteKey)
    }

    /// The secret bytes; store them as carefully as the key itself.
    pub fn to_secret_bytes(&self) -> [u8; WRITE_KEY_BYTES] {
        let secret = self.0.secret();
        let mut out = [0; WRITE_KEY_BYTES];
        if let Some(bytes) = secret.as_ref().first_chunk::<WRITE_KEY_BYTES>() {
            out = *bytes;
        }
        out
    }

    /// The matching public key.
    pub fn public(&self) -> WriterPublicKey {
        WriterPublicKey(self.0.public())
    }

    /// Signs a grant that lets `device` write to document `doc_id`.
    pub fn grant(&self, doc_id: &[u8; DOC_ID_BYTES], device: &DevicePublicKey) -> WriteGrant {
        let signature = self.0.sign(&grant_message(doc_id, device));
        let mut out = [0; SIGNATURE_BYTES];
        if let Some(chunk) = signature.first_chunk::<SIGNATURE_BYTES>() {
            out = *chunk;
        }
        WriteGrant(out)
    }
}

impl fmt::Debug for WriteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WriteKey({:?})", self.public())
    }
}

/// The writer key's signature over (document id, device public key): lets that device's
/// updates be accepted. Sent once per session in the session hello, not per message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct WriteGrant(pub [u8; SIGNATURE_BYTES]);

impl fmt::Debug for WriteGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriteGrant(..)")
    }
}

fn grant_message(doc_id: &[u8; DOC_ID_BYTES], device: &DevicePublicKey) -> Vec<u8> {
    let mut msg = Vec::with_capacity(GRANT_DOMAIN.len() + DOC_ID_BYTES + PUBLIC_KEY_BYTES);
    msg.extend_from_slice(GRANT_DOMAIN);
    msg.extend_from_slice(doc_id);
    msg.extend_from_slice(&device.to_bytes());
    msg
}

/// Everything a device holds for one document.
#[derive(Clone)]
pub struct DocKeys {
    doc_id: [u8; DOC_ID_BYTES],
    read: ReadKey,
    writer: WriterPublicKey,
    write: Option<WriteKey>,
}

impl DocKeys {
    /// Keys for a new document. Its id is the writer public key (the second value), so
    /// the id alone says who may grant write access.
    pub fn generate() -> (Self, [u8; DOC_ID_BYTES]) {
        let write = WriteKey::generate();
        let writer = write.public();
        let doc_id = writer.to_bytes();
        let keys = Self {
            doc_id,
            read: ReadKey::generate(),
            writer,
            write: Some(write),
        };
        (keys, doc_id)
    }

    /// Assembles keys from their parts (from storage or a ticket). The document id may be
    /// the writer public key or an older random id.
    pub fn new(
        doc_id: [u8; DOC_ID_BYTES],
        read: ReadKey,
        writer: WriterPublicKey,
        write: Option<WriteKey>,
    ) -> Result<Self, KeyError> {
        if let Some(write) = &write
            && write.public() != writer
        {
            return Err(KeyError::WriteKeyMismatch);
        }
        Ok(Self {
            doc_id,
            read,
            writer,
            write,
        })
    }

    /// The same document's keys without the write key, for a read-only invite.
    pub fn read_only(&self) -> Self {
        Self {
            write: None,
            ..self.clone()
        }
    }

    /// The document id.
    pub fn doc_id(&self) -> &[u8; DOC_ID_BYTES] {
        &self.doc_id
    }

    /// The document's topic hash, see [`topic_for`].
    pub fn topic(&self) -> [u8; TOPIC_BYTES] {
        topic_for(&self.doc_id)
    }

    /// Read or write, depending on whether the write key is held.
    pub fn role(&self) -> Role {
        if self.write.is_some() {
            Role::Write
        } else {
            Role::Read
        }
    }

    /// The shared read key.
    pub fn read_key(&self) -> &ReadKey {
        &self.read
    }

    /// The key a replica's sync digest is computed with (`quire_doc::SyncDigest`),
    /// derived from the read key: every member can compute and compare digests, and
    /// nobody else can, so a digest is no public fingerprint of the document.
    pub fn sync_digest_key(&self) -> [u8; 32] {
        blake3::derive_key(SYNC_DIGEST_KEY_CONTEXT, self.read.as_bytes())
    }

    /// The writer public key, which checks write grants.
    pub fn writer(&self) -> &WriterPublicKey {
        &self.writer
    }

    /// The write key, if this device may edit.
    pub fn write_key(&self) -> Option<&WriteKey> {
        self.write.as_ref()
    }

    /// The document's mailbox key, derived from the write key: `None` for a reader,
    /// who may read a relay's mailbox but not write to it.
    pub fn mailbox_key(&self) -> Option<crate::MailboxKey> {
        self.write
            .as_ref()
            .and_then(|write| crate::MailboxKey::derive(write).ok())
    }
}

impl fmt::Debug for DocKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocKeys")
            .field("doc_id", &base32::encode(&self.doc_id))
            .field("role", &self.role())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceIdentity;

    #[test]
    fn the_sync_digest_key_follows_the_read_key_alone() {
        let (keys, _) = DocKeys::generate();
        let (other, _) = DocKeys::generate();
        assert_eq!(keys.sync_digest_key(), keys.read_only().sync_digest_key());
        assert_ne!(keys.sync_digest_key(), other.sync_digest_key());
        assert_ne!(&keys.sync_digest_key(), keys.read_key().as_bytes());
    }

    #[test]
    fn generated_doc_id_is_the_writer_key() {
        let (keys, doc_id) = DocKeys::generate();
        assert_eq!(keys.doc_id(), &doc_id);
        assert_eq!(keys.writer().to_bytes(), doc_id);
        assert_eq!(keys.role(), Role::Write);
        assert_eq!(keys.read_only().role(), Role::Read);
        assert_eq!(keys.topic(), topic_for(&doc_id));
        assert_ne!(keys.topic(), doc_id);
        assert_eq!(topic_name(&keys.topic()).len(), 52);
    }

    #[test]
    fn topic_matches_the_design_formula() {
        let id = [7; DOC_ID_BYTES];
        let mut input = b"quire/doc/".to_vec();
        input.extend_from_slice(&id);
        assert_eq!(topic_for(&id), *blake3::hash(&input).as_bytes());
    }

    #[test]
    fn write_key_survives_its_secret_bytes() {
        let key = WriteKey::generate();
        let again = WriteKey::from_secret_bytes(key.to_secret_bytes()).unwrap();
        assert_eq!(again.public(), key.public());
    }

    #[test]
    fn mismatched_write_key_is_refused() {
        let (keys, doc_id) = DocKeys::generate();
        let other = WriteKey::generate();
        let result = DocKeys::new(
            doc_id,
            keys.read_key().clone(),
            keys.writer().clone(),
            Some(other),
        );
        assert_eq!(result.err(), Some(KeyError::WriteKeyMismatch));
    }

    #[test]
    fn grants_bind_document_and_device() {
        let (keys, doc_id) = DocKeys::generate();
        let alice = DeviceIdentity::generate().public_key();
        let bob = DeviceIdentity::generate().public_key();
        let grant = keys.write_key().unwrap().grant(&doc_id, &alice);
        assert!(keys.writer().verify_grant(&doc_id, &alice, &grant));
        assert!(!keys.writer().verify_grant(&doc_id, &bob, &grant));
        assert!(
            !keys
                .writer()
                .verify_grant(&[0; DOC_ID_BYTES], &alice, &grant)
        );
        let stranger = WriteKey::generate().grant(&doc_id, &alice);
        assert!(!keys.writer().verify_grant(&doc_id, &alice, &stranger));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let (keys, _) = DocKeys::generate();
        let shown = format!("{keys:?} {:?} {:?}", keys.read_key(), keys.write_key());
        let secret = base32::encode(&keys.read_key().to_bytes());
        assert!(!shown.contains(&secret));
    }
}
