//! Relays' mailboxes: how members who are never online together still converge.
//!
//! For every shared document and every configured relay, the node
//! - uploads what the relay lacks from it: the difference between the document's
//!   state and the state the relay last acknowledged (a state vector kept by the
//!   engine), sealed with this device's hello as one bundle, at most every
//!   [`RELAY_UPLOAD_EVERY`] while the document changes, and again after a restart
//!   (the documents due at one relay go in one request);
//! - reads what came after the last item it read (a cursor kept by the engine) when
//!   the relay connects, and after that when the relay names the document among
//!   those changed since the last change number the node saw (asked every
//!   [`RELAY_FETCH_EVERY`], see [`super::relay_changes`]; a relay from before change
//!   numbers has every mailbox read that often), the documents due together in
//!   batched reads, and applies it like a catch-up answer (see
//!   [`super::relay_reads`]);
//! - signs every put and compaction with the document's mailbox key (derived from
//!   the write key, so readers do not write to a relay's mailbox; see
//!   [`quire_net::mailbox_auth`]); a relay that pinned another key for the
//!   document refuses them, and the refusal is logged and shown in the status;
//! - once it has read [`crate::NodeConfig::relay_compact_after`] items of a document
//!   there since the last snapshot (and is a writer), replaces the items it has read
//!   with one sealed snapshot of the document (see [`super::compaction`]). Items that
//!   came after the last one it read stay.
//!
//! The relays are those of the device's settings (used for every document) and
//! those named in a document's invite link (as `<relay address>/p2p-circuit`, used
//! for that document only).
//!
//! Each connected relay also gets the node through NATs: the node reserves a slot
//! there (members behind other NATs reach it through the relay's circuit), keeps
//! each document it serves registered at the relay's rendezvous point under the
//! document's topic, and looks up the other members there (paced, see
//! [`super::relay_discovery`]); those found are dialled, and DCUtR makes the connection
//! direct where the NATs allow.
//!
//! One request per relay and document is in flight at a time; its result comes back
//! to the node's loop as a [`RelayResult`].

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use quire_crypto::{Kind, MAX_PLAINTEXT_BYTES, PeerId, Role};
use quire_doc::DocumentId;
use quire_engine::Engine;
use quire_net::Multiaddr;
use quire_net::mailbox_auth::{MailboxAuth, Operation};
use quire_net::mailbox_protocol::{
    MAX_MAILBOX_ITEM_BYTES, MAX_PUT_BATCH, MailboxRequest, MailboxResponse, PutItem,
};
use quire_net::multiaddr::Protocol;
use tokio::sync::mpsc;

use super::compaction::Snapshot;
use super::due_times::DueTimes;
use super::per_second::PerSecond;
use super::relay_changes::Feed;
use super::relay_discovery::Discoveries;
use super::relay_reads::ReadOutcome;
use super::{Actor, Topic};
use crate::doc_sync::DocSync;
use crate::status::NodeEvent;
use crate::wire::encode_bundle;

/// Least time between two uploads of one document to one relay.
pub const RELAY_UPLOAD_EVERY: Duration = Duration::from_secs(1);

/// How often a relay is asked which documents changed (see
/// [`super::relay_changes`]); at a relay without change numbers, how often every
/// mailbox is read (besides when it connects).
pub const RELAY_FETCH_EVERY: Duration = Duration::from_secs(30);

/// Mailbox read requests in flight at one relay at once (a batched read counts
/// once); the documents due after those wait for the next tick. A device that
/// shares thousands of documents through a relay asked for all of them at once, and
/// its connection ran out of streams (yamux refused them: "max sub-streams reached").
pub(crate) const MAX_RELAY_READS_IN_FLIGHT: usize = 16;
const _: () = assert!(
    MAX_RELAY_READS_IN_FLIGHT < quire_net::mailbox_protocol::MAX_CONCURRENT_MAILBOX_STREAMS
);

/// Documents being uploaded to one relay at once (from the engine's diff to the
/// relay's answer): four batched puts' worth. A device that imported thousands of
/// documents while connected put all of them at once, and its connection ran out
/// of streams ("max sub-streams reached"), failing reads with the uploads.
pub(crate) const MAX_RELAY_UPLOADS_IN_FLIGHT: usize = 4 * MAX_PUT_BATCH;
const _: () = assert!(
    MAX_RELAY_UPLOADS_IN_FLIGHT / MAX_PUT_BATCH + MAX_RELAY_READS_IN_FLIGHT
        < quire_net::mailbox_protocol::MAX_CONCURRENT_MAILBOX_STREAMS
);

/// Batched mailbox reads that fail in a row without an answer (not a refusal)
/// before a relay is read one document per request: a relay from before batched
/// reads cannot decode them and closes the stream every time; one failure alone
/// may be the connection's (a timeout, a stream limit).
pub(super) const BATCHED_READ_FAILURES_BEFORE_SINGLE: u32 = 3;

/// Mailbox reads started at one relay per second at most, counted as the relay
/// counts them ([`quire_net::mailbox_protocol::request_cost`]): under a relay's
/// default rate limit of 50 requests per device per second (`puts_per_second`), so
/// that a device with thousands of documents reads them all without being refused.
pub(crate) const MAX_RELAY_READS_PER_SECOND: usize = 40;

/// A read the relay refused for its rate limit is tried again after this long (not
/// after [`RELAY_FETCH_EVERY`]).
const RATE_LIMITED_RETRY: Duration = Duration::from_secs(1);

/// A document due at a relay while a request for it is still in flight is looked
/// at again this much later (a read due must not be lost: a read may take as long
/// as the mailbox request timeout, which is the read interval itself).
const IN_FLIGHT_RECHECK: Duration = Duration::from_secs(1);

/// A document whose read failed at a relay that names changed documents is read
/// again this much later (the relay will not name it again for that change).
const FAILED_READ_RETRY: Duration = Duration::from_secs(5);

/// How often an unreachable relay is dialled again.
const RELAY_REDIAL_EVERY: Duration = Duration::from_secs(10);

/// A relay the node uses.
pub(crate) struct Relay {
    pub(crate) peer: PeerId,
    addr: Multiaddr,
    last_dial: Option<Instant>,
    /// When its connection came up, while it is up.
    connected_at: Option<Instant>,
    /// Whether a dropped connection is dialled again at the next tick rather than
    /// after [`RELAY_REDIAL_EVERY`]: once, until a connection lasts that long (so a
    /// relay that keeps refusing this device is not dialled every tick).
    quick_redial: bool,
    /// A reservation was asked for since it connected.
    reserving: bool,
    /// The relay holds a reservation for this device.
    reachable_through: bool,
    last_upload: Option<i64>,
    last_read: Option<i64>,
    error: Option<String>,
    /// The documents it serves; `None`: every document (a relay of the settings).
    topics: Option<HashSet<Topic>>,
    /// Its mailbox is read one document per request: batched reads failed
    /// [`BATCHED_READ_FAILURES_BEFORE_SINGLE`] times in a row since it connected
    /// (a relay from before batched reads).
    single_reads: bool,
    /// Batched reads failed in a row without a refusal.
    batched_failures: u32,
    /// Where the node stands with its change numbers (since it connected). A relay
    /// listed twice (by two addresses) keeps it in its first entry.
    pub(super) feed: Feed,
    /// Documents added while an ask for changes was in flight (it did not name
    /// them): read when its answer comes.
    pub(super) added_during_ask: Vec<Topic>,
}

