//! What the node reports about itself and each shared document.

use std::collections::{BTreeMap, HashMap};

use quire_crypto::{PeerId, Role};
use quire_doc::DocumentId;
use quire_net::{ConnectionPath, Multiaddr};

use crate::DropReason;
use crate::presence::{PeerPresence, Presence};

/// The node as a whole.
#[derive(Debug, Clone)]
pub struct NodeStatus {
    /// This device.
    pub peer_id: PeerId,
    /// Where it listens.
    pub listen: Vec<Multiaddr>,
    /// Peers with an open connection.
    pub connected: Vec<PeerId>,
    /// How each connected peer is reached (the best of its connections).
    pub paths: HashMap<PeerId, ConnectionPath>,
    /// Shared documents being synced.
    pub docs: Vec<DocStatus>,
    /// The relays whose mailboxes the node uses.
    pub relays: Vec<RelayStatus>,
    /// Catch-up and summary counts since the node started.
    pub catch_ups: CatchUpCounters,
}

/// How many catch-up exchanges, summaries and hellos a node ran since it started:
/// what a reconnect cost, document by document or in summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatchUpCounters {
    /// Full catch-up exchanges started (state vector sent, missing updates back).
    pub catch_ups_started: u64,
    /// Summary requests sent (each about up to
    /// [`crate::summary::MAX_DIGESTS_PER_SUMMARY`] documents).
    pub summaries_sent: u64,
    /// Documents a summary found equal on both sides (no catch-up needed).
    pub summarised_unchanged: u64,
    /// Session hellos published (each reaches every peer in its document): about
    /// one per shared document on a connect.
    pub hellos_published: u64,
}

/// One relay, as the node sees it.
#[derive(Debug, Clone)]
pub struct RelayStatus {
    /// Its address (ending in its peer id).
    pub addr: Multiaddr,
    /// Its peer id.
    pub peer: PeerId,
    /// Whether it is connected now.
    pub connected: bool,
    /// Whether it holds a slot for this device, so members behind other NATs can
    /// reach it through the relay.
    pub reachable_through: bool,
    /// When it last acknowledged an upload, ms since the epoch.
    pub last_upload: Option<i64>,
    /// When its mailbox was last read, ms since the epoch.
    pub last_read: Option<i64>,
    /// Its last refusal or failure, in words, if the last request failed.
    pub error: Option<String>,
    /// Whether it is one of the settings' relays (used for every document) rather
    /// than one named in a document's link.
    pub for_every_document: bool,
}

/// One shared document.
#[derive(Debug, Clone)]
pub struct DocStatus {
    /// The document.
    pub id: DocumentId,
    /// This device's role.
    pub role: Role,
    /// Connected peers in the document.
    pub peers: Vec<PeerId>,
    /// Their presences (those heard from recently).
    pub present: Vec<PeerPresence>,
    /// What this device shows.
    pub presence: Presence,
    /// When a catch-up with a peer last completed, ms since the epoch.
    pub last_sync: Option<i64>,
    /// Local updates no peer is known to have yet.
    pub pending: u64,
    /// Messages sent and accepted.
    pub sent: u64,
    /// Sealed bytes of the live updates published (gossip framing not included).
    pub sent_bytes: u64,
    /// Live update messages published (a burst of transactions is one).
    pub live_sent: u64,
    /// Messages received and accepted.
    pub received: u64,
    /// Full catch-up exchanges started on it since the node started.
    pub catch_ups_started: u64,
    /// Messages dropped, by reason.
    pub dropped: BTreeMap<DropReason, u64>,
}

/// What the node tells subscribers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum NodeEvent {
    /// A connection to a peer opened.
    PeerConnected(PeerId),
    /// Hole punching was tried on a connection through a relay: `direct` says
    /// whether the peer is now connected directly.
    HolePunch {
        /// The peer.
        peer: PeerId,
        /// Whether a direct connection now exists.
        direct: bool,
    },
    /// The last connection to a peer closed.
    PeerDisconnected(PeerId),
    /// A member's presence changed (`None`: it left or went silent).
    Presence {
        /// The document.
        id: DocumentId,
        /// The member.
        peer: PeerId,
        /// What it shows now.
        presence: Option<Presence>,
    },
    /// A chunk of a catch-up answer from a peer was applied: `received` of `total`
    /// (an answer larger than one chunk takes a while; this is its progress).
    CatchingUp {
        /// The document.
        id: DocumentId,
        /// The peer answering.
        peer: PeerId,
        /// Chunks applied so far.
        received: u32,
        /// Chunks in the answer.
        total: u32,
    },
    /// A relay acknowledged an upload of this device's state of a document.
    RelayStored {
        /// The document.
        id: DocumentId,
        /// The relay.
        relay: PeerId,
        /// The item's number in the relay's mailbox.
        seq: u64,
    },
    /// This device replaced a relay's items of a document with one sealed snapshot.
    RelayCompacted {
        /// The document.
        id: DocumentId,
        /// The relay.
        relay: PeerId,
        /// The snapshot's number in the relay's mailbox (the items up to the last
        /// one read before it are gone).
        seq: u64,
    },
    /// Items were read from a relay's mailbox and applied.
    RelayFetched {
        /// The document.
        id: DocumentId,
        /// The relay.
        relay: PeerId,
        /// How many items were read.
        items: usize,
    },
    /// A catch-up exchange with a peer completed.
    Synced {
        /// The document.
        id: DocumentId,
        /// The peer.
        peer: PeerId,
    },
    /// A live update from a peer was applied; `ticket` is its place in the engine's
    /// durable progress ([`quire_engine::Engine::durable_progress`]).
    RemoteApplied {
        /// The document.
        id: DocumentId,
        /// The device that made the update.
        sender: PeerId,
        /// Its sequence number in the sender's session.
        seq: u64,
        /// The write ticket, if anything was written.
        ticket: Option<u64>,
    },
    /// Local transactions went out as one sealed gossip message.
    Published {
        /// The document.
        id: DocumentId,
        /// Its sequence number in this device's session.
        seq: u64,
        /// How many local transactions it carries (more than one when they queued up).
        transactions: usize,
        /// Its sealed size.
        bytes: usize,
    },
    /// A message was dropped.
    Dropped {
        /// The document.
        id: DocumentId,
        /// The peer it came from.
        peer: PeerId,
        /// Why.
        reason: DropReason,
    },
}
