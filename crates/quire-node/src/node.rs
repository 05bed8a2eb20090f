//! The node: one task that joins the engine and the network. It publishes local
//! updates sealed, opens and applies what peers send, answers and runs catch-up
//! exchanges, and keeps presence.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use quire_crypto::{DeviceIdentity, Kind, PeerId, RemoteSession, Role, SessionHint, TOPIC_BYTES};
use quire_doc::DocumentId;
use quire_doc::sync::{SyncMessage, SyncSession, has_news};
use quire_engine::{Engine, EngineEvent, Membership, Origin};
use quire_net::{
    MAX_SYNC_PAYLOAD_BYTES, Multiaddr, NetConfig, NetError, NetEvent, NetHandle, Validation,
};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::NodeError;
use crate::config::{
    ANSWER_CACHE_TTL, CATCH_UP_RETRY_AFTER, DOCUMENT_SWEEP, MAX_CACHED_ANSWER_BYTES,
    MAX_CACHED_ANSWERS, MAX_CATCH_UP_ATTEMPTS, MAX_CATCH_UPS_PER_PEER, NodeConfig, TICK,
};
use crate::doc_sync::{BundleItem, DocSync, DropReason, Incoming};
use crate::known_hellos::{MAX_HELLOS_PER_WANTED_HINT, MAX_PASSED_HELLOS};
use crate::presence::{
    AwarenessMessage, Cursor, IDLE_PRESENCE_TIMEOUT, Presence, PresenceChange, presence_due,
};
use crate::status::{CatchUpCounters, DocStatus, NodeEvent, NodeStatus};
use crate::wire::{
    CatchUpRequest, ExchangeId, MAX_BUNDLE_ITEMS, MAX_WANTED_HINTS, bundle_len, decode_bundle,
    decode_chunk, encode_bundle, encode_chunk,
};

// An answer's hellos (its own, those under the hints asked for, the recent ones)
// leave room in one bundle for at least one chunk.
const _: () = assert!(
    1 + MAX_WANTED_HINTS * MAX_HELLOS_PER_WANTED_HINT + MAX_PASSED_HELLOS < MAX_BUNDLE_ITEMS
);

/// Hellos under asked-for hints kept per catch-up, to settle held messages with: all
/// an answer can carry under the hints one request names.
const MAX_SHOWN_HELLOS: usize = MAX_WANTED_HINTS * MAX_HELLOS_PER_WANTED_HINT;

type Topic = [u8; TOPIC_BYTES];

mod compaction;
mod due_times;
mod greetings;
mod per_second;
mod relay_changes;
mod relay_discovery;
mod relay_reads;
mod relays;
mod summaries;
mod sweep;
mod unknown_hints;
mod unverified;
mod waiting_catch_ups;
use due_times::DueTimes;
pub use greetings::GREETINGS_PER_TICK;
use greetings::Greetings;
pub use relay_changes::MAX_FEED_START_FAILURES;
pub use relays::{RELAY_FETCH_EVERY, RELAY_UPLOAD_EVERY};
use relays::{RelayResult, Relays};
pub use summaries::{MAX_SUMMARY_ATTEMPTS, SUMMARY_GATHER, SUMMARY_RETRY_AFTER};
use summaries::{Summaries, SummaryResult, result_peer};
use unknown_hints::UnknownSessionHints;
use unverified::HeldMessages;
use waiting_catch_ups::WaitingCatchUps;

/// Events buffered for slow subscribers.
const NODE_EVENT_BUFFER: usize = 4096;
/// Peer ids kept as text before the cache starts over.
const MAX_PEER_NAMES: usize = 1024;

/// Most bytes of queued local updates merged into one gossip message (well under
/// the gossip message cap once sealed).
pub const MAX_BURST_BYTES: usize = 60 * 1024;

enum Command {
    Status(oneshot::Sender<NodeStatus>),
    Dial(Multiaddr, oneshot::Sender<Result<(), NodeError>>),
    SetPresence {
        id: DocumentId,
        cursor: Option<Cursor>,
        typing: bool,
        reply: oneshot::Sender<Result<(), NodeError>>,
    },
    SetProfile {
        name: String,
        color: Option<String>,
    },
    SetRelays(Vec<Multiaddr>),
    Shutdown(oneshot::Sender<()>),
}

/// A running sync node. Cheap to clone; [`SyncNode::shutdown`] stops it.
#[derive(Clone, Debug)]
pub struct SyncNode {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<NodeEvent>,
    net: NetHandle,
}

impl SyncNode {
    /// Starts the network and keeps every shared, syncing document of `engine` in
    /// sync until [`SyncNode::shutdown`].
    pub async fn start(engine: Engine, config: NodeConfig) -> Result<Self, NodeError> {
        let identity = engine.identity().clone();
        let mut net_config = NetConfig::new(identity.to_libp2p_keypair());
        net_config.listen = config.listen.clone();
        net_config.enable_mdns = config.mdns;
        net_config.event_channel_capacity = config.net_event_capacity;
        let (net, net_events) = quire_net::Node::spawn(net_config)?;
        let (command_tx, commands) = mpsc::channel(256);
        let (events, _) = broadcast::channel(NODE_EVENT_BUFFER);
        let (results_tx, results) = mpsc::channel(256);
        let (relay_results_tx, relay_results) = mpsc::channel(256);
        let (summary_due_tx, summary_due) = mpsc::channel(256);
        let (summary_results_tx, summary_results) = mpsc::channel(256);
        let name = engine.display_name().await?;
        let color = engine.color().await?;
        let mut actor = Actor {
            engine_events: engine.subscribe(),
            engine,
            net: net.clone(),
            net_events,
            commands,
            events: events.clone(),
            identity,
            name,
            color,
            docs: HashMap::new(),
            by_id: HashMap::new(),
            listen: Vec::new(),
            connected: HashSet::new(),
            catch_ups: HashMap::new(),
            waiting_catch_ups: WaitingCatchUps::default(),
            answers: HashMap::new(),
            results_tx,
            results,
            summaries: Summaries::new(summary_due_tx, summary_results_tx),
            summary_due,
            summary_results,
            counters: CatchUpCounters::default(),
            lagged: false,
            presence_waiting: HashSet::new(),
            greetings: Greetings::default(),
            last_sweep: Instant::now(),
            sweep: DueTimes::default(),
            peer_names: HashMap::new(),
            held: HeldMessages::default(),
            unknown_hints: UnknownSessionHints::default(),
            relays: Relays::new(&config.relays, config.relay_compact_after, relay_results_tx),
            relay_results,
        };
        actor.refresh_all().await?;
        for addr in config.bootstrap {
            actor.dial(addr).await;
        }
        tokio::spawn(actor.run());
        Ok(Self {
            commands: command_tx,
            events,
            net,
        })
    }

