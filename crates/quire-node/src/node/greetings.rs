//! Greetings on connect, paced. A peer that subscribes to a document hears our
//! session's hello (so it can open our messages) and our presence. A connect
//! announces every document two devices share at once: at 10,000 documents that
//! was 20,000 messages queued in one go each way, past gossipsub's send queue
//! ([`quire_net::SEND_QUEUE_LEN`]) and the receiver's event channel, and the
//! messages that fell off were repaired one catch-up at a time. Documents with a
//! cursor here are greeted at once; the rest wait their turn here, at most
//! [`GREETINGS_PER_TICK`] per tick.

use std::collections::{HashSet, VecDeque};

use super::Topic;

/// Documents greeted per tick ([`crate::TICK`]) after a connect: 2,000 a second,
/// 4,000 messages (a hello and a presence each), within gossipsub's send queue
/// whatever the receiver's pace.
pub const GREETINGS_PER_TICK: usize = 100;

/// Documents waiting to greet their new subscribers, in the order they subscribed.
#[derive(Default)]
pub(super) struct Greetings {
    queue: VecDeque<Topic>,
    /// What the queue holds still to greet (a topic greeted early, or left, is
    /// dropped from here and skipped when its turn comes).
    waiting: HashSet<Topic>,
}

impl Greetings {
    /// Queues `topic`'s greeting, unless it is already waiting.
    pub(super) fn push(&mut self, topic: Topic) {
        if self.waiting.insert(topic) {
            self.queue.push_back(topic);
        }
    }

    /// The next document to greet.
    pub(super) fn next(&mut self) -> Option<Topic> {
        while let Some(topic) = self.queue.pop_front() {
            if self.waiting.remove(&topic) {
                return Some(topic);
            }
        }
        None
    }

    /// `topic` was greeted some other way, or left: its turn is skipped.
    pub(super) fn forget(&mut self, topic: Topic) {
        self.waiting.remove(&topic);
        if self.waiting.is_empty() {
            self.queue.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(n: u8) -> Topic {
        [n; quire_crypto::TOPIC_BYTES]
    }

    #[test]
    fn documents_are_greeted_once_each_in_the_order_they_came() {
        let mut greetings = Greetings::default();
        for n in [3, 1, 3, 2, 1] {
            greetings.push(topic(n));
        }
        let order: Vec<Topic> = std::iter::from_fn(|| greetings.next()).collect();
        assert_eq!(order, vec![topic(3), topic(1), topic(2)]);
    }

    #[test]
    fn a_document_greeted_early_loses_its_turn() {
        let mut greetings = Greetings::default();
        greetings.push(topic(1));
        greetings.push(topic(2));
        greetings.forget(topic(1));
        assert_eq!(greetings.next(), Some(topic(2)));
        assert_eq!(greetings.next(), None);
        // Queued again later, it is greeted again.
        greetings.push(topic(1));
        assert_eq!(greetings.next(), Some(topic(1)));
    }
}
