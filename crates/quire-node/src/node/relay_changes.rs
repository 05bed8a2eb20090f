//! Following a relay's change numbers, so that an idle device does not read every
//! mailbox it shares every [`RELAY_FETCH_EVERY`].
//!
//! The relay gives every item it stores its next change number
//! ([`MailboxRequest::Changes`]). When a relay connects, the node asks it for its last
//! number first, then reads every mailbox the relay serves for it once: whatever is
//! put after that number, the next ask names. From then on, every
//! [`RELAY_FETCH_EVERY`], it asks which of its documents (a [`TopicFilter`] of them)
//! changed after the last number it saw, and reads only those (and a document whose
//! member says hello through the relay, as before). At 10,000 documents, an idle
//! device asked for 10,000 topics every 30 s (ten batched reads; 10,000 look-ups at
//! the relay); now it asks one question of 12.5 KiB.
//!
//! A relay that fails the first ask reads the old way meanwhile: every mailbox
//! now, and every [`RELAY_FETCH_EVERY`] after. One that fails it
//! [`MAX_FEED_START_FAILURES`] times in a row (a relay from before change numbers
//! closes the stream) is read that way until it reconnects.
//!
//! [`Feed`] is pure bookkeeping: the node asks it what to send and tells it what
//! came back.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use quire_crypto::PeerId;
use quire_net::TopicFilter;
use quire_net::mailbox_protocol::{MailboxRequest, MailboxResponse, Refusal};

use super::relays::{RELAY_FETCH_EVERY, RelayResult};
use super::{Actor, Topic};

/// First asks a relay may fail in a row before it is read the old way until it
/// reconnects.
pub const MAX_FEED_START_FAILURES: u32 = 3;

/// An ask the relay refused for its rate limit goes again this much later.
const ASK_AGAIN_AFTER_RATE_LIMIT: Duration = Duration::from_secs(1);

/// Where the node stands with one relay's change numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Feed {
    /// The relay's last change number is to be asked for (it connected, or the
    /// first ask failed `failures` times), from `not_before` on.
    Start {
        failures: u32,
        not_before: Option<Instant>,
    },
    /// That ask is in flight.
    Starting { failures: u32 },
    /// Following from change `cursor`: the next ask is due at `due` (`None`: one
    /// is in flight, and `again` if another must follow it at once).
    Following {
        cursor: u64,
        due: Option<Instant>,
        again: bool,
    },
    /// The relay does not answer asks: its mailboxes are read every
    /// [`RELAY_FETCH_EVERY`] until it reconnects.
    Unsupported,
}

/// What to read after an answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToRead {
    /// Every mailbox the relay serves.
    Everything,
    /// These documents' mailboxes (those of the node's that the relay serves).
    These(Vec<Topic>),
    Nothing,
}

impl Default for Feed {
    fn default() -> Self {
        Self::Start {
            failures: 0,
            not_before: None,
        }
    }
}

impl Feed {
    /// Whether the relay's mailboxes are read only when it names them changed
    /// (else every [`RELAY_FETCH_EVERY`]).
    pub(crate) fn follows(&self) -> bool {
        matches!(self, Self::Following { .. })
    }

    /// Whether reads at the relay wait for the first ask's answer (they would all be
    /// made again after it).
    pub(crate) fn holds_reads(&self) -> bool {
        matches!(
            self,
            Self::Start { failures: 0, .. } | Self::Starting { failures: 0 }
        )
    }

    /// Whether an ask is in flight.
    pub(crate) fn asking(&self) -> bool {
        matches!(
            self,
            Self::Starting { .. } | Self::Following { due: None, .. }
        )
    }

    /// The ask to send now, if one is due: after which change number (`None`: the
    /// last number only).
    pub(crate) fn ask_due(&mut self, now: Instant) -> Option<Option<u64>> {
        match *self {
            Self::Start {
                failures,
                not_before,
            } if not_before.is_none_or(|t| t <= now) => {
                *self = Self::Starting { failures };
                Some(None)
            }
            Self::Following {
                cursor,
                due: Some(due),
                ..
            } if due <= now => {
                *self = Self::Following {
                    cursor,
                    due: None,
                    again: false,
                };
                Some(Some(cursor))
            }
            _ => None,
        }
    }

