//! The catch-up exchange between two replicas, sans-io (the y-protocols sync steps):
//! each side sends its state vector; each answers with exactly what the other lacks,
//! cut into chunks so that no message exceeds a transport's size limit.
//!
//! [`SyncSession`] turns received [`SyncMessage`]s into replies and, once every chunk
//! of the peer's answer is in, into one complete update for the caller to apply
//! (through the engine, so it is validated and persisted like any other update).
//! The session never touches sockets, clocks or the disk.
//!
//! ```
//! use quire_doc::Document;
//! use quire_doc::sync::{SyncMessage, SyncSession};
//!
//! let mut a = Document::with_client_id(1);
//! a.insert(0, "from a").unwrap();
//! let mut b = Document::with_client_id(2);
//! let (mut at_a, mut at_b) = (SyncSession::default(), SyncSession::default());
//! // B asks; A answers; B applies what completes.
//! let ask = SyncSession::start(&b);
//! let answer = at_a.handle(&a, &SyncMessage::decode(&ask.encode()).unwrap()).unwrap();
//! for reply in answer.replies {
//!     let out = at_b.handle(&b, &SyncMessage::decode(&reply.encode()).unwrap()).unwrap();
//!     if let Some(update) = out.complete_update {
//!         b.apply_update(&update).unwrap();
//!     }
//! }
//! assert_eq!(b.text(), "from a");
//! ```

use crate::{DocError, Document, MAX_STATE_VECTOR_BYTES, MAX_UPDATE_BYTES, varint};

/// Largest piece of an update in one [`SyncMessage::UpdateChunk`]; with framing a
/// message stays well under common transport limits (gossipsub's 64 KiB aside, the
/// sync protocol carries up to 8 MiB).
pub const SYNC_CHUNK_BYTES: usize = 256 * 1024;

/// Most chunks one answer may have: enough for [`MAX_UPDATE_BYTES`].
pub const MAX_SYNC_CHUNKS: u32 = (MAX_UPDATE_BYTES / SYNC_CHUNK_BYTES) as u32 + 1;

/// Largest encoded message accepted by [`SyncMessage::decode`].
pub const MAX_SYNC_MESSAGE_BYTES: usize = SYNC_CHUNK_BYTES + 64;

const TAG_STATE_VECTOR: u8 = 1;
const TAG_UPDATE_CHUNK: u8 = 2;