impl Relay {
    pub(super) fn serves(&self, topic: &Topic) -> bool {
        self.topics.as_ref().is_none_or(|t| t.contains(topic))
    }
}

/// An upload ready to put: the topic, the sealed bundle, its signature, and the
/// state vector it brings the relay to.
type Upload = (Topic, Vec<u8>, MailboxAuth, Vec<u8>);

/// What the engine gave for one document to upload: the state vector the relay
/// acknowledged, the document's state vector now, and the difference between them.
pub(crate) type Diffed = Result<(Vec<u8>, Vec<u8>, Vec<u8>), String>;

/// The answer to one mailbox request (or to the engine's part of an upload or of a
/// snapshot), back in the node's loop.
pub(crate) enum RelayResult {
    Diffed {
        relay: PeerId,
        diffs: Vec<(Topic, Diffed)>,
    },
    Stored {
        relay: PeerId,
        topic: Topic,
        seq: u64,
        /// The state vector the upload brought the relay to.
        uploaded: Vec<u8>,
    },
    /// The answer to an ask for the documents changed (see
    /// [`super::relay_changes`]).
    Changes {
        relay: PeerId,
        answer: Result<MailboxResponse, String>,
    },
    /// The answer to one read request (of one document or a batch).
    Read {
        relay: PeerId,
        outcomes: Vec<(Topic, ReadOutcome)>,
        /// For a batched read: whether it failed without an answer (see
        /// [`BATCHED_READ_FAILURES_BEFORE_SINGLE`]).
        batch_failed: Option<bool>,
        /// The cursors read from the store for it (those not known in memory).
        loaded: Vec<(Topic, u64)>,
    },
    /// The engine's part of a compaction: everything this device has.
    Snapshot {
        relay: PeerId,
        topic: Topic,
        /// The last item read, which the snapshot supersedes.
        last: u64,
        snapshot: Result<Snapshot, String>,
    },
    Compacted {
        relay: PeerId,
        topic: Topic,
        seq: u64,
        /// The state vector of the snapshot (everything this device had).
        uploaded: Vec<u8>,
    },
    /// An upload (`upload`) or a compaction failed.
    Failed {
        relay: PeerId,
        topic: Topic,
        upload: bool,
        error: String,
    },
}

/// The node's relays and where each document stands with them.
pub(crate) struct Relays {
    pub(crate) list: Vec<Relay>,
    /// The relays of the settings.
    global: Vec<Multiaddr>,
    /// The relays named in each document's link.
    per_doc: HashMap<Topic, Vec<Multiaddr>>,
    pub(super) busy: HashSet<(PeerId, Topic)>,
    /// Documents being uploaded, per relay (see [`MAX_RELAY_UPLOADS_IN_FLIGHT`]).
    uploading: HashMap<PeerId, usize>,
    /// Mailbox reads in flight, per relay (see [`MAX_RELAY_READS_IN_FLIGHT`]).
    reading: HashMap<PeerId, usize>,
    /// Reads started per relay in the current second (see
    /// [`MAX_RELAY_READS_PER_SECOND`]): when that second began, and how many.
    read_rate: PerSecond<PeerId>,
    /// Documents changed since they were last uploaded to each relay.
    dirty: HashSet<(PeerId, Topic)>,
    /// The state vector each relay acknowledged, per document (loaded lazily).
    uploaded: HashMap<(PeerId, Topic), Vec<u8>>,
    last_upload: HashMap<(PeerId, Topic), Instant>,
    last_fetch: HashMap<(PeerId, Topic), Instant>,
    /// The last mailbox item read per relay and document, as recorded in the store
    /// (read from it once, then kept here: 10,000 documents read every 30 s, before
    /// change numbers, were 20,000 store queries a read round).
    pub(super) cursors: HashMap<(PeerId, Topic), u64>,
    /// Rendezvous look-ups of documents' members at the relays.
    pub(super) discoveries: Discoveries,
    /// Documents to read at the next tick (asked for, named changed, or due and
    /// waiting for room at the relay). A tick looks only at these, the changed
    /// documents and the documents whose read is due (a walk of 10,000 documents
    /// 20 times a second was most of a core while reads waited; once a second,
    /// still most of an idle device's CPU).
    read_soon: HashSet<(PeerId, Topic)>,
    /// When each document's next read at each relay is due: [`RELAY_FETCH_EVERY`]
    /// after its last at a relay without change numbers; a retry after a refusal or
    /// a failure; a look again while a read is in flight.
    fetch_due: DueTimes<(PeerId, Topic)>,
    /// Documents whose first upload since the relay connected has been announced.
    announced: HashSet<(PeerId, Topic)>,
    /// Documents registered at each relay's rendezvous point.
    registered: HashSet<(PeerId, Topic)>,
    /// The relays or the documents changed since the registrations were last
    /// brought in line with them.
    registrations_stale: bool,
    /// Items read after which a writer compacts.
    compact_after: u64,
    /// The number of the last snapshot this device made or saw made, per relay and
    /// document (0: none since the node started).
    pub(super) compacted: HashMap<(PeerId, Topic), u64>,
    pub(crate) results_tx: mpsc::Sender<RelayResult>,
}

impl Relays {
    /// The relays at `addrs` (each must end in `/p2p/<peer id>`; others are skipped).
    pub(crate) fn new(
        addrs: &[Multiaddr],
        compact_after: u64,
        results_tx: mpsc::Sender<RelayResult>,
    ) -> Self {
        let mut relays = Self {
            list: Vec::new(),
            global: Vec::new(),
            per_doc: HashMap::new(),
            busy: HashSet::new(),
            uploading: HashMap::new(),
            reading: HashMap::new(),
            read_rate: PerSecond::new(MAX_RELAY_READS_PER_SECOND),
            dirty: HashSet::new(),
            uploaded: HashMap::new(),
            last_upload: HashMap::new(),
            last_fetch: HashMap::new(),
            cursors: HashMap::new(),
            discoveries: Discoveries::default(),
            read_soon: HashSet::new(),
            fetch_due: DueTimes::default(),
            announced: HashSet::new(),
            registered: HashSet::new(),
            registrations_stale: true,
            compact_after: compact_after.max(1),
            compacted: HashMap::new(),
            results_tx,
        };
        relays.set(addrs);
        relays
    }

    /// Uses the relays at `addrs` for every document from now on.
    pub(crate) fn set(&mut self, addrs: &[Multiaddr]) {
        self.global = addrs.to_vec();
        self.rebuild();
    }

