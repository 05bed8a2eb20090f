//! Counters the relay keeps, shown at `/metrics` in Prometheus's text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use quire_net::mailbox_protocol::Refusal;

use crate::mailbox::Totals;

/// Every counter and gauge; shared between the node and the HTTP endpoint.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) connected_peers: AtomicU64,
    pub(crate) puts: AtomicU64,
    pub(crate) gets: AtomicU64,
    pub(crate) compactions: AtomicU64,
    pub(crate) refused_not_allowed: AtomicU64,
    pub(crate) refused_quota: AtomicU64,
    pub(crate) refused_rate: AtomicU64,
    pub(crate) refused_invalid: AtomicU64,
    pub(crate) refused_storage: AtomicU64,
    pub(crate) refused_not_writer: AtomicU64,
    pub(crate) reservations: AtomicU64,
    pub(crate) circuits: AtomicU64,
    pub(crate) items: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) topics: AtomicU64,
    pub(crate) topics_joined: AtomicU64,
}

impl Metrics {
    /// Counts a refusal.
    pub(crate) fn refused(&self, reason: Refusal) {
        let counter = match reason {
            Refusal::NotAllowed => &self.refused_not_allowed,
            Refusal::QuotaExceeded => &self.refused_quota,
            Refusal::RateLimited => &self.refused_rate,
            Refusal::Invalid => &self.refused_invalid,
            Refusal::Unavailable => &self.refused_storage,
            Refusal::NotWriter => &self.refused_not_writer,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets what the mailbox holds.
    pub(crate) fn set_totals(&self, totals: Totals) {
        self.items.store(totals.items, Ordering::Relaxed);
        self.bytes.store(totals.bytes, Ordering::Relaxed);
        self.topics.store(totals.topics, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut one = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        one(
            "quire_relay_connected_peers",
            "gauge",
            "Peers with an open connection.",
            get(&self.connected_peers),
        );
        one(
            "quire_relay_mailbox_puts_total",
            "counter",
            "Items stored.",
            get(&self.puts),
        );
        one(
            "quire_relay_mailbox_gets_total",
            "counter",
            "Reads of a topic.",
            get(&self.gets),
        );
        one(
            "quire_relay_mailbox_compactions_total",
            "counter",
            "Snapshots that replaced older items.",
            get(&self.compactions),
        );
        one(
            "quire_relay_mailbox_items",
            "gauge",
            "Items kept.",
            get(&self.items),
        );
        one(
            "quire_relay_mailbox_bytes",
            "gauge",
            "Bytes of items kept.",
            get(&self.bytes),
        );
        one(
            "quire_relay_mailbox_topics",
            "gauge",
            "Documents with items kept.",
            get(&self.topics),
        );
        one(
            "quire_relay_reservations_total",
            "counter",
            "Circuit relay reservations accepted.",
            get(&self.reservations),
        );
        one(
            "quire_relay_circuits_total",
            "counter",
            "Relayed circuits opened.",
            get(&self.circuits),
        );
        one(
            "quire_relay_gossip_topics",
            "gauge",
            "Documents whose live updates the relay forwards.",
            get(&self.topics_joined),
        );
        let _ = writeln!(
            out,
            "# HELP quire_relay_refusals_total Requests refused, by reason.\n# TYPE quire_relay_refusals_total counter"
        );
        for (reason, counter) in [
            ("not_allowed", &self.refused_not_allowed),
            ("quota_exceeded", &self.refused_quota),
            ("rate_limited", &self.refused_rate),
            ("invalid", &self.refused_invalid),
            ("unavailable", &self.refused_storage),
            ("not_writer", &self.refused_not_writer),
        ] {
            let _ = writeln!(
                out,
                "quire_relay_refusals_total{{reason=\"{reason}\"}} {}",
                get(counter)
            );
        }
        out
    }
}
