//! Invite tickets: a document id, the keys for the role granted and a few addresses to
//! reach the document's peers or relays, as a `quire://join/…` link or its plain text.
//!
//! Binary layout (version 1). Every version keeps the frame: version byte, total length,
//! body, checksum.
//!
//! | bytes | field                                                              |
//! |-------|--------------------------------------------------------------------|
//! | 1     | version (1)                                                        |
//! | 2     | total length in bytes, big-endian, checksum included               |
//! | 1     | role (1 = read, 2 = write)                                         |
//! | 32    | document id                                                        |
//! | 32    | read key                                                           |
//! | 32    | write: the write key's secret                                      |
//! | 1(+32)| read: 0 if the document id is the writer key, else 1 and the key   |
//! | 1     | number of addresses                                                |
//! | 1+n   | each address: length, then UTF-8 (printable ASCII) bytes           |
//! | 4     | checksum: first bytes of a BLAKE3 hash of everything before it     |
//!
//! The text form is the bytes in lowercase base32 without padding. Parsing accepts either
//! case, surrounding and embedded whitespace, and the link prefix or none.

use std::fmt;
use std::str::FromStr;

use crate::base32;
use crate::codec::Reader;
use crate::doc_keys::{
    DOC_ID_BYTES, DocKeys, READ_KEY_BYTES, ReadKey, Role, WRITE_KEY_BYTES, WriteKey,
    WriterPublicKey,
};
use crate::error::TicketError;

/// Format version of tickets written by this build.
pub const TICKET_VERSION: u8 = 1;

/// The link form's prefix.
pub const TICKET_LINK_PREFIX: &str = "quire://join/";

/// Most addresses a ticket carries: a couple of relays and a couple of peers is plenty.
pub const MAX_TICKET_ADDRS: usize = 8;

/// Longest address, in bytes; a relayed multiaddr with two peer ids is about 150.
pub const MAX_TICKET_ADDR_BYTES: usize = 255;

/// Length of the checksum that catches typos.
pub const TICKET_CHECKSUM_BYTES: usize = 4;

/// Longest text [`Ticket::parse`] looks at; a full ticket is under 3,500 characters.
pub const MAX_TICKET_CHARS: usize = 4096;

const ROLE_READ: u8 = 1;
const ROLE_WRITE: u8 = 2;
const WRITER_IS_DOC_ID: u8 = 0;
const WRITER_FOLLOWS: u8 = 1;
/// Version byte plus the length field.
const FRAME_HEAD_BYTES: usize = 3;
const CHECKSUM_CONTEXT: &str = "quire 2025-06 ticket checksum v1";

/// An invitation to a document.
#[derive(Clone, Debug)]
pub struct Ticket {
    keys: DocKeys,
    addrs: Vec<String>,
}

impl Ticket {
    /// A ticket granting the role of `keys` (pass [`DocKeys::read_only`] for a read
    /// invite) with addresses to try; at most [`MAX_TICKET_ADDRS`], each at most
    /// [`MAX_TICKET_ADDR_BYTES`] of printable ASCII.
    pub fn new(keys: DocKeys, addrs: Vec<String>) -> Result<Self, TicketError> {
        check_addr_count(addrs.len())?;
        addrs
            .iter()
            .try_for_each(|addr| check_addr(addr.as_bytes()))?;
        Ok(Self { keys, addrs })
    }

    /// The format version this ticket is written in.
    pub fn version(&self) -> u8 {
        TICKET_VERSION
    }

    /// The document id.
    pub fn doc_id(&self) -> &[u8; DOC_ID_BYTES] {
        self.keys.doc_id()
    }

    /// The role granted.
    pub fn role(&self) -> Role {
        self.keys.role()
    }

    /// The keys granted.
    pub fn keys(&self) -> &DocKeys {
        &self.keys
    }