    /// Something says the relay may have news (a member said hello through it, or
    /// a catch-up is due): ask now rather than at the next interval (after the ask
    /// in flight, if one is).
    pub(crate) fn ask_soon(&mut self, now: Instant) {
        if let Self::Following { due, again, .. } = self {
            match due {
                Some(due) => *due = (*due).min(now),
                None => *again = true,
            }
        }
    }

    /// An ask's answer (or its failure) came back: what to read.
    pub(crate) fn answered(
        &mut self,
        answer: Result<MailboxResponse, String>,
        now: Instant,
    ) -> ToRead {
        let rate_limited = matches!(
            answer,
            Ok(MailboxResponse::Refused {
                reason: Refusal::RateLimited,
                ..
            })
        );
        match (*self, answer) {
            (Self::Starting { .. }, Ok(MailboxResponse::Changed { cursor, .. })) => {
                *self = Self::Following {
                    cursor,
                    due: Some(now + RELAY_FETCH_EVERY),
                    again: false,
                };
                ToRead::Everything
            }
            (Self::Starting { failures }, _) if rate_limited => {
                *self = Self::Start {
                    failures,
                    not_before: Some(now + ASK_AGAIN_AFTER_RATE_LIMIT),
                };
                ToRead::Nothing
            }
            (Self::Starting { failures }, _) => {
                let failures = failures + 1;
                *self = if failures >= MAX_FEED_START_FAILURES {
                    Self::Unsupported
                } else {
                    Self::Start {
                        failures,
                        not_before: None,
                    }
                };
                // Read the old way from the first failure on: this ask may be
                // failing for a while.
                if failures == 1 {
                    ToRead::Everything
                } else {
                    ToRead::Nothing
                }
            }
            (
                Self::Following {
                    cursor: before,
                    due: None,
                    again,
                },
                Ok(MailboxResponse::Changed {
                    topics,
                    cursor,
                    more,
                }),
            ) => {
                // "More" without moving on (a relay that misbehaves) waits its turn.
                let more = more && cursor > before;
                let wait = if more || again {
                    Duration::ZERO
                } else {
                    RELAY_FETCH_EVERY
                };
                *self = Self::Following {
                    cursor,
                    due: Some(now + wait),
                    again: false,
                };
                ToRead::These(topics.into_iter().map(|t| t.into_array()).collect())
            }
            (
                Self::Following {
                    cursor,
                    due: None,
                    again,
                },
                _,
            ) => {
                // The cursor stays: the next ask names what this one would have.
                let wait = if rate_limited || again {
                    ASK_AGAIN_AFTER_RATE_LIMIT
                } else {
                    RELAY_FETCH_EVERY
                };
                *self = Self::Following {
                    cursor,
                    due: Some(now + wait),
                    again: false,
                };
                ToRead::Nothing
            }
            // From before the relay reconnected: the ask since then decides.
            _ => ToRead::Nothing,
        }
    }
}

impl Actor {
    /// Sends the asks for changes that are due, one per connected relay at most
    /// (a relay listed by two addresses is asked once).
    pub(super) fn ask_for_changes(&mut self, now: Instant) {
        let (mut due, mut seen) = (Vec::new(), HashSet::new());
        for relay in &mut self.relays.list {
            // A relay listed twice keeps its feed in its first entry.
            if !seen.insert(relay.peer) || !self.connected.contains(&relay.peer) {
                continue;
            }
            if let Some(after) = relay.feed.ask_due(now) {
                due.push((relay.peer, after));
            }
        }
        for (peer, after) in due {
            let served: Vec<Topic> = self
                .docs
                .keys()
                .filter(|t| self.relays.serves(&peer, t))
                .copied()
                .collect();
            let request = MailboxRequest::Changes {
                after,
                filter: TopicFilter::of(&served),
            };
            let (net, tx) = (self.net.clone(), self.relays.results_tx.clone());
            tokio::spawn(async move {
                let answer = net.mailbox(peer, request).await.map_err(|e| e.to_string());
                let _ = tx
                    .send(RelayResult::Changes {
                        relay: peer,
                        answer,
                    })
                    .await;
            });
        }
    }