    /// Uses the relays at `addrs` (from its link) for the document on `topic`.
    ///
    /// Changes the list in place: a device with 10,000 documents adds each at start,
    /// and rebuilding the whole list from every document's link each time was
    /// quadratic (most of a core for half a minute at every start, profiled). The
    /// whole list is rebuilt only when a relay is left serving no document.
    pub(crate) fn set_for(&mut self, topic: Topic, addrs: Vec<Multiaddr>) {
        let old = if addrs.is_empty() {
            self.per_doc.remove(&topic)
        } else {
            self.per_doc.insert(topic, addrs.clone())
        };
        if old.as_deref().unwrap_or_default() == addrs.as_slice() {
            return;
        }
        let now_used = relay_list(&addrs);
        let now_used_peers: HashSet<PeerId> = now_used.iter().map(|r| r.peer).collect();
        let mut emptied = false;
        for relay in relay_list(old.as_deref().unwrap_or_default()) {
            if now_used_peers.contains(&relay.peer) {
                continue;
            }
            let known = self.list.iter_mut().find(|r| r.peer == relay.peer);
            if let Some(topics) = known.and_then(|r| r.topics.as_mut()) {
                topics.remove(&topic);
                emptied |= topics.is_empty();
            }
        }
        for relay in now_used {
            serve_from(&mut self.list, relay, topic);
        }
        self.registrations_stale = true;
        if emptied {
            self.rebuild();
        }
    }

    /// Makes the list from the settings' and the links' relays, keeping what was
    /// learnt of relays still in it.
    fn rebuild(&mut self) {
        let mut list: Vec<Relay> = relay_list(&self.global);
        for (topic, addrs) in &self.per_doc {
            for relay in relay_list(addrs) {
                serve_from(&mut list, relay, *topic);
            }
        }
        for relay in &mut list {
            if let Some(old) = self.list.iter().find(|r| r.peer == relay.peer) {
                relay.last_dial = old.last_dial;
                relay.connected_at = old.connected_at;
                relay.quick_redial = old.quick_redial;
                relay.reserving = old.reserving;
                relay.reachable_through = old.reachable_through;
                relay.last_upload = old.last_upload;
                relay.last_read = old.last_read;
                relay.error = old.error.clone();
                relay.single_reads = old.single_reads;
                relay.batched_failures = old.batched_failures;
                relay.feed = old.feed;
                relay.added_during_ask.clone_from(&old.added_during_ask);
            }
        }
        self.list = list;
        self.registrations_stale = true;
        let kept: HashSet<PeerId> = self.list.iter().map(|r| r.peer).collect();
        self.dirty.retain(|(p, _)| kept.contains(p));
        self.uploaded.retain(|(p, _), _| kept.contains(p));
        self.last_upload.retain(|(p, _), _| kept.contains(p));
        self.last_fetch.retain(|(p, _), _| kept.contains(p));
        self.fetch_due.retain(|(p, _)| kept.contains(p));
        self.cursors.retain(|(p, _), _| kept.contains(p));
        self.discoveries.keep_relays(&kept);
    }

    /// Each relay's state, for [`crate::NodeStatus`].
    pub(crate) fn status(&self, connected: &HashSet<PeerId>) -> Vec<crate::RelayStatus> {
        self.list
            .iter()
            .map(|r| crate::RelayStatus {
                addr: r.addr.clone(),
                peer: r.peer,
                connected: connected.contains(&r.peer),
                reachable_through: r.reachable_through,
                last_upload: r.last_upload,
                last_read: r.last_read,
                error: r.error.clone(),
                for_every_document: r.topics.is_none(),
            })
            .collect()
    }

    /// Notes how the last request to `relay` went.
    pub(super) fn outcome(&mut self, relay: PeerId, upload: bool, error: Option<String>) {
        if let Some(r) = self.list.iter_mut().find(|r| r.peer == relay) {
            if error.is_none() {
                let now = quire_engine::now_ms();
                if upload {
                    r.last_upload = Some(now);
                } else {
                    r.last_read = Some(now);
                }
            }
            r.error = error;
        }
    }

    /// A mailbox read request at `relay` ended.
    pub(super) fn read_done(&mut self, relay: PeerId) {
        if let Some(reading) = self.reading.get_mut(&relay) {
            *reading = reading.saturating_sub(1);
        }
    }

    /// Whether `relay` is read in batches (it is, unless a batched read failed
    /// since it connected).
    pub(super) fn batches_reads(&self, relay: PeerId) -> bool {
        self.list
            .iter()
            .find(|r| r.peer == relay)
            .is_some_and(|r| !r.single_reads)
    }

    /// Notes how a batched read at `relay` went (`failed`: without an answer);
    /// `true` if the relay is read one document per request from now on, until it
    /// reconnects.
    pub(super) fn batched_read_ended(&mut self, relay: PeerId, failed: bool) -> bool {
        let Some(r) = self.list.iter_mut().find(|r| r.peer == relay) else {
            return false;
        };
        if !failed {
            r.batched_failures = 0;
            return false;
        }
        r.batched_failures += 1;
        let switch = !r.single_reads && r.batched_failures >= BATCHED_READ_FAILURES_BEFORE_SINGLE;
        r.single_reads |= switch;
        switch
    }

    /// Takes room for one read request of `cost` at `relay`, if it has it (see
    /// [`MAX_RELAY_READS_IN_FLIGHT`], [`MAX_RELAY_READS_PER_SECOND`]).
    pub(super) fn take_read_room(&mut self, relay: PeerId, cost: u32, now: Instant) -> bool {
        let reading = self.reading.entry(relay).or_default();
        if *reading >= MAX_RELAY_READS_IN_FLIGHT {
            return false;
        }
        // A request costlier than a whole second's room still goes, alone.
        if !self.read_rate.try_spend(relay, cost as usize, now) {
            return false;
        }
        *reading += 1;
        true
    }

    /// Takes room for one more document's upload at `relay`, if it has it (see
    /// [`MAX_RELAY_UPLOADS_IN_FLIGHT`]).
    fn take_upload_room(&mut self, relay: PeerId) -> bool {
        let uploading = self.uploading.entry(relay).or_default();
        let room = *uploading < MAX_RELAY_UPLOADS_IN_FLIGHT;
        if room {
            *uploading += 1;
        }
        room
    }

    /// A document's upload at `relay` ended (stored, failed, or nothing to send).
    fn upload_ended(&mut self, relay: PeerId, topic: Topic) {
        self.busy.remove(&(relay, topic));
        if let Some(uploading) = self.uploading.get_mut(&relay) {
            *uploading = uploading.saturating_sub(1);
        }
    }

    /// A read of the document at `relay` is in flight; the next is due after
    /// [`RELAY_FETCH_EVERY`] unless the relay says which documents changed.
    pub(super) fn reading_started(&mut self, relay: PeerId, topic: Topic, now: Instant) {
        self.busy.insert((relay, topic));
        self.last_fetch.insert((relay, topic), now);
        if !self.follows_changes(relay) {
            self.fetch_due
                .due_by((relay, topic), now + RELAY_FETCH_EVERY);
        }
    }