    /// The addresses to try, as multiaddr strings.
    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    /// Splits the ticket into its keys and addresses.
    pub fn into_parts(self) -> (DocKeys, Vec<String>) {
        (self.keys, self.addrs)
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![TICKET_VERSION, 0, 0];
        let doc_id = self.keys.doc_id();
        match self.keys.write_key() {
            Some(write) => {
                out.push(ROLE_WRITE);
                out.extend_from_slice(doc_id);
                out.extend_from_slice(&self.keys.read_key().to_bytes());
                out.extend_from_slice(&write.to_secret_bytes());
            }
            None => {
                out.push(ROLE_READ);
                out.extend_from_slice(doc_id);
                out.extend_from_slice(&self.keys.read_key().to_bytes());
                let writer = self.keys.writer().to_bytes();
                if writer == *doc_id {
                    out.push(WRITER_IS_DOC_ID);
                } else {
                    out.push(WRITER_FOLLOWS);
                    out.extend_from_slice(&writer);
                }
            }
        }
        // `new` bounds both, so these conversions never saturate.
        out.push(u8::try_from(self.addrs.len()).unwrap_or(u8::MAX));
        for addr in &self.addrs {
            out.push(u8::try_from(addr.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(addr.as_bytes());
        }
        seal_frame(out)
    }

    /// Frames `body` (version, two bytes for the length, the fields) as the binary
    /// form: sets its length and appends its checksum. Tickets are made with
    /// [`Ticket::to_bytes`]; this is public, and hidden, so that a fuzzer gets past the
    /// checksum to the fields' parser.
    #[doc(hidden)]
    pub fn frame(body: &[u8]) -> Vec<u8> {
        seal_frame(body.to_vec())
    }

    /// Parses the binary form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TicketError> {
        let body = check_frame(bytes)?;
        let mut reader = Reader::new(body);
        let version = reader.u8().ok_or(TicketError::Truncated)?;
        if version != TICKET_VERSION {
            return Err(TicketError::UnknownVersion(version));
        }
        reader.u16_be().ok_or(TicketError::Truncated)?;
        let role = reader.u8().ok_or(TicketError::Truncated)?;
        if role != ROLE_READ && role != ROLE_WRITE {
            return Err(TicketError::BadRole(role));
        }
        let doc_id: [u8; DOC_ID_BYTES] = reader.array().ok_or(TicketError::Truncated)?;
        let read = ReadKey::from_bytes(
            reader
                .array::<READ_KEY_BYTES>()
                .ok_or(TicketError::Truncated)?,
        );
        let keys = if role == ROLE_WRITE {
            let secret = reader
                .array::<WRITE_KEY_BYTES>()
                .ok_or(TicketError::Truncated)?;
            let write = WriteKey::from_secret_bytes(secret)?;
            DocKeys::new(doc_id, read, write.public(), Some(write))?
        } else {
            let writer = match reader.u8().ok_or(TicketError::Truncated)? {
                WRITER_IS_DOC_ID => doc_id,
                WRITER_FOLLOWS => reader.array().ok_or(TicketError::Truncated)?,
                _ => return Err(TicketError::Malformed("unknown writer key marker")),
            };
            DocKeys::new(doc_id, read, WriterPublicKey::from_bytes(&writer)?, None)?
        };
        let count = usize::from(reader.u8().ok_or(TicketError::Truncated)?);
        check_addr_count(count)?;
        let mut addrs = Vec::with_capacity(count);
        for _ in 0..count {
            let len = usize::from(reader.u8().ok_or(TicketError::Truncated)?);
            let addr = reader.bytes(len).ok_or(TicketError::Truncated)?;
            check_addr(addr)?;
            addrs.push(String::from_utf8(addr.to_vec()).map_err(|_| TicketError::BadAddress)?);
        }
        if !reader.is_empty() {
            return Err(TicketError::TrailingBytes);
        }
        Ok(Self { keys, addrs })
    }

    /// The plain text form: lowercase base32.
    pub fn to_text(&self) -> String {
        base32::encode(&self.to_bytes())
    }

    /// The link form: `quire://join/` and the text form.
    pub fn to_link(&self) -> String {
        format!("{TICKET_LINK_PREFIX}{}", self.to_text())
    }

    /// Parses a link or plain text ticket.
    pub fn parse(text: &str) -> Result<Self, TicketError> {
        if text.len() > MAX_TICKET_CHARS {
            return Err(TicketError::TooLong {
                len: text.len(),
                limit: MAX_TICKET_CHARS,
            });
        }
        let text = text.trim();
        let (body, is_link) = match strip_prefix_ignore_case(text, "quire://") {
            Some(rest) => match strip_prefix_ignore_case(rest, "join/") {
                Some(body) => (body, true),
                None => return Err(TicketError::NotAQuireLink),
            },
            None if text.is_empty() || text.contains("://") => {
                return Err(TicketError::NotAQuireLink);
            }
            None => (text, false),
        };
        let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let bytes = base32::decode(&compact).map_err(|bad| {
            let looks_like_text = compact.chars().any(|c| !c.is_ascii_alphanumeric());
            if !is_link && looks_like_text {
                TicketError::NotAQuireLink
            } else {
                TicketError::BadCharacter {
                    position: bad.position,
                    found: bad.found,
                }
            }
        })?;
        Self::from_bytes(&bytes)
    }
}

impl fmt::Display for Ticket {
    /// The link form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_link())
    }
}

