//! Every gossipsub setting Quire runs with, each a named constant with its reason.
//!
//! No library default decides what a user can do: the number of documents two
//! devices share, how many colleagues edit one document from one office, how large a
//! message or a subscription list may be. [`gossip_config`] sets every field of
//! gossipsub's [`gossipsub::Config`] (a test starts it from a builder whose every
//! field holds a nonsense value, so a field it forgets shows), and the score
//! parameters are struct literals without `..Default::default()`, so a field added
//! upstream fails the build until someone decides its value here.
//!
//! # Threat model behind the scores
//!
//! Members are authenticated by document keys and device signatures: every payload is
//! a sealed envelope that the node opens before gossip forwards it. So an IP address
//! says nothing about a Sybil (fifteen colleagues behind one office NAT, or every
//! member reached through one relay's circuits, share an address), and the IP
//! colocation penalty is off. What a peer proves by itself is the only thing scored:
//! messages the node rejects (counted per peer, as the application score P5, see
//! `crate::rejected_messages`), and broken gossip promises (P7). No topic is scored
//! (P1 to P4): gossipsub's score arithmetic would grow with the documents shared.

use std::time::Duration;

use libp2p::gossipsub::{
    self, AllowAllSubscriptionFilter, MaxCountSubscriptionFilter, MessageId, PeerScoreParams,
    PeerScoreThresholds,
};

use crate::config::{GOSSIP_FRAME_OVERHEAD_BYTES, GOSSIP_HEARTBEAT_INTERVAL};

/// Most documents one device syncs at once, and so the most gossip topics any peer
/// may be subscribed to in our view (its subscription list is accepted up to this
/// length). The relay joins at most this many topics too, so a relay's list always
/// fits a member's filter. A notes vault is 2,000 to 10,000 files; this leaves room.
pub const MAX_TOPICS_PER_PEER: usize = 20_000;

/// Bytes one subscription takes in a gossipsub RPC: the topic name (22 characters,
/// see [`crate::TOPIC_NAME_BYTES`]), its field tag and length, the subscribe flag, and
/// the enclosing field's tag and length (28), rounded up.
pub const SUBSCRIPTION_WIRE_BYTES: usize = 32;

/// Largest gossipsub frame accepted or sent: a connecting peer announces every topic
/// it is in in one RPC, so the frame must hold [`MAX_TOPICS_PER_PEER`] subscriptions
/// (640,000 bytes). A published message is still capped at the node's
/// `max_message_bytes` on publish and on receipt (see `crate::actor`).
pub const MAX_GOSSIP_FRAME_BYTES: usize =
    MAX_TOPICS_PER_PEER * SUBSCRIPTION_WIRE_BYTES + GOSSIP_FRAME_OVERHEAD_BYTES;

// The hello RPC a peer sends on connect lists every topic it is in, 28 bytes each.
const _: () = assert!(MAX_GOSSIP_FRAME_BYTES >= MAX_TOPICS_PER_PEER * 28);

/// Most messages one RPC may carry. Gossipsub sends each publish or forward as an RPC
/// of its own; 64 leaves room for implementations that batch.
pub const MAX_MESSAGES_PER_RPC: usize = 64;

