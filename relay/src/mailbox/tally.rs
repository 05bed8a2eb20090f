//! [`Tally`]: a group commit's running view of the usage rows it touches. Each topic's
//! and each sender's row is read once, kept up to date in memory while the batch's
//! items are checked against the quotas and numbered, and written back once: one
//! statement per item (its insert) instead of six. The quotas are checked here,
//! against the running counts.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Limits, MailboxError};

/// A topic's usage row.
#[derive(Debug, Clone, Copy)]
pub(super) struct TopicUsage {
    /// The number the topic's next item gets.
    pub(super) next_seq: u64,
    /// Bytes of the topic's items.
    pub(super) bytes: u64,
    /// How many items the topic keeps.
    pub(super) items: u64,
}

/// The usage rows one transaction has touched.
#[derive(Default)]
pub(super) struct Tally {
    topics: HashMap<[u8; 32], TopicUsage>,
    senders: HashMap<Vec<u8>, u64>,
}

impl Tally {
    /// `topic`'s usage, read from the database the first time.
    fn topic(
        &mut self,
        tx: &Transaction<'_>,
        topic: &[u8; 32],
    ) -> Result<&mut TopicUsage, MailboxError> {
        Ok(match self.topics.entry(*topic) {
            Entry::Occupied(row) => row.into_mut(),
            Entry::Vacant(row) => row.insert(read_topic(tx, topic)?),
        })
    }

    /// Bytes `sender` keeps over all topics, read from the database the first time.
    fn sender(&mut self, tx: &Transaction<'_>, sender: &[u8]) -> Result<&mut u64, MailboxError> {
        if !self.senders.contains_key(sender) {
            let bytes = read_sender(tx, sender)?;
            self.senders.insert(sender.to_vec(), bytes);
        }
        self.senders
            .get_mut(sender)
            .ok_or_else(|| MailboxError::Invalid("sender usage vanished".into()))
    }

    /// Counts `len` more bytes from `sender` in `topic` and returns the number the
    /// item gets; or the refusal, counting nothing, when a quota would be exceeded.
    /// The outer error is storage failing.
    pub(super) fn admit(
        &mut self,
        tx: &Transaction<'_>,
        limits: &Limits,
        topic: &[u8; 32],
        sender: &[u8],
        len: usize,
    ) -> Result<Result<u64, MailboxError>, MailboxError> {
        let len = len as u64;
        let topic_used = self.topic(tx, topic)?.bytes;
        let sender_used = *self.sender(tx, sender)?;
        if let Err(refusal) = check_quotas(limits, topic_used, sender_used, len) {
            return Ok(Err(refusal));
        }
        *self.sender(tx, sender)? += len;
        let usage = self.topic(tx, topic)?;
        usage.bytes += len;
        usage.items += 1;
        usage.next_seq += 1;
        Ok(Ok(usage.next_seq - 1))
    }

    /// Writes every touched row back.
    pub(super) fn write(&self, tx: &Transaction<'_>) -> Result<(), MailboxError> {
        for (topic, usage) in &self.topics {
            tx.prepare_cached(
                "INSERT INTO topics (topic, next_seq, bytes, items) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (topic) DO UPDATE SET next_seq = ?2, bytes = ?3, items = ?4",
            )?
            .execute(params![
                &topic[..],
                usage.next_seq as i64,
                usage.bytes as i64,
                usage.items as i64
            ])?;
        }
        for (sender, bytes) in &self.senders {
            tx.prepare_cached(
                "INSERT INTO senders (sender, bytes) VALUES (?1, ?2)
                 ON CONFLICT (sender) DO UPDATE SET bytes = ?2",
            )?
            .execute(params![sender, *bytes as i64])?;
        }
        Ok(())
    }
}

/// `topic`'s usage row (a topic never seen numbers its first item 1).
pub(super) fn read_topic(
    tx: &Transaction<'_>,
    topic: &[u8; 32],
) -> Result<TopicUsage, MailboxError> {
    let row: Option<(i64, i64, i64)> = tx
        .prepare_cached("SELECT next_seq, bytes, items FROM topics WHERE topic = ?1")?
        .query_row([&topic[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(row.map_or(
        TopicUsage {
            next_seq: 1,
            bytes: 0,
            items: 0,
        },
        |(next_seq, bytes, items)| TopicUsage {
            next_seq: next_seq as u64,
            bytes: bytes as u64,
            items: items as u64,
        },
    ))
}

/// Bytes `sender` keeps over all topics.
fn read_sender(tx: &Transaction<'_>, sender: &[u8]) -> Result<u64, MailboxError> {
    let bytes: Option<i64> = tx
        .prepare_cached("SELECT bytes FROM senders WHERE sender = ?1")?
        .query_row([sender], |r| r.get(0))
        .optional()?;
    Ok(bytes.unwrap_or(0) as u64)
}

/// Refuses `len` more bytes when the topic already holds `topic_used` bytes and the
/// sender keeps `sender_used`, if either would go over its quota.
fn check_quotas(
    limits: &Limits,
    topic_used: u64,
    sender_used: u64,
    len: u64,
) -> Result<(), MailboxError> {
    if topic_used + len > limits.topic_bytes {
        return Err(MailboxError::QuotaExceeded(format!(
            "this document's mailbox would hold {} bytes, over the relay's {}-byte quota per document; compact it with a snapshot",
            topic_used + len,
            limits.topic_bytes
        )));
    }
    if sender_used + len > limits.peer_bytes {
        return Err(MailboxError::QuotaExceeded(format!(
            "this device would keep {} bytes on the relay, over its {}-byte quota per device",
            sender_used + len,
            limits.peer_bytes
        )));
    }
    Ok(())
}
