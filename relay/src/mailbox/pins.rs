//! The mailbox key each topic is pinned to, and from which item on.
//!
//! The first put the mailbox stores for a topic pins the key that signed it (trust
//! on first use: the relay cannot tell a writer's key from anyone's, since the
//! document id stays hidden behind the topic hash). From then on only that key's
//! puts and compactions are kept. A compaction never pins: a topic nobody has put
//! to under a key cannot be compacted.
//!
//! Files from before signatures hold topics with items and no pin; the next signed
//! put pins them. The pin records the first item number kept under it, and a
//! compaction supersedes only items from that number on: items stored before the
//! pin (by anyone, unsigned) are never removed by a compaction, only by retention.
//! So whoever races to pin such a topic first (any allowed device that knows its
//! hash) can lock the writers out of that relay's mailbox for that topic, but
//! cannot wipe what was there.

use rusqlite::{OptionalExtension, Transaction, params};

use super::MailboxError;

/// A topic's pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pin {
    /// The mailbox public key.
    pub(super) key: [u8; 32],
    /// The number of the first item stored under the pin; a compaction removes
    /// nothing before it.
    pub(super) first_seq: u64,
}

/// `topic`'s pin, if it has one.
pub(super) fn read(tx: &Transaction<'_>, topic: &[u8; 32]) -> Result<Option<Pin>, MailboxError> {
    let row: Option<(Vec<u8>, i64)> = tx
        .prepare_cached("SELECT key, first_seq FROM topic_keys WHERE topic = ?1")?
        .query_row([&topic[..]], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((key, first_seq)) = row else {
        return Ok(None);
    };
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| MailboxError::Invalid("the mailbox file holds a damaged topic key".into()))?;
    Ok(Some(Pin {
        key,
        first_seq: u64::try_from(first_seq).unwrap_or(0),
    }))
}

/// Pins `topic` to `key` from item `first_seq` on.
pub(super) fn write(tx: &Transaction<'_>, topic: &[u8; 32], pin: Pin) -> Result<(), MailboxError> {
    tx.prepare_cached("INSERT INTO topic_keys (topic, key, first_seq) VALUES (?1, ?2, ?3)")?
        .execute(params![&topic[..], &pin.key[..], pin.first_seq as i64])?;
    Ok(())
}

/// The refusal for a request signed by `key` on a topic pinned to another key.
pub(super) fn not_writer(what: &str) -> MailboxError {
    MailboxError::NotWriter(format!(
        "{what} refused: it is not signed with the mailbox key this relay pinned for the document at its first put (only the document's writers may write to its mailbox)"
    ))
}