    /// The feed of `relay` (kept in its first entry).
    fn feed(&self, relay: PeerId) -> Option<&Feed> {
        self.list.iter().find(|r| r.peer == relay).map(|r| &r.feed)
    }

    /// Whether `relay`'s mailboxes are read only when it names them changed.
    fn follows_changes(&self, relay: PeerId) -> bool {
        self.feed(relay).is_some_and(Feed::follows)
    }

    /// Whether reads and uploads at `relay` wait for its last change number (after
    /// which every mailbox it serves is read).
    fn holds_reads(&self, relay: PeerId) -> bool {
        self.feed(relay).is_some_and(Feed::holds_reads)
    }

    /// A read of the document at `relay` failed: at a relay that names changed
    /// documents, it is read again after [`FAILED_READ_RETRY`] (at one that does
    /// not, its periodic read comes).
    pub(super) fn read_failed(&mut self, relay: PeerId, topic: Topic) {
        if self.follows_changes(relay) {
            self.last_fetch.remove(&(relay, topic));
            self.fetch_due
                .due_by((relay, topic), Instant::now() + FAILED_READ_RETRY);
        }
    }

    /// A document was added: the asks for changes in flight did not have it in
    /// their filter, so it is read when their answers come.
    pub(crate) fn document_added(&mut self, topic: Topic) {
        for relay in &mut self.list {
            if relay.feed.asking() && relay.serves(&topic) {
                relay.added_during_ask.push(topic);
            }
        }
    }

    /// Reads every mailbox of these documents that `relay` serves at the next tick.
    pub(super) fn read_everything(&mut self, relay: PeerId, topics: impl Iterator<Item = Topic>) {
        let Some(known) = self.list.iter().find(|r| r.peer == relay) else {
            return;
        };
        let served: Vec<Topic> = topics.filter(|t| known.serves(t)).collect();
        for topic in served {
            self.fetch_soon(relay, topic);
        }
    }

    /// `relay` named the document among those changed: read it at the next tick.
    pub(super) fn read_changed(&mut self, relay: PeerId, topic: Topic) {
        if self.serves(&relay, &topic) {
            self.fetch_soon(relay, topic);
        }
    }

    /// A read the relay refused for its rate limit is tried again after
    /// [`RATE_LIMITED_RETRY`].
    pub(super) fn retry_read_shortly(&mut self, relay: PeerId, topic: Topic) {
        let now = Instant::now();
        if self.follows_changes(relay) {
            // Read when due whatever the last read (a read here is asked for).
            self.last_fetch.remove(&(relay, topic));
        } else {
            let retry = now
                .checked_sub(RELAY_FETCH_EVERY.saturating_sub(RATE_LIMITED_RETRY))
                .unwrap_or(now);
            self.last_fetch.insert((relay, topic), retry);
        }
        self.fetch_due
            .due_by((relay, topic), now + RATE_LIMITED_RETRY);
    }

    /// A document due at `relay` has a request in flight: it is read again after
    /// it if that was `asked` for, and looked at again shortly either way.
    fn still_busy(&mut self, key: (PeerId, Topic), asked: bool, now: Instant) {
        if asked {
            self.read_soon.insert(key);
        }
        self.fetch_due.due_by(key, now + IN_FLIGHT_RECHECK);
    }

    /// Items read after which a writer compacts.
    pub(super) fn compact_after(&self) -> u64 {
        self.compact_after
    }

    /// The state vector `relay` acknowledged for the document, if known here.
    pub(super) fn uploaded_state(&self, relay: PeerId, topic: Topic) -> Option<Vec<u8>> {
        self.uploaded.get(&(relay, topic)).cloned()
    }

    /// Notes the state vector `relay` holds of the document.
    pub(super) fn set_uploaded_state(&mut self, relay: PeerId, topic: Topic, state: Vec<u8>) {
        self.uploaded.insert((relay, topic), state);
    }

    /// Reads these documents at the next tick (they were due, but `relay` had no
    /// room for them).
    pub(super) fn read_later(&mut self, relay: PeerId, topics: impl Iterator<Item = Topic>) {
        self.read_soon.extend(topics.map(|t| (relay, t)));
    }

    /// `relay` may hold news of the document (a member spoke through it, or a
    /// catch-up with it is due): read its mailbox at the next tick, or, if it names
    /// the changed documents, ask it which changed now (one ask covers every
    /// document: a reconnect brings a hello for each).
    pub(crate) fn may_have_news(&mut self, relay: PeerId, topic: Topic) {
        match self.list.iter_mut().find(|r| r.peer == relay) {
            Some(known) if known.feed.follows() => known.feed.ask_soon(Instant::now()),
            _ => self.fetch_soon(relay, topic),
        }
    }

    /// Reads the relay's mailbox for the document at the next tick.
    pub(crate) fn fetch_soon(&mut self, relay: PeerId, topic: Topic) {
        self.last_fetch.remove(&(relay, topic));
        self.read_soon.insert((relay, topic));
    }

    /// The document was left: its cursors are read from the store again if it is
    /// joined again, and it is read at every relay then (while it was away, no ask
    /// for changes named it).
    pub(super) fn forget_document(&mut self, topic: Topic) {
        for relay in &self.list {
            let key = (relay.peer, topic);
            self.cursors.remove(&key);
            self.last_fetch.remove(&key);
            self.fetch_due.forget(key);
        }
    }

    /// Whether `relay` is one of ours and serves the document.
    pub(super) fn serves(&self, relay: &PeerId, topic: &Topic) -> bool {
        self.list
            .iter()
            .any(|r| r.peer == *relay && r.serves(topic))
    }

    pub(crate) fn is_relay(&self, peer: &PeerId) -> bool {
        self.list.iter().any(|r| r.peer == *peer)
    }

    /// The document changed: upload it to every connected relay (soon). A relay
    /// that connects later gets every document it serves checked then (see
    /// [`Self::connected`]).
    pub(crate) fn changed(&mut self, topic: Topic) {
        for relay in self.list.iter().filter(|r| r.serves(&topic)) {
            if relay.connected_at.is_some() {
                self.dirty.insert((relay.peer, topic));
            }
        }
    }

    /// The relay holds a slot for this device now.
    pub(crate) fn reserved(&mut self, relay: PeerId) {
        if let Some(r) = self.list.iter_mut().find(|r| r.peer == relay) {
            r.reachable_through = true;
        }
    }

