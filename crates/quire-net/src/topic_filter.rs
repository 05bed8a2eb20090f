//! A Bloom filter of topic hashes: how a member asks a relay which of *its*
//! documents changed ([`crate::mailbox_protocol::MailboxRequest::Changes`]) without
//! listing them. 10,000 topics fit in 12.5 KiB instead of 320 KiB of hashes, and the
//! relay answers only the changed topics that match (about 1% of the others slip
//! through: reading those costs the member a few bytes each and loses nothing).
//!
//! Topic hashes are already uniform (they are hashes), so the filter's bit positions
//! come straight from their bytes: two 64-bit words, combined by double hashing.

use serde::{Deserialize, Serialize};

/// Largest filter a relay takes: 64 KiB, about 50,000 topics at 1% false positives
/// (a device shares at most 20,000, `MAX_TOPICS_PER_PEER`).
pub const MAX_TOPIC_FILTER_BYTES: usize = 64 * 1024;

/// Bits set per topic: with [`BITS_PER_TOPIC`] bits per topic, about 1% false
/// positives.
pub const TOPIC_FILTER_HASHES: u8 = 7;

/// Most bit positions per topic a relay computes (it refuses a filter asking more).
pub const MAX_TOPIC_FILTER_HASHES: u8 = 16;

/// Fewest bit positions per topic a relay takes: with fewer, a filter matches too
/// many topics that are not the asker's.
pub const MIN_TOPIC_FILTER_HASHES: u8 = 4;

/// Most of a filter's bits that may be set, in percent: a filter of the right size
/// has about half set; one with nearly all set would list every topic that changes
/// at the relay to anyone allowed to ask.
pub const MAX_TOPIC_FILTER_FILL_PERCENT: usize = 60;

/// Filter bits per topic (see [`TOPIC_FILTER_HASHES`]).
const BITS_PER_TOPIC: usize = 10;

/// A set of topic hashes that may answer "maybe" for a topic not in it, never "no"
/// for one in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicFilter {
    /// The bit array, least significant bit of byte 0 first.
    #[serde(with = "serde_bytes")]
    bits: Vec<u8>,
    /// Bits set per topic.
    hashes: u8,
}

impl TopicFilter {
    /// A filter holding `topics`, sized for them (at most [`MAX_TOPIC_FILTER_BYTES`]).
    pub fn of(topics: &[[u8; 32]]) -> Self {
        let bytes = (topics.len() * BITS_PER_TOPIC).div_ceil(8);
        let mut filter = Self {
            bits: vec![0; bytes.clamp(1, MAX_TOPIC_FILTER_BYTES)],
            hashes: TOPIC_FILTER_HASHES,
        };
        let bits = filter.bits.len() * 8;
        for topic in topics {
            for bit in positions(topic, filter.hashes, bits) {
                if let Some(byte) = filter.bits.get_mut(bit / 8) {
                    *byte |= 1 << (bit % 8);
                }
            }
        }
        filter
    }

    /// Whether `topic` may be in the set (`false`: it is not).
    pub fn may_hold(&self, topic: &[u8; 32]) -> bool {
        positions(topic, self.hashes, self.bits.len() * 8).all(|bit| {
            self.bits
                .get(bit / 8)
                .is_some_and(|b| b & (1 << (bit % 8)) != 0)
        })
    }

    /// Why a filter from a peer cannot be used, if it cannot: empty, over
    /// [`MAX_TOPIC_FILTER_BYTES`], setting fewer than [`MIN_TOPIC_FILTER_HASHES`] or
    /// more than [`MAX_TOPIC_FILTER_HASHES`] bits per topic, or with more than
    /// [`MAX_TOPIC_FILTER_FILL_PERCENT`] of its bits set (it would match nearly
    /// every topic).
    pub fn problem(&self) -> Option<String> {
        if self.bits.is_empty() || self.bits.len() > MAX_TOPIC_FILTER_BYTES {
            return Some(format!(
                "a topic filter has 1 to {MAX_TOPIC_FILTER_BYTES} bytes, not {}",
                self.bits.len()
            ));
        }
        if !(MIN_TOPIC_FILTER_HASHES..=MAX_TOPIC_FILTER_HASHES).contains(&self.hashes) {
            return Some(format!(
                "a topic filter sets {MIN_TOPIC_FILTER_HASHES} to {MAX_TOPIC_FILTER_HASHES} bits per topic, not {}",
                self.hashes
            ));
        }
        let set: usize = self.bits.iter().map(|b| b.count_ones() as usize).sum();
        if set * 100 > self.bits.len() * 8 * MAX_TOPIC_FILTER_FILL_PERCENT {
            return Some(format!(
                "a topic filter with {set} of its {} bits set matches nearly every topic",
                self.bits.len() * 8
            ));
        }
        None
    }

