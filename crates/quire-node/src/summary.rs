//! The many-documents summary: one request tells a peer, for up to
//! [`MAX_DIGESTS_PER_SUMMARY`] documents, what this device holds of each, and the
//! answer names the documents whose state differs. Only those go on to a full
//! catch-up (see `wire`), so a reconnect costs a few bytes per unchanged document.
//!
//! It travels over `/quire/sync/1` under [`SUMMARY_TOPIC`], a name no document's
//! topic can take (those are blake3 outputs). A node from before summaries has no
//! such document, refuses the request at once, and the asker falls back to one
//! catch-up per document.
//!
//! What goes over the wire is never a document's digest itself. Per request the
//! asker picks a random nonce and sends, per document, `topic ‖ proof` where the
//! proof is `blake3::keyed_hash(digest, nonce ‖ topic)` cut to
//! [`SUMMARY_PROOF_BYTES`]: only a member holding the very same state can produce or
//! check it, and proofs of one document in two requests cannot be linked. The answer
//! is a bitmap (a set bit: the state differs, or the answerer does not have the
//! document, which it does not tell apart, so a stranger learns nothing about what
//! it holds) and a *confirmation*: a keyed hash under the nonce of the digests of
//! every document it found equal. The asker checks it against its own digests, so an
//! answerer that is no member cannot make it skip a catch-up. The topics are the
//! ones the two peers announced to each other in gossip subscriptions already.
//!
//! Request: `version (1) ‖ nonce (16) ‖ count (u16 LE) ‖ count × (topic (32) ‖ proof
//! (16))`. Answer: `version (1) ‖ nonce (16) ‖ bitmap (⌈count / 8⌉, bit i of byte i/8
//! for entry i) ‖ confirmation (32)`. Both are size-checked before decoding.

use quire_crypto::TOPIC_BYTES;
use quire_doc::SyncDigest;

use crate::wire::WireError;

/// The `/quire/sync/1` topic a summary travels under (not a document's).
pub const SUMMARY_TOPIC: [u8; TOPIC_BYTES] = *b"quire/sync-summary/v1...........";

/// Most documents one summary request names; a peer sharing more gets several.
/// 4,096 entries make a request of 192 KiB, an answer of 561 bytes.
pub const MAX_DIGESTS_PER_SUMMARY: usize = 4096;

/// Bytes of a per-request proof of a document's digest (128 bits).
pub const SUMMARY_PROOF_BYTES: usize = 16;

/// Bytes of a summary's nonce.
pub const SUMMARY_NONCE_BYTES: usize = 16;

/// Bytes of an answer's confirmation.
pub const SUMMARY_CONFIRMATION_BYTES: usize = 32;

/// Bytes of one request entry: topic and proof.
const ENTRY_BYTES: usize = TOPIC_BYTES + SUMMARY_PROOF_BYTES;

/// Bytes before a request's entries: version, nonce, count.
const REQUEST_HEADER_BYTES: usize = 1 + SUMMARY_NONCE_BYTES + 2;

/// Largest summary request accepted (checked before anything is decoded).
pub const MAX_SUMMARY_REQUEST_BYTES: usize =
    REQUEST_HEADER_BYTES + MAX_DIGESTS_PER_SUMMARY * ENTRY_BYTES;

/// Largest summary answer accepted.
pub const MAX_SUMMARY_ANSWER_BYTES: usize =
    1 + SUMMARY_NONCE_BYTES + MAX_DIGESTS_PER_SUMMARY.div_ceil(8) + SUMMARY_CONFIRMATION_BYTES;

/// Summary format version.
const SUMMARY_VERSION: u8 = 1;

/// Domain separation of the confirmation.
const CONFIRMATION_TAG: &[u8] = b"quire summary confirmation v1";

/// A summary's nonce.
pub type SummaryNonce = [u8; SUMMARY_NONCE_BYTES];

/// A per-request proof of one document's digest.
pub type SummaryProof = [u8; SUMMARY_PROOF_BYTES];

/// The proof of `digest` for the document on `topic` in the request with `nonce`.
pub fn proof(digest: &SyncDigest, nonce: &SummaryNonce, topic: &[u8; TOPIC_BYTES]) -> SummaryProof {
    let mut hasher = blake3::Hasher::new_keyed(digest);
    hasher.update(nonce);
    hasher.update(topic);
    let mut out = [0; SUMMARY_PROOF_BYTES];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..SUMMARY_PROOF_BYTES]);
    out
}

