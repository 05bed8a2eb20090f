//! One shared document on the node: its keys and sealing session, the sessions of
//! the other members, replay windows, who is subscribed, presences and counters.
//! Opening and classifying what arrives happens here, without any I/O.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use quire_crypto::{
    DeviceIdentity, DocKeys, EnvelopeError, Kind, LocalSession, MAX_SESSIONS_PER_HINT, Opened,
    PeerId, Received, RemoteSession, ReplayError, ReplayWindow, Role, Sealed, SessionBook,
    SessionHint, SessionId, TOPIC_BYTES, open, receive,
};
use quire_doc::DocumentId;

use crate::known_hellos::KnownHellos;
use crate::presence::{AwarenessMessage, Presence, PresenceBook};

/// Why a message from a peer was dropped (counted per document, shown by status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// Not a sealed message or bundle of the expected shape, or over a size limit.
    Malformed,
    /// Sealed for another document than the topic it came on.
    WrongTopic,
    /// From a session whose hello we have not seen (not penalised: it may be early).
    UnknownSession,
    /// The device signature (or a write grant) does not verify.
    BadSignature,
    /// An edit from a member without write access.
    NotAWriter,
    /// Sealed with another document key.
    Undecryptable,
    /// A message already received, or presence too old to tell (not penalised:
    /// gossip delivers late copies, and a genuine message replayed does no harm).
    Replayed,
    /// A CRDT update the document refused.
    BadUpdate,
    /// Over a rate limit.
    RateLimited,
    /// A valid message of a kind that does not belong where it came.
    Unexpected,
    /// A catch-up continuation for an answer no longer held (not penalised: the
    /// asker starts over).
    Expired,
}

impl DropReason {
    /// Short name for status output and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::WrongTopic => "wrong_topic",
            DropReason::UnknownSession => "unknown_session",
            DropReason::BadSignature => "bad_signature",
            DropReason::NotAWriter => "not_a_writer",
            DropReason::Undecryptable => "undecryptable",
            DropReason::Replayed => "replayed",
            DropReason::BadUpdate => "bad_update",
            DropReason::RateLimited => "rate_limited",
            DropReason::Unexpected => "unexpected",
            DropReason::Expired => "expired",
        }
    }

    /// Whether the peer that sent it should lose gossip score. Only messages that
    /// could not have come from an honest member in a normal race are penalised.
    pub fn penalise(self) -> bool {
        !matches!(
            self,
            DropReason::UnknownSession
                | DropReason::RateLimited
                | DropReason::Expired
                | DropReason::Replayed
        )
    }

    pub(crate) fn of(error: &EnvelopeError) -> Self {
        match error {
            EnvelopeError::WrongTopic => DropReason::WrongTopic,
            EnvelopeError::UnknownSession(_) => DropReason::UnknownSession,
            EnvelopeError::BadDeviceSignature | EnvelopeError::BadWriteGrant => {
                DropReason::BadSignature
            }
            EnvelopeError::NotAWriter => DropReason::NotAWriter,
            EnvelopeError::Undecryptable => DropReason::Undecryptable,
            _ => DropReason::Malformed,
        }
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a gossip message turned out to be.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A member's session hello; `is_new` the first time it is heard; `device` the
    /// device that said it.
    Session {
        is_new: bool,
        hint: SessionHint,
        device: PeerId,
    },
    /// A writer's CRDT update, to apply.
    Update {
        sender: PeerId,
        seq: u64,
        update: Vec<u8>,
    },
    /// A presence or goodbye.
    Awareness {
        sender: PeerId,
        message: AwarenessMessage,
    },
    /// Signed by none of the sessions we know, though one of them has its hint (and
    /// the hint has room for more): altered on the way, or from a session not yet
    /// announced that shares the hint (about 1 in 65,000 per known session). Its
    /// forwarder's catch-up answer settles which.
    Unverified { hint: SessionHint },
    /// From a session not known here, under `hint` (its hello may be on the way, or
    /// the hint's room is full: `hint_has_room` is false): dropped, not penalised.
    Unknown {
        hint: SessionHint,
        hint_has_room: bool,
    },
    /// Dropped.
    Dropped(DropReason),
}

