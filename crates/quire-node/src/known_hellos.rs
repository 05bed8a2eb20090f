//! Other members' session hellos, kept to pass on in catch-up answers.
//!
//! A device opens a session's messages only once it holds that session's hello.
//! Hellos go out on gossip when their member joins or meets a peer, so a device that
//! came later through another member, and never met the session's owner, would not
//! hear it: every message of that session would reach it only by catch-up. So a
//! catch-up answer carries the hellos its sender knows. Each is signed by its own
//! device and checked on arrival, so passing one on asks no trust of the forwarder.

use std::collections::VecDeque;

use quire_crypto::{PeerId, RemoteSession, SessionId};

/// Hellos kept per document (of the sessions heard from most recently), and so at
/// most passed on in one answer: up to 256 bytes each (a writer's is 250).
pub(crate) const MAX_PASSED_HELLOS: usize = 16;

/// A hello as it arrived, with whose session it opens.
struct KnownHello {
    session: SessionId,
    device: PeerId,
    bytes: Vec<u8>,
}

/// The hellos of a document's other members that were heard or spoke most recently.
#[derive(Default)]
pub(crate) struct KnownHellos(VecDeque<KnownHello>);

impl KnownHellos {
    /// Keeps `bytes`, the hello that opened `session` (the newest copy of it).
    pub(crate) fn remember(&mut self, session: &RemoteSession, bytes: &[u8]) {
        let id = session.id();
        self.0.retain(|h| h.session != id);
        if self.0.len() >= MAX_PASSED_HELLOS {
            self.0.pop_front();
        }
        self.0.push_back(KnownHello {
            session: id,
            device: session.peer_id(),
            bytes: bytes.to_vec(),
        });
    }

    /// `session` spoke: its hello is among the last to go when room is needed (so
    /// the hellos kept are those of the members active lately, not just heard).
    pub(crate) fn touch(&mut self, session: SessionId) {
        if self.0.back().is_some_and(|h| h.session == session) {
            return;
        }
        if let Some(i) = self.0.iter().position(|h| h.session == session)
            && let Some(hello) = self.0.remove(i)
        {
            self.0.push_back(hello);
        }
    }

    /// The hellos to pass on to `asker`: all but those of its own sessions.
    pub(crate) fn for_asker(&self, asker: PeerId) -> impl Iterator<Item = &[u8]> {
        self.0
            .iter()
            .filter(move |h| h.device != asker)
            .map(|h| h.bytes.as_slice())
    }
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
        let passed: Vec<&[u8]> = known.for_asker(stranger).collect();
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
                .for_asker(stranger)
                .any(|h| h == talker_hello.as_slice())
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
        let passed: Vec<&[u8]> = known.for_asker(asker).collect();
        assert_eq!(passed, vec![other_hello.as_slice()]);
    }
}
