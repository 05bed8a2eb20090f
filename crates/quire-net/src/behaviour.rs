//! The composed libp2p behaviour: gossipsub, `/quire/sync/1`, the mailbox client,
//! mDNS, identify, ping, and the relay client, rendezvous client and DCUtR that get a
//! member through NATs (see [`crate::traversal`]).
//!
//! Gossipsub runs without its own signatures ([`gossipsub::MessageAuthenticity::Anonymous`]):
//! every payload is already a sealed, signed envelope that the engine checks, and
//! gossipsub's signature plus public key would add over 100 bytes to each keystroke.
//! Without a source and sequence number, the message id is a hash of the data; sealed
//! envelopes carry a fresh nonce, so two different messages never share an id.
//! Validation is manual: nothing is forwarded before the engine has reported
//! [`crate::Validation::Accept`].

use libp2p::{
    connection_limits::{self, ConnectionLimits},
    dcutr,
    gossipsub::{self, IdentTopic},
    identify,
    identity::Keypair,
    mdns, memory_connection_limits, ping, relay, rendezvous,
    swarm::{NetworkBehaviour, behaviour::toggle::Toggle},
};

use crate::{
    config::{
        IDENTIFY_PROTOCOL_VERSION, MAX_CONNECTIONS_PER_PEER, MAX_INCOMING_CONNECTIONS,
        MAX_MEMORY_FOR_NEW_CONNECTIONS, MAX_PENDING_INCOMING_CONNECTIONS, NetConfig,
    },
    error::{NetError, Result},
    gossip_config::{gossip_config, peer_score_params, score_thresholds, subscription_filter},
    mailbox_protocol::{MailboxBehaviour, mailbox_behaviour},
    sync_protocol::{SyncBehaviour, sync_behaviour},
};

/// All protocols one Quire node speaks.
#[derive(NetworkBehaviour)]
pub(crate) struct QuireBehaviour {
    /// First, so that a connection over the limits is refused before any other
    /// protocol sets anything up for it.
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) memory: memory_connection_limits::Behaviour,
    pub(crate) gossipsub: gossipsub::Behaviour,
    pub(crate) sync: SyncBehaviour,
    pub(crate) mailbox: MailboxBehaviour,
    pub(crate) mdns: Toggle<mdns::tokio::Behaviour>,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) relay_client: relay::client::Behaviour,
    pub(crate) rendezvous: rendezvous::client::Behaviour,
    pub(crate) dcutr: dcutr::Behaviour,
}

impl QuireBehaviour {
    /// Builds every protocol from the node's config, around the relay client the
    /// swarm builder made with its transport.
    pub(crate) fn new(config: &NetConfig, relay_client: relay::client::Behaviour) -> Result<Self> {
        let keypair: &Keypair = &config.keypair;
        let peer_id = keypair.public().to_peer_id();
        let gossipsub = gossip_behaviour(config.max_message_bytes, true)?;
        let mdns = if config.enable_mdns {
            let mdns = mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id)
                .map_err(|e| NetError::Behaviour(format!("mDNS: {e}")))?;
            Some(mdns)
        } else {
            None
        };
        Ok(Self {
            limits: connection_limits::Behaviour::new(connection_limits()),
            memory: memory_connection_limits::Behaviour::with_max_bytes(
                MAX_MEMORY_FOR_NEW_CONNECTIONS,
            ),
            gossipsub,
            sync: sync_behaviour(),
            mailbox: mailbox_behaviour(false),
            mdns: Toggle::from(mdns),
            // The run's instance lets peers tell a restart (see `crate::restarts`).
            identify: identify::Behaviour::new(
                identify::Config::new(IDENTIFY_PROTOCOL_VERSION.to_owned(), keypair.public())
                    .with_agent_version(crate::restarts::agent_version(rand::random())),
            ),
            ping: ping::Behaviour::default(),
            relay_client,
            rendezvous: rendezvous::client::Behaviour::new(keypair.clone()),
            dcutr: dcutr::Behaviour::new(peer_id),
        })
    }
}

/// How many connections a node holds (see the constants).
fn connection_limits() -> ConnectionLimits {
    ConnectionLimits::default()
        .with_max_established_incoming(Some(MAX_INCOMING_CONNECTIONS))
        .with_max_pending_incoming(Some(MAX_PENDING_INCOMING_CONNECTIONS))
        .with_max_established_per_peer(Some(MAX_CONNECTIONS_PER_PEER))
}

/// Quire's gossipsub: anonymous messages (our envelopes carry their own signatures),
/// content-addressed ids, and every limit and score parameter from
/// [`crate::gossip_config`]. A member `validate`s every message (opens its envelope)
/// before it is forwarded; a relay, which holds no keys, forwards what arrives.
pub fn gossip_behaviour(max_message_bytes: usize, validate: bool) -> Result<gossipsub::Behaviour> {
    let config = gossip_config(max_message_bytes, validate)
        .map_err(|e| NetError::Behaviour(format!("gossipsub config: {e}")))?;
    let mut behaviour = gossipsub::Behaviour::new_with_subscription_filter(
        gossipsub::MessageAuthenticity::Anonymous,
        config,
        subscription_filter(),
    )
    .map_err(|e| NetError::Behaviour(format!("gossipsub: {e}")))?;
    behaviour
        .with_peer_score(peer_score_params(), score_thresholds())
        .map_err(|e| NetError::Behaviour(format!("gossipsub peer score: {e}")))?;
    Ok(behaviour)
}

/// Bytes of the topic hash that name the gossipsub topic. Every gossip message
/// carries its topic name, so it is kept short: 128 bits (22 characters) still never
/// collide by chance, and a message on the wrong document fails its seal anyway.
pub const TOPIC_NAME_BYTES: usize = 16;

/// The gossipsub topic for a 32-byte topic hash: the first [`TOPIC_NAME_BYTES`] as
/// unpadded base64url.
pub fn topic_for(topic: &[u8; 32]) -> IdentTopic {
    IdentTopic::new(base64url(topic.get(..TOPIC_NAME_BYTES).unwrap_or(topic)))
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            let index = ((n >> (18 - 6 * i)) & 0x3f) as usize;
            out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_are_short_and_distinct() {
        let mut topic = [0u8; 32];
        for (i, b) in topic.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37);
        }
        let name = topic_for(&topic).hash().into_string();
        assert_eq!(name.len(), 22);
        assert!(
            name.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        let mut other = topic;
        other[15] ^= 1;
        assert_ne!(topic_for(&other).hash().into_string(), name);
        assert_eq!(base64url(b"\xfb\xff"), "-_8");
        assert_eq!(base64url(b"Man"), "TWFu");
    }

    #[test]
    fn gossipsub_builds_with_our_limits() {
        assert!(gossip_behaviour(crate::DEFAULT_MAX_MESSAGE_BYTES, true).is_ok());
        assert!(gossip_behaviour(crate::DEFAULT_MAX_MESSAGE_BYTES, false).is_ok());
    }
}
