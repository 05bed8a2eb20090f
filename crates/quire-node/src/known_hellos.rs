//! Other members' session hellos, kept to pass on in catch-up answers.
//!
//! A device opens a session's messages only once it holds that session's hello.
//! Hellos go out on gossip when their member joins or meets a peer, so a device that
//! came later through another member, and never met the session's owner, would not
//! hear it: every message of that session would reach it only by catch-up. So a
//! catch-up answer carries the hellos of the sessions its sender heard from last, and
//! up to 8 it has under each hint the asker names (the asker could not open a message
//! under that hint which the answerer forwarded). Each is signed by its own device and
//! checked on arrival, so passing one on asks no trust of the forwarder.

use std::collections::HashMap;

use quire_crypto::{MAX_SESSIONS, PeerId, RemoteSession, SessionHint, SessionId};

/// Hellos passed on in every answer: those of the sessions heard from most recently,
/// up to 256 bytes each (a writer's is 250).
pub(crate) const MAX_PASSED_HELLOS: usize = 16;

/// Hellos kept per document: as many as a session book holds. Past this, the one
/// heard from longest ago goes.
pub(crate) const MAX_KEPT_HELLOS: usize = MAX_SESSIONS;

/// Hellos passed on under one hint the asker names, the most recently heard. An asker
/// shown fewer knows it was shown all the answerer had under the hint.
pub(crate) const MAX_HELLOS_PER_WANTED_HINT: usize = 8;

/// A hello as it arrived, with whose device it is and when it was last heard from.
struct KnownHello {
    device: PeerId,
    bytes: Vec<u8>,
    heard: u64,
}

/// The hellos of a document's other members, with how recently each was heard from.
#[derive(Default)]
pub(crate) struct KnownHellos {
    by_session: HashMap<SessionId, KnownHello>,
    /// Counts hellos heard and messages opened: a larger `heard` is more recent.
    clock: u64,
}

impl KnownHellos {
    /// Keeps `bytes`, the hello that opened `session` (the newest copy of it).
    pub(crate) fn remember(&mut self, session: &RemoteSession, bytes: &[u8]) {
        self.clock += 1;
        self.by_session.insert(
            session.id(),
            KnownHello {
                device: session.peer_id(),
                bytes: bytes.to_vec(),
                heard: self.clock,
            },
        );
        if self.by_session.len() > MAX_KEPT_HELLOS
            && let Some(oldest) = self
                .by_session
                .iter()
                .min_by_key(|(_, h)| h.heard)
                .map(|(id, _)| *id)
        {
            self.by_session.remove(&oldest);
        }
    }

    /// `session` spoke: its hello counts as heard now (so the hellos passed on are
    /// those of the members active lately, not just heard).
    pub(crate) fn touch(&mut self, session: SessionId) {
        if let Some(hello) = self.by_session.get_mut(&session) {
            self.clock += 1;
            hello.heard = self.clock;
        }
    }

    /// The hellos to pass on to `asker`: first every one under a hint it asked for
    /// (up to [`MAX_HELLOS_PER_WANTED_HINT`] a hint, the most recently heard, its own
    /// device's included), then the [`MAX_PASSED_HELLOS`] heard from last that are
    /// not its own device's; each once.
    pub(crate) fn for_asker(&self, asker: PeerId, wanted: &[SessionHint]) -> Vec<&[u8]> {
        let mut passed: Vec<&SessionId> = Vec::new();
        for hint in wanted {
            let under = newest(
                self.by_session
                    .iter()
                    .filter(|(id, _)| id.hint() == *hint && !passed.contains(id))
                    .collect(),
                MAX_HELLOS_PER_WANTED_HINT,
            );
            passed.extend(under.iter().map(|(id, _)| *id));
        }
        let recent = newest(
            self.by_session
                .iter()
                .filter(|(id, h)| h.device != asker && !passed.contains(id))
                .collect(),
            MAX_PASSED_HELLOS,
        );
        passed.extend(recent.iter().map(|(id, _)| *id));
        passed
            .iter()
            .filter_map(|id| self.by_session.get(id))
            .map(|h| h.bytes.as_slice())
            .collect()
    }
}