/// Mesh degree per topic: the peers each message is pushed to eagerly (besides flood
/// publishing, below). Six keeps a 50-member document's mesh connected with a
/// diameter of three hops, at six copies of each message per peer.
pub const MESH_N: usize = 6;
/// Fewer mesh peers than this and the heartbeat grafts more.
pub const MESH_N_LOW: usize = 4;
/// More mesh peers than this and the heartbeat prunes down to [`MESH_N`].
pub const MESH_N_HIGH: usize = 12;
/// Mesh peers reached over our own outbound connections, kept so that inbound
/// connections alone (an eclipse) cannot fill the mesh. A hub that only accepts
/// connections simply has none.
pub const MESH_OUTBOUND_MIN: usize = 2;
/// Peers outside the mesh told about recent message ids (IHAVE) per heartbeat.
pub const GOSSIP_LAZY: usize = 6;
/// Share of the non-mesh peers gossiped to, when more than [`GOSSIP_LAZY`].
pub const GOSSIP_FACTOR: f64 = 0.25;
/// Heartbeats of message ids kept for IWANT answers: a message can be fetched by
/// gossip for 4 to 5 s after it came (the node holds unverified messages 4 s, inside
/// this window).
pub const HISTORY_LENGTH: usize = 5;
/// Heartbeats of message ids advertised in IHAVE: none. Gossipsub finds each
/// topic's ids by scanning the whole window once per topic every heartbeat, so its
/// cost is documents times messages: two devices sharing 10,000 documents spent
/// most of a core on it after a connect. What IHAVE repairs (a message a peer
/// outside the mesh missed) is repaired by catch-up: an update that finds a gap
/// fetches it at once, and a document with live traffic catches up once a minute
/// (quire-node's `PERIODIC_CATCH_UP`). Flood publishing already sends each message
/// to every subscribed peer.
pub const HISTORY_GOSSIP: usize = 0;
/// Delay before the first heartbeat. Publishing does not wait for a mesh (flood
/// publish reaches every subscribed peer), so a short one only speeds up the mesh.
pub const HEARTBEAT_INITIAL_DELAY: Duration = Duration::from_millis(500);
/// How long message ids are remembered to drop duplicates.
pub const DUPLICATE_CACHE_TIME: Duration = Duration::from_secs(60);
/// How long we keep fanout peers of a topic we publish to without being in it (the
/// node only publishes to topics it is in, so this rarely applies).
pub const FANOUT_TTL: Duration = Duration::from_secs(60);
/// Heartbeats between checks of explicit peers (none are configured).
pub const CHECK_EXPLICIT_PEERS_TICKS: u64 = 300;
/// Heartbeats a disconnected peer's score is kept for.
pub const RETAIN_SCORES: usize = 4;
/// A pruned peer may not graft again for this long.
pub const PRUNE_BACKOFF: Duration = Duration::from_secs(60);
/// The back-off after we leave a topic.
pub const UNSUBSCRIBE_BACKOFF: Duration = Duration::from_secs(10);
/// Heartbeats of slack on a back-off before a graft counts as a violation.
pub const BACKOFF_SLACK: u32 = 1;
/// A graft this soon after a prune costs the peer a behaviour penalty.
pub const GRAFT_FLOOD_THRESHOLD: Duration = Duration::from_secs(10);
/// Publish to every subscribed peer above the publish threshold, not the mesh only:
/// a keystroke reaches every member in one hop in the documents people share (a few
/// to a few dozen members).
pub const FLOOD_PUBLISH: bool = true;
/// Heartbeats between opportunistic grafts of well-scored peers.
pub const OPPORTUNISTIC_GRAFT_TICKS: u64 = 60;
/// Peers grafted by one opportunistic graft.
pub const OPPORTUNISTIC_GRAFT_PEERS: usize = 2;
/// Times a message id is answered by IWANT from one peer.
pub const GOSSIP_RETRANSMISSION: u32 = 3;
/// Control messages sent per RPC at most.
pub const MAX_CONTROL_MESSAGES_SENT: usize = 5_000;
/// IHAVE messages accepted from one peer per heartbeat.
pub const MAX_IHAVE_MESSAGES_PER_HEARTBEAT: usize = 10;
/// A peer that advertised an id has this long to deliver it after our IWANT, or
/// it broke a promise (P7).
pub const IWANT_FOLLOWUP_TIME: Duration = Duration::from_secs(3);
/// Messages queued per connection before gossipsub drops what it would send (the
/// node then catches up): at a typist's 10 messages a second in each of 50 busy
/// documents, ten seconds.
pub const SEND_QUEUE_LEN: usize = 5_000;
/// A publish still queued after this long is dropped (catch-up repairs it).
pub const PUBLISH_QUEUE_DURATION: Duration = Duration::from_secs(5);
/// A forward still queued after this long is dropped.
pub const FORWARD_QUEUE_DURATION: Duration = Duration::from_secs(1);
/// Messages at least this large are announced with IDONTWANT to mesh peers, so they
/// do not send them to us again.
pub const IDONTWANT_MESSAGE_BYTES: usize = 1_000;
/// No IDONTWANT for our own publishes (a keystroke is far below the size above).
pub const IDONTWANT_ON_PUBLISH: bool = false;
/// Peer exchange on prune is off: peers are found through tickets, mDNS and relays.
pub const DO_PX: bool = false;
/// Peers suggested on prune (peer exchange is off).
pub const PRUNE_PEERS: usize = 0;

