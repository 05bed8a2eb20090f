//! The mailbox off the swarm's loop. Every SQLite call (and its fsync) runs on
//! tokio's blocking pool, so live forwarding never waits on the disk; answers come
//! back to the loop as [`Done`] and go out from there.
//!
//! One put commit runs at a time: puts that arrive meanwhile wait for the next one,
//! which takes them all in one transaction (a group commit that grows with load).
//!
//! Signatures ([`quire_net::mailbox_auth`]) are checked here too, on the blocking
//! pool, before the mailbox compares the signing key with the topic's pin.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use libp2p::PeerId;
use libp2p::request_response::ResponseChannel;
use quire_net::mailbox_auth::{MailboxAuth, Operation};
use quire_net::mailbox_protocol::{
    ByteArray, MAX_MAILBOX_RESPONSE_BYTES, MailboxRequest, MailboxResponse, Refusal,
};

use super::{RelayNode, now_ms, refusal_of, refused};
use crate::mailbox::{Mailbox, MailboxError, Put};

/// The mailbox, shared with the blocking pool.
pub(crate) type SharedMailbox = Arc<Mutex<Mailbox>>;

/// A finished mailbox job, back in the swarm's loop.
pub(crate) enum Done {
    /// A group of puts was committed (or failed as one).
    Puts {
        waiting: Vec<Waiting>,
        results: Result<Vec<Result<u64, MailboxError>>, MailboxError>,
    },
    /// A get or a compaction has its answer.
    Served {
        peer: PeerId,
        channel: ResponseChannel<MailboxResponse>,
        response: MailboxResponse,
    },
}

/// A put request whose items are being committed: who asked, how many items, and
/// how to answer.
pub(crate) struct Waiting {
    peer: PeerId,
    items: usize,
    many: bool,
    channel: ResponseChannel<MailboxResponse>,
}

/// The mailbox key that signed `operation` on `topic` at this `relay`, once its
/// signature is checked.
fn signer(
    relay: &PeerId,
    topic: &[u8; 32],
    operation: Operation<'_>,
    auth: Option<&MailboxAuth>,
) -> Result<[u8; 32], MailboxError> {
    let auth = auth.ok_or_else(|| MailboxError::Invalid("the request is not signed".into()))?;
    auth.verify(relay, topic, operation)
        .map(|()| auth.key)
        .map_err(|e| MailboxError::NotWriter(format!("refused: {e}")))
}

/// A put moved to the blocking pool: sender, topic, item and signature.
type OwnedPut = (Vec<u8>, [u8; 32], Vec<u8>, Option<MailboxAuth>);

/// Runs `job` on the mailbox on the blocking pool.
async fn on_mailbox<T: Send + 'static>(
    mailbox: &SharedMailbox,
    job: impl FnOnce(&mut Mailbox) -> Result<T, MailboxError> + Send + 'static,
) -> Result<T, MailboxError> {
    let mailbox = Arc::clone(mailbox);
    tokio::task::spawn_blocking(move || {
        let mut mailbox = mailbox
            .lock()
            .map_err(|_| MailboxError::Unavailable("an earlier mailbox job failed".into()))?;
        job(&mut mailbox)
    })
    .await
    .unwrap_or_else(|e| {
        Err(MailboxError::Unavailable(format!(
            "a mailbox job failed: {e}"
        )))
    })
}

impl RelayNode {
    /// Starts committing the puts waiting, unless a commit runs (they go next).
    pub(super) fn commit_puts(&mut self) {
        if self.putting || self.pending_puts.is_empty() {
            return;
        }
        self.putting = true;
        let relay = *self.swarm.local_peer_id();
        let mut owned: Vec<OwnedPut> = Vec::new();
        let mut waiting = Vec::new();
        for put in std::mem::take(&mut self.pending_puts) {
            let sender = put.peer.to_bytes();
            waiting.push(Waiting {
                peer: put.peer,
                items: put.items.len(),
                many: put.many,
                channel: put.channel,
            });
            owned.extend(
                put.items
                    .into_iter()
                    .map(|i| (sender.clone(), i.topic, i.item, i.auth)),
            );
        }
        let mailbox = Arc::clone(&self.mailbox);
        self.jobs.push(Box::pin(async move {
            let results = on_mailbox(&mailbox, move |mailbox| {
                // Each item's signature, checked; only the signed go to the mailbox.
                let keys: Vec<Result<[u8; 32], MailboxError>> = owned
                    .iter()
                    .map(|(_, topic, item, auth)| {
                        signer(&relay, topic, Operation::Put { item }, auth.as_ref())
                    })
                    .collect();
                let batch: Vec<Put<'_>> = owned
                    .iter()
                    .zip(&keys)
                    .filter_map(|((sender, topic, item, _), key)| {
                        Some(Put {
                            topic,
                            sender,
                            key: key.as_ref().ok()?,
                            item,
                        })
                    })
                    .collect();
                let mut stored = mailbox.put_many(&batch, now_ms())?.into_iter();
                // Back in the order the items came, the refused signatures in place.
                Ok(keys
                    .into_iter()
                    .map(|key| match key {
                        Ok(_) => stored.next().unwrap_or_else(|| {
                            Err(MailboxError::Unavailable(
                                "the mailbox answered fewer items than were put".into(),
                            ))
                        }),
                        Err(refusal) => Err(refusal),
                    })
                    .collect())
            })
            .await;
            Done::Puts { waiting, results }
        }));
    }

