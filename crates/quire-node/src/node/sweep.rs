//! When each shared document next needs looking at: its presence heartbeat, a
//! peer's presence expiring, its periodic catch-up, a redial of its ticket's
//! addresses. The node's sweep ([`crate::DOCUMENT_SWEEP`]) takes only the documents
//! due, so an idle device's cost does not grow with how many documents it shares
//! (a walk of every document each second was a third of the idle CPU at 10,000).
//!
//! A document is due at the earliest time anything asked for; asking for a later
//! time changes nothing. Each document is looked at at least once per
//! [`SWEEP_BACKSTOP`], whatever its times say, so a change that forgot to ask costs
//! a delay, never a document left alone.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::Instant;

use super::{Actor, Topic};
use crate::config::{DOCUMENT_SWEEP, PERIODIC_CATCH_UP, REDIAL_MEMBERS, SWEEP_BACKSTOP};
use crate::doc_sync::DocSync;
use crate::presence::{IDLE_PRESENCE_HEARTBEAT, PRESENCE_HEARTBEAT};
use crate::status::NodeEvent;

/// Due times by document.
#[derive(Default)]
pub(super) struct SweepSchedule {
    /// Every time asked for, earliest first; an entry that no longer matches its
    /// document's time in `due_at` is stale and skipped.
    heap: BinaryHeap<Reverse<(Instant, Topic)>>,
    due_at: HashMap<Topic, Instant>,
}

impl SweepSchedule {
    /// `topic` is due at `at`, or earlier if it already was.
    pub(super) fn due_by(&mut self, topic: Topic, at: Instant) {
        match self.due_at.get_mut(&topic) {
            Some(current) if *current <= at => return,
            Some(current) => *current = at,
            None => {
                self.due_at.insert(topic, at);
            }
        }
        self.heap.push(Reverse((at, topic)));
        self.compact();
    }

    /// Takes the documents due at `now`: each is unscheduled until asked for again.
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<Topic> {
        let mut due = Vec::new();
        while let Some(Reverse((at, topic))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            if self.due_at.get(&topic) == Some(&at) {
                self.due_at.remove(&topic);
                due.push(topic);
            }
        }
        due
    }

    /// `topic` was left: it is never due again.
    pub(super) fn forget(&mut self, topic: Topic) {
        self.due_at.remove(&topic);
        self.compact();
    }

    /// Drops stale entries once they outnumber the live ones (times moved earlier
    /// many times, documents left).
    fn compact(&mut self) {
        if self.heap.len() > 2 * self.due_at.len() + 64 {
            let due_at = &self.due_at;
            self.heap
                .retain(|Reverse((at, topic))| due_at.get(topic) == Some(at));
        }
    }

    #[cfg(test)]
    fn entries(&self) -> usize {
        self.heap.len()
    }
}

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

impl Actor {
    /// Whether a peer of `doc` is connected.
    fn has_connected_peer(&self, doc: &DocSync) -> bool {
        doc.peers.iter().any(|p| self.connected.contains(p))
    }

    /// Schedules `topic` at its next due time (a change may have made it sooner).
    pub(super) fn reschedule(&mut self, topic: Topic) {
        let Some(doc) = self.docs.get(&topic) else {
            return;
        };
        let at = next_look(doc, self.has_connected_peer(doc), Instant::now());
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
            let Some(doc) = self.docs.get(&topic) else {
                continue;
            };
            let has_peer = self.has_connected_peer(doc);
            let Some(doc) = self.docs.get_mut(&topic) else {
                continue;
            };
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
    use std::time::Duration;

    use super::*;

    fn topic(n: u8) -> Topic {
        [n; quire_crypto::TOPIC_BYTES]
    }

    #[test]
    fn only_documents_due_are_taken_earliest_first_and_once() {
        let start = Instant::now();
        let mut schedule = SweepSchedule::default();
        schedule.due_by(topic(1), start + Duration::from_secs(5));
        schedule.due_by(topic(2), start + Duration::from_secs(1));
        schedule.due_by(topic(3), start + Duration::from_secs(60));
        assert!(schedule.take_due(start).is_empty());
        assert_eq!(
            schedule.take_due(start + Duration::from_secs(5)),
            vec![topic(2), topic(1)]
        );
        assert!(schedule.take_due(start + Duration::from_secs(5)).is_empty());
        assert_eq!(
            schedule.take_due(start + Duration::from_secs(61)),
            vec![topic(3)]
        );
    }

    #[test]
    fn the_earliest_time_asked_for_wins() {
        let start = Instant::now();
        let mut schedule = SweepSchedule::default();
        schedule.due_by(topic(1), start + Duration::from_secs(10));
        schedule.due_by(topic(1), start + Duration::from_secs(2));
        schedule.due_by(topic(1), start + Duration::from_secs(30));
        assert_eq!(
            schedule.take_due(start + Duration::from_secs(2)),
            vec![topic(1)]
        );
        // Taken: the later times asked for are gone with it.
        assert!(
            schedule
                .take_due(start + Duration::from_secs(60))
                .is_empty()
        );
    }

    #[test]
    fn a_document_left_is_never_due() {
        let start = Instant::now();
        let mut schedule = SweepSchedule::default();
        schedule.due_by(topic(1), start);
        schedule.due_by(topic(2), start);
        schedule.forget(topic(1));
        assert_eq!(schedule.take_due(start), vec![topic(2)]);
    }

    #[test]
    fn stale_entries_do_not_pile_up() {
        let start = Instant::now();
        let mut schedule = SweepSchedule::default();
        for step in 0..10_000u64 {
            schedule.due_by(topic(1), start + Duration::from_secs(100_000 - step));
        }
        assert!(schedule.entries() <= 2 + 64 + 1, "{}", schedule.entries());
        assert_eq!(
            schedule.take_due(start + Duration::from_secs(100_000)),
            vec![topic(1)]
        );
    }
}
