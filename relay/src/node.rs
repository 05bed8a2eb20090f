//! The relay's libp2p node: circuit relay v2 (peers behind NAT reserve a slot and are
//! reached through it, then upgrade with DCUtR where the NATs allow), a rendezvous
//! point (members register under their documents' topic hashes and find each other),
//! identify and ping, the mailbox protocol, and gossipsub: the relay joins the topic
//! of every document its members use the mailbox for, so live updates pass through
//! it between members who cannot reach each other directly (it cannot open them; the
//! members check every message). Devices not allowed by the operator
//! get a clear refusal from the mailbox and are disconnected when they try to reserve
//! a slot, open a circuit or register; they store nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use either::Either;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use libp2p::connection_limits::{self, ConnectionLimits};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    PeerId, Swarm, gossipsub, identify, memory_connection_limits, noise, ping, relay, rendezvous,
    tcp, yamux,
};
use quire_net::mailbox_protocol::{
    MAX_GET_BATCH, MAX_MAILBOX_ITEM_BYTES, MAX_PUT_BATCH, MailboxBehaviour, MailboxRequest,
    MailboxResponse, PutItem, Refusal, mailbox_behaviour, request_cost,
};
use quire_net::restarts::Restarts;

use crate::boxed_handler::BoxedHandler;
use crate::by_access::{ByAccess, TeamOnly};
use crate::config::{Access, Config, MAX_PENDING_CONNECTIONS};
use crate::mailbox::{Mailbox, MailboxError};
use crate::metrics::Metrics;
use crate::outsider_mailbox::{OutsiderMailbox, outsider_mailbox};

mod mailbox_jobs;
mod swarm_metrics;

use mailbox_jobs::{Done, SharedMailbox};

/// How often the mailbox's totals are read for /metrics.
const TOTALS_EVERY: Duration = Duration::from_secs(1);

/// A put request (one item, or several) waiting for the next group commit.
struct PendingPut {
    peer: PeerId,
    items: Vec<PutItem>,
    /// Whether it was a [`MailboxRequest::PutMany`] (answered with every outcome).
    many: bool,
    channel: ResponseChannel<MailboxResponse>,
}

/// How often items past their retention are dropped.
const EXPIRE_EVERY: Duration = Duration::from_secs(600);
/// Connections with nothing going on close after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(NetworkBehaviour)]
struct RelayBehaviour {
    /// First, so that a connection over the limits is refused before any other
    /// protocol sets anything up for it.
    limits: connection_limits::Behaviour,
    /// No new connection while the process holds more than its memory limit.
    memory: memory_connection_limits::Behaviour,
    relay: relay::Behaviour,
    rendezvous: TeamOnly<rendezvous::server::Behaviour>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    /// Members' requests are read and served; an outsider's are refused unread.
    mailbox: ByAccess<MailboxBehaviour, OutsiderMailbox>,
    /// Outsiders get no gossip: no topic list, no subscriptions, no messages.
    gossipsub: TeamOnly<gossipsub::Behaviour>,
}

/// Most document topics the relay joins: as many as a member's gossip accepts from
/// one peer, so the relay's subscription list always fits a member's filter.
const MAX_TOPICS: usize = quire_net::MAX_TOPICS_PER_PEER;

/// The running node.
pub(crate) struct RelayNode {
    swarm: Swarm<BoxedHandler<RelayBehaviour>>,
    mailbox: SharedMailbox,
    /// A put commit is running on the blocking pool.
    putting: bool,
    /// Mailbox jobs running on the blocking pool.
    jobs: FuturesUnordered<BoxFuture<'static, Done>>,
    access: Access,
    metrics: Arc<Metrics>,
    rate: RateLimiter,
    listeners: usize,
    /// Whether the listen addresses are the ones given to members (no `external`).
    announce_listen_addrs: bool,
    ready: bool,
    topics: HashSet<[u8; 32]>,
    /// Puts that arrived together, committed as one.
    pending_puts: Vec<PendingPut>,
    /// Connections held per peer, and which run of each member is connected: a
    /// member that restarted while its old connection lingers is disconnected, so
    /// that gossip starts over when it dials back (see `quire_net::restarts`).
    held: HashMap<PeerId, u32>,
    restarts: Restarts,
}

