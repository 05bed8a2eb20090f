//! The append-only update log and the snapshot it is compacted into.

use quire_doc::DocumentId;
use rusqlite::{Connection, OptionalExtension, params};

use crate::documents::{DOC_ROWID, missing};
use crate::log_rows::unframe;
use crate::{Store, StoreError, WriteOp};

/// Where an update came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Typed on this device.
    Local,
    /// Received from a peer (its peer id).
    Peer(String),
    /// Fetched from a relay's mailbox (the relay's address).
    Relay(String),
}

impl Origin {
    pub(crate) fn to_column(&self) -> String {
        match self {
            Origin::Local => "local".into(),
            Origin::Peer(p) => format!("peer:{p}"),
            Origin::Relay(r) => format!("relay:{r}"),
        }
    }
}

/// Everything stored of a document's content: load the snapshot, then the updates.
#[derive(Debug, Clone, Default)]
pub struct StoredState {
    /// The compacted state, if there is one.
    pub snapshot: Option<Vec<u8>>,
    /// The log sequence number the snapshot includes.
    pub covers_seq: i64,
    /// Updates after the snapshot, in order, with their sequence numbers.
    pub updates: Vec<(i64, Vec<u8>)>,
}

impl StoredState {
    /// Highest sequence number stored.
    pub fn last_seq(&self) -> i64 {
        self.updates
            .last()
            .map(|(s, _)| *s)
            .unwrap_or(self.covers_seq)
    }

    /// Bytes in the log after the snapshot.
    pub fn log_bytes(&self) -> usize {
        self.updates.iter().map(|(_, u)| u.len()).sum()
    }
}

/// Replaces the snapshot with `snapshot`, which includes every update up to
/// `covers_seq`, and drops those updates from the log.
pub(crate) fn compact(id: DocumentId, covers_seq: i64, at: i64, snapshot: Vec<u8>) -> WriteOp {
    Box::new(move |c| {
        let n = c
            .prepare_cached(
                "INSERT OR REPLACE INTO snapshots (doc, covers_seq, created_at, data) SELECT rowid, ?2, ?3, ?4 FROM documents WHERE id = ?1",
            )?
            .execute(params![id.to_string(), covers_seq, at, snapshot])?;
        if n == 0 {
            return Err(missing(&id));
        }
        c.prepare_cached(&format!(
            "DELETE FROM updates WHERE doc = {DOC_ROWID} AND last_seq <= ?2"
        ))?
        .execute(params![id.to_string(), covers_seq])?;
        // The log's pages are free now: a long log leaves most of the file free.
        crate::free_pages::hand_back_if_worthwhile(c);
        Ok(())
    })
}

impl Store {
    /// The snapshot and the log after it.
    pub fn load_state(&self, id: &DocumentId) -> Result<StoredState, StoreError> {
        let conn = self.reader()?;
        // One read transaction: the snapshot and the log must agree.
        let tx = conn.unchecked_transaction()?;
        let state = read_state(&tx, id)?;
        tx.finish()?;
        Ok(state)
    }
}

/// The snapshot and the log after it, read on `conn` (inside a transaction, so they
/// agree).
pub(crate) fn read_state(tx: &Connection, id: &DocumentId) -> Result<StoredState, StoreError> {
    let exists: Option<i64> = tx
        .prepare_cached("SELECT rowid FROM documents WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    let rowid = exists.ok_or_else(|| missing(id))?;
    let (covers_seq, snapshot) = tx
        .prepare_cached("SELECT covers_seq, data FROM snapshots WHERE doc = ?1")?
        .query_row([rowid], |r| Ok((r.get(0)?, Some(r.get(1)?))))
        .optional()?
        .unwrap_or((0, None));
    let mut stmt = tx.prepare_cached(
        "SELECT seq, last_seq, data FROM updates WHERE doc = ?1 AND last_seq > ?2 ORDER BY seq",
    )?;
    let rows = stmt
        .query_map(params![rowid, covers_seq], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    drop(stmt);
    let mut updates = Vec::new();
    for (first, last, data) in rows {
        let framed = unframe(&data, first, last).map_err(|detail| StoreError::DamagedData {
            doc: id.to_string(),
            detail: format!("update log row {first}..={last}: {detail}"),
        })?;
        updates.extend(framed.into_iter().filter(|(seq, _)| *seq > covers_seq));
    }
    Ok(StoredState {
        snapshot,
        covers_seq,
        updates,
    })
}
