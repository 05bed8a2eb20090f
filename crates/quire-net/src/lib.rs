//! `quire-net`: Quire's peer-to-peer transport. A libp2p swarm runs in one tokio task
//! (the actor) and carries opaque bytes; it knows nothing of documents or crypto. The
//! engine seals what it sends and opens and checks what it receives.
//!
//! # What runs
//!
//! - TCP (noise + yamux) and QUIC, identify and ping; mDNS on the local network (optional;
//!   discovered peers are dialled).
//! - Gossipsub for live traffic: one topic per document, named by the base64url of its
//!   topic hash, cut to [`TOPIC_NAME_BYTES`] (every message carries the name). Gossipsub's own signatures are off
//!   ([`libp2p::gossipsub::MessageAuthenticity::Anonymous`]): every payload is already a
//!   signed, sealed envelope, and gossipsub's signature and key would add over 100
//!   bytes per keystroke. Message ids hash the data. Validation is manual, so nothing
//!   is forwarded before the engine accepts it, and peer scoring penalises peers
//!   that send rejected messages.
//! - Through a team relay ([`NetHandle::reserve`], [`NetHandle::register`],
//!   [`NetHandle::discover`]): a reservation so peers behind other NATs reach this
//!   node through the relay's circuit, registrations under each document's topic at
//!   the relay's rendezvous point, discovery and dialling of the other members, and
//!   DCUtR hole punching to make those connections direct where the NATs allow.
//! - `/quire/sync/1` ([`SYNC_PROTOCOL`]): request-response with opaque payloads for
//!   catch-up, capped at [`MAX_SYNC_PAYLOAD_BYTES`] each way. Larger state is chunked
//!   by the caller.
//!
//! # The flow
//!
//! ```no_run
//! # async fn demo(keypair: libp2p::identity::Keypair) -> Result<(), quire_net::NetError> {
//! use quire_net::{NetConfig, NetEvent, Node, Validation};
//!
//! let mut config = NetConfig::new(keypair);
//! config.listen.push("/ip4/0.0.0.0/tcp/0".parse().expect("valid multiaddr"));
//! let (net, mut events) = Node::spawn(config)?;
//!
//! let topic = [7u8; 32]; // quire_crypto::topic_for(doc_id) in the engine
//! net.subscribe(topic).await?;
//! while let Some(event) = events.recv().await {
//!     match event {
//!         NetEvent::Message { id, from, data, .. } => {
//!             // Open and check the sealed envelope, then tell gossipsub.
//!             let verdict = if data.is_empty() { Validation::Reject } else { Validation::Accept };
//!             net.report_validation(id, from, verdict).await?;
//!         }
//!         NetEvent::SyncRequest { request, reply, .. } => {
//!             let _ = reply.send(request); // the engine answers with missing updates
//!         }
//!         NetEvent::PeerConnected(peer) => {
//!             let _missing = net.sync_request(peer, topic, b"state vector".to_vec()).await;
//!         }
//!         _ => {}
//!     }
//! }
//! net.publish(topic, b"sealed update".to_vec()).await?;
//! net.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod actor;
mod behaviour;
mod config;
mod error;
pub mod gossip_config;
pub mod mailbox_auth;
pub mod mailbox_protocol;
mod path;
mod rejected_messages;
pub mod restarts;
mod sync_protocol;
pub mod topic_filter;
mod traversal;

pub use actor::{
    MAX_BACKLOGGED_SYNC_REQUESTS, NetEvent, NetHandle, Node, REDIAL_DISCOVERED_INTERVAL, Validation,
};
pub use behaviour::{TOPIC_NAME_BYTES, gossip_behaviour, topic_for};
pub use config::{
    COMMAND_CHANNEL_CAPACITY, DEFAULT_MAX_MESSAGE_BYTES, EVENT_CHANNEL_CAPACITY,
    GOSSIP_FRAME_OVERHEAD_BYTES, GOSSIP_HEARTBEAT_INTERVAL, IDENTIFY_PROTOCOL_VERSION,
    IDLE_CONNECTION_TIMEOUT, MAX_CONNECTIONS_PER_PEER, MAX_INCOMING_CONNECTIONS,
    MAX_MEMORY_FOR_NEW_CONNECTIONS, MAX_PENDING_INCOMING_CONNECTIONS, NetConfig,
};
pub use error::{NetError, Result};
pub use gossip_config::{
    GOSSIP_SCORE_THRESHOLD, GRAYLIST_SCORE_THRESHOLD, INVALID_MESSAGE_DECAY_TIME,
    INVALID_MESSAGE_WEIGHT, MAX_GOSSIP_FRAME_BYTES, MAX_TOPICS_PER_PEER, PUBLISH_SCORE_THRESHOLD,
    SEND_QUEUE_LEN,
};
pub use libp2p::{Multiaddr, PeerId, gossipsub::MessageId, identity::Keypair, multiaddr};
pub use path::ConnectionPath;
pub use sync_protocol::{
    MAX_CONCURRENT_SYNC_STREAMS, MAX_SYNC_PAYLOAD_BYTES, SYNC_FRAME_OVERHEAD_BYTES, SYNC_PROTOCOL,
    SYNC_REPLY_TIMEOUT, SYNC_REQUEST_TIMEOUT,
};
pub use topic_filter::TopicFilter;
pub use traversal::{REGISTRATION_REFRESH, REGISTRATION_TTL, namespace_for};
