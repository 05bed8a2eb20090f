//! Reading relays' mailboxes, and finding other members through them.
//!
//! The documents due at one relay are read together: one batched read
//! ([`MailboxRequest::GetMany`]) per [`MAX_GET_BATCH`] documents, so a device that
//! shares 10,000 documents through a relay reads all of their mailboxes in ten
//! requests, and a document with nothing new costs a few bytes. A relay from before
//! batched reads does not understand them: when batched reads fail three times in a
//! row for anything but a refusal, the relay is read one document per request
//! ([`MailboxRequest::Get`]) until it reconnects.
//!
//! What comes back is applied like a catch-up answer (hellos are learnt, updates
//! only from writers), and the document's cursor moves past each item. A read that
//! brings something new for a document no member is connected in directly has the
//! relay's rendezvous point asked for its members soon (see
//! [`super::relay_discovery`]).

use std::time::Instant;

use quire_crypto::{Kind, PeerId};
use quire_doc::sync::has_news;
use quire_engine::Origin;
use quire_net::mailbox_protocol::{
    GetItem, MAX_GET_BATCH, MAX_MAILBOX_RESPONSE_BYTES, MailboxItem, MailboxRequest,
    MailboxResponse, Refusal, TopicItems, get_many_cost,
};

use super::relays::{RelayResult, describe};
use super::{Actor, Topic};
use crate::status::NodeEvent;
use crate::wire::decode_bundle;

/// The encoded state vector of a document with nothing in it (no client).
const EMPTY_STATE_VECTOR: &[u8] = &[0];

/// A document to read: its cursor at the relay if known here (else the store has
/// it).
#[derive(Clone, Copy)]
struct Wanted {
    topic: Topic,
    id: quire_engine::DocumentId,
    cursor: Option<u64>,
}

/// How one document's read went.
pub(crate) enum ReadOutcome {
    /// The items after the cursor (and whether more follow).
    Items(TopicItems),
    /// The relay refused the read for its rate limit: tried again shortly.
    RateLimited,
    /// The read failed.
    Failed(String),
}

impl Actor {
    /// Reads `relay`'s mailbox for these documents, in batched reads while the relay
    /// has room for them (see [`super::relays::MAX_RELAY_READS_IN_FLIGHT`]); the
    /// documents left are read at a later tick.
    pub(super) fn read_from(&mut self, relay: PeerId, topics: Vec<Topic>) {
        let batched = self.relays.batches_reads(relay);
        let per_request = if batched { MAX_GET_BATCH } else { 1 };
        let wanted: Vec<Wanted> = topics
            .into_iter()
            .filter_map(|topic| {
                Some(Wanted {
                    topic,
                    id: self.docs.get(&topic)?.id,
                    cursor: self.relays.cursors.get(&(relay, topic)).copied(),
                })
            })
            .collect();
        let now = Instant::now();
        for (n, chunk) in wanted.chunks(per_request).enumerate() {
            let cost = if batched {
                get_many_cost(chunk.len())
            } else {
                1
            };
            if !self.relays.take_read_room(relay, cost, now) {
                let left = wanted.iter().skip(n * per_request).map(|w| w.topic);
                self.relays.read_later(relay, left);
                return;
            }
            for want in chunk {
                self.relays.reading_started(relay, want.topic, now);
            }
            self.spawn_read(relay, chunk.to_vec(), batched);
        }
    }