pub(crate) struct DocSync {
    pub(crate) id: DocumentId,
    pub(crate) keys: DocKeys,
    pub(crate) topic: [u8; TOPIC_BYTES],
    /// The key its sync digest is computed with (from the read key).
    pub(crate) digest_key: [u8; 32],
    session: LocalSession,
    book: SessionBook,
    /// Other members' hellos, passed on in catch-up answers.
    pub(crate) hellos: KnownHellos,
    replay: HashMap<SessionId, ReplayWindow>,
    /// Peers subscribed to the topic.
    pub(crate) peers: HashSet<PeerId>,
    pub(crate) presence: PresenceBook,
    pub(crate) local_presence: Presence,
    pub(crate) presence_dirty: bool,
    pub(crate) presence_sent: Option<Instant>,
    pub(crate) last_sync: Option<i64>,
    /// Local updates no peer is known to have yet.
    pub(crate) pending: u64,
    pub(crate) sent: u64,
    /// Sealed bytes of the live updates published.
    pub(crate) sent_bytes: u64,
    /// Live updates published.
    pub(crate) live_sent: u64,
    pub(crate) received: u64,
    /// Full catch-up exchanges started on it.
    pub(crate) catch_ups_started: u64,
    pub(crate) dropped: BTreeMap<DropReason, u64>,
    /// Peer and relay addresses from the ticket, dialled while nobody is here.
    pub(crate) addrs: Vec<quire_net::Multiaddr>,
    /// When this document last ran its periodic catch-up.
    pub(crate) last_periodic: Instant,
    /// Live updates went out or came in since the last periodic catch-up: only such
    /// a document runs one (a quiet one has nothing gossip could have lost), so idle
    /// cost does not grow with the number of documents.
    pub(crate) live_since_periodic: bool,
    /// When its addresses were last dialled.
    pub(crate) last_redial: Option<Instant>,
    /// Peers that subscribed and have not been greeted since (sent our hello).
    pub(crate) new_subscribers: HashSet<PeerId>,
    /// Peers greeted after they subscribed whose own hello is still to come: it needs
    /// no greeting back (else a connect sends every document's hello and presence
    /// twice each way). A later new session of theirs (a restart whose connection
    /// was replaced unseen) is greeted as usual.
    pub(crate) greeted: HashSet<PeerId>,
}

impl DocSync {
    pub(crate) fn new(
        id: DocumentId,
        keys: DocKeys,
        identity: &DeviceIdentity,
        presence: Presence,
        last_sync: Option<i64>,
    ) -> Self {
        Self {
            id,
            topic: keys.topic(),
            digest_key: keys.sync_digest_key(),
            session: LocalSession::start(identity, &keys),
            keys,
            book: SessionBook::new(),
            hellos: KnownHellos::default(),
            replay: HashMap::new(),
            peers: HashSet::new(),
            presence: PresenceBook::default(),
            local_presence: presence,
            presence_dirty: true,
            presence_sent: None,
            last_sync,
            pending: 0,
            sent: 0,
            sent_bytes: 0,
            live_sent: 0,
            received: 0,
            catch_ups_started: 0,
            dropped: BTreeMap::new(),
            addrs: Vec::new(),
            last_periodic: Instant::now(),
            live_since_periodic: false,
            last_redial: None,
            new_subscribers: HashSet::new(),
            greeted: HashSet::new(),
        }
    }

    pub(crate) fn role(&self) -> Role {
        self.keys.role()
    }

    /// A fresh sealing of our session hello (fresh bytes, so gossip never sees a
    /// duplicate).
    pub(crate) fn hello(&self) -> Result<Vec<u8>, EnvelopeError> {
        self.session.hello().map(|h| h.encode())
    }

    /// Seals a message with the next sequence number.
    pub(crate) fn seal(&mut self, kind: Kind, plaintext: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        let seq = self.session.last_seq().map_or(1, |s| s + 1);
        self.session.seal(seq, kind, plaintext).map(|e| e.encode())
    }