impl FromStr for Ticket {
    type Err = TicketError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        text.get(prefix.len()..)
    } else {
        None
    }
}

/// Sets the length of a framed ticket without its checksum, and appends the checksum.
fn seal_frame(mut out: Vec<u8>) -> Vec<u8> {
    let total = u16::try_from(out.len() + TICKET_CHECKSUM_BYTES).unwrap_or(u16::MAX);
    if let Some(length) = out.get_mut(1..FRAME_HEAD_BYTES) {
        length.copy_from_slice(&total.to_be_bytes());
    }
    let sum = checksum(&out);
    out.extend_from_slice(&sum);
    out
}

fn checksum(bytes: &[u8]) -> [u8; TICKET_CHECKSUM_BYTES] {
    let mut hasher = blake3::Hasher::new_derive_key(CHECKSUM_CONTEXT);
    hasher.update(bytes);
    let mut out = [0; TICKET_CHECKSUM_BYTES];
    hasher.finalize_xof().fill(&mut out);
    out
}

fn checksum_ok(bytes: &[u8]) -> Option<&[u8]> {
    let (body, sum) = bytes.split_last_chunk::<TICKET_CHECKSUM_BYTES>()?;
    (checksum(body) == *sum).then_some(body)
}

/// Checks the frame (length and checksum), returning the bytes before the checksum.
///
/// When the checksum fails, the declared length tells a cut-off ticket and one with
/// extra characters apart from a mistyped one.
fn check_frame(bytes: &[u8]) -> Result<&[u8], TicketError> {
    let declared = match bytes.get(1..FRAME_HEAD_BYTES) {
        Some(&[high, low]) => usize::from(u16::from_be_bytes([high, low])),
        _ => return Err(TicketError::Truncated),
    };
    let body = checksum_ok(bytes);
    match body {
        Some(body) if declared == bytes.len() => Ok(body),
        Some(_) if declared > bytes.len() => Err(TicketError::Truncated),
        Some(_) => Err(TicketError::TrailingBytes),
        None if declared > bytes.len() => Err(TicketError::Truncated),
        None => match bytes.get(..declared).and_then(checksum_ok) {
            Some(_) if declared < bytes.len() => Err(TicketError::TrailingBytes),
            _ => Err(TicketError::BadChecksum),
        },
    }
}

fn check_addr_count(count: usize) -> Result<(), TicketError> {
    if count > MAX_TICKET_ADDRS {
        return Err(TicketError::TooManyAddresses {
            count,
            limit: MAX_TICKET_ADDRS,
        });
    }
    Ok(())
}

