//! Which topics changed, and when, by change number.
//!
//! Every item stored (a put or a compaction's snapshot) gives its topic the
//! mailbox's next change number, one counter for the whole mailbox: a member that
//! saw change number N asks for the topics changed after N, instead of reading each
//! of its topics' mailboxes to learn that nothing is new. Only a topic's last
//! change is kept (one row per topic), and rows are found by number through an
//! index. Items dropped by retention change nothing a reader needs; a topic left
//! with none loses its row.
//!
//! Files from before change numbers get the table empty: their topics appear once
//! they next change (members read every mailbox once when they connect anyway).

use quire_net::TopicFilter;
use rusqlite::{Connection, Transaction, params};

use super::MailboxError;

/// The table and its index (created with the others, see `schema`).
pub(super) const TABLE: &str = "
CREATE TABLE IF NOT EXISTS changes (
    topic BLOB PRIMARY KEY,
    number INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS changes_by_number ON changes (number);
";

/// The topics of a filter changed after a number.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Changed {
    /// Each once, in the order they last changed.
    pub(crate) topics: Vec<[u8; 32]>,
    /// The last change number looked at (to ask after next time).
    pub(crate) cursor: u64,
    /// Whether changes after `cursor` were left for the next ask.
    pub(crate) more: bool,
}

/// The last change number given out (0: none).
pub(super) fn last(conn: &Connection) -> Result<u64, MailboxError> {
    let last: i64 = conn.query_row("SELECT COALESCE(MAX(number), 0) FROM changes", [], |r| {
        r.get(0)
    })?;
    Ok(u64::try_from(last).unwrap_or(0))
}

/// Records that `topic` changed, as change `number`.
pub(super) fn mark(
    tx: &Transaction<'_>,
    topic: &[u8; 32],
    number: u64,
) -> Result<(), MailboxError> {
    tx.prepare_cached(
        "INSERT INTO changes (topic, number) VALUES (?1, ?2)
         ON CONFLICT (topic) DO UPDATE SET number = excluded.number",
    )?
    .execute(params![&topic[..], number as i64])?;
    Ok(())
}

/// Forgets the topics left with no item (all expired): nobody needs to hear of them.
pub(super) fn forget_emptied(tx: &Transaction<'_>) -> Result<(), MailboxError> {
    tx.execute(
        "DELETE FROM changes WHERE NOT EXISTS (SELECT 1 FROM items WHERE items.topic = changes.topic)",
        [],
    )?;
    Ok(())
}

/// The topics `filter` may hold that changed after `after`: at most `max_topics`
/// of them, looking at no more than `max_scanned` changes; `last` is the mailbox's
/// last change number (the cursor when every change was looked at).
pub(super) fn after(
    conn: &Connection,
    after: u64,
    filter: &TopicFilter,
    (max_topics, max_scanned): (usize, usize),
    last: u64,
) -> Result<Changed, MailboxError> {
    let mut stmt = conn.prepare_cached(
        "SELECT topic, number FROM changes WHERE number > ?1 ORDER BY number LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![after as i64, max_scanned as i64])?;
    let mut changed = Changed {
        cursor: after,
        ..Changed::default()
    };
    let mut scanned = 0;
    while let Some(row) = rows.next()? {
        let (topic, number): (Vec<u8>, i64) = (row.get(0)?, row.get(1)?);
        scanned += 1;
        let Ok(topic) = <[u8; 32]>::try_from(topic) else {
            // Not a topic this mailbox wrote; nobody's to name.
            changed.cursor = u64::try_from(number).unwrap_or(changed.cursor);
            continue;
        };
        if filter.may_hold(&topic) {
            if changed.topics.len() == max_topics {
                changed.more = true;
                return Ok(changed);
            }
            changed.topics.push(topic);
        }
        changed.cursor = u64::try_from(number).unwrap_or(changed.cursor);
    }
    if scanned < max_scanned {
        // Every change was looked at: the cursor moves to the last one given out.
        changed.cursor = changed.cursor.max(last);
    } else {
        changed.more = true;
    }
    Ok(changed)
}
