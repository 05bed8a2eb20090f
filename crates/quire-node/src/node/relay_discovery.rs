//! When to ask a relay's rendezvous point who else of a document's members it knows
//! (those found are dialled, through the relay if need be).
//!
//! A look-up is due once per document after the relay connects, again when a read
//! of its mailbox brings something new (a member wrote while this device was not
//! connected to it, and may be online now), and, for a document no member is
//! connected in directly, at most every [`RELAY_DISCOVER_EVERY`] when a member's new
//! session is heard through the relay or the document's mailbox is read (at a
//! relay without change numbers, every mailbox is read every 30 s). Due look-ups wait in a queue and go
//! out at most [`MAX_RELAY_DISCOVERIES_PER_SECOND`] per relay: a device with
//! thousands of documents at a relay asks for each of them after it connects, and
//! that must neither crowd out the reads nor make the node walk every document on
//! every tick while it waits.
//!
//! Pure bookkeeping: the node says what happened and asks what to send.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use quire_crypto::PeerId;

use super::Topic;
use super::per_second::PerSecond;

/// Least time between two look-ups of a document that no member is connected in
/// directly (at a relay without change numbers, the time between them).
pub(crate) const RELAY_DISCOVER_EVERY: Duration = Duration::from_secs(120);

/// Rendezvous look-ups sent to one relay per second at most.
pub(crate) const MAX_RELAY_DISCOVERIES_PER_SECOND: usize = 20;

/// One look-up: a relay and a document's topic.
type Key = (PeerId, Topic);

/// The look-ups made and waiting.
pub(crate) struct Discoveries {
    /// When each document was last looked up at each relay since it connected.
    last: HashMap<Key, Instant>,
    /// Due, oldest first.
    queue: VecDeque<Key>,
    queued: HashSet<Key>,
    /// Look-ups sent per relay in the current second.
    rate: PerSecond<PeerId>,
}

impl Default for Discoveries {
    fn default() -> Self {
        Self {
            last: HashMap::new(),
            queue: VecDeque::new(),
            queued: HashSet::new(),
            rate: PerSecond::new(MAX_RELAY_DISCOVERIES_PER_SECOND),
        }
    }
}

impl Discoveries {
    /// Queues the document's look-up at `relay` if it is due: none since the relay
    /// connected, or (with no member connected `direct`ly) none for
    /// [`RELAY_DISCOVER_EVERY`].
    pub(crate) fn consider(&mut self, key: Key, direct: bool, now: Instant) {
        let due = self
            .last
            .get(&key)
            .is_none_or(|t| !direct && now.duration_since(*t) >= RELAY_DISCOVER_EVERY);
        if due {
            self.enqueue(key);
        }
    }

    /// Queues the document's look-up at `relay` whatever its last one.
    pub(crate) fn soon(&mut self, key: Key) {
        self.enqueue(key);
    }

    fn enqueue(&mut self, key: Key) {
        if self.queued.insert(key) {
            self.queue.push_back(key);
        }
    }

    /// The relay (re)connected: every document it serves is looked up again.
    pub(crate) fn relay_connected(&mut self, relay: PeerId) {
        self.last.retain(|(r, _), _| *r != relay);
    }

    /// Forgets relays no longer used.
    pub(crate) fn keep_relays(&mut self, kept: &HashSet<PeerId>) {
        self.last.retain(|(r, _), _| kept.contains(r));
        self.queue.retain(|(r, _)| kept.contains(r));
        self.queued.retain(|(r, _)| kept.contains(r));
        self.rate.retain(|r| kept.contains(r));
    }

    /// The look-ups to send now: from the front of the queue, while each one's relay
    /// has room this second (one that has none waits, with those behind it).
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<Key> {
        let mut out = Vec::new();
        while let Some(&key) = self.queue.front() {
            if !self.rate.try_spend(key.0, 1, now) {
                break;
            }
            self.queue.pop_front();
            self.queued.remove(&key);
            self.last.insert(key, now);
            out.push(key);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn relay() -> PeerId {
        PeerId::random()
    }

    #[test]
    fn each_document_is_looked_up_once_after_a_connect_at_the_paced_rate() {
        let (mut d, r, start) = (Discoveries::default(), relay(), Instant::now());
        for n in 0..50u8 {
            d.consider((r, [n; 32]), true, start);
            // Considered again before it went out: still one look-up.
            d.consider((r, [n; 32]), true, start);
        }
        assert_eq!(d.take_due(start).len(), MAX_RELAY_DISCOVERIES_PER_SECOND);
        assert!(d.take_due(start).is_empty());
        let second = start + Duration::from_secs(1);
        assert_eq!(d.take_due(second).len(), MAX_RELAY_DISCOVERIES_PER_SECOND);
        let third = start + Duration::from_secs(2);
        assert_eq!(d.take_due(third).len(), 10);
        // Done: with members connected directly, never again until a reconnect.
        let later = start + RELAY_DISCOVER_EVERY * 3;
        for n in 0..50u8 {
            d.consider((r, [n; 32]), true, later);
        }
        assert!(d.take_due(later).is_empty());
        d.relay_connected(r);
        d.consider((r, [1; 32]), true, later);
        assert_eq!(d.take_due(later), vec![(r, [1; 32])]);
    }

    #[test]
    fn a_document_with_no_member_connected_directly_is_looked_up_again_later() {
        let (mut d, r, start) = (Discoveries::default(), relay(), Instant::now());
        d.consider((r, [1; 32]), false, start);
        assert_eq!(d.take_due(start).len(), 1);
        let soon = start + RELAY_DISCOVER_EVERY / 2;
        d.consider((r, [1; 32]), false, soon);
        assert!(d.take_due(soon).is_empty());
        let later = start + RELAY_DISCOVER_EVERY;
        d.consider((r, [1; 32]), false, later);
        assert_eq!(d.take_due(later).len(), 1);
        // Something new arrived for it: again at once.
        d.soon((r, [1; 32]));
        assert_eq!(d.take_due(later).len(), 1);
    }

    #[test]
    fn a_relay_out_of_room_holds_the_queue_and_a_dropped_relay_leaves_it() {
        let (mut d, a, b, now) = (Discoveries::default(), relay(), relay(), Instant::now());
        for n in 0..=MAX_RELAY_DISCOVERIES_PER_SECOND as u8 {
            d.consider((a, [n; 32]), true, now);
        }
        d.consider((b, [0; 32]), true, now);
        assert_eq!(d.take_due(now).len(), MAX_RELAY_DISCOVERIES_PER_SECOND);
        d.keep_relays(&HashSet::from([b]));
        assert_eq!(d.take_due(now), vec![(b, [0; 32])]);
    }
}
