//! Sessions: one device's run on one document. A session is announced once with a
//! [`Hello`](crate::Hello) carrying the device's full public key and, for writers, its
//! write grant. Its 8-byte id is bound into every message's associated data and
//! signature; on the wire a message names it by a 2-byte [`SessionHint`], the id's
//! first two bytes, and a receiver tries the (rarely more than one) sessions it knows
//! with that hint.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use libp2p_identity::PeerId;

use crate::cipher;
use crate::doc_keys::{DocKeys, Role, TOPIC_BYTES, WriteGrant};
use crate::envelope::{self, Envelope, Kind};
use crate::error::EnvelopeError;
use crate::hello::{self, Hello};
use crate::identity::{DeviceIdentity, DevicePublicKey};

/// Length of a session id.
pub const SESSION_ID_BYTES: usize = 8;

/// Length of a session hint, what a message carries of its session id.
pub const SESSION_HINT_BYTES: usize = 2;

/// Length of the random salt a session is made from.
pub const SESSION_SALT_BYTES: usize = 16;

/// Most sessions a [`SessionBook`] remembers; the oldest is forgotten first. A forgotten
/// session's messages fail with [`EnvelopeError::UnknownSession`] until its hello is
/// received again.
pub const MAX_SESSIONS: usize = 1024;

/// Most sessions of one device a [`SessionBook`] remembers, so that one device that
/// restarts often (or misbehaves) only pushes out its own old sessions.
pub const MAX_SESSIONS_PER_DEVICE: usize = 8;

/// Most sessions with one hint a [`SessionBook`] keeps: this bounds the signatures one
/// message can make a receiver check. When a hint is full, a writer's session takes the
/// place of the newest reader's session with that hint, and any other is refused. So a
/// member who makes sessions with another's hint (about 65,000 tries each) can keep a
/// reader's late session out of some receivers' books, never a writer's. Honest
/// collisions: among 1,024 sessions, two share a hint with probability about 1 in 130;
/// five, practically never.
pub const MAX_SESSIONS_PER_HINT: usize = 4;

/// Names a session: `blake3(device key, salt)`. On the wire, a message carries only its
/// [`SessionHint`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub [u8; SESSION_ID_BYTES]);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

impl SessionId {
    /// What a message carries of this id.
    pub fn hint(&self) -> SessionHint {
        let [first, second, ..] = self.0;
        SessionHint([first, second])
    }
}

/// Names a session on the wire: the first bytes of its [`SessionId`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionHint(pub [u8; SESSION_HINT_BYTES]);

impl fmt::Display for SessionHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for SessionHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionHint({self})")
    }
}

/// This device's sending side for one document: seals its hello and its messages.
///
/// Start a new one each time the document is opened; never persist it. Its random salt
/// is what keeps nonces unique even if sequence numbers repeat across runs, which is
/// also why it cannot be cloned: two copies could seal the same sequence number.
pub struct LocalSession {
    identity: DeviceIdentity,
    keys: DocKeys,
    salt: [u8; SESSION_SALT_BYTES],
    id: SessionId,
    grant: Option<WriteGrant>,
    last_seq: Option<u64>,
}

impl fmt::Debug for LocalSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSession")
            .field("id", &self.id)
            .field("device", &self.identity.peer_id())
            .field("role", &self.role())
            .field("last_seq", &self.last_seq)
            .finish_non_exhaustive()
    }
}

impl LocalSession {
    /// Starts a session of `identity` on the document of `keys`. If the keys hold the
    /// write key, the session carries a write grant for this device.
    pub fn start(identity: &DeviceIdentity, keys: &DocKeys) -> Self {
        let salt = rand::random();
        let device = identity.public_key();
        let grant = keys
            .write_key()
            .map(|write| write.grant(keys.doc_id(), &device));
        Self {
            identity: identity.clone(),
            keys: keys.clone(),
            id: cipher::session_id(&device, &salt),
            salt,
            grant,
            last_seq: None,
        }
    }

