//! Due times by key, earliest first: what the node's sweep (documents) and its relay
//! tick (documents at relays) take instead of walking everything they keep, so an
//! idle device's cost does not grow with how many documents it shares.
//!
//! A key is due at the earliest time anything asked for; asking for a later time
//! changes nothing. Taking a due key unschedules it: whoever takes it schedules it
//! again.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;
use std::time::Instant;

/// Due times by key.
pub(super) struct DueTimes<K> {
    /// Every time asked for, earliest first; an entry that no longer matches its
    /// key's time in `due_at` is stale and skipped.
    heap: BinaryHeap<Reverse<(Instant, K)>>,
    due_at: HashMap<K, Instant>,
}

impl<K> Default for DueTimes<K> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            due_at: HashMap::new(),
        }
    }
}

impl<K: Copy + Eq + Hash + Ord> DueTimes<K> {
    /// `key` is due at `at`, or earlier if it already was.
    pub(super) fn due_by(&mut self, key: K, at: Instant) {
        match self.due_at.get_mut(&key) {
            Some(current) if *current <= at => return,
            Some(current) => *current = at,
            None => {
                self.due_at.insert(key, at);
            }
        }
        self.heap.push(Reverse((at, key)));
        self.compact();
    }

    /// Takes the keys due at `now`: each is unscheduled until asked for again.
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<K> {
        let mut due = Vec::new();
        while let Some(Reverse((at, key))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            if self.due_at.get(&key) == Some(&at) {
                self.due_at.remove(&key);
                due.push(key);
            }
        }
        due
    }

    /// `key` is never due again (until asked for again).
    pub(super) fn forget(&mut self, key: K) {
        self.due_at.remove(&key);
        self.compact();
    }

    /// Keeps only the keys `keep` says to.
    pub(super) fn retain(&mut self, keep: impl Fn(&K) -> bool) {
        self.due_at.retain(|key, _| keep(key));
        self.compact();
    }

    /// Drops stale entries once they outnumber the live ones (times moved earlier
    /// many times, documents left).
    fn compact(&mut self) {
        if self.heap.len() > 2 * self.due_at.len() + 64 {
            let due_at = &self.due_at;
            self.heap
                .retain(|Reverse((at, key))| due_at.get(key) == Some(at));
        }
    }

    #[cfg(test)]
    fn entries(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn topic(n: u8) -> super::super::Topic {
        [n; quire_crypto::TOPIC_BYTES]
    }

    #[test]
    fn only_documents_due_are_taken_earliest_first_and_once() {
        let start = Instant::now();
        let mut schedule = DueTimes::default();
        schedule.due_by(topic(1), start + Duration::from_secs(5));
        schedule.due_by(topic(2), start + Duration::from_secs(1));
        schedule.due_by(topic(3), start + Duration::from_secs(60));
        assert!(schedule.take_due(start).is_empty());
        assert_eq!(
            schedule.take_due(start + Duration::from_secs(5)),
            vec![topic(2), topic(1)]
        );
        assert!(schedule.take_due(start + Duration::from_secs(5)).is_empty());
        assert_eq!(
            schedule.take_due(start + Duration::from_secs(61)),
            vec![topic(3)]
        );
    }

    #[test]
    fn the_earliest_time_asked_for_wins() {
        let start = Instant::now();
        let mut schedule = DueTimes::default();
        schedule.due_by(topic(1), start + Duration::from_secs(10));
        schedule.due_by(topic(1), start + Duration::from_secs(2));
        schedule.due_by(topic(1), start + Duration::from_secs(30));
        assert_eq!(
            schedule.take_due(start + Duration::from_secs(2)),
            vec![topic(1)]
        );
        // Taken: the later times asked for are gone with it.
        assert!(
            schedule
                .take_due(start + Duration::from_secs(60))
                .is_empty()
        );
    }

    #[test]
    fn a_document_left_is_never_due() {
        let start = Instant::now();
        let mut schedule = DueTimes::default();
        schedule.due_by(topic(1), start);
        schedule.due_by(topic(2), start);
        schedule.forget(topic(1));
        assert_eq!(schedule.take_due(start), vec![topic(2)]);
    }

    #[test]
    fn stale_entries_do_not_pile_up() {
        let start = Instant::now();
        let mut schedule = DueTimes::default();
        for step in 0..10_000u64 {
            schedule.due_by(topic(1), start + Duration::from_secs(100_000 - step));
        }
        assert!(schedule.entries() <= 2 + 64 + 1, "{}", schedule.entries());
        assert_eq!(
            schedule.take_due(start + Duration::from_secs(100_000)),
            vec![topic(1)]
        );
    }
}