/// Whether two proofs are equal, in time that does not depend on where they differ.
pub fn proofs_match(a: &SummaryProof, b: &SummaryProof) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The confirmation of an answer: the digests of the documents found equal, in
/// request order, hashed under the nonce.
pub fn confirmation<'a>(
    nonce: &SummaryNonce,
    equal: impl IntoIterator<Item = &'a SyncDigest>,
) -> [u8; SUMMARY_CONFIRMATION_BYTES] {
    let mut key = [0; 32];
    key[..SUMMARY_NONCE_BYTES].copy_from_slice(nonce);
    let mut hasher = blake3::Hasher::new_keyed(&key);
    hasher.update(CONFIRMATION_TAG);
    for digest in equal {
        hasher.update(digest);
    }
    *hasher.finalize().as_bytes()
}

/// A summary request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRequest {
    /// Fresh per request.
    pub nonce: SummaryNonce,
    /// Each document's topic and proof.
    pub entries: Vec<([u8; TOPIC_BYTES], SummaryProof)>,
}

impl SummaryRequest {
    /// The request's bytes (entries past [`MAX_DIGESTS_PER_SUMMARY`] are left out;
    /// callers send no more).
    pub fn encode(&self) -> Vec<u8> {
        let count = self.entries.len().min(MAX_DIGESTS_PER_SUMMARY);
        let mut out = Vec::with_capacity(REQUEST_HEADER_BYTES + count * ENTRY_BYTES);
        out.push(SUMMARY_VERSION);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&(count as u16).to_le_bytes());
        for (topic, proof) in self.entries.iter().take(count) {
            out.extend_from_slice(topic);
            out.extend_from_slice(proof);
        }
        out
    }

    /// Parses a request from a peer, its size checked first.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        if bytes.len() > MAX_SUMMARY_REQUEST_BYTES {
            return Err(WireError::Malformed("summary request over the size limit"));
        }
        let (header, rest) = bytes
            .split_first_chunk::<REQUEST_HEADER_BYTES>()
            .ok_or(WireError::Malformed("summary request too short"))?;
        let (version, header) = header.split_at(1);
        if version != [SUMMARY_VERSION] {
            return Err(WireError::Malformed("unknown summary version"));
        }
        let (nonce, count) = header.split_at(SUMMARY_NONCE_BYTES);
        let nonce: SummaryNonce = nonce
            .try_into()
            .map_err(|_| WireError::Malformed("summary request too short"))?;
        let count = usize::from(u16::from_le_bytes(
            count
                .try_into()
                .map_err(|_| WireError::Malformed("summary request too short"))?,
        ));
        if count > MAX_DIGESTS_PER_SUMMARY {
            return Err(WireError::Malformed("too many documents in a summary"));
        }
        if rest.len() != count * ENTRY_BYTES {
            return Err(WireError::Malformed(
                "summary entries do not match their count",
            ));
        }
        let (entries, _) = rest.as_chunks::<ENTRY_BYTES>();
        let entries = entries
            .iter()
            .map(|entry| {
                let (topic, proof) = entry.split_at(TOPIC_BYTES);
                let topic: [u8; TOPIC_BYTES] = topic.try_into().unwrap_or([0; TOPIC_BYTES]);
                let proof: SummaryProof = proof.try_into().unwrap_or([0; SUMMARY_PROOF_BYTES]);
                (topic, proof)
            })
            .collect();
        Ok(Self { nonce, entries })
    }
}

/// A summary answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryAnswer {
    /// The request's nonce, echoed.
    pub nonce: SummaryNonce,
    /// Per request entry: whether the document's state differs (or the answerer
    /// does not have it).
    pub differs: Vec<bool>,
    /// See [`confirmation`].
    pub confirmation: [u8; SUMMARY_CONFIRMATION_BYTES],
}

