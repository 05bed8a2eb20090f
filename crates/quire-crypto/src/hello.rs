//! Session hellos: the once-per-session message that binds a session id to a device key
//! and, for writers, carries the write grant.
//!
//! Wire layout (version 3): only the header, a random nonce and one ciphertext.
//!
//! | bytes | field                                                        |
//! |-------|--------------------------------------------------------------|
//! | 1     | header: version (3) in the high four bits, kind 3 (hello)    |
//! | 24    | nonce (random)                                               |
//! | n+16  | XChaCha20-Poly1305 ciphertext of the body, with tag          |
//!
//! The body, once opened:
//!
//! | bytes | field                                                        |
//! |-------|--------------------------------------------------------------|
//! | 32    | topic                                                        |
//! | 32    | device public key                                            |
//! | 16    | session salt                                                 |
//! | 1     | flags (bit 0: a write grant follows)                         |
//! | 0/64  | write grant                                                  |
//! | 64    | device signature over header, document id, topic, device key, salt, flags and grant |
//!
//! Everything that names the device or the document is inside the seal, so whoever
//! hears a hello without the document's read key (a relay, a forwarding peer, an
//! outsider, a member of another document) learns neither who sent it nor which
//! document it is for, and two hellos of one device share no byte but the header. What
//! still shows: that it is a hello, and its length (a writer's is 64 bytes longer, as
//! the kind of its later messages also shows).
//!
//! The seal's key is derived from the read key, not the read key itself: messages use
//! nonces derived from (device, salt, sequence number) under the read key, hellos
//! random ones, and two keys keep the two nonce spaces from ever meeting.
//!
//! Version 2 sent the topic, device key and salt in the clear (see `hello/v2.rs`). This
//! build still *opens* version-2 hellos but never writes one: relay mailboxes keep a
//! session's hello as long as its messages, and refusing them would leave offline
//! edits from before the upgrade unreadable until the next compaction. Accepting them
//! leaks nothing new (the old sender already showed its key) and checks them exactly
//! as before.

mod v2;

use crate::cipher::{self, AEAD_TAG_BYTES, NONCE_BYTES};
use crate::codec::Reader;
use crate::doc_keys::{DocKeys, TOPIC_BYTES, WriteGrant};
use crate::envelope::{KIND_HELLO, header_byte};
use crate::error::EnvelopeError;
use crate::identity::{DevicePublicKey, PUBLIC_KEY_BYTES, SIGNATURE_BYTES};
use crate::session::{LocalSession, RemoteSession, SESSION_SALT_BYTES};

/// Format version of the hellos this build writes.
pub const HELLO_VERSION: u8 = 3;

/// The older hello format this build still opens (never writes): topic, device key and
/// salt in the clear.
pub const LEGACY_HELLO_VERSION: u8 = 2;

/// Largest hello body: topic, device key, salt, flags, a grant and the signature.
const MAX_BODY_BYTES: usize =
    TOPIC_BYTES + PUBLIC_KEY_BYTES + SESSION_SALT_BYTES + 1 + SIGNATURE_BYTES + SIGNATURE_BYTES;

/// Smallest hello body: the same without a grant.
const MIN_BODY_BYTES: usize = MAX_BODY_BYTES - SIGNATURE_BYTES;

/// Largest hello of either version, checked before anything is decoded: a writer's
/// (250 bytes in both versions).
pub const MAX_HELLO_BYTES: usize = 1 + NONCE_BYTES + MAX_BODY_BYTES + AEAD_TAG_BYTES;

const HELLO_SIGNATURE_DOMAIN: &[u8] = b"quire/v3/hello/signature";
const HELLO_AD_DOMAIN: &[u8] = b"quire/v3/hello/ad";

/// Body flag: a write grant follows.
const FLAG_GRANT: u8 = 1;

/// A session announcement, as on the wire. Opaque until opened with the document's
/// keys ([`open_hello`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello(Format);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Format {
    /// Version 3: everything but the header and nonce sealed.
    Sealed {
        nonce: [u8; NONCE_BYTES],
        ciphertext: Vec<u8>,
    },
    /// Version 2, from an older build.
    Legacy(v2::LegacyHello),
}