    /// The filter's size in bytes.
    pub fn len_bytes(&self) -> usize {
        self.bits.len()
    }
}

/// The `hashes` bits of `bits` that `topic` sets.
fn positions(topic: &[u8; 32], hashes: u8, bits: usize) -> impl Iterator<Item = usize> {
    let word = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(topic.get(at..at + 8).unwrap_or(&[0; 8]));
        u64::from_le_bytes(bytes)
    };
    let (first, step) = (word(0), word(8) | 1);
    let bits = (bits as u64).max(1);
    (0..u64::from(hashes)).map(move |i| (first.wrapping_add(i.wrapping_mul(step)) % bits) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(n: u32) -> [u8; 32] {
        // Uniform bytes, as a real topic hash has.
        let mut t = [0u8; 32];
        let mut x = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        for chunk in t.chunks_mut(8) {
            x ^= x >> 31;
            x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x ^= x >> 29;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        t
    }

    #[test]
    fn every_topic_put_in_is_held_and_few_others_are() {
        let members: Vec<[u8; 32]> = (0..10_000).map(topic).collect();
        let filter = TopicFilter::of(&members);
        assert_eq!(filter.len_bytes(), 12_500);
        assert!(filter.problem().is_none());
        assert!(members.iter().all(|t| filter.may_hold(t)));
        let strangers = (10_000..30_000)
            .map(topic)
            .filter(|t| filter.may_hold(t))
            .count();
        // About 1% of 20,000; well under 2% whatever the topics.
        assert!(strangers < 400, "{strangers} of 20,000 strangers matched");
    }

    #[test]
    fn an_empty_set_holds_nothing_and_a_huge_one_is_capped() {
        let empty = TopicFilter::of(&[]);
        assert!(empty.problem().is_none());
        assert!(!empty.may_hold(&topic(1)));
        // Twice what a device may share still fits.
        let most: Vec<[u8; 32]> = (0..40_000).map(topic).collect();
        assert!(TopicFilter::of(&most).problem().is_none());
        // Beyond the cap the filter fills up: still holding every topic, but a
        // relay refuses it.
        let many: Vec<[u8; 32]> = (0..100_000).map(topic).collect();
        let filter = TopicFilter::of(&many);
        assert_eq!(filter.len_bytes(), MAX_TOPIC_FILTER_BYTES);
        assert!(many.iter().all(|t| filter.may_hold(t)));
        assert!(filter.problem().is_some());
    }

    #[test]
    fn a_peer_filter_out_of_bounds_is_named() {
        let mut filter = TopicFilter::of(&[topic(1)]);
        assert!(filter.problem().is_none());
        filter.hashes = MIN_TOPIC_FILTER_HASHES - 1;
        assert!(filter.problem().is_some());
        filter.hashes = MAX_TOPIC_FILTER_HASHES + 1;
        assert!(filter.problem().is_some());
        filter.hashes = MIN_TOPIC_FILTER_HASHES;
        filter.bits.clear();
        assert!(filter.problem().is_some());
        filter.bits = vec![0; MAX_TOPIC_FILTER_BYTES + 1];
        assert!(filter.problem().is_some());
        // Every bit set: it would name every topic that changes at the relay.
        filter.bits = vec![0xff; 64];
        assert!(filter.problem().is_some());
        filter.bits = vec![0x0f; 64];
        assert!(filter.problem().is_none());
    }
}
