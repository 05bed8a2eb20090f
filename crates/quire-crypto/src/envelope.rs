//! Sealed envelopes: every update and awareness message on a document's topic, in its
//! mailbox and in catch-up, encrypted under the read key and signed by the sender's
//! device key.
//!
//! Wire layout (version 2):
//!
//! | bytes  | field                                                         |
//! |--------|---------------------------------------------------------------|
//! | 1      | header: version (2) in the high four bits, kind in the low four |
//! |        | (1 = update, 2 = awareness, 4 = sync; 3 is a [`crate::Hello`], |
//! |        | which has its own version)                                    |
//! | 2      | session hint: the first two bytes of the session id           |
//! | 1-10   | sequence number, minimal LEB128 varint                        |
//! | n+16   | XChaCha20-Poly1305 ciphertext with tag                        |
//! | 64     | device signature                                              |
//!
//! The nonce is not sent: it is derived from the session's salt, the device key and the
//! sequence number. The associated data binds version, kind, document id, topic, device
//! key, the whole session id and sequence number; the signature covers the same plus
//! the ciphertext. A receiver finds the session by trying those it knows with the
//! message's hint (see [`SessionBook`]): only the right one verifies.
//!
//! Version 1 wrote version and kind as a byte each and the whole 8-byte session id; a
//! version-1 message is refused as [`EnvelopeError::UnsupportedVersion`]`(1)`.

use libp2p_identity::PeerId;

use crate::cipher::{self, AEAD_TAG_BYTES};
use crate::codec::{self, MAX_VARINT_BYTES, Reader};
use crate::doc_keys::{DocKeys, TOPIC_BYTES};
use crate::error::EnvelopeError;
use crate::hello::{self, Hello};
use crate::identity::{DevicePublicKey, SIGNATURE_BYTES};
use crate::session::{
    LocalSession, RemoteSession, SESSION_HINT_BYTES, SessionBook, SessionHint, SessionId,
};

/// Format version of the messages written by this build (hellos have their own,
/// [`crate::HELLO_VERSION`]).
pub const ENVELOPE_VERSION: u8 = 2;

/// Largest sealed message accepted, checked before anything is decoded: the largest
/// payload any transport carries (8 MiB, a relay mailbox item or a catch-up payload),
/// so a document's state up to nearly that size goes to a relay as one sealed update.
/// Gossip and catch-up chunks are far smaller (their transports cap them); callers
/// split larger payloads.
pub const MAX_ENVELOPE_BYTES: usize = 8 * 1024 * 1024;

/// Most bytes sealing adds to a plaintext: header, session hint, the longest varint, the
/// AEAD tag and the signature. Typical messages (sequence numbers below 2^21) add
/// 83 + 1..3 bytes.
pub const MAX_MESSAGE_OVERHEAD: usize =
    1 + SESSION_HINT_BYTES + MAX_VARINT_BYTES + AEAD_TAG_BYTES + SIGNATURE_BYTES;

/// Largest plaintext [`LocalSession::seal`] accepts.
pub const MAX_PLAINTEXT_BYTES: usize = MAX_ENVELOPE_BYTES - MAX_MESSAGE_OVERHEAD;

pub(crate) const KIND_UPDATE: u8 = 1;
pub(crate) const KIND_AWARENESS: u8 = 2;
pub(crate) const KIND_HELLO: u8 = 3;
pub(crate) const KIND_SYNC: u8 = 4;

const MESSAGE_SIGNATURE_DOMAIN: &[u8] = b"quire/v1/message/signature";
const MESSAGE_AD_DOMAIN: &[u8] = b"quire/v1/message/ad";

/// What a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A CRDT update; accepted only from sessions with a write grant.
    Update,
    /// Presence: name, colour, cursor; accepted from every member.
    Awareness,
    /// A catch-up request (a state vector); accepted from every member. The answer
    /// carries document content and is sealed as [`Kind::Update`].
    Sync,
}

/// The first byte of a message or hello: `version` in the high four bits, `kind` in the
/// low four.
pub(crate) fn header_byte(version: u8, kind: u8) -> u8 {
    (version << 4) | (kind & 0x0f)
}

/// The kind in a first byte, if its version is [`ENVELOPE_VERSION`].
pub(crate) fn kind_in_header(byte: u8) -> Result<u8, EnvelopeError> {
    match byte >> 4 {
        ENVELOPE_VERSION => Ok(byte & 0x0f),
        // Version 1 wrote its version as the whole first byte.
        0 => Err(EnvelopeError::UnsupportedVersion(byte)),
        version => Err(EnvelopeError::UnsupportedVersion(version)),
    }
}

