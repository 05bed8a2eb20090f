//! Gossip messages that no known session signed, though one of them has the
//! message's hint ([`Incoming::Unverified`](crate::doc_sync::Incoming)): altered on
//! the way, or, rarely, from a session not yet announced that shares the hint.
//!
//! Such a message is held, unreported to gossip (so not forwarded), and the peer that
//! forwarded it is asked for a catch-up naming the message's hint. That peer opened
//! the message before forwarding it, so it holds the author's hello, and its answer
//! carries the hellos it keeps under a named hint (up to
//! [`MAX_HELLOS_PER_WANTED_HINT`], the most recently heard). Once the answer is
//! complete:
//! - if the message opens now, it is taken like any other (the session was new; a
//!   hello heard on gossip meanwhile settles it the same way);
//! - if one of the hellos shown opens it but this device's book has no room for that
//!   session, it is ignored (genuine, but not for this device to open);
//! - if none does, and fewer than the most were shown (so the forwarder showed all it
//!   had under the hint), the forwarder vouched for a message nobody signed: it is
//!   rejected, which costs the forwarder gossip score, and counted as a bad
//!   signature;
//! - otherwise, and if no complete answer naming its hint comes within
//!   [`HOLD_AT_MOST`] (the request failed or was refused, the forwarder left), it is
//!   ignored, as a message from an unknown session always was. A failed request proves
//!   nothing: circuits close, answers expire, peers leave.
//!
//! Gossip keeps a message it waits on for its history window (4 to 5 heartbeats),
//! which is why nothing is held longer: a forwarder that stalls or refuses escapes the
//! penalty, though its message is never applied. An honest forwarder is blamed only if
//! it lost the author's hello between forwarding and answering: more than
//! [`MAX_SESSIONS`](quire_crypto::MAX_SESSIONS) other sessions announced to it in
//! between. A forwarder running a version from before hints were named answers with
//! the hellos it heard from last only; it is blamed if the author's is not among
//! them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use quire_crypto::{PeerId, RemoteSession, SessionHint};
use quire_net::{MessageId, Validation};

use super::{Actor, GossipOutcome, Topic};
use crate::doc_sync::DropReason;
use crate::known_hellos::MAX_HELLOS_PER_WANTED_HINT;
use crate::wire::MAX_WANTED_HINTS;

/// Messages held per document; past this, an unverified message is ignored at once.
pub(crate) const MAX_HELD_PER_DOC: usize = 64;

/// Messages held per document from one forwarder (so one peer cannot take all the
/// room); as many as one request can name hints.
pub(crate) const MAX_HELD_PER_FORWARDER: usize = MAX_WANTED_HINTS;

/// How long a message waits for its forwarder's answer before it is ignored: within
/// gossip's history window (a message leaves its cache 4 to 5 heartbeats after it
/// came), after which a verdict no longer counts.
pub(crate) const HOLD_AT_MOST: Duration = Duration::from_secs(4);

/// A message waiting for its verdict.
pub(crate) struct Held {
    id: MessageId,
    from: PeerId,
    hint: SessionHint,
    data: Vec<u8>,
    at: Instant,
}

/// The held messages, by document.
#[derive(Default)]
pub(crate) struct HeldMessages(HashMap<Topic, Vec<Held>>);

impl HeldMessages {
    /// Holds a message; gives it back if there is no room for it.
    fn hold(&mut self, topic: Topic, held: Held) -> Option<Held> {
        let list = self.0.entry(topic).or_default();
        let from_same = list.iter().filter(|h| h.from == held.from).count();
        if list.len() >= MAX_HELD_PER_DOC || from_same >= MAX_HELD_PER_FORWARDER {
            return Some(held);
        }
        list.push(held);
        None
    }

    /// Takes the messages of `topic` that match `which`.
    fn take(&mut self, topic: Topic, which: impl Fn(&Held) -> bool) -> Vec<Held> {
        let Some(list) = self.0.get_mut(&topic) else {
            return Vec::new();
        };
        let (taken, kept) = std::mem::take(list).into_iter().partition(which);
        *list = kept;
        if list.is_empty() {
            self.0.remove(&topic);
        }
        taken
    }

