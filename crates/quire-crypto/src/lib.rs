//! `quire-crypto`: who a device is, who may read and write a document, and the sealed
//! messages and invite tickets that carry that over an untrusted network.
//!
//! Sans-io: nothing here opens a socket or keeps a clock. The only file it touches is
//! the device key ([`DeviceIdentity::load_or_create`]).
//!
//! # The pieces
//!
//! - [`DeviceIdentity`]: the device's ed25519 key; its public key is the libp2p
//!   [`PeerId`]. Kept in `device.key` (libp2p's protobuf encoding, mode 0600) in the
//!   data directory.
//! - [`DocKeys`]: per document, a symmetric [`ReadKey`] (XChaCha20-Poly1305) every member
//!   holds, the writer public key everyone can check, and for editors the [`WriteKey`]
//!   (an ed25519 signing key). A new document's id is its writer public key.
//!   [`topic_for`] gives the gossipsub topic `blake3("quire/doc/" ‖ id)`.
//! - [`LocalSession`], [`Hello`], [`Envelope`]: sealing. [`SessionBook`], [`receive`],
//!   [`open`]: opening. [`ReplayWindow`]: dropping repeats.
//! - [`Ticket`]: an invite, `quire://join/<base32>` or the bare base32 text.
//!
//! # The flow
//!
//! ```
//! use quire_crypto::{
//!     receive, DeviceIdentity, DocKeys, EnvelopeError, Kind, LocalSession, Received,
//!     ReplayWindow, SessionBook, Ticket,
//! };
//!
//! // Alice creates a document and invites Bob to read it.
//! let alice = DeviceIdentity::generate(); // real devices: DeviceIdentity::load_or_create(dir)
//! let (keys, _doc_id) = DocKeys::generate();
//! let link = Ticket::new(keys.read_only(), vec!["/dns4/relay.example.org/tcp/4001".into()])?
//!     .to_link();
//!
//! // Bob joins from the link and subscribes to the document's topic.
//! let bob = DeviceIdentity::generate();
//! let bob_keys = Ticket::parse(&link)?.keys().clone();
//! let topic = bob_keys.topic();
//!
//! // Alice opens the document: one hello per session, then small sealed messages.
//! let mut alice_session = LocalSession::start(&alice, &keys);
//! let hello = alice_session.hello()?.encode();
//! let update = alice_session.seal(1, Kind::Update, b"yrs update")?.encode();
//!
//! // Bob receives both; the hello teaches his session book who Alice's session is.
//! let mut bob_book = SessionBook::new();
//! receive(&bob_keys, &mut bob_book, &hello, &topic)?;
//! let Received::Message(opened) = receive(&bob_keys, &mut bob_book, &update, &topic)? else {
//!     panic!("expected a message");
//! };
//! assert_eq!((opened.sender, opened.plaintext.as_slice()), (alice.peer_id(), &b"yrs update"[..]));
//! let mut from_alice = ReplayWindow::new(); // one per sender
//! from_alice.accept(opened.seq)?;
//!
//! // Bob can follow the document, but his edits are refused by everyone.
//! let mut bob_session = LocalSession::start(&bob, &bob_keys);
//! let bob_hello = bob_session.hello()?.encode();
//! let bob_update = bob_session.seal(1, Kind::Update, b"sneaky edit")?.encode();
//! let mut alice_book = SessionBook::new();
//! receive(&keys, &mut alice_book, &bob_hello, &topic)?;
//! assert!(matches!(
//!     receive(&keys, &mut alice_book, &bob_update, &topic),
//!     Err(EnvelopeError::NotAWriter)
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Why sessions: per-message overhead
//!
//! A keystroke's yrs update is about 15 bytes, and the target is at most 100 bytes of
//! sealing and authentication on top. The obvious envelope (topic 32, sender peer id
//! 38, sequence number 8, nonce 24, AEAD tag 16, device signature 64, write signature
//! 64) adds 246. Two signatures alone are 128, and a signature plus the sender's key is
//! already 96, so the per-message fields that only need to be said once are said once,
//! in a [`Hello`] per *session* (one device's run on one document):
//!
//! - The hello carries the document's topic, the device's full public key, a fresh
//!   16-byte salt, and, if the device holds the write key, a **write grant**: the
//!   writer key's signature over (document id, device key); the device signs them all.
//!   Everything but a header byte and a random nonce is sealed under a key derived from
//!   the read key, signature included, so whoever hears a hello without that key learns
//!   neither the device nor the document, and cannot link two hellos of one device.
//! - A session's id is 8 bytes, `blake3(device key, salt)`, so no other device can
//!   claim that id without a 64-bit second preimage. The whole id is in every message's
//!   associated data and signed bytes; on the wire a message carries only its first two
//!   bytes, the *hint*, and a receiver tries the sessions it knows with that hint (one,
//!   nearly always; at most [`MAX_SESSIONS_PER_HINT`]). A message no session verifies
//!   is [`EnvelopeError::UnknownSession`], which a receiver must not penalise at once,
//!   since it may come from a session whose hello is still on the way. A member who
//!   makes sessions with another's hint can keep a reader's late session out of some
//!   receivers' books (until its next session), never a writer's: see
//!   [`MAX_SESSIONS_PER_HINT`].
//! - The nonce is derived from (device key, salt, sequence number), not sent. It stays
//!   unique even if a restored backup repeats sequence numbers, because every run has a
//!   new salt, and [`LocalSession::seal`] refuses a sequence number that does not rise.
//! - Topic, document id and device key are not sent either, but they are in the
//!   associated data and in the signed bytes, so a message cannot be moved to another
//!   document or credited to another device.
//!
//! A message is then header 1 (version and kind) + session hint 2 + varint sequence
//! number 1-10 + tag 16 + device signature 64: **84 bytes while the sequence number is
//! below 128, 85 below 16,384, 86 below two million, and never more than 93**
//! ([`MAX_MESSAGE_OVERHEAD`]). A 15-byte update seals into 99 bytes, 100 from the 128th
//! message of a session (checked by the
//! `a_keystroke_update_seals_to_at_most_100_bytes` integration test).
//!
//! Authorisation is still per message: every message is signed by its device, and an
//! update is accepted only from a session whose hello carried a grant the writer key
//! signed for that very device. A read-only member has the read key, so it can read,
//! send awareness and relay others' messages, but it cannot make a grant, cannot reuse
//! another device's grant (it names that device's key), and cannot sign as that device:
//! its updates fail with [`EnvelopeError::NotAWriter`] at every receiver, readers
//! included.
//!
//! Trade-offs of this choice:
//!
//! - A receiver must have a session's hello before its messages
//!   ([`EnvelopeError::UnknownSession`] otherwise). Send the hello before the first
//!   message, again when a peer subscribes, and on request; a relay mailbox must keep a
//!   session's hello (first byte 0x33, [`HELLO_VERSION`] and kind 3; 0x23 from builds
//!   before it, still opened) while it keeps that session's messages. Hellos are 186
//!   bytes from a reader, 250 from a writer ([`MAX_HELLO_BYTES`]).
//! - A [`SessionBook`] is bounded ([`MAX_SESSIONS`], [`MAX_SESSIONS_PER_DEVICE`]); a
//!   forgotten session needs its hello again.
//! - Revoking write access still means rotating the write key (new grants); the same is
//!   true with a write signature on every message.
//! - The AEAD tag is redundant next to the signature (which covers the ciphertext) but
//!   is kept: it is 16 bytes, and it means a wrong key is reported as such.
//!
//! # On the network
//!
//! Messages authenticate themselves, so gossipsub can run with anonymous message
//! authenticity and a content-hash message id: its own signed mode would add the source
//! peer id, a sequence number and a second signature, over 100 bytes per message.
//!
//! Check a [`ReplayWindow`] *after* [`open`] succeeds, keyed by [`Opened::sender`] when
//! sequence numbers keep rising across runs (persist the last one per device and
//! document), or by [`Opened::session`] when they restart with each session.