fn check_addr(addr: &[u8]) -> Result<(), TicketError> {
    if addr.len() > MAX_TICKET_ADDR_BYTES {
        return Err(TicketError::AddressTooLong {
            len: addr.len(),
            limit: MAX_TICKET_ADDR_BYTES,
        });
    }
    if addr.is_empty() || !addr.iter().all(u8::is_ascii_graphic) {
        return Err(TicketError::BadAddress);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELAY: &str =
        "/dns4/relay.example.org/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

    fn sample(role: Role) -> Ticket {
        let (keys, _) = DocKeys::generate();
        let keys = if role == Role::Read {
            keys.read_only()
        } else {
            keys
        };
        Ticket::new(
            keys,
            vec![
                RELAY.to_owned(),
                "/ip4/192.0.2.7/udp/4001/quic-v1".to_owned(),
            ],
        )
        .unwrap()
    }

    /// Frames a hand-made body with a correct length and checksum.
    fn framed(mut body: Vec<u8>) -> Vec<u8> {
        let total = (body.len() + TICKET_CHECKSUM_BYTES) as u16;
        body[1..3].copy_from_slice(&total.to_be_bytes());
        let sum = checksum(&body);
        body.extend_from_slice(&sum);
        body
    }

    fn assert_same(a: &Ticket, b: &Ticket) {
        assert_eq!(a.doc_id(), b.doc_id());
        assert_eq!(a.role(), b.role());
        assert_eq!(
            a.keys().read_key().to_bytes(),
            b.keys().read_key().to_bytes()
        );
        assert_eq!(a.keys().writer(), b.keys().writer());
        assert_eq!(
            a.keys().write_key().map(WriteKey::to_secret_bytes),
            b.keys().write_key().map(WriteKey::to_secret_bytes)
        );
        assert_eq!(a.addrs(), b.addrs());
    }

    #[test]
    fn round_trips_as_link_text_and_bytes() {
        for role in [Role::Read, Role::Write] {
            let ticket = sample(role);
            let link = ticket.to_link();
            assert!(link.starts_with(TICKET_LINK_PREFIX));
            assert_eq!(link, ticket.to_string());
            assert_eq!(link.to_ascii_lowercase(), link);
            assert_same(&ticket, &Ticket::parse(&link).unwrap());
            assert_same(&ticket, &ticket.to_text().parse().unwrap());
            assert_same(
                &ticket,
                &Ticket::parse(&format!("  {}\n", link.to_ascii_uppercase())).unwrap(),
            );
            assert_same(&ticket, &Ticket::from_bytes(&ticket.to_bytes()).unwrap());
            let wrapped: String = ticket
                .to_text()
                .chars()
                .enumerate()
                .flat_map(|(i, c)| if i % 60 == 59 { vec![c, '\n'] } else { vec![c] })
                .collect();
            assert_same(&ticket, &Ticket::parse(&wrapped).unwrap());
        }
    }

    #[test]
    fn read_ticket_with_a_separate_writer_key_round_trips() {
        let write = WriteKey::generate();
        let keys =
            DocKeys::new([3; DOC_ID_BYTES], ReadKey::generate(), write.public(), None).unwrap();
        let ticket = Ticket::new(keys, vec![]).unwrap();
        let parsed = Ticket::parse(&ticket.to_link()).unwrap();
        assert_same(&ticket, &parsed);
        assert_eq!(parsed.keys().writer(), &write.public());
    }

    #[test]
    fn a_read_ticket_does_not_contain_the_write_key() {
        let (keys, _) = DocKeys::generate();
        let secret = keys.write_key().unwrap().to_secret_bytes();
        let bytes = Ticket::new(keys.read_only(), vec![]).unwrap().to_bytes();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret));
        let bytes = Ticket::new(keys, vec![]).unwrap().to_bytes();
        assert!(bytes.windows(secret.len()).any(|w| w == secret));
    }

    #[test]
    fn other_links_and_text_are_not_quire_links() {
        for text in [
            "",
            "   ",
            "https://example.org/join/abc",
            "quire://open/abcd",
            "hello, world",
            "mailto:x@y",
        ] {
            assert_eq!(
                Ticket::parse(text).unwrap_err(),
                TicketError::NotAQuireLink,
                "{text:?}"
            );
        }
        assert_eq!(
            Ticket::parse("quire://join/abc1").unwrap_err(),
            TicketError::BadCharacter {
                position: 3,
                found: '1'
            }
        );
        assert_eq!(
            Ticket::parse("abcd8efg").unwrap_err(),
            TicketError::BadCharacter {
                position: 4,
                found: '8'
            }
        );
        let huge = "a".repeat(MAX_TICKET_CHARS + 1);
        assert!(matches!(
            Ticket::parse(&huge),
            Err(TicketError::TooLong { .. })
        ));
    }

    #[test]
    fn cut_off_and_extended_tickets_are_named() {
        let text = sample(Role::Write).to_text();
        for keep in [1, 4, 10, text.len() / 2, text.len() - 8] {
            assert_eq!(
                Ticket::parse(&text[..keep]).unwrap_err(),
                TicketError::Truncated,
                "kept {keep}"
            );
        }
        let bytes = sample(Role::Read).to_bytes();
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"xyz");
        assert_eq!(
            Ticket::from_bytes(&longer).unwrap_err(),
            TicketError::TrailingBytes
        );
    }

    #[test]
    fn every_single_character_typo_is_caught() {
        let ticket = sample(Role::Write);
        let text = ticket.to_text();
        let alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        let last = text.len() - 1;
        for (index, original) in text.char_indices() {
            for replacement in alphabet.chars().filter(|c| *c != original).step_by(7) {
                let mut typo = text.clone();
                typo.replace_range(index..index + 1, &replacement.to_string());
                match Ticket::parse(&typo) {
                    Err(_) => {}
                    // The last character also holds padding bits; changing only those
                    // leaves the bytes (and so the ticket) the same.
                    Ok(parsed) if index == last => assert_same(&ticket, &parsed),
                    Ok(_) => panic!("typo at {index} ({original} -> {replacement}) was accepted"),
                }
            }
        }
        let mut body_typo = text.clone();
        let middle = text.len() / 2;
        let swapped = if &text[middle..=middle] == "a" {
            "b"
        } else {
            "a"
        };
        body_typo.replace_range(middle..=middle, swapped);
        assert_eq!(
            Ticket::parse(&body_typo).unwrap_err(),
            TicketError::BadChecksum
        );
    }

    #[test]
    fn distinct_errors_for_well_framed_but_invalid_tickets() {
        let good = sample(Role::Read).to_bytes();
        let body = &good[..good.len() - TICKET_CHECKSUM_BYTES];

        let mut future = body.to_vec();
        future[0] = 9;
        assert_eq!(
            Ticket::from_bytes(&framed(future)).unwrap_err(),
            TicketError::UnknownVersion(9)
        );

        let mut role = body.to_vec();
        role[3] = 7;
        assert_eq!(
            Ticket::from_bytes(&framed(role)).unwrap_err(),
            TicketError::BadRole(7)
        );

        let mut many = body[..FRAME_HEAD_BYTES + 1 + 64 + 1].to_vec();
        many.push(MAX_TICKET_ADDRS as u8 + 1);
        for _ in 0..=MAX_TICKET_ADDRS {
            many.extend_from_slice(&[1, b'x']);
        }
        assert_eq!(
            Ticket::from_bytes(&framed(many)).unwrap_err(),
            TicketError::TooManyAddresses {
                count: MAX_TICKET_ADDRS + 1,
                limit: MAX_TICKET_ADDRS
            }
        );

        let mut cut = body[..FRAME_HEAD_BYTES + 1 + 64 + 1].to_vec();
        cut.extend_from_slice(&[1, 5, b'x']);
        assert_eq!(
            Ticket::from_bytes(&framed(cut)).unwrap_err(),
            TicketError::Truncated
        );

        let mut spaced = body[..FRAME_HEAD_BYTES + 1 + 64 + 1].to_vec();
        spaced.extend_from_slice(&[1, 3, b'a', b' ', b'b']);
        assert_eq!(
            Ticket::from_bytes(&framed(spaced)).unwrap_err(),
            TicketError::BadAddress
        );

        let mut bad_sum = good.clone();
        *bad_sum.last_mut().unwrap() ^= 1;
        assert_eq!(
            Ticket::from_bytes(&bad_sum).unwrap_err(),
            TicketError::BadChecksum
        );
    }

    #[test]
    fn address_limits_are_enforced_when_making_tickets() {
        let (keys, _) = DocKeys::generate();
        let many = vec![RELAY.to_owned(); MAX_TICKET_ADDRS + 1];
        assert!(matches!(
            Ticket::new(keys.clone(), many),
            Err(TicketError::TooManyAddresses { .. })
        ));
        let long = vec!["/".repeat(MAX_TICKET_ADDR_BYTES + 1)];
        assert!(matches!(
            Ticket::new(keys.clone(), long),
            Err(TicketError::AddressTooLong { .. })
        ));
        assert_eq!(
            Ticket::new(keys.clone(), vec![String::new()]).unwrap_err(),
            TicketError::BadAddress
        );
        let full = Ticket::new(
            keys,
            vec!["/".repeat(MAX_TICKET_ADDR_BYTES); MAX_TICKET_ADDRS],
        )
        .unwrap();
        assert!(full.to_link().len() <= MAX_TICKET_CHARS);
        assert_eq!(
            full.to_bytes().len(),
            Ticket::parse(&full.to_link()).unwrap().to_bytes().len()
        );
    }
}
