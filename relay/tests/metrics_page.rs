//! The relay's `/metrics` page, scraped over HTTP from the real `quire-relay` while two
//! real members (quire-node sync nodes) use it: libp2p's swarm metrics count their
//! connections, its gossipsub metrics count the live update the relay forwarded
//! between them, and Quire's mailbox counters count what Ann uploaded. The page is
//! OpenMetrics text from one prometheus-client registry. Before, the page was written
//! by hand and showed no libp2p metric at all.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use quire_engine::Edit;
use quire_node::NodeEvent;
use support::{Team, go_online, http_get};

/// How long the page may take to show what happened (it is read every 50 ms).
const PAGE_DEADLINE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_members_connections_gossip_and_mailbox_puts() {
    // No circuit slots: Ann's live edit can reach Bob only through the relay's gossip.
    let args = ["--max-reservations", "0", "--http", "127.0.0.1:0"].map(String::from);
    let team = Team::new("Standup", "Agenda.\n", args.to_vec()).await;
    let (id, relay) = (team.id, &team.relay);
    let http = relay
        .http
        .clone()
        .expect("the relay printed its HTTP address");

    let ann = go_online(team.ann_dir.path(), Some(&relay.addr)).await;
    let bob = go_online(team.bob_dir.path(), Some(&relay.addr)).await;
    ann.until_relay_has_everything(relay, id).await;
    bob.until_text_has(id, "Agenda.").await;

    let mut at_bob = bob.node.subscribe();
    let ann_peer = ann.node.peer_id();
    ann.engine
        .edit(id, Edit::Append("Ann: live through the relay.\n".into()))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Ok(NodeEvent::RemoteApplied {
                id: doc, sender, ..
            }) = at_bob.recv().await
                && doc == id
                && sender == ann_peer
            {
                return;
            }
        }
    })
    .await
    .expect("Ann's live update reached Bob through the relay's gossip");

    let (head, page) = scrape_until(&http, |page| {
        sum(
            page,
            "libp2p_swarm_connections_established_total",
            "role=\"Listener\"",
        ) >= 2.0
            && sum(page, "libp2p_gossipsub_messages_total", "") >= 1.0
            && sum(page, "quire_relay_mailbox_puts_total", "") >= 1.0
            // The totals of what the mailbox keeps are read every second.
            && sum(page, "quire_relay_mailbox_items", "") >= 1.0
    })
    .await;
    assert!(
        head.contains("Content-Type: application/openmetrics-text"),
        "{head}"
    );
    assert!(page.ends_with("# EOF\n"), "{page}");
    // Both members dialled in, over TCP.
    assert!(
        page.lines().any(
            |l| l.starts_with("libp2p_swarm_connections_incoming_total{") && l.contains("tcp")
        ),
        "{page}"
    );
    assert_eq!(sum(&page, "quire_relay_connected_peers", ""), 2.0, "{page}");
    assert_eq!(sum(&page, "quire_relay_gossip_topics", ""), 1.0, "{page}");
    assert_eq!(
        sum(&page, "quire_relay_refusals_total", ""),
        0.0,
        "nothing a member did was refused: {page}"
    );
    // The relay identified both members.
    assert!(
        sum(&page, "libp2p_identify_received_total", "") >= 2.0,
        "{page}"
    );
    ann.go_offline().await;
    bob.go_offline().await;
}

/// Reads `/metrics` until `done` holds for the page; returns the response's head and
/// body. Fails with the last page after [`PAGE_DEADLINE`].
async fn scrape_until(http: &str, done: impl Fn(&str) -> bool) -> (String, String) {
    let deadline = Instant::now() + PAGE_DEADLINE;
    loop {
        let response = http_get(http, "/metrics");
        let (head, body) = response
            .split_once("\r\n\r\n")
            .map(|(h, b)| (h.to_owned(), b.to_owned()))
            .unwrap_or_default();
        assert!(head.starts_with("HTTP/1.1 200"), "{response}");
        if done(&body) {
            return (head, body);
        }
        assert!(
            Instant::now() < deadline,
            "the page never showed the traffic:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The sum of the samples of `name` (any labels) whose line holds `holding`.
fn sum(page: &str, name: &str, holding: &str) -> f64 {
    page.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
                && line.contains(holding)
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