    /// The sequence number of the last message sealed.
    pub(crate) fn last_seq(&self) -> Option<u64> {
        self.session.last_seq()
    }

    pub(crate) fn count_drop(&mut self, reason: DropReason) {
        *self.dropped.entry(reason).or_default() += 1;
    }

    /// Opens a message that came over gossip.
    pub(crate) fn receive_gossip(&mut self, data: &[u8]) -> Incoming {
        let opened = match receive(&self.keys, &mut self.book, data, &self.topic) {
            Ok(Received::Session { session, is_new }) => {
                self.hellos.remember(&session, data);
                return Incoming::Session {
                    is_new,
                    hint: session.id().hint(),
                    device: session.peer_id(),
                };
            }
            Ok(Received::Message(opened)) => opened,
            Err(EnvelopeError::UnknownSession(hint)) => {
                let known = self.book.with_hint(hint).count();
                let hint_has_room = known < MAX_SESSIONS_PER_HINT;
                // A known session has the hint, and the hint has room for another:
                // either the message was altered, or its session is new.
                if known > 0 && hint_has_room {
                    return Incoming::Unverified { hint };
                }
                // No known session has the hint (its hello may be on the way), or
                // the hint's room is full: then the hello that would open it may not
                // be let in (hint squatting), nobody can show it, nobody is blamed.
                return Incoming::Unknown {
                    hint,
                    hint_has_room,
                };
            }
            Err(e) => return Incoming::Dropped(DropReason::of(&e)),
        };
        self.hellos.touch(opened.session);
        match self
            .replay
            .entry(opened.session)
            .or_default()
            .accept(opened.seq)
        {
            Ok(()) => {}
            // A signed update too far behind the window to tell whether it came
            // before: gossip can deliver one seconds late (an IWANT answer), and
            // applying a CRDT update twice changes nothing, so it is applied.
            Err(ReplayError::TooOld { .. }) if opened.kind == Kind::Update => {}
            Err(_) => return Incoming::Dropped(DropReason::Replayed),
        }
        // Windows of sessions the book has forgotten go too, so they stay bounded.
        if self.replay.len() > quire_crypto::MAX_SESSIONS {
            let book = &self.book;
            self.replay.retain(|id, _| book.get(id).is_some());
        }
        self.classify(opened)
    }

    fn classify(&mut self, opened: Opened) -> Incoming {
        match opened.kind {
            Kind::Update => Incoming::Update {
                sender: opened.sender,
                seq: opened.seq,
                update: opened.plaintext,
            },
            Kind::Awareness => match AwarenessMessage::decode(&opened.plaintext, &opened.sender) {
                Some(message) => Incoming::Awareness {
                    sender: opened.sender,
                    message,
                },
                None => Incoming::Dropped(DropReason::Malformed),
            },
            Kind::Sync => Incoming::Dropped(DropReason::Unexpected),
        }
    }

    /// Opens one item of a catch-up bundle or relay mailbox: a hello (learnt) or a
    /// message.
    pub(crate) fn receive_item(&mut self, item: &[u8]) -> Result<BundleItem, DropReason> {
        match receive(&self.keys, &mut self.book, item, &self.topic) {
            Ok(Received::Session { session, .. }) => {
                self.hellos.remember(&session, item);
                Ok(BundleItem::Hello(session))
            }
            Ok(Received::Message(opened)) => Ok(BundleItem::Message(opened)),
            Err(e) => Err(DropReason::of(&e)),
        }
    }

    /// Whether one of `sessions` signed the gossip message `data`, whatever this
    /// document's own book holds (it may have no room for them).
    pub(crate) fn signed_by_any<'a>(
        &self,
        data: &[u8],
        sessions: impl IntoIterator<Item = &'a RemoteSession>,
    ) -> bool {
        let Ok(Sealed::Message(envelope)) = Sealed::decode(data) else {
            return false;
        };
        let mut book = SessionBook::new();
        for session in sessions {
            book.insert(session.clone());
        }
        open(&self.keys, &book, &envelope, &self.topic).is_ok()
    }
}

