//! Summary exchanges with peers (see [`crate::summary`]): the documents a peer
//! subscribes to are gathered for [`SUMMARY_GATHER`] (a connect announces them all
//! at once), then one request carries a proof of every one's digest; only documents
//! the answer names go on to a full catch-up. A summary that fails is sent again
//! (a busy peer drops requests it has no room for) up to [`MAX_SUMMARY_ATTEMPTS`]
//! times; a peer that still cannot answer (a node from before summaries) gets one
//! catch-up per document, as before.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use quire_crypto::PeerId;
use quire_doc::{DocumentId, SyncDigest};
use quire_net::NetError;
use tokio::sync::{mpsc, oneshot};

use super::{Actor, Topic};
use crate::summary::{
    MAX_DIGESTS_PER_SUMMARY, SUMMARY_TOPIC, SummaryAnswer, SummaryNonce, SummaryRequest,
    confirmation, proof, proofs_match,
};

/// How long the documents a peer subscribes to are gathered before their summary
/// goes out: a connect's subscriptions arrive within a few milliseconds of each
/// other, and waiting this long costs a reconnect nothing it would notice.
pub const SUMMARY_GATHER: Duration = Duration::from_millis(50);

/// Summary requests sent for the same documents before the node falls back to one
/// catch-up per document: a node busy with a reconnect's flood of events drops a
/// request it has no room for, which looks the same as a node that does not know
/// summaries.
pub const MAX_SUMMARY_ATTEMPTS: u32 = 3;

/// Wait before a failed summary is sent again (times the attempts made).
pub const SUMMARY_RETRY_AFTER: Duration = Duration::from_millis(500);

/// Summary state: documents gathered per peer, peers that cannot answer.
pub(super) struct Summaries {
    /// Documents waiting for each peer's next summary (a set: a connect brings
    /// thousands).
    gathering: HashMap<PeerId, HashSet<Topic>>,
    /// Peers whose summary failed: they get one catch-up per document until they
    /// reconnect.
    unsupported: HashSet<PeerId>,
    /// Failed summaries so far of the documents gathered for a peer's next one.
    attempts: HashMap<PeerId, u32>,
    due_tx: mpsc::Sender<PeerId>,
    results_tx: mpsc::Sender<SummaryResult>,
}

/// The peer a summary result is from.
pub(super) fn result_peer(result: &SummaryResult) -> PeerId {
    result.peer
}

/// A summary's answer (or failure), back from the network.
pub(super) struct SummaryResult {
    peer: PeerId,
    /// Failed summaries of these documents before this one.
    failed_before: u32,
    nonce: SummaryNonce,
    /// The documents asked about, with their digests when asked.
    asked: Vec<(Topic, SyncDigest)>,
    result: Result<Vec<u8>, NetError>,
}

impl Summaries {
    pub(super) fn new(
        due_tx: mpsc::Sender<PeerId>,
        results_tx: mpsc::Sender<SummaryResult>,
    ) -> Self {
        Self {
            gathering: HashMap::new(),
            unsupported: HashSet::new(),
            attempts: HashMap::new(),
            due_tx,
            results_tx,
        }
    }

    pub(super) fn forget_peer(&mut self, peer: PeerId) {
        self.gathering.remove(&peer);
        self.unsupported.remove(&peer);
        self.attempts.remove(&peer);
    }

    pub(super) fn forget_topic(&mut self, topic: Topic) {
        for topics in self.gathering.values_mut() {
            topics.remove(&topic);
        }
    }
}