    /// Takes the messages, in any document, that match `which`.
    fn take_everywhere(&mut self, which: impl Fn(&Held) -> bool) -> Vec<(Topic, Held)> {
        let topics: Vec<Topic> = self.0.keys().copied().collect();
        topics
            .into_iter()
            .flat_map(|t| self.take(t, &which).into_iter().map(move |h| (t, h)))
            .collect()
    }

    /// The hints of the messages `from` forwarded in `topic`, each once: what a
    /// catch-up request to it names.
    pub(crate) fn hints_from(&self, topic: Topic, from: PeerId) -> Vec<SessionHint> {
        let mut hints: Vec<SessionHint> = Vec::new();
        for held in self.0.get(&topic).into_iter().flatten() {
            if held.from == from && !hints.contains(&held.hint) {
                hints.push(held.hint);
            }
        }
        hints.truncate(MAX_WANTED_HINTS);
        hints
    }
}

impl Actor {
    /// Holds an unverified message and asks its forwarder for a catch-up naming its
    /// hint; if it cannot be held (a relay forwarded it, or there is no room),
    /// ignores it now.
    pub(super) async fn hold_unverified(
        &mut self,
        topic: Topic,
        id: MessageId,
        from: PeerId,
        hint: SessionHint,
        data: Vec<u8>,
    ) {
        let held = Held {
            id,
            from,
            hint,
            data,
            at: Instant::now(),
        };
        // A relay holds no keys and forwards what arrives: it vouches for nothing.
        let refused = if self.relays.is_relay(&from) {
            Some(held)
        } else {
            self.held.hold(topic, held)
        };
        match refused {
            None => self.start_catch_up(topic, from, true).await,
            Some(held) => {
                let verdict = self.dropped(topic, from, DropReason::UnknownSession);
                self.start_catch_up(topic, from, false).await;
                let _ = self.net.report_validation(held.id, from, verdict).await;
            }
        }
    }

    /// A catch-up with `peer` is complete: settles what it forwarded under a hint
    /// that a request of it named (`named`: each hint, and when it was first named),
    /// if the message was held by then, with the hellos its answers showed (`shown`).
    pub(super) async fn settle_held(
        &mut self,
        topic: Topic,
        peer: PeerId,
        named: &HashMap<SessionHint, Instant>,
        shown: &[RemoteSession],
    ) {
        let settled = self.held.take(topic, |h| {
            h.from == peer && named.get(&h.hint).is_some_and(|at| h.at <= *at)
        });
        for held in settled {
            let verdict = match self.handle_gossip(peer, topic, &held.data).await {
                GossipOutcome::Settled(verdict) => verdict,
                GossipOutcome::NewSession { .. } => Validation::Accept,
                GossipOutcome::Unverified(_) => self.judge(topic, peer, &held, shown),
            };
            let _ = self.net.report_validation(held.id, peer, verdict).await;
        }
    }

    /// The verdict on a held message that still opens under no session in the book,
    /// after its forwarder showed `shown`.
    fn judge(
        &mut self,
        topic: Topic,
        peer: PeerId,
        held: &Held,
        shown: &[RemoteSession],
    ) -> Validation {
        let under = || shown.iter().filter(|s| s.id().hint() == held.hint);
        let Some(doc) = self.docs.get(&topic) else {
            return Validation::Ignore;
        };
        if doc.signed_by_any(&held.data, under()) {
            // Genuine; this device's book had no room for its session.
            return self.dropped(topic, peer, DropReason::UnknownSession);
        }
        if under().count() >= MAX_HELLOS_PER_WANTED_HINT {
            // It may have had more under the hint than it could show.
            return self.dropped(topic, peer, DropReason::UnknownSession);
        }
        tracing::warn!(
            %peer,
            "a message it forwarded opens under no session it could show; penalised"
        );
        self.dropped(topic, peer, DropReason::BadSignature)
    }

