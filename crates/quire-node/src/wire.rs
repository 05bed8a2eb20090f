//! What the node puts inside sealed messages and catch-up exchanges.
//!
//! A catch-up request or response over `/quire/sync/1` is a *bundle*: a list of sealed
//! items (the sender's session hello first, then sealed messages). Inside the seals:
//!
//! - a request ([`Kind::Sync`](quire_crypto::Kind::Sync)): `exchange (16) ‖ first
//!   chunk (u32 LE) ‖ state vector ‖ wanted session hints (2 each, up to 4)`;
//! - an answer chunk ([`Kind::Update`](quire_crypto::Kind::Update), so only writers'
//!   answers are accepted): `exchange (16) ‖ quire_doc::sync::SyncMessage`.
//!
//! The exchange id is random per catch-up and echoed in every chunk, so an answer
//! cannot be replayed into another exchange. Every length is checked before use.

use quire_crypto::SessionHint;
use quire_net::MAX_SYNC_PAYLOAD_BYTES;

/// Bundle format version.
const BUNDLE_VERSION: u8 = 1;

/// Most items in one bundle.
pub const MAX_BUNDLE_ITEMS: usize = 64;

/// Length of an exchange id.
pub const EXCHANGE_ID_BYTES: usize = 16;

/// Identifies one catch-up exchange.
pub type ExchangeId = [u8; EXCHANGE_ID_BYTES];

/// Why bytes from a peer are not a bundle or a sync plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The bytes do not have the shape claimed.
    #[error("malformed sync data: {0}")]
    Malformed(&'static str),
}

/// Frames sealed items: version, count (u16 LE), then each length (u32 LE) and bytes.
pub fn encode_bundle(items: &[Vec<u8>]) -> Vec<u8> {
    let len = 3 + items.iter().map(|i| 4 + i.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.push(BUNDLE_VERSION);
    out.extend_from_slice(&(items.len() as u16).to_le_bytes());
    for item in items {
        out.extend_from_slice(&(item.len() as u32).to_le_bytes());
        out.extend_from_slice(item);
    }
    out
}

/// Size of a bundle of items of these lengths.
pub fn bundle_len(item_lens: impl IntoIterator<Item = usize>) -> usize {
    3 + item_lens.into_iter().map(|l| 4 + l).sum::<usize>()
}

/// Splits a bundle into its items, checking every length against the bytes present.
pub fn decode_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, WireError> {
    if bytes.len() > MAX_SYNC_PAYLOAD_BYTES {
        return Err(WireError::Malformed("bundle over the size limit"));
    }
    let (header, mut rest) = bytes
        .split_first_chunk::<3>()
        .ok_or(WireError::Malformed("bundle too short"))?;
    let [version, count @ ..] = *header;
    if version != BUNDLE_VERSION {
        return Err(WireError::Malformed("unknown bundle version"));
    }
    let count = usize::from(u16::from_le_bytes(count));
    if count > MAX_BUNDLE_ITEMS {
        return Err(WireError::Malformed("too many items in a bundle"));
    }
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        let (len, after) = rest
            .split_first_chunk::<4>()
            .ok_or(WireError::Malformed("item length cut short"))?;
        let len = u32::from_le_bytes(*len) as usize;
        if len > after.len() {
            return Err(WireError::Malformed("item longer than the bundle"));
        }
        let (item, after) = after.split_at(len);
        items.push(item);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(WireError::Malformed("bytes after the last item"));
    }
    Ok(items)
}

/// A catch-up request's plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUpRequest {
    /// The exchange.
    pub exchange: ExchangeId,
    /// First answer chunk wanted (0 to start; more when an answer did not fit).
    pub first_chunk: u32,
    /// The asker's state vector.
    pub state_vector: Vec<u8>,
    /// Session hints whose hellos the asker wants (it could not open messages under
    /// them that the answerer forwarded): the answer carries up to 8 under each.
    pub wanted_hints: Vec<SessionHint>,
}

/// Most hints one request names; more are not read. With up to 8 hellos a hint, the
/// 16 recent ones and the answerer's own, the hellos fit one bundle with a chunk.
pub const MAX_WANTED_HINTS: usize = 4;

