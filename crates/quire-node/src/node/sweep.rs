//! When each shared document next needs looking at: its presence heartbeat, a
//! peer's presence expiring, its periodic catch-up, a redial of its ticket's
//! addresses. The node's sweep ([`crate::DOCUMENT_SWEEP`]) takes only the documents
//! due, so an idle device's cost does not grow with how many documents it shares
//! (a walk of every document each second was a third of the idle CPU at 10,000).
//!
//! Each document is looked at at least once per [`SWEEP_BACKSTOP`], whatever its
//! times say, so a change that forgot to ask costs a delay, never a document left
//! alone.

use std::collections::HashSet;
use std::time::Instant;

use quire_crypto::PeerId;

use super::{Actor, Topic};
use crate::config::{DOCUMENT_SWEEP, PERIODIC_CATCH_UP, REDIAL_MEMBERS, SWEEP_BACKSTOP};
use crate::doc_sync::DocSync;
use crate::presence::{IDLE_PRESENCE_HEARTBEAT, PRESENCE_HEARTBEAT};
use crate::status::NodeEvent;

/// When `doc` next needs the sweep: the earliest of its presence heartbeat (while
/// someone else is in it), a peer's presence expiring, its periodic catch-up (after
/// live traffic, while a peer is here) and a redial of its ticket's addresses
/// (while nobody is), and at the latest [`SWEEP_BACKSTOP`] from `now`.
fn next_look(doc: &DocSync, has_peer: bool, now: Instant) -> Instant {
    let mut at = now + SWEEP_BACKSTOP;
    if !doc.peers.is_empty() {
        let heartbeat = if doc.local_presence.cursor.is_some() {
            PRESENCE_HEARTBEAT
        } else {
            IDLE_PRESENCE_HEARTBEAT
        };
        at = at.min(doc.presence_sent.map_or(now, |sent| sent + heartbeat));
    }
    if let Some(expiry) = doc.presence.next_expiry() {
        at = at.min(expiry);
    }
    if has_peer && doc.live_since_periodic {
        // The periodic catch-ups keep their one-a-minute rhythm from the last one.
        let since = now.saturating_duration_since(doc.last_periodic);
        let periods = if since < PERIODIC_CATCH_UP {
            1
        } else {
            since.as_nanos() / PERIODIC_CATCH_UP.as_nanos() + 1
        };
        let periods = u32::try_from(periods).unwrap_or(u32::MAX);
        at = at.min(doc.last_periodic + PERIODIC_CATCH_UP.saturating_mul(periods));
    }
    if !has_peer && !doc.addrs.is_empty() {
        at = at.min(doc.last_redial.map_or(now, |t| t + REDIAL_MEMBERS));
    }
    at
}

/// Whether a peer of `doc` is connected.
fn has_connected_peer(doc: &DocSync, connected: &HashSet<PeerId>) -> bool {
    doc.peers.iter().any(|p| connected.contains(p))
}

impl Actor {
    /// Schedules `topic` at its next due time (a change may have made it sooner).
    pub(super) fn reschedule(&mut self, topic: Topic) {
        let Some(doc) = self.docs.get(&topic) else {
            return;
        };
        let at = next_look(
            doc,
            has_connected_peer(doc, &self.connected),
            Instant::now(),
        );
        self.sweep.due_by(topic, at);
    }