    /// The relay's connection closed: its reservation is gone, and is asked for again
    /// when it reconnects. It is dialled again at the next tick (a relay drops the
    /// connections of a member that restarted, for it to dial back at once) if that
    /// was not done since a connection last lasted [`RELAY_REDIAL_EVERY`].
    pub(crate) fn disconnected(&mut self, relay: PeerId) {
        // What changed for it is checked again when it reconnects; kept, it would
        // make every tick walk every (relay, document) pair meanwhile.
        self.dirty.retain(|(r, _)| *r != relay);
        if let Some(r) = self.list.iter_mut().find(|r| r.peer == relay) {
            r.reserving = false;
            r.reachable_through = false;
            if r.connected_at
                .take()
                .is_some_and(|t| t.elapsed() >= RELAY_REDIAL_EVERY)
            {
                r.quick_redial = true;
            }
            if std::mem::take(&mut r.quick_redial) {
                r.last_dial = None;
            }
        }
    }

    /// A relay (re)connected: upload to it now, and read its mailbox once its last
    /// change number is known (see [`super::relay_changes`]).
    pub(crate) fn connected(&mut self, relay: PeerId, topics: impl Iterator<Item = Topic>) {
        let Some(known) = self.list.iter_mut().find(|r| r.peer == relay) else {
            return;
        };
        known.connected_at = Some(Instant::now());
        known.single_reads = false;
        known.batched_failures = 0;
        known.feed = Feed::default();
        known.added_during_ask.clear();
        self.discoveries.relay_connected(relay);
        let known = &*known;
        let served: Vec<Topic> = topics.filter(|t| known.serves(t)).collect();
        for topic in served {
            self.announced.remove(&(relay, topic));
            self.dirty.insert((relay, topic));
        }
    }
}

/// `relay` (from a document's link) serves `topic`: added to the list, or to the
/// documents of the relay already in it (one the settings name serves all).
fn serve_from(list: &mut Vec<Relay>, relay: Relay, topic: Topic) {
    match list.iter_mut().find(|r| r.peer == relay.peer) {
        Some(known) => {
            if let Some(topics) = &mut known.topics {
                topics.insert(topic);
            }
        }
        None => list.push(Relay {
            topics: Some(HashSet::from([topic])),
            ..relay
        }),
    }
}

impl Actor {
    /// Dials relays that are not connected, and starts uploads and reads due.
    pub(super) async fn relay_tick(&mut self) {
        let now = Instant::now();
        let mut dial = Vec::new();
        for relay in &mut self.relays.list {
            if !self.connected.contains(&relay.peer)
                && relay
                    .last_dial
                    .is_none_or(|t| now.duration_since(t) >= RELAY_REDIAL_EVERY)
            {
                relay.last_dial = Some(now);
                dial.push(relay.addr.clone());
            }
        }
        for addr in dial {
            self.dial(addr).await;
        }
        self.traversal_tick().await;
        self.ask_for_changes(now);
        for (relay, topic) in self.relays.discoveries.take_due(now) {
            if self.connected.contains(&relay) {
                let _ = self.net.discover(relay, topic).await;
            }
        }
        let scheduled = self.relays.fetch_due.take_due(now);
        if scheduled.is_empty() && self.relays.dirty.is_empty() && self.relays.read_soon.is_empty()
        {
            return;
        }
        // A pair whose relay is away or no longer serves the document is dropped: a
        // relay that connects has every document it serves read at once.
        let mut pending: HashSet<(PeerId, Topic)> = self.relays.dirty.clone();
        pending.extend(self.relays.read_soon.iter().copied());
        pending.extend(scheduled.into_iter().filter(|(relay, topic)| {
            self.docs.contains_key(topic) && self.relays.serves(relay, topic)
        }));
        // Until a relay's last change number is known, nothing goes to it: every
        // mailbox it serves is read once it is, and uploads come after the reads
        // (what they bring need not go back).
        let pairs: Vec<(PeerId, Topic)> = pending
            .into_iter()
            .filter(|(relay, _)| self.connected.contains(relay) && !self.relays.holds_reads(*relay))
            .collect();
        let asked = std::mem::take(&mut self.relays.read_soon);
        let mut reads: HashMap<PeerId, Vec<Topic>> = HashMap::new();
        let mut uploads: HashMap<PeerId, Vec<Topic>> = HashMap::new();
        for key @ (relay, topic) in pairs {
            if self.relays.busy.contains(&key) {
                self.relays.still_busy(key, asked.contains(&key), now);
                continue;
            }
            let last_fetch = self.relays.last_fetch.get(&key).copied();
            // A relay that names the changed documents has a document read when it
            // does (or when asked); one that does not, every RELAY_FETCH_EVERY.
            let periodic = !self.relays.follows_changes(relay);
            let fetch_due =
                last_fetch.is_none_or(|t| periodic && now.duration_since(t) >= RELAY_FETCH_EVERY);
            if fetch_due && let Some(doc) = self.docs.get(&topic) {
                // Looked at with each read: often enough for the look-ups' minutes.
                let direct = doc.peers.iter().any(|p| !self.relays.is_relay(p));
                self.relays.discoveries.consider(key, direct, now);
            } else if let Some(last) = last_fetch
                && periodic
            {
                self.relays.fetch_due.due_by(key, last + RELAY_FETCH_EVERY);
            }
            let upload_due = self.relays.dirty.contains(&key)
                && self
                    .relays
                    .last_upload
                    .get(&key)
                    .is_none_or(|t| now.duration_since(*t) >= RELAY_UPLOAD_EVERY);
            if fetch_due {
                reads.entry(relay).or_default().push(topic);
            } else if upload_due {
                uploads.entry(relay).or_default().push(topic);
            }
        }
        for (relay, topics) in reads {
            self.read_from(relay, topics);
        }
        for (relay, topics) in uploads {
            self.upload_to(relay, topics).await;
        }
    }