    /// Asks `relay` for the items after this device's cursor in each document: one
    /// request, batched or not; the answer comes back as [`RelayResult::Read`].
    fn spawn_read(&self, relay: PeerId, wanted: Vec<Wanted>, batched: bool) {
        let (engine, net) = (self.engine.clone(), self.net.clone());
        let tx = self.relays.results_tx.clone();
        tokio::spawn(async move {
            let name = relay.to_string();
            let mut reads = Vec::with_capacity(wanted.len());
            let (mut outcomes, mut loaded) = (Vec::new(), Vec::new());
            for Wanted { topic, id, cursor } in wanted {
                let cursor = match cursor {
                    Some(cursor) => Ok(cursor),
                    None => engine.relay_cursor(&name, id).await.inspect(|&cursor| {
                        loaded.push((topic, cursor));
                    }),
                };
                match cursor {
                    Ok(after) => reads.push(GetItem { topic, after }),
                    Err(e) => outcomes.push((
                        topic,
                        ReadOutcome::Failed(format!("cannot read its relay cursor: {e}")),
                    )),
                }
            }
            let mut batch_failed = None;
            if !reads.is_empty() {
                let max_bytes = MAX_MAILBOX_RESPONSE_BYTES as u32;
                let topics: Vec<Topic> = reads.iter().map(|r| r.topic).collect();
                let request = match reads.as_slice() {
                    [one] if !batched => MailboxRequest::Get {
                        topic: one.topic,
                        after: one.after,
                        max_bytes,
                    },
                    _ => MailboxRequest::GetMany { reads, max_bytes },
                };
                let answer = net.mailbox(relay, request).await;
                // A relay that does not know batched reads closes the stream
                // without an answer; one that refuses answers with its reason.
                if batched {
                    batch_failed = Some(answer.is_err());
                }
                outcomes.extend(read_outcomes(&topics, answer.map_err(|e| e.to_string())));
            }
            let _ = tx
                .send(RelayResult::Read {
                    relay,
                    outcomes,
                    batch_failed,
                    loaded,
                })
                .await;
        });
    }

    /// One request's reads came back.
    pub(super) async fn reads_done(
        &mut self,
        relay: PeerId,
        outcomes: Vec<(Topic, ReadOutcome)>,
        batch_failed: Option<bool>,
    ) {
        self.relays.read_done(relay);
        let fall_back =
            batch_failed.is_some_and(|failed| self.relays.batched_read_ended(relay, failed));
        if fall_back {
            tracing::info!(
                "relay {relay}: batched mailbox reads failed {} times in a row; reading one document per request until it reconnects",
                super::relays::BATCHED_READ_FAILURES_BEFORE_SINGLE
            );
        }
        let mut failure = None;
        for (topic, outcome) in outcomes {
            self.relays.busy.remove(&(relay, topic));
            match outcome {
                ReadOutcome::Items(TopicItems { items, more }) => {
                    self.relays.outcome(relay, false, None);
                    self.read_arrived(relay, topic, items, more).await;
                }
                ReadOutcome::RateLimited => {
                    self.relays.retry_read_shortly(relay, topic);
                    tracing::debug!(
                        "relay {relay}: a mailbox read was rate-limited; again in a second"
                    );
                }
                ReadOutcome::Failed(error) => {
                    if batch_failed.is_some() {
                        // Again soon (batched, or singly after the fall-back).
                        self.relays.fetch_soon(relay, topic);
                    } else {
                        self.relays.read_failed(relay, topic);
                    }
                    failure = Some(error);
                }
            }
        }
        if let Some(error) = failure {
            tracing::warn!("relay {relay}: read from its mailbox failed: {error}");
            let error = format!("read from its mailbox failed: {error}");
            self.relays.outcome(relay, false, Some(error));
        }
    }

    /// Applies what a read of one document brought, and reads on or compacts.
    async fn read_arrived(
        &mut self,
        relay: PeerId,
        topic: Topic,
        items: Vec<MailboxItem>,
        more: bool,
    ) {
        if items.is_empty() {
            if more {
                self.relays.fetch_soon(relay, topic);
            }
            return;
        }
        let applied = self.apply_mailbox_items(relay, topic, &items).await;
        let Some(doc) = self.docs.get(&topic) else {
            return;
        };
        let id = doc.id;
        let direct = doc.peers.iter().any(|p| !self.relays.is_relay(p));
        self.emit(NodeEvent::RelayFetched {
            id,
            relay,
            items: applied,
        });
        if !direct {
            // Someone wrote while this device was not connected to them: they may
            // be online now.
            self.relays.discoveries.soon((relay, topic));
        }
        if more {
            self.relays.fetch_soon(relay, topic);
        } else if let Some(last) = items.last().map(|i| i.seq) {
            let since = self.relays.compacted.get(&(relay, topic)).copied();
            if last >= since.unwrap_or(0) + self.relays.compact_after() {
                self.compact(relay, topic, last);
            }
        }
    }