mod base32;
mod cipher;
mod codec;
mod doc_keys;
mod envelope;
mod error;
mod hello;
mod identity;
mod mailbox_key;
mod replay;
mod session;
mod ticket;

pub use cipher::{AEAD_TAG_BYTES, NONCE_BYTES};
pub use doc_keys::{
    DOC_ID_BYTES, DocKeys, READ_KEY_BYTES, ReadKey, Role, TOPIC_BYTES, WRITE_KEY_BYTES, WriteGrant,
    WriteKey, WriterPublicKey, topic_for, topic_name,
};
pub use envelope::{
    ENVELOPE_VERSION, Envelope, Kind, MAX_ENVELOPE_BYTES, MAX_MESSAGE_OVERHEAD,
    MAX_PLAINTEXT_BYTES, Opened, Received, Sealed, open, receive,
};
pub use error::{EnvelopeError, IdentityError, KeyError, ReplayError, TicketError};
pub use hello::{HELLO_VERSION, Hello, LEGACY_HELLO_VERSION, MAX_HELLO_BYTES, open_hello};
pub use identity::{
    DeviceIdentity, DevicePublicKey, KEY_FILE_NAME, MAX_KEY_FILE_BYTES, PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
};
pub use libp2p_identity::PeerId;
pub use mailbox_key::{MAILBOX_PUBLIC_KEY_BYTES, MAILBOX_SIGNATURE_BYTES, MailboxKey};
pub use replay::{REPLAY_WINDOW, ReplayWindow};
pub use session::{
    LocalSession, MAX_SESSIONS, MAX_SESSIONS_PER_DEVICE, MAX_SESSIONS_PER_HINT, RemoteSession,
    SESSION_HINT_BYTES, SESSION_ID_BYTES, SESSION_SALT_BYTES, SessionBook, SessionHint, SessionId,
};
pub use ticket::{
    MAX_TICKET_ADDR_BYTES, MAX_TICKET_ADDRS, MAX_TICKET_CHARS, TICKET_CHECKSUM_BYTES,
    TICKET_LINK_PREFIX, TICKET_VERSION, Ticket,
};
