//! Telling that a connected peer restarted, so that gossip with it starts afresh.
//!
//! A peer that crashes (or is killed) says no goodbye. Over QUIC nothing tells this
//! node that the old connection is dead until its idle timeout (10 s). If the peer
//! comes back before that, its new connection is this node's *second* connection to
//! the same peer id, and gossipsub:
//! - sends its subscriptions only on a peer's first connection, so the restarted
//!   peer never learns which documents this node is in (its edits find "no peers");
//! - hands each message to whichever of the peer's connections takes it first, so
//!   messages written into the dead connection are lost.
//!
//! Every node names a random instance, drawn at start, in its identify agent version.
//! When a peer's identify names a different instance than before while this node
//! still holds other connections to it, the peer restarted: the node drops every
//! connection to it and dials it again, so gossip starts over on one live connection.
//! A peer with several live connections from one run (a simultaneous dial, a hole
//! punch) names the same instance on all of them and is left alone. The relay does
//! the same for its members (it does not dial back: members dial their relay).

use std::collections::HashMap;

use libp2p::{Multiaddr, PeerId};

/// The identify agent version of a node whose run is `instance`.
pub fn agent_version(instance: u64) -> String {
    format!(
        "quire/{} instance/{instance:016x}",
        env!("CARGO_PKG_VERSION")
    )
}

/// The instance an agent version names, if it is a Quire node's.
fn instance_of(agent_version: &str) -> Option<u64> {
    let hex = agent_version
        .split(' ')
        .find_map(|word| word.strip_prefix("instance/"))?;
    u64::from_str_radix(hex, 16).ok()
}

/// The run of each connected peer, and where to dial a restarted one once its
/// connections are closed.
#[derive(Debug, Default)]
pub struct Restarts {
    instance: HashMap<PeerId, u64>,
    redial: HashMap<PeerId, Vec<Multiaddr>>,
}

impl Restarts {
    /// A peer's identify arrived; `connections` is how many this node holds to it.
    /// `true` if the peer restarted while older connections to it are still held:
    /// drop them all, and [`Self::closed`] gives `listen` back to dial.
    pub fn identified(
        &mut self,
        peer: PeerId,
        agent_version: &str,
        listen: Vec<Multiaddr>,
        connections: usize,
    ) -> bool {
        let Some(instance) = instance_of(agent_version) else {
            return false;
        };
        let before = self.instance.insert(peer, instance);
        let restarted = before.is_some_and(|b| b != instance) && connections > 1;
        if restarted {
            self.redial.insert(peer, listen);
        }
        restarted
    }

    /// Every connection to `peer` is closed: forgets its run, and returns where to
    /// dial it if it is being reconnected after a restart.
    pub fn closed(&mut self, peer: &PeerId) -> Option<Vec<Multiaddr>> {
        self.instance.remove(peer);
        self.redial.remove(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> Vec<Multiaddr> {
        vec!["/ip4/127.0.0.1/udp/4001/quic-v1".parse().unwrap()]
    }

    #[test]
    fn the_instance_round_trips_through_the_agent_version() {
        assert_eq!(instance_of(&agent_version(0xdead_beef)), Some(0xdead_beef));
        assert_eq!(instance_of("rust-libp2p/0.57.1"), None);
        assert_eq!(instance_of("quire/0.1.0 instance/nothex"), None);
    }

    #[test]
    fn a_new_run_beside_an_old_connection_is_a_restart() {
        let peer = PeerId::random();
        let mut r = Restarts::default();
        assert!(!r.identified(peer, &agent_version(1), addr(), 1));
        // A second connection from the same run: a simultaneous dial, a hole punch.
        assert!(!r.identified(peer, &agent_version(1), addr(), 2));
        // The peer's next run, while a connection to the old one is still held.
        assert!(r.identified(peer, &agent_version(2), addr(), 2));
        assert_eq!(r.closed(&peer), Some(addr()));
        // Gone, then back on one connection: nothing stale to drop.
        assert!(!r.identified(peer, &agent_version(3), addr(), 1));
        assert_eq!(r.closed(&peer), None);
    }

    #[test]
    fn a_new_run_on_its_only_connection_is_left_alone() {
        let peer = PeerId::random();
        let mut r = Restarts::default();
        assert!(!r.identified(peer, &agent_version(1), addr(), 1));
        // The old connection was seen to close first (TCP says so at once).
        assert!(!r.identified(peer, &agent_version(2), addr(), 1));
        // Peers that are not Quire nodes (a relay) name no instance.
        assert!(!r.identified(peer, "quire-relay/0.1.0", addr(), 3));
    }
}
