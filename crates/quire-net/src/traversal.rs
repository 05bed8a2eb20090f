//! NAT traversal through a team relay, the member's side.
//!
//! - **Reservation**: the node listens through the relay (`<relay>/p2p-circuit`), so
//!   peers that cannot reach it directly can open a circuit to it. Once the relay
//!   accepts, the circuit address becomes one of the node's external addresses.
//! - **Rendezvous**: the node registers under each of its documents' topic names at
//!   the relay (again after every new reservation, and every
//!   [`REGISTRATION_REFRESH`]), and discovers the other members registered there;
//!   each one found that is not connected is dialled at the addresses it registered
//!   (its own circuit address among them). Discovery runs right after each
//!   registration, so of two members the later one always finds the earlier.
//! - **Hole punching**: once a connection runs through a circuit, DCUtR tries to
//!   upgrade it to a direct one; the outcome is reported as
//!   [`NetEvent::HolePunch`](crate::NetEvent::HolePunch).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use libp2p::{
    Multiaddr, PeerId, Swarm,
    core::transport::ListenerId,
    dcutr,
    multiaddr::Protocol,
    relay,
    rendezvous::{self, Namespace},
    swarm::dial_opts::{DialOpts, PeerCondition},
};

use crate::{
    actor::NetEvent,
    behaviour::{QuireBehaviour, topic_for},
    error::{NetError, Result},
};

/// How long a registration at a relay lasts (the rendezvous minimum, two hours).
pub const REGISTRATION_TTL: u64 = rendezvous::MIN_TTL;

/// How often registrations are renewed (well before they lapse).
pub const REGISTRATION_REFRESH: Duration = Duration::from_secs(REGISTRATION_TTL / 2);

/// Prefix of the rendezvous namespace of a document: `quire/<topic name>`.
const NAMESPACE_PREFIX: &str = "quire/";

/// The rendezvous namespace for a 32-byte topic hash.
pub fn namespace_for(topic: &[u8; 32]) -> Namespace {
    let name = format!(
        "{NAMESPACE_PREFIX}{}",
        topic_for(topic).hash().into_string()
    );
    // 6 + 22 characters: always under the 255-byte limit.
    Namespace::new(name).unwrap_or_else(|_| Namespace::from_static("quire"))
}

/// Reservations, registrations and hole punching, per relay.
#[derive(Default)]
pub(crate) struct Traversal {
    /// The listener holding each relay's reservation.
    listeners: HashMap<PeerId, ListenerId>,
    /// Relays whose reservation is accepted.
    reserved: HashSet<PeerId>,
    /// The topics to keep registered at each relay.
    wanted: HashMap<PeerId, HashSet<[u8; 32]>>,
}

impl Traversal {
    /// Listens through the relay at `addr` (ending in `/p2p/<relay>`), dialling it if
    /// needed. Nothing happens while a reservation there is held or being made.
    pub(crate) fn reserve(
        &mut self,
        swarm: &mut Swarm<QuireBehaviour>,
        addr: Multiaddr,
    ) -> Result<()> {
        let Some(Protocol::P2p(relay)) = addr.iter().last() else {
            return Err(NetError::Dial {
                addr,
                reason: "a relay address must end in /p2p/<peer id>".to_owned(),
            });
        };
        if self.listeners.contains_key(&relay) {
            return Ok(());
        }
        let circuit = addr.clone().with(Protocol::P2pCircuit);
        let listener = swarm.listen_on(circuit).map_err(|e| NetError::Listen {
            addr,
            reason: e.to_string(),
        })?;
        self.listeners.insert(relay, listener);
        Ok(())
    }

    /// Keeps the document on `topic` registered at `relay` (from now, or as soon as
    /// a reservation there is accepted).
    pub(crate) fn register(
        &mut self,
        swarm: &mut Swarm<QuireBehaviour>,
        relay: PeerId,
        topic: [u8; 32],
    ) {
        let fresh = self.wanted.entry(relay).or_default().insert(topic);
        if fresh && self.reserved.contains(&relay) {
            register_at(swarm, relay, topic);
        }
    }

    /// Stops registering the document on `topic` at `relay`, and withdraws it.
    pub(crate) fn unregister(
        &mut self,
        swarm: &mut Swarm<QuireBehaviour>,
        relay: PeerId,
        topic: [u8; 32],
    ) {
        let known = self
            .wanted
            .get_mut(&relay)
            .is_some_and(|topics| topics.remove(&topic));
        if known && swarm.is_connected(&relay) {
            swarm
                .behaviour_mut()
                .rendezvous
                .unregister(namespace_for(&topic), relay);
        }
    }

    /// Asks `relay` who else is registered for `topic`; those found are dialled.
    pub(crate) fn discover(
        &mut self,
        swarm: &mut Swarm<QuireBehaviour>,
        relay: PeerId,
        topic: [u8; 32],
    ) {
        if swarm.is_connected(&relay) {
            swarm.behaviour_mut().rendezvous.discover(
                Some(namespace_for(&topic)),
                None,
                None,
                relay,
            );
        }
    }