    /// This device's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.net.local_peer_id()
    }

    /// The network handle (for tests and diagnostics).
    pub fn net(&self) -> &NetHandle {
        &self.net
    }

    /// Events: connections, presence, completed catch-ups, dropped messages.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// The node's state and each shared document's.
    pub async fn status(&self) -> Result<NodeStatus, NodeError> {
        let mut status = self.ask(Command::Status).await?;
        status.paths = self.net.connection_paths().await?.into_iter().collect();
        Ok(status)
    }

    /// The addresses to put in an invite: the relays of the settings first (as
    /// `<relay>/p2p-circuit`, so the joiner uses them for this document), then where
    /// this node listens, loopback last; at most what a ticket holds.
    pub async fn ticket_addrs(&self) -> Result<Vec<String>, NodeError> {
        let status = self.status().await?;
        let mut listen: Vec<String> = status.listen.iter().map(ToString::to_string).collect();
        listen.sort_by_key(|a| a.contains("/127.0.0.1/") || a.contains("/::1/"));
        let mut addrs: Vec<String> = status
            .relays
            .iter()
            .filter(|r| r.for_every_document)
            .map(|r| format!("{}/p2p-circuit", r.addr))
            .collect();
        addrs.extend(listen);
        addrs.truncate(quire_crypto::MAX_TICKET_ADDRS);
        Ok(addrs)
    }

    /// Dials a peer or relay address.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NodeError> {
        self.ask(|tx| Command::Dial(addr, tx)).await?
    }

    /// Sets this device's cursor and typing state in a document; sent to the other
    /// members (rate-limited).
    pub async fn set_presence(
        &self,
        id: DocumentId,
        cursor: Option<Cursor>,
        typing: bool,
    ) -> Result<(), NodeError> {
        self.ask(|reply| Command::SetPresence {
            id,
            cursor,
            typing,
            reply,
        })
        .await?
    }

    /// Changes the name and colour shown to the other members (the engine keeps the
    /// settings); no colour means the one picked from the peer id.
    pub async fn set_profile(&self, name: String, color: Option<String>) -> Result<(), NodeError> {
        self.commands
            .send(Command::SetProfile { name, color })
            .await
            .map_err(|_| NodeError::Stopped)
    }

    /// Uses these relays from now on (each address ends in `/p2p/<relay peer id>`).
    pub async fn set_relays(&self, relays: Vec<Multiaddr>) -> Result<(), NodeError> {
        self.commands
            .send(Command::SetRelays(relays))
            .await
            .map_err(|_| NodeError::Stopped)
    }

    /// Says goodbye in every document and stops the network.
    pub async fn shutdown(&self) -> Result<(), NodeError> {
        self.ask(Command::Shutdown).await
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }
}

/// A catch-up this node runs with one peer for one document.
struct CatchUp {
    exchange: ExchangeId,
    state_vector: Vec<u8>,
    session: SyncSession,
    /// Chunks of the answer received so far.
    chunks: u32,
    started: Instant,
    /// Hints its requests named (of held messages, and of sessions never heard of),
    /// and when each was first named: a complete answer settles the messages held by
    /// then (see `unverified`).
    named: HashMap<SessionHint, Instant>,
    /// Hellos its answers carried under those hints.
    shown: Vec<RemoteSession>,
    attempts: u32,
    in_flight: bool,
    /// Asked for again while running: start a fresh exchange when this one ends.
    again: bool,
}

/// An answer kept for the asker's follow-up requests.
struct CachedAnswer {
    chunks: Vec<Vec<u8>>,
    bytes: usize,
    made: Instant,
}

/// Which answer: document, asker, exchange.
type AnswerKey = (Topic, PeerId, ExchangeId);

struct CatchUpResult {
    topic: Topic,
    peer: PeerId,
    exchange: ExchangeId,
    result: Result<Vec<u8>, NetError>,
}

struct Actor {
    engine: Engine,
    engine_events: broadcast::Receiver<EngineEvent>,
    net: NetHandle,
    net_events: mpsc::Receiver<NetEvent>,
    commands: mpsc::Receiver<Command>,
    events: broadcast::Sender<NodeEvent>,
    identity: DeviceIdentity,
    name: String,
    /// The colour chosen for this device, if one was.
    color: Option<String>,
    docs: HashMap<Topic, DocSync>,
    by_id: HashMap<DocumentId, Topic>,
    listen: Vec<Multiaddr>,
    connected: HashSet<PeerId>,
    /// Catch-ups running, at most [`MAX_CATCH_UPS_PER_PEER`] per peer.
    catch_ups: HashMap<(Topic, PeerId), CatchUp>,
    /// Catch-ups waiting for one with the same peer to end, in the order asked.
    waiting_catch_ups: WaitingCatchUps,
    answers: HashMap<AnswerKey, CachedAnswer>,
    results_tx: mpsc::Sender<CatchUpResult>,
    results: mpsc::Receiver<CatchUpResult>,
    summaries: Summaries,
    /// Peers whose gathered documents' summary is due.
    summary_due: mpsc::Receiver<PeerId>,
    summary_results: mpsc::Receiver<SummaryResult>,
    counters: CatchUpCounters,
    /// Local updates were missed: every peer must catch up.
    lagged: bool,
    /// Documents whose changed presence waits for the minimum interval.
    presence_waiting: HashSet<Topic>,
    /// Documents whose new subscribers wait for our hello and presence.
    greetings: Greetings,
    /// When the documents due for heartbeats, expiries, periodic catch-ups and
    /// redials were last looked at (see [`DOCUMENT_SWEEP`]).
    last_sweep: Instant,
    /// When each document is next due at the sweep.
    sweep: DueTimes<Topic>,
    relays: Relays,
    relay_results: mpsc::Receiver<RelayResult>,
    /// Members' peer ids as text, the origin the engine logs their updates under
    /// (formatting one costs more than the rest of logging an update).
    peer_names: HashMap<PeerId, String>,
    /// Gossip messages waiting for their forwarder to show the hello that opens them.
    held: HeldMessages,
    /// Hints of unknown sessions whose hellos to ask their forwarders for.
    unknown_hints: UnknownSessionHints,
}

/// What became of a gossip message.
enum GossipOutcome {
    /// Judged: the verdict to report.
    Settled(Validation),
    /// A session hello heard for the first time (accepted): held messages under its
    /// hint may open now; `greet` unless its device was greeted already.
    NewSession { hint: SessionHint, greet: bool },
    /// Signed by no session known here, though one has its hint: its forwarder must
    /// show the hello (see `unverified`).
    Unverified(SessionHint),
}

impl Actor {
    /// The colour this device shows: the chosen one, else one picked from its peer id.
    fn color(&self) -> String {
        self.color
            .clone()
            .unwrap_or_else(|| crate::presence::default_color(&self.identity.peer_id()).to_owned())
    }

