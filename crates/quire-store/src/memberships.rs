//! Shared documents: the keys this device holds for a document (as the invite ticket
//! that carries them), its role, and whether it is syncing; plus small settings.
//!
//! The store does not interpret tickets; `quire-crypto` does. A document with no
//! membership row is local only.

use quire_doc::DocumentId;
use rusqlite::{OptionalExtension, Row, params};

use crate::documents::{DOC_ROWID, missing};
use crate::{Store, StoreError, WriteOp};

/// What this device may do with a shared document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberRole {
    /// Read and follow; local edits are refused.
    Read,
    /// Read and edit.
    Write,
}

impl MemberRole {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MemberRole::Read => "read",
            MemberRole::Write => "write",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// A shared document as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRecord {
    /// The document.
    pub id: DocumentId,
    /// Read or write.
    pub role: MemberRole,
    /// The invite ticket bytes holding the keys and addresses (secret: never log).
    pub ticket: Vec<u8>,
    /// When this device shared or joined it, ms since the epoch.
    pub joined_at: i64,
    /// Whether the node keeps it in sync (false after leaving).
    pub syncing: bool,
    /// When a catch-up with a peer last completed, ms since the epoch.
    pub last_sync: Option<i64>,
}

const COLUMNS: &str = "d.id, m.role, m.ticket, m.joined_at, m.syncing, m.last_sync";

fn record(row: &Row<'_>) -> rusqlite::Result<MembershipRecord> {
    let conversion = |i, e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e)
    };
    let id: String = row.get(0)?;
    let role: String = row.get(1)?;
    Ok(MembershipRecord {
        id: id.parse().map_err(|e| conversion(0, Box::new(e)))?,
        role: MemberRole::parse(&role)
            .ok_or_else(|| conversion(1, format!("unknown role {role}").into()))?,
        ticket: row.get(2)?,
        joined_at: row.get(3)?,
        syncing: row.get(4)?,
        last_sync: row.get(5)?,
    })
}

/// Records (or replaces) this device's keys for a document and turns syncing on.
/// A write membership is never downgraded by a later read ticket.
pub fn put_membership(id: DocumentId, role: MemberRole, ticket: Vec<u8>, now: i64) -> WriteOp {
    Box::new(move |c| {
        let n = c
            .prepare_cached(
                "INSERT INTO memberships (doc, role, ticket, joined_at, syncing)
                 SELECT rowid, ?2, ?3, ?4, 1 FROM documents WHERE id = ?1
                 ON CONFLICT (doc) DO UPDATE SET syncing = 1,
                   role = CASE WHEN memberships.role = 'write' THEN 'write' ELSE excluded.role END,
                   ticket = CASE WHEN memberships.role = 'write' AND excluded.role = 'read'
                                 THEN memberships.ticket ELSE excluded.ticket END",
            )?
            .execute(params![id.to_string(), role.as_str(), ticket, now])?;
        if n == 0 { Err(missing(&id)) } else { Ok(()) }
    })
}

/// Turns syncing of a shared document on or off (leave / re-join); keys are kept.
pub fn set_syncing(id: DocumentId, syncing: bool) -> WriteOp {
    Box::new(move |c| {
        let n = c
            .prepare_cached(&format!(
                "UPDATE memberships SET syncing = ?2 WHERE doc = {DOC_ROWID}"
            ))?
            .execute(params![id.to_string(), syncing])?;
        if n == 0 { Err(missing(&id)) } else { Ok(()) }
    })
}

/// Records when a catch-up with a peer last completed.
pub fn set_last_sync(id: DocumentId, at: i64) -> WriteOp {
    Box::new(move |c| {
        c.prepare_cached(&format!(
            "UPDATE memberships SET last_sync = ?2 WHERE doc = {DOC_ROWID}"
        ))?
        .execute(params![id.to_string(), at])?;
        Ok(())
    })
}

/// Sets a setting.
pub fn set_setting(key: String, value: String) -> WriteOp {
    Box::new(move |c| {
        c.prepare_cached(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![key, value])?;
        Ok(())
    })
}

impl Store {
    /// This device's membership of a document, if it is shared.
    pub fn membership(&self, id: &DocumentId) -> Result<Option<MembershipRecord>, StoreError> {
        let conn = self.reader()?;
        Ok(conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM memberships m JOIN documents d ON d.rowid = m.doc WHERE d.id = ?1"
            ))?
            .query_row([id.to_string()], record)
            .optional()?)
    }

    /// Every shared document, oldest membership first.
    pub fn memberships(&self) -> Result<Vec<MembershipRecord>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM memberships m JOIN documents d ON d.rowid = m.doc ORDER BY m.joined_at, d.rowid"
        ))?;
        let rows = stmt.query_map([], record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A setting's value.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let conn = self.reader()?;
        Ok(conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }
}
