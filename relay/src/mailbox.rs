//! The mailbox: sealed envelopes per topic in SQLite, for members who are offline
//! when they are sent. Each topic numbers its items 1, 2, 3…; a member gets what
//! came after the last number it saw. A member may replace everything up to a number
//! with one sealed snapshot (compaction). Quotas bound the bytes kept per topic and
//! per sending peer, and items older than the retention period are dropped.
//!
//! Only a topic's writers write to it: each put and compaction comes with the
//! mailbox key that signed it (checked by the caller), and the key must be the one
//! the topic is pinned to ([`pins`]): the first put stored pins it. A compaction
//! supersedes only items up to the last one the member had read, and none stored
//! before the pin.
//!
//! Every item stored also gives its topic the mailbox's next change number
//! ([`changes`]), so a member asks which of its topics changed after the last number
//! it saw rather than reading every one.
//!
//! Every change is one transaction committed with `synchronous=FULL` before it is
//! acknowledged, so nothing acknowledged is lost when the relay is killed. The relay
//! never sees plaintext: topics are hashes, items are sealed by the members.

use std::path::Path;
use std::time::Duration;

use quire_net::TopicFilter;
use quire_net::mailbox_protocol::{
    GetItem, MAX_CHANGED_TOPICS, MAX_CHANGES_SCANNED, MailboxItem, TopicItems,
};
use rusqlite::{Connection, TransactionBehavior, params};

mod changes;
mod free_pages;
mod pins;
mod schema;
mod tally;

pub(crate) use changes::Changed;
use tally::Tally;

/// What one item adds to an answer besides its bytes (its sequence number and the
/// CBOR around them, rounded up), counted against the answer's size budget so that
/// an answer of thousands of small items stays within the codec's cap.
const ITEM_FRAMING_BYTES: usize = 32;

/// What [`Mailbox::read_topic`] found: the items, whether more follow, and their
/// size with framing.
#[derive(Default)]
struct TopicRead {
    items: Vec<MailboxItem>,
    more: bool,
    size: usize,
}

/// How much the mailbox keeps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Most bytes kept per topic.
    pub(crate) topic_bytes: u64,
    /// Most bytes kept per sending peer, over all topics.
    pub(crate) peer_bytes: u64,
    /// Items older than this are dropped.
    pub(crate) retention: Duration,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MailboxError {
    /// Keeping the item would go over a quota; nothing was stored.
    #[error("{0}")]
    QuotaExceeded(String),
    /// The request does not make sense (say, compacting items that do not exist yet).
    #[error("{0}")]
    Invalid(String),
    /// The request is not signed with the topic's pinned mailbox key.
    #[error("{0}")]
    NotWriter(String),
    /// SQLite failed (disk full, damaged file…).
    #[error("mailbox storage failed: {0}")]
    Storage(#[from] rusqlite::Error),
    /// The job running the mailbox failed (it panicked, or one before it did).
    #[error("{0}")]
    Unavailable(String),
}

/// One item to keep: its topic, its sender, the mailbox key whose signature on it
/// was checked, and its sealed bytes.
#[derive(Clone, Copy)]
pub(crate) struct Put<'a> {
    pub(crate) topic: &'a [u8; 32],
    pub(crate) sender: &'a [u8],
    pub(crate) key: &'a [u8; 32],
    pub(crate) item: &'a [u8],
}

/// What the mailbox holds in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Items kept.
    pub(crate) items: u64,
    /// Bytes of items kept.
    pub(crate) bytes: u64,
    /// Topics with at least one item.
    pub(crate) topics: u64,
}

/// The store.
pub(crate) struct Mailbox {
    conn: Connection,
    limits: Limits,
    /// The last change number given out (see [`changes`]).
    last_change: u64,
}