    async fn run(mut self) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ack = loop {
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown(ack)) => break Some(ack),
                    Some(command) => self.handle_command(command).await,
                    None => break None,
                },
                event = self.engine_events.recv() => match event {
                    Ok(event) => self.handle_engine_event(event).await,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "sync node fell behind the engine; catching up with every peer");
                        if let Err(e) = self.refresh_all().await {
                            tracing::warn!("re-reading shared documents failed: {e}");
                        }
                        self.nudge_all().await;
                    }
                    Err(broadcast::error::RecvError::Closed) => break None,
                },
                Some(event) = self.net_events.recv() => self.handle_net_event(event).await,
                Some(result) = self.results.recv() => {
                    let peer = result.peer;
                    self.handle_catch_up_result(result).await;
                    self.start_waiting_catch_ups(peer).await;
                }
                Some(peer) = self.summary_due.recv() => self.send_summary(peer).await,
                Some(result) = self.summary_results.recv() => {
                    let peer = result_peer(&result);
                    self.handle_summary_result(result).await;
                    self.start_waiting_catch_ups(peer).await;
                }
                Some(result) = self.relay_results.recv() => self.handle_relay_result(result).await,
                _ = tick.tick() => self.on_tick().await,
            }
        };
        self.goodbye().await;
        let _ = self.net.shutdown().await;
        // Let go of the engine before saying we stopped, so that closing it next
        // releases the data folder.
        drop(self);
        if let Some(ack) = ack {
            let _ = ack.send(());
        }
        tracing::debug!("sync node stopped");
    }

    fn emit(&self, event: NodeEvent) {
        let _ = self.events.send(event);
    }

    // ---- documents -------------------------------------------------------------

    async fn refresh_all(&mut self) -> Result<(), NodeError> {
        for membership in self.engine.memberships().await? {
            self.apply_membership(membership).await;
        }
        Ok(())
    }

    async fn refresh(&mut self, id: DocumentId) {
        match self.engine.membership(id).await {
            Ok(Some(membership)) => self.apply_membership(membership).await,
            Ok(None) => self.remove_doc(id).await,
            Err(e) => tracing::warn!("document {id}: cannot read its sharing state: {e}"),
        }
    }

    async fn apply_membership(&mut self, membership: Membership) {
        let id = membership.id;
        if !membership.syncing {
            self.remove_doc(id).await;
            return;
        }
        if let Some(topic) = self.by_id.get(&id)
            && let Some(doc) = self.docs.get(topic)
            && doc.role() == membership.role()
        {
            return;
        }
        // New, or the role changed (a write link joined after a read one).
        self.remove_doc(id).await;
        let presence = Presence::with_color(&self.name, &self.color());
        let doc = DocSync::new(
            id,
            membership.keys,
            &self.identity,
            presence,
            membership.last_sync,
        );
        let topic = doc.topic;
        let addrs: Vec<Multiaddr> = membership
            .addrs
            .iter()
            .filter_map(|a| match a.parse() {
                Ok(addr) => Some(addr),
                Err(e) => {
                    tracing::debug!("document {id}: skipping address {a}: {e}");
                    None
                }
            })
            .collect();
        // A relay is named in a link as `<relay address>/p2p-circuit`.
        let (relay_addrs, addrs): (Vec<Multiaddr>, Vec<Multiaddr>) =
            addrs.into_iter().partition(|a| {
                matches!(
                    a.iter().last(),
                    Some(quire_net::multiaddr::Protocol::P2pCircuit)
                )
            });
        let relay_addrs: Vec<Multiaddr> = relay_addrs
            .into_iter()
            .map(|mut a| {
                a.pop();
                a
            })
            .collect();
        self.relays.set_for(topic, relay_addrs);
        self.relays.document_added(topic);
        // Upload what the relays lack of it (nothing when they have it all): a
        // document shared while the relays are connected is otherwise uploaded only
        // at its next edit, and a member who joins when this device is gone finds
        // an empty mailbox.
        self.relays.changed(topic);
        let mut doc = doc;
        doc.addrs = addrs.clone();
        doc.last_redial = Some(Instant::now());
        self.docs.insert(topic, doc);
        self.by_id.insert(id, topic);
        self.sweep.due_by(topic, Instant::now());
        // Peers already in the topic are reported as subscribing now, and greeted
        // then (see `greetings`).
        if let Err(e) = self.net.subscribe(topic).await {
            tracing::warn!("document {id}: cannot join its topic: {e}");
        }
        for addr in addrs {
            self.dial(addr).await;
        }
    }

    async fn remove_doc(&mut self, id: DocumentId) {
        let Some(topic) = self.by_id.remove(&id) else {
            return;
        };
        self.publish_awareness(topic, None).await;
        self.docs.remove(&topic);
        self.sweep.forget(topic);
        self.release_topic(topic).await;
        self.unknown_hints.forget_topic(topic);
        self.relays.forget_document(topic);
        self.relays.set_for(topic, Vec::new());
        self.catch_ups.retain(|(t, _), _| *t != topic);
        self.waiting_catch_ups.forget_topic(topic);
        self.summaries.forget_topic(topic);
        self.greetings.forget(topic);
        let _ = self.net.unsubscribe(topic).await;
    }

    async fn dial(&mut self, addr: Multiaddr) {
        let target = addr.iter().find_map(|p| match p {
            quire_net::multiaddr::Protocol::P2p(peer) => Some(peer),
            _ => None,
        });
        if let Some(peer) = target
            && (peer == self.identity.peer_id() || self.connected.contains(&peer))
        {
            return;
        }
        if let Err(e) = self.net.dial(addr.clone()).await {
            tracing::debug!(%addr, "dial failed: {e}");
        }
    }

    // ---- commands --------------------------------------------------------------

    async fn handle_command(&mut self, command: Command) {
        match command {
            Command::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Command::Dial(addr, reply) => {
                let result = self.net.dial(addr).await.map_err(NodeError::from);
                let _ = reply.send(result);
            }
            Command::SetPresence {
                id,
                cursor,
                typing,
                reply,
            } => {
                let topic = self.by_id.get(&id).copied();
                let result = match topic.and_then(|t| self.docs.get_mut(&t)) {
                    Some(doc) => {
                        if doc.local_presence.cursor != cursor
                            || doc.local_presence.typing != typing
                        {
                            doc.local_presence.cursor = cursor;
                            doc.local_presence.typing = typing;
                            doc.presence_dirty = true;
                        }
                        Ok(())
                    }
                    None => Err(NodeError::NotSyncing(id.to_string())),
                };
                let _ = reply.send(result);
                if let Some(topic) = topic {
                    self.flush_presence_of(topic).await;
                }
            }
            Command::SetProfile { name, color } => {
                self.name = name;
                self.color = color;
                let color = self.color();
                for doc in self.docs.values_mut() {
                    doc.local_presence.name = self.name.clone();
                    doc.local_presence.color = color.clone();
                    doc.presence_dirty = true;
                }
                self.flush_presence().await;
            }
            Command::SetRelays(addrs) => {
                let topics: Vec<Topic> = self.docs.keys().copied().collect();
                self.relays.set(&addrs);
                let relays: Vec<PeerId> = self.relays.list.iter().map(|r| r.peer).collect();
                for relay in relays {
                    if self.connected.contains(&relay) {
                        self.relays.connected(relay, topics.iter().copied());
                    }
                }
            }
            Command::Shutdown(_) => {}
        }
    }

    fn status(&self) -> NodeStatus {
        let mut docs: Vec<DocStatus> = self
            .docs
            .values()
            .map(|doc| {
                let mut peers: Vec<PeerId> = doc
                    .peers
                    .iter()
                    .filter(|p| self.connected.contains(p))
                    .copied()
                    .collect();
                peers.sort();
                DocStatus {
                    id: doc.id,
                    role: doc.role(),
                    peers,
                    present: doc.presence.list(),
                    presence: doc.local_presence.clone(),
                    last_sync: doc.last_sync,
                    pending: doc.pending,
                    sent: doc.sent,
                    sent_bytes: doc.sent_bytes,
                    live_sent: doc.live_sent,
                    received: doc.received,
                    catch_ups_started: doc.catch_ups_started,
                    dropped: doc.dropped.clone(),
                }
            })
            .collect();
        docs.sort_by_key(|d| d.id.to_string());
        let mut connected: Vec<PeerId> = self.connected.iter().copied().collect();
        connected.sort();
        NodeStatus {
            peer_id: self.identity.peer_id(),
            listen: self.listen.clone(),
            connected,
            paths: HashMap::new(),
            relays: self.relays.status(&self.connected),
            docs,
            catch_ups: self.counters,
        }
    }

    // ---- local changes ---------------------------------------------------------

    async fn handle_engine_event(&mut self, first: EngineEvent) {
        let mut next = Some(first);
        while let Some(event) = next.take() {
            match event {
                EngineEvent::Changed {
                    id,
                    origin: Origin::Local,
                    update,
                } => {
                    if let Some(&topic) = self.by_id.get(&id) {
                        self.relays.changed(topic);
                    }
                    // Transactions that queued up while we were busy go as one
                    // message; a typist at normal speed gets one message each.
                    let (burst, following) = self.drain_local(id, update);
                    next = following;
                    if !self.has_peers(id) {
                        // Nobody to send to: catch-up carries it when someone comes.
                        if let Some(doc) = self.by_id.get(&id).and_then(|t| self.docs.get_mut(t)) {
                            doc.pending += 1;
                        }
                        continue;
                    }
                    // One update goes as it is; only a burst is merged (decoded and
                    // encoded again).
                    let merged = match &burst[..] {
                        [single] => Ok(std::borrow::Cow::Borrowed(&single[..])),
                        parts => {
                            let parts: Vec<&[u8]> = parts.iter().map(|u| &u[..]).collect();
                            quire_doc::merge_updates(&parts).map(std::borrow::Cow::Owned)
                        }
                    };
                    match merged {
                        Ok(merged) => {
                            if let Some((seq, bytes)) = self.publish_update(id, &merged).await {
                                self.emit(NodeEvent::Published {
                                    id,
                                    seq,
                                    transactions: burst.len(),
                                    bytes,
                                });
                            }
                        }
                        Err(e) => {
                            tracing::warn!(
                                "document {id}: merging updates failed ({e}); peers catch up instead"
                            );
                            if let Some(&topic) = self.by_id.get(&id) {
                                self.nudge(topic).await;
                            }
                        }
                    }
                }
                EngineEvent::Changed {
                    id,
                    origin: Origin::Peer(_),
                    ..
                } => {
                    // What peers sent goes to the relays too, for members who are
                    // offline now.
                    if let Some(&topic) = self.by_id.get(&id) {
                        self.relays.changed(topic);
                    }
                }
                EngineEvent::SharingChanged { id } => self.refresh(id).await,
                EngineEvent::Purged { id } => self.remove_doc(id).await,
                _ => {}
            }
        }
    }

    /// The origin under which the engine logs `peer`'s updates.
    fn origin_of(&mut self, peer: PeerId) -> Origin {
        if self.peer_names.len() >= MAX_PEER_NAMES {
            self.peer_names.clear();
        }
        let name = self
            .peer_names
            .entry(peer)
            .or_insert_with(|| peer.to_string());
        Origin::Peer(name.clone())
    }

    /// Whether a connected peer is in the document.
    fn has_peers(&self, id: DocumentId) -> bool {
        self.by_id
            .get(&id)
            .and_then(|t| self.docs.get(t))
            .is_some_and(|d| d.peers.iter().any(|p| self.connected.contains(p)))
    }

    /// Takes the local updates of `id` already queued behind `first` (up to
    /// [`MAX_BURST_BYTES`]); returns them and the first other event, if any.
    fn drain_local(
        &mut self,
        id: DocumentId,
        first: std::sync::Arc<[u8]>,
    ) -> (Vec<std::sync::Arc<[u8]>>, Option<EngineEvent>) {
        let mut bytes = first.len();
        let mut burst = vec![first];
        while bytes < MAX_BURST_BYTES {
            match self.engine_events.try_recv() {
                Ok(EngineEvent::Changed {
                    id: same,
                    origin: Origin::Local,
                    update,
                }) if same == id => {
                    bytes += update.len();
                    burst.push(update);
                }
                Ok(other) => return (burst, Some(other)),
                Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "sync node fell behind the engine; peers catch up");
                    self.lagged = true;
                    break;
                }
                Err(_) => break,
            }
        }
        (burst, None)
    }

    /// Seals and publishes a local update; returns its sequence number and sealed size
    /// if gossip took it.
    async fn publish_update(&mut self, id: DocumentId, update: &[u8]) -> Option<(u64, usize)> {
        let topic = *self.by_id.get(&id)?;
        let doc = self.docs.get_mut(&topic)?;
        if doc.role() == Role::Read {
            return None;
        }
        doc.pending += 1;
        let sealed = match doc.seal(Kind::Update, update) {
            Ok(sealed) => sealed,
            Err(e) => {
                tracing::debug!(
                    "document {id}: update not sealed for gossip ({e}); peers catch up instead"
                );
                self.nudge(topic).await;
                return None;
            }
        };
        let sealed_len = sealed.len();
        match self.net.publish(topic, sealed).await {
            Ok(()) => {
                let doc = self.docs.get_mut(&topic)?;
                doc.sent += 1;
                doc.sent_bytes += sealed_len as u64;
                doc.live_sent += 1;
                let first_live = !std::mem::replace(&mut doc.live_since_periodic, true);
                // Gossip reached someone; what does not is caught up on connect.
                doc.pending = doc.pending.saturating_sub(1);
                let seq = doc.last_seq().unwrap_or_default();
                if first_live {
                    self.reschedule(topic);
                }
                Some((seq, sealed_len))
            }
            Err(NetError::NoPeersSubscribed) => None,
            Err(NetError::MessageTooLarge { .. }) => {
                self.nudge(topic).await;
                None
            }
            Err(e) => {
                tracing::debug!("document {id}: publishing failed: {e}");
                None
            }
        }
    }

    /// Asks every member of the document for a catch-up: they answer with what we
    /// lack and, seeing we have news, ask us in turn.
    async fn nudge(&mut self, topic: Topic) {
        let peers: Vec<PeerId> = self
            .docs
            .get(&topic)
            .map(|d| {
                d.peers
                    .iter()
                    .filter(|p| self.connected.contains(p))
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        for peer in peers {
            self.start_catch_up(topic, peer, true).await;
        }
    }

    async fn nudge_all(&mut self) {
        let topics: Vec<Topic> = self.docs.keys().copied().collect();
        for topic in topics {
            self.nudge(topic).await;
        }
    }

    /// A member's new session was heard: a device that just joined, or one that
    /// restarted (after a crash its connection may be replaced before the old one is
    /// seen to close, so gossip reports no new subscription), or one heard for the
    /// first time through a relay. It may not have this device's hello (said before
    /// it listened) nor its presence (repeated only every
    /// [`crate::presence::PRESENCE_HEARTBEAT`], or rarer when idle):
    /// say both again, so that each can open the other's edits and shows the other's
    /// name at once.
    async fn greet_new_session(&mut self, topic: Topic) {
        self.greetings.forget(topic);
        let published = self.publish_hello(topic).await;
        if let Some(doc) = self.docs.get_mut(&topic) {
            if published {
                doc.greeted.extend(doc.new_subscribers.drain());
            }
            doc.presence_sent = None;
        }
        self.flush_presence_of(topic).await;
    }

    /// Greets `topic`'s new sessions: at once if someone has it open here, else in
    /// turn (a connect, directly or through a relay, announces every shared
    /// document at once; see [`greetings`]).
    async fn greet_soon(&mut self, topic: Topic) {
        let open = self
            .docs
            .get(&topic)
            .is_some_and(|d| d.local_presence.cursor.is_some());
        if open {
            self.greet_new_session(topic).await;
        } else {
            self.greetings.push(topic);
        }
    }

    /// Publishes our session's hello on `topic`; `true` if it went out.
    async fn publish_hello(&mut self, topic: Topic) -> bool {
        let Some(doc) = self.docs.get(&topic) else {
            return false;
        };
        match doc.hello() {
            Ok(hello) => match self.net.publish(topic, hello).await {
                Ok(()) => {
                    self.counters.hellos_published += 1;
                    true
                }
                Err(NetError::NoPeersSubscribed) => false,
                Err(e) => {
                    tracing::debug!("publishing a hello failed: {e}");
                    false
                }
            },
            Err(e) => {
                tracing::warn!("sealing a hello failed: {e}");
                false
            }
        }
    }

    async fn publish_awareness(&mut self, topic: Topic, presence: Option<Presence>) {
        let Some(doc) = self.docs.get_mut(&topic) else {
            return;
        };
        if doc.peers.is_empty() {
            return;
        }
        // Nobody here looks at an idle document: its peers keep its presence longer,
        // between its rarer heartbeats.
        let idle = presence.as_ref().is_some_and(|p| p.cursor.is_none());
        let message = AwarenessMessage {
            presence,
            stays_secs: idle.then_some(IDLE_PRESENCE_TIMEOUT.as_secs()),
        }
        .encode();
        let sealed = match doc.seal(Kind::Awareness, &message) {
            Ok(sealed) => sealed,
            Err(e) => {
                tracing::warn!("sealing presence failed: {e}");
                return;
            }
        };
        doc.presence_sent = Some(Instant::now());
        doc.presence_dirty = false;
        self.reschedule(topic);
        match self.net.publish(topic, sealed).await {
            Ok(()) | Err(NetError::NoPeersSubscribed) => {}
            Err(e) => tracing::debug!("publishing presence failed: {e}"),
        }
    }

    /// Sends every document's presence that is due: changes (no more often than the
    /// minimum interval) and heartbeats. Walks every document: when the profile
    /// changes, never per event (the sweep looks at the documents due, see
    /// [`sweep`]).
    async fn flush_presence(&mut self) {
        let topics: Vec<Topic> = self.docs.keys().copied().collect();
        for topic in topics {
            self.flush_presence_of(topic).await;
        }
    }

    /// Sends our presence in `topic` if it is due (see [`presence_due`]); a change
    /// that must wait for the minimum interval waits in `presence_waiting`, which
    /// every tick looks at.
    async fn flush_presence_of(&mut self, topic: Topic) {
        let Some(doc) = self.docs.get(&topic) else {
            return;
        };
        if doc.peers.is_empty() {
            return;
        }
        let open = doc.local_presence.cursor.is_some();
        if presence_due(doc.presence_sent, doc.presence_dirty, open, Instant::now()) {
            let presence = doc.local_presence.clone();
            self.publish_awareness(topic, Some(presence)).await;
        } else if doc.presence_dirty {
            self.presence_waiting.insert(topic);
        }
    }

    async fn goodbye(&mut self) {
        let topics: Vec<Topic> = self.docs.keys().copied().collect();
        for topic in topics {
            self.publish_awareness(topic, None).await;
        }
    }

    // ---- the network -----------------------------------------------------------

    async fn handle_net_event(&mut self, event: NetEvent) {
        match event {
            NetEvent::Listening(addr) => {
                let addr = addr.with_p2p(self.identity.peer_id()).unwrap_or_else(|a| a);
                if !self.listen.contains(&addr) {
                    self.listen.push(addr);
                }
            }
            NetEvent::PeerConnected(peer) => {
                self.connected.insert(peer);
                if self.relays.is_relay(&peer) {
                    self.relays.connected(peer, self.docs.keys().copied());
                }
                self.emit(NodeEvent::PeerConnected(peer));
            }
            NetEvent::PeerDisconnected(peer) => {
                self.connected.remove(&peer);
                self.relays.disconnected(peer);
                self.catch_ups.retain(|(_, p), _| *p != peer);
                self.waiting_catch_ups.forget_peer(peer);
                self.summaries.forget_peer(peer);
                self.release_from(peer).await;
                self.unknown_hints.forget_peer(peer);
                let mut left = Vec::new();
                let now = Instant::now();
                for (topic, doc) in &mut self.docs {
                    if doc.peers.remove(&peer) {
                        // Perhaps nobody is left here: its addresses are redialled.
                        self.sweep.due_by(*topic, now);
                    }
                    doc.new_subscribers.remove(&peer);
                    doc.greeted.remove(&peer);
                    if doc.presence.remove(&peer) {
                        left.push(doc.id);
                    }
                }
                for id in left {
                    self.emit(NodeEvent::Presence {
                        id,
                        peer,
                        presence: None,
                    });
                }
                self.emit(NodeEvent::PeerDisconnected(peer));
            }
            NetEvent::PeerSubscribed { peer, topic } => {
                let Some(doc) = self.docs.get_mut(&topic) else {
                    return;
                };
                doc.peers.insert(peer);
                doc.new_subscribers.insert(peer);
                self.reschedule(topic);
                self.greet_soon(topic).await;
                self.catch_up_by_summary(topic, peer, false).await;
            }
            NetEvent::PeerUnsubscribed { peer, topic } => {
                if let Some(doc) = self.docs.get_mut(&topic) {
                    if doc.peers.remove(&peer) {
                        self.sweep.due_by(topic, Instant::now());
                    }
                    doc.new_subscribers.remove(&peer);
                    doc.greeted.remove(&peer);
                    let id = doc.id;
                    if doc.presence.remove(&peer) {
                        self.emit(NodeEvent::Presence {
                            id,
                            peer,
                            presence: None,
                        });
                    }
                }
            }
            NetEvent::Message {
                id,
                from,
                topic,
                data,
            } => match self.handle_gossip(from, topic, &data).await {
                GossipOutcome::Settled(verdict) => {
                    let _ = self.net.report_validation(id, from, verdict).await;
                }
                GossipOutcome::NewSession { hint, greet } => {
                    let _ = self
                        .net
                        .report_validation(id, from, Validation::Accept)
                        .await;
                    self.retry_held(topic, hint).await;
                    if greet {
                        self.greet_soon(topic).await;
                    }
                }
                GossipOutcome::Unverified(hint) => {
                    self.hold_unverified(topic, id, from, hint, data).await;
                }
            },
            NetEvent::SyncRequest {
                peer,
                topic: crate::summary::SUMMARY_TOPIC,
                request,
                reply,
            } => self.answer_summary(peer, &request, reply).await,
            NetEvent::SyncRequest {
                peer,
                topic,
                request,
                reply,
            } => self.answer_catch_up(peer, topic, &request, reply).await,
            NetEvent::MessagesLost { topic, from } => {
                // Lost gossip may be a hello or a presence as well as an edit: the
                // summary tells whether the document's state differs at all (a
                // reconnect with thousands of documents loses thousands of hellos).
                tracing::debug!(%from, "live messages were lost while the node was busy; catching up");
                self.catch_up_by_summary(topic, from, true).await;
            }
            NetEvent::Reserved(relay) => self.relays.reserved(relay),
            NetEvent::HolePunch { peer, direct } => {
                self.emit(NodeEvent::HolePunch { peer, direct });
            }
            NetEvent::Discovered(_) => {}
            _ => {}
        }
    }

    async fn handle_gossip(&mut self, from: PeerId, topic: Topic, data: &[u8]) -> GossipOutcome {
        let Some(doc) = self.docs.get_mut(&topic) else {
            return GossipOutcome::Settled(Validation::Ignore);
        };
        let id = doc.id;
        let verdict = match doc.receive_gossip(data) {
            Incoming::Session {
                is_new,
                hint,
                device,
            } => {
                self.unknown_hints.heard(topic, hint);
                // A member speaking through a relay may have left things in its
                // mailbox (it announces itself after its first upload): read it.
                if self.relays.is_relay(&from) {
                    self.relays.may_have_news(from, topic);
                    if is_new {
                        // A member came online through the relay: find it there,
                        // to connect directly (paced, see `relay_discovery`).
                        let direct = doc.peers.iter().any(|p| !self.relays.is_relay(p));
                        let now = Instant::now();
                        self.relays.discoveries.consider((from, topic), direct, now);
                    }
                }
                if is_new {
                    // Said by the peer itself, which heard our hello when it
                    // subscribed: no need to say ours again. A hello forwarded for
                    // another device (a relay, a mesh neighbour) is greeted back, as
                    // that device may have joined after our hello went by.
                    let greet = if device == from {
                        doc.new_subscribers.remove(&from);
                        !doc.greeted.remove(&from)
                    } else {
                        true
                    };
                    return GossipOutcome::NewSession { hint, greet };
                }
                Validation::Accept
            }
            Incoming::Unverified { hint } => return GossipOutcome::Unverified(hint),
            Incoming::Unknown {
                hint,
                hint_has_room,
            } => {
                tracing::debug!("document {id}: a message from {from} of an unknown session");
                // Its hello may be on the way; a catch-up naming its hint brings it
                // for sure (the forwarder opened it, so it holds the hello). Not from a
                // relay (it answers no catch-up), nor under a hint the book has no
                // room for.
                if hint_has_room && !self.relays.is_relay(&from) {
                    self.unknown_hints.note(topic, from, hint);
                }
                // Through a summary: a reconnect with thousands of documents meets
                // thousands of sessions not yet announced, and only a document whose
                // state differs needs an exchange now (the hint is named in the next
                // catch-up with this peer; hellos are published again meanwhile).
                self.catch_up_by_summary(topic, from, false).await;
                self.dropped(topic, from, DropReason::UnknownSession)
            }
            Incoming::Update {
                sender,
                seq,
                update,
            } => {
                let origin = self.origin_of(sender);
                match self.engine.submit_update(id, &update, origin) {
                    Ok((applied, receipt)) => {
                        if let Some(doc) = self.docs.get_mut(&topic) {
                            doc.received += 1;
                            // It forwarded a valid message, so it is in the document.
                            doc.peers.insert(from);
                            if !std::mem::replace(&mut doc.live_since_periodic, true) {
                                self.reschedule(topic);
                            }
                        }
                        if applied.pending {
                            // An earlier update never arrived (dropped on the way):
                            // fetch what is missing rather than wait for a reconnect.
                            self.start_catch_up(topic, from, true).await;
                        }
                        self.emit(NodeEvent::RemoteApplied {
                            id,
                            sender,
                            seq,
                            ticket: receipt.ticket(),
                        });
                        Validation::Accept
                    }
                    Err(e) => {
                        tracing::warn!(
                            "document {id}: update from {sender} (via {from}) refused: {e}"
                        );
                        self.dropped(topic, from, DropReason::BadUpdate)
                    }
                }
            }
            Incoming::Awareness { sender, message } => {
                let presence = message.presence.clone();
                let change = doc.presence.receive(sender, message, Instant::now());
                if let Some(expiry) = doc.presence.next_expiry() {
                    self.sweep.due_by(topic, expiry);
                }
                match change {
                    PresenceChange::Updated | PresenceChange::Left => {
                        doc.received += 1;
                        self.emit(NodeEvent::Presence {
                            id,
                            peer: sender,
                            presence,
                        });
                        Validation::Accept
                    }
                    PresenceChange::None => {
                        doc.received += 1;
                        Validation::Accept
                    }
                    PresenceChange::RateLimited => {
                        self.dropped(topic, from, DropReason::RateLimited)
                    }
                }
            }
            Incoming::Dropped(reason) => {
                if reason == DropReason::NotAWriter {
                    tracing::warn!(
                        "document {id}: rejected an edit forwarded by {from}: its author has no write access"
                    );
                } else {
                    tracing::debug!("document {id}: dropped a message from {from}: {reason}");
                }
                self.dropped(topic, from, reason)
            }
        };
        GossipOutcome::Settled(verdict)
    }

    fn dropped(&mut self, topic: Topic, peer: PeerId, reason: DropReason) -> Validation {
        if let Some(doc) = self.docs.get_mut(&topic) {
            doc.count_drop(reason);
            let id = doc.id;
            self.emit(NodeEvent::Dropped { id, peer, reason });
        }
        // A relay forwards what anyone it lets in publishes, without the keys to
        // check it: a forged message it passed on is its sender's doing, and
        // graylisting the relay would cut off every member behind it.
        if reason.penalise() && !self.relays.is_relay(&peer) {
            Validation::Reject
        } else {
            Validation::Ignore
        }
    }

    // ---- catch-up: asking --------------------------------------------------------

    async fn start_catch_up(&mut self, topic: Topic, peer: PeerId, force: bool) {
        // A request to a peer that left would dial it again (request-response dials
        // on its own); reconnecting is the redial policy's call, not a catch-up's.
        if !self.connected.contains(&peer) {
            return;
        }
        if self.relays.is_relay(&peer) {
            // A relay forwards gossip but answers no catch-up: its mailbox has what
            // it missed.
            self.relays.may_have_news(peer, topic);
            return;
        }
        let Some(doc) = self.docs.get(&topic) else {
            return;
        };
        if let Some(running) = self.catch_ups.get_mut(&(topic, peer))
            && (running.in_flight || !force)
            && running.started.elapsed() < quire_net::SYNC_REQUEST_TIMEOUT
        {
            running.again |= force || running.in_flight;
            return;
        }
        if !self.catch_ups.contains_key(&(topic, peer))
            && self.catch_ups_with(peer) >= MAX_CATCH_UPS_PER_PEER
        {
            self.waiting_catch_ups.push(peer, topic, force);
            return;
        }
        let state_vector = match self.engine.state_vector(doc.id).await {
            Ok(sv) => sv,
            Err(e) => {
                tracing::warn!("document {}: cannot read its state: {e}", doc.id);
                return;
            }
        };
        let catch_up = CatchUp {
            exchange: rand::random(),
            state_vector,
            session: SyncSession::default(),
            chunks: 0,
            started: Instant::now(),
            named: HashMap::new(),
            shown: Vec::new(),
            attempts: 1,
            in_flight: false,
            again: false,
        };
        self.catch_ups.insert((topic, peer), catch_up);
        self.counters.catch_ups_started += 1;
        if let Some(doc) = self.docs.get_mut(&topic) {
            doc.catch_ups_started += 1;
        }
        self.send_catch_up_request(topic, peer);
    }

    fn send_catch_up_request(&mut self, topic: Topic, peer: PeerId) {
        let (Some(doc), Some(catch_up)) = (
            self.docs.get_mut(&topic),
            self.catch_ups.get_mut(&(topic, peer)),
        ) else {
            return;
        };
        // Held messages' hints first: they await a verdict.
        let mut wanted_hints = self.held.hints_from(topic, peer);
        for hint in self.unknown_hints.of(topic, peer) {
            if wanted_hints.len() < MAX_WANTED_HINTS && !wanted_hints.contains(hint) {
                wanted_hints.push(*hint);
            }
        }
        let now = Instant::now();
        for hint in &wanted_hints {
            catch_up.named.entry(*hint).or_insert(now);
        }
        let request = CatchUpRequest {
            exchange: catch_up.exchange,
            first_chunk: catch_up.chunks,
            state_vector: catch_up.state_vector.clone(),
            wanted_hints,
        };
        let bundle = match (doc.hello(), doc.seal(Kind::Sync, &request.encode())) {
            (Ok(hello), Ok(request)) => encode_bundle(&[hello, request]),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!("sealing a catch-up request failed: {e}");
                return;
            }
        };
        catch_up.in_flight = true;
        catch_up.started = Instant::now();
        let net = self.net.clone();
        let results = self.results_tx.clone();
        let exchange = catch_up.exchange;
        tokio::spawn(async move {
            let result = net.sync_request(peer, topic, bundle).await;
            let _ = results
                .send(CatchUpResult {
                    topic,
                    peer,
                    exchange,
                    result,
                })
                .await;
        });
    }

    async fn handle_catch_up_result(&mut self, result: CatchUpResult) {
        let key = (result.topic, result.peer);
        match self.catch_ups.get_mut(&key) {
            Some(c) if c.exchange == result.exchange => c.in_flight = false,
            _ => return,
        }
        let bytes = match result.result {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::debug!(peer = %result.peer, "catch-up request failed: {e}");
                // Retried by the tick; an answer that was half in starts over, since the
                // peer may no longer hold the rest.
                if let Some(c) = self.catch_ups.get_mut(&key)
                    && c.chunks > 0
                {
                    c.exchange = rand::random();
                    c.chunks = 0;
                    c.session = SyncSession::default();
                }
                return;
            }
        };
        match self.take_answer(result.topic, result.peer, &bytes).await {
            Ok(true) => {
                let done = self.catch_ups.remove(&key);
                if let Some(done) = &done {
                    let named: Vec<SessionHint> = done.named.keys().copied().collect();
                    self.unknown_hints
                        .answered(result.topic, result.peer, &named);
                    self.settle_held(result.topic, result.peer, &done.named, &done.shown)
                        .await;
                }
                let again = done.as_ref().is_some_and(|c| c.again);
                // A reader's answer carries no content: nothing was synced.
                if let Some(done) = done.filter(|c| c.chunks > 0) {
                    self.synced(result.topic, result.peer).await;
                    self.pass_on_news(result.topic, result.peer, &done.state_vector)
                        .await;
                }
                if again {
                    self.start_catch_up(result.topic, result.peer, true).await;
                }
            }
            Ok(false) => self.send_catch_up_request(result.topic, result.peer),
            Err(reason) => {
                self.catch_ups.remove(&key);
                if let Some(doc) = self.docs.get_mut(&result.topic) {
                    doc.count_drop(reason);
                }
                tracing::warn!(peer = %result.peer, "catch-up answer refused: {reason}");
                // No gossip score for request-response: a peer that sends bad answers
                // is disconnected.
                if reason.penalise() {
                    let _ = self.net.disconnect(result.peer).await;
                }
            }
        }
    }

    /// Applies an answer; `Ok(true)` once the whole answer is in.
    async fn take_answer(
        &mut self,
        topic: Topic,
        peer: PeerId,
        bytes: &[u8],
    ) -> Result<bool, DropReason> {
        let items = decode_bundle(bytes).map_err(|_| DropReason::Malformed)?;
        let origin = self.origin_of(peer);
        let Some(doc) = self.docs.get_mut(&topic) else {
            return Ok(true);
        };
        let id = doc.id;
        let Some(catch_up) = self.catch_ups.get_mut(&(topic, peer)) else {
            return Ok(true);
        };
        let mut messages = Vec::new();
        for item in items {
            let opened = match doc.receive_item(item)? {
                BundleItem::Message(opened) => opened,
                BundleItem::Hello(session) => {
                    // Shown under a hint asked for: what settles held messages.
                    // (Every response of an answer carries them: each counts once.)
                    if catch_up.named.contains_key(&session.id().hint())
                        && catch_up.shown.len() < MAX_SHOWN_HELLOS
                        && !catch_up.shown.iter().any(|s| s.id() == session.id())
                    {
                        catch_up.shown.push(session);
                    }
                    continue;
                }
            };
            if opened.kind != Kind::Update || opened.sender != peer {
                return Err(DropReason::Unexpected);
            }
            let (exchange, message) =
                decode_chunk(&opened.plaintext).map_err(|_| DropReason::Malformed)?;
            if exchange != catch_up.exchange {
                return Err(DropReason::Replayed);
            }
            messages.push(SyncMessage::decode(message).map_err(|_| DropReason::Malformed)?);
        }
        if messages.is_empty() {
            // A reader has nothing it may give.
            return Ok(true);
        }
        let mut complete = false;
        for message in &messages {
            if !matches!(message, SyncMessage::UpdateChunk { .. }) {
                return Err(DropReason::Unexpected);
            }
            let engine = self.engine.clone();
            let before = catch_up.chunks;
            engine
                .sync_handle(id, &mut catch_up.session, message, origin.clone())
                .await
                .map_err(|e| {
                    tracing::warn!("document {id}: catch-up from {peer} refused: {e}");
                    DropReason::BadUpdate
                })?;
            catch_up.chunks = before + 1;
            if let SyncMessage::UpdateChunk { index, count, .. } = message {
                complete = index + 1 == *count;
                let _ = self.events.send(NodeEvent::CatchingUp {
                    id,
                    peer,
                    received: index + 1,
                    total: *count,
                });
            }
        }
        if let Some(doc) = self.docs.get_mut(&topic) {
            doc.received += messages.len() as u64;
        }
        Ok(complete)
    }

    /// A catch-up with `from` brought news (our state moved on from `before`): the
    /// document's other peers may lack it too, and catch-up runs only between
    /// connected peers, so ask each of them (seeing our news, they ask back). This
    /// carries a document across a chain of peers that met before any of them had
    /// it; before, it waited for someone's next live edit.
    async fn pass_on_news(&mut self, topic: Topic, from: PeerId, before: &[u8]) {
        let Some(doc) = self.docs.get(&topic) else {
            return;
        };
        let others: Vec<PeerId> = doc
            .peers
            .iter()
            .filter(|p| **p != from && self.connected.contains(p) && !self.relays.is_relay(p))
            .copied()
            .collect();
        if others.is_empty() {
            return;
        }
        match self.engine.state_vector(doc.id).await {
            Ok(now) if has_news(before, &now).unwrap_or(false) => {
                for peer in others {
                    self.start_catch_up(topic, peer, true).await;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::debug!("cannot read a document's state: {e}"),
        }
    }

    /// Catch-ups running with `peer` (the map holds at most
    /// [`MAX_CATCH_UPS_PER_PEER`] per peer, so counting is cheap).
    fn catch_ups_with(&self, peer: PeerId) -> usize {
        self.catch_ups.keys().filter(|(_, p)| *p == peer).count()
    }

    /// Starts the catch-ups with `peer` that wait for a free place.
    async fn start_waiting_catch_ups(&mut self, peer: PeerId) {
        while self.catch_ups_with(peer) < MAX_CATCH_UPS_PER_PEER {
            let Some((topic, force)) = self.waiting_catch_ups.pop(peer) else {
                return;
            };
            self.start_catch_up(topic, peer, force).await;
        }
    }

    async fn synced(&mut self, topic: Topic, peer: PeerId) {
        let Some(doc) = self.docs.get_mut(&topic) else {
            return;
        };
        let now = quire_engine::now_ms();
        doc.last_sync = Some(now);
        let id = doc.id;
        if let Err(e) = self.engine.mark_synced(id, now).await {
            tracing::debug!("recording the sync time failed: {e}");
        }
        self.emit(NodeEvent::Synced { id, peer });
    }

    // ---- catch-up: answering -----------------------------------------------------

    async fn answer_catch_up(
        &mut self,
        peer: PeerId,
        topic: Topic,
        request: &[u8],
        reply: oneshot::Sender<Vec<u8>>,
    ) {
        match self.make_answer(peer, topic, request).await {
            Ok((answer, news)) => {
                let _ = reply.send(answer);
                if news {
                    self.start_catch_up(topic, peer, false).await;
                }
            }
            Err(reason) => {
                tracing::debug!(%peer, "catch-up request refused: {reason}");
                if self.docs.contains_key(&topic) {
                    self.dropped(topic, peer, reason);
                    if reason.penalise() {
                        let _ = self.net.disconnect(peer).await;
                    }
                }
            }
        }
    }

    /// The answer bundle, and whether the asker has news for us.
    async fn make_answer(
        &mut self,
        peer: PeerId,
        topic: Topic,
        bytes: &[u8],
    ) -> Result<(Vec<u8>, bool), DropReason> {
        let doc = self.docs.get_mut(&topic).ok_or(DropReason::Unexpected)?;
        let id = doc.id;
        let mut request = None;
        for item in decode_bundle(bytes).map_err(|_| DropReason::Malformed)? {
            if let BundleItem::Message(opened) = doc.receive_item(item)? {
                if opened.kind != Kind::Sync || opened.sender != peer || request.is_some() {
                    return Err(DropReason::Unexpected);
                }
                request = Some(
                    CatchUpRequest::decode(&opened.plaintext).map_err(|_| DropReason::Malformed)?,
                );
            }
        }
        let request = request.ok_or(DropReason::Malformed)?;
        // It sealed a valid request for this document, so it is in it.
        doc.peers.insert(peer);
        // Ours, and the other members' it knows (the asker may have come through us
        // and never heard theirs).
        let mut hellos = vec![doc.hello().map_err(|_| DropReason::Unexpected)?];
        hellos.extend(
            doc.hellos
                .for_asker(peer, &request.wanted_hints)
                .into_iter()
                .map(<[u8]>::to_vec),
        );
        let ours = self
            .engine
            .state_vector(id)
            .await
            .map_err(|_| DropReason::Unexpected)?;
        let news = has_news(&ours, &request.state_vector).map_err(|_| DropReason::Malformed)?;
        let doc = self.docs.get_mut(&topic).ok_or(DropReason::Unexpected)?;
        if doc.role() == Role::Read {
            // A reader gives no content, but still asks back when the asker has news.
            return Ok((encode_bundle(&hellos), news));
        }
        let key = (topic, peer, request.exchange);
        let origin = self.origin_of(peer);
        self.answers
            .retain(|_, a| a.made.elapsed() < ANSWER_CACHE_TTL);
        let chunks: Vec<Vec<u8>> = match self.answers.get(&key) {
            Some(cached) => cached.chunks.clone(),
            None if request.first_chunk != 0 => return Err(DropReason::Expired),
            None => self
                .engine
                .sync_handle(
                    id,
                    &mut SyncSession::default(),
                    &SyncMessage::StateVector(request.state_vector.clone()),
                    origin,
                )
                .await
                .map_err(|_| DropReason::Malformed)?
                .iter()
                .map(SyncMessage::encode)
                .collect(),
        };
        let doc = self.docs.get_mut(&topic).ok_or(DropReason::Unexpected)?;
        let first = request.first_chunk as usize;
        if first >= chunks.len() {
            return Err(DropReason::Malformed);
        }
        let hello_items = hellos.len();
        let mut items = hellos;
        let mut last = first;
        for (index, chunk) in chunks.iter().enumerate().skip(first) {
            let sealed = doc
                .seal(Kind::Update, &encode_chunk(&request.exchange, chunk))
                .map_err(|_| DropReason::Unexpected)?;
            let size = bundle_len(items.iter().map(Vec::len).chain([sealed.len()]));
            let full = size > MAX_SYNC_PAYLOAD_BYTES || items.len() >= MAX_BUNDLE_ITEMS;
            if full && items.len() > hello_items {
                break;
            }
            items.push(sealed);
            last = index;
        }
        doc.sent += (items.len() - hello_items) as u64;
        if last + 1 == chunks.len() {
            // The asker now has everything we had when it asked.
            doc.pending = 0;
        }
        if last + 1 < chunks.len() && !self.answers.contains_key(&key) {
            // More than one response: keep the answer (for its time to live, so a
            // lost response can be asked again) within a byte budget.
            self.cache_answer(key, chunks);
        }
        Ok((encode_bundle(&items), news))
    }

    fn cache_answer(&mut self, key: AnswerKey, chunks: Vec<Vec<u8>>) {
        let bytes: usize = chunks.iter().map(Vec::len).sum();
        while self.answers.len() >= MAX_CACHED_ANSWERS
            || self.answers.values().map(|a| a.bytes).sum::<usize>() + bytes
                > MAX_CACHED_ANSWER_BYTES
        {
            let Some(oldest) = self
                .answers
                .iter()
                .min_by_key(|(_, a)| a.made)
                .map(|(k, _)| *k)
            else {
                break;
            };
            self.answers.remove(&oldest);
        }
        self.answers.insert(
            key,
            CachedAnswer {
                chunks,
                bytes,
                made: Instant::now(),
            },
        );
    }

    // ---- upkeep ------------------------------------------------------------------

    async fn on_tick(&mut self) {
        if !self.relays.list.is_empty() {
            self.relay_tick().await;
        }
        if std::mem::take(&mut self.lagged) {
            if let Err(e) = self.refresh_all().await {
                tracing::warn!("re-reading shared documents failed: {e}");
            }
            self.nudge_all().await;
        }
        let waiting: Vec<Topic> = self.presence_waiting.drain().collect();
        for topic in waiting {
            self.flush_presence_of(topic).await;
        }
        for _ in 0..GREETINGS_PER_TICK {
            let Some(topic) = self.greetings.next() else {
                break;
            };
            self.greet_new_session(topic).await;
        }
        self.release_expired().await;
        if self.last_sweep.elapsed() >= DOCUMENT_SWEEP {
            self.last_sweep = Instant::now();
            self.sweep_documents().await;
        }
        self.retry_failed_catch_ups().await;
    }

    /// Retries catch-ups whose request failed.
    async fn retry_failed_catch_ups(&mut self) {
        let retry: Vec<(Topic, PeerId)> = self
            .catch_ups
            .iter()
            .filter(|(_, c)| {
                !c.in_flight && c.started.elapsed() >= CATCH_UP_RETRY_AFTER * c.attempts
            })
            .map(|(k, _)| *k)
            .collect();
        for key in retry {
            let give_up = match self.catch_ups.get_mut(&key) {
                Some(c)
                    if c.attempts < MAX_CATCH_UP_ATTEMPTS && self.connected.contains(&key.1) =>
                {
                    c.attempts += 1;
                    false
                }
                _ => true,
            };
            if give_up {
                self.catch_ups.remove(&key);
                self.start_waiting_catch_ups(key.1).await;
            } else {
                self.send_catch_up_request(key.0, key.1);
            }
        }
    }
}