/// Gossipsub's configuration for a Quire node or relay. `validate`: hold every
/// message until [`crate::NetHandle::report_validation`] (members open envelopes; the
/// relay holds no keys and forwards what arrives).
pub fn gossip_config(
    max_message_bytes: usize,
    validate: bool,
) -> Result<gossipsub::Config, gossipsub::ConfigBuilderError> {
    let mut builder = gossipsub::ConfigBuilder::default();
    apply_gossip_settings(&mut builder, max_message_bytes, validate);
    builder.build()
}

/// Sets every field of the builder (see the module docs).
fn apply_gossip_settings(
    builder: &mut gossipsub::ConfigBuilder,
    max_message_bytes: usize,
    validate: bool,
) {
    let frame =
        MAX_GOSSIP_FRAME_BYTES.max(max_message_bytes.saturating_add(GOSSIP_FRAME_OVERHEAD_BYTES));
    builder
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .message_id_fn(|message: &gossipsub::Message| {
            MessageId::from(blake3::hash(&message.data).as_bytes().to_vec())
        })
        .max_transmit_size(frame)
        .max_control_message_size(frame)
        .max_publish_messages(MAX_MESSAGES_PER_RPC)
        .mesh_n(MESH_N)
        .mesh_n_low(MESH_N_LOW)
        .mesh_n_high(MESH_N_HIGH)
        .mesh_outbound_min(MESH_OUTBOUND_MIN)
        .gossip_lazy(GOSSIP_LAZY)
        .gossip_factor(GOSSIP_FACTOR)
        .history_length(HISTORY_LENGTH)
        .history_gossip(HISTORY_GOSSIP)
        .heartbeat_initial_delay(HEARTBEAT_INITIAL_DELAY)
        .heartbeat_interval(GOSSIP_HEARTBEAT_INTERVAL)
        .duplicate_cache_time(DUPLICATE_CACHE_TIME)
        .fanout_ttl(FANOUT_TTL)
        .check_explicit_peers_ticks(CHECK_EXPLICIT_PEERS_TICKS)
        .retain_scores(RETAIN_SCORES)
        .prune_backoff(PRUNE_BACKOFF)
        .unsubscribe_backoff(UNSUBSCRIBE_BACKOFF)
        .backoff_slack(BACKOFF_SLACK)
        .graft_flood_threshold(GRAFT_FLOOD_THRESHOLD)
        .flood_publish(FLOOD_PUBLISH)
        .opportunistic_graft_ticks(OPPORTUNISTIC_GRAFT_TICKS)
        .opportunistic_graft_peers(OPPORTUNISTIC_GRAFT_PEERS)
        .gossip_retransimission(GOSSIP_RETRANSMISSION)
        .max_control_messages_sent(MAX_CONTROL_MESSAGES_SENT)
        .max_ihave_messages_heartbeat(MAX_IHAVE_MESSAGES_PER_HEARTBEAT)
        .iwant_followup_time(IWANT_FOLLOWUP_TIME)
        .connection_handler_queue_len(SEND_QUEUE_LEN)
        .publish_queue_duration(PUBLISH_QUEUE_DURATION)
        .forward_queue_duration(FORWARD_QUEUE_DURATION)
        .idontwant_message_size_threshold(IDONTWANT_MESSAGE_BYTES)
        .idontwant_on_publish(IDONTWANT_ON_PUBLISH)
        .allow_self_origin(false)
        .prune_peers(PRUNE_PEERS);
    // Gossipsub has only "turn on" setters for these two; the defaults are off.
    if DO_PX {
        builder.do_px();
    }
    if validate {
        builder.validate_messages();
    }
}

/// The subscription filter: a peer's list of topics is accepted up to
/// [`MAX_TOPICS_PER_PEER`], in one request or many (gossipsub's default filter took
/// 100 and silently capped how many documents two devices could share).
pub fn subscription_filter() -> MaxCountSubscriptionFilter<AllowAllSubscriptionFilter> {
    MaxCountSubscriptionFilter {
        filter: AllowAllSubscriptionFilter {},
        max_subscribed_topics: MAX_TOPICS_PER_PEER,
        max_subscriptions_per_request: MAX_TOPICS_PER_PEER,
    }
}