/// One message of the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncMessage {
    /// "This is what I have": the sender's state vector.
    StateVector(Vec<u8>),
    /// Piece `index` of `count` of the update answering the receiver's state vector.
    UpdateChunk {
        /// Position of this piece, from 0.
        index: u32,
        /// Number of pieces of the answer.
        count: u32,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

/// Why a sync message was refused. The session stays usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The bytes are not a sync message.
    #[error("malformed sync message: {0}")]
    Malformed(&'static str),
    /// The message or the answer it belongs to is too large.
    #[error("sync message too large: {0}")]
    TooLarge(&'static str),
    /// A chunk does not fit the answer being assembled.
    #[error("sync chunk out of order: {0}")]
    BadChunk(&'static str),
    /// The local document could not answer.
    #[error("cannot answer the sync request: {0}")]
    Document(String),
}

impl SyncMessage {
    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            SyncMessage::StateVector(sv) => {
                out.push(TAG_STATE_VECTOR);
                out.extend_from_slice(sv);
            }
            SyncMessage::UpdateChunk {
                index,
                count,
                bytes,
            } => {
                out.push(TAG_UPDATE_CHUNK);
                varint::put(&mut out, u64::from(*index));
                varint::put(&mut out, u64::from(*count));
                out.extend_from_slice(bytes);
            }
        }
        out
    }

    /// Decodes a message from a peer, size-checked first.
    pub fn decode(bytes: &[u8]) -> Result<Self, SyncError> {
        if bytes.len() > MAX_SYNC_MESSAGE_BYTES.max(MAX_STATE_VECTOR_BYTES + 1) {
            return Err(SyncError::TooLarge("message over the limit"));
        }
        let (&tag, mut rest) = bytes.split_first().ok_or(SyncError::Malformed("empty"))?;
        match tag {
            TAG_STATE_VECTOR => Ok(SyncMessage::StateVector(rest.to_vec())),
            TAG_UPDATE_CHUNK => {
                let index = varint::take(&mut rest).map_err(SyncError::Malformed)?;
                let count = varint::take(&mut rest).map_err(SyncError::Malformed)?;
                let index =
                    u32::try_from(index).map_err(|_| SyncError::Malformed("index too large"))?;
                let count =
                    u32::try_from(count).map_err(|_| SyncError::Malformed("count too large"))?;
                if rest.len() > SYNC_CHUNK_BYTES {
                    return Err(SyncError::TooLarge("chunk over the limit"));
                }
                Ok(SyncMessage::UpdateChunk {
                    index,
                    count,
                    bytes: rest.to_vec(),
                })
            }
            _ => Err(SyncError::Malformed("unknown message type")),
        }
    }
}

/// What handling a message produced.
#[derive(Debug, Default)]
pub struct SyncOutput {
    /// Messages to send back to the peer.
    pub replies: Vec<SyncMessage>,
    /// The peer's whole answer, once its last chunk arrived: apply it.
    pub complete_update: Option<Vec<u8>>,
}

/// One side of the exchange with one peer, for one document.
#[derive(Debug, Default)]
pub struct SyncSession {
    incoming: Option<Assembly>,
}

#[derive(Debug)]
struct Assembly {
    count: u32,
    next: u32,
    bytes: Vec<u8>,
}

impl SyncSession {
    /// The message that opens an exchange: our state vector.
    pub fn start(doc: &Document) -> SyncMessage {
        SyncMessage::StateVector(doc.state_vector())
    }

    /// Handles one message from the peer.
    pub fn handle(&mut self, doc: &Document, msg: &SyncMessage) -> Result<SyncOutput, SyncError> {
        match msg {
            SyncMessage::StateVector(sv) => {
                let update = doc.diff_since(sv).map_err(|e| match e {
                    DocError::MalformedStateVector(m) => SyncError::Document(m),
                    other => SyncError::Document(other.to_string()),
                })?;
                Ok(SyncOutput {
                    replies: chunks(&update),
                    complete_update: None,
                })
            }
            SyncMessage::UpdateChunk {
                index,
                count,
                bytes,
            } => {
                let complete = self.receive_chunk(*index, *count, bytes)?;
                Ok(SyncOutput {
                    replies: Vec::new(),
                    complete_update: complete,
                })
            }
        }
    }

    /// Chunks must come in order (the transports deliver them so); a new answer
    /// (index 0) replaces one left unfinished.
    fn receive_chunk(
        &mut self,
        index: u32,
        count: u32,
        bytes: &[u8],
    ) -> Result<Option<Vec<u8>>, SyncError> {
        if count == 0 || count > MAX_SYNC_CHUNKS {
            return Err(SyncError::TooLarge("too many chunks"));
        }
        if index >= count {
            return Err(SyncError::BadChunk("index past the count"));
        }
        if index == 0 {
            self.incoming = Some(Assembly {
                count,
                next: 0,
                bytes: Vec::new(),
            });
        }
        let Some(assembly) = self.incoming.as_mut() else {
            return Err(SyncError::BadChunk("no answer in progress"));
        };
        if assembly.count != count || assembly.next != index {
            self.incoming = None;
            return Err(SyncError::BadChunk(
                "chunk does not follow the previous one",
            ));
        }
        if assembly.bytes.len() + bytes.len() > MAX_UPDATE_BYTES {
            self.incoming = None;
            return Err(SyncError::TooLarge("answer over the update limit"));
        }
        assembly.bytes.extend_from_slice(bytes);
        assembly.next += 1;
        if assembly.next == assembly.count {
            return Ok(self.incoming.take().map(|a| a.bytes));
        }
        Ok(None)
    }
}

/// Whether the state vector `theirs` names changes that `ours` lacks (a client we do
/// not know, or a higher clock): the peer has news for us, so ask it.
pub fn has_news(ours: &[u8], theirs: &[u8]) -> Result<bool, SyncError> {
    let ours = decode_state_vector(ours)?;
    let theirs = decode_state_vector(theirs)?;
    Ok(theirs
        .iter()
        .any(|(client, clock)| *clock > ours.get(client)))
}

/// How many bytes at the front of `bytes` are one encoded state vector (an entry
/// count, then a client and a clock per entry), so that a format may put more after
/// it; `None` if they do not start with one.
pub fn state_vector_len(bytes: &[u8]) -> Option<usize> {
    let mut rest = bytes;
    let entries = varint::take(&mut rest).ok()?;
    // Each entry takes two bytes at least: refuse counts the bytes cannot hold.
    if entries > rest.len() as u64 / 2 {
        return None;
    }
    for _ in 0..entries * 2 {
        varint::take(&mut rest).ok()?;
    }
    Some(bytes.len() - rest.len())
}

fn decode_state_vector(bytes: &[u8]) -> Result<yrs::StateVector, SyncError> {
    use yrs::updates::decoder::Decode;
    if bytes.len() > MAX_STATE_VECTOR_BYTES {
        return Err(SyncError::TooLarge("state vector over the limit"));
    }
    crate::update_check::precheck_state_vector(bytes)
        .map_err(|_| SyncError::Malformed("not a state vector"))?;
    std::panic::catch_unwind(|| yrs::StateVector::decode_v1(bytes))
        .map_err(|_| SyncError::Malformed("the state vector decoder panicked"))?
        .map_err(|_| SyncError::Malformed("not a state vector"))
}

/// Cuts an update into [`SyncMessage::UpdateChunk`]s (one, possibly empty, at least).
fn chunks(update: &[u8]) -> Vec<SyncMessage> {
    let pieces: Vec<&[u8]> = if update.is_empty() {
        vec![update]
    } else {
        update.chunks(SYNC_CHUNK_BYTES).collect()
    };
    let count = pieces.len() as u32;
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| SyncMessage::UpdateChunk {
            index: i as u32,
            count,
            bytes: bytes.to_vec(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn news_is_told_from_state_vectors() {
        let mut a = Document::with_client_id(1);
        let mut b = Document::with_client_id(2);
        a.insert(0, "a").unwrap();
        assert!(has_news(&b.state_vector(), &a.state_vector()).unwrap());
        assert!(!has_news(&a.state_vector(), &b.state_vector()).unwrap());
        b.apply_update(&a.diff_since(&b.state_vector()).unwrap())
            .unwrap();
        assert!(!has_news(&b.state_vector(), &a.state_vector()).unwrap());
        assert!(has_news(&b.state_vector(), &[0xff, 0xff]).is_err());
        // What follows a state vector is told apart from it.
        let sv = a.state_vector();
        let mut followed = sv.clone();
        followed.extend_from_slice(&[1, 2, 3]);
        assert_eq!(state_vector_len(&followed), Some(sv.len()));
        assert_eq!(state_vector_len(&[0]), Some(1));
        assert_eq!(state_vector_len(&[2, 1]), None);
        assert_eq!(state_vector_len(&[1, 0x80, 0x80]), None);
    }

    /// Runs a full exchange both ways through encode/decode; returns messages sent.
    fn exchange(a: &mut Document, b: &mut Document) -> usize {
        let mut sent = 0;
        for (asker_is_a, _) in [(true, ()), (false, ())] {
            let (asker, answerer) = if asker_is_a {
                (&mut *a, &*b)
            } else {
                (&mut *b, &*a)
            };
            let (mut at_asker, mut at_answerer) = (SyncSession::default(), SyncSession::default());
            let ask = SyncMessage::decode(&SyncSession::start(asker).encode()).unwrap();
            let answer = at_answerer.handle(answerer, &ask).unwrap();
            for reply in answer.replies {
                sent += 1;
                let wire = reply.encode();
                assert!(wire.len() <= MAX_SYNC_MESSAGE_BYTES);
                let out = at_asker
                    .handle(asker, &SyncMessage::decode(&wire).unwrap())
                    .unwrap();
                if let Some(update) = out.complete_update {
                    asker.apply_update(&update).unwrap();
                }
            }
        }
        sent
    }

    #[test]
    fn a_large_document_arrives_in_chunks() {
        let mut a = Document::with_client_id(1);
        let big: String = (0..20_000).map(|i| format!("line {i} 😀\n")).collect();
        a.insert(0, &big).unwrap();
        let mut b = Document::with_client_id(2);
        let sent = exchange(&mut a, &mut b);
        assert!(sent > 2, "expected several chunks, got {sent}");
        assert_eq!(b.text(), a.text());
    }

    #[test]
    fn broken_chunk_sequences_are_refused() {
        let mut s = SyncSession::default();
        let chunk = |index, count| SyncMessage::UpdateChunk {
            index,
            count,
            bytes: vec![1],
        };
        let doc = Document::new();
        assert!(matches!(
            s.handle(&doc, &chunk(1, 3)),
            Err(SyncError::BadChunk(_))
        ));
        assert!(
            s.handle(&doc, &chunk(0, 3))
                .unwrap()
                .complete_update
                .is_none()
        );
        assert!(matches!(
            s.handle(&doc, &chunk(2, 3)),
            Err(SyncError::BadChunk(_))
        ));
        assert!(matches!(
            s.handle(&doc, &chunk(0, 0)),
            Err(SyncError::TooLarge(_))
        ));
        assert!(matches!(
            s.handle(&doc, &chunk(0, MAX_SYNC_CHUNKS + 1)),
            Err(SyncError::TooLarge(_))
        ));
        assert!(matches!(
            s.handle(&doc, &chunk(5, 3)),
            Err(SyncError::BadChunk(_))
        ));
        assert!(SyncMessage::decode(&[]).is_err());
        assert!(SyncMessage::decode(&[9, 1, 2]).is_err());
        assert!(SyncMessage::decode(&[2, 0xff]).is_err());
        assert!(
            SyncMessage::decode(&vec![2; MAX_SYNC_MESSAGE_BYTES + MAX_STATE_VECTOR_BYTES]).is_err()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Two replicas that edited apart converge after one exchange each way.
        #[test]
        fn diverged_replicas_converge(
            a_edits in proptest::collection::vec((0usize..40, 0usize..4, "[a-z😀 ]{0,8}"), 0..20),
            b_edits in proptest::collection::vec((0usize..40, 0usize..4, "[A-Z漢 ]{0,8}"), 0..20),
        ) {
            let mut a = Document::with_client_id(11);
            a.insert(0, "shared start\n").unwrap();
            let mut b = Document::with_client_id(12);
            b.apply_update(&a.encode_state().unwrap()).unwrap();
            for (doc, edits) in [(&mut a, a_edits), (&mut b, b_edits)] {
                for (pos, del, ins) in edits {
                    let len = doc.len_chars();
                    let pos = pos.min(len);
                    let del = del.min(len - pos);
                    doc.splice(&[crate::Splice { pos, delete: del, insert: ins }]).unwrap();
                }
            }
            exchange(&mut a, &mut b);
            prop_assert_eq!(a.text(), b.text());
            prop_assert_eq!(a.state_vector(), b.state_vector());
        }

        /// Whatever bytes arrive, decoding and handling return, never panic.
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let doc = Document::new();
            let mut s = SyncSession::default();
            if let Ok(msg) = SyncMessage::decode(&bytes) {
                let _ = s.handle(&doc, &msg);
            }
        }
    }
}
