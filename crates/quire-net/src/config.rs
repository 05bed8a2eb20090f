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

/// Events buffered for the engine before the actor drops gossip (and ignores it,
/// telling the engine to catch up once it reads again); state events wait in order.
pub const EVENT_CHANNEL_CAPACITY: usize = 1024;

/// Commands buffered from [`crate::NetHandle`]s before callers wait.
pub const COMMAND_CHANNEL_CAPACITY: usize = 256;

/// Connections other devices may hold open to this one at once. A device talks to
/// the members of its documents and a few relays; a thousand leaves room for a big
/// team on a LAN while bounding what a flood of connections can cost.
pub const MAX_INCOMING_CONNECTIONS: u32 = 1_024;

/// Resident memory of the whole process (the app or the daemon) above which the node
/// accepts no new connection, in or out: 2 GiB. A device at work holds its open
/// documents and a few dozen connections in far less; past this something is
/// already wrong (a flood, a leak), and new connections would only feed it. Held
/// connections keep syncing; new ones are refused until memory falls again.
pub const MAX_MEMORY_FOR_NEW_CONNECTIONS: usize = 2 * 1024 * 1024 * 1024;

/// Incoming connections still in their handshake at once.
pub const MAX_PENDING_INCOMING_CONNECTIONS: u32 = 128;

/// Connections to one peer at once: TCP, QUIC, a relay circuit and its hole-punched
/// replacement, and a restarted peer's new ones while its old ones linger.
pub const MAX_CONNECTIONS_PER_PEER: u32 = 8;

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
    /// Events buffered for the engine ([`EVENT_CHANNEL_CAPACITY`]). Past it, gossip
    /// is dropped (and the engine told to catch up); state events wait, never lost.
    pub event_channel_capacity: usize,
}

impl NetConfig {
    /// A config with no listen address, mDNS on, and the default message cap.
    pub fn new(keypair: Keypair) -> Self {
        Self {
            keypair,
            listen: Vec::new(),
            enable_mdns: true,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            event_channel_capacity: EVENT_CHANNEL_CAPACITY,
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