/// Score below which we stop gossiping (IHAVE/IWANT) with a peer.
pub const GOSSIP_SCORE_THRESHOLD: f64 = -10.0;
/// Score below which we do not publish to a peer.
pub const PUBLISH_SCORE_THRESHOLD: f64 = -50.0;
/// Score below which we ignore everything a peer sends.
pub const GRAYLIST_SCORE_THRESHOLD: f64 = -80.0;
/// Score a peer needs for us to accept peer exchange from it (peer exchange is off;
/// kept above any score good behaviour earns).
pub const ACCEPT_PX_SCORE_THRESHOLD: f64 = 100.0;
/// Median mesh score below which the heartbeat grafts better-scored peers.
pub const OPPORTUNISTIC_GRAFT_SCORE_THRESHOLD: f64 = 5.0;

/// The score thresholds.
pub fn score_thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds {
        gossip_threshold: GOSSIP_SCORE_THRESHOLD,
        publish_threshold: PUBLISH_SCORE_THRESHOLD,
        graylist_threshold: GRAYLIST_SCORE_THRESHOLD,
        accept_px_threshold: ACCEPT_PX_SCORE_THRESHOLD,
        opportunistic_graft_threshold: OPPORTUNISTIC_GRAFT_SCORE_THRESHOLD,
    }
}

/// How often score counters decay.
pub const SCORE_DECAY_INTERVAL: Duration = Duration::from_secs(1);
/// A decayed counter below this counts as zero.
pub const SCORE_DECAY_TO_ZERO: f64 = 0.1;
/// How long a disconnected peer's score is remembered: a peer that sent forged
/// messages cannot wipe its record by reconnecting.
pub const RETAIN_SCORE: Duration = Duration::from_secs(3600);
/// Penalty weight for broken gossip promises and early re-grafts (P7), on the
/// square of the count over [`BEHAVIOUR_PENALTY_THRESHOLD`].
pub const BEHAVIOUR_PENALTY_WEIGHT: f64 = -10.0;
/// Broken promises forgiven before P7 counts: a message we ignored (a late or
/// unknown one) can make an honest peer's IWANT answer look like a broken promise.
pub const BEHAVIOUR_PENALTY_THRESHOLD: f64 = 2.0;
/// Per-interval decay of the P7 counter: a burst of broken promises within seconds
/// is punished, a slow trickle on a lossy link is forgotten.
pub const BEHAVIOUR_PENALTY_DECAY: f64 = 0.2;

/// Peer score parameters. Every field is set here, with its reason:
/// - P1 to P4, the topic scores: none. Gossipsub sums a peer's score over every
///   topic with parameters on nearly every message, which at 10,000 documents cost
///   milliseconds a message. Credit for time in the mesh and first deliveries is
///   gone with them; it only ever delayed the penalty below.
/// - P5 application score, weight 1: rejected messages (what P4 was), counted per
///   peer by `crate::rejected_messages`: one rejected message (-20) puts a peer
///   below the gossip threshold, two (-80) below the publish threshold, three
///   (-180) onto the graylist. A late or replayed message is ignored, not
///   rejected, so it costs an honest forwarder nothing.
/// - P6 IP colocation: weight 0 (off; see the module docs). An office behind one
///   NAT, or members reached through a relay's circuits (whose addresses start with
///   the relay's IP), share an address and were graylisted from 14 peers on.
/// - P7 behaviour: a few broken promises are forgiven, then punished.
/// - Slow peers: off (weight 0). A member on a slow link is still a member; gossipsub
///   drops what it cannot queue and catch-up repairs it.
pub fn peer_score_params() -> PeerScoreParams {
    PeerScoreParams {
        topics: Default::default(),
        topic_score_cap: 0.0,
        app_specific_weight: 1.0,
        ip_colocation_factor_weight: 0.0,
        ip_colocation_factor_threshold: MAX_TOPICS_PER_PEER as f64,
        ip_colocation_factor_whitelist: Default::default(),
        behaviour_penalty_weight: BEHAVIOUR_PENALTY_WEIGHT,
        behaviour_penalty_threshold: BEHAVIOUR_PENALTY_THRESHOLD,
        behaviour_penalty_decay: BEHAVIOUR_PENALTY_DECAY,
        decay_interval: SCORE_DECAY_INTERVAL,
        decay_to_zero: SCORE_DECAY_TO_ZERO,
        retain_score: RETAIN_SCORE,
        slow_peer_weight: 0.0,
        slow_peer_threshold: 0.0,
        slow_peer_decay: 0.2,
    }
}