impl CatchUpRequest {
    /// The plaintext bytes: exchange id, first chunk (u32, little-endian), state
    /// vector, then the wanted hints, two bytes each. Before there were hints a request
    /// ended with the state vector, and a node that reads only that far still does.
    pub fn encode(&self) -> Vec<u8> {
        let hints = self.wanted_hints.iter().take(MAX_WANTED_HINTS);
        let mut out =
            Vec::with_capacity(EXCHANGE_ID_BYTES + 4 + self.state_vector.len() + 2 * hints.len());
        out.extend_from_slice(&self.exchange);
        out.extend_from_slice(&self.first_chunk.to_le_bytes());
        out.extend_from_slice(&self.state_vector);
        for hint in hints {
            out.extend_from_slice(&hint.0);
        }
        out
    }

    /// Parses plaintext bytes (the state vector is checked by the document).
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let (exchange, rest) = bytes
            .split_first_chunk::<EXCHANGE_ID_BYTES>()
            .ok_or(WireError::Malformed("sync request too short"))?;
        let (first_chunk, rest) = rest
            .split_first_chunk::<4>()
            .ok_or(WireError::Malformed("sync request too short"))?;
        let sv_len = quire_doc::sync::state_vector_len(rest)
            .ok_or(WireError::Malformed("sync request without a state vector"))?;
        let (state_vector, hints) = rest.split_at(sv_len);
        // A byte past the last whole hint is left for a later format to give meaning.
        let (hints, _) = hints.as_chunks::<2>();
        Ok(Self {
            exchange: *exchange,
            first_chunk: u32::from_le_bytes(*first_chunk),
            state_vector: state_vector.to_vec(),
            wanted_hints: hints
                .iter()
                .take(MAX_WANTED_HINTS)
                .map(|h| SessionHint(*h))
                .collect(),
        })
    }
}

/// Prefixes an answer chunk with its exchange id.
pub fn encode_chunk(exchange: &ExchangeId, chunk: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(EXCHANGE_ID_BYTES + chunk.len());
    out.extend_from_slice(exchange);
    out.extend_from_slice(chunk);
    out
}

/// Splits an answer chunk's plaintext into exchange id and sync message bytes.
pub fn decode_chunk(bytes: &[u8]) -> Result<(ExchangeId, &[u8]), WireError> {
    let (exchange, rest) = bytes
        .split_first_chunk::<EXCHANGE_ID_BYTES>()
        .ok_or(WireError::Malformed("answer chunk too short"))?;
    Ok((*exchange, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_round_trip_and_refuse_bad_lengths() {
        let items = vec![b"hello".to_vec(), Vec::new(), vec![7; 300]];
        let bytes = encode_bundle(&items);
        assert_eq!(bytes.len(), bundle_len(items.iter().map(Vec::len)));
        let decoded = decode_bundle(&bytes).unwrap();
        assert_eq!(decoded, items.iter().map(Vec::as_slice).collect::<Vec<_>>());
        for cut in 0..bytes.len() {
            assert!(decode_bundle(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode_bundle(&long).is_err());
        let mut huge_count = bytes.clone();
        huge_count[1] = 0xff;
        assert!(decode_bundle(&huge_count).is_err());
        let mut huge_item = bytes;
        huge_item[3..7].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_bundle(&huge_item).is_err());
    }

    #[test]
    fn requests_and_chunks_round_trip() {
        let request = CatchUpRequest {
            exchange: [3; EXCHANGE_ID_BYTES],
            first_chunk: 9,
            state_vector: vec![1, 2, 3],
            wanted_hints: vec![SessionHint([7, 8]), SessionHint([0, 1])],
        };
        assert_eq!(CatchUpRequest::decode(&request.encode()).unwrap(), request);
        assert!(CatchUpRequest::decode(&[0; 19]).is_err());
        // A request of a node from before hints: its state vector ends it.
        let mut older = vec![3; EXCHANGE_ID_BYTES];
        older.extend_from_slice(&9u32.to_le_bytes());
        older.extend_from_slice(&[1, 2, 3]);
        let read = CatchUpRequest::decode(&older).unwrap();
        assert_eq!(read.state_vector, vec![1, 2, 3]);
        assert!(read.wanted_hints.is_empty());
        // Half a hint is not read; no state vector at all is refused.
        older.push(5);
        assert!(
            CatchUpRequest::decode(&older)
                .unwrap()
                .wanted_hints
                .is_empty()
        );
        assert!(CatchUpRequest::decode(&[0; 20]).is_err());
        let chunk = encode_chunk(&[4; EXCHANGE_ID_BYTES], b"abc");
        assert_eq!(
            decode_chunk(&chunk).unwrap(),
            ([4; EXCHANGE_ID_BYTES], &b"abc"[..])
        );
        assert!(decode_chunk(&[1; 15]).is_err());
    }
}