    /// Starts answering a checked get, ask for changes, or compaction.
    pub(super) fn serve(
        &mut self,
        peer: PeerId,
        request: MailboxRequest,
        channel: ResponseChannel<MailboxResponse>,
    ) {
        let mailbox = Arc::clone(&self.mailbox);
        let metrics = Arc::clone(&self.metrics);
        let relay = *self.swarm.local_peer_id();
        let job: BoxFuture<'static, Done> = Box::pin(async move {
            let response = match request {
                MailboxRequest::Put { .. } | MailboxRequest::PutMany { .. } => {
                    Err(MailboxError::Invalid("puts are committed in groups".into()))
                }
                MailboxRequest::Get {
                    topic,
                    after,
                    max_bytes,
                } => {
                    let max = (max_bytes as usize).min(MAX_MAILBOX_RESPONSE_BYTES);
                    metrics.gets.inc();
                    on_mailbox(&mailbox, move |m| m.get(&topic, after, max))
                        .await
                        .map(|(items, more)| MailboxResponse::Items { items, more })
                }
                MailboxRequest::GetMany { reads, max_bytes } => {
                    let max = (max_bytes as usize).min(MAX_MAILBOX_RESPONSE_BYTES);
                    metrics.gets.inc_by(reads.len() as u64);
                    on_mailbox(&mailbox, move |m| m.get_many(&reads, max))
                        .await
                        .map(|results| MailboxResponse::ItemsMany { results })
                }
                MailboxRequest::Changes { after, filter } => {
                    metrics.change_asks.inc();
                    on_mailbox(&mailbox, move |m| m.changed_since(after, &filter))
                        .await
                        .map(|changed| MailboxResponse::Changed {
                            topics: changed.topics.into_iter().map(ByteArray::new).collect(),
                            cursor: changed.cursor,
                            more: changed.more,
                        })
                }
                MailboxRequest::Compact {
                    topic,
                    snapshot,
                    supersedes,
                    auth,
                } => on_mailbox(&mailbox, move |m| {
                    let operation = Operation::Compact {
                        supersedes,
                        snapshot: &snapshot,
                    };
                    let key = signer(&relay, &topic, operation, auth.as_ref())?;
                    m.compact(
                        &topic,
                        &peer.to_bytes(),
                        &key,
                        &snapshot,
                        supersedes,
                        now_ms(),
                    )
                })
                .await
                .map(|seq| {
                    metrics.compactions.inc();
                    MailboxResponse::Compacted { seq }
                }),
            };
            Done::Served {
                peer,
                channel,
                response: response.unwrap_or_else(refusal_of),
            }
        });
        self.jobs.push(job);
    }

    /// Answers what a finished job was for.
    pub(super) fn finish(&mut self, done: Done) {
        match done {
            Done::Served {
                peer,
                channel,
                response,
            } => self.respond(peer, channel, response),
            Done::Puts { waiting, results } => {
                self.putting = false;
                self.answer_puts(waiting, results);
                // Whatever arrived during that commit goes now.
                self.commit_puts();
            }
        }
    }

    fn answer_puts(
        &mut self,
        waiting: Vec<Waiting>,
        results: Result<Vec<Result<u64, MailboxError>>, MailboxError>,
    ) {
        let total = waiting.iter().map(|w| w.items).sum();
        let mut outcomes: std::vec::IntoIter<MailboxResponse> = match results {
            Ok(results) => results
                .into_iter()
                .map(|result| match result {
                    Ok(seq) => {
                        self.metrics.puts.inc();
                        MailboxResponse::Stored { seq }
                    }
                    Err(e) => refusal_of(e),
                })
                .collect::<Vec<_>>()
                .into_iter(),
            // Storage failed: nothing of the group was kept, and each asker is told.
            Err(e) => vec![refusal_of(e); total].into_iter(),
        };
        for put in waiting {
            let mine: Vec<MailboxResponse> = outcomes.by_ref().take(put.items).collect();
            let response = if put.many {
                // (A refused single put is counted when it is answered.)
                for outcome in &mine {
                    if let MailboxResponse::Refused { reason, .. } = outcome {
                        self.metrics.refused(*reason);
                    }
                }
                MailboxResponse::StoredMany { results: mine }
            } else {
                mine.into_iter().next().unwrap_or_else(|| {
                    refused(
                        Refusal::Unavailable,
                        "the relay lost track of the put".into(),
                    )
                })
            };
            self.respond(put.peer, put.channel, response);
        }
    }

    /// Drops items past their retention, then refreshes the totals for /metrics.
    pub(super) fn expire(&mut self) {
        let (mailbox, metrics) = (Arc::clone(&self.mailbox), Arc::clone(&self.metrics));
        tokio::spawn(async move {
            match on_mailbox(&mailbox, move |m| m.expire(now_ms())).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("dropped {n} items past their retention"),
                Err(e) => tracing::error!("cannot drop expired items: {e}"),
            }
            if let Ok(totals) = on_mailbox(&mailbox, |m| m.totals()).await {
                metrics.set_totals(totals);
            }
        });
    }

    /// Reads the mailbox's totals for /metrics.
    pub(super) fn refresh_totals(&self) {
        let (mailbox, metrics) = (Arc::clone(&self.mailbox), Arc::clone(&self.metrics));
        tokio::spawn(async move {
            if let Ok(totals) = on_mailbox(&mailbox, |m| m.totals()).await {
                metrics.set_totals(totals);
            }
        });
    }
}