    /// The session's id.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// Whether this session's updates will be accepted.
    pub fn role(&self) -> Role {
        if self.grant.is_some() {
            Role::Write
        } else {
            Role::Read
        }
    }

    /// The last sequence number sealed, if any.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// The sealed announcement of this session. Send it before the first message and
    /// again whenever a peer reports [`EnvelopeError::UnknownSession`] or joins.
    pub fn hello(&self) -> Result<Hello, EnvelopeError> {
        hello::seal(self)
    }

    /// Seals `plaintext` as message `seq`. Sequence numbers must rise strictly within a
    /// session; keep them rising across sessions too (per device and document) so that
    /// receivers' [`ReplayWindow`](crate::ReplayWindow)s accept them.
    pub fn seal(
        &mut self,
        seq: u64,
        kind: Kind,
        plaintext: &[u8],
    ) -> Result<Envelope, EnvelopeError> {
        if let Some(last) = self.last_seq
            && seq <= last
        {
            return Err(EnvelopeError::SeqNotIncreasing { seq, last });
        }
        let sealed = envelope::seal(self, seq, kind, plaintext)?;
        self.last_seq = Some(seq);
        Ok(sealed)
    }

    pub(crate) fn identity(&self) -> &DeviceIdentity {
        &self.identity
    }

    pub(crate) fn keys(&self) -> &DocKeys {
        &self.keys
    }

    pub(crate) fn salt(&self) -> &[u8; SESSION_SALT_BYTES] {
        &self.salt
    }

    pub(crate) fn grant(&self) -> Option<&WriteGrant> {
        self.grant.as_ref()
    }
}

/// Another device's session, learnt from its verified hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSession {
    id: SessionId,
    device: DevicePublicKey,
    salt: [u8; SESSION_SALT_BYTES],
    topic: [u8; TOPIC_BYTES],
    is_writer: bool,
}

impl RemoteSession {
    pub(crate) fn new(
        device: DevicePublicKey,
        salt: [u8; SESSION_SALT_BYTES],
        topic: [u8; TOPIC_BYTES],
        is_writer: bool,
    ) -> Self {
        Self {
            id: cipher::session_id(&device, &salt),
            device,
            salt,
            topic,
            is_writer,
        }
    }

    /// The session's id.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// The sending device's public key.
    pub fn device(&self) -> &DevicePublicKey {
        &self.device
    }

    /// The sending device's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.device.to_peer_id()
    }

    /// The document topic the session belongs to.
    pub fn topic(&self) -> &[u8; TOPIC_BYTES] {
        &self.topic
    }

    /// Whether the hello carried a valid write grant, so its updates are accepted.
    pub fn is_writer(&self) -> bool {
        self.is_writer
    }

    pub(crate) fn salt(&self) -> &[u8; SESSION_SALT_BYTES] {
        &self.salt
    }
}

/// The verified sessions a receiver knows, bounded by [`MAX_SESSIONS`],
/// [`MAX_SESSIONS_PER_DEVICE`] and [`MAX_SESSIONS_PER_HINT`]. Keep one per open document
/// (or one for all; sessions remember their topic).
#[derive(Debug, Default)]
pub struct SessionBook {
    sessions: HashMap<SessionId, RemoteSession>,
    /// Session ids, oldest first.
    order: VecDeque<SessionId>,
    /// Session ids by hint, first accepted first.
    by_hint: HashMap<SessionHint, Vec<SessionId>>,
}