    /// What the documents due need now and then: presence heartbeats, forgetting
    /// silent peers, the periodic catch-up and redialling a document's addresses.
    pub(super) async fn sweep_documents(&mut self) {
        let now = Instant::now();
        let due = self.sweep.take_due(now);
        let (mut gone, mut periodic, mut redial) = (Vec::new(), Vec::new(), HashSet::new());
        for topic in due {
            self.flush_presence_of(topic).await;
            let Some(doc) = self.docs.get_mut(&topic) else {
                continue;
            };
            let has_peer = has_connected_peer(doc, &self.connected);
            for peer in doc.presence.expire(now) {
                gone.push((doc.id, peer));
            }
            // Now and then, catch up anyway (live messages can be lost on the way);
            // dial the ticket's addresses of documents nobody is in (each address
            // once: a team's documents share their tickets' addresses).
            if has_peer && now.saturating_duration_since(doc.last_periodic) >= PERIODIC_CATCH_UP {
                doc.last_periodic = now;
                if std::mem::take(&mut doc.live_since_periodic) {
                    periodic.push(topic);
                }
            }
            if !has_peer
                && !doc.addrs.is_empty()
                && doc
                    .last_redial
                    .is_none_or(|t| now.saturating_duration_since(t) >= REDIAL_MEMBERS)
            {
                doc.last_redial = Some(now);
                redial.extend(doc.addrs.iter().cloned());
            }
            let at = next_look(doc, has_peer, now);
            self.sweep.due_by(topic, at.max(now + DOCUMENT_SWEEP));
        }
        for (id, peer) in gone {
            self.emit(NodeEvent::Presence {
                id,
                peer,
                presence: None,
            });
        }
        for topic in periodic {
            self.nudge(topic).await;
        }
        for addr in redial {
            self.dial(addr).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use quire_crypto::{DeviceIdentity, DocKeys};
    use quire_doc::DocumentId;

    use super::*;
    use crate::presence::{AwarenessMessage, Cursor, Presence};

    fn doc() -> DocSync {
        let (keys, _) = DocKeys::generate();
        let me = DeviceIdentity::generate();
        DocSync::new(
            DocumentId::random(),
            keys,
            &me,
            Presence::new("me", &me.peer_id()),
            None,
        )
    }

    #[test]
    fn a_document_alone_with_nothing_to_do_waits_for_the_backstop() {
        let (doc, now) = (doc(), Instant::now());
        assert_eq!(next_look(&doc, false, now), now + SWEEP_BACKSTOP);
    }

    #[test]
    fn presence_heartbeats_are_due_at_the_interval_of_an_open_or_idle_document() {
        let (mut doc, now) = (doc(), Instant::now());
        doc.peers.insert(DeviceIdentity::generate().peer_id());
        // Never sent: due now.
        assert_eq!(next_look(&doc, true, now), now);
        doc.presence_sent = Some(now);
        // Idle: the backstop comes before the 5-minute heartbeat.
        assert_eq!(next_look(&doc, true, now), now + SWEEP_BACKSTOP);
        doc.local_presence.cursor = Some(Cursor { anchor: 0, head: 0 });
        assert_eq!(next_look(&doc, true, now), now + PRESENCE_HEARTBEAT);
    }

    #[test]
    fn a_peer_is_looked_at_when_its_presence_runs_out() {
        let (mut doc, now) = (doc(), Instant::now());
        let peer = DeviceIdentity::generate().peer_id();
        let message = AwarenessMessage {
            presence: Some(Presence::new("Bob", &peer)),
            stays_secs: None,
        };
        doc.presence.receive(peer, message, now);
        assert_eq!(
            next_look(&doc, false, now),
            now + crate::presence::PRESENCE_TIMEOUT
        );
    }

    #[test]
    fn periodic_catch_ups_keep_their_rhythm_after_quiet_minutes() {
        let (mut doc, start) = (doc(), Instant::now());
        doc.last_periodic = start;
        // Quiet: no periodic catch-up is due.
        let later = start + Duration::from_secs(150);
        assert_eq!(next_look(&doc, true, later), later + SWEEP_BACKSTOP);
        // Live traffic at 150 s: due at the next minute mark, 180 s.
        doc.live_since_periodic = true;
        assert_eq!(next_look(&doc, true, later), start + 3 * PERIODIC_CATCH_UP);
        // With no peer connected there is nobody to catch up with.
        assert_eq!(next_look(&doc, false, later), later + SWEEP_BACKSTOP);
    }

    #[test]
    fn a_document_nobody_is_in_redials_its_addresses() {
        let (mut doc, now) = (doc(), Instant::now());
        doc.addrs = vec!["/ip4/127.0.0.1/tcp/4001".parse().unwrap()];
        assert_eq!(next_look(&doc, false, now), now);
        doc.last_redial = Some(now);
        assert_eq!(next_look(&doc, false, now), now + REDIAL_MEMBERS);
        // A peer is here: no redial.
        assert_eq!(next_look(&doc, true, now), now + SWEEP_BACKSTOP);
    }
}