    /// Every relay with each shared document it serves.
    fn relay_documents(&self) -> impl Iterator<Item = (PeerId, Topic)> + '_ {
        self.relays.list.iter().flat_map(|r| {
            self.docs
                .keys()
                .filter(|t| r.serves(t))
                .map(move |t| (r.peer, *t))
        })
    }

    /// Reserves a slot at each newly connected relay and, when the relays or the
    /// documents changed, brings the registrations at the relays' rendezvous points in
    /// line with the documents each one serves.
    async fn traversal_tick(&mut self) {
        let mut reserve = Vec::new();
        for relay in &mut self.relays.list {
            if self.connected.contains(&relay.peer) && !relay.reserving {
                relay.reserving = true;
                reserve.push(relay.addr.clone());
            }
        }
        for addr in reserve {
            if let Err(e) = self.net.reserve(addr.clone()).await {
                tracing::warn!("cannot reserve a slot at the relay {addr}: {e}");
            }
        }
        if !std::mem::take(&mut self.relays.registrations_stale) {
            return;
        }
        let wanted: HashSet<(PeerId, Topic)> = self.relay_documents().collect();
        let added: Vec<(PeerId, Topic)> = wanted
            .difference(&self.relays.registered)
            .copied()
            .collect();
        let removed: Vec<(PeerId, Topic)> = self
            .relays
            .registered
            .difference(&wanted)
            .copied()
            .collect();
        for (relay, topic) in added {
            if self.net.register(relay, topic).await.is_ok() {
                self.relays.registered.insert((relay, topic));
            }
        }
        for (relay, topic) in removed {
            let _ = self.net.unregister(relay, topic).await;
            self.relays.registered.remove(&(relay, topic));
        }
    }

    /// Starts uploading to `relay` what it lacks of each of these documents from
    /// this device. The engine is asked for the differences in a task of its own (a
    /// document being typed into at full speed keeps the engine busy, and the node
    /// must go on publishing meanwhile); [`RelayResult::Diffed`] brings them back
    /// to be sealed and sent.
    async fn upload_to(&mut self, relay: PeerId, topics: Vec<Topic>) {
        let mut wanted = Vec::new();
        for topic in topics {
            if !self.relays.take_upload_room(relay) {
                // The rest stay changed and go at a later tick.
                break;
            }
            let key = (relay, topic);
            self.relays.dirty.remove(&key);
            let Some(doc) = self.docs.get(&topic) else {
                self.relays.upload_ended(relay, topic);
                continue;
            };
            if doc.role() == Role::Read {
                self.relays.upload_ended(relay, topic);
                continue;
            }
            self.relays.busy.insert(key);
            self.relays.last_upload.insert(key, Instant::now());
            wanted.push((topic, doc.id, self.relays.uploaded.get(&key).cloned()));
        }
        if wanted.is_empty() {
            return;
        }
        let (engine, tx) = (self.engine.clone(), self.relays.results_tx.clone());
        tokio::spawn(async move {
            let mut diffs = Vec::new();
            for (topic, id, uploaded) in wanted {
                let uploaded = match uploaded {
                    Some(sv) => Ok(sv),
                    None => engine
                        .relay_mark(&relay.to_string(), id)
                        .await
                        .map(|mark| mark.uploaded),
                };
                let diff = match uploaded {
                    Ok(uploaded) => {
                        // Nothing acknowledged yet: the difference from the empty state
                        // (a state vector of no clients encodes as one zero byte).
                        let since: &[u8] = if uploaded.is_empty() { &[0] } else { &uploaded };
                        state_and_diff(&engine, id, since)
                            .await
                            .map(|(sv, diff)| (uploaded, sv, diff))
                    }
                    Err(e) => Err(e.to_string()),
                };
                diffs.push((topic, diff));
            }
            let _ = tx.send(RelayResult::Diffed { relay, diffs }).await;
        });
    }

    /// Seals the differences the engine gave for an upload to `relay` and puts them:
    /// one put for one document, batches of up to [`MAX_PUT_BATCH`] for several.
    fn seal_uploads(&mut self, relay: PeerId, diffs: Vec<(Topic, Diffed)>) {
        let mut ready: Vec<Upload> = Vec::new();
        for (topic, diff) in diffs {
            match self.seal_upload(relay, topic, diff) {
                Some((bundle, auth, sv)) => ready.push((topic, bundle, auth, sv)),
                None => self.relays.upload_ended(relay, topic),
            }
        }
        let mut batch: Vec<Upload> = Vec::new();
        let mut batch_bytes = 0;
        for upload in ready {
            if batch.len() == MAX_PUT_BATCH
                || (!batch.is_empty() && batch_bytes + upload.1.len() > MAX_MAILBOX_ITEM_BYTES)
            {
                self.send_uploads(relay, std::mem::take(&mut batch));
                batch_bytes = 0;
            }
            batch_bytes += upload.1.len();
            batch.push(upload);
        }
        if !batch.is_empty() {
            self.send_uploads(relay, batch);
        }
    }

    /// The sealed bundle (hello and update) of a document's difference, its
    /// signature for `relay`, and the state vector it brings the relay to; `None`
    /// when there is nothing to upload (or it cannot be).
    fn seal_upload(
        &mut self,
        relay: PeerId,
        topic: Topic,
        diff: Diffed,
    ) -> Option<(Vec<u8>, MailboxAuth, Vec<u8>)> {
        let doc = self.docs.get_mut(&topic)?;
        let id = doc.id;
        let (uploaded, now_sv, diff) = match diff {
            Ok(diff) => diff,
            Err(e) => {
                tracing::warn!("document {id}: cannot compute what the relay lacks: {e}");
                return None;
            }
        };
        if now_sv == uploaded {
            return None;
        }
        let bundle = match relay_item(doc, &diff) {
            Ok(bundle) => bundle,
            Err(RelayItemError::TooLarge) => {
                tracing::warn!(
                    "document {id}: {} bytes to upload exceed what one relay item holds; members catch up directly instead",
                    diff.len()
                );
                return None;
            }
            Err(RelayItemError::Seal(e)) => {
                tracing::warn!("document {id}: cannot seal for the relay: {e}");
                return None;
            }
        };
        let Some(auth) = mailbox_auth(doc, relay, &topic, Operation::Put { item: &bundle }) else {
            tracing::warn!("document {id}: no mailbox key (not a writer); nothing uploaded");
            return None;
        };
        Some((bundle, auth, now_sv))
    }

    /// Puts prepared uploads to `relay` (one request) and reports each outcome.
    fn send_uploads(&mut self, relay: PeerId, uploads: Vec<Upload>) {
        let (net, tx) = (self.net.clone(), self.relays.results_tx.clone());
        tokio::spawn(async move {
            let (request, meta): (MailboxRequest, Vec<(Topic, Vec<u8>)>) = if uploads.len() == 1 {
                let mut uploads = uploads;
                let Some((topic, item, auth, sv)) = uploads.pop() else {
                    return;
                };
                let auth = Some(auth);
                (MailboxRequest::Put { topic, item, auth }, vec![(topic, sv)])
            } else {
                let meta = uploads
                    .iter()
                    .map(|(t, _, _, sv)| (*t, sv.clone()))
                    .collect();
                let items = uploads
                    .into_iter()
                    .map(|(topic, item, auth, _)| PutItem {
                        topic,
                        item,
                        auth: Some(auth),
                    })
                    .collect();
                (MailboxRequest::PutMany { items }, meta)
            };
            let outcomes: Vec<Result<u64, String>> = match net.mailbox(relay, request).await {
                Ok(MailboxResponse::Stored { seq }) => vec![Ok(seq)],
                Ok(MailboxResponse::StoredMany { results }) => results
                    .into_iter()
                    .map(|r| match r {
                        MailboxResponse::Stored { seq } => Ok(seq),
                        other => Err(describe(other)),
                    })
                    .collect(),
                Ok(other) => vec![Err(describe(other)); meta.len()],
                Err(e) => vec![Err(e.to_string()); meta.len()],
            };
            let mut outcomes = outcomes.into_iter();
            for (topic, uploaded) in meta {
                let result = match outcomes.next() {
                    Some(Ok(seq)) => RelayResult::Stored {
                        relay,
                        topic,
                        seq,
                        uploaded,
                    },
                    Some(Err(error)) => RelayResult::Failed {
                        relay,
                        topic,
                        upload: true,
                        error,
                    },
                    None => RelayResult::Failed {
                        relay,
                        topic,
                        upload: true,
                        error: "the relay answered fewer items than were put".into(),
                    },
                };
                let _ = tx.send(result).await;
            }
        });
    }

    /// The relay acknowledged an upload (or a snapshot) that brought it to
    /// `uploaded`: the request is done, and the engine keeps the mark. Returns the
    /// document, if it is still shared.
    async fn acknowledged(
        &mut self,
        relay: PeerId,
        topic: Topic,
        uploaded: Vec<u8>,
    ) -> Option<quire_engine::DocumentId> {
        self.relays.busy.remove(&(relay, topic));
        self.relays.outcome(relay, true, None);
        let id = self.docs.get(&topic)?.id;
        if let Err(e) = self
            .engine
            .set_relay_uploaded(&relay.to_string(), id, &uploaded)
            .await
        {
            tracing::warn!("document {id}: cannot record the relay's acknowledgement: {e}");
        }
        self.relays.uploaded.insert((relay, topic), uploaded);
        Some(id)
    }

    pub(super) async fn handle_relay_result(&mut self, result: RelayResult) {
        match result {
            RelayResult::Diffed { relay, diffs } => self.seal_uploads(relay, diffs),
            RelayResult::Stored {
                relay,
                topic,
                seq,
                uploaded,
            } => {
                self.relays.upload_ended(relay, topic);
                let Some(id) = self.acknowledged(relay, topic, uploaded).await else {
                    return;
                };
                self.emit(NodeEvent::RelayStored { id, relay, seq });
                // Members online through the same relay read its mailbox when they hear
                // this device's hello through it: say it once the mailbox has our state.
                if self.relays.announced.insert((relay, topic)) {
                    self.publish_hello(topic).await;
                }
            }
            RelayResult::Changes { relay, answer } => self.changes_answered(relay, answer),
            RelayResult::Read {
                relay,
                outcomes,
                batch_failed,
                loaded,
            } => {
                for (topic, cursor) in loaded {
                    self.relays.cursors.entry((relay, topic)).or_insert(cursor);
                }
                self.reads_done(relay, outcomes, batch_failed).await;
            }
            RelayResult::Snapshot {
                relay,
                topic,
                last,
                snapshot,
            } => self.send_snapshot(relay, topic, last, snapshot),
            RelayResult::Compacted {
                relay,
                topic,
                seq,
                uploaded,
            } => {
                self.relays.compacted.insert((relay, topic), seq);
                let Some(id) = self.acknowledged(relay, topic, uploaded).await else {
                    return;
                };
                tracing::info!(
                    "document {id}: compacted the relay {relay}'s items into snapshot {seq}"
                );
                self.emit(NodeEvent::RelayCompacted { id, relay, seq });
            }
            RelayResult::Failed {
                relay,
                topic,
                upload,
                error,
            } => {
                self.relays.busy.remove(&(relay, topic));
                if upload {
                    self.relays.upload_ended(relay, topic);
                    self.relays.dirty.insert((relay, topic));
                }
                let what = if upload { "upload to" } else { "compact at" };
                tracing::warn!("relay {relay}: {what} its mailbox failed: {error}");
                let error = format!("{what} its mailbox failed: {error}");
                self.relays.outcome(relay, upload, Some(error));
            }
        }
    }
}

