//! Session hellos: the once-per-session message that binds a session id to a device key
//! and, for writers, carries the write grant.
//!
//! Wire layout (version 2), all fields fixed-size except the ciphertext:
//!
//! | bytes | field                                                        |
//! |-------|--------------------------------------------------------------|
//! | 1     | header: version (2) in the high four bits, kind 3 (hello)    |
//! | 32    | topic                                                        |
//! | 32    | device public key                                            |
//! | 16    | session salt                                                 |
//! | 24    | nonce (random)                                               |
//! | n+16  | ciphertext of the body: flags (bit 0: grant follows), grant  |
//! | 64    | device signature                                             |

use crate::cipher::{self, AEAD_TAG_BYTES, NONCE_BYTES};
use crate::codec::Reader;
use crate::doc_keys::{DocKeys, TOPIC_BYTES, WriteGrant};
use crate::envelope::{
    ENVELOPE_VERSION, KIND_HELLO, MAX_ENVELOPE_BYTES, header_byte, kind_in_header,
};
use crate::error::EnvelopeError;
use crate::identity::{DevicePublicKey, PUBLIC_KEY_BYTES, SIGNATURE_BYTES};
use crate::session::{LocalSession, RemoteSession, SESSION_SALT_BYTES};

const HELLO_SIGNATURE_DOMAIN: &[u8] = b"quire/v1/hello/signature";
const HELLO_AD_DOMAIN: &[u8] = b"quire/v1/hello/ad";

/// Body flag: a write grant follows.
const FLAG_GRANT: u8 = 1;

/// A sealed session announcement, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// Format version, [`ENVELOPE_VERSION`].
    pub version: u8,
    /// The document topic the session is for.
    pub topic: [u8; TOPIC_BYTES],
    /// The sending device's ed25519 public key (its peer id in raw form).
    pub device: [u8; PUBLIC_KEY_BYTES],
    /// The session's random salt; the session id is derived from it and `device`.
    pub salt: [u8; SESSION_SALT_BYTES],
    /// Random XChaCha20 nonce of the body.
    pub nonce: [u8; NONCE_BYTES],
    /// The encrypted body (flags and optional write grant) with its tag.
    pub ciphertext: Vec<u8>,
    /// The device's signature over everything above.
    pub device_sig: [u8; SIGNATURE_BYTES],
}

impl Hello {
    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.encode_unsigned();
        out.extend_from_slice(&self.device_sig);
        out
    }

    /// Parses wire bytes, checking size and shape (not signatures: see [`open_hello`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(EnvelopeError::TooLarge {
                size: bytes.len(),
                limit: MAX_ENVELOPE_BYTES,
            });
        }
        let short = EnvelopeError::Malformed("hello is too short");
        let mut reader = Reader::new(bytes);
        let header = reader.u8().ok_or(short.clone())?;
        if kind_in_header(header)? != KIND_HELLO {
            return Err(EnvelopeError::Malformed("not a hello"));
        }
        let topic = reader.array().ok_or(short.clone())?;
        let device = reader.array().ok_or(short.clone())?;
        let salt = reader.array().ok_or(short.clone())?;
        let nonce = reader.array().ok_or(short.clone())?;
        let device_sig = reader.last_array().ok_or(short.clone())?;
        let ciphertext = reader.rest();
        if ciphertext.len() < AEAD_TAG_BYTES || ciphertext.len() > MAX_BODY_BYTES + AEAD_TAG_BYTES {
            return Err(EnvelopeError::Malformed(
                "hello body has an impossible length",
            ));
        }
        Ok(Self {
            version: ENVELOPE_VERSION,
            topic,
            device,
            salt,
            nonce,
            ciphertext: ciphertext.to_vec(),
            device_sig,
        })
    }

    fn encode_unsigned(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            1 + TOPIC_BYTES
                + PUBLIC_KEY_BYTES
                + SESSION_SALT_BYTES
                + NONCE_BYTES
                + self.ciphertext.len()
                + SIGNATURE_BYTES,
        );
        out.push(header_byte(self.version, KIND_HELLO));
        out.extend_from_slice(&self.topic);
        out.extend_from_slice(&self.device);
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }
}

/// Largest hello body: flags and a grant.
const MAX_BODY_BYTES: usize = 1 + SIGNATURE_BYTES;

fn signed_message(doc_id: &[u8], unsigned: &[u8]) -> Vec<u8> {
    [HELLO_SIGNATURE_DOMAIN, doc_id, unsigned].concat()
}