impl SummaryAnswer {
    /// The answer's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut bitmap = vec![0u8; self.differs.len().div_ceil(8)];
        for (index, byte) in bitmap.iter_mut().enumerate() {
            for bit in 0..8 {
                if self.differs.get(index * 8 + bit).copied().unwrap_or(false) {
                    *byte |= 1 << bit;
                }
            }
        }
        let mut out = Vec::with_capacity(1 + SUMMARY_NONCE_BYTES + bitmap.len() + 32);
        out.push(SUMMARY_VERSION);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&bitmap);
        out.extend_from_slice(&self.confirmation);
        out
    }

    /// Parses the answer to a request of `count` entries, its size checked first.
    pub fn decode(bytes: &[u8], count: usize) -> Result<Self, WireError> {
        if bytes.len() > MAX_SUMMARY_ANSWER_BYTES {
            return Err(WireError::Malformed("summary answer over the size limit"));
        }
        let bitmap_len = count.div_ceil(8);
        if bytes.len() != 1 + SUMMARY_NONCE_BYTES + bitmap_len + SUMMARY_CONFIRMATION_BYTES {
            return Err(WireError::Malformed("summary answer of the wrong length"));
        }
        let (version, rest) = bytes.split_at(1);
        if version != [SUMMARY_VERSION] {
            return Err(WireError::Malformed("unknown summary version"));
        }
        let (nonce, rest) = rest.split_at(SUMMARY_NONCE_BYTES);
        let (bitmap, confirmation) = rest.split_at(bitmap_len);
        let differs = (0..count)
            .map(|i| {
                bitmap
                    .get(i / 8)
                    .is_some_and(|byte| byte & (1 << (i % 8)) != 0)
            })
            .collect();
        Ok(Self {
            nonce: nonce
                .try_into()
                .map_err(|_| WireError::Malformed("summary answer too short"))?,
            differs,
            confirmation: confirmation
                .try_into()
                .map_err(|_| WireError::Malformed("summary answer too short"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_refuse_bad_lengths() {
        let request = SummaryRequest {
            nonce: [1; SUMMARY_NONCE_BYTES],
            entries: vec![([2; 32], [3; 16]), ([4; 32], [5; 16])],
        };
        let bytes = request.encode();
        assert_eq!(SummaryRequest::decode(&bytes).unwrap(), request);
        for cut in 0..bytes.len() {
            assert!(
                SummaryRequest::decode(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(SummaryRequest::decode(&long).is_err());
        let mut huge_count = bytes.clone();
        huge_count[17..19].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(SummaryRequest::decode(&huge_count).is_err());
        let mut version = bytes;
        version[0] = 9;
        assert!(SummaryRequest::decode(&version).is_err());
        assert!(SummaryRequest::decode(&vec![0; MAX_SUMMARY_REQUEST_BYTES + 1]).is_err());
        // The largest request fits the sync protocol's payload limit.
        let full = SummaryRequest {
            nonce: [0; SUMMARY_NONCE_BYTES],
            entries: vec![([0; 32], [0; 16]); MAX_DIGESTS_PER_SUMMARY + 5],
        };
        let full = full.encode();
        assert_eq!(full.len(), MAX_SUMMARY_REQUEST_BYTES);
        assert!(full.len() <= quire_net::MAX_SYNC_PAYLOAD_BYTES);
        assert_eq!(
            SummaryRequest::decode(&full).unwrap().entries.len(),
            MAX_DIGESTS_PER_SUMMARY
        );
    }

    #[test]
    fn answers_round_trip_for_every_count() {
        for count in [0, 1, 7, 8, 9, 100, MAX_DIGESTS_PER_SUMMARY] {
            let answer = SummaryAnswer {
                nonce: [6; SUMMARY_NONCE_BYTES],
                differs: (0..count).map(|i| i % 3 == 0).collect(),
                confirmation: [7; 32],
            };
            let bytes = answer.encode();
            assert!(bytes.len() <= MAX_SUMMARY_ANSWER_BYTES);
            assert_eq!(SummaryAnswer::decode(&bytes, count).unwrap(), answer);
            assert!(SummaryAnswer::decode(&bytes, count + 8).is_err());
            assert!(SummaryAnswer::decode(&bytes[1..], count).is_err());
        }
    }

    #[test]
    fn proofs_need_the_digest_and_differ_per_request() {
        let (digest, other) = ([1; 32], [2; 32]);
        let topic = [3; 32];
        let first = proof(&digest, &[4; 16], &topic);
        assert!(proofs_match(&first, &proof(&digest, &[4; 16], &topic)));
        assert!(!proofs_match(&first, &proof(&other, &[4; 16], &topic)));
        assert!(!proofs_match(&first, &proof(&digest, &[5; 16], &topic)));
        assert!(!proofs_match(&first, &proof(&digest, &[4; 16], &[9; 32])));
        assert_ne!(
            confirmation(&[4; 16], [&digest]),
            confirmation(&[4; 16], [&other])
        );
        assert_ne!(
            confirmation(&[4; 16], [&digest]),
            confirmation(&[4; 16], [])
        );
    }
}