/// Penalty weight for rejected messages, applied to the squared count (see
/// `crate::rejected_messages`): one rejected message costs 20 points, two 80, three
/// 180.
pub const INVALID_MESSAGE_WEIGHT: f64 = -20.0;
// One rejected message puts a peer below the gossip threshold, two below the
// publish threshold, three onto the graylist.
const _: () = {
    assert!(INVALID_MESSAGE_WEIGHT < GOSSIP_SCORE_THRESHOLD);
    assert!(4.0 * INVALID_MESSAGE_WEIGHT < PUBLISH_SCORE_THRESHOLD);
    assert!(9.0 * INVALID_MESSAGE_WEIGHT < GRAYLIST_SCORE_THRESHOLD);
};

/// How long it takes for an invalid-message count to decay to (almost) nothing.
pub const INVALID_MESSAGE_DECAY_TIME: Duration = Duration::from_secs(10 * 60);
#[cfg(test)]
mod tests {
    use super::*;

    /// A builder whose every settable field holds a value no one would choose, so
    /// that a field [`apply_gossip_settings`] forgets keeps it and fails the test.
    fn poisoned_builder() -> gossipsub::ConfigBuilder {
        let odd = Duration::from_millis(4_321);
        let mut builder = gossipsub::ConfigBuilder::default();
        builder
            .max_transmit_size(777)
            .max_control_message_size(777)
            .max_publish_messages(7)
            .mesh_n(17)
            .mesh_n_low(13)
            .mesh_n_high(19)
            .mesh_outbound_min(3)
            .gossip_lazy(17)
            .gossip_factor(0.77)
            .history_length(17)
            .history_gossip(7)
            .heartbeat_initial_delay(odd)
            .heartbeat_interval(odd)
            .duplicate_cache_time(odd)
            .fanout_ttl(odd)
            .check_explicit_peers_ticks(17)
            .retain_scores(17)
            .prune_backoff(odd)
            .unsubscribe_backoff(odd)
            .backoff_slack(17)
            .graft_flood_threshold(odd)
            .flood_publish(!FLOOD_PUBLISH)
            .opportunistic_graft_ticks(17)
            .opportunistic_graft_peers(17)
            .gossip_retransimission(17)
            .max_control_messages_sent(17)
            .max_ihave_messages_heartbeat(17)
            .iwant_followup_time(odd)
            .connection_handler_queue_len(17)
            .publish_queue_duration(odd)
            .forward_queue_duration(odd)
            .idontwant_message_size_threshold(17)
            .idontwant_on_publish(!IDONTWANT_ON_PUBLISH)
            .allow_self_origin(true)
            .prune_peers(17);
        builder
    }

