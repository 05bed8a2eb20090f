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

use std::time::Duration;

use libp2p::{
    dcutr,
    gossipsub::{self, IdentTopic, MessageId},
    identify,
    identity::Keypair,
    mdns, ping, relay, rendezvous,
    swarm::{NetworkBehaviour, behaviour::toggle::Toggle},
};

use crate::{
    config::{
        GOSSIP_FRAME_OVERHEAD_BYTES, GOSSIP_HEARTBEAT_INTERVAL, IDENTIFY_PROTOCOL_VERSION,
        NetConfig,
    },
    error::{NetError, Result},
    mailbox_protocol::{MailboxBehaviour, mailbox_behaviour},
    sync_protocol::{SyncBehaviour, sync_behaviour},
};

/// Score below which we stop gossiping (IHAVE/IWANT) with a peer.
pub const GOSSIP_SCORE_THRESHOLD: f64 = -10.0;
/// Score below which we do not publish to a peer.
pub const PUBLISH_SCORE_THRESHOLD: f64 = -50.0;
/// Score below which we ignore everything a peer sends.
pub const GRAYLIST_SCORE_THRESHOLD: f64 = -80.0;
/// Penalty weight for invalid messages, applied to the squared count: one rejected
/// message costs 20 points, two 80, three 180.
pub const INVALID_MESSAGE_WEIGHT: f64 = -20.0;
/// How long it takes for an invalid-message count to decay to (almost) nothing.
pub const INVALID_MESSAGE_DECAY_TIME: Duration = Duration::from_secs(10 * 60);

/// All protocols one Quire node speaks.
#[derive(NetworkBehaviour)]
pub(crate) struct QuireBehaviour {
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

/// Quire's gossipsub: anonymous messages (our envelopes carry their own signatures),
/// content-addressed ids, size cap and peer scoring. A member `validate`s every
/// message (opens its envelope) before it is forwarded; a relay, which holds no keys,
/// forwards what arrives.
pub fn gossip_behaviour(max_message_bytes: usize, validate: bool) -> Result<gossipsub::Behaviour> {
    let mut builder = gossipsub::ConfigBuilder::default();
    builder
        .heartbeat_interval(GOSSIP_HEARTBEAT_INTERVAL)
        .validation_mode(gossipsub::ValidationMode::Anonymous);
    if validate {
        builder.validate_messages();
    }
    let config = builder
        .max_transmit_size(max_message_bytes.saturating_add(GOSSIP_FRAME_OVERHEAD_BYTES))
        .message_id_fn(|message: &gossipsub::Message| {
            MessageId::from(blake3::hash(&message.data).as_bytes().to_vec())
        })
        .build()
        .map_err(|e| NetError::Behaviour(format!("gossipsub config: {e}")))?;
    let mut behaviour =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
            .map_err(|e| NetError::Behaviour(format!("gossipsub: {e}")))?;
    let thresholds = gossipsub::PeerScoreThresholds {
        gossip_threshold: GOSSIP_SCORE_THRESHOLD,
        publish_threshold: PUBLISH_SCORE_THRESHOLD,
        graylist_threshold: GRAYLIST_SCORE_THRESHOLD,
        ..gossipsub::PeerScoreThresholds::default()
    };
    behaviour
        .with_peer_score(gossipsub::PeerScoreParams::default(), thresholds)
        .map_err(|e| NetError::Behaviour(format!("gossipsub peer score: {e}")))?;
    Ok(behaviour)
}

/// Reward per second a peer stays in a topic's mesh (capped by [`TIME_IN_MESH_CAP`]).
const TIME_IN_MESH_WEIGHT: f64 = 0.01;
/// Seconds of mesh time counted at most: at most +6 points.
const TIME_IN_MESH_CAP: f64 = 600.0;
/// Reward per message a peer delivers first (capped by [`FIRST_DELIVERIES_CAP`]).
const FIRST_DELIVERIES_WEIGHT: f64 = 0.5;
/// First deliveries counted at most: at most +10 points.
const FIRST_DELIVERIES_CAP: f64 = 20.0;

/// Score parameters for one document topic.
///
/// Document traffic is bursty (nothing while nobody types), so the "too few mesh
/// deliveries" penalties are off. Good behaviour earns at most +16 points, so it
/// cannot buy forgiveness: one rejected message (-20) wipes out all credit (and puts
/// a new peer below the gossip threshold), two (-80) put any peer below the publish
/// threshold, three (-180) onto the graylist.
pub fn topic_score_params() -> gossipsub::TopicScoreParams {
    gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: TIME_IN_MESH_WEIGHT,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: TIME_IN_MESH_CAP,
        first_message_deliveries_weight: FIRST_DELIVERIES_WEIGHT,
        first_message_deliveries_cap: FIRST_DELIVERIES_CAP,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: gossipsub::score_parameter_decay(
            INVALID_MESSAGE_DECAY_TIME,
        ),
        ..gossipsub::TopicScoreParams::default()
    }
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
    fn score_parameters_are_valid_and_punish_one_invalid_message() {
        let params = topic_score_params();
        assert_eq!(params.validate(), Ok(()));
        let best_reward =
            TIME_IN_MESH_WEIGHT * TIME_IN_MESH_CAP + FIRST_DELIVERIES_WEIGHT * FIRST_DELIVERIES_CAP;
        assert!(best_reward + INVALID_MESSAGE_WEIGHT < 0.0);
        assert!(best_reward + 4.0 * INVALID_MESSAGE_WEIGHT < PUBLISH_SCORE_THRESHOLD);
        assert!(best_reward + 9.0 * INVALID_MESSAGE_WEIGHT < GRAYLIST_SCORE_THRESHOLD);
    }

    #[test]
    fn gossipsub_builds_with_our_limits() {
        assert!(gossip_behaviour(crate::DEFAULT_MAX_MESSAGE_BYTES, true).is_ok());
        assert!(gossip_behaviour(crate::DEFAULT_MAX_MESSAGE_BYTES, false).is_ok());
    }
}