    /// Renews every registration at every relay with a reservation.
    pub(crate) fn refresh(&mut self, swarm: &mut Swarm<QuireBehaviour>) {
        for relay in &self.reserved {
            for topic in self.wanted.get(relay).into_iter().flatten() {
                register_at(swarm, *relay, *topic);
            }
        }
    }

    /// A listener closed: if it held a relay's reservation, that is gone.
    pub(crate) fn listener_closed(&mut self, listener: ListenerId) {
        let gone: Vec<PeerId> = self
            .listeners
            .iter()
            .filter(|(_, id)| **id == listener)
            .map(|(relay, _)| *relay)
            .collect();
        for relay in gone {
            tracing::debug!(%relay, "the reservation at a relay closed");
            self.listeners.remove(&relay);
            self.reserved.remove(&relay);
        }
    }

    /// The last connection to `peer` closed; if it was a relay, so is its reservation
    /// (its listener is dropped, so the next [`Self::reserve`] makes a new one).
    pub(crate) fn disconnected(&mut self, swarm: &mut Swarm<QuireBehaviour>, peer: PeerId) {
        self.reserved.remove(&peer);
        if let Some(listener) = self.listeners.remove(&peer) {
            swarm.remove_listener(listener);
        }
    }

    pub(crate) fn on_relay_client(
        &mut self,
        swarm: &mut Swarm<QuireBehaviour>,
        event: relay::client::Event,
    ) -> Option<NetEvent> {
        match event {
            relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                ..
            } => {
                if renewal {
                    return None;
                }
                tracing::info!(relay = %relay_peer_id, "reachable through the relay");
                self.reserved.insert(relay_peer_id);
                for topic in self.wanted.get(&relay_peer_id).into_iter().flatten() {
                    register_at(swarm, relay_peer_id, *topic);
                }
                Some(NetEvent::Reserved(relay_peer_id))
            }
            relay::client::Event::OutboundCircuitEstablished { relay_peer_id, .. } => {
                tracing::debug!(relay = %relay_peer_id, "circuit opened to a peer");
                None
            }
            relay::client::Event::InboundCircuitEstablished { src_peer_id, .. } => {
                tracing::debug!(peer = %src_peer_id, "a peer came in through a circuit");
                None
            }
        }
    }

    pub(crate) fn on_rendezvous(
        &mut self,
        swarm: &mut Swarm<QuireBehaviour>,
        event: rendezvous::client::Event,
    ) {
        match event {
            rendezvous::client::Event::Discovered { registrations, .. } => {
                let local = *swarm.local_peer_id();
                for registration in registrations {
                    let peer = registration.record.peer_id();
                    if peer == local || swarm.is_connected(&peer) {
                        continue;
                    }
                    let addrs = registration.record.addresses().to_vec();
                    tracing::debug!(%peer, ?addrs, "found a member at the relay; dialling");
                    let opts = DialOpts::peer_id(peer)
                        .addresses(addrs)
                        .condition(PeerCondition::DisconnectedAndNotDialing)
                        .build();
                    if let Err(error) = swarm.dial(opts) {
                        tracing::debug!(%peer, %error, "cannot dial a member found at the relay");
                    }
                }
            }
            rendezvous::client::Event::RegisterFailed {
                rendezvous_node,
                namespace,
                error,
            } => {
                tracing::warn!(relay = %rendezvous_node, %namespace, ?error, "the relay refused a registration");
            }
            rendezvous::client::Event::DiscoverFailed {
                rendezvous_node,
                error,
                ..
            } => {
                tracing::debug!(relay = %rendezvous_node, ?error, "discovery at the relay failed");
            }
            rendezvous::client::Event::Registered {
                rendezvous_node,
                namespace,
                ttl,
            } => {
                tracing::debug!(relay = %rendezvous_node, %namespace, ttl, "registered");
                // Whoever registered before is there to be found now; whoever comes
                // later finds this node the same way.
                swarm.behaviour_mut().rendezvous.discover(
                    Some(namespace),
                    None,
                    None,
                    rendezvous_node,
                );
            }
            rendezvous::client::Event::Expired { .. } => {}
        }
    }

    pub(crate) fn on_dcutr(event: dcutr::Event) -> NetEvent {
        match event.result {
            Ok(_) => NetEvent::HolePunch {
                peer: event.remote_peer_id,
                direct: true,
            },
            Err(error) => {
                tracing::info!(peer = %event.remote_peer_id, %error, "hole punching failed: staying on the relay");
                NetEvent::HolePunch {
                    peer: event.remote_peer_id,
                    direct: false,
                }
            }
        }
    }
}

fn register_at(swarm: &mut Swarm<QuireBehaviour>, relay: PeerId, topic: [u8; 32]) {
    let result = swarm.behaviour_mut().rendezvous.register(
        namespace_for(&topic),
        relay,
        Some(REGISTRATION_TTL),
    );
    if let Err(error) = result {
        tracing::debug!(%relay, %error, "cannot register at the relay yet");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_short_and_per_topic() {
        let a = namespace_for(&[1; 32]);
        let b = namespace_for(&[2; 32]);
        assert_ne!(a, b);
        assert!(a.to_string().starts_with(NAMESPACE_PREFIX));
        assert_eq!(a.to_string().len(), NAMESPACE_PREFIX.len() + 22);
    }
}