impl Mailbox {
    /// Opens (or makes) the mailbox database at `path`.
    pub(crate) fn open(path: &Path, limits: Limits) -> Result<Self, MailboxError> {
        let mut conn = Connection::open(path)?;
        // Before WAL mode, which gives the file its first page.
        free_pages::allow_on_new_file(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        schema::prepare(&mut conn)?;
        let last_change = changes::last(&conn)?;
        Ok(Self {
            conn,
            limits,
            last_change,
        })
    }

    /// Keeps `item` from `sender` in `topic`; returns its sequence number once durable.
    #[cfg(test)]
    pub(crate) fn put(
        &mut self,
        topic: &[u8; 32],
        sender: &[u8],
        item: &[u8],
        now_ms: i64,
    ) -> Result<u64, MailboxError> {
        let mut results = self.put_many(
            &[Put {
                topic,
                sender,
                key: &tests::KEY,
                item,
            }],
            now_ms,
        )?;
        results
            .pop()
            .unwrap_or(Err(MailboxError::Invalid("nothing to put".into())))
    }

    /// Keeps several items in one durable commit (what arrived together): each gets
    /// its sequence number or its own refusal (a quota, or a key other than its
    /// topic's pin), and the whole batch fails only if storage does. A topic's first
    /// item stored pins its key.
    pub(crate) fn put_many(
        &mut self,
        batch: &[Put<'_>],
        now_ms: i64,
    ) -> Result<Vec<Result<u64, MailboxError>>, MailboxError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut tally = Tally::default();
        let mut results = Vec::with_capacity(batch.len());
        for put in batch {
            let pin = pins::read(&tx, put.topic)?;
            if pin.is_some_and(|pin| pin.key != *put.key) {
                results.push(Err(pins::not_writer("a put")));
                continue;
            }
            match tally.admit(&tx, &self.limits, put.topic, put.sender, put.item.len())? {
                Ok(seq) => {
                    if pin.is_none() {
                        let pin = pins::Pin {
                            key: *put.key,
                            first_seq: seq,
                        };
                        pins::write(&tx, put.topic, pin)?;
                    }
                    insert_item(&tx, put.topic, seq, put.sender, put.item, now_ms)?;
                    self.last_change += 1;
                    changes::mark(&tx, put.topic, self.last_change)?;
                    results.push(Ok(seq));
                }
                Err(refusal) => results.push(Err(refusal)),
            }
        }
        tally.write(&tx)?;
        tx.commit()?;
        Ok(results)
    }

    /// The items of `topic` after `after`, oldest first, up to `max_bytes` (at least
    /// one item, however large); and whether more follow.
    pub(crate) fn get(
        &self,
        topic: &[u8; 32],
        after: u64,
        max_bytes: usize,
    ) -> Result<(Vec<MailboxItem>, bool), MailboxError> {
        let read = self.read_topic(topic, after, max_bytes, true)?;
        Ok((read.items, read.more))
    }

    /// The items after each read's sequence number, in the reads' order, together at
    /// most `max_bytes`. The first item of the answer comes even when it alone is
    /// over the budget, as with [`Self::get`]; once the budget is spent, the reads
    /// left are answered with no items and `more` (to be asked again).
    pub(crate) fn get_many(
        &self,
        reads: &[GetItem],
        max_bytes: usize,
    ) -> Result<Vec<TopicItems>, MailboxError> {
        let mut left = max_bytes;
        let mut first = true;
        let mut results = Vec::with_capacity(reads.len());
        for read in reads {
            let part = self.read_topic(&read.topic, read.after, left, first)?;
            first &= part.items.is_empty();
            left = left.saturating_sub(part.size);
            results.push(TopicItems {
                items: part.items,
                more: part.more,
            });
        }
        Ok(results)
    }

    /// The items of `topic` after `after` that fit in `budget` bytes, counting each
    /// item's framing ([`ITEM_FRAMING_BYTES`]); with `first_always`, the first item
    /// comes however large it is.
    fn read_topic(
        &self,
        topic: &[u8; 32],
        after: u64,
        budget: usize,
        first_always: bool,
    ) -> Result<TopicRead, MailboxError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, bytes FROM items WHERE topic = ?1 AND seq > ?2 ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![&topic[..], after as i64])?;
        let mut read = TopicRead::default();
        while let Some(row) = rows.next()? {
            let bytes: Vec<u8> = row.get(1)?;
            let cost = bytes.len() + ITEM_FRAMING_BYTES;
            let fits = read.size + cost <= budget || (first_always && read.items.is_empty());
            if !fits {
                read.more = true;
                break;
            }
            read.size += cost;
            let seq: i64 = row.get(0)?;
            read.items.push(MailboxItem {
                seq: seq as u64,
                bytes,
            });
        }
        Ok(read)
    }

    /// Replaces the items of `topic` up to and including `supersedes` (the last one
    /// the member had read) with `snapshot` from `sender`, signed by `key`; returns
    /// the snapshot's sequence number. Refused unless `key` is the topic's pin;
    /// items stored before the pin stay (see [`pins`]).
    pub(crate) fn compact(
        &mut self,
        topic: &[u8; 32],
        sender: &[u8],
        key: &[u8; 32],
        snapshot: &[u8],
        supersedes: u64,
        now_ms: i64,
    ) -> Result<u64, MailboxError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(pin) = pins::read(&tx, topic)? else {
            return Err(MailboxError::NotWriter(
                "a compaction refused: no writer has put to this document at this relay yet".into(),
            ));
        };
        if pin.key != *key {
            return Err(pins::not_writer("a compaction"));
        }
        let next = tally::read_topic(&tx, topic)?.next_seq;
        if supersedes >= next {
            return Err(MailboxError::Invalid(format!(
                "cannot compact up to item {supersedes}: the topic's last item is {}",
                next - 1
            )));
        }
        // Takes the superseded items' bytes off the usage rows, so the tally below
        // reads what is left.
        remove_where(
            &tx,
            "topic = ?1 AND seq >= ?3 AND seq <= ?2",
            params![&topic[..], supersedes as i64, pin.first_seq as i64],
        )?;
        let mut tally = Tally::default();
        let seq = tally.admit(&tx, &self.limits, topic, sender, snapshot.len())??;
        insert_item(&tx, topic, seq, sender, snapshot, now_ms)?;
        self.last_change += 1;
        changes::mark(&tx, topic, self.last_change)?;
        tally.write(&tx)?;
        tx.commit()?;
        Ok(seq)
    }

    /// The topics `filter` may hold that had an item stored after change number
    /// `after` (see [`changes`]), at most [`MAX_CHANGED_TOPICS`] of them; with no
    /// `after`, none, and the last change number as the cursor.
    pub(crate) fn changed_since(
        &self,
        after: Option<u64>,
        filter: &TopicFilter,
    ) -> Result<Changed, MailboxError> {
        let Some(after) = after else {
            return Ok(Changed {
                cursor: self.last_change,
                ..Changed::default()
            });
        };
        let bounds = (MAX_CHANGED_TOPICS, MAX_CHANGES_SCANNED);
        changes::after(&self.conn, after, filter, bounds, self.last_change)
    }

    /// Drops items older than the retention period; returns how many.
    pub(crate) fn expire(&mut self, now_ms: i64) -> Result<u64, MailboxError> {
        let cutoff = now_ms.saturating_sub(self.limits.retention.as_millis() as i64);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let before: i64 = tx
            .prepare_cached("SELECT COUNT(*) FROM items WHERE stored_at < ?1")?
            .query_row([cutoff], |r| r.get(0))?;
        remove_where(&tx, "stored_at < ?1", params![cutoff])?;
        changes::forget_emptied(&tx)?;
        tx.commit()?;
        Ok(before as u64)
    }

    /// What is kept in all, from the per-topic counts: one row per topic is read, not
    /// every item (`/metrics` asks every second).
    pub(crate) fn totals(&self) -> Result<Totals, MailboxError> {
        Ok(read_totals(
            &self.conn,
            "SELECT COALESCE(SUM(items), 0), COALESCE(SUM(bytes), 0), COALESCE(SUM(items > 0), 0) FROM topics",
        )?)
    }
}