impl RelayNode {
    /// Builds the node and starts listening.
    pub(crate) fn start(
        key: Keypair,
        config: &Config,
        mailbox: Mailbox,
        metrics: Arc<Metrics>,
    ) -> Result<Self> {
        let mut relay_config = relay::Config {
            max_reservations: config.max_reservations,
            max_circuits: config.max_circuits,
            max_circuit_duration: config.circuit_duration,
            max_circuit_bytes: config.circuit_bytes,
            ..relay::Config::default()
        };
        // Outsiders get no slot and open no circuit: the relay denies the request
        // (the device stays connected, so the mailbox can tell it why in words).
        relay_config.reservation_rate_limiters.push(Self::team_only(
            &config.access,
            &metrics,
            "reserve a relay slot",
        ));
        relay_config.circuit_src_rate_limiters.push(Self::team_only(
            &config.access,
            &metrics,
            "open a circuit",
        ));
        let gossip = quire_net::gossip_behaviour(quire_net::DEFAULT_MAX_MESSAGE_BYTES, false)
            .context("gossipsub")?;
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default(),
                noise::Config::new,
                yamux::Config::default,
            )
            .context("TCP transport")?
            .with_quic()
            .with_behaviour(|key| {
                BoxedHandler::new(RelayBehaviour {
                    limits: connection_limits::Behaviour::new(
                        ConnectionLimits::default()
                            .with_max_established(Some(config.max_connections))
                            .with_max_pending_incoming(Some(MAX_PENDING_CONNECTIONS))
                            .with_max_established_per_peer(Some(
                                quire_net::MAX_CONNECTIONS_PER_PEER,
                            )),
                    ),
                    memory: memory_connection_limits::Behaviour::with_max_bytes(
                        usize::try_from(config.max_memory_bytes).unwrap_or(usize::MAX),
                    ),
                    relay: relay::Behaviour::new(key.public().to_peer_id(), relay_config),
                    rendezvous: TeamOnly::team_only(
                        rendezvous::server::Behaviour::new(rendezvous::server::Config::default()),
                        config.access.clone(),
                    ),
                    identify: identify::Behaviour::new(identify::Config::new(
                        quire_net::IDENTIFY_PROTOCOL_VERSION.to_owned(),
                        key.public(),
                    )),
                    ping: ping::Behaviour::default(),
                    mailbox: ByAccess::new(
                        mailbox_behaviour(true),
                        outsider_mailbox(),
                        config.access.clone(),
                    ),
                    gossipsub: TeamOnly::team_only(gossip, config.access.clone()),
                })
            })
            .context("relay behaviour")?
            .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
            .build();
        // Relaying is what this node is for, whatever it knows of its own addresses.
        swarm
            .behaviour_mut()
            .relay
            .set_status(Some(relay::Status::Enable));
        for addr in &config.external {
            swarm.add_external_address(addr.clone());
        }
        for addr in &config.listen {
            swarm
                .listen_on(addr.clone())
                .with_context(|| format!("cannot listen on {addr}"))?;
        }
        Ok(Self {
            swarm,
            mailbox: Arc::new(std::sync::Mutex::new(mailbox)),
            putting: false,
            jobs: FuturesUnordered::new(),
            access: config.access.clone(),
            metrics,
            rate: RateLimiter::new(config.puts_per_second),
            listeners: config.listen.len(),
            announce_listen_addrs: config.external.is_empty(),
            ready: false,
            topics: HashSet::new(),
            pending_puts: Vec::new(),
            held: HashMap::new(),
            restarts: Restarts::default(),
        })
    }

    /// Runs until `shutdown` resolves.
    pub(crate) async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        let mut expire = tokio::time::interval(EXPIRE_EVERY);
        let mut totals = tokio::time::interval(TOTALS_EVERY);
        let mut listening = HashSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => {
                    self.handle(event, &mut listening);
                    // Whatever else is ready now joins the same commit.
                    while let Some(Some(event)) = self.swarm.next().now_or_never() {
                        self.handle(event, &mut listening);
                    }
                    self.commit_puts();
                }
                Some(done) = self.jobs.next(), if !self.jobs.is_empty() => self.finish(done),
                _ = expire.tick() => self.expire(),
                _ = totals.tick() => self.refresh_totals(),
                () = &mut shutdown => break,
            }
        }
        // Whatever was asked is committed (and answered where the asker still
        // listens) before the relay stops.
        self.commit_puts();
        while let Some(done) = self.jobs.next().await {
            self.finish(done);
        }
        tracing::info!("stopping");
    }

    fn handle(
        &mut self,
        event: SwarmEvent<RelayBehaviourEvent>,
        listening: &mut HashSet<libp2p::core::transport::ListenerId>,
    ) {
        swarm_metrics::record(&self.metrics, &event);
        let peer_id = *self.swarm.local_peer_id();
        match event {
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                // What members put in tickets.
                println!("address {address}/p2p/{peer_id}");
                if self.announce_listen_addrs {
                    self.swarm.add_external_address(address);
                }
                listening.insert(listener_id);
                if !self.ready && listening.len() >= self.listeners {
                    self.ready = true;
                    println!("ready");
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                ..
            } => {
                self.held.insert(peer_id, num_established.get());
                self.count_peers();
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                ..
            } => {
                if num_established == 0 {
                    self.held.remove(&peer_id);
                    // Members dial their relay: nothing to dial back.
                    let _ = self.restarts.closed(&peer_id);
                } else {
                    self.held.insert(peer_id, num_established);
                }
                self.count_peers();
            }
            SwarmEvent::Behaviour(RelayBehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                let held = self.held.get(&peer_id).copied().unwrap_or(0) as usize;
                if self
                    .restarts
                    .identified(peer_id, &info.agent_version, Vec::new(), held)
                {
                    tracing::info!(peer = %peer_id, "a member restarted while its old connection lingered; disconnecting it so that it dials back afresh");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                }
            }
            SwarmEvent::Behaviour(RelayBehaviourEvent::Relay(event)) => self.handle_relay(event),
            SwarmEvent::Behaviour(RelayBehaviourEvent::Rendezvous(Either::Left(
                rendezvous::server::Event::PeerRegistered { peer, registration },
            ))) => {
                if self.access.allows(&peer) {
                    tracing::debug!(%peer, namespace = %registration.namespace, "registered");
                } else {
                    self.refuse_connection(peer, "register");
                }
            }
            SwarmEvent::Behaviour(RelayBehaviourEvent::Mailbox(Either::Left(
                request_response::Event::Message {
                    peer,
                    message:
                        request_response::Message::Request {
                            request, channel, ..
                        },
                    ..
                },
            ))) => self.answer(peer, request, channel),
            SwarmEvent::Behaviour(RelayBehaviourEvent::Mailbox(Either::Right(
                request_response::Event::Message {
                    peer,
                    message: request_response::Message::Request { channel, .. },
                    ..
                },
            ))) => self.refuse_outsider(peer, channel),
            _ => {}
        }
    }

    fn count_peers(&self) {
        let peers = self.swarm.connected_peers().count() as u64;
        self.metrics.connected_peers.set(peers);
    }

    fn handle_relay(&mut self, event: relay::Event) {
        match event {
            relay::Event::ReservationReqAccepted { src_peer_id, .. } => {
                if self.access.allows(&src_peer_id) {
                    self.metrics.reservations.inc();
                    tracing::info!(peer = %src_peer_id, "reservation accepted");
                } else {
                    self.refuse_connection(src_peer_id, "reserve a relay slot");
                }
            }
            relay::Event::CircuitReqAccepted {
                src_peer_id,
                dst_peer_id,
            } => {
                if self.access.allows(&src_peer_id) {
                    self.metrics.circuits.inc();
                    tracing::info!(src = %src_peer_id, dst = %dst_peer_id, "circuit opened");
                } else {
                    self.refuse_connection(src_peer_id, "open a circuit");
                }
            }
            _ => {}
        }
    }

    /// A gate for the circuit relay that lets only the team's devices through.
    fn team_only(
        access: &Access,
        metrics: &Arc<Metrics>,
        what: &'static str,
    ) -> Box<dyn relay::RateLimiter> {
        let (access, metrics) = (access.clone(), Arc::clone(metrics));
        Box::new(move |peer: PeerId, _: &libp2p::Multiaddr, _: Instant| {
            let allowed = access.allows(&peer);
            if !allowed {
                tracing::warn!(%peer, "refused: a device not allowed on this relay tried to {what}");
                metrics.refused(Refusal::NotAllowed);
            }
            allowed
        })
    }

    /// A device the operator did not allow tried to use the relay: disconnect it.
    fn refuse_connection(&mut self, peer: PeerId, what: &str) {
        tracing::warn!(%peer, "refused: a device not allowed on this relay tried to {what}");
        self.metrics.refused(Refusal::NotAllowed);
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    fn answer(
        &mut self,
        peer: PeerId,
        request: MailboxRequest,
        channel: ResponseChannel<MailboxResponse>,
    ) {
        let response = match self.check(peer, &request) {
            Some(refusal) => refusal,
            None => match request {
                MailboxRequest::Put { topic, item, auth } => {
                    self.pending_puts.push(PendingPut {
                        peer,
                        items: vec![PutItem { topic, item, auth }],
                        many: false,
                        channel,
                    });
                    return;
                }
                MailboxRequest::PutMany { items } => {
                    self.pending_puts.push(PendingPut {
                        peer,
                        items,
                        many: true,
                        channel,
                    });
                    return;
                }
                other => {
                    self.serve(peer, other, channel);
                    return;
                }
            },
        };
        self.respond(peer, channel, response);
    }

    /// An outsider's mailbox request, answered without reading it.
    fn refuse_outsider(&mut self, peer: PeerId, channel: ResponseChannel<MailboxResponse>) {
        let (reason, message) = (Refusal::NotAllowed, not_allowed(peer));
        self.metrics.refused(reason);
        tracing::info!(%peer, ?reason, "mailbox request refused unread: {message}");
        let response = refused(reason, message);
        let mailbox = self.swarm.behaviour_mut().mailbox.outsiders_mut();
        if mailbox.send_response(channel, response).is_err() {
            tracing::debug!(%peer, "the outsider went away before the answer");
        }
    }

    fn respond(
        &mut self,
        peer: PeerId,
        channel: ResponseChannel<MailboxResponse>,
        response: MailboxResponse,
    ) {
        if let MailboxResponse::Refused { reason, message } = &response {
            self.metrics.refused(*reason);
            tracing::info!(%peer, ?reason, "mailbox request refused: {message}");
        }
        if self
            .swarm
            .behaviour_mut()
            .mailbox
            .members_mut()
            .send_response(channel, response)
            .is_err()
        {
            tracing::debug!(%peer, "the asker went away before the answer");
        }
    }

    /// A refusal for a request that may not go ahead: not allowed, too many, too
    /// large. Joins the request's document topic otherwise.
    fn check(&mut self, peer: PeerId, request: &MailboxRequest) -> Option<MailboxResponse> {
        if !self.access.allows(&peer) {
            // Outsiders' requests go to `refuse_outsider`; this holds should the
            // access list ever change under a live connection.
            return Some(refused(Refusal::NotAllowed, not_allowed(peer)));
        }
        if !self.rate.allow(peer, request_cost(request)) {
            return Some(refused(
                Refusal::RateLimited,
                "too many requests; try again in a second".into(),
            ));
        }
        let (topics, size): (Vec<[u8; 32]>, usize) = match request {
            MailboxRequest::Put { topic, item, auth } => {
                if auth.is_none() {
                    return Some(unsigned());
                }
                (vec![*topic], item.len())
            }
            MailboxRequest::PutMany { items } => {
                if items.is_empty() || items.len() > MAX_PUT_BATCH {
                    return Some(refused(
                        Refusal::Invalid,
                        format!("a batch holds 1 to {MAX_PUT_BATCH} items"),
                    ));
                }
                if items.iter().any(|i| i.auth.is_none()) {
                    return Some(unsigned());
                }
                (
                    items.iter().map(|i| i.topic).collect(),
                    items.iter().map(|i| i.item.len()).sum(),
                )
            }
            MailboxRequest::Get { topic, .. } => (vec![*topic], 0),
            MailboxRequest::GetMany { reads, .. } => {
                if reads.is_empty() || reads.len() > MAX_GET_BATCH {
                    return Some(refused(
                        Refusal::Invalid,
                        format!("a batched read asks for 1 to {MAX_GET_BATCH} topics"),
                    ));
                }
                (reads.iter().map(|r| r.topic).collect(), 0)
            }
            MailboxRequest::Compact {
                topic,
                snapshot,
                auth,
                ..
            } => {
                if auth.is_none() {
                    return Some(unsigned());
                }
                (vec![*topic], snapshot.len())
            }
            MailboxRequest::Changes { filter, .. } => {
                if let Some(problem) = filter.problem() {
                    return Some(refused(Refusal::Invalid, problem));
                }
                (Vec::new(), 0)
            }
        };
        if size > MAX_MAILBOX_ITEM_BYTES {
            return Some(refused(
                Refusal::Invalid,
                format!("a request carries at most {MAX_MAILBOX_ITEM_BYTES} bytes of items"),
            ));
        }
        for topic in topics {
            self.join_topic(topic);
        }
        None
    }

    /// Joins a document's gossip topic (once), to forward its live updates.
    fn join_topic(&mut self, topic: [u8; 32]) {
        if self.topics.contains(&topic) || self.topics.len() >= MAX_TOPICS {
            return;
        }
        let gossip = self.swarm.behaviour_mut().gossipsub.members_mut();
        let name = quire_net::topic_for(&topic);
        match gossip.subscribe(&name) {
            Ok(_) => {
                self.topics.insert(topic);
                self.metrics.topics_joined.set(self.topics.len() as u64);
            }
            Err(e) => tracing::warn!("cannot join a document's gossip: {e}"),
        }
    }
}

