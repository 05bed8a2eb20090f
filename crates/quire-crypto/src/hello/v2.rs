//! Version-2 hellos, as older builds send them: opened for the transition, never
//! written (see the parent module for why).
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
//! | 64    | device signature over the document id and everything above   |

use super::{FLAG_GRANT, LEGACY_HELLO_VERSION};
use crate::cipher::{self, AEAD_TAG_BYTES, NONCE_BYTES};
use crate::codec::Reader;
use crate::doc_keys::{DocKeys, TOPIC_BYTES, WriteGrant};
use crate::envelope::{KIND_HELLO, header_byte};
use crate::error::EnvelopeError;
use crate::identity::{DevicePublicKey, PUBLIC_KEY_BYTES, SIGNATURE_BYTES};
use crate::session::{RemoteSession, SESSION_SALT_BYTES};

const HELLO_SIGNATURE_DOMAIN: &[u8] = b"quire/v1/hello/signature";
const HELLO_AD_DOMAIN: &[u8] = b"quire/v1/hello/ad";

/// Largest version-2 hello body: flags and a grant.
const MAX_BODY_BYTES: usize = 1 + SIGNATURE_BYTES;

/// A version-2 hello, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LegacyHello {
    topic: [u8; TOPIC_BYTES],
    device: [u8; PUBLIC_KEY_BYTES],
    salt: [u8; SESSION_SALT_BYTES],
    nonce: [u8; NONCE_BYTES],
    ciphertext: Vec<u8>,
    device_sig: [u8; SIGNATURE_BYTES],
}

impl LegacyHello {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = self.encode_unsigned();
        out.extend_from_slice(&self.device_sig);
        out
    }

    /// Parses the bytes of a hello whose header says version 2 (the caller checked the
    /// header and the size).
    pub(super) fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let short = EnvelopeError::Malformed("hello is too short");
        let mut reader = Reader::new(bytes);
        reader.u8().ok_or(short.clone())?;
        let topic = reader.array().ok_or(short.clone())?;
        let device = reader.array().ok_or(short.clone())?;
        let salt = reader.array().ok_or(short.clone())?;
        let nonce = reader.array().ok_or(short.clone())?;
        let device_sig = reader.last_array().ok_or(short)?;
        let ciphertext = reader.rest();
        if ciphertext.len() < AEAD_TAG_BYTES || ciphertext.len() > MAX_BODY_BYTES + AEAD_TAG_BYTES {
            return Err(EnvelopeError::Malformed(
                "hello body has an impossible length",
            ));
        }
        Ok(Self {
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
        out.push(header_byte(LEGACY_HELLO_VERSION, KIND_HELLO));
        out.extend_from_slice(&self.topic);
        out.extend_from_slice(&self.device);
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    fn associated_data(&self, doc_id: &[u8]) -> Vec<u8> {
        [
            HELLO_AD_DOMAIN,
            doc_id,
            &[header_byte(LEGACY_HELLO_VERSION, KIND_HELLO)],
            &self.topic,
            &self.device,
            &self.salt,
        ]
        .concat()
    }
}

fn signed_message(doc_id: &[u8], unsigned: &[u8]) -> Vec<u8> {
    [HELLO_SIGNATURE_DOMAIN, doc_id, unsigned].concat()
}

/// Opens a version-2 hello as version 2 did. Checks, in order: topic, device signature,
/// decryption, body, write grant.
pub(super) fn open(
    keys: &DocKeys,
    hello: &LegacyHello,
    expected_topic: &[u8; TOPIC_BYTES],
) -> Result<RemoteSession, EnvelopeError> {
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
    let ad = hello.associated_data(keys.doc_id());
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
    use crate::hello::{Hello, open_hello};
    use crate::{DeviceIdentity, LocalSession, SessionBook, receive};

    /// A version-2 hello of `session`, sealed exactly as builds before version 3 did.
    fn seal_v2(session: &LocalSession) -> Vec<u8> {
        let keys = session.keys();
        let mut body = vec![0];
        if let Some(grant) = session.grant() {
            body = vec![FLAG_GRANT];
            body.extend_from_slice(&grant.0);
        }
        let mut hello = LegacyHello {
            topic: keys.topic(),
            device: session.identity().public_key().to_bytes(),
            salt: *session.salt(),
            nonce: rand::random(),
            ciphertext: Vec::new(),
            device_sig: [0; SIGNATURE_BYTES],
        };
        let ad = hello.associated_data(keys.doc_id());
        hello.ciphertext = cipher::encrypt(keys.read_key(), &hello.nonce, &ad, &body).unwrap();
        hello.device_sig = session
            .identity()
            .sign(&signed_message(keys.doc_id(), &hello.encode_unsigned()));
        hello.encode()
    }

    #[test]
    fn a_version_2_hello_from_an_older_build_still_opens_its_session() {
        let (keys, _) = DocKeys::generate();
        let identity = DeviceIdentity::generate();
        for keys in [keys.clone(), keys.read_only()] {
            let mut session = LocalSession::start(&identity, &keys);
            let bytes = seal_v2(&session);
            assert_eq!(bytes.first(), Some(&0x23));
            let hello = Hello::decode(&bytes).unwrap();
            assert_eq!(hello.version(), LEGACY_HELLO_VERSION);
            assert_eq!(hello.encode(), bytes);
            // Its messages (version 2, unchanged) open once its hello is in the book.
            let mut book = SessionBook::new();
            receive(&keys, &mut book, &bytes, &keys.topic()).unwrap();
            let message = session.seal(1, crate::Kind::Awareness, b"here").unwrap();
            assert!(receive(&keys, &mut book, &message.encode(), &keys.topic()).is_ok());
            let remote = open_hello(&keys, &hello, &keys.topic()).unwrap();
            assert_eq!(remote.is_writer(), keys.write_key().is_some());
        }
    }

    #[test]
    fn a_tampered_version_2_hello_is_refused() {
        let (keys, _) = DocKeys::generate();
        let bytes = seal_v2(&LocalSession::start(&DeviceIdentity::generate(), &keys));
        for index in 0..bytes.len() {
            let mut tampered = bytes.clone();
            if let Some(byte) = tampered.get_mut(index) {
                *byte ^= 0x01;
            }
            let result =
                Hello::decode(&tampered).and_then(|hello| open_hello(&keys, &hello, &keys.topic()));
            assert!(result.is_err(), "byte {index} of the hello");
        }
        let (other, _) = DocKeys::generate();
        let hello = Hello::decode(&bytes).unwrap();
        assert_eq!(
            open_hello(&other, &hello, &other.topic()),
            Err(EnvelopeError::WrongTopic)
        );
    }
}
