//! A budget per key per second: how the node paces what it asks of each relay
//! (mailbox reads, rendezvous look-ups).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// What each key spent in its current one-second window.
pub(super) struct PerSecond<K> {
    limit: usize,
    windows: HashMap<K, (Instant, usize)>,
}

impl<K: Eq + Hash> PerSecond<K> {
    /// At most `limit` a second per key.
    pub(super) fn new(limit: usize) -> Self {
        Self {
            limit,
            windows: HashMap::new(),
        }
    }

    /// Spends `cost` of `key`'s second if it has room; a cost larger than a whole
    /// second's budget still goes, alone in its second.
    pub(super) fn try_spend(&mut self, key: K, cost: usize, now: Instant) -> bool {
        let (start, spent) = self.windows.entry(key).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(1) {
            (*start, *spent) = (now, 0);
        }
        if *spent > 0 && *spent + cost > self.limit {
            return false;
        }
        *spent += cost;
        true
    }

    /// Keeps only the keys `keep` says to.
    pub(super) fn retain(&mut self, keep: impl Fn(&K) -> bool) {
        self.windows.retain(|key, _| keep(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_spends_its_budget_each_second_and_a_large_cost_goes_alone() {
        let start = Instant::now();
        let mut rate = PerSecond::new(10);
        assert!(rate.try_spend('a', 6, start));
        assert!(rate.try_spend('a', 4, start));
        assert!(!rate.try_spend('a', 1, start));
        // Another key has its own budget.
        assert!(rate.try_spend('b', 10, start));
        // The next second: room again; a cost over the budget goes alone.
        let next = start + Duration::from_secs(1);
        assert!(rate.try_spend('a', 25, next));
        assert!(!rate.try_spend('a', 1, next));
        assert!(rate.try_spend('a', 1, next + Duration::from_secs(1)));
    }
}