/// The answer for a mailbox error.
fn refusal_of(error: MailboxError) -> MailboxResponse {
    match error {
        MailboxError::QuotaExceeded(message) => refused(Refusal::QuotaExceeded, message),
        MailboxError::Invalid(message) => refused(Refusal::Invalid, message),
        MailboxError::NotWriter(message) => refused(Refusal::NotWriter, message),
        MailboxError::Unavailable(message) => {
            tracing::error!("{message}");
            refused(
                Refusal::Unavailable,
                "the relay cannot store right now; try again later".into(),
            )
        }
        MailboxError::Storage(e) => {
            tracing::error!("mailbox storage failed: {e}");
            refused(
                Refusal::Unavailable,
                "the relay cannot store right now; try again later".into(),
            )
        }
    }
}

/// The answer to a put or compaction without a signature: what a member from before
/// signed mailbox writes sends. [`Refusal::Invalid`], which such a member can decode
/// and log.
fn unsigned() -> MailboxResponse {
    refused(
        Refusal::Invalid,
        "this relay keeps only puts and compactions signed with the document's mailbox key; update Quire on this device".into(),
    )
}

/// Why an outsider is refused, in words its user can act on.
fn not_allowed(peer: PeerId) -> String {
    format!("this relay serves its team only; ask its operator to allow the device {peer}")
}

fn refused(reason: Refusal, message: String) -> MailboxResponse {
    MailboxResponse::Refused { reason, message }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Requests per peer per second: a token bucket holding two seconds' worth.
struct RateLimiter {
    per_second: f64,
    buckets: HashMap<PeerId, (f64, Instant)>,
}

impl RateLimiter {
    fn new(per_second: u32) -> Self {
        Self {
            per_second: f64::from(per_second.max(1)),
            buckets: HashMap::new(),
        }
    }

    /// Takes `cost` requests' worth from the peer's bucket, if it holds them.
    fn allow(&mut self, peer: PeerId, cost: u32) -> bool {
        let cost = f64::from(cost.max(1));
        let now = Instant::now();
        let capacity = self.per_second * 2.0;
        if self.buckets.len() > 10_000 {
            // Forget peers whose buckets are full again.
            let per_second = self.per_second;
            self.buckets.retain(|_, (tokens, at)| {
                *tokens + at.elapsed().as_secs_f64() * per_second < capacity
            });
        }
        let (tokens, at) = self.buckets.entry(peer).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(capacity);
        *at = now;
        if *tokens >= cost {
            *tokens -= cost;
            true
        } else {
            false
        }
    }
}
