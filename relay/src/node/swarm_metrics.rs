//! Hands every swarm event, and the events of the protocols `libp2p-metrics` knows
//! (gossipsub, identify, ping, circuit relay), to the relay's libp2p metrics. The
//! rendezvous point, the connection and memory limits and the mailbox have no
//! recorder there;
//! the mailbox's own counters are in `crate::metrics`.

use either::Either;
use libp2p::swarm::SwarmEvent;
use libp2p_metrics::Recorder;

use super::RelayBehaviourEvent;
use crate::metrics::Metrics;

/// Records `event` before the node acts on it.
pub(super) fn record(metrics: &Metrics, event: &SwarmEvent<RelayBehaviourEvent>) {
    let libp2p = &metrics.libp2p;
    libp2p.record(event);
    let SwarmEvent::Behaviour(event) = event else {
        return;
    };
    match event {
        RelayBehaviourEvent::Gossipsub(Either::Left(event)) => libp2p.record(event),
        RelayBehaviourEvent::Identify(event) => libp2p.record(event),
        RelayBehaviourEvent::Ping(event) => libp2p.record(event),
        RelayBehaviourEvent::Relay(event) => libp2p.record(event),
        RelayBehaviourEvent::Gossipsub(Either::Right(never)) => match *never {},
        RelayBehaviourEvent::Limits(_)
        | RelayBehaviourEvent::Memory(_)
        | RelayBehaviourEvent::Rendezvous(_)
        | RelayBehaviourEvent::Mailbox(_) => {}
    }
}
