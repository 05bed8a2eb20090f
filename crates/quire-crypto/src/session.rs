//! Sessions: one device's run on one document. A session is announced once with a
//! [`Hello`](crate::Hello) carrying the device's full public key and, for writers, its
//! write grant; every message after that names the session by an 8-byte id.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use libp2p_identity::PeerId;

use crate::cipher;
use crate::doc_keys::{DocKeys, Role, TOPIC_BYTES, WriteGrant};
use crate::envelope::{self, Envelope, Kind};
use crate::error::EnvelopeError;
use crate::hello::{self, Hello};
use crate::identity::{DeviceIdentity, DevicePublicKey};

/// Length of a session id on the wire.
pub const SESSION_ID_BYTES: usize = 8;

/// Length of the random salt a session is made from.
pub const SESSION_SALT_BYTES: usize = 16;

/// Most sessions a [`SessionBook`] remembers; the oldest is forgotten first. A forgotten
/// session's messages fail with [`EnvelopeError::UnknownSession`] until its hello is
/// received again.
pub const MAX_SESSIONS: usize = 1024;

/// Most sessions of one device a [`SessionBook`] remembers, so that one device that
/// restarts often (or misbehaves) only pushes out its own old sessions.
pub const MAX_SESSIONS_PER_DEVICE: usize = 8;

/// Names a session on the wire.
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

/// The verified sessions a receiver knows, bounded by [`MAX_SESSIONS`]. Keep one per
/// open document (or one for all; sessions remember their topic).
#[derive(Debug, Default)]
pub struct SessionBook {
    sessions: HashMap<SessionId, RemoteSession>,
    /// Session ids, oldest first.
    order: VecDeque<SessionId>,
}

impl SessionBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers a verified session; returns whether it was new. A session id already
    /// known is kept as first announced.
    pub fn insert(&mut self, session: RemoteSession) -> bool {
        if self.sessions.contains_key(&session.id) {
            return false;
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
            match self.order.pop_front() {
                Some(oldest) => {
                    self.sessions.remove(&oldest);
                }
                None => break,
            }
        }
        self.order.push_back(session.id);
        self.sessions.insert(session.id, session);
        true
    }

    /// The session with this id, if its hello was accepted.
    pub fn get(&self, id: &SessionId) -> Option<&RemoteSession> {
        self.sessions.get(id)
    }

    /// Forgets a session.
    pub fn remove(&mut self, id: SessionId) -> Option<RemoteSession> {
        self.order.retain(|known| *known != id);
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