/// An item of a catch-up bundle or relay mailbox, opened.
pub(crate) enum BundleItem {
    /// A session's hello (now in the book, if it had room).
    Hello(RemoteSession),
    /// A sealed message.
    Message(Opened),
}

#[cfg(test)]
mod tests {
    use quire_crypto::open_hello;

    use super::*;

    fn doc_sync(keys: &DocKeys) -> DocSync {
        let me = DeviceIdentity::generate();
        DocSync::new(
            DocumentId::random(),
            keys.clone(),
            &me,
            Presence::new("me", &me.peer_id()),
            None,
        )
    }

    #[test]
    fn replays_and_other_documents_are_dropped_with_their_reason() {
        let (keys, _) = DocKeys::generate();
        let mut receiver = doc_sync(&keys);
        let writer = DeviceIdentity::generate();
        let mut session = LocalSession::start(&writer, &keys);
        let hello = session.hello().unwrap().encode();
        let update = session.seal(1, Kind::Update, b"update").unwrap().encode();

        assert!(matches!(
            receiver.receive_gossip(&update),
            Incoming::Unknown { .. }
        ));
        assert!(matches!(
            receiver.receive_gossip(&hello),
            Incoming::Session { is_new: true, .. }
        ));
        assert!(matches!(
            receiver.receive_gossip(&update),
            Incoming::Update { seq: 1, .. }
        ));
        assert!(matches!(
            receiver.receive_gossip(&update),
            Incoming::Dropped(DropReason::Replayed)
        ));

        // Sealed for another document: its hello does not open here.
        let (other_keys, _) = DocKeys::generate();
        let mut stranger = LocalSession::start(&writer, &other_keys);
        let other_hello = stranger.hello().unwrap().encode();
        assert!(matches!(
            receiver.receive_gossip(&other_hello),
            Incoming::Dropped(_)
        ));
        let other = stranger.seal(1, Kind::Update, b"x").unwrap().encode();
        assert!(matches!(
            receiver.receive_gossip(&other),
            Incoming::Unknown { .. }
        ));

        // A catch-up request on gossip is out of place; garbage is malformed.
        let sync = session.seal(2, Kind::Sync, b"sv").unwrap().encode();
        assert!(matches!(
            receiver.receive_gossip(&sync),
            Incoming::Dropped(DropReason::Unexpected)
        ));
        assert!(matches!(
            receiver.receive_gossip(&[1, 1, 2, 3]),
            Incoming::Dropped(DropReason::Malformed)
        ));
        // A signed update from far behind the window is applied (harmless twice);
        // late presence is dropped, and neither costs its forwarder anything.
        for seq in 3..=(3 + quire_crypto::REPLAY_WINDOW) {
            let newer = session.seal(seq, Kind::Update, b"u").unwrap().encode();
            assert!(matches!(
                receiver.receive_gossip(&newer),
                Incoming::Update { .. }
            ));
        }
        assert!(matches!(
            receiver.receive_gossip(&update),
            Incoming::Update { seq: 1, .. }
        ));
        assert!(!DropReason::Replayed.penalise() && !DropReason::UnknownSession.penalise());
        assert!(DropReason::BadSignature.penalise() && DropReason::Malformed.penalise());
    }

    /// Altered on the way, a message verifies under no session it may come from: it is
    /// not applied, and is told apart from one whose session is not known at all
    /// (whose hello may still be on the way).
    #[test]
    fn a_tampered_message_is_unverified_and_unapplied() {
        let (keys, _) = DocKeys::generate();
        let mut receiver = doc_sync(&keys);
        let writer = DeviceIdentity::generate();
        let mut session = LocalSession::start(&writer, &keys);
        receiver.receive_gossip(&session.hello().unwrap().encode());
        let mut update = session.seal(1, Kind::Update, b"update").unwrap().encode();
        let last = update.len() - 70;
        update[last] ^= 1;
        assert!(matches!(
            receiver.receive_gossip(&update),
            Incoming::Unverified { .. }
        ));
        update[last] ^= 1;
        assert!(matches!(
            receiver.receive_gossip(&update),
            Incoming::Update { .. }
        ));
    }

