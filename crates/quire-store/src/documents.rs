//! Document rows: metadata, trash and purge.

use quire_doc::DocumentId;
use rusqlite::{OptionalExtension, Row, params};

use crate::{Store, StoreError, WriteOp};

/// Whether a document is in use or in the trash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// A live document.
    Active,
    /// Deleted to the trash; can be restored or purged.
    Trashed,
}

/// A document's metadata as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    /// The id.
    pub id: DocumentId,
    /// The title.
    pub title: String,
    /// Creation time, ms since the epoch.
    pub created_at: i64,
    /// Last change, ms since the epoch.
    pub updated_at: i64,
    /// When it went to the trash, if it is there.
    pub deleted_at: Option<i64>,
    /// Body length in characters.
    pub chars: i64,
}

pub(crate) const COLUMNS: &str = "id, title, created_at, updated_at, deleted_at, chars";

pub(crate) fn record(row: &Row<'_>) -> rusqlite::Result<DocumentRecord> {
    let id: String = row.get(0)?;
    let id = id.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(DocumentRecord {
        id,
        title: row.get(1)?,
        created_at: row.get(2)?,
        updated_at: row.get(3)?,
        deleted_at: row.get(4)?,
        chars: row.get(5)?,
    })
}

/// SQL for the internal row number of document `?1`.
pub(crate) const DOC_ROWID: &str = "(SELECT rowid FROM documents WHERE id = ?1)";

pub(crate) fn missing(id: &DocumentId) -> StoreError {
    StoreError::NoSuchDocument(id.to_string())
}

/// Creates a document row, with `state` (a yrs update) as its first snapshot.
pub fn create_document(
    id: DocumentId,
    title: String,
    now: i64,
    chars: usize,
    state: Vec<u8>,
) -> WriteOp {
    Box::new(move |c| {
        c.prepare_cached(
            "INSERT INTO documents (id, title, created_at, updated_at, chars) VALUES (?1, ?2, ?3, ?3, ?4)",
        )?
        .execute(params![id.to_string(), title, now, chars as i64])?;
        if !state.is_empty() {
            c.prepare_cached(&format!(
                "INSERT INTO snapshots (doc, covers_seq, created_at, data) VALUES ({DOC_ROWID}, 0, ?2, ?3)"
            ))?
            .execute(params![id.to_string(), now, state])?;
        }
        Ok(())
    })
}

/// Sets the title.
pub fn rename(id: DocumentId, title: String, now: i64) -> WriteOp {
    Box::new(move |c| {
        let n = c
            .prepare_cached("UPDATE documents SET title = ?2, updated_at = ?3 WHERE id = ?1")?
            .execute(params![id.to_string(), title, now])?;
        if n == 0 { Err(missing(&id)) } else { Ok(()) }
    })
}

/// Moves a document to the trash or back.
pub fn set_lifecycle(id: DocumentId, lifecycle: Lifecycle, now: i64) -> WriteOp {
    Box::new(move |c| {
        let deleted_at = match lifecycle {
            Lifecycle::Active => None,
            Lifecycle::Trashed => Some(now),
        };
        let n = c
            .prepare_cached("UPDATE documents SET deleted_at = ?2 WHERE id = ?1")?
            .execute(params![id.to_string(), deleted_at])?;
        if n == 0 { Err(missing(&id)) } else { Ok(()) }
    })
}

/// Deletes a document and everything stored for it, for good.
pub fn purge(id: DocumentId) -> WriteOp {
    Box::new(move |c| {
        let rowid: Option<i64> = c.query_row(
            &format!("SELECT {DOC_ROWID}"),
            params![id.to_string()],
            |r| r.get(0),
        )?;
        if let Some(rowid) = rowid {
            crate::search::remove_entry(c, rowid)?;
        }
        let n = c.execute(
            "DELETE FROM documents WHERE id = ?1",
            params![id.to_string()],
        )?;
        if n == 0 {
            return Err(missing(&id));
        }
        // Its log, snapshot, versions and index entries are free pages now.
        crate::free_pages::hand_back_if_worthwhile(c);
        Ok(())
    })
}

impl Store {
    /// One document's metadata.
    pub fn document(&self, id: &DocumentId) -> Result<DocumentRecord, StoreError> {
        let conn = self.reader()?;
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM documents WHERE id = ?1"))?
            .query_row([id.to_string()], record)
            .optional()?
            .ok_or_else(|| missing(id))
    }

    /// Documents in the given state, most recently changed first.
    pub fn documents(&self, lifecycle: Lifecycle) -> Result<Vec<DocumentRecord>, StoreError> {
        let filter = match lifecycle {
            Lifecycle::Active => "deleted_at IS NULL",
            Lifecycle::Trashed => "deleted_at IS NOT NULL",
        };
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM documents WHERE {filter} ORDER BY updated_at DESC, rowid DESC"
        ))?;
        let rows = stmt.query_map([], record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Documents whose id starts with `needle` or whose title equals it (ignoring case).
    pub fn find_documents(&self, needle: &str) -> Result<Vec<DocumentRecord>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM documents WHERE substr(id, 1, length(?1)) = lower(?1) OR title = ?1 COLLATE NOCASE
             ORDER BY deleted_at IS NOT NULL, updated_at DESC"
        ))?;
        let rows = stmt.query_map([needle], record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
