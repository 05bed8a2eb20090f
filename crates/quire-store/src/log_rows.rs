//! How updates sit in the `updates` table. A row holds a run of consecutive updates
//! (by sequence number) of one document from one origin that were committed
//! together, each framed as a varint length and its bytes. A burst of keystrokes
//! thus costs one row per commit rather than one per keystroke, and loading reads
//! few rows; every update keeps its own sequence number.

use quire_doc::DocumentId;
use rusqlite::{Connection, params};

use crate::{Origin, StoreError};

/// The row being built from a commit group.
pub(crate) struct PendingRow {
    pub(crate) doc: DocumentId,
    pub(crate) rowid: i64,
    origin: Origin,
    first_seq: i64,
    last_seq: i64,
    pub(crate) at: i64,
    pub(crate) chars: usize,
    data: Vec<u8>,
    pub(crate) tickets: Vec<u64>,
}

/// One update to place in a row.
pub(crate) struct RowUpdate<'a> {
    pub(crate) doc: DocumentId,
    pub(crate) ticket: u64,
    pub(crate) seq: i64,
    pub(crate) origin: &'a Origin,
    pub(crate) at: i64,
    pub(crate) chars: usize,
    pub(crate) data: &'a [u8],
}

impl PendingRow {
    pub(crate) fn new(rowid: i64, u: &RowUpdate<'_>) -> Self {
        let mut row = Self {
            doc: u.doc,
            rowid,
            origin: u.origin.clone(),
            first_seq: u.seq,
            last_seq: u.seq,
            at: u.at,
            chars: u.chars,
            data: Vec::with_capacity(u.data.len() + 64),
            tickets: vec![u.ticket],
        };
        frame(&mut row.data, u.data);
        row
    }

    /// Adds `u` if it continues this row (same document and origin, next sequence).
    pub(crate) fn try_extend(&mut self, rowid: i64, u: &RowUpdate<'_>) -> bool {
        if rowid != self.rowid || *u.origin != self.origin || u.seq != self.last_seq + 1 {
            return false;
        }
        frame(&mut self.data, u.data);
        self.last_seq = u.seq;
        self.at = u.at;
        self.chars = u.chars;
        self.tickets.push(u.ticket);
        true
    }

    pub(crate) fn insert(&self, conn: &Connection) -> Result<(), StoreError> {
        conn.prepare_cached(
            "INSERT INTO updates (doc, seq, last_seq, origin, at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            self.rowid,
            self.first_seq,
            self.last_seq,
            self.origin.to_column(),
            self.at,
            self.data
        ])?;
        Ok(())
    }
}

fn frame(out: &mut Vec<u8>, update: &[u8]) {
    let mut len = update.len() as u64;
    while len >= 0x80 {
        out.push((len as u8) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(update);
}

/// Splits a row's data back into `(seq, update)` pairs, checking it holds exactly
/// the updates `first_seq..=last_seq`.
pub(crate) fn unframe(
    mut data: &[u8],
    first_seq: i64,
    last_seq: i64,
) -> Result<Vec<(i64, Vec<u8>)>, &'static str> {
    let expected = last_seq
        .checked_sub(first_seq)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or("sequence range is inverted")?
        + 1;
    // Every framed update takes at least one byte.
    if expected > data.len() {
        return Err("row claims more updates than it has bytes");
    }
    let mut out = Vec::with_capacity(expected);
    let mut seq = first_seq;
    while !data.is_empty() {
        let mut len = 0u64;
        let mut shift = 0;
        loop {
            let (&b, rest) = data.split_first().ok_or("truncated length")?;
            data = rest;
            len |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 56 {
                return Err("length too long");
            }
        }
        let len = usize::try_from(len).map_err(|_| "length too large")?;
        if len > data.len() {
            return Err("update runs past the row");
        }
        let (update, rest) = data.split_at(len);
        out.push((seq, update.to_vec()));
        data = rest;
        seq += 1;
    }
    if out.len() != expected {
        return Err("row holds a different number of updates than its sequence range");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_damage_is_caught() {
        let mut data = Vec::new();
        for u in [&b"a"[..], &[7u8; 300][..], &b""[..]] {
            frame(&mut data, u);
        }
        let rows = unframe(&data, 5, 7).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1], (6, vec![7u8; 300]));
        assert!(unframe(&data, 5, 8).is_err());
        assert!(unframe(&data[..data.len() - 1], 5, 7).is_err());
        assert!(unframe(&[0xff; 20], 1, 1).is_err());
        assert!(unframe(&data, 7, 5).is_err());
    }
}
