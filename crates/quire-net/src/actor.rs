//! The swarm actor: one tokio task owns the libp2p `Swarm`; [`NetHandle`]s send it
//! commands and it sends [`NetEvent`]s back.

use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    pin::Pin,
};

use futures::{StreamExt, stream::FuturesUnordered};
use libp2p::{
    Multiaddr, PeerId, Swarm, SwarmBuilder,
    gossipsub::{self, MessageAcceptance, MessageId, TopicHash},
    identify, mdns, noise,
    request_response::{self, OutboundRequestId, ResponseChannel},
    swarm::{ConnectionId, SwarmEvent, dial_opts::DialOpts},
    tcp, yamux,
};
use tokio::sync::{mpsc, oneshot};

use crate::{
    behaviour::{QuireBehaviour, QuireBehaviourEvent, topic_for},
    config::{COMMAND_CHANNEL_CAPACITY, IDLE_CONNECTION_TIMEOUT, NetConfig},
    error::{NetError, Result},
    gossip_config::{MAX_TOPICS_PER_PEER, SCORE_DECAY_INTERVAL},
    mailbox_protocol::{MailboxRequest, MailboxResponse},
    path::ConnectionPath,
    rejected_messages::RejectedMessages,
    restarts::Restarts,
    sync_protocol::{
        MAX_SYNC_PAYLOAD_BYTES, SYNC_REPLY_TIMEOUT, SyncRequest, SyncResponse, check_sync_size,
    },
    traversal::{REGISTRATION_REFRESH, Traversal},
};

/// What the network tells the engine.
#[derive(Debug)]
#[non_exhaustive]
pub enum NetEvent {
    /// The node listens on a new address.
    Listening(Multiaddr),
    /// The first connection to a peer is up.
    PeerConnected(PeerId),
    /// The last connection to a peer closed.
    PeerDisconnected(PeerId),
    /// A gossip message waiting for validation; answer with
    /// [`NetHandle::report_validation`] (nothing is forwarded before that).
    Message {
        /// Gossipsub's id for the message (a hash of `data`).
        id: MessageId,
        /// The peer that forwarded it to us (not necessarily its author).
        from: PeerId,
        /// The 32-byte topic hash.
        topic: [u8; 32],
        /// The opaque payload.
        data: Vec<u8>,
    },
    /// A peer asks for sync data; send the answer on `reply` within
    /// [`crate::SYNC_REPLY_TIMEOUT`] (dropping it refuses the request).
    SyncRequest {
        /// The asking peer.
        peer: PeerId,
        /// The topic the request is about.
        topic: [u8; 32],
        /// The opaque request.
        request: Vec<u8>,
        /// Where the engine puts the response (at most [`MAX_SYNC_PAYLOAD_BYTES`]).
        reply: oneshot::Sender<Vec<u8>>,
    },
    /// mDNS found a peer on the local network (it is being dialled).
    Discovered(PeerId),
    /// A connected peer joined a topic (sent on connect for the topics it is in, and
    /// when it joins later): the moment to exchange hellos and catch up.
    PeerSubscribed {
        /// The peer.
        peer: PeerId,
        /// The 32-byte topic hash.
        topic: [u8; 32],
    },
    /// Gossip messages on a topic reached this node while the engine was not reading
    /// events, so they were dropped unseen (and not forwarded). Sent once the engine
    /// reads again: catch up on the topic (with `from` at least), or those edits wait
    /// for the next periodic catch-up.
    MessagesLost {
        /// The 32-byte topic hash.
        topic: [u8; 32],
        /// The peer that forwarded the last one lost.
        from: PeerId,
    },
    /// A connected peer left a topic.
    PeerUnsubscribed {
        /// The peer.
        peer: PeerId,
        /// The 32-byte topic hash.
        topic: [u8; 32],
    },
    /// A relay accepted this node's reservation: peers can reach it through the relay.
    Reserved(PeerId),
    /// DCUtR tried to turn a connection through a relay into a direct one.
    HolePunch {
        /// The peer at the other end.
        peer: PeerId,
        /// Whether a direct connection now exists.
        direct: bool,
    },
}

/// The engine's verdict on a gossip message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    /// Valid: deliver and forward.
    Accept,
    /// Invalid: drop, do not forward, and penalise the peer that sent it.
    Reject,
    /// Not wanted (e.g. a repeat): drop without forwarding or penalty.
    Ignore,
}

impl From<Validation> for MessageAcceptance {
    fn from(v: Validation) -> Self {
        match v {
            Validation::Accept => MessageAcceptance::Accept,
            Validation::Reject => MessageAcceptance::Reject,
            Validation::Ignore => MessageAcceptance::Ignore,
        }
    }
}

