//! Version checkpoints. Each version stores its text as a patch against the version
//! before it (a keyframe stores the whole text), so history costs little space and
//! any version's text is rebuilt by replaying patches from the nearest keyframe.

use quire_doc::DocumentId;
use quire_doc::diff::{apply_splices, decode_splices};
use rusqlite::{OptionalExtension, params};

use crate::documents::{DOC_ROWID, missing};
use crate::{Store, StoreError, WriteOp};

/// Why a version exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionKind {
    /// Taken automatically (after a pause, or every so many edits).
    Auto,
    /// Named by the user.
    Named,
    /// Taken just after restoring an older version.
    Restore,
}

impl VersionKind {
    fn as_str(self) -> &'static str {
        match self {
            VersionKind::Auto => "auto",
            VersionKind::Named => "named",
            VersionKind::Restore => "restore",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "named" => VersionKind::Named,
            "restore" => VersionKind::Restore,
            _ => VersionKind::Auto,
        }
    }
}

/// A version as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    /// Number within the document, from 1.
    pub number: i64,
    /// Why it exists.
    pub kind: VersionKind,
    /// The user's name for it.
    pub name: Option<String>,
    /// When it was taken, ms since the epoch.
    pub created_at: i64,
    /// Text length in characters.
    pub chars: i64,
}

/// Arguments of [`add_version`].
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// Number within the document (the previous number + 1).
    pub number: i64,
    /// Why it exists.
    pub kind: VersionKind,
    /// The user's name for it.
    pub name: Option<String>,
    /// When it was taken.
    pub created_at: i64,
    /// Text length in characters.
    pub chars: usize,
    /// The patch holds the whole text rather than a change from the previous version.
    pub keyframe: bool,
    /// Encoded splices (see `quire_doc::diff::encode_splices`).
    pub patch: Vec<u8>,
}

/// Stores a version.
pub fn add_version(id: DocumentId, v: NewVersion) -> WriteOp {
    Box::new(move |c| {
        let n = c
            .prepare_cached(
                "INSERT INTO versions (doc, number, kind, name, created_at, chars, keyframe, patch)
                 SELECT rowid, ?2, ?3, ?4, ?5, ?6, ?7, ?8 FROM documents WHERE id = ?1",
            )?
            .execute(params![
                id.to_string(),
                v.number,
                v.kind.as_str(),
                v.name,
                v.created_at,
                v.chars as i64,
                v.keyframe,
                v.patch
            ])?;
        if n == 0 { Err(missing(&id)) } else { Ok(()) }
    })
}

impl Store {
    /// A document's versions, oldest first.
    pub fn versions(&self, id: &DocumentId) -> Result<Vec<VersionRecord>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT number, kind, name, created_at, chars FROM versions WHERE doc = {DOC_ROWID} ORDER BY number"
        ))?;
        let rows = stmt.query_map([id.to_string()], |r| {
            Ok(VersionRecord {
                number: r.get(0)?,
                kind: VersionKind::parse(&r.get::<_, String>(1)?),
                name: r.get(2)?,
                created_at: r.get(3)?,
                chars: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The text of version `number`.
    pub fn version_text(&self, id: &DocumentId, number: i64) -> Result<String, StoreError> {
        let conn = self.reader()?;
        let tx = conn.unchecked_transaction()?;
        let keyframe: Option<i64> = tx
            .prepare_cached(&format!(
                "SELECT max(number) FROM versions WHERE doc = {DOC_ROWID} AND number <= ?2 AND keyframe"
            ))?
            .query_row(params![id.to_string(), number], |r| r.get(0))
            .optional()?
            .flatten();
        let exists: Option<i64> = tx
            .prepare_cached(&format!(
                "SELECT number FROM versions WHERE doc = {DOC_ROWID} AND number = ?2"
            ))?
            .query_row(params![id.to_string(), number], |r| r.get(0))
            .optional()?;
        let (Some(from), Some(_)) = (keyframe, exists) else {
            return Err(StoreError::NoSuchVersion {
                doc: id.to_string(),
                number,
            });
        };
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT patch FROM versions WHERE doc = {DOC_ROWID} AND number BETWEEN ?2 AND ?3 ORDER BY number"
        ))?;
        let patches = stmt
            .query_map(params![id.to_string(), from, number], |r| {
                r.get::<_, Vec<u8>>(0)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let damaged = |e: quire_doc::diff::PatchError| StoreError::DamagedData {
            doc: id.to_string(),
            detail: format!("version {number}: {e}"),
        };
        // A gap in the chain would rebuild the wrong text: refuse instead.
        if patches.len() as i64 != number - from + 1 {
            return Err(StoreError::DamagedData {
                doc: id.to_string(),
                detail: format!("versions {from} to {number} are not all stored"),
            });
        }
        let mut text = String::new();
        for patch in patches {
            text =
                apply_splices(&text, &decode_splices(&patch).map_err(damaged)?).map_err(damaged)?;
        }
        Ok(text)
    }
}