impl Kind {
    fn to_wire(self) -> u8 {
        match self {
            Kind::Update => KIND_UPDATE,
            Kind::Awareness => KIND_AWARENESS,
            Kind::Sync => KIND_SYNC,
        }
    }

    fn from_wire(byte: u8) -> Option<Self> {
        match byte {
            KIND_UPDATE => Some(Kind::Update),
            KIND_AWARENESS => Some(Kind::Awareness),
            KIND_SYNC => Some(Kind::Sync),
            _ => None,
        }
    }
}

/// A sealed message, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Format version, [`ENVELOPE_VERSION`].
    pub version: u8,
    /// Update or awareness.
    pub kind: Kind,
    /// The sender's session (announced by its [`Hello`]), by the first bytes of its id.
    pub hint: SessionHint,
    /// The sender's sequence number.
    pub seq: u64,
    /// Ciphertext with the AEAD tag.
    pub ciphertext: Vec<u8>,
    /// The device signature over everything above (and the document, topic and key).
    pub device_sig: [u8; SIGNATURE_BYTES],
}

impl Envelope {
    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.encode_unsigned();
        out.extend_from_slice(&self.device_sig);
        out
    }

    /// Length of [`Envelope::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        1 + SESSION_HINT_BYTES
            + codec::varint_len(self.seq)
            + self.ciphertext.len()
            + SIGNATURE_BYTES
    }

    /// Parses wire bytes, checking size and shape (not signatures: see [`open`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        check_size(bytes)?;
        let short = EnvelopeError::Malformed("message is too short");
        let mut reader = Reader::new(bytes);
        let header = reader.u8().ok_or(short.clone())?;
        let kind = Kind::from_wire(kind_in_header(header)?)
            .ok_or(EnvelopeError::Malformed("unknown message kind"))?;
        let hint = SessionHint(reader.array().ok_or(short.clone())?);
        let seq = reader
            .varint()
            .ok_or(EnvelopeError::Malformed("bad sequence number"))?;
        let device_sig = reader.last_array().ok_or(short.clone())?;
        let ciphertext = reader.rest();
        if ciphertext.len() < AEAD_TAG_BYTES {
            return Err(short);
        }
        Ok(Self {
            version: ENVELOPE_VERSION,
            kind,
            hint,
            seq,
            ciphertext: ciphertext.to_vec(),
            device_sig,
        })
    }

    fn header(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.push(header_byte(self.version, self.kind.to_wire()));
        out.extend_from_slice(&self.hint.0);
        codec::put_varint(&mut out, self.seq);
        out
    }

    fn encode_unsigned(&self) -> Vec<u8> {
        let mut out = self.header();
        out.extend_from_slice(&self.ciphertext);
        out
    }
}

fn check_size(bytes: &[u8]) -> Result<(), EnvelopeError> {
    if bytes.len() > MAX_ENVELOPE_BYTES {
        return Err(EnvelopeError::TooLarge {
            size: bytes.len(),
            limit: MAX_ENVELOPE_BYTES,
        });
    }
    Ok(())
}

/// What the document, topic, sender and session add to both the associated data and
/// the signed message: they are never sent (the session only by its hint), but a message
/// cannot be moved to another document or attributed to another device or session.
fn context(
    domain: &[u8],
    doc_id: &[u8],
    topic: &[u8],
    device: &DevicePublicKey,
    session: &SessionId,
    rest: &[u8],
) -> Vec<u8> {
    [domain, doc_id, topic, &device.to_bytes(), &session.0, rest].concat()
}

pub(crate) fn seal(
    session: &LocalSession,
    seq: u64,
    kind: Kind,
    plaintext: &[u8],
) -> Result<Envelope, EnvelopeError> {
    if plaintext.len() > MAX_PLAINTEXT_BYTES {
        return Err(EnvelopeError::PlaintextTooLarge {
            size: plaintext.len(),
            limit: MAX_PLAINTEXT_BYTES,
        });
    }
    let keys = session.keys();
    let identity = session.identity();
    let device = identity.public_key();
    let topic = keys.topic();
    let mut envelope = Envelope {
        version: ENVELOPE_VERSION,
        kind,
        hint: session.id().hint(),
        seq,
        ciphertext: Vec::new(),
        device_sig: [0; SIGNATURE_BYTES],
    };
    let nonce = cipher::message_nonce(&device, session.salt(), seq);
    let ad = context(
        MESSAGE_AD_DOMAIN,
        keys.doc_id(),
        &topic,
        &device,
        &session.id(),
        &envelope.header(),
    );
    envelope.ciphertext = cipher::encrypt(keys.read_key(), &nonce, &ad, plaintext)?;
    let signed = context(
        MESSAGE_SIGNATURE_DOMAIN,
        keys.doc_id(),
        &topic,
        &device,
        &session.id(),
        &envelope.encode_unsigned(),
    );
    envelope.device_sig = identity.sign(&signed);
    Ok(envelope)
}

