//! [`NetConfig`]: what a node listens on, who it is, and its size limits.

use std::time::Duration;

use libp2p::{Multiaddr, identity::Keypair};

/// Default cap on one gossip payload (a sealed update or awareness message).
///
/// Live edits are small; larger state goes over the sync protocol in chunks.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Room for gossipsub's protobuf framing (topic name, message id, control messages)
/// on top of the payload when we set gossipsub's `max_transmit_size`.
pub const GOSSIP_FRAME_OVERHEAD_BYTES: usize = 4 * 1024;

/// How often gossipsub maintains its mesh (graft, prune, gossip).
pub const GOSSIP_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// A connection with no open stream is closed after this long.
pub const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);

/// Events buffered for the engine before the actor starts dropping (and ignoring) them.
pub const EVENT_CHANNEL_CAPACITY: usize = 1024;

/// Commands buffered from [`crate::NetHandle`]s before callers wait.
pub const COMMAND_CHANNEL_CAPACITY: usize = 256;

/// The protocol version announced by identify.
pub const IDENTIFY_PROTOCOL_VERSION: &str = "/quire/0.1.0";

/// How a node is set up.
#[derive(Clone)]
pub struct NetConfig {
    /// The device key; its public key is the node's `PeerId`.
    pub keypair: Keypair,
    /// Addresses to listen on, e.g. `/ip4/0.0.0.0/tcp/0`.
    pub listen: Vec<Multiaddr>,
    /// Discover and dial peers on the local network with mDNS.
    pub enable_mdns: bool,
    /// Largest gossip payload accepted by `publish` (and by gossipsub on receipt).
    pub max_message_bytes: usize,
}

impl NetConfig {
    /// A config with no listen address, mDNS on, and the default message cap.
    pub fn new(keypair: Keypair) -> Self {
        Self {
            keypair,
            listen: Vec::new(),
            enable_mdns: true,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

impl std::fmt::Debug for NetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetConfig")
            .field("peer_id", &self.keypair.public().to_peer_id())
            .field("listen", &self.listen)
            .field("enable_mdns", &self.enable_mdns)
            .field("max_message_bytes", &self.max_message_bytes)
            .finish()
    }
}