impl Hello {
    /// The format version: [`HELLO_VERSION`], or [`LEGACY_HELLO_VERSION`] for a hello
    /// from an older build.
    pub fn version(&self) -> u8 {
        match &self.0 {
            Format::Sealed { .. } => HELLO_VERSION,
            Format::Legacy(_) => LEGACY_HELLO_VERSION,
        }
    }

    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        match &self.0 {
            Format::Sealed { nonce, ciphertext } => {
                let mut out = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
                out.push(header_byte(HELLO_VERSION, KIND_HELLO));
                out.extend_from_slice(nonce);
                out.extend_from_slice(ciphertext);
                out
            }
            Format::Legacy(legacy) => legacy.encode(),
        }
    }

    /// Parses wire bytes, checking size and shape (the contents are checked by
    /// [`open_hello`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        if bytes.len() > MAX_HELLO_BYTES {
            return Err(EnvelopeError::TooLarge {
                size: bytes.len(),
                limit: MAX_HELLO_BYTES,
            });
        }
        let short = EnvelopeError::Malformed("hello is too short");
        let mut reader = Reader::new(bytes);
        let header = reader.u8().ok_or(short.clone())?;
        if header & 0x0f != KIND_HELLO {
            return Err(EnvelopeError::Malformed("not a hello"));
        }
        match header >> 4 {
            HELLO_VERSION => {}
            LEGACY_HELLO_VERSION => {
                return v2::LegacyHello::decode(bytes).map(|h| Self(Format::Legacy(h)));
            }
            // Version 1 wrote its version as the whole first byte.
            0 => return Err(EnvelopeError::UnsupportedVersion(header)),
            version => return Err(EnvelopeError::UnsupportedVersion(version)),
        }
        let nonce = reader.array().ok_or(short)?;
        let ciphertext = reader.rest();
        let body_len = ciphertext.len().checked_sub(AEAD_TAG_BYTES);
        if body_len != Some(MIN_BODY_BYTES) && body_len != Some(MAX_BODY_BYTES) {
            return Err(EnvelopeError::Malformed(
                "hello body has an impossible length",
            ));
        }
        Ok(Self(Format::Sealed {
            nonce,
            ciphertext: ciphertext.to_vec(),
        }))
    }
}

/// What the device signs: the header, the document and every field of the body but
/// the signature. The same binding as version 2 (device key over document, topic,
/// salt and grant), now over the plaintext since the ciphertext cannot carry the
/// signature that is inside it.
fn signed_message(
    doc_id: &[u8],
    topic: &[u8; TOPIC_BYTES],
    device: &[u8; PUBLIC_KEY_BYTES],
    salt: &[u8; SESSION_SALT_BYTES],
    grant: Option<&WriteGrant>,
) -> Vec<u8> {
    let (flags, grant): (u8, &[u8]) = match grant {
        Some(grant) => (FLAG_GRANT, &grant.0),
        None => (0, &[]),
    };
    [
        HELLO_SIGNATURE_DOMAIN,
        &[header_byte(HELLO_VERSION, KIND_HELLO)],
        doc_id,
        topic,
        device,
        salt,
        &[flags],
        grant,
    ]
    .concat()
}

fn associated_data(doc_id: &[u8]) -> Vec<u8> {
    [
        HELLO_AD_DOMAIN,
        doc_id,
        &[header_byte(HELLO_VERSION, KIND_HELLO)],
    ]
    .concat()
}

/// The body in the clear, before sealing.
fn body(
    topic: &[u8; TOPIC_BYTES],
    device: &[u8; PUBLIC_KEY_BYTES],
    salt: &[u8; SESSION_SALT_BYTES],
    grant: Option<&WriteGrant>,
    device_sig: &[u8; SIGNATURE_BYTES],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAX_BODY_BYTES);
    out.extend_from_slice(topic);
    out.extend_from_slice(device);
    out.extend_from_slice(salt);
    match grant {
        Some(grant) => {
            out.push(FLAG_GRANT);
            out.extend_from_slice(&grant.0);
        }
        None => out.push(0),
    }
    out.extend_from_slice(device_sig);
    out
}

/// Seals `body` under the document's hello key with a fresh random nonce.
fn seal_body(keys: &DocKeys, body: &[u8]) -> Result<Hello, EnvelopeError> {
    let nonce: [u8; NONCE_BYTES] = rand::random();
    let ciphertext = cipher::encrypt(
        &cipher::hello_key(keys.read_key()),
        &nonce,
        &associated_data(keys.doc_id()),
        body,
    )?;
    Ok(Hello(Format::Sealed { nonce, ciphertext }))
}

pub(crate) fn seal(session: &LocalSession) -> Result<Hello, EnvelopeError> {
    let keys = session.keys();
    let topic = keys.topic();
    let device = session.identity().public_key().to_bytes();
    let grant = session.grant();
    let device_sig = session.identity().sign(&signed_message(
        keys.doc_id(),
        &topic,
        &device,
        session.salt(),
        grant,
    ));
    seal_body(
        keys,
        &body(&topic, &device, session.salt(), grant, &device_sig),
    )
}

