//! What the relay counts, served at `/metrics` in the OpenMetrics text format.
//!
//! One [`prometheus_client`] registry holds libp2p's own metrics
//! ([`libp2p_metrics`], under `libp2p_`: connections, dials, listen addresses,
//! gossipsub messages, identify, ping round trips, circuit relay events) and the
//! relay's (under `quire_relay_`: the mailbox, refusals, reservations, circuits).
//! The node hands every swarm event to [`libp2p_metrics::Recorder`] (see
//! `node/swarm_metrics.rs`) and moves the relay's counters where things happen.

use std::sync::atomic::AtomicU64;

use libp2p_metrics::Metrics as Libp2pMetrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use quire_net::mailbox_protocol::Refusal;

use crate::mailbox::Totals;

/// The content type of [`Metrics::render`]'s page.
pub(crate) const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The prefix of the relay's own metrics.
const PREFIX: &str = "quire_relay";

/// A gauge of a count that is never negative.
type Count = Gauge<u64, AtomicU64>;

/// Why a request was refused, as the `reason` label of `quire_relay_refusals_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    reason: &'static str,
}

impl RefusalLabels {
    fn of(reason: Refusal) -> Self {
        let reason = match reason {
            Refusal::NotAllowed => "not_allowed",
            Refusal::QuotaExceeded => "quota_exceeded",
            Refusal::RateLimited => "rate_limited",
            Refusal::Invalid => "invalid",
            Refusal::Unavailable => "unavailable",
            Refusal::NotWriter => "not_writer",
        };
        Self { reason }
    }
}

/// Every refusal reason, shown at zero before the first.
const REASONS: [Refusal; 6] = [
    Refusal::NotAllowed,
    Refusal::QuotaExceeded,
    Refusal::RateLimited,
    Refusal::Invalid,
    Refusal::Unavailable,
    Refusal::NotWriter,
];

/// The registry and every metric in it; shared between the node and the HTTP
/// endpoint. The metric handles share their values with the registry's copies.
pub(crate) struct Metrics {
    registry: Registry,
    /// libp2p's swarm and protocol metrics, fed by `Recorder::record`.
    pub(crate) libp2p: Libp2pMetrics,
    pub(crate) connected_peers: Count,
    pub(crate) puts: Counter,
    pub(crate) gets: Counter,
    pub(crate) change_asks: Counter,
    pub(crate) compactions: Counter,
    pub(crate) reservations: Counter,
    pub(crate) circuits: Counter,
    pub(crate) topics_joined: Count,
    items: Count,
    bytes: Count,
    topics: Count,
    refusals: Family<RefusalLabels, Counter>,
}

impl Metrics {
    /// A registry with every metric at zero.
    pub(crate) fn new() -> Self {
        let mut registry = Registry::default();
        let libp2p = Libp2pMetrics::new(&mut registry);
        let relay = registry.sub_registry_with_prefix(PREFIX);
        let count = |relay: &mut Registry, name: &str, help: &str| {
            let gauge = Count::default();
            relay.register(name, help, gauge.clone());
            gauge
        };
        let counter = |relay: &mut Registry, name: &str, help: &str| {
            let counter = Counter::default();
            relay.register(name, help, counter.clone());
            counter
        };
        let connected_peers = count(relay, "connected_peers", "Peers with an open connection");
        let puts = counter(relay, "mailbox_puts", "Items stored");
        let gets = counter(relay, "mailbox_gets", "Reads of a topic");
        let change_asks = counter(
            relay,
            "mailbox_change_asks",
            "Asks for which topics changed since a change number",
        );
        let compactions = counter(
            relay,
            "mailbox_compactions",
            "Snapshots that replaced older items",
        );
        let items = count(relay, "mailbox_items", "Items kept");
        let bytes = count(relay, "mailbox_bytes", "Bytes of items kept");
        let topics = count(relay, "mailbox_topics", "Documents with items kept");
        let reservations = counter(relay, "reservations", "Circuit relay reservations accepted");
        let circuits = counter(relay, "circuits", "Relayed circuits opened");
        let topics_joined = count(
            relay,
            "gossip_topics",
            "Documents whose live updates the relay forwards",
        );
        let refusals = Family::<RefusalLabels, Counter>::default();
        relay.register("refusals", "Requests refused, by reason", refusals.clone());
        // Every reason is on the page from the start, at zero, so that a rate of
        // refusals can be taken before the first one.
        for reason in REASONS {
            drop(refusals.get_or_create(&RefusalLabels::of(reason)));
        }
        Self {
            registry,
            libp2p,
            connected_peers,
            puts,
            gets,
            change_asks,
            compactions,
            reservations,
            circuits,
            topics_joined,
            items,
            bytes,
            topics,
            refusals,
        }
    }

    /// Counts a refusal.
    pub(crate) fn refused(&self, reason: Refusal) {
        self.refusals
            .get_or_create(&RefusalLabels::of(reason))
            .inc();
    }

    /// Sets what the mailbox holds.
    pub(crate) fn set_totals(&self, totals: Totals) {
        self.items.set(totals.items);
        self.bytes.set(totals.bytes);
        self.topics.set(totals.topics);
    }

    /// The OpenMetrics text exposition of everything, ending with `# EOF`.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; an encoding error would leave the page
        // cut short, which a scraper reports.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("cannot encode the metrics: {e}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_page_keeps_the_names_operators_scrape() {
        let metrics = Metrics::new();
        metrics.puts.inc();
        metrics.refused(Refusal::NotWriter);
        metrics.set_totals(Totals {
            items: 3,
            bytes: 300,
            topics: 2,
        });
        let page = metrics.render();
        for line in [
            "quire_relay_mailbox_puts_total 1\n",
            "quire_relay_refusals_total{reason=\"not_writer\"} 1\n",
            "quire_relay_refusals_total{reason=\"rate_limited\"} 0\n",
            "quire_relay_mailbox_items 3\n",
            "quire_relay_mailbox_bytes 300\n",
            "quire_relay_mailbox_topics 2\n",
            "quire_relay_connected_peers 0\n",
            "# TYPE libp2p_gossipsub_messages counter\n",
            "# TYPE libp2p_swarm_dial_attempt counter\n",
        ] {
            assert!(page.contains(line), "no {line:?} in\n{page}");
        }
        assert!(page.ends_with("# EOF\n"), "{page}");
    }
}