fn associated_data(doc_id: &[u8], hello: &Hello) -> Vec<u8> {
    [
        HELLO_AD_DOMAIN,
        doc_id,
        &[header_byte(hello.version, KIND_HELLO)],
        &hello.topic,
        &hello.device,
        &hello.salt,
    ]
    .concat()
}

pub(crate) fn seal(session: &LocalSession) -> Result<Hello, EnvelopeError> {
    let keys = session.keys();
    let mut body = vec![0];
    if let Some(grant) = session.grant() {
        body = vec![FLAG_GRANT];
        body.extend_from_slice(&grant.0);
    }
    let mut hello = Hello {
        version: ENVELOPE_VERSION,
        topic: keys.topic(),
        device: session.identity().public_key().to_bytes(),
        salt: *session.salt(),
        nonce: rand::random(),
        ciphertext: Vec::new(),
        device_sig: [0; SIGNATURE_BYTES],
    };
    let ad = associated_data(keys.doc_id(), &hello);
    hello.ciphertext = cipher::encrypt(keys.read_key(), &hello.nonce, &ad, &body)?;
    hello.device_sig = session
        .identity()
        .sign(&signed_message(keys.doc_id(), &hello.encode_unsigned()));
    Ok(hello)
}

/// Verifies and decrypts a session hello that arrived on `expected_topic`, returning the
/// session to add to a [`SessionBook`](crate::SessionBook).
///
/// Checks, in order: version, topic, device signature, decryption, body, write grant.
pub fn open_hello(
    keys: &DocKeys,
    hello: &Hello,
    expected_topic: &[u8; TOPIC_BYTES],
) -> Result<RemoteSession, EnvelopeError> {
    if hello.version != ENVELOPE_VERSION {
        return Err(EnvelopeError::UnsupportedVersion(hello.version));
    }
    if hello.topic != *expected_topic || keys.topic() != *expected_topic {
        return Err(EnvelopeError::WrongTopic);
    }
    let device = DevicePublicKey::from_bytes(&hello.device).ok_or(EnvelopeError::Malformed(
        "hello's device key is not an ed25519 key",
    ))?;
    if !device.verify(
        &signed_message(keys.doc_id(), &hello.encode_unsigned()),
        &hello.device_sig,
    ) {
        return Err(EnvelopeError::BadDeviceSignature);
    }
    let ad = associated_data(keys.doc_id(), hello);
    let body = cipher::decrypt(keys.read_key(), &hello.nonce, &ad, &hello.ciphertext)?;
    let mut reader = Reader::new(&body);
    let grant = match reader.u8() {
        Some(0) => None,
        Some(FLAG_GRANT) => {
            Some(WriteGrant(reader.array().ok_or(
                EnvelopeError::Malformed("hello's write grant is cut off"),
            )?))
        }
        _ => return Err(EnvelopeError::Malformed("hello body has unknown flags")),
    };
    if !reader.is_empty() {
        return Err(EnvelopeError::Malformed("hello body has trailing bytes"));
    }
    let is_writer = match grant {
        Some(grant) if keys.writer().verify_grant(keys.doc_id(), &device, &grant) => true,
        Some(_) => return Err(EnvelopeError::BadWriteGrant),
        None => false,
    };
    Ok(RemoteSession::new(
        device,
        hello.salt,
        hello.topic,
        is_writer,
    ))
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
        for (session, expect_writer) in [(writer, true), (reader, false)] {
            let hello = session.hello().unwrap();
            let decoded = Hello::decode(&hello.encode()).unwrap();
            assert_eq!(decoded, hello);
            let remote = open_hello(&keys.read_only(), &decoded, &keys.topic()).unwrap();
            assert_eq!(remote.id(), session.id());
            assert_eq!(remote.peer_id(), identity.peer_id());
            assert_eq!(remote.is_writer(), expect_writer);
        }
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
        let session = LocalSession::start(&thief, &keys.read_only());
        let mut hello = session.hello().unwrap();
        let mut body = vec![FLAG_GRANT];
        body.extend_from_slice(&stolen.0);
        let ad = associated_data(&doc_id, &hello);
        hello.ciphertext = cipher::encrypt(keys.read_key(), &hello.nonce, &ad, &body).unwrap();
        hello.device_sig = thief.sign(&signed_message(&doc_id, &hello.encode_unsigned()));
        assert_eq!(
            open_hello(&keys, &hello, &keys.topic()),
            Err(EnvelopeError::BadWriteGrant)
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
}
