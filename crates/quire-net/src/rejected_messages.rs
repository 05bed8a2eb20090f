//! Rejected messages, counted per peer and scored through gossipsub's application
//! score (P5), not per topic (P4).
//!
//! Gossipsub computes a peer's score over every topic that has score parameters,
//! and it does so on nearly every message it sends or receives (the publish and
//! graylist thresholds). With a topic per document, two devices sharing 10,000
//! documents spent milliseconds per message on score arithmetic, and a connect's
//! greetings overran both nodes' queues. With no topic parameters the score costs
//! the same at any number of documents; the penalty for a rejected message is kept
//! here instead, with the same weight and decay as the topic parameters had, and
//! summed over all of a peer's documents (a forger spreading junk across documents
//! is graylisted as fast as one that sticks to one).

use std::collections::HashMap;

use libp2p::PeerId;

use crate::gossip_config::{
    INVALID_MESSAGE_DECAY_TIME, INVALID_MESSAGE_WEIGHT, SCORE_DECAY_INTERVAL, SCORE_DECAY_TO_ZERO,
};

/// Each peer's count of rejected messages, decaying.
#[derive(Debug)]
pub(crate) struct RejectedMessages {
    counts: HashMap<PeerId, f64>,
    /// Factor applied to every count each [`SCORE_DECAY_INTERVAL`].
    decay: f64,
}

impl Default for RejectedMessages {
    fn default() -> Self {
        Self {
            counts: HashMap::new(),
            decay: libp2p::gossipsub::score_parameter_decay_with_base(
                INVALID_MESSAGE_DECAY_TIME,
                SCORE_DECAY_INTERVAL,
                SCORE_DECAY_TO_ZERO,
            ),
        }
    }
}

impl RejectedMessages {
    /// One more message from `peer` rejected; its application score now.
    pub(crate) fn reject(&mut self, peer: PeerId) -> f64 {
        *self.counts.entry(peer).or_default() += 1.0;
        self.score(&peer)
    }

    /// `peer`'s application score: the squared count times
    /// [`INVALID_MESSAGE_WEIGHT`] (one rejected message -20, two -80, three -180).
    pub(crate) fn score(&self, peer: &PeerId) -> f64 {
        let count = self.counts.get(peer).copied().unwrap_or(0.0);
        count * count * INVALID_MESSAGE_WEIGHT
    }

    /// Decays every count by one interval: the peers and their scores now (a count
    /// decayed below [`SCORE_DECAY_TO_ZERO`] is forgotten, its score 0).
    pub(crate) fn decay(&mut self) -> Vec<(PeerId, f64)> {
        let mut scores = Vec::with_capacity(self.counts.len());
        self.counts.retain(|peer, count| {
            *count *= self.decay;
            let kept = *count >= SCORE_DECAY_TO_ZERO;
            if !kept {
                *count = 0.0;
            }
            scores.push((*peer, *count * *count * INVALID_MESSAGE_WEIGHT));
            kept
        });
        scores
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rejection_costs_more_and_is_forgotten_over_the_decay_time() {
        let mut rejected = RejectedMessages::default();
        let peer = PeerId::random();
        let other = PeerId::random();
        assert_eq!(rejected.reject(peer), -20.0);
        assert_eq!(rejected.reject(peer), -80.0);
        assert_eq!(rejected.reject(peer), -180.0);
        assert_eq!(rejected.score(&other), 0.0);
        // Down to a tenth over the decay time, then to nothing.
        let intervals = INVALID_MESSAGE_DECAY_TIME.as_secs() / SCORE_DECAY_INTERVAL.as_secs();
        let mut last = rejected.score(&peer);
        for n in 0..2 * intervals {
            if n == intervals {
                assert!(last > -180.0 * 0.02, "{last} after the decay time");
            }
            let scores = rejected.decay();
            if let Some(&(_, score)) = scores.iter().find(|(p, _)| *p == peer) {
                assert!(score >= last, "{score} after {last}");
                last = score;
            }
        }
        assert_eq!(last, 0.0, "forgotten after twice the decay time");
        assert!(rejected.decay().is_empty());
    }
}
