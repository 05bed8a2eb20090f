//! [`NodeConfig`]: what the sync node listens on and whom it dials.

use std::time::Duration;

use quire_net::Multiaddr;

/// How long a catch-up exchange may wait for the peer before it is retried.
pub const CATCH_UP_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Most attempts at a catch-up with one peer before waiting for the next connection.
pub const MAX_CATCH_UP_ATTEMPTS: u32 = 5;

/// How long an answer that did not fit one response is kept for the asker's next
/// request.
pub const ANSWER_CACHE_TTL: Duration = Duration::from_secs(60);

/// Most answers kept for continuation at once.
pub const MAX_CACHED_ANSWERS: usize = 32;

/// Most bytes of answers kept for continuation at once.
pub const MAX_CACHED_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// How often a shared document that had live traffic runs a catch-up with its
/// peers anyway, in case live messages were lost on the way.
pub const PERIODIC_CATCH_UP: Duration = Duration::from_secs(60);

/// Catch-ups with one peer running at once; the rest wait their turn in order. A
/// peer takes [`quire_net::MAX_CONCURRENT_SYNC_STREAMS`] streams per connection, and
/// with both sides at this many no request is refused for want of one (before, two
/// devices sharing 1,000 documents started 1,000 exchanges at once on connect).
pub const MAX_CATCH_UPS_PER_PEER: usize = 8;
const _: () = assert!(2 * MAX_CATCH_UPS_PER_PEER <= quire_net::MAX_CONCURRENT_SYNC_STREAMS);

/// How often the addresses in a shared document's ticket are dialled while the
/// document has no peer.
pub const REDIAL_MEMBERS: Duration = Duration::from_secs(15);

/// How often the node looks after presence changes waiting for their interval,
/// retries and caches.
pub const TICK: Duration = Duration::from_millis(50);

/// How often the node looks at the documents due for a presence heartbeat, an
/// expiry, the periodic catch-up or a redial. Each of those is measured in seconds;
/// only the documents due are looked at (a walk of 10,000 documents every tick, and
/// later every second, was a steady share of a core on an idle device).
pub const DOCUMENT_SWEEP: Duration = Duration::from_secs(1);

/// The longest a shared document goes without the sweep looking at it, whatever
/// its due times say.
pub const SWEEP_BACKSTOP: Duration = Duration::from_secs(60);

/// Items read from a relay's mailbox for a document after which a writer compacts
/// them into one snapshot (see [`NodeConfig::relay_compact_after`]).
pub const RELAY_COMPACT_AFTER: u64 = 256;

/// How the node is set up.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Find peers on the local network with mDNS.
    pub mdns: bool,
    /// Addresses to dial at start (besides those in the tickets of shared documents).
    pub bootstrap: Vec<Multiaddr>,
    /// Relays whose mailboxes keep updates for offline members (each address ends
    /// in `/p2p/<relay peer id>`).
    pub relays: Vec<Multiaddr>,
    /// A writer replaces a relay's items of a document with one sealed snapshot of
    /// it once it has read this many items there since the last snapshot.
    pub relay_compact_after: u64,
    /// Network events buffered for the node ([`quire_net::EVENT_CHANNEL_CAPACITY`];
    /// tests make it tiny to show that no state event is ever lost).
    pub net_event_capacity: usize,
}

impl NodeConfig {
    /// TCP and QUIC on every interface with ports the system picks, mDNS on.
    pub fn new() -> Self {
        Self {
            listen: default_listen(),
            mdns: true,
            bootstrap: Vec::new(),
            relays: Vec::new(),
            relay_compact_after: RELAY_COMPACT_AFTER,
            net_event_capacity: quire_net::EVENT_CHANNEL_CAPACITY,
        }
    }

    /// Loopback only, mDNS off: for tests and benchmarks.
    pub fn loopback() -> Self {
        Self {
            listen: ["/ip4/127.0.0.1/tcp/0"]
                .iter()
                .filter_map(|a| a.parse().ok())
                .collect(),
            mdns: false,
            bootstrap: Vec::new(),
            relays: Vec::new(),
            relay_compact_after: RELAY_COMPACT_AFTER,
            net_event_capacity: quire_net::EVENT_CHANNEL_CAPACITY,
        }
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads a relay's address: a multiaddr ending in `/p2p/<relay peer id>`.
pub fn parse_relay_addr(text: &str) -> Result<Multiaddr, crate::NodeError> {
    let bad = || crate::NodeError::BadRelayAddress(text.to_owned());
    let addr: Multiaddr = text.trim().parse().map_err(|_| bad())?;
    match addr.iter().last() {
        Some(quire_net::multiaddr::Protocol::P2p(_)) => Ok(addr),
        _ => Err(bad()),
    }
}

/// `/ip4/0.0.0.0/tcp/0` and `/ip4/0.0.0.0/udp/0/quic-v1`.
pub fn default_listen() -> Vec<Multiaddr> {
    ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"]
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect()
}