/// Runs `sql`, which selects items, bytes and topics, in that order.
fn read_totals(conn: &Connection, sql: &str) -> rusqlite::Result<Totals> {
    conn.query_row(sql, [], |r| {
        Ok(Totals {
            items: r.get::<_, i64>(0)? as u64,
            bytes: r.get::<_, i64>(1)? as u64,
            topics: r.get::<_, i64>(2)? as u64,
        })
    })
}

/// Stores one item under its number.
fn insert_item(
    tx: &rusqlite::Transaction<'_>,
    topic: &[u8; 32],
    seq: u64,
    sender: &[u8],
    bytes: &[u8],
    now_ms: i64,
) -> Result<(), MailboxError> {
    tx.prepare_cached(
        "INSERT INTO items (topic, seq, sender, bytes, stored_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![&topic[..], seq as i64, sender, bytes, now_ms])?;
    Ok(())
}

/// Removes the items matching `filter` and takes their bytes off the usage counts;
/// returns the bytes freed.
fn remove_where(
    tx: &rusqlite::Transaction<'_>,
    filter: &str,
    args: impl rusqlite::Params + Clone,
) -> Result<u64, MailboxError> {
    let mut freed = 0u64;
    {
        let mut stmt = tx.prepare(&format!(
            "SELECT topic, sender, SUM(LENGTH(bytes)), COUNT(*) FROM items WHERE {filter} GROUP BY topic, sender"
        ))?;
        let mut rows = stmt.query(args.clone())?;
        while let Some(row) = rows.next()? {
            let (topic, sender, bytes, count): (Vec<u8>, Vec<u8>, i64, i64) =
                (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
            tx.prepare_cached(
                "UPDATE topics SET bytes = bytes - ?2, items = items - ?3 WHERE topic = ?1",
            )?
            .execute(params![topic, bytes, count])?;
            tx.prepare_cached("UPDATE senders SET bytes = bytes - ?2 WHERE sender = ?1")?
                .execute(params![sender, bytes])?;
            freed += bytes as u64;
        }
    }
    tx.execute(&format!("DELETE FROM items WHERE {filter}"), args)?;
    free_pages::hand_back(tx)?;
    Ok(freed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    const LIMITS: Limits = Limits {
        topic_bytes: 100,
        peer_bytes: 150,
        retention: Duration::from_secs(3600),
    };
    const T1: [u8; 32] = [1; 32];
    const T2: [u8; 32] = [2; 32];
    /// The mailbox key the test puts are signed with.
    pub(super) const KEY: [u8; 32] = [7; 32];
    /// Another device's key: not the document's.
    const STRANGER: [u8; 32] = [8; 32];

    fn open(dir: &tempfile::TempDir) -> Mailbox {
        Mailbox::open(&dir.path().join("mailbox.sqlite"), LIMITS).unwrap()
    }

    fn seqs(items: &[MailboxItem]) -> Vec<u64> {
        items.iter().map(|i| i.seq).collect()
    }

    #[test]
    fn a_batched_read_answers_every_topic_in_order_within_one_budget() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = open(&dir);
        for fill in 1..=3 {
            m.put(&T1, b"ann", &[fill; 10], 0).unwrap();
        }
        m.put(&T2, b"ann", &[9; 10], 0).unwrap();
        let read = |topic, after| GetItem { topic, after };
        let empty = [3; 32];
        let reads = [read(T1, 1), read(empty, 0), read(T2, 0)];
        let all = m.get_many(&reads, 1000).unwrap();
        let got: Vec<(Vec<u64>, bool)> = all.iter().map(|r| (seqs(&r.items), r.more)).collect();
        assert_eq!(
            got,
            vec![(vec![2, 3], false), (vec![], false), (vec![1], false)]
        );
        // A budget of one item and a half: the first item, then the rest are left
        // to be asked for again, with nothing over the budget after the first.
        let one = 10 + ITEM_FRAMING_BYTES;
        let part = m.get_many(&reads, one + one / 2).unwrap();
        let got: Vec<(Vec<u64>, bool)> = part.iter().map(|r| (seqs(&r.items), r.more)).collect();
        assert_eq!(got, vec![(vec![2], true), (vec![], false), (vec![], true)]);
        // The first item of an answer comes even over the budget.
        let tiny = m.get_many(&[read(T2, 0), read(T1, 0)], 1).unwrap();
        assert_eq!(seqs(&tiny[0].items), vec![1]);
        assert!(tiny[1].items.is_empty() && tiny[1].more);
    }

    #[test]
    fn items_are_numbered_per_topic_and_read_back_in_pages() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = open(&dir);
        assert_eq!(m.put(&T1, b"ann", &[7; 10], 0).unwrap(), 1);
        assert_eq!(m.put(&T1, b"ann", &[8; 10], 0).unwrap(), 2);
        assert_eq!(m.put(&T2, b"ann", &[9; 10], 0).unwrap(), 1);
        assert_eq!(m.put(&T1, b"bob", &[6; 10], 0).unwrap(), 3);
        let (items, more) = m.get(&T1, 0, 1000).unwrap();
        assert_eq!((seqs(&items), more), (vec![1, 2, 3], false));
        assert_eq!(items[1].bytes, vec![8; 10]);
        let (items, more) = m.get(&T1, 1, 15).unwrap();
        assert_eq!((seqs(&items), more), (vec![2], true));
        // One item is always given, even over the page size.
        let (items, more) = m.get(&T1, 0, 1).unwrap();
        assert_eq!((seqs(&items), more), (vec![1], true));
        assert_eq!(m.get(&T1, 3, 1000).unwrap(), (vec![], false));
        // Reopened: the numbering carries on.
        drop(m);
        let mut m = open(&dir);
        assert_eq!(m.put(&T1, b"ann", &[5; 10], 0).unwrap(), 4);
    }

    #[test]
    fn quotas_refuse_without_storing_and_leave_other_topics_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = open(&dir);
        m.put(&T1, b"ann", &[1; 60], 0).unwrap();
        let err = m.put(&T1, b"bob", &[1; 50], 0).unwrap_err();
        assert!(
            matches!(err, MailboxError::QuotaExceeded(ref s) if s.contains("per document")),
            "{err}"
        );
        assert_eq!(seqs(&m.get(&T1, 0, 1000).unwrap().0), vec![1]);
        // Another topic still takes items, until ann's own quota is reached.
        m.put(&T2, b"ann", &[1; 80], 0).unwrap();
        let err = m.put(&T2, b"ann", &[1; 15], 0).unwrap_err();
        assert!(
            matches!(err, MailboxError::QuotaExceeded(ref s) if s.contains("per device")),
            "{err}"
        );
        m.put(&T2, b"bob", &[1; 15], 0).unwrap();
        assert_eq!(
            m.totals().unwrap(),
            Totals {
                items: 3,
                bytes: 155,
                topics: 2
            }
        );
    }

    /// A topic no filter in these tests holds.
    const OTHERS: [u8; 32] = [0x5a; 32];

    #[test]
    fn a_member_learns_which_of_its_topics_changed_after_a_number() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = open(&dir);
        let mine = TopicFilter::of(&[T1, T2]);
        assert!(!mine.may_hold(&OTHERS));
        // Where to start following from: nothing changed yet.
        let start = m.changed_since(None, &mine).unwrap();
        assert_eq!(
            (start.topics.len(), start.cursor, start.more),
            (0, 0, false)
        );

        m.put(&T1, b"ann", &[1; 5], 0).unwrap();
        m.put(&OTHERS, b"eve", &[1; 5], 0).unwrap();
        m.put(&T1, b"ann", &[1; 5], 0).unwrap();
        let first = m.changed_since(Some(start.cursor), &mine).unwrap();
        assert_eq!(
            first.topics,
            vec![T1],
            "each changed topic once, others' not at all"
        );
        assert_eq!((first.cursor, first.more), (3, false));
        // Asked again with nothing new: nothing, and the same cursor.
        let idle = m.changed_since(Some(first.cursor), &mine).unwrap();
        assert_eq!((idle.topics.len(), idle.cursor), (0, 3));
        // Only what came after the cursor: T2's put, then the snapshot of T1.
        m.put(&T2, b"bob", &[1; 5], 0).unwrap();
        m.compact(&T1, b"ann", &KEY, &[2; 5], 2, 0).unwrap();
        let next = m.changed_since(Some(idle.cursor), &mine).unwrap();
        assert_eq!(next.topics, vec![T2, T1]);
        assert_eq!(next.cursor, 5);
        // The numbering goes on after a restart; the start is the last number.
        drop(m);
        let mut m = open(&dir);
        assert_eq!(m.changed_since(None, &mine).unwrap().cursor, 5);
        m.put(&T2, b"bob", &[1; 5], 0).unwrap();
        let after = m.changed_since(Some(5), &mine).unwrap();
        assert_eq!((after.topics, after.cursor), (vec![T2], 6));
    }

    #[test]
    fn changes_come_in_pages_of_topics_and_of_rows_looked_at() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = open(&dir);
        let mine = TopicFilter::of(&[T1, T2]);
        for topic in [T1, OTHERS, OTHERS, T2] {
            m.put(&topic, b"ann", &[1; 5], 0).unwrap();
        }
        // OTHERS changed twice: its row holds only its last number (3).
        let page = |after, bounds| changes::after(&m.conn, after, &mine, bounds, m.last_change);
        // One topic per answer: T1 (and OTHERS looked past), then T2.
        let one = page(0, (1, 100)).unwrap();
        assert_eq!((one.topics, one.cursor, one.more), (vec![T1], 3, true));
        let two = page(one.cursor, (1, 100)).unwrap();
        assert_eq!((two.topics, two.cursor, two.more), (vec![T2], 4, false));
        // Two rows looked at per answer: T1 and OTHERS, then T2.
        let first = page(0, (10, 2)).unwrap();
        assert_eq!(
            (first.topics, first.cursor, first.more),
            (vec![T1], 3, true)
        );
        let rest = page(first.cursor, (10, 2)).unwrap();
        assert_eq!((rest.topics, rest.cursor, rest.more), (vec![T2], 4, false));
    }

    #[test]
    fn a_snapshot_replaces_what_it_covers_and_frees_its_quota() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = open(&dir);
        for _ in 0..3 {
            m.put(&T1, b"ann", &[1; 30], 0).unwrap();
        }
        assert!(m.put(&T1, b"ann", &[1; 30], 0).is_err());
        assert!(matches!(
            m.compact(&T1, b"bob", &KEY, &[2; 40], 9, 0),
            Err(MailboxError::Invalid(_))
        ));
        assert_eq!(m.compact(&T1, b"bob", &KEY, &[2; 40], 2, 0).unwrap(), 4);
        let (items, _) = m.get(&T1, 0, 1000).unwrap();
        assert_eq!(seqs(&items), vec![3, 4]);
        assert_eq!(m.totals().unwrap().bytes, 70);
        assert_eq!(m.put(&T1, b"ann", &[1; 30], 0).unwrap(), 5);
    }

    #[test]
    fn a_snapshot_over_the_quota_after_what_it_frees_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = open(&dir);
        for _ in 0..3 {
            m.put(&T1, b"ann", &[1; 30], 0).unwrap();
        }
        // Item 1 frees 30 of the 90 bytes; 60 + 45 is over the 100-byte quota.
        let err = m.compact(&T1, b"bob", &KEY, &[2; 45], 1, 0).unwrap_err();
        assert!(
            matches!(err, MailboxError::QuotaExceeded(ref s) if s.contains("per document")),
            "{err}"
        );
        assert_eq!(seqs(&m.get(&T1, 0, 1000).unwrap().0), vec![1, 2, 3]);
        assert_eq!(m.compact(&T1, b"bob", &KEY, &[2; 40], 1, 0).unwrap(), 4);
        assert_eq!(seqs(&m.get(&T1, 0, 1000).unwrap().0), vec![2, 3, 4]);
    }

    #[test]
    fn a_group_commit_answers_each_item_and_refuses_only_what_is_over_quota() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = open(&dir);
        let batch = [
            Put {
                topic: &T1,
                sender: b"ann",
                key: &KEY,
                item: &[1; 60],
            },
            Put {
                topic: &T1,
                sender: b"bob",
                key: &KEY,
                item: &[2; 50],
            },
            Put {
                topic: &T1,
                sender: b"bob",
                key: &KEY,
                item: &[3; 30],
            },
            Put {
                topic: &T2,
                sender: b"bob",
                key: &KEY,
                item: &[4; 10],
            },
        ];
        let results = m.put_many(&batch, 0).unwrap();
        assert!(matches!(results[0], Ok(1)));
        assert!(matches!(results[1], Err(MailboxError::QuotaExceeded(_))));
        assert!(matches!(results[2], Ok(2)));
        assert!(matches!(results[3], Ok(1)));
        let (items, _) = m.get(&T1, 0, 1000).unwrap();
        assert_eq!(items.iter().map(|i| i.bytes[0]).collect::<Vec<_>>(), [1, 3]);

        // The usage the batch counted is on disk: T1 holds 90 of its 100 bytes, bob
        // keeps 40 of his 150, and T1's next item is number 3.
        drop(m);
        let mut m = open(&dir);
        assert!(matches!(
            m.put(&T1, b"bob", &[5; 15], 0),
            Err(MailboxError::QuotaExceeded(_))
        ));
        assert_eq!(m.put(&T1, b"bob", &[5; 10], 0).unwrap(), 3);
        assert_eq!(m.put(&T2, b"bob", &[6; 90], 0).unwrap(), 2);
        // bob keeps 140 now.
        assert!(matches!(
            m.put(&[3; 32], b"bob", &[7; 11], 0),
            Err(MailboxError::QuotaExceeded(ref s)) if s.contains("per device")
        ));
    }

    #[test]
    fn the_first_put_pins_the_key_and_others_can_neither_put_nor_compact() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = open(&dir);
        // Nobody has put yet: there is no key to compact with.
        assert!(matches!(
            m.compact(&T1, b"eve", &STRANGER, &[0; 5], 0, 0),
            Err(MailboxError::NotWriter(_))
        ));
        m.put(&T1, b"ann", &[1; 10], 0).unwrap();
        m.put(&T1, b"bob", &[2; 10], 0).unwrap();
        let stranger = Put {
            topic: &T1,
            sender: b"eve",
            key: &STRANGER,
            item: &[9; 5],
        };
        let results = m.put_many(&[stranger], 0).unwrap();
        assert!(
            matches!(results[..], [Err(MailboxError::NotWriter(_))]),
            "{results:?}"
        );
        let err = m
            .compact(&T1, b"eve", &STRANGER, &[9; 5], 2, 0)
            .unwrap_err();
        assert!(
            matches!(err, MailboxError::NotWriter(ref s) if s.contains("mailbox key")),
            "{err}"
        );
        assert_eq!(seqs(&m.get(&T1, 0, 1000).unwrap().0), vec![1, 2]);
        // Pins are per topic: the stranger's own topic is the stranger's.
        let results = m
            .put_many(
                &[Put {
                    topic: &T2,
                    ..stranger
                }],
                0,
            )
            .unwrap();
        assert!(matches!(results[..], [Ok(1)]), "{results:?}");
        // The pin outlives the items (retention cannot reopen the race) and a restart.
        m.expire(LIMITS.retention.as_millis() as i64 + 1).unwrap();
        drop(m);
        let mut m = open(&dir);
        let results = m.put_many(&[stranger], 0).unwrap();
        assert!(
            matches!(results[..], [Err(MailboxError::NotWriter(_))]),
            "{results:?}"
        );
        assert_eq!(m.compact(&T1, b"ann", &KEY, &[3; 5], 2, 0).unwrap(), 3);
    }

    #[test]
    fn a_snapshot_never_supersedes_items_after_the_last_one_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = open(&dir);
        for byte in 1..=4 {
            m.put(&T1, b"ann", &[byte; 5], 0).unwrap();
        }
        // Read up to item 2; items 3 and 4 came after.
        assert_eq!(m.compact(&T1, b"bob", &KEY, &[9; 5], 2, 0).unwrap(), 5);
        assert_eq!(seqs(&m.get(&T1, 0, 1000).unwrap().0), vec![3, 4, 5]);
        // A compaction naming an older item again removes nothing newer.
        assert_eq!(m.compact(&T1, b"bob", &KEY, &[9; 5], 1, 0).unwrap(), 6);
        assert_eq!(seqs(&m.get(&T1, 0, 1000).unwrap().0), vec![3, 4, 5, 6]);
    }

    /// A file from before signatures: its items were stored unsigned. The next
    /// signed put pins the topic, and no compaction removes the older items.
    #[test]
    fn items_from_before_the_pin_are_never_compacted_away() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = open(&dir);
        m.put(&T1, b"ann", &[1; 5], 0).unwrap();
        m.put(&T1, b"ann", &[2; 5], 0).unwrap();
        // As an older relay left it: items, no pin.
        m.conn.execute("DELETE FROM topic_keys", []).unwrap();
        // Whoever puts first pins it, here a stranger racing the writers…
        let stranger = Put {
            topic: &T1,
            sender: b"eve",
            key: &STRANGER,
            item: &[9; 5],
        };
        assert!(matches!(m.put_many(&[stranger], 0).unwrap()[..], [Ok(3)]));
        // …who can compact only what was stored under the pin.
        assert_eq!(m.compact(&T1, b"eve", &STRANGER, &[9; 5], 3, 0).unwrap(), 4);
        assert_eq!(seqs(&m.get(&T1, 0, 1000).unwrap().0), vec![1, 2, 4]);
        assert_eq!(m.totals().unwrap(), counted(&m));
    }

    #[test]
    fn old_items_expire() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = open(&dir);
        let hour = 3_600_000;
        m.put(&T1, b"ann", &[1; 10], 0).unwrap();
        m.put(&T1, b"ann", &[1; 10], hour).unwrap();
        assert_eq!(m.expire(hour + 1).unwrap(), 1);
        assert_eq!(seqs(&m.get(&T1, 0, 1000).unwrap().0), vec![2]);
        assert_eq!(
            m.totals().unwrap(),
            Totals {
                items: 1,
                bytes: 10,
                topics: 1
            }
        );
    }

    #[test]
    fn a_topic_whose_items_all_expired_is_no_longer_named_changed() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = open(&dir);
        let hour = 3_600_000;
        m.put(&T1, b"ann", &[1; 10], 0).unwrap();
        m.put(&T2, b"ann", &[1; 10], hour).unwrap();
        m.expire(hour + 1).unwrap();
        let mine = TopicFilter::of(&[T1, T2]);
        assert_eq!(m.changed_since(Some(0), &mine).unwrap().topics, vec![T2]);
    }

    /// What the full tables say is kept: every item read.
    fn counted(m: &Mailbox) -> Totals {
        read_totals(
            &m.conn,
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(bytes)), 0), COUNT(DISTINCT topic) FROM items",
        )
        .unwrap()
    }

    /// Seeded puts, refusals, compactions and expiries over four topics and three
    /// senders: the totals kept per topic always equal a count of every item.
    #[test]
    fn totals_kept_per_topic_match_the_items() {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        println!("totals seed: {seed}");
        let mut state = seed | 1;
        let mut next = move |n: u64| {
            // xorshift64: enough to vary the operations.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let dir = tempfile::tempdir().unwrap();
        let mut m = open(&dir);
        let topics = [[1u8; 32], [2; 32], [3; 32], [4; 32]];
        let senders: [&[u8]; 3] = [b"ann", b"bob", b"cy"];
        for step in 0..400i64 {
            let topic = &topics[next(4) as usize];
            let sender = senders[next(3) as usize];
            match next(10) {
                0 => {
                    let last = m.get(topic, 0, usize::MAX).unwrap().0.last().map(|i| i.seq);
                    if let Some(last) = last {
                        let _ = m.compact(topic, sender, &KEY, &[9; 5], next(last) + 1, step);
                    }
                }
                1 => {
                    m.expire(step + LIMITS.retention.as_millis() as i64 - 50)
                        .unwrap();
                }
                _ => {
                    let item = vec![7; 1 + next(30) as usize];
                    let _ = m.put(topic, sender, &item, step);
                }
            }
            assert_eq!(m.totals().unwrap(), counted(&m), "seed {seed}, step {step}");
        }
    }
}
