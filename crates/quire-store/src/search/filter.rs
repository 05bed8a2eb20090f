//! Which documents a search or a listing covers, and in what order.

use rusqlite::types::Value;

use crate::MemberRole;

/// Which documents to include. The default: live documents, shared or not, any age.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentFilter {
    /// Documents in the trash instead of live ones.
    pub in_trash: bool,
    /// Only shared documents, or only documents shared with no one.
    pub sharing: Option<Sharing>,
    /// Only shared documents where this device has this role.
    pub role: Option<MemberRole>,
    /// Only documents changed at or after this time, ms since the epoch.
    pub changed_since: Option<i64>,
}

/// Shared or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Holds sharing keys: shared from this device, or joined from a link.
    Shared,
    /// Never shared: only on this device.
    LocalOnly,
}

/// The order of results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// Best match first (a listing without a query falls back to `Updated`).
    #[default]
    Relevance,
    /// Most recently changed first.
    Updated,
    /// By title, case-insensitively, then most recently changed.
    Title,
}

impl DocumentFilter {
    /// SQL conditions on `documents d` (joined with `memberships m` on `d.rowid`), and
    /// their parameters, numbered from `?{first}`.
    pub(crate) fn sql(&self, first: usize) -> (String, Vec<Value>) {
        let mut conds = vec![if self.in_trash {
            "d.deleted_at IS NOT NULL".to_owned()
        } else {
            "d.deleted_at IS NULL".to_owned()
        }];
        let mut params = Vec::new();
        match self.sharing {
            Some(Sharing::Shared) => conds.push("m.doc IS NOT NULL".into()),
            Some(Sharing::LocalOnly) => conds.push("m.doc IS NULL".into()),
            None => {}
        }
        if let Some(role) = self.role {
            conds.push(format!("m.role = ?{}", first + params.len()));
            params.push(Value::Text(role.as_str().to_owned()));
        }
        if let Some(since) = self.changed_since {
            conds.push(format!("d.updated_at >= ?{}", first + params.len()));
            params.push(Value::Integer(since));
        }
        (conds.join(" AND "), params)
    }
}

impl SortOrder {
    /// The ORDER BY clause; `rank` is the relevance column when there is a query.
    pub(crate) fn sql(self, has_rank: bool) -> &'static str {
        match (self, has_rank) {
            (SortOrder::Relevance, true) => "rank, d.updated_at DESC",
            (SortOrder::Relevance, false) | (SortOrder::Updated, _) => {
                "d.updated_at DESC, d.rowid DESC"
            }
            (SortOrder::Title, _) => "d.title COLLATE NOCASE, d.updated_at DESC",
        }
    }
}
