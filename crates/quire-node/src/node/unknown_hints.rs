//! Hints of sessions a peer forwarded messages from that no session known here has:
//! named in the next catch-up request to that peer, whose answer then carries their
//! hellos (it opened those messages before forwarding them, so it holds them).
//!
//! An answer passes on the hellos of the 16 sessions its sender heard from last
//! anyway, which nearly always include the author of a message it has just forwarded;
//! naming the hint makes it certain, however many sessions spoke in between.

use std::collections::HashMap;

use quire_crypto::{PeerId, SessionHint};

use super::Topic;
use crate::wire::MAX_WANTED_HINTS;

/// Per document and forwarder, the hints to name (the newest [`MAX_WANTED_HINTS`]).
#[derive(Default)]
pub(crate) struct UnknownSessionHints(HashMap<(Topic, PeerId), Vec<SessionHint>>);

impl UnknownSessionHints {
    /// `peer` forwarded a message in `topic` under `hint` that opened under no session.
    pub(crate) fn note(&mut self, topic: Topic, peer: PeerId, hint: SessionHint) {
        let hints = self.0.entry((topic, peer)).or_default();
        if hints.contains(&hint) {
            return;
        }
        if hints.len() >= MAX_WANTED_HINTS {
            hints.remove(0);
        }
        hints.push(hint);
    }

    /// The hints to name to `peer` in `topic`.
    pub(crate) fn of(&self, topic: Topic, peer: PeerId) -> &[SessionHint] {
        self.0.get(&(topic, peer)).map_or(&[], Vec::as_slice)
    }

    /// A catch-up with `peer` in `topic` is complete: what it named was answered.
    pub(crate) fn answered(&mut self, topic: Topic, peer: PeerId, named: &[SessionHint]) {
        if let Some(hints) = self.0.get_mut(&(topic, peer)) {
            hints.retain(|h| !named.contains(h));
            if hints.is_empty() {
                self.0.remove(&(topic, peer));
            }
        }
    }

    /// A hello under `hint` came in `topic`: no need to ask anyone for it.
    pub(crate) fn heard(&mut self, topic: Topic, hint: SessionHint) {
        self.0.retain(|(t, _), hints| {
            if *t == topic {
                hints.retain(|h| *h != hint);
            }
            !hints.is_empty()
        });
    }

    /// Forgets what `peer` forwarded: it left.
    pub(crate) fn forget_peer(&mut self, peer: PeerId) {
        self.0.retain(|(_, p), _| *p != peer);
    }

    /// Forgets what was forwarded in `topic`: the document was left.
    pub(crate) fn forget_topic(&mut self, topic: Topic) {
        self.0.retain(|(t, _), _| *t != topic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_hints_are_named_until_answered() {
        let mut hints = UnknownSessionHints::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        for i in 0..MAX_WANTED_HINTS as u8 + 2 {
            hints.note([1; 32], a, SessionHint([i, 0]));
            hints.note([1; 32], a, SessionHint([i, 0]));
        }
        hints.note([1; 32], b, SessionHint([9, 9]));
        let named = hints.of([1; 32], a).to_vec();
        assert_eq!(named.len(), MAX_WANTED_HINTS);
        assert_eq!(named.first(), Some(&SessionHint([2, 0])), "the oldest went");
        assert!(hints.of([2; 32], a).is_empty());

        hints.note([1; 32], a, SessionHint([42, 0]));
        hints.answered([1; 32], a, &named);
        assert_eq!(hints.of([1; 32], a), &[SessionHint([42, 0])]);
        hints.heard([1; 32], SessionHint([9, 9]));
        assert!(hints.of([1; 32], b).is_empty(), "its hello came by gossip");
        hints.forget_peer(a);
        assert!(hints.of([1; 32], a).is_empty());
        hints.forget_topic([1; 32]);
        assert!(hints.0.is_empty());
    }
}
