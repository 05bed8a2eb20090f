//! The mailbox's tables, and bringing an older file up to them.
//!
//! `topics` keeps, per topic, the next item number and the bytes and items kept, so
//! that quotas and `/metrics` read one row per topic instead of every item. Files made
//! before the item count (no `user_version`) get the column. The item counts are
//! recounted on every open (one pass over the items table), so a file an older relay
//! wrote to after an upgrade is right again. `topic_keys` holds each topic's pinned
//! mailbox key (see `pins`); an older file gets the table empty, and its topics pin
//! on their next signed put. `changes` (see `changes`) is new since schema 2 too and
//! starts empty; a relay from before it opens the file and leaves it alone, so it
//! needs no version of its own.

use rusqlite::Connection;

use super::MailboxError;

/// The schema version this build writes (2: `topic_keys`, the pinned mailbox keys).
const SCHEMA_VERSION: i64 = 2;

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS items (
    topic BLOB NOT NULL,
    seq INTEGER NOT NULL,
    sender BLOB NOT NULL,
    bytes BLOB NOT NULL,
    stored_at INTEGER NOT NULL,
    PRIMARY KEY (topic, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_by_age ON items (stored_at);
CREATE TABLE IF NOT EXISTS topics (
    topic BLOB PRIMARY KEY,
    next_seq INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    items INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS senders (
    sender BLOB PRIMARY KEY,
    bytes INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topic_keys (
    topic BLOB PRIMARY KEY,
    key BLOB NOT NULL,
    first_seq INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Makes the tables, or brings an older file's up to date; refuses a newer file's.
pub(super) fn prepare(conn: &mut Connection) -> Result<(), MailboxError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(MailboxError::Invalid(format!(
            "the mailbox file is from a newer relay (schema {version}; this one knows {SCHEMA_VERSION})"
        )));
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // A table that does not exist has no columns.
    let (had_topics, counts_items): (bool, bool) = tx.query_row(
        "SELECT COUNT(*) > 0, COALESCE(SUM(name = 'items'), 0) > 0 FROM pragma_table_info('topics')",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if had_topics && !counts_items {
        tx.execute_batch("ALTER TABLE topics ADD COLUMN items INTEGER NOT NULL DEFAULT 0;")?;
    }
    tx.execute_batch(TABLES)?;
    tx.execute_batch(super::changes::TABLE)?;
    tx.execute_batch(
        "UPDATE topics SET items = (SELECT COUNT(*) FROM items WHERE items.topic = topics.topic);",
    )?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::super::{Limits, Mailbox, Totals};

    /// A file from a relay before per-topic item counts: its items are counted once on
    /// open, and numbering and totals go on from there.
    #[test]
    fn a_file_from_before_item_counts_is_brought_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mailbox.sqlite");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE items (topic BLOB NOT NULL, seq INTEGER NOT NULL, sender BLOB NOT NULL,
                     bytes BLOB NOT NULL, stored_at INTEGER NOT NULL, PRIMARY KEY (topic, seq)) WITHOUT ROWID;
                 CREATE INDEX items_by_age ON items (stored_at);
                 CREATE TABLE topics (topic BLOB PRIMARY KEY, next_seq INTEGER NOT NULL,
                     bytes INTEGER NOT NULL) WITHOUT ROWID;
                 CREATE TABLE senders (sender BLOB PRIMARY KEY, bytes INTEGER NOT NULL) WITHOUT ROWID;
                 INSERT INTO items VALUES (x'0101', 1, x'61', x'0000000000', 0);
                 INSERT INTO items VALUES (x'0101', 2, x'61', x'000000', 0);
                 INSERT INTO items VALUES (x'0202', 1, x'62', x'00', 0);
                 INSERT INTO topics VALUES (x'0101', 3, 8), (x'0202', 2, 1), (x'0303', 4, 0);
                 INSERT INTO senders VALUES (x'61', 8), (x'62', 1);",
            )
            .unwrap();
        }
        let limits = Limits {
            topic_bytes: 1000,
            peer_bytes: 1000,
            retention: Duration::from_secs(3600),
        };
        let m = Mailbox::open(&path, limits).unwrap();
        assert_eq!(
            m.totals().unwrap(),
            Totals {
                items: 3,
                bytes: 9,
                topics: 2
            }
        );
        drop(m);
        // Opened again: already up to date, nothing counted twice.
        let mut m = Mailbox::open(&path, limits).unwrap();
        assert_eq!(m.totals().unwrap().items, 3);
        let mut topic = [0u8; 32];
        topic[..2].copy_from_slice(&[1, 1]);
        // (The old rows used 2-byte topics; a 32-byte one is a new topic.)
        assert_eq!(m.put(&topic, b"a", &[1; 4], 0).unwrap(), 1);
        assert_eq!(m.totals().unwrap().items, 4);

        // An older relay that wrote to the file after the upgrade left the count
        // behind: the next open counts again.
        m.conn
            .execute("DELETE FROM items WHERE topic = x'0101' AND seq = 1", [])
            .unwrap();
        drop(m);
        let m = Mailbox::open(&path, limits).unwrap();
        assert_eq!(m.totals().unwrap().items, 3);

        // A newer relay's file is refused, not misread.
        m.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(m);
        assert!(Mailbox::open(&path, limits).is_err());
    }
}
