//! Target `summary`: the many-documents summary exchange (`quire_node::summary`), its
//! request as any connected peer can send it (it is not sealed: each entry's proof
//! is keyed by the document's digest) and its answer as any peer asked can send it.
//!
//! The first byte chooses: even for a request; odd for an answer, whose next two
//! bytes (little-endian) are the number of entries the request had.

use quire_node::summary::{MAX_DIGESTS_PER_SUMMARY, SummaryAnswer, SummaryRequest};

use crate::{Outcome, refused};

/// Selector byte of a request (an answer is `ANSWER`).
pub const REQUEST: u8 = 0;

/// Selector byte of an answer.
pub const ANSWER: u8 = 1;

/// Decodes one request or answer and checks it re-encodes to itself.
pub fn fuzz(data: &[u8]) -> Outcome {
    let (&selector, rest) = data.split_first().ok_or("empty input")?;
    if selector % 2 == REQUEST {
        let request = SummaryRequest::decode(rest).map_err(refused)?;
        assert!(request.entries.len() <= MAX_DIGESTS_PER_SUMMARY);
        // One spelling per request: a second one would be a second valid request.
        assert_eq!(request.encode(), rest);
    } else {
        let (count, answer) = rest.split_first_chunk::<2>().ok_or("no entry count")?;
        let count = usize::from(u16::from_le_bytes(*count));
        let decoded = SummaryAnswer::decode(answer, count).map_err(refused)?;
        assert_eq!(decoded.differs.len(), count);
        // The bitmap's spare bits are ignored; everything else round-trips.
        let again = SummaryAnswer::decode(&decoded.encode(), count).map_err(refused)?;
        assert_eq!(again, decoded);
    }
    Ok(())
}