    /// An ask for changes at `relay` came back: reads what it names.
    pub(super) fn changes_answered(
        &mut self,
        relay: PeerId,
        answer: Result<MailboxResponse, String>,
    ) {
        let error = match &answer {
            Ok(MailboxResponse::Changed { .. }) => None,
            Ok(other) => Some(super::relays::describe(other.clone())),
            Err(e) => Some(e.clone()),
        };
        let Some(known) = self.relays.list.iter_mut().find(|r| r.peer == relay) else {
            return;
        };
        let before = known.feed;
        let to_read = known.feed.answered(answer, std::time::Instant::now());
        let added = std::mem::take(&mut known.added_during_ask);
        if let Some(error) = &error {
            tracing::info!("relay {relay}: asking which documents changed failed: {error}");
        }
        if known.feed == Feed::Unsupported && before != Feed::Unsupported {
            tracing::info!(
                "relay {relay}: it does not say which documents changed; reading every mailbox every {}s until it reconnects",
                RELAY_FETCH_EVERY.as_secs()
            );
        }
        let named = match to_read {
            ToRead::Everything => {
                self.relays
                    .read_everything(relay, self.docs.keys().copied());
                Vec::new()
            }
            ToRead::These(topics) => topics,
            ToRead::Nothing => Vec::new(),
        };
        for topic in named.into_iter().chain(added) {
            if self.docs.contains_key(&topic) {
                self.relays.read_changed(relay, topic);
            }
        }
        if error.is_none() {
            self.relays.outcome(relay, false, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use quire_net::mailbox_protocol::ByteArray;

    use super::*;

    fn changed(topics: &[Topic], cursor: u64, more: bool) -> Result<MailboxResponse, String> {
        Ok(MailboxResponse::Changed {
            topics: topics.iter().map(|t| ByteArray::new(*t)).collect(),
            cursor,
            more,
        })
    }

    #[test]
    fn a_relay_is_followed_from_its_last_number_after_one_read_of_everything() {
        let (mut feed, now) = (Feed::default(), Instant::now());
        assert!(!feed.follows());
        assert!(feed.holds_reads());
        assert_eq!(feed.ask_due(now), Some(None));
        assert!(feed.holds_reads());
        // In flight: nothing more to ask.
        assert_eq!(feed.ask_due(now), None);
        assert_eq!(
            feed.answered(changed(&[], 40, false), now),
            ToRead::Everything
        );
        assert!(feed.follows());
        assert!(!feed.holds_reads());
        // Asked again after the read interval, after change 40.
        assert_eq!(feed.ask_due(now + RELAY_FETCH_EVERY / 2), None);
        let later = now + RELAY_FETCH_EVERY;
        assert_eq!(feed.ask_due(later), Some(Some(40)));
        let read = feed.answered(changed(&[[1; 32], [2; 32]], 45, false), later);
        assert_eq!(read, ToRead::These(vec![[1; 32], [2; 32]]));
        assert_eq!(feed.ask_due(later + RELAY_FETCH_EVERY), Some(Some(45)));
        // More to come: asked again at once.
        let read = feed.answered(changed(&[[3; 32]], 50, true), later);
        assert_eq!(read, ToRead::These(vec![[3; 32]]));
        assert_eq!(feed.ask_due(later), Some(Some(50)));
        feed.answered(changed(&[], 50, false), later);
        assert_eq!(feed.ask_due(later), None);
    }

    #[test]
    fn news_of_a_document_brings_the_next_ask_forward() {
        let (mut feed, now) = (Feed::default(), Instant::now());
        // Nothing to bring forward before following.
        feed.ask_soon(now);
        assert_eq!(feed.ask_due(now), Some(None));
        feed.answered(changed(&[], 1, false), now);
        let later = now + Duration::from_secs(2);
        feed.ask_soon(later);
        assert_eq!(feed.ask_due(later), Some(Some(1)));
        // News while an ask is in flight: another ask right after it.
        assert!(feed.asking());
        feed.ask_soon(later);
        assert_eq!(feed.ask_due(later), None);
        feed.answered(changed(&[], 2, false), later);
        assert!(!feed.asking());
        assert_eq!(feed.ask_due(later), Some(Some(2)));
        // Also when that ask fails: soon, not at the next interval.
        feed.ask_soon(later);
        feed.answered(Err("timed out".into()), later);
        assert_eq!(
            feed.ask_due(later + ASK_AGAIN_AFTER_RATE_LIMIT),
            Some(Some(2))
        );
    }

    #[test]
    fn a_failed_ask_while_following_keeps_the_cursor() {
        let (mut feed, now) = (Feed::default(), Instant::now());
        feed.ask_due(now);
        feed.answered(changed(&[], 7, false), now);
        let later = now + RELAY_FETCH_EVERY;
        assert_eq!(feed.ask_due(later), Some(Some(7)));
        assert_eq!(
            feed.answered(Err("timed out".into()), later),
            ToRead::Nothing
        );
        assert_eq!(feed.ask_due(later + RELAY_FETCH_EVERY), Some(Some(7)));
        let limited = Ok(MailboxResponse::Refused {
            reason: Refusal::RateLimited,
            message: String::new(),
        });
        let at = later + RELAY_FETCH_EVERY;
        assert_eq!(feed.answered(limited, at), ToRead::Nothing);
        assert_eq!(feed.ask_due(at + ASK_AGAIN_AFTER_RATE_LIMIT), Some(Some(7)));
        // A relay saying "more" without moving on is asked again only at the
        // next interval.
        let next = at + ASK_AGAIN_AFTER_RATE_LIMIT;
        feed.answered(changed(&[], 7, true), next);
        assert_eq!(feed.ask_due(next), None);
        assert_eq!(feed.ask_due(next + RELAY_FETCH_EVERY), Some(Some(7)));
    }

    #[test]
    fn a_first_ask_refused_for_the_rate_limit_goes_again_a_second_later() {
        let (mut feed, now) = (Feed::default(), Instant::now());
        feed.ask_due(now);
        let limited = Ok(MailboxResponse::Refused {
            reason: Refusal::RateLimited,
            message: String::new(),
        });
        assert_eq!(feed.answered(limited, now), ToRead::Nothing);
        assert!(feed.holds_reads());
        assert_eq!(feed.ask_due(now), None);
        assert_eq!(feed.ask_due(now + ASK_AGAIN_AFTER_RATE_LIMIT), Some(None));
    }

    #[test]
    fn a_relay_that_never_answers_is_read_the_old_way_until_it_reconnects() {
        let (mut feed, now) = (Feed::default(), Instant::now());
        feed.ask_due(now);
        // The first failure reads everything at once, the old way.
        assert_eq!(feed.answered(Err("closed".into()), now), ToRead::Everything);
        assert!(!feed.follows());
        assert!(!feed.holds_reads());
        for _ in 1..MAX_FEED_START_FAILURES {
            assert_eq!(feed.ask_due(now), Some(None));
            assert_eq!(feed.answered(Err("closed".into()), now), ToRead::Nothing);
        }
        assert_eq!(feed, Feed::Unsupported);
        assert_eq!(feed.ask_due(now + 100 * RELAY_FETCH_EVERY), None);
        // An answer from before a reconnect changes nothing.
        assert_eq!(feed.answered(changed(&[], 3, false), now), ToRead::Nothing);
        assert_eq!(feed, Feed::Unsupported);
    }

    #[test]
    fn a_late_first_answer_reads_everything_again_and_then_follows() {
        let (mut feed, now) = (Feed::default(), Instant::now());
        feed.ask_due(now);
        assert_eq!(
            feed.answered(Err("timed out".into()), now),
            ToRead::Everything
        );
        assert_eq!(feed.ask_due(now), Some(None));
        // Reads since the failure may have missed items before this number.
        assert_eq!(
            feed.answered(changed(&[], 9, false), now),
            ToRead::Everything
        );
        assert!(feed.follows());
    }
}