/// The relays at `addrs`; an address without `/p2p/<peer id>` is skipped with a warning.
fn relay_list(addrs: &[Multiaddr]) -> Vec<Relay> {
    addrs
        .iter()
        .filter_map(|addr| match addr.iter().last() {
            Some(Protocol::P2p(peer)) => Some(Relay {
                peer,
                addr: addr.clone(),
                last_dial: None,
                connected_at: None,
                quick_redial: true,
                reserving: false,
                reachable_through: false,
                last_upload: None,
                last_read: None,
                error: None,
                topics: None,
                single_reads: false,
                batched_failures: 0,
                feed: Feed::default(),
                added_during_ask: Vec::new(),
            }),
            _ => {
                tracing::warn!("relay address {addr} has no /p2p/<peer id>; skipped");
                None
            }
        })
        .collect()
}

/// A relay's answer other than the one expected, in words.
/// Why an update cannot go to a relay as one mailbox item.
pub(super) enum RelayItemError {
    /// Sealed with the hello, it would exceed the largest sealed message or the
    /// relay's item limit.
    TooLarge,
    /// Sealing failed.
    Seal(quire_crypto::EnvelopeError),
}

/// `update` sealed with this device's hello, as one mailbox item (what an upload and
/// a snapshot put).
pub(super) fn relay_item(doc: &mut DocSync, update: &[u8]) -> Result<Vec<u8>, RelayItemError> {
    if update.len() > MAX_PLAINTEXT_BYTES {
        return Err(RelayItemError::TooLarge);
    }
    let hello = doc.hello().map_err(RelayItemError::Seal)?;
    let sealed = doc
        .seal(Kind::Update, update)
        .map_err(RelayItemError::Seal)?;
    let item = encode_bundle(&[hello, sealed]);
    if item.len() > MAX_MAILBOX_ITEM_BYTES {
        return Err(RelayItemError::TooLarge);
    }
    Ok(item)
}

/// The mailbox key's signature on `operation` on `topic` at `relay`; `None` for a
/// reader, who has no mailbox key (and only reads).
pub(super) fn mailbox_auth(
    doc: &DocSync,
    relay: PeerId,
    topic: &Topic,
    operation: Operation<'_>,
) -> Option<MailboxAuth> {
    let key = doc.keys.mailbox_key()?;
    Some(MailboxAuth::sign(
        key.public(),
        |message| key.sign(message),
        &relay,
        topic,
        operation,
    ))
}