    /// A session not yet announced whose hint a known session has looks altered at
    /// first; once its hello is in, its message opens (so holding it, not rejecting
    /// it at once, is what keeps an honest forwarder from being penalised).
    #[test]
    fn a_new_session_sharing_a_known_hint_opens_once_announced() {
        let (keys, _) = DocKeys::generate();
        let mut receiver = doc_sync(&keys);
        let writer = DeviceIdentity::generate();
        // Two sessions with one hint: the birthday bound finds them within a few
        // hundred (and 65,537 sessions always hold two).
        let mut by_hint: HashMap<[u8; 2], LocalSession> = HashMap::new();
        let (known, mut late) = loop {
            let session = LocalSession::start(&writer, &keys);
            let hint = session.id().hint().0;
            if let Some(first) = by_hint.remove(&hint) {
                break (first, session);
            }
            by_hint.insert(hint, session);
        };
        receiver.receive_gossip(&known.hello().unwrap().encode());
        let update = late.seal(1, Kind::Update, b"update").unwrap().encode();
        assert!(matches!(
            receiver.receive_gossip(&update),
            Incoming::Unverified { .. }
        ));
        receiver.receive_gossip(&late.hello().unwrap().encode());
        assert!(matches!(
            receiver.receive_gossip(&update),
            Incoming::Update { seq: 1, .. }
        ));
    }

    /// A message is checked against the sessions a forwarder showed, apart from the
    /// book: its author's opens it, an altered copy opens under none.
    #[test]
    fn a_message_is_checked_against_the_sessions_shown() {
        let (keys, _) = DocKeys::generate();
        let receiver = doc_sync(&keys);
        let writer = DeviceIdentity::generate();
        let mut session = LocalSession::start(&writer, &keys);
        let shown = open_hello(&keys, &session.hello().unwrap(), &keys.topic()).unwrap();
        let other = LocalSession::start(&DeviceIdentity::generate(), &keys);
        let stranger = open_hello(&keys, &other.hello().unwrap(), &keys.topic()).unwrap();
        let mut update = session.seal(1, Kind::Update, b"update").unwrap().encode();
        assert!(receiver.signed_by_any(&update, [&stranger, &shown]));
        assert!(!receiver.signed_by_any(&update, [&stranger]));
        assert!(!receiver.signed_by_any(&update, []));
        *update.last_mut().unwrap() ^= 1;
        assert!(!receiver.signed_by_any(&update, [&shown]));
        assert!(!receiver.signed_by_any(&[1, 2, 3], []));
        assert!(receiver.book.is_empty(), "the book is not touched");
    }

    /// Under a hint whose room is full, a message no known session signed may be from
    /// a session the book could not let in: it is from an unknown session, which
    /// blames nobody, not unverified.
    #[test]
    fn under_a_full_hint_an_unsigned_message_blames_nobody() {
        let (keys, _) = DocKeys::generate();
        let readers = keys.read_only();
        let mut receiver = doc_sync(&keys);
        let member = DeviceIdentity::generate();
        // Readers' sessions (no grant to sign, so quick to make) until one hint has
        // one more than it has room for.
        let mut by_hint: HashMap<[u8; 2], Vec<LocalSession>> = HashMap::new();
        let mut sessions = loop {
            let session = LocalSession::start(&member, &readers);
            let same = by_hint.entry(session.id().hint().0).or_default();
            same.push(session);
            if same.len() > MAX_SESSIONS_PER_HINT {
                break std::mem::take(same);
            }
        };
        let mut outsider = sessions.pop().unwrap();
        for session in &sessions {
            receiver.receive_gossip(&session.hello().unwrap().encode());
        }
        let presence = outsider.seal(1, Kind::Awareness, b"junk").unwrap().encode();
        assert!(matches!(
            receiver.receive_gossip(&presence),
            Incoming::Unknown { .. }
        ));
    }
}