/// A message that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The sending device.
    pub sender: PeerId,
    /// The sending device's public key.
    pub device: DevicePublicKey,
    /// The sender's session.
    pub session: SessionId,
    /// The sender's sequence number, for the caller's [`ReplayWindow`](crate::ReplayWindow).
    pub seq: u64,
    /// Update or awareness.
    pub kind: Kind,
    /// The decrypted payload.
    pub plaintext: Vec<u8>,
    /// Whether the sender's session holds a valid write grant.
    pub from_writer: bool,
}

/// Verifies and decrypts a message that arrived on `expected_topic`.
///
/// Checks, in order: version, topic of the keys, a known session with the message's
/// hint whose topic is this one and whose device signature verifies (each such session
/// in turn, at most [`crate::MAX_SESSIONS_PER_HINT`]; none is
/// [`EnvelopeError::UnknownSession`], whether the message is forged, altered or from a
/// session not yet announced), write access (updates only), decryption. Replays are
/// the caller's to reject, with [`Opened::session`] and [`Opened::seq`].
pub fn open(
    keys: &DocKeys,
    sessions: &SessionBook,
    envelope: &Envelope,
    expected_topic: &[u8; TOPIC_BYTES],
) -> Result<Opened, EnvelopeError> {
    if envelope.version != ENVELOPE_VERSION {
        return Err(EnvelopeError::UnsupportedVersion(envelope.version));
    }
    if keys.topic() != *expected_topic {
        return Err(EnvelopeError::WrongTopic);
    }
    let unsigned = envelope.encode_unsigned();
    // No session of this topic with the hint verifies: the message may come from one
    // whose hello has not arrived, its hint shared by chance (or on purpose, by a
    // member who made sessions with that hint) with sessions known here. Reported as
    // unknown: penalising its forwarder here would let such a member get honest
    // forwarders penalised. Blame needs more than this function knows (quire-node
    // asks the forwarder to show the hello first). An altered message is refused all
    // the same.
    for session in sessions
        .with_hint(envelope.hint)
        .filter(|session| session.topic() == expected_topic)
    {
        let device = session.device();
        let signed = context(
            MESSAGE_SIGNATURE_DOMAIN,
            keys.doc_id(),
            expected_topic,
            device,
            &session.id(),
            &unsigned,
        );
        if device.verify(&signed, &envelope.device_sig) {
            return open_verified(keys, session, envelope, expected_topic);
        }
    }
    Err(EnvelopeError::UnknownSession(envelope.hint))
}

/// The rest of [`open`], once `session` is known to have signed `envelope`.
fn open_verified(
    keys: &DocKeys,
    session: &RemoteSession,
    envelope: &Envelope,
    expected_topic: &[u8; TOPIC_BYTES],
) -> Result<Opened, EnvelopeError> {
    if envelope.kind == Kind::Update && !session.is_writer() {
        return Err(EnvelopeError::NotAWriter);
    }
    let device = session.device();
    let nonce = cipher::message_nonce(device, session.salt(), envelope.seq);
    let ad = context(
        MESSAGE_AD_DOMAIN,
        keys.doc_id(),
        expected_topic,
        device,
        &session.id(),
        &envelope.header(),
    );
    let plaintext = cipher::decrypt(keys.read_key(), &nonce, &ad, &envelope.ciphertext)?;
    Ok(Opened {
        sender: session.peer_id(),
        device: device.clone(),
        session: session.id(),
        seq: envelope.seq,
        kind: envelope.kind,
        plaintext,
        from_writer: session.is_writer(),
    })
}

/// Anything sealed on a document's topic: a session hello or a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sealed {
    /// A session announcement.
    Hello(Hello),
    /// An update or awareness message.
    Message(Envelope),
}