enum Command {
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    Dial(Multiaddr, oneshot::Sender<Result<()>>),
    Subscribe([u8; 32], oneshot::Sender<Result<()>>),
    Unsubscribe([u8; 32], oneshot::Sender<()>),
    Publish([u8; 32], Vec<u8>, oneshot::Sender<Result<()>>),
    SyncRequest {
        peer: PeerId,
        topic: [u8; 32],
        request: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>>>,
    },
    ReportValidation(MessageId, PeerId, Validation),
    PeerScore(PeerId, oneshot::Sender<Option<f64>>),
    ConnectedPeers(oneshot::Sender<Vec<(PeerId, ConnectionPath)>>),
    ConnectionsTo(PeerId, oneshot::Sender<Vec<ConnectionPath>>),
    Mailbox {
        relay: PeerId,
        request: MailboxRequest,
        reply: oneshot::Sender<Result<MailboxResponse>>,
    },
    Disconnect(PeerId, oneshot::Sender<bool>),
    Reserve(Multiaddr, oneshot::Sender<Result<()>>),
    Register(PeerId, [u8; 32]),
    Unregister(PeerId, [u8; 32]),
    Discover(PeerId, [u8; 32]),
    Shutdown(oneshot::Sender<()>),
}

/// A cheap, cloneable way to drive the node's actor task.
#[derive(Clone, Debug)]
pub struct NetHandle {
    commands: mpsc::Sender<Command>,
    peer_id: PeerId,
}

impl NetHandle {
    /// This node's peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses the node currently listens on (empty until the first
    /// [`NetEvent::Listening`]).
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>> {
        self.ask(Command::ListenAddrs).await
    }

    /// Starts dialling `addr`; [`NetEvent::PeerConnected`] follows on success.
    pub async fn dial(&self, addr: Multiaddr) -> Result<()> {
        self.ask(|tx| Command::Dial(addr, tx)).await?
    }

    /// Joins the gossip topic for a 32-byte topic hash.
    pub async fn subscribe(&self, topic: [u8; 32]) -> Result<()> {
        self.ask(|tx| Command::Subscribe(topic, tx)).await?
    }

    /// Leaves a gossip topic.
    pub async fn unsubscribe(&self, topic: [u8; 32]) -> Result<()> {
        self.ask(|tx| Command::Unsubscribe(topic, tx)).await
    }

    /// Publishes opaque bytes (at most the configured `max_message_bytes`).
    pub async fn publish(&self, topic: [u8; 32], data: Vec<u8>) -> Result<()> {
        self.ask(|tx| Command::Publish(topic, data, tx)).await?
    }

    /// Asks `peer` over `/quire/sync/1` and waits for its response. The peer must be
    /// connected: a request to one that is not fails at once (it never dials).
    pub async fn sync_request(
        &self,
        peer: PeerId,
        topic: [u8; 32],
        request: Vec<u8>,
    ) -> Result<Vec<u8>> {
        check_sync_size(&request)?;
        self.ask(|reply| Command::SyncRequest {
            peer,
            topic,
            request,
            reply,
        })
        .await?
    }

    /// Asks a relay's mailbox (`/quire/mailbox/1`; the relay must be connected or
    /// dialable by its peer id) and waits for its answer.
    pub async fn mailbox(&self, relay: PeerId, request: MailboxRequest) -> Result<MailboxResponse> {
        self.ask(|reply| Command::Mailbox {
            relay,
            request,
            reply,
        })
        .await?
    }

    /// Reports the engine's verdict on a [`NetEvent::Message`].
    pub async fn report_validation(
        &self,
        message_id: MessageId,
        propagation_source: PeerId,
        verdict: Validation,
    ) -> Result<()> {
        self.commands
            .send(Command::ReportValidation(
                message_id,
                propagation_source,
                verdict,
            ))
            .await
            .map_err(|_| NetError::Stopped)
    }

    /// Gossipsub's current score of `peer` (negative after rejected messages), if the
    /// peer is known.
    pub async fn peer_score(&self, peer: PeerId) -> Result<Option<f64>> {
        self.ask(|tx| Command::PeerScore(peer, tx)).await
    }

    /// The peers with at least one open connection.
    pub async fn connected_peers(&self) -> Result<Vec<PeerId>> {
        let peers = self.ask(Command::ConnectedPeers).await?;
        Ok(peers.into_iter().map(|(peer, _)| peer).collect())
    }

    /// The peers with at least one open connection, each with the best path among
    /// its connections.
    pub async fn connection_paths(&self) -> Result<Vec<(PeerId, ConnectionPath)>> {
        self.ask(Command::ConnectedPeers).await
    }