impl SessionBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers a verified session; returns whether it was added. A session id already
    /// known is kept as first announced. If its hint already names
    /// [`MAX_SESSIONS_PER_HINT`] sessions, a writer's session replaces the newest
    /// reader's among them, and any other is refused.
    pub fn insert(&mut self, session: RemoteSession) -> bool {
        if self.sessions.contains_key(&session.id) {
            return false;
        }
        let hint = session.id.hint();
        if let Some(ids) = self.by_hint.get(&hint)
            && ids.len() >= MAX_SESSIONS_PER_HINT
        {
            let newest_reader = ids
                .iter()
                .rev()
                .find(|id| self.sessions.get(id).is_some_and(|s| !s.is_writer))
                .copied();
            match newest_reader {
                Some(reader) if session.is_writer => {
                    self.remove(reader);
                }
                _ => return false,
            }
        }
        let same_device: Vec<SessionId> = self
            .order
            .iter()
            .filter(|id| {
                self.sessions
                    .get(id)
                    .is_some_and(|s| s.device == session.device)
            })
            .copied()
            .collect();
        if same_device.len() >= MAX_SESSIONS_PER_DEVICE
            && let Some(oldest) = same_device.first()
        {
            self.remove(*oldest);
        }
        while self.sessions.len() >= MAX_SESSIONS {
            match self.order.front().copied() {
                Some(oldest) => {
                    self.remove(oldest);
                }
                None => break,
            }
        }
        self.order.push_back(session.id);
        self.by_hint.entry(hint).or_default().push(session.id);
        self.sessions.insert(session.id, session);
        true
    }

    /// The session with this id, if its hello was accepted.
    pub fn get(&self, id: &SessionId) -> Option<&RemoteSession> {
        self.sessions.get(id)
    }

    /// The sessions a message with this hint may come from, first accepted first.
    pub fn with_hint(&self, hint: SessionHint) -> impl Iterator<Item = &RemoteSession> {
        self.by_hint
            .get(&hint)
            .into_iter()
            .flatten()
            .filter_map(|id| self.sessions.get(id))
    }

    /// Forgets a session.
    pub fn remove(&mut self, id: SessionId) -> Option<RemoteSession> {
        self.order.retain(|known| *known != id);
        let hint = id.hint();
        if let Some(ids) = self.by_hint.get_mut(&hint) {
            ids.retain(|known| *known != id);
            if ids.is_empty() {
                self.by_hint.remove(&hint);
            }
        }
        self.sessions.remove(&id)
    }

    /// Number of sessions known.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is known.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(device: &DevicePublicKey) -> RemoteSession {
        RemoteSession::new(device.clone(), rand::random(), [0; TOPIC_BYTES], false)
    }

    #[test]
    fn book_keeps_first_binding_and_bounds_per_device() {
        let mut book = SessionBook::new();
        let noisy = DeviceIdentity::generate().public_key();
        let quiet = DeviceIdentity::generate().public_key();
        let quiet_session = remote(&quiet);
        assert!(book.insert(quiet_session.clone()));
        assert!(!book.insert(quiet_session.clone()));
        let first_noisy = remote(&noisy);
        book.insert(first_noisy.clone());
        for _ in 0..MAX_SESSIONS_PER_DEVICE * 3 {
            book.insert(remote(&noisy));
        }
        assert_eq!(book.len(), 1 + MAX_SESSIONS_PER_DEVICE);
        assert!(
            book.get(&quiet_session.id()).is_some(),
            "other devices keep their sessions"
        );
        assert!(
            book.get(&first_noisy.id()).is_none(),
            "the noisy device's oldest went first"
        );
    }

    /// A session with a chosen id (hellos derive it; here it is set to make hints meet).
    fn with_id(device: &DevicePublicKey, id: [u8; SESSION_ID_BYTES]) -> RemoteSession {
        RemoteSession {
            id: SessionId(id),
            ..remote(device)
        }
    }

    #[test]
    fn book_finds_sessions_by_hint_and_keeps_the_first_four_of_one_hint() {
        let mut book = SessionBook::new();
        let sessions: Vec<RemoteSession> = (0..MAX_SESSIONS_PER_HINT as u8 + 2)
            .map(|n| {
                with_id(
                    &DeviceIdentity::generate().public_key(),
                    [0xab, 0xcd, n, 0, 0, 0, 0, 0],
                )
            })
            .collect();
        let other = with_id(&sessions[0].device, [0xab, 0xce, 0, 0, 0, 0, 0, 0]);
        for session in &sessions {
            book.insert(session.clone());
        }
        assert!(book.insert(other.clone()), "another hint has room");
        let hint = sessions[0].id().hint();
        let found: Vec<SessionId> = book.with_hint(hint).map(|s| s.id()).collect();
        let first: Vec<SessionId> = sessions[..MAX_SESSIONS_PER_HINT]
            .iter()
            .map(|s| s.id())
            .collect();
        assert_eq!(
            found, first,
            "the first accepted, in order; later ones refused"
        );
        assert!(book.get(&sessions[MAX_SESSIONS_PER_HINT].id()).is_none());

        // A writer's session takes the place of the newest reader's.
        let writer = RemoteSession {
            is_writer: true,
            ..with_id(&sessions[0].device, [0xab, 0xcd, 0xff, 0, 0, 0, 0, 0])
        };
        assert!(book.insert(writer.clone()));
        let mut expected = first.clone();
        expected[MAX_SESSIONS_PER_HINT - 1] = writer.id();
        let found: Vec<SessionId> = book.with_hint(hint).map(|s| s.id()).collect();
        assert_eq!(
            found[..MAX_SESSIONS_PER_HINT - 1],
            expected[..MAX_SESSIONS_PER_HINT - 1]
        );
        assert_eq!(found.last(), Some(&writer.id()));
        // A hint full of writers takes no one more.
        let writers: Vec<RemoteSession> = (0..MAX_SESSIONS_PER_HINT as u8)
            .map(|n| RemoteSession {
                is_writer: true,
                ..with_id(&sessions[0].device, [0x12, 0x34, n, 0, 0, 0, 0, 0])
            })
            .collect();
        for w in &writers {
            assert!(book.insert(w.clone()));
        }
        let late = RemoteSession {
            is_writer: true,
            ..with_id(&sessions[0].device, [0x12, 0x34, 0xff, 0, 0, 0, 0, 0])
        };
        assert!(!book.insert(late));
        book.remove(writer.id());
        book.insert(sessions[MAX_SESSIONS_PER_HINT - 1].clone());

        // A forgotten session makes room for the next with its hint.
        book.remove(sessions[1].id());
        assert!(book.insert(sessions[MAX_SESSIONS_PER_HINT].clone()));
        assert_eq!(book.with_hint(hint).count(), MAX_SESSIONS_PER_HINT);
        assert_eq!(
            book.with_hint(other.id().hint())
                .map(|s| s.id())
                .collect::<Vec<_>>(),
            [other.id()]
        );
    }

    #[test]
    fn book_is_bounded_overall() {
        let mut book = SessionBook::new();
        let first = remote(&DeviceIdentity::generate().public_key());
        book.insert(first.clone());
        for _ in 0..MAX_SESSIONS {
            book.insert(remote(&DeviceIdentity::generate().public_key()));
        }
        assert_eq!(book.len(), MAX_SESSIONS);
        assert!(book.get(&first.id()).is_none());
        assert_eq!(book.order.len(), MAX_SESSIONS);
        assert_eq!(
            book.by_hint.values().map(Vec::len).sum::<usize>(),
            MAX_SESSIONS
        );
        assert!(
            book.with_hint(first.id().hint())
                .all(|s| s.id() != first.id())
        );
    }

    #[test]
    fn local_session_refuses_repeated_seq() {
        let (keys, _) = DocKeys::generate();
        let mut session = LocalSession::start(&DeviceIdentity::generate(), &keys);
        session.seal(5, Kind::Update, b"a").unwrap();
        assert_eq!(
            session.seal(5, Kind::Update, b"b").unwrap_err(),
            EnvelopeError::SeqNotIncreasing { seq: 5, last: 5 }
        );
        assert!(session.seal(4, Kind::Awareness, b"b").is_err());
        session.seal(6, Kind::Awareness, b"c").unwrap();
        assert_eq!(session.last_seq(), Some(6));
    }
}