impl Sealed {
    /// Parses wire bytes of either kind.
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        check_size(bytes)?;
        match bytes {
            [] => Err(EnvelopeError::Malformed("empty message")),
            // Hellos carry their own version (see [`crate::HELLO_VERSION`]).
            [header, ..] if header & 0x0f == KIND_HELLO => Hello::decode(bytes).map(Sealed::Hello),
            _ => Envelope::decode(bytes).map(Sealed::Message),
        }
    }

    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Sealed::Hello(hello) => hello.encode(),
            Sealed::Message(envelope) => envelope.encode(),
        }
    }
}

impl From<Hello> for Sealed {
    fn from(hello: Hello) -> Self {
        Sealed::Hello(hello)
    }
}

impl From<Envelope> for Sealed {
    fn from(envelope: Envelope) -> Self {
        Sealed::Message(envelope)
    }
}

/// What [`receive`] made of some bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A verified session hello, now in the session book.
    Session {
        /// The session.
        session: RemoteSession,
        /// Whether the book did not know it before.
        is_new: bool,
    },
    /// A verified, decrypted message.
    Message(Opened),
}

/// Decodes, verifies and opens bytes that arrived on `expected_topic`: hellos go into
/// `sessions`, messages are opened against it.
pub fn receive(
    keys: &DocKeys,
    sessions: &mut SessionBook,
    bytes: &[u8],
    expected_topic: &[u8; TOPIC_BYTES],
) -> Result<Received, EnvelopeError> {
    match Sealed::decode(bytes)? {
        Sealed::Hello(hello) => {
            let session = hello::open_hello(keys, &hello, expected_topic)?;
            let is_new = sessions.insert(session.clone());
            Ok(Received::Session { session, is_new })
        }
        Sealed::Message(envelope) => {
            open(keys, sessions, &envelope, expected_topic).map(Received::Message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceIdentity;

    #[test]
    fn overhead_constant_is_within_the_budget() {
        assert_eq!(MAX_MESSAGE_OVERHEAD, 93);
    }

    #[test]
    fn encoded_len_matches_encode() {
        let (keys, _) = DocKeys::generate();
        let mut session = LocalSession::start(&DeviceIdentity::generate(), &keys);
        for seq in [0, 1, 127, 128, 1 << 40, u64::MAX] {
            let envelope = session.seal(seq, Kind::Awareness, b"abc").unwrap();
            assert_eq!(envelope.encode().len(), envelope.encoded_len());
            assert_eq!(Envelope::decode(&envelope.encode()).unwrap(), envelope);
        }
    }

    #[test]
    fn oversized_input_is_refused_before_decoding() {
        let bytes = vec![ENVELOPE_VERSION; MAX_ENVELOPE_BYTES + 1];
        let expected = EnvelopeError::TooLarge {
            size: MAX_ENVELOPE_BYTES + 1,
            limit: MAX_ENVELOPE_BYTES,
        };
        assert_eq!(Sealed::decode(&bytes), Err(expected.clone()));
        assert_eq!(Envelope::decode(&bytes), Err(expected.clone()));
        assert_eq!(
            Hello::decode(&bytes),
            Err(EnvelopeError::TooLarge {
                size: MAX_ENVELOPE_BYTES + 1,
                limit: crate::MAX_HELLO_BYTES,
            })
        );
        let (keys, _) = DocKeys::generate();
        let mut session = LocalSession::start(&DeviceIdentity::generate(), &keys);
        let too_big = vec![0; MAX_PLAINTEXT_BYTES + 1];
        assert!(matches!(
            session.seal(1, Kind::Update, &too_big),
            Err(EnvelopeError::PlaintextTooLarge { .. })
        ));
        let largest = session.seal(2, Kind::Update, &too_big[1..]).unwrap();
        assert!(largest.encoded_len() <= MAX_ENVELOPE_BYTES);
    }

    #[test]
    fn unknown_versions_and_kinds_are_named() {
        // A version-1 message: version and kind a byte each.
        assert_eq!(
            Sealed::decode(&[1, 1, 0]),
            Err(EnvelopeError::UnsupportedVersion(1))
        );
        assert_eq!(
            Sealed::decode(&[0x31, 0, 0]),
            Err(EnvelopeError::UnsupportedVersion(3))
        );
        assert_eq!(
            Sealed::decode(&[0x29, 0, 0]),
            Err(EnvelopeError::Malformed("unknown message kind"))
        );
        assert!(matches!(
            Sealed::decode(&[]),
            Err(EnvelopeError::Malformed(_))
        ));
        assert!(matches!(
            Sealed::decode(&[header_byte(crate::HELLO_VERSION, KIND_HELLO)]),
            Err(EnvelopeError::Malformed(_))
        ));
    }
}