    /// The path of each open connection to `peer` (a peer reached through a relay
    /// and then directly has both until the circuit closes).
    pub async fn connections_to(&self, peer: PeerId) -> Result<Vec<ConnectionPath>> {
        self.ask(|tx| Command::ConnectionsTo(peer, tx)).await
    }

    /// Closes every connection to `peer`; returns whether there was one.
    pub async fn disconnect(&self, peer: PeerId) -> Result<bool> {
        self.ask(|tx| Command::Disconnect(peer, tx)).await
    }

    /// Listens through the relay at `addr` (ending in `/p2p/<relay>`): the relay is
    /// dialled if needed and a slot reserved, so peers behind other NATs can reach
    /// this node through it. A no-op while a reservation there is held or pending;
    /// call it again after the relay reconnects. [`NetEvent::Reserved`] follows.
    pub async fn reserve(&self, addr: Multiaddr) -> Result<()> {
        self.ask(|tx| Command::Reserve(addr, tx)).await?
    }

    /// Keeps this node registered at `relay`'s rendezvous point under `topic`, from
    /// now on (renewed until [`Self::unregister`]).
    pub async fn register(&self, relay: PeerId, topic: [u8; 32]) -> Result<()> {
        self.tell(Command::Register(relay, topic)).await
    }

    /// Withdraws the registration under `topic` at `relay`.
    pub async fn unregister(&self, relay: PeerId, topic: [u8; 32]) -> Result<()> {
        self.tell(Command::Unregister(relay, topic)).await
    }

    /// Asks `relay` who is registered under `topic`, and dials those not connected
    /// (directly if they are reachable, else through their circuit).
    pub async fn discover(&self, relay: PeerId, topic: [u8; 32]) -> Result<()> {
        self.tell(Command::Discover(relay, topic)).await
    }

    /// Stops the actor and closes every connection.
    pub async fn shutdown(&self) -> Result<()> {
        self.ask(Command::Shutdown).await
    }

    async fn tell(&self, command: Command) -> Result<()> {
        self.commands
            .send(command)
            .await
            .map_err(|_| NetError::Stopped)
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| NetError::Stopped)?;
        rx.await.map_err(|_| NetError::Stopped)
    }
}

/// Starts nodes.
#[derive(Debug)]
pub struct Node;