    /// A session under `hint` was announced: takes the held messages it opens.
    pub(super) async fn retry_held(&mut self, topic: Topic, hint: SessionHint) {
        for held in self.held.take(topic, |h| h.hint == hint) {
            let (verdict, held) = match self.handle_gossip(held.from, topic, &held.data).await {
                GossipOutcome::Settled(verdict) => (verdict, held),
                GossipOutcome::NewSession { .. } => (Validation::Accept, held),
                // Still waiting for its forwarder's answer (it had room before).
                GossipOutcome::Unverified(_) => match self.held.hold(topic, held) {
                    None => continue,
                    Some(held) => (Validation::Ignore, held),
                },
            };
            let _ = self
                .net
                .report_validation(held.id, held.from, verdict)
                .await;
        }
    }

    /// Ignores what `peer` forwarded: it left.
    pub(super) async fn release_from(&mut self, peer: PeerId) {
        let released = self.held.take_everywhere(|h| h.from == peer);
        self.release(released).await;
    }

    /// Ignores what waited longer than [`HOLD_AT_MOST`].
    pub(super) async fn release_expired(&mut self) {
        let Some(before) = Instant::now().checked_sub(HOLD_AT_MOST) else {
            return;
        };
        let released = self.held.take_everywhere(|h| h.at < before);
        self.release(released).await;
    }

    /// Ignores what was held for `topic`: the document was left.
    pub(super) async fn release_topic(&mut self, topic: Topic) {
        let released = self.held.take(topic, |_| true);
        self.release(released.into_iter().map(|h| (topic, h)).collect())
            .await;
    }

    /// Reports each message ignored (from an unknown session, not penalised).
    async fn release(&mut self, released: Vec<(Topic, Held)>) {
        for (topic, held) in released {
            let verdict = self.dropped(topic, held.from, DropReason::UnknownSession);
            let _ = self
                .net
                .report_validation(held.id, held.from, verdict)
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(from: PeerId, hint: u8, at: Instant) -> Held {
        Held {
            id: MessageId::new(b"m"),
            from,
            hint: SessionHint([hint, 0]),
            data: vec![1],
            at,
        }
    }

    #[test]
    fn room_is_bounded_per_document_and_per_forwarder() {
        let mut book = HeldMessages::default();
        let now = Instant::now();
        let first = PeerId::random();
        for i in 0..MAX_HELD_PER_FORWARDER {
            assert!(book.hold([1; 32], held(first, i as u8, now)).is_none());
        }
        assert!(
            book.hold([1; 32], held(first, 0, now)).is_some(),
            "one forwarder's room is full"
        );
        assert!(
            book.hold([2; 32], held(first, 0, now)).is_none(),
            "per document"
        );
        while book.0.get(&[1; 32]).map_or(0, Vec::len) < MAX_HELD_PER_DOC {
            assert!(book.hold([1; 32], held(PeerId::random(), 0, now)).is_none());
        }
        assert!(
            book.hold([1; 32], held(PeerId::random(), 0, now)).is_some(),
            "the document's room is full"
        );
    }

    #[test]
    fn held_messages_are_found_by_forwarder_hint_and_age() {
        let mut book = HeldMessages::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        let now = Instant::now();
        let earlier = now.checked_sub(Duration::from_secs(20)).unwrap();
        book.hold([1; 32], held(a, 7, earlier));
        book.hold([1; 32], held(a, 7, now));
        book.hold([1; 32], held(a, 9, now));
        book.hold([1; 32], held(b, 9, now));
        book.hold([2; 32], held(a, 3, now));
        let hints = book.hints_from([1; 32], a);
        assert_eq!(hints, vec![SessionHint([7, 0]), SessionHint([9, 0])]);

        let old = book.take_everywhere(|h| h.at < now);
        assert_eq!(old.len(), 1);
        assert!(old[0].1.from == a && old[0].0 == [1; 32]);
        assert_eq!(
            book.take([1; 32], |h| h.hint == SessionHint([9, 0])).len(),
            2
        );
        assert_eq!(book.take_everywhere(|h| h.from == a).len(), 2);
        assert!(book.0.is_empty());
    }
}
