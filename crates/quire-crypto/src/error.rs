//! The crate's error types, one per concern.

use std::path::PathBuf;

use crate::session::SessionHint;

/// Why the device identity could not be loaded or created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Reading or writing the key file (or its directory) failed.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// What was being done, e.g. "read".
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The key file can be read or written by other users of this computer.
    #[error(
        "the device key file {} can be accessed by other users (mode {mode:03o}); \
         make it private with `chmod 600 {}` and start again",
        .path.display(),
        .path.display()
    )]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file exists but does not hold an ed25519 device key.
    #[error(
        "the device key file {} is not a valid Quire device key ({reason}); \
         restore it from a backup, or move it away to start this device with a new identity",
        .path.display()
    )]
    BadKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why a set of document keys is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The bytes are not an ed25519 public key.
    #[error("the document's writer key is not a valid ed25519 public key")]
    InvalidWriterKey,
    /// The bytes are not an ed25519 secret key.
    #[error("the document's write key is not a valid ed25519 secret key")]
    InvalidWriteKey,
    /// The write key given does not belong to the document's writer public key.
    #[error("the write key does not match this document's writer public key")]
    WriteKeyMismatch,
}

/// Why a sealed envelope or session hello was not sealed or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The sealed bytes are larger than [`crate::MAX_ENVELOPE_BYTES`].
    #[error("sealed message of {size} bytes is larger than the limit of {limit} bytes")]
    TooLarge {
        /// Size of the rejected message.
        size: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// The plaintext to seal is larger than [`crate::MAX_PLAINTEXT_BYTES`]; split it.
    #[error(
        "plaintext of {size} bytes is larger than the limit of {limit} bytes; send it in chunks"
    )]
    PlaintextTooLarge {
        /// Size of the plaintext.
        size: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// The bytes are not a sealed message of the format they claim.
    #[error("malformed sealed message: {0}")]
    Malformed(&'static str),
    /// The message was sealed by a format version this build does not know.
    #[error("sealed message uses format version {0}, which this version of Quire cannot read")]
    UnsupportedVersion(u8),
    /// The message belongs to a different document topic than the one it arrived on.
    #[error("sealed message belongs to a different document than the topic it arrived on")]
    WrongTopic,
    /// No session hello for this message's session has been accepted yet.
    #[error("message from unknown session {0}; its session hello has not been received yet")]
    UnknownSession(SessionHint),
    /// The sender's device signature does not verify: the message was altered or forged.
    #[error("device signature does not verify: the message was altered or forged")]
    BadDeviceSignature,
    /// An update from a session without a valid write grant.
    #[error("update from a device that has no write access to this document")]
    NotAWriter,
    /// A session hello carries a write grant that the document's writer key did not sign.
    #[error("session hello carries a write grant that does not verify")]
    BadWriteGrant,
    /// Decryption failed: the message was sealed with a different document key.
    #[error("cannot decrypt: the message was sealed with a different document key")]
    Undecryptable,
    /// Sealing with a sequence number not above the session's last one would reuse a nonce.
    #[error("sequence number {seq} is not above the last one sealed in this session ({last})")]
    SeqNotIncreasing {
        /// The sequence number asked for.
        seq: u64,
        /// The last sequence number this session sealed.
        last: u64,
    },
}

/// Why a message's sequence number is refused by a [`crate::ReplayWindow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// This sequence number was already accepted.
    #[error("message {0} was already received")]
    Duplicate(u64),
    /// The sequence number is too far behind the newest one to be tracked.
    #[error("message {seq} is too old (newest is {highest})")]
    TooOld {
        /// The refused sequence number.
        seq: u64,
        /// The highest sequence number accepted so far.
        highest: u64,
    },
}

/// Why text is not a valid invite ticket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TicketError {
    /// The text is neither a `quire://join/` link nor a plain ticket.
    #[error("this is not a Quire invite (expected a quire://join/… link or its text)")]
    NotAQuireLink,
    /// The text is longer than any valid ticket.
    #[error("invite text of {len} bytes is longer than any invite ({limit} bytes)")]
    TooLong {
        /// Length of the text in bytes.
        len: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// A character outside the ticket alphabet (a-z, 2-7).
    #[error("invite has an invalid character {found:?} at position {position}; check for a typo")]
    BadCharacter {
        /// Position of the character after the link prefix, counted in characters
        /// and ignoring whitespace.
        position: usize,
        /// The character found.
        found: char,
    },
    /// The ticket is cut off.
    #[error("invite is incomplete; copy the whole link again")]
    Truncated,
    /// The ticket has extra data after its end.
    #[error("invite has extra characters at the end; copy exactly the link")]
    TrailingBytes,
    /// The checksum does not match: a character was mistyped.
    #[error("invite checksum does not match: it was mistyped or altered; copy the link again")]
    BadChecksum,
    /// The ticket was made by a newer (or unknown) version of Quire.
    #[error(
        "invite uses format version {0}, which this version of Quire cannot read; update Quire"
    )]
    UnknownVersion(u8),
    /// The role byte is neither read nor write.
    #[error("invite grants an unknown role ({0})")]
    BadRole(u8),
    /// More addresses than [`crate::MAX_TICKET_ADDRS`].
    #[error("invite lists {count} addresses; at most {limit} are allowed")]
    TooManyAddresses {
        /// Number of addresses.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// An address longer than [`crate::MAX_TICKET_ADDR_BYTES`].
    #[error("invite address of {len} bytes is longer than the limit of {limit}")]
    AddressTooLong {
        /// Length of the address in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// An address that is empty or not printable ASCII.
    #[error("invite address is empty or contains characters a multiaddr cannot have")]
    BadAddress,
    /// A well-formed frame around contents no version of Quire writes.
    #[error("invite is malformed: {0}")]
    Malformed(&'static str),
    /// The keys inside the ticket are inconsistent.
    #[error("invite keys are invalid: {0}")]
    BadKeys(#[from] KeyError),
}