impl Node {
    /// Builds the swarm, binds the listen addresses and spawns the actor on the
    /// current tokio runtime.
    pub fn spawn(config: NetConfig) -> Result<(NetHandle, mpsc::Receiver<NetEvent>)> {
        let mut swarm = SwarmBuilder::with_existing_identity(config.keypair.clone())
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| NetError::Transport(e.to_string()))?
            .with_quic()
            .with_relay_client(noise::Config::new, yamux::Config::default)
            .map_err(|e| NetError::Transport(e.to_string()))?
            .with_behaviour(|_, relay_client| {
                QuireBehaviour::new(&config, relay_client)
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
            })
            .map_err(|e| NetError::Behaviour(e.to_string()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
            .build();
        for addr in &config.listen {
            swarm
                .listen_on(addr.clone())
                .map_err(|e| NetError::Listen {
                    addr: addr.clone(),
                    reason: e.to_string(),
                })?;
        }
        let peer_id = *swarm.local_peer_id();
        let (command_tx, command_rx) = mpsc::channel(COMMAND_CHANNEL_CAPACITY);
        let (event_tx, event_rx) = mpsc::channel(config.event_channel_capacity.max(1));
        let actor = Actor {
            swarm,
            commands: command_rx,
            events: event_tx,
            max_message_bytes: config.max_message_bytes,
            pending_sync: HashMap::new(),
            pending_mailbox: HashMap::new(),
            pending_replies: FuturesUnordered::new(),
            discovered: HashMap::new(),
            connections: HashMap::new(),
            topics: HashMap::new(),
            traversal: Traversal::default(),
            reported_direct: std::collections::HashSet::new(),
            circuits_to_close: std::collections::HashSet::new(),
            lost: HashMap::new(),
            dropped_in_burst: 0,
            restarts: Restarts::default(),
            backlog: VecDeque::new(),
            rejected: RejectedMessages::default(),
        };
        tokio::spawn(actor.run());
        Ok((
            NetHandle {
                commands: command_tx,
                peer_id,
            },
            event_rx,
        ))
    }
}

type ReplyFuture =
    Pin<Box<dyn Future<Output = (ResponseChannel<SyncResponse>, Option<Vec<u8>>)> + Send>>;

/// An outbound sync request waiting for its response: who was asked, and the caller.
type PendingSync = (PeerId, oneshot::Sender<Result<Vec<u8>>>);
type PendingMailbox = (PeerId, oneshot::Sender<Result<MailboxResponse>>);

struct Actor {
    swarm: Swarm<QuireBehaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetEvent>,
    max_message_bytes: usize,
    pending_sync: HashMap<OutboundRequestId, PendingSync>,
    pending_mailbox: HashMap<OutboundRequestId, PendingMailbox>,
    pending_replies: FuturesUnordered<ReplyFuture>,
    /// Peers mDNS found on the local network (until it says they expired), redialled
    /// while not connected.
    discovered: HashMap<PeerId, Vec<Multiaddr>>,
    /// Open connections and how each runs.
    connections: HashMap<PeerId, HashMap<ConnectionId, ConnectionPath>>,
    /// The topic hash behind each gossipsub topic we joined (names are shortened).
    topics: HashMap<TopicHash, [u8; 32]>,
    /// Reservations and registrations at relays.
    traversal: Traversal,
    /// Peers whose connection through a relay became direct (reported once).
    reported_direct: std::collections::HashSet<PeerId>,
    /// Peers now connected directly whose circuits through a relay are to close.
    circuits_to_close: std::collections::HashSet<PeerId>,
    /// Topics whose gossip was dropped because the engine was not reading, with the
    /// peer of the last message lost: told to the engine as [`NetEvent::MessagesLost`]
    /// once it has room.
    lost: HashMap<[u8; 32], PeerId>,
    /// Gossip messages dropped since the engine last had room for everything: warned
    /// about once at the first, counted in one line once the news of them is out
    /// (a connect that greets 10,000 documents dropped thousands, a warning each).
    dropped_in_burst: u64,
    /// Which run of each peer is connected, to tell a restart (see [`crate::restarts`]).
    restarts: Restarts,
    /// State events (connections, subscriptions, listen addresses) the engine had no
    /// room for, in order: they are never dropped, since a lost disconnect would
    /// leave a dead peer in the engine's view for good. Bounded by what happens on
    /// the swarm, which the connection limits bound.
    backlog: VecDeque<NetEvent>,
    /// Messages rejected per peer: their gossip score (see [`crate::rejected_messages`]).
    rejected: RejectedMessages,
}

/// Peers' sync requests that may wait in the backlog for the engine to read them
/// (beyond that they are dropped, and the asker retries): each holds its payload
/// (up to [`MAX_SYNC_PAYLOAD_BYTES`]) until then.
pub const MAX_BACKLOGGED_SYNC_REQUESTS: usize = 64;

/// How often peers found on the local network but not connected are dialled again.
pub const REDIAL_DISCOVERED_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

impl Actor {
    async fn run(mut self) {
        let mut redial = tokio::time::interval(REDIAL_DISCOVERED_INTERVAL);
        redial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut refresh = tokio::time::interval(REGISTRATION_REFRESH);
        refresh.tick().await;
        let mut score_decay = tokio::time::interval(SCORE_DECAY_INTERVAL);
        score_decay.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A second handle on the event channel, to wait for room for lost-message news
        // while the other branches use the actor.
        let events = self.events.clone();
        loop {
            tokio::select! {
                permit = events.reserve(), if !self.lost.is_empty() || !self.backlog.is_empty() => match permit {
                    // State events first, in order; then news of lost messages.
                    Ok(permit) => {
                        if let Some(event) = self.backlog.pop_front() {
                            permit.send(event);
                        } else if let Some((&topic, &from)) = self.lost.iter().next() {
                            self.lost.remove(&topic);
                            permit.send(NetEvent::MessagesLost { topic, from });
                            if self.lost.is_empty() {
                                tracing::info!(
                                    dropped = std::mem::take(&mut self.dropped_in_burst),
                                    "the engine reads network events again; the documents \
                                     whose gossip was dropped catch up"
                                );
                            }
                        }
                    }
                    // Nobody reads events any more.
                    Err(_) => {
                        self.lost.clear();
                        self.backlog.clear();
                    }
                },
                _ = redial.tick() => {
                    self.redial_discovered();
                    self.close_upgraded_circuits();
                }
                _ = refresh.tick() => self.traversal.refresh(&mut self.swarm),
                _ = score_decay.tick() => {
                    for (peer, score) in self.rejected.decay() {
                        self.swarm.behaviour_mut().gossipsub.set_application_score(&peer, score);
                    }
                }
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown(ack)) => {
                        let _ = ack.send(());
                        break;
                    }
                    Some(command) => self.handle_command(command),
                    // Every handle is gone: nobody can use the node any more.
                    None => break,
                },
                event = self.swarm.select_next_some() => self.handle_swarm_event(event),
                Some((channel, reply)) = self.pending_replies.next(), if !self.pending_replies.is_empty() => {
                    self.send_sync_response(channel, reply);
                }
            }
        }
        tracing::debug!(peer = %self.swarm.local_peer_id(), "network actor stopped");
    }

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::ListenAddrs(tx) => {
                let _ = tx.send(self.swarm.listeners().cloned().collect());
            }
            Command::Dial(addr, tx) => {
                let result = self.swarm.dial(addr.clone()).map_err(|e| NetError::Dial {
                    addr,
                    reason: e.to_string(),
                });
                let _ = tx.send(result);
            }
            Command::Subscribe(topic, tx) => {
                let _ = tx.send(self.subscribe(topic));
            }
            Command::Unsubscribe(topic, tx) => {
                let ident = topic_for(&topic);
                self.topics.remove(&ident.hash());
                self.swarm.behaviour_mut().gossipsub.unsubscribe(&ident);
                let _ = tx.send(());
            }
            Command::Publish(topic, data, tx) => {
                let _ = tx.send(self.publish(topic, data));
            }
            Command::SyncRequest {
                peer,
                topic,
                request,
                reply,
            } => {
                // Request-response would dial a peer that is gone; whether to
                // reconnect is the caller's policy, so the request fails instead.
                if !self.swarm.is_connected(&peer) {
                    let _ = reply.send(Err(NetError::SyncFailed {
                        peer,
                        reason: "not connected".to_owned(),
                    }));
                    return;
                }
                let id = self.swarm.behaviour_mut().sync.send_request(
                    &peer,
                    SyncRequest {
                        topic,
                        payload: request,
                    },
                );
                self.pending_sync.insert(id, (peer, reply));
            }
            Command::Mailbox {
                relay,
                request,
                reply,
            } => {
                let id = self
                    .swarm
                    .behaviour_mut()
                    .mailbox
                    .send_request(&relay, request);
                self.pending_mailbox.insert(id, (relay, reply));
            }
            Command::ReportValidation(id, source, verdict) => {
                if matches!(verdict, Validation::Reject) {
                    self.penalise(source);
                }
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &source, verdict.into());
            }
            Command::PeerScore(peer, tx) => {
                let _ = tx.send(self.swarm.behaviour().gossipsub.peer_score(&peer));
            }
            Command::ConnectedPeers(tx) => {
                // A peer found by mDNS is on the local network whatever its address.
                let paths = self
                    .connections
                    .iter()
                    .filter_map(|(peer, conns)| {
                        let best = *conns.values().max()?;
                        let on_lan =
                            best == ConnectionPath::Direct && self.discovered.contains_key(peer);
                        Some((*peer, if on_lan { ConnectionPath::Lan } else { best }))
                    })
                    .collect();
                let _ = tx.send(paths);
            }
            Command::ConnectionsTo(peer, tx) => {
                let paths = self
                    .connections
                    .get(&peer)
                    .map(|c| c.values().copied().collect())
                    .unwrap_or_default();
                let _ = tx.send(paths);
            }
            Command::Disconnect(peer, tx) => {
                let _ = tx.send(self.swarm.disconnect_peer_id(peer).is_ok());
            }
            Command::Reserve(addr, tx) => {
                let _ = tx.send(self.traversal.reserve(&mut self.swarm, addr));
            }
            Command::Register(relay, topic) => {
                self.traversal.register(&mut self.swarm, relay, topic);
            }
            Command::Unregister(relay, topic) => {
                self.traversal.unregister(&mut self.swarm, relay, topic);
            }
            Command::Discover(relay, topic) => {
                self.traversal.discover(&mut self.swarm, relay, topic);
            }
            // Handled in `run`, which owns the loop.
            Command::Shutdown(ack) => {
                let _ = ack.send(());
            }
        }
    }

    fn subscribe(&mut self, topic: [u8; 32]) -> Result<()> {
        let ident = topic_for(&topic);
        if self.topics.len() >= MAX_TOPICS_PER_PEER && !self.topics.contains_key(&ident.hash()) {
            return Err(NetError::TooManyTopics {
                max: MAX_TOPICS_PER_PEER,
            });
        }
        self.topics.insert(ident.hash(), topic);
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        gossipsub
            .subscribe(&ident)
            .map_err(|e| NetError::Subscribe(e.to_string()))?;
        let hash = ident.hash();
        // Peers already connected announced this topic before we joined it: tell
        // the engine about them now, as if they had just subscribed.
        let already: Vec<PeerId> = gossipsub
            .all_peers()
            .filter(|(_, topics)| topics.contains(&&hash))
            .map(|(peer, _)| *peer)
            .collect();
        for peer in already {
            self.notify(NetEvent::PeerSubscribed { peer, topic });
        }
        Ok(())
    }

    fn publish(&mut self, topic: [u8; 32], data: Vec<u8>) -> Result<()> {
        if data.len() > self.max_message_bytes {
            return Err(NetError::MessageTooLarge {
                len: data.len(),
                max: self.max_message_bytes,
            });
        }
        let len = data.len();
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(topic_for(&topic), data)
        {
            Ok(_) => Ok(()),
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {
                Err(NetError::NoPeersSubscribed)
            }
            Err(gossipsub::PublishError::Duplicate) => Err(NetError::Duplicate),
            Err(gossipsub::PublishError::MessageTooLarge) => Err(NetError::MessageTooLarge {
                len,
                max: self.max_message_bytes,
            }),
            Err(e) => Err(NetError::Publish(e.to_string())),
        }
    }

    fn handle_swarm_event(&mut self, event: SwarmEvent<QuireBehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => self.notify(NetEvent::Listening(address)),
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                // A relayed connection that came in names only the relay's peer.
                let path = if endpoint.is_relayed() {
                    ConnectionPath::Relayed
                } else {
                    ConnectionPath::of(endpoint.get_remote_address())
                };
                let conns = self.connections.entry(peer_id).or_default();
                // A direct connection to a peer reached through a relay: the hole punch
                // worked (whichever side's dial made it).
                let upgraded = path != ConnectionPath::Relayed
                    && conns.values().any(|p| *p == ConnectionPath::Relayed);
                conns.insert(connection_id, path);
                if upgraded {
                    // The circuit is closed at the next tick: it holds one of the
                    // relay's few circuit slots, and the direct connection carries all.
                    self.circuits_to_close.insert(peer_id);
                }
                if upgraded && self.reported_direct.insert(peer_id) {
                    tracing::info!(peer = %peer_id, "the connection through the relay is now direct (hole punched)");
                    self.notify(NetEvent::HolePunch {
                        peer: peer_id,
                        direct: true,
                    });
                }
                if num_established.get() == 1 {
                    // Gossipsub forgets a peer's application score when its score
                    // record expires; ours lasts as long as the count does.
                    let score = self.rejected.score(&peer_id);
                    if score != 0.0 {
                        self.swarm
                            .behaviour_mut()
                            .gossipsub
                            .set_application_score(&peer_id, score);
                    }
                    self.notify(NetEvent::PeerConnected(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                if let Some(conns) = self.connections.get_mut(&peer_id) {
                    conns.remove(&connection_id);
                }
                if num_established == 0 {
                    self.connections.remove(&peer_id);
                    self.reported_direct.remove(&peer_id);
                    self.traversal.disconnected(&mut self.swarm, peer_id);
                    self.notify(NetEvent::PeerDisconnected(peer_id));
                    if let Some(addrs) = self.restarts.closed(&peer_id) {
                        self.redial_restarted(peer_id, addrs);
                    }
                }
            }
            SwarmEvent::Behaviour(QuireBehaviourEvent::Gossipsub(event)) => {
                self.handle_gossip(event)
            }
            SwarmEvent::Behaviour(QuireBehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                let held = self.connections.get(&peer_id).map_or(0, HashMap::len);
                if self
                    .restarts
                    .identified(peer_id, &info.agent_version, info.listen_addrs, held)
                {
                    tracing::info!(peer = %peer_id, "the peer restarted while its old connection lingered; reconnecting");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                }
            }
            SwarmEvent::Behaviour(QuireBehaviourEvent::Sync(event)) => self.handle_sync(event),
            SwarmEvent::Behaviour(QuireBehaviourEvent::Mailbox(event)) => {
                self.handle_mailbox(event)
            }
            SwarmEvent::Behaviour(QuireBehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                self.handle_discovered(found);
            }
            SwarmEvent::Behaviour(QuireBehaviourEvent::Mdns(mdns::Event::Expired(gone))) => {
                for (peer, addr) in gone {
                    if let Some(addrs) = self.discovered.get_mut(&peer) {
                        addrs.retain(|a| *a != addr);
                        if addrs.is_empty() {
                            self.discovered.remove(&peer);
                        }
                    }
                }
            }
            SwarmEvent::Behaviour(QuireBehaviourEvent::RelayClient(event)) => {
                if let Some(event) = self.traversal.on_relay_client(&mut self.swarm, event) {
                    self.notify(event);
                }
            }
            SwarmEvent::Behaviour(QuireBehaviourEvent::Rendezvous(event)) => {
                self.traversal.on_rendezvous(&mut self.swarm, event);
            }
            SwarmEvent::Behaviour(QuireBehaviourEvent::Dcutr(event)) => {
                // A hole punch whose direct connection is already reported (made by
                // the other side's simultaneous dial, which DCUtR on this side may
                // count as a failed attempt) says nothing new.
                let peer = event.remote_peer_id;
                if !self.reported_direct.contains(&peer) {
                    self.notify(Traversal::on_dcutr(event));
                }
            }
            SwarmEvent::ListenerClosed { listener_id, .. } => {
                self.traversal.listener_closed(listener_id);
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(?peer_id, %error, "outgoing connection failed");
            }
            _ => {}
        }
    }

    fn handle_gossip(&mut self, event: gossipsub::Event) {
        let (propagation_source, message_id, message) = match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => (propagation_source, message_id, message),
            gossipsub::Event::Subscribed { peer_id, topic } => {
                if let Some(&topic) = self.topics.get(&topic) {
                    self.notify(NetEvent::PeerSubscribed {
                        peer: peer_id,
                        topic,
                    });
                }
                return;
            }
            gossipsub::Event::Unsubscribed { peer_id, topic } => {
                if let Some(&topic) = self.topics.get(&topic) {
                    self.notify(NetEvent::PeerUnsubscribed {
                        peer: peer_id,
                        topic,
                    });
                }
                return;
            }
            _ => return,
        };
        let Some(&topic) = self.topics.get(&message.topic) else {
            self.report(&message_id, &propagation_source, &message.topic);
            return;
        };
        if message.data.len() > self.max_message_bytes {
            // Gossipsub's frame limit is larger (it must hold a peer's whole
            // subscription list); no honest node publishes more than the payload cap.
            tracing::debug!(from = %propagation_source, len = message.data.len(), "rejecting an oversized gossip message");
            self.penalise(propagation_source);
            self.swarm
                .behaviour_mut()
                .gossipsub
                .report_message_validation_result(
                    &message_id,
                    &propagation_source,
                    MessageAcceptance::Reject,
                );
            return;
        }
        let event = NetEvent::Message {
            id: message_id.clone(),
            from: propagation_source,
            topic,
            data: message.data,
        };
        if !self.emit(event) {
            // The engine cannot take it: drop it without forwarding, and tell the
            // engine when it can listen, so that it catches up at once.
            if self.dropped_in_burst == 0 {
                tracing::warn!(
                    "the engine is not reading network events; gossip is dropped until it \
                     does (its documents catch up then)"
                );
            }
            self.dropped_in_burst += 1;
            self.report(&message_id, &propagation_source, &message.topic);
            self.lost.insert(topic, propagation_source);
        }
    }

    /// Counts a rejected message against `peer`'s gossip score.
    fn penalise(&mut self, peer: PeerId) {
        let score = self.rejected.reject(peer);
        self.swarm
            .behaviour_mut()
            .gossipsub
            .set_application_score(&peer, score);
    }

    /// Ignores a message the engine will never see.
    fn report(&mut self, id: &MessageId, source: &PeerId, topic: &TopicHash) {
        tracing::debug!(%topic, "ignoring a gossip message the engine cannot validate");
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(id, source, MessageAcceptance::Ignore);
    }

    fn handle_sync(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let (reply, rx) = oneshot::channel();
                let event = NetEvent::SyncRequest {
                    peer,
                    topic: request.topic,
                    request: request.payload,
                    reply,
                };
                // A request the engine has no room for waits in the backlog (up to
                // MAX_BACKLOGGED_SYNC_REQUESTS), rather than failing: a reconnect's
                // flood of subscriptions fills the channel just when peers ask, and
                // a dropped request looks to the asker like a peer that cannot answer.
                let backlogged = self
                    .backlog
                    .iter()
                    .filter(|e| matches!(e, NetEvent::SyncRequest { .. }))
                    .count();
                let accepted = if backlogged < MAX_BACKLOGGED_SYNC_REQUESTS {
                    self.notify(event);
                    true
                } else if self.emit(event) {
                    true
                } else {
                    tracing::warn!(%peer, "the engine is busy; a sync request is refused");
                    false
                };
                if accepted {
                    self.pending_replies.push(Box::pin(async move {
                        let reply = tokio::time::timeout(SYNC_REPLY_TIMEOUT, rx).await;
                        (channel, reply.ok().and_then(|r| r.ok()))
                    }));
                }
            }
            request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some((_, reply)) = self.pending_sync.remove(&request_id) {
                    let result = check_sync_size(&response.payload).map(|()| response.payload);
                    let _ = reply.send(result);
                }
            }
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some((peer, reply)) = self.pending_sync.remove(&request_id) {
                    let _ = reply.send(Err(NetError::SyncFailed {
                        peer,
                        reason: error.to_string(),
                    }));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound sync request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// Answers to this member's mailbox requests (it serves none).
    fn handle_mailbox(&mut self, event: request_response::Event<MailboxRequest, MailboxResponse>) {
        match event {
            request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some((_, reply)) = self.pending_mailbox.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
            }
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some((peer, reply)) = self.pending_mailbox.remove(&request_id) {
                    let _ = reply.send(Err(NetError::MailboxFailed {
                        peer,
                        reason: error.to_string(),
                    }));
                }
            }
            _ => {}
        }
    }

    fn send_sync_response(
        &mut self,
        channel: ResponseChannel<SyncResponse>,
        reply: Option<Vec<u8>>,
    ) {
        // Dropping the channel closes the stream, so the asker fails fast.
        let Some(payload) = reply else {
            tracing::debug!("engine refused or timed out on a sync request");
            return;
        };
        if payload.len() > MAX_SYNC_PAYLOAD_BYTES {
            tracing::warn!(
                len = payload.len(),
                "engine's sync response is over the limit; not sent"
            );
            return;
        }
        if self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, SyncResponse { payload })
            .is_err()
        {
            tracing::debug!("sync requester went away before the response");
        }
    }

    /// Dials peers mDNS found. When two peers find each other at the same moment
    /// their simultaneous dials can both fail, so only the one with the smaller peer
    /// id dials at once; the other dials on the next redial tick if still needed.
    fn handle_discovered(&mut self, found: Vec<(PeerId, Multiaddr)>) {
        let local = *self.swarm.local_peer_id();
        let mut announced = Vec::new();
        for (peer, addr) in found {
            if peer == local {
                continue;
            }
            let addrs = self.discovered.entry(peer).or_default();
            if !addrs.contains(&addr) {
                addrs.push(addr.clone());
            }
            if local < peer && !self.swarm.is_connected(&peer) {
                self.dial_discovered(peer, addr);
            }
            if !announced.contains(&peer) {
                announced.push(peer);
            }
        }
        for peer in announced {
            self.notify(NetEvent::Discovered(peer));
        }
    }

    /// Closes the circuits to peers now connected directly (the hole punch had a
    /// tick to finish on both sides).
    fn close_upgraded_circuits(&mut self) {
        for peer in std::mem::take(&mut self.circuits_to_close) {
            let Some(conns) = self.connections.get(&peer) else {
                continue;
            };
            if !conns.values().any(|p| *p != ConnectionPath::Relayed) {
                continue;
            }
            let circuits: Vec<ConnectionId> = conns
                .iter()
                .filter(|(_, p)| **p == ConnectionPath::Relayed)
                .map(|(id, _)| *id)
                .collect();
            for id in circuits {
                tracing::debug!(%peer, "closing the circuit through the relay: the connection is direct");
                self.swarm.close_connection(id);
            }
        }
    }

    /// Dials a peer whose connections were dropped because it restarted, at the
    /// addresses it listens on.
    fn redial_restarted(&mut self, peer: PeerId, addrs: Vec<Multiaddr>) {
        let opts = DialOpts::peer_id(peer).addresses(addrs).build();
        if let Err(error) = self.swarm.dial(opts) {
            tracing::debug!(%peer, %error, "cannot dial a restarted peer again");
        }
    }

    /// Dials every discovered peer that has no connection.
    fn redial_discovered(&mut self) {
        let waiting: Vec<(PeerId, Multiaddr)> = self
            .discovered
            .iter()
            .filter(|(peer, _)| !self.swarm.is_connected(peer))
            .filter_map(|(peer, addrs)| addrs.first().map(|a| (*peer, a.clone())))
            .collect();
        for (peer, addr) in waiting {
            self.dial_discovered(peer, addr);
        }
    }

    fn dial_discovered(&mut self, peer: PeerId, addr: Multiaddr) {
        if let Err(error) = self.swarm.dial(addr.clone()) {
            tracing::debug!(%peer, %addr, %error, "cannot dial an mDNS peer");
        }
    }

    /// Hands a state event to the engine, never dropping it: what finds no room waits
    /// in the backlog (behind any already there, so the order holds).
    fn notify(&mut self, event: NetEvent) {
        if !self.backlog.is_empty() {
            self.backlog.push_back(event);
            return;
        }
        match self.events.try_send(event) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(event)) => self.backlog.push_back(event),
        }
    }

    /// Hands an event to the engine without blocking the swarm; `false` if dropped.
    fn emit(&self, event: NetEvent) -> bool {
        self.events.try_send(event).is_ok()
    }
}
