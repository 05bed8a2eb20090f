//! Catch-ups waiting for a free place with their peer (see
//! [`crate::MAX_CATCH_UPS_PER_PEER`]): per peer, documents in the order they were
//! asked for, each once (a forced request upgrades a waiting unforced one).

use std::collections::{HashMap, VecDeque};

use quire_crypto::PeerId;

use super::Topic;

/// Documents waiting per peer.
#[derive(Default)]
pub(super) struct WaitingCatchUps {
    by_peer: HashMap<PeerId, Waiting>,
}

#[derive(Default)]
struct Waiting {
    order: VecDeque<Topic>,
    /// Whether each waiting document's catch-up is forced (runs even if one ran
    /// moments ago).
    force: HashMap<Topic, bool>,
}

impl WaitingCatchUps {
    /// Queues a catch-up with `peer` on `topic` (once; `force` is kept if either
    /// request had it).
    pub(super) fn push(&mut self, peer: PeerId, topic: Topic, force: bool) {
        let waiting = self.by_peer.entry(peer).or_default();
        match waiting.force.get_mut(&topic) {
            Some(forced) => *forced |= force,
            None => {
                waiting.force.insert(topic, force);
                waiting.order.push_back(topic);
            }
        }
    }

    /// The next catch-up with `peer`, oldest first.
    pub(super) fn pop(&mut self, peer: PeerId) -> Option<(Topic, bool)> {
        let waiting = self.by_peer.get_mut(&peer)?;
        let next = loop {
            let topic = waiting.order.pop_front()?;
            if let Some(force) = waiting.force.remove(&topic) {
                break (topic, force);
            }
        };
        if waiting.order.is_empty() {
            self.by_peer.remove(&peer);
        }
        Some(next)
    }

    /// Forgets everything waiting with a peer that left.
    pub(super) fn forget_peer(&mut self, peer: PeerId) {
        self.by_peer.remove(&peer);
    }

    /// Forgets a document this node no longer syncs.
    pub(super) fn forget_topic(&mut self, topic: Topic) {
        self.by_peer.retain(|_, waiting| {
            if waiting.force.remove(&topic).is_some() {
                waiting.order.retain(|t| *t != topic);
            }
            !waiting.order.is_empty()
        });
    }

    /// Catch-ups waiting with `peer`.
    #[cfg(test)]
    fn len(&self, peer: PeerId) -> usize {
        self.by_peer.get(&peer).map_or(0, |w| w.force.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> PeerId {
        PeerId::random()
    }

    #[test]
    fn waiting_catch_ups_run_in_order_once_each() {
        let (a, b) = (peer(), peer());
        let mut waiting = WaitingCatchUps::default();
        waiting.push(a, [1; 32], false);
        waiting.push(a, [2; 32], false);
        waiting.push(a, [1; 32], true);
        waiting.push(b, [3; 32], false);
        assert_eq!(waiting.len(a), 2);
        assert_eq!(waiting.pop(a), Some(([1; 32], true)));
        assert_eq!(waiting.pop(a), Some(([2; 32], false)));
        assert_eq!(waiting.pop(a), None);
        assert_eq!(waiting.pop(b), Some(([3; 32], false)));
    }

    #[test]
    fn a_peer_or_document_gone_leaves_nothing_waiting() {
        let (a, b) = (peer(), peer());
        let mut waiting = WaitingCatchUps::default();
        for t in 0..10u8 {
            waiting.push(a, [t; 32], false);
            waiting.push(b, [t; 32], false);
        }
        waiting.forget_peer(a);
        assert_eq!(waiting.pop(a), None);
        waiting.forget_topic([0; 32]);
        assert_eq!(waiting.len(b), 9);
        assert_eq!(waiting.pop(b), Some(([1; 32], false)));
        for t in 2..10u8 {
            waiting.forget_topic([t; 32]);
        }
        assert_eq!(waiting.pop(b), None);
        assert!(waiting.by_peer.is_empty());
    }
}