/// Verifies and decrypts a session hello that arrived on `expected_topic`, returning the
/// session to add to a [`SessionBook`](crate::SessionBook).
///
/// Checks, in order: the keys are this topic's, decryption, the body's shape, the topic
/// inside is this one, the device signature, the write grant. A version-2 hello is
/// checked as version 2 always was.
pub fn open_hello(
    keys: &DocKeys,
    hello: &Hello,
    expected_topic: &[u8; TOPIC_BYTES],
) -> Result<RemoteSession, EnvelopeError> {
    if keys.topic() != *expected_topic {
        return Err(EnvelopeError::WrongTopic);
    }
    let (nonce, ciphertext) = match &hello.0 {
        Format::Sealed { nonce, ciphertext } => (nonce, ciphertext),
        Format::Legacy(legacy) => return v2::open(keys, legacy, expected_topic),
    };
    let body = cipher::decrypt(
        &cipher::hello_key(keys.read_key()),
        nonce,
        &associated_data(keys.doc_id()),
        ciphertext,
    )?;
    let cut = EnvelopeError::Malformed("hello body is cut off");
    let mut reader = Reader::new(&body);
    let topic: [u8; TOPIC_BYTES] = reader.array().ok_or(cut.clone())?;
    let device_bytes: [u8; PUBLIC_KEY_BYTES] = reader.array().ok_or(cut.clone())?;
    let salt: [u8; SESSION_SALT_BYTES] = reader.array().ok_or(cut.clone())?;
    let grant = match reader.u8() {
        Some(0) => None,
        Some(FLAG_GRANT) => Some(WriteGrant(reader.array().ok_or(cut.clone())?)),
        _ => return Err(EnvelopeError::Malformed("hello body has unknown flags")),
    };
    let device_sig: [u8; SIGNATURE_BYTES] = reader.array().ok_or(cut)?;
    if !reader.is_empty() {
        return Err(EnvelopeError::Malformed("hello body has trailing bytes"));
    }
    // Only a holder of this document's read key could have sealed it, but the topic
    // inside is checked all the same: a hello is for one document's topic.
    if topic != *expected_topic {
        return Err(EnvelopeError::WrongTopic);
    }
    let device = DevicePublicKey::from_bytes(&device_bytes).ok_or(EnvelopeError::Malformed(
        "hello's device key is not an ed25519 key",
    ))?;
    let signed = signed_message(keys.doc_id(), &topic, &device_bytes, &salt, grant.as_ref());
    if !device.verify(&signed, &device_sig) {
        return Err(EnvelopeError::BadDeviceSignature);
    }
    let is_writer = match grant {
        Some(grant) if keys.writer().verify_grant(keys.doc_id(), &device, &grant) => true,
        Some(_) => return Err(EnvelopeError::BadWriteGrant),
        None => false,
    };
    Ok(RemoteSession::new(device, salt, topic, is_writer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceIdentity;

    #[test]
    fn hello_round_trips_and_carries_the_role() {
        let (keys, _) = DocKeys::generate();
        let identity = DeviceIdentity::generate();
        let writer = LocalSession::start(&identity, &keys);
        let reader = LocalSession::start(&identity, &keys.read_only());
        for (session, expect_writer, len) in [
            (writer, true, MAX_HELLO_BYTES),
            (reader, false, MAX_HELLO_BYTES - SIGNATURE_BYTES),
        ] {
            let hello = session.hello().unwrap();
            assert_eq!(hello.version(), HELLO_VERSION);
            let bytes = hello.encode();
            assert_eq!(bytes.len(), len);
            let decoded = Hello::decode(&bytes).unwrap();
            assert_eq!(decoded, hello);
            let remote = open_hello(&keys.read_only(), &decoded, &keys.topic()).unwrap();
            assert_eq!(remote.id(), session.id());
            assert_eq!(remote.peer_id(), identity.peer_id());
            assert_eq!(remote.is_writer(), expect_writer);
        }
    }

    /// A hello sealed properly (right read key, the device's own signature) around the
    /// fields given: what a member holding the read key could make.
    fn sealed_by_member(
        keys: &DocKeys,
        identity: &DeviceIdentity,
        topic: [u8; TOPIC_BYTES],
        salt: [u8; SESSION_SALT_BYTES],
        grant: Option<&WriteGrant>,
        signed_salt: [u8; SESSION_SALT_BYTES],
    ) -> Hello {
        let device = identity.public_key().to_bytes();
        let sig = identity.sign(&signed_message(
            keys.doc_id(),
            &topic,
            &device,
            &signed_salt,
            grant,
        ));
        seal_body(keys, &body(&topic, &device, &salt, grant, &sig)).unwrap()
    }

    #[test]
    fn a_grant_for_another_device_is_refused() {
        let (keys, doc_id) = DocKeys::generate();
        let thief = DeviceIdentity::generate();
        let victim = DeviceIdentity::generate();
        // A reader copies a writer's grant into its own hello.
        let stolen = keys
            .write_key()
            .unwrap()
            .grant(&doc_id, &victim.public_key());
        let salt = rand::random();
        let hello = sealed_by_member(
            &keys.read_only(),
            &thief,
            keys.topic(),
            salt,
            Some(&stolen),
            salt,
        );
        assert_eq!(
            open_hello(&keys, &hello, &keys.topic()),
            Err(EnvelopeError::BadWriteGrant)
        );
    }

    #[test]
    fn a_hello_naming_another_topic_inside_is_refused() {
        let (keys, _) = DocKeys::generate();
        let (other, _) = DocKeys::generate();
        let device = DeviceIdentity::generate();
        let salt = rand::random();
        let hello = sealed_by_member(&keys, &device, other.topic(), salt, None, salt);
        assert_eq!(
            open_hello(&keys, &hello, &keys.topic()),
            Err(EnvelopeError::WrongTopic)
        );
    }

    #[test]
    fn a_member_who_reseals_changed_fields_is_caught_by_the_signature() {
        // A member holds the read key, so it can open a hello and seal a new one; the
        // device signature inside still binds the salt (and so the session id).
        let (keys, _) = DocKeys::generate();
        let device = DeviceIdentity::generate();
        let hello = sealed_by_member(
            &keys,
            &device,
            keys.topic(),
            [1; SESSION_SALT_BYTES],
            None,
            [2; SESSION_SALT_BYTES],
        );
        assert_eq!(
            open_hello(&keys, &hello, &keys.topic()),
            Err(EnvelopeError::BadDeviceSignature)
        );
        // Claiming another device's key with one's own signature fails the same way.
        let victim = DeviceIdentity::generate().public_key().to_bytes();
        let salt = [3; SESSION_SALT_BYTES];
        let sig = device.sign(&signed_message(
            keys.doc_id(),
            &keys.topic(),
            &victim,
            &salt,
            None,
        ));
        let hello = seal_body(&keys, &body(&keys.topic(), &victim, &salt, None, &sig)).unwrap();
        assert_eq!(
            open_hello(&keys, &hello, &keys.topic()),
            Err(EnvelopeError::BadDeviceSignature)
        );
    }

    #[test]
    fn a_body_of_the_right_length_but_bad_shape_is_named() {
        let (keys, _) = DocKeys::generate();
        let mut bad_flags = vec![0; MIN_BODY_BYTES];
        if let Some(flags) = bad_flags.get_mut(TOPIC_BYTES + PUBLIC_KEY_BYTES + SESSION_SALT_BYTES)
        {
            *flags = 7;
        }
        let hello = seal_body(&keys, &bad_flags).unwrap();
        assert_eq!(
            open_hello(&keys, &hello, &keys.topic()),
            Err(EnvelopeError::Malformed("hello body has unknown flags"))
        );
        // A grant flag on a body with room for no grant: cut off.
        bad_flags[TOPIC_BYTES + PUBLIC_KEY_BYTES + SESSION_SALT_BYTES] = FLAG_GRANT;
        let hello = seal_body(&keys, &bad_flags).unwrap();
        assert_eq!(
            open_hello(&keys, &hello, &keys.topic()),
            Err(EnvelopeError::Malformed("hello body is cut off"))
        );
    }

    #[test]
    fn wrong_topic_and_wrong_key_are_told_apart() {
        let (keys, _) = DocKeys::generate();
        let (other, _) = DocKeys::generate();
        let hello = LocalSession::start(&DeviceIdentity::generate(), &keys)
            .hello()
            .unwrap();
        assert_eq!(
            open_hello(&keys, &hello, &other.topic()),
            Err(EnvelopeError::WrongTopic)
        );
        assert_eq!(
            open_hello(&other, &hello, &keys.topic()),
            Err(EnvelopeError::WrongTopic)
        );
        assert_eq!(
            open_hello(&other, &hello, &other.topic()),
            Err(EnvelopeError::Undecryptable)
        );
        let wrong_read = DocKeys::new(
            *keys.doc_id(),
            crate::ReadKey::generate(),
            keys.writer().clone(),
            None,
        )
        .unwrap();
        assert_eq!(
            open_hello(&wrong_read, &hello, &keys.topic()),
            Err(EnvelopeError::Undecryptable)
        );
    }

    #[test]
    fn unknown_hello_versions_are_named() {
        assert_eq!(
            Hello::decode(&[header_byte(4, KIND_HELLO), 0, 0]),
            Err(EnvelopeError::UnsupportedVersion(4))
        );
        assert_eq!(
            Hello::decode(&[header_byte(HELLO_VERSION, 1), 0, 0]),
            Err(EnvelopeError::Malformed("not a hello"))
        );
    }
}
