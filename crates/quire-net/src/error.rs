//! Typed errors returned by [`crate::NetHandle`] and [`crate::Node::spawn`].

use libp2p::{Multiaddr, PeerId};
use thiserror::Error;

/// Everything that can go wrong in the network layer.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NetError {
    /// The TCP/noise/yamux transport could not be built.
    #[error("could not build the libp2p transport: {0}")]
    Transport(String),
    /// A protocol behaviour (gossipsub, mDNS, ...) rejected its configuration.
    #[error("could not build the network behaviour: {0}")]
    Behaviour(String),
    /// Binding a listen address failed.
    #[error("cannot listen on {addr}: {reason}; check the address and that the port is free")]
    Listen {
        /// The address we tried to bind.
        addr: Multiaddr,
        /// Why the transport refused.
        reason: String,
    },
    /// Dialling an address failed immediately (later failures arrive as events).
    #[error("cannot dial {addr}: {reason}")]
    Dial {
        /// The address we tried to dial.
        addr: Multiaddr,
        /// Why the swarm refused.
        reason: String,
    },
    /// A gossip payload is larger than the configured `max_message_bytes`.
    #[error(
        "message of {len} bytes exceeds the {max}-byte gossip limit; send large state with sync_request instead"
    )]
    MessageTooLarge {
        /// Size of the refused payload.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// A sync request or response is larger than [`crate::MAX_SYNC_PAYLOAD_BYTES`].
    #[error("sync payload of {len} bytes exceeds the {max}-byte limit; split it into chunks")]
    SyncPayloadTooLarge {
        /// Size of the refused payload.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No connected peer is subscribed to the topic yet, so nobody would get the message.
    #[error("no connected peer is subscribed to this topic yet; retry once a peer has joined")]
    NoPeersSubscribed,
    /// The exact same bytes were already published (message ids hash the payload).
    #[error("these exact bytes were already published on this topic")]
    Duplicate,
    /// Gossipsub refused the message for another reason.
    #[error("publish failed: {0}")]
    Publish(String),
    /// Gossipsub refused the subscription.
    #[error("subscribe failed: {0}")]
    Subscribe(String),
    /// This device already syncs the most documents one device may sync at once.
    #[error(
        "this device already syncs {max} documents, the most one device may; stop syncing one (`quire leave DOC`) to sync another"
    )]
    TooManyTopics {
        /// The limit ([`crate::MAX_TOPICS_PER_PEER`]).
        max: usize,
    },
    /// A sync request did not get a valid response.
    #[error("sync request to {peer} failed: {reason}")]
    SyncFailed {
        /// The peer that was asked.
        peer: PeerId,
        /// What went wrong (timeout, refused, connection closed, ...).
        reason: String,
    },
    /// A mailbox request to a relay did not get a response.
    #[error("mailbox request to {peer} failed: {reason}")]
    MailboxFailed {
        /// The relay asked.
        peer: PeerId,
        /// What went wrong (timeout, refused, connection closed, ...).
        reason: String,
    },
    /// The actor task has stopped (after `shutdown` or a fatal error).
    #[error("the network actor has stopped; spawn a new node")]
    Stopped,
}

/// Shorthand for results in this crate.
pub type Result<T, E = NetError> = std::result::Result<T, E>;
