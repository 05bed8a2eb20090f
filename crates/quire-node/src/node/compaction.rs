//! Compaction of a relay's mailbox: once a writer has read
//! [`crate::NodeConfig::relay_compact_after`] items of a document at a relay since
//! the last snapshot, it replaces the items it read with one sealed snapshot of
//! everything it has (its hello and its full state), so the mailbox stays small and
//! a newcomer reads one item instead of hundreds.
//!
//! The engine's part (the state vector and the full state, which for a large
//! document takes a while) runs in a task, off the node's loop, so live editing does
//! not wait for it; the loop seals the result and sends the request.

use quire_crypto::{PeerId, Role};
use quire_net::mailbox_auth::Operation;
use quire_net::mailbox_protocol::{MailboxRequest, MailboxResponse};

use super::relays::{
    RelayItemError, RelayResult, describe, mailbox_auth, relay_item, state_and_diff,
};
use super::{Actor, Topic};

/// What the engine gave for a snapshot: the document's state vector and its full
/// state as one update.
pub(crate) struct Snapshot {
    state_vector: Vec<u8>,
    state: Vec<u8>,
}

impl Actor {
    /// Starts replacing the relay's items of the document up to `last` (all read
    /// and applied here) with one sealed snapshot of everything this device has.
    pub(super) fn compact(&mut self, relay: PeerId, topic: Topic, last: u64) {
        let key = (relay, topic);
        let Some(doc) = self.docs.get(&topic) else {
            return;
        };
        if doc.role() == Role::Read || self.relays.busy.contains(&key) {
            return;
        }
        self.relays.busy.insert(key);
        let (id, engine, tx) = (doc.id, self.engine.clone(), self.relays.results_tx.clone());
        tokio::spawn(async move {
            // Everything: the difference from the empty state vector.
            let snapshot = state_and_diff(&engine, id, &[0])
                .await
                .map(|(state_vector, state)| Snapshot {
                    state_vector,
                    state,
                });
            let _ = tx
                .send(RelayResult::Snapshot {
                    relay,
                    topic,
                    last,
                    snapshot,
                })
                .await;
        });
    }

    /// Seals the engine's snapshot and sends it to the relay as a compaction.
    pub(super) fn send_snapshot(
        &mut self,
        relay: PeerId,
        topic: Topic,
        last: u64,
        snapshot: Result<Snapshot, String>,
    ) {
        let key = (relay, topic);
        let Some(doc) = self.docs.get_mut(&topic) else {
            self.relays.busy.remove(&key);
            return;
        };
        let id = doc.id;
        let Snapshot {
            state_vector,
            state,
        } = match snapshot {
            Ok(snapshot) => snapshot,
            Err(e) => {
                tracing::warn!("document {id}: cannot make a snapshot for the relay: {e}");
                self.relays.busy.remove(&key);
                return;
            }
        };
        let sealed = match relay_item(doc, &state) {
            Ok(sealed) => sealed,
            Err(RelayItemError::TooLarge) => {
                tracing::info!(
                    "document {id}: its {}-byte state exceeds what one relay item holds; its items stay",
                    state.len()
                );
                // Do not try again before as many more items have come.
                self.relays.compacted.insert(key, last);
                self.relays.busy.remove(&key);
                return;
            }
            Err(RelayItemError::Seal(e)) => {
                tracing::warn!("document {id}: cannot seal a snapshot for the relay: {e}");
                self.relays.busy.remove(&key);
                return;
            }
        };
        // Signed with the last item read: the relay supersedes nothing after it.
        let operation = Operation::Compact {
            supersedes: last,
            snapshot: &sealed,
        };
        let Some(auth) = mailbox_auth(doc, relay, &topic, operation) else {
            self.relays.busy.remove(&key);
            return;
        };
        let (net, tx) = (self.net.clone(), self.relays.results_tx.clone());
        tokio::spawn(async move {
            let request = MailboxRequest::Compact {
                topic,
                snapshot: sealed,
                supersedes: last,
                auth: Some(auth),
            };
            let result = match net.mailbox(relay, request).await {
                Ok(MailboxResponse::Compacted { seq }) => RelayResult::Compacted {
                    relay,
                    topic,
                    seq,
                    uploaded: state_vector,
                },
                Ok(other) => RelayResult::Failed {
                    relay,
                    topic,
                    upload: false,
                    error: format!("compaction: {}", describe(other)),
                },
                Err(e) => RelayResult::Failed {
                    relay,
                    topic,
                    upload: false,
                    error: format!("compaction: {e}"),
                },
            };
            let _ = tx.send(result).await;
        });
    }
}
