//! Two devices share 1,000 documents, go apart, ten of them change, and they meet
//! again: every document converges, and full catch-ups run on exactly the ten that
//! changed (the rest are settled by one summary exchange, see `quire_node::summary`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::collections::HashSet;
use std::time::Duration;

use quire_engine::{DocumentId, Edit, Role};
use quire_node::{NodeConfig, SyncNode};
use support::Peer;

/// Documents the two devices share.
const SHARED: usize = 1_000;
/// Documents changed while they are apart.
const CHANGED: usize = 10;
/// How long each step may take before the test fails (a debug build on two cores).
const STEP_WITHIN: Duration = Duration::from_secs(300);

/// Polls the node's status until every shared document has a sync time of at least
/// `since` (ms since the epoch).
async fn all_synced_since(node: &SyncNode, since: i64) {
    let deadline = tokio::time::Instant::now() + STEP_WITHIN;
    loop {
        let status = node.status().await.unwrap();
        let done = status
            .docs
            .iter()
            .filter(|d| d.last_sync.is_some_and(|t| t >= since))
            .count();
        if status.docs.len() == SHARED && done == SHARED {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {done} of {SHARED} documents synced"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_runs_full_catch_ups_only_on_the_documents_that_changed() {
    let ann = Peer::start().await;
    let mut bob = Peer::start().await;
    let links = ann.addrs().await;
    let mut ids: Vec<DocumentId> = Vec::with_capacity(SHARED);
    for n in 0..SHARED {
        let id = ann
            .engine
            .create(&format!("Note {n}"), "# A note\n\nSome text.\n")
            .await
            .unwrap();
        let link = ann
            .engine
            .share(id, Role::Write, links.clone())
            .await
            .unwrap();
        bob.engine.join(&link.to_link()).await.unwrap();
        ids.push(id);
    }
    all_synced_since(&bob.node, 0).await;

    // Apart: Bob's node stops, Ann changes every hundredth document.
    bob.node.shutdown().await.unwrap();
    let changed: HashSet<DocumentId> = ids.iter().step_by(SHARED / CHANGED).copied().collect();
    assert_eq!(changed.len(), CHANGED);
    for id in &changed {
        ann.engine
            .edit(*id, Edit::Append("Changed while Bob was away.\n".into()))
            .await
            .unwrap();
    }

    let back = quire_engine::now_ms();
    let mut config = NodeConfig::loopback();
    config.bootstrap = links.iter().map(|a| a.parse().unwrap()).collect();
    bob.node = SyncNode::start(bob.engine.clone(), config).await.unwrap();
    all_synced_since(&bob.node, back).await;

    for id in &ids {
        assert_eq!(
            bob.text(*id).await,
            ann.text(*id).await,
            "document {id} converged"
        );
    }
    let status = bob.node.status().await.unwrap();
    let caught_up: HashSet<DocumentId> = status
        .docs
        .iter()
        .filter(|d| d.catch_ups_started > 0)
        .map(|d| d.id)
        .collect();
    assert_eq!(
        caught_up.len(),
        CHANGED,
        "full catch-ups ran on {} documents ({} summaries, {} found unchanged)",
        caught_up.len(),
        status.catch_ups.summaries_sent,
        status.catch_ups.summarised_unchanged
    );
    assert_eq!(caught_up, changed);
    // Every unchanged document was settled by a summary (a document may be
    // summarised again later, when a message of a session not yet announced
    // arrives on it, so this counts at least once each).
    assert!(status.catch_ups.summarised_unchanged >= (SHARED - CHANGED) as u64);
    // The connect greeted each document about once: Bob's hello went out when Ann
    // subscribed, and Ann's hello did not make him say it again.
    println!("hellos: Bob {}", status.catch_ups.hellos_published);
    assert!(
        status.catch_ups.hellos_published <= (SHARED + SHARED / 10) as u64,
        "Bob published {} hellos for {SHARED} documents",
        status.catch_ups.hellos_published
    );
    bob.stop().await;
    ann.stop().await;
}