    /// Applies mailbox items in order, moving the cursor past each; returns how many
    /// were read. An item that does not open is skipped (counted as dropped).
    async fn apply_mailbox_items(
        &mut self,
        relay: PeerId,
        topic: Topic,
        items: &[MailboxItem],
    ) -> usize {
        let Some(id) = self.docs.get(&topic).map(|d| d.id) else {
            return 0;
        };
        // If the relay had all of this device's state, it has it still after these
        // items (they came from it): no need to upload them back. It had all of it
        // when this device had nothing yet (a document joined and first read here):
        // without that, a device that joined 1,000 documents through a relay put
        // every one of them back at its next connect.
        let before = self.engine.state_vector(id).await.ok();
        let was_current = before.as_deref().is_some_and(|before| {
            self.relays.uploaded_state(relay, topic).as_deref() == Some(before)
                || !has_news(EMPTY_STATE_VECTOR, before).unwrap_or(true)
        });
        let mut cursor = None;
        for item in items {
            cursor = Some(item.seq);
            let Ok(entries) = decode_bundle(&item.bytes) else {
                if let Some(doc) = self.docs.get_mut(&topic) {
                    doc.count_drop(crate::DropReason::Malformed);
                }
                continue;
            };
            for entry in entries {
                let Some(doc) = self.docs.get_mut(&topic) else {
                    return 0;
                };
                let opened = match doc.receive_item(entry) {
                    Ok(crate::doc_sync::BundleItem::Message(opened)) => opened,
                    Ok(crate::doc_sync::BundleItem::Hello(_)) => continue,
                    Err(reason) => {
                        doc.count_drop(reason);
                        continue;
                    }
                };
                if opened.kind != Kind::Update {
                    doc.count_drop(crate::DropReason::Unexpected);
                    continue;
                }
                if let Err(e) = self.engine.submit_update(
                    id,
                    &opened.plaintext,
                    Origin::Relay(relay.to_string()),
                ) {
                    tracing::warn!("document {id}: an update from the relay was refused: {e}");
                }
            }
        }
        if let Some(cursor) = cursor {
            self.relays.cursors.insert((relay, topic), cursor);
            if let Err(e) = self
                .engine
                .set_relay_cursor(&relay.to_string(), id, cursor)
                .await
            {
                tracing::warn!("document {id}: cannot record the relay cursor: {e}");
            }
        }
        if was_current && let Ok(now) = self.engine.state_vector(id).await {
            if let Err(e) = self
                .engine
                .set_relay_uploaded(&relay.to_string(), id, &now)
                .await
            {
                tracing::warn!("document {id}: cannot record the relay's state: {e}");
            }
            self.relays.set_uploaded_state(relay, topic, now);
        }
        items.len()
    }
}

/// Each read's outcome from the relay's answer to its request (`topics` in the
/// order they were asked).
fn read_outcomes(
    topics: &[Topic],
    answer: Result<MailboxResponse, String>,
) -> Vec<(Topic, ReadOutcome)> {
    let each = |outcome: &dyn Fn() -> ReadOutcome| -> Vec<(Topic, ReadOutcome)> {
        topics.iter().map(|t| (*t, outcome())).collect()
    };
    match (topics, answer) {
        ([one], Ok(MailboxResponse::Items { items, more })) => {
            vec![(*one, ReadOutcome::Items(TopicItems { items, more }))]
        }
        (_, Ok(MailboxResponse::ItemsMany { results })) if results.len() == topics.len() => topics
            .iter()
            .zip(results)
            .map(|(t, items)| (*t, ReadOutcome::Items(items)))
            .collect(),
        (_, Ok(MailboxResponse::ItemsMany { results })) => {
            let error = format!(
                "the relay answered {} reads of {} asked",
                results.len(),
                topics.len()
            );
            each(&|| ReadOutcome::Failed(error.clone()))
        }
        (
            _,
            Ok(MailboxResponse::Refused {
                reason: Refusal::RateLimited,
                ..
            }),
        ) => each(&|| ReadOutcome::RateLimited),
        (_, Ok(other)) => {
            let error = describe(other);
            each(&|| ReadOutcome::Failed(error.clone()))
        }
        (_, Err(error)) => each(&|| ReadOutcome::Failed(error.clone())),
    }
}