impl Actor {
    /// A catch-up with `peer` on `topic` when it subscribed, or gossip on the topic
    /// was lost: through a summary when the peer answers them (only a document whose
    /// state differs costs an exchange), else at once (`force` as for
    /// `start_catch_up`).
    pub(super) async fn catch_up_by_summary(&mut self, topic: Topic, peer: PeerId, force: bool) {
        if self.relays.is_relay(&peer)
            || self.summaries.unsupported.contains(&peer)
            || !self.connected.contains(&peer)
        {
            self.start_catch_up(topic, peer, force).await;
            return;
        }
        let gathering = self.summaries.gathering.entry(peer).or_default();
        let first = gathering.is_empty();
        gathering.insert(topic);
        if gathering.len() >= MAX_DIGESTS_PER_SUMMARY {
            self.send_summary(peer).await;
        } else if first {
            self.summary_due_in(peer, SUMMARY_GATHER);
        }
    }

    /// Sends the summary of what is gathered for `peer` after `delay`.
    fn summary_due_in(&self, peer: PeerId, delay: Duration) {
        let due = self.summaries.due_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = due.send(peer).await;
        });
    }

    /// Sends the summary of the documents gathered for `peer`.
    pub(super) async fn send_summary(&mut self, peer: PeerId) {
        let Some(mut topics) = self.summaries.gathering.remove(&peer) else {
            return;
        };
        if topics.len() > MAX_DIGESTS_PER_SUMMARY {
            // More than one request holds (a retry joined a new batch): the rest go
            // in the next one.
            let rest: HashSet<Topic> = topics
                .iter()
                .skip(MAX_DIGESTS_PER_SUMMARY)
                .copied()
                .collect();
            topics.retain(|t| !rest.contains(t));
            self.summaries.gathering.insert(peer, rest);
            self.summary_due_in(peer, SUMMARY_GATHER);
        }
        let failed_before = self.summaries.attempts.remove(&peer).unwrap_or(0);
        if !self.connected.contains(&peer) {
            return;
        }
        let wanted: Vec<(Topic, DocumentId, [u8; 32])> = topics
            .iter()
            .filter_map(|t| self.docs.get(t).map(|d| (*t, d.id, d.digest_key)))
            .collect();
        let digests = match self
            .engine
            .sync_digests(wanted.iter().map(|(_, id, key)| (*id, *key)).collect())
            .await
        {
            Ok(digests) => digests,
            Err(e) => {
                tracing::warn!("reading documents' digests failed: {e}");
                vec![None; wanted.len()]
            }
        };
        let nonce: SummaryNonce = rand::random();
        let mut asked = Vec::with_capacity(wanted.len());
        let mut unreadable = Vec::new();
        for ((topic, _, _), digest) in wanted.iter().zip(digests) {
            match digest {
                Some(digest) => asked.push((*topic, digest)),
                None => unreadable.push(*topic),
            }
        }
        for topic in unreadable {
            self.start_catch_up(topic, peer, false).await;
        }
        if asked.is_empty() {
            return;
        }
        let request = SummaryRequest {
            nonce,
            entries: asked
                .iter()
                .map(|(topic, digest)| (*topic, proof(digest, &nonce, topic)))
                .collect(),
        }
        .encode();
        self.counters.summaries_sent += 1;
        let net = self.net.clone();
        let results = self.summaries.results_tx.clone();
        tokio::spawn(async move {
            let result = net.sync_request(peer, SUMMARY_TOPIC, request).await;
            let _ = results
                .send(SummaryResult {
                    peer,
                    failed_before,
                    nonce,
                    asked,
                    result,
                })
                .await;
        });
    }

    /// Takes a summary's answer: documents that differ go on to a full catch-up,
    /// those found equal count as synced with the peer.
    pub(super) async fn handle_summary_result(&mut self, result: SummaryResult) {
        let SummaryResult {
            peer,
            failed_before,
            nonce,
            asked,
            result,
        } = result;
        let differs = match result {
            Ok(bytes) => match SummaryAnswer::decode(&bytes, asked.len()) {
                Ok(answer) if answer.nonce == nonce => {
                    let equal = asked
                        .iter()
                        .zip(&answer.differs)
                        .filter(|(_, differs)| !**differs)
                        .map(|((_, digest), _)| digest);
                    if confirmation(&nonce, equal) == answer.confirmation {
                        answer.differs
                    } else {
                        tracing::warn!(%peer, "a summary answer's confirmation does not match; catching up on every document");
                        vec![true; asked.len()]
                    }
                }
                Ok(_) | Err(_) => {
                    tracing::warn!(%peer, "a malformed summary answer; catching up on every document");
                    vec![true; asked.len()]
                }
            },
            Err(e)
                if failed_before + 1 < MAX_SUMMARY_ATTEMPTS && self.connected.contains(&peer) =>
            {
                tracing::debug!(%peer, "summary request failed ({e}); sending it again");
                let gathering = self.summaries.gathering.entry(peer).or_default();
                let first = gathering.is_empty();
                gathering.extend(asked.iter().map(|(topic, _)| *topic));
                let attempts = self.summaries.attempts.entry(peer).or_default();
                *attempts = (*attempts).max(failed_before + 1);
                if first {
                    self.summary_due_in(peer, SUMMARY_RETRY_AFTER * (failed_before + 1));
                }
                return;
            }
            Err(e) => {
                tracing::debug!(%peer, "summary request failed ({e}); one catch-up per document");
                self.summaries.unsupported.insert(peer);
                vec![true; asked.len()]
            }
        };
        let now = quire_engine::now_ms();
        let mut unchanged = Vec::new();
        for ((topic, _), differs) in asked.iter().zip(differs) {
            if differs {
                self.start_catch_up(*topic, peer, false).await;
                continue;
            }
            let Some(doc) = self.docs.get_mut(topic) else {
                continue;
            };
            // The peer holds exactly what we hold: it has our local updates too.
            doc.pending = 0;
            doc.last_sync = Some(now);
            unchanged.push(doc.id);
            self.counters.summarised_unchanged += 1;
        }
        for id in &unchanged {
            self.emit(crate::status::NodeEvent::Synced { id: *id, peer });
        }
        if !unchanged.is_empty() {
            // Recorded off the actor: one write per document would hold it up.
            let engine = self.engine.clone();
            tokio::spawn(async move {
                for id in unchanged {
                    if let Err(e) = engine.mark_synced(id, now).await {
                        tracing::debug!("recording the sync time failed: {e}");
                    }
                }
            });
        }
    }

    /// Answers a peer's summary: which of its documents differ from ours.
    pub(super) async fn answer_summary(
        &mut self,
        peer: PeerId,
        request: &[u8],
        reply: oneshot::Sender<Vec<u8>>,
    ) {
        let request = match SummaryRequest::decode(request) {
            Ok(request) => request,
            Err(e) => {
                tracing::debug!(%peer, "summary request refused: {e}");
                return;
            }
        };
        let ours: Vec<Option<(DocumentId, [u8; 32])>> = request
            .entries
            .iter()
            .map(|(topic, _)| self.docs.get(topic).map(|d| (d.id, d.digest_key)))
            .collect();
        let digests = match self
            .engine
            .sync_digests(ours.iter().flatten().copied().collect())
            .await
        {
            Ok(digests) => digests,
            Err(e) => {
                tracing::warn!("reading documents' digests failed: {e}");
                return;
            }
        };
        let mut digests = digests.into_iter();
        let mut differs = Vec::with_capacity(request.entries.len());
        let mut equal = Vec::new();
        for ((topic, their_proof), ours) in request.entries.iter().zip(&ours) {
            let digest = match ours {
                Some(_) => digests.next().flatten(),
                None => None,
            };
            let same = digest
                .is_some_and(|d| proofs_match(&proof(&d, &request.nonce, topic), their_proof));
            if same && let (Some(digest), Some(doc)) = (digest, self.docs.get_mut(topic)) {
                // The asker holds exactly what we hold.
                doc.pending = 0;
                equal.push(digest);
            }
            differs.push(!same);
        }
        let answer = SummaryAnswer {
            nonce: request.nonce,
            differs,
            confirmation: confirmation(&request.nonce, &equal),
        };
        let _ = reply.send(answer.encode());
    }
}