/// The document's state vector now and its difference from `since` (an update), as
/// the engine gives them for an upload or a snapshot.
pub(super) async fn state_and_diff(
    engine: &Engine,
    id: DocumentId,
    since: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), String> {
    match (
        engine.state_vector(id).await,
        engine.diff_since(id, since).await,
    ) {
        (Ok(sv), Ok(diff)) => Ok((sv, diff)),
        (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
    }
}

pub(super) fn describe(response: MailboxResponse) -> String {
    match response {
        MailboxResponse::Refused { reason, message } => format!("refused ({reason:?}): {message}"),
        other => format!("unexpected answer: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn one_relay() -> (Relays, PeerId) {
        let peer = PeerId::random();
        let addr: Multiaddr = format!("/ip4/127.0.0.1/tcp/4001/p2p/{peer}")
            .parse()
            .unwrap();
        let (tx, _rx) = mpsc::channel(1);
        (Relays::new(&[addr], 1, tx), peer)
    }

    #[test]
    fn a_relay_is_read_singly_only_after_batched_reads_fail_in_a_row() {
        let (mut relays, relay) = one_relay();
        assert!(relays.batches_reads(relay));
        assert!(!relays.batched_read_ended(relay, true));
        assert!(!relays.batched_read_ended(relay, true));
        // A batched read that worked starts the count again.
        assert!(!relays.batched_read_ended(relay, false));
        for _ in 1..BATCHED_READ_FAILURES_BEFORE_SINGLE {
            assert!(!relays.batched_read_ended(relay, true));
        }
        assert!(relays.batched_read_ended(relay, true));
        assert!(!relays.batches_reads(relay));
        // Until it reconnects.
        relays.connected(relay, std::iter::empty());
        assert!(relays.batches_reads(relay));
    }

    #[test]
    fn documents_named_in_links_add_and_drop_their_relays_in_place() {
        let (mut relays, global) = one_relay();
        let other = PeerId::random();
        let at = |peer: PeerId| -> Multiaddr {
            format!("/ip4/10.0.0.1/tcp/4001/p2p/{peer}")
                .parse()
                .unwrap()
        };
        for n in 0..1_000u16 {
            let mut topic = [0; 32];
            topic[..2].copy_from_slice(&n.to_be_bytes());
            relays.set_for(topic, vec![at(other), at(global)]);
        }
        assert_eq!(relays.list.len(), 2);
        let served = |relays: &Relays, peer: PeerId| {
            let relay = relays.list.iter().find(|r| r.peer == peer).unwrap();
            relay.topics.as_ref().map(HashSet::len)
        };
        // The settings' relay serves every document; the link's relay its 1,000.
        assert_eq!(served(&relays, global), None);
        assert_eq!(served(&relays, other), Some(1_000));
        for n in 0..999u16 {
            let mut topic = [0; 32];
            topic[..2].copy_from_slice(&n.to_be_bytes());
            relays.set_for(topic, Vec::new());
        }
        assert_eq!(served(&relays, other), Some(1));
        // The last document that named it goes: so does the relay.
        let mut last = [0; 32];
        last[..2].copy_from_slice(&999u16.to_be_bytes());
        relays.set_for(last, Vec::new());
        let peers: Vec<PeerId> = relays.list.iter().map(|r| r.peer).collect();
        assert_eq!(peers, vec![global]);
    }

    #[test]
    fn a_document_read_at_a_relay_is_due_again_after_the_read_interval() {
        let (mut relays, relay) = one_relay();
        let (topic, other, start) = ([1; 32], [2; 32], Instant::now());
        relays.reading_started(relay, topic, start);
        relays.reading_started(relay, other, start);
        assert!(relays.fetch_due.take_due(start).is_empty());
        let almost = start + RELAY_FETCH_EVERY - Duration::from_millis(1);
        assert!(relays.fetch_due.take_due(almost).is_empty());
        // A read the relay refused for its rate limit is due again in a second.
        relays.retry_read_shortly(relay, other);
        let soon = Instant::now() + RATE_LIMITED_RETRY;
        assert_eq!(relays.fetch_due.take_due(soon), vec![(relay, other)]);
        let due = relays.fetch_due.take_due(start + RELAY_FETCH_EVERY);
        assert_eq!(due, vec![(relay, topic)]);
        // Taken: due again only once read again.
        assert!(
            relays
                .fetch_due
                .take_due(start + 10 * RELAY_FETCH_EVERY)
                .is_empty()
        );
    }

    #[test]
    fn a_document_due_while_its_read_is_in_flight_is_not_lost() {
        let (mut relays, relay) = one_relay();
        let (topic, start) = ([1; 32], Instant::now());
        relays.reading_started(relay, topic, start);
        let due_at = start + RELAY_FETCH_EVERY;
        assert_eq!(relays.fetch_due.take_due(due_at), vec![(relay, topic)]);
        // Still in flight when due (a read may take the request timeout).
        relays.still_busy((relay, topic), false, due_at);
        assert!(!relays.read_soon.contains(&(relay, topic)));
        assert_eq!(
            relays.fetch_due.take_due(due_at + IN_FLIGHT_RECHECK),
            vec![(relay, topic)]
        );
        // Asked for while in flight: read again after it, at the next tick.
        relays.still_busy((relay, topic), true, due_at);
        assert!(relays.read_soon.contains(&(relay, topic)));
    }

    /// Moves `relay`'s (first entry's) feed to following, as its first answer does.
    fn follow(relays: &mut Relays, relay: PeerId, now: Instant) {
        let feed = &mut relays
            .list
            .iter_mut()
            .find(|r| r.peer == relay)
            .unwrap()
            .feed;
        feed.ask_due(now);
        let start = MailboxResponse::Changed {
            topics: Vec::new(),
            cursor: 1,
            more: false,
        };
        feed.answered(Ok(start), now);
    }

    #[test]
    fn a_relay_listed_by_two_addresses_follows_changes_once() {
        let peer = PeerId::random();
        let addrs: Vec<Multiaddr> = ["tcp/4001", "udp/4001/quic-v1"]
            .iter()
            .map(|a| format!("/ip4/127.0.0.1/{a}/p2p/{peer}").parse().unwrap())
            .collect();
        let (tx, _rx) = mpsc::channel(1);
        let mut relays = Relays::new(&addrs, 1, tx);
        assert_eq!(relays.list.len(), 2);
        assert!(relays.holds_reads(peer));
        follow(&mut relays, peer, Instant::now());
        // The second entry's feed was never asked; the relay is still followed.
        assert!(relays.follows_changes(peer));
        assert!(!relays.holds_reads(peer));
    }

    #[test]
    fn a_failed_or_forgotten_read_at_a_followed_relay_is_made_again() {
        let (mut relays, relay) = one_relay();
        let (topic, now) = ([1; 32], Instant::now());
        follow(&mut relays, relay, now);
        relays.reading_started(relay, topic, now);
        // No periodic read at a relay that names what changed.
        assert!(
            relays
                .fetch_due
                .take_due(now + 2 * RELAY_FETCH_EVERY)
                .is_empty()
        );
        // A failed read is made again shortly, whatever the last.
        relays.read_failed(relay, topic);
        assert!(!relays.last_fetch.contains_key(&(relay, topic)));
        let due = relays
            .fetch_due
            .take_due(Instant::now() + FAILED_READ_RETRY);
        assert_eq!(due, vec![(relay, topic)]);
        // A document left and joined again is read again: while it was away, no
        // ask named it.
        relays.reading_started(relay, topic, now);
        relays.forget_document(topic);
        assert!(!relays.last_fetch.contains_key(&(relay, topic)));
        // Added while an ask is in flight: kept to read when its answer comes.
        relays.list[0].feed.ask_soon(now);
        relays.list[0].feed.ask_due(now);
        relays.document_added([2; 32]);
        assert_eq!(relays.list[0].added_during_ask, vec![[2; 32]]);
    }

    #[test]
    fn uploads_in_flight_at_a_relay_are_bounded() {
        let (mut relays, relay) = one_relay();
        for _ in 0..MAX_RELAY_UPLOADS_IN_FLIGHT {
            assert!(relays.take_upload_room(relay));
        }
        assert!(!relays.take_upload_room(relay));
        relays.upload_ended(relay, [0; 32]);
        assert!(relays.take_upload_room(relay));
    }
}