/// The `n` of `hellos` heard from last, the one heard from last first. Picks them
/// before sorting: a document keeps up to [`MAX_KEPT_HELLOS`], an answer passes on a
/// few.
fn newest<'a>(
    mut hellos: Vec<(&'a SessionId, &'a KnownHello)>,
    n: usize,
) -> Vec<(&'a SessionId, &'a KnownHello)> {
    let by_recency = |(_, h): &(&SessionId, &KnownHello)| std::cmp::Reverse(h.heard);
    if n == 0 {
        return Vec::new();
    }
    if hellos.len() > n {
        hellos.select_nth_unstable_by_key(n - 1, by_recency);
        hellos.truncate(n);
    }
    hellos.sort_unstable_by_key(by_recency);
    hellos
}

#[cfg(test)]
mod tests {
    use quire_crypto::{DeviceIdentity, DocKeys, LocalSession, open_hello};

    use super::*;

    /// A member's session on `keys`: its device, the session, and its hello's bytes.
    fn member(keys: &DocKeys) -> (PeerId, RemoteSession, Vec<u8>) {
        let device = DeviceIdentity::generate();
        let hello = LocalSession::start(&device, keys).hello().expect("a hello");
        let session = open_hello(keys, &hello, &keys.topic()).expect("it opens");
        (device.peer_id(), session, hello.encode())
    }

    #[test]
    fn it_keeps_the_most_recent_hellos_once_each() {
        let (keys, _) = DocKeys::generate();
        let members: Vec<_> = (0..MAX_PASSED_HELLOS + 4).map(|_| member(&keys)).collect();
        let mut known = KnownHellos::default();
        for (_, session, bytes) in &members {
            known.remember(session, bytes);
        }
        // Heard again: still once.
        let (_, session, bytes) = &members[MAX_PASSED_HELLOS + 3];
        known.remember(session, bytes);
        let stranger = DeviceIdentity::generate().peer_id();
        let passed: Vec<&[u8]> = known.for_asker(stranger, &[]);
        assert_eq!(passed.len(), MAX_PASSED_HELLOS);
        let newest: Vec<&[u8]> = members[4..].iter().map(|m| m.2.as_slice()).collect();
        assert!(newest.iter().all(|h| passed.contains(h)));
    }

    #[test]
    fn a_session_that_speaks_keeps_its_hello() {
        let (keys, _) = DocKeys::generate();
        let (_, talker, talker_hello) = member(&keys);
        let mut known = KnownHellos::default();
        known.remember(&talker, &talker_hello);
        for _ in 0..MAX_PASSED_HELLOS + 4 {
            let (_, session, bytes) = member(&keys);
            known.remember(&session, &bytes);
            known.touch(talker.id());
        }
        let stranger = DeviceIdentity::generate().peer_id();
        assert!(
            known
                .for_asker(stranger, &[])
                .contains(&talker_hello.as_slice())
        );
    }

    #[test]
    fn an_asker_is_not_given_its_own_hellos() {
        let (keys, _) = DocKeys::generate();
        let (asker, asker_session, asker_hello) = member(&keys);
        let (_, other_session, other_hello) = member(&keys);
        let mut known = KnownHellos::default();
        known.remember(&asker_session, &asker_hello);
        known.remember(&other_session, &other_hello);
        let passed: Vec<&[u8]> = known.for_asker(asker, &[]);
        assert_eq!(passed, vec![other_hello.as_slice()]);
        // Asked for by hint, its own comes too (a message of its own earlier run may
        // be what it could not open).
        let passed = known.for_asker(asker, &[asker_session.id().hint()]);
        assert_eq!(passed.len(), 2);
        assert!(passed.contains(&asker_hello.as_slice()));
    }

    #[test]
    fn a_hint_asked_for_brings_its_hellos_however_long_ago_they_were_heard() {
        let (keys, _) = DocKeys::generate();
        let (_, quiet, quiet_hello) = member(&keys);
        let mut known = KnownHellos::default();
        known.remember(&quiet, &quiet_hello);
        for _ in 0..MAX_PASSED_HELLOS + 4 {
            let (_, session, bytes) = member(&keys);
            known.remember(&session, &bytes);
        }
        let stranger = DeviceIdentity::generate().peer_id();
        assert!(
            !known
                .for_asker(stranger, &[])
                .contains(&quiet_hello.as_slice())
        );
        let passed = known.for_asker(stranger, &[quiet.id().hint()]);
        assert!(passed.contains(&quiet_hello.as_slice()));
        assert_eq!(
            passed
                .iter()
                .filter(|h| **h == quiet_hello.as_slice())
                .count(),
            1,
            "once"
        );
    }
}