    #[test]
    fn no_gossipsub_limit_is_left_to_a_library_default() {
        let max_message = crate::DEFAULT_MAX_MESSAGE_BYTES;
        let mut builder = poisoned_builder();
        apply_gossip_settings(&mut builder, max_message, true);
        let config = builder.build().expect("our settings are valid");
        assert_eq!(config.max_transmit_size(), MAX_GOSSIP_FRAME_BYTES);
        assert_eq!(config.max_control_message_size(), MAX_GOSSIP_FRAME_BYTES);
        assert_eq!(config.max_publish_messages(), MAX_MESSAGES_PER_RPC);
        assert_eq!(config.mesh_n(), MESH_N);
        assert_eq!(config.mesh_n_low(), MESH_N_LOW);
        assert_eq!(config.mesh_n_high(), MESH_N_HIGH);
        assert_eq!(config.mesh_outbound_min(), MESH_OUTBOUND_MIN);
        assert_eq!(config.gossip_lazy(), GOSSIP_LAZY);
        assert_eq!(config.gossip_factor(), GOSSIP_FACTOR);
        assert_eq!(config.history_length(), HISTORY_LENGTH);
        assert_eq!(config.history_gossip(), HISTORY_GOSSIP);
        assert_eq!(config.heartbeat_initial_delay(), HEARTBEAT_INITIAL_DELAY);
        assert_eq!(config.heartbeat_interval(), GOSSIP_HEARTBEAT_INTERVAL);
        assert_eq!(config.duplicate_cache_time(), DUPLICATE_CACHE_TIME);
        assert_eq!(config.fanout_ttl(), FANOUT_TTL);
        assert_eq!(
            config.check_explicit_peers_ticks(),
            CHECK_EXPLICIT_PEERS_TICKS
        );
        assert_eq!(config.retain_scores(), RETAIN_SCORES);
        assert_eq!(config.prune_backoff(), PRUNE_BACKOFF);
        assert_eq!(config.unsubscribe_backoff(), UNSUBSCRIBE_BACKOFF);
        assert_eq!(config.backoff_slack(), BACKOFF_SLACK);
        assert_eq!(config.graft_flood_threshold(), GRAFT_FLOOD_THRESHOLD);
        assert_eq!(config.flood_publish(), FLOOD_PUBLISH);
        assert_eq!(
            config.opportunistic_graft_ticks(),
            OPPORTUNISTIC_GRAFT_TICKS
        );
        assert_eq!(
            config.opportunistic_graft_peers(),
            OPPORTUNISTIC_GRAFT_PEERS
        );
        assert_eq!(config.gossip_retransimission(), GOSSIP_RETRANSMISSION);
        assert_eq!(
            config.max_control_messages_sent(),
            MAX_CONTROL_MESSAGES_SENT
        );
        assert_eq!(
            config.max_ihave_messages_heartbeat(),
            MAX_IHAVE_MESSAGES_PER_HEARTBEAT
        );
        assert_eq!(config.iwant_followup_time(), IWANT_FOLLOWUP_TIME);
        assert_eq!(config.connection_handler_queue_len(), SEND_QUEUE_LEN);
        assert_eq!(config.publish_queue_duration(), PUBLISH_QUEUE_DURATION);
        assert_eq!(config.forward_queue_duration(), FORWARD_QUEUE_DURATION);
        assert_eq!(
            config.idontwant_message_size_threshold(),
            IDONTWANT_MESSAGE_BYTES
        );
        assert_eq!(config.idontwant_on_publish(), IDONTWANT_ON_PUBLISH);
        assert!(!config.allow_self_origin());
        assert_eq!(config.prune_peers(), PRUNE_PEERS);
        assert_eq!(config.do_px(), DO_PX);
        assert!(config.validate_messages());
        assert!(
            !gossip_config(max_message, false)
                .expect("valid")
                .validate_messages()
        );
        // Anonymous messages: no source, no sequence number, no signature.
        assert!(matches!(
            config.validation_mode(),
            gossipsub::ValidationMode::Anonymous
        ));
    }

    #[test]
    fn a_frame_holds_a_whole_subscription_list_and_a_full_message() {
        let big = 1024 * 1024;
        let config = gossip_config(big, true).expect("valid");
        assert_eq!(
            config.max_transmit_size(),
            big + GOSSIP_FRAME_OVERHEAD_BYTES
        );
        let filter = subscription_filter();
        assert_eq!(filter.max_subscribed_topics, MAX_TOPICS_PER_PEER);
        assert_eq!(filter.max_subscriptions_per_request, MAX_TOPICS_PER_PEER);
    }

    #[test]
    fn peers_on_one_address_are_not_penalised() {
        let params = peer_score_params();
        assert_eq!(params.validate(), Ok(()));
        assert_eq!(params.ip_colocation_factor_weight, 0.0);
        assert_eq!(params.slow_peer_weight, 0.0);
        assert_eq!(score_thresholds().validate(), Ok(()));
    }

    #[test]
    fn score_parameters_are_valid_and_punish_one_rejected_message() {
        let params = peer_score_params();
        assert_eq!(params.validate(), Ok(()));
        // No topic is scored: a score costs the same at any number of documents.
        assert!(params.topics.is_empty());
        assert_eq!(params.app_specific_weight, 1.0);
    }
}
