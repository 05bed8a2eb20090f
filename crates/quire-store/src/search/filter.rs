//! Which documents a search or a listing covers, and in what order; and the words a
//! person types for them (`7d`, `read`, `title`), read the same way by the CLI's flags
//! and the desktop app's filter row.

use std::str::FromStr;

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

/// The longest age [`parse_age_ms`] gives: past it an age means "everything"
/// (and no multiplication can overflow).
pub const MAX_AGE_MS: i64 = 100 * 366 * 86_400_000;

/// Text that does not name an age, a role or a sort order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterTextError {
    /// An age without a leading number.
    #[error("{0}: give a number and a unit, e.g. 30m, 12h, 7d or 2w")]
    AgeNumber(String),
    /// An age whose unit is not one of s, m, h, d, w.
    #[error("{0}: the unit must be s, m, h, d or w (e.g. 7d)")]
    AgeUnit(String),
    /// Not `read` or `write`.
    #[error("{0:?} is not a role: give read or write")]
    Role(String),
    /// Not `relevance`, `updated` or `title`.
    #[error("{0:?} is not a sort order: give relevance, updated or title")]
    Sort(String),
}

/// An age such as `45s`, `30m`, `12h`, `7d` or `2w`, in milliseconds (at most
/// [`MAX_AGE_MS`]).
pub fn parse_age_ms(age: &str) -> Result<i64, FilterTextError> {
    let age = age.trim();
    let split = age.find(|c: char| !c.is_ascii_digit()).unwrap_or(age.len());
    let (number, unit) = age.split_at(split);
    let Ok(number) = number.parse::<i64>() else {
        return Err(FilterTextError::AgeNumber(age.to_owned()));
    };
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return Err(FilterTextError::AgeUnit(age.to_owned())),
    };
    Ok(number.saturating_mul(unit_ms).min(MAX_AGE_MS))
}

impl FromStr for MemberRole {
    type Err = FilterTextError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(MemberRole::Read),
            "write" => Ok(MemberRole::Write),
            _ => Err(FilterTextError::Role(s.to_owned())),
        }
    }
}

impl FromStr for SortOrder {
    type Err = FilterTextError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "relevance" => Ok(SortOrder::Relevance),
            "updated" => Ok(SortOrder::Updated),
            "title" => Ok(SortOrder::Title),
            _ => Err(FilterTextError::Sort(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse() {
        assert_eq!(parse_age_ms("7d"), Ok(7 * 86_400_000));
        assert_eq!(parse_age_ms("30m"), Ok(1_800_000));
        assert_eq!(parse_age_ms("99999999999999w"), Ok(MAX_AGE_MS));
        assert!(matches!(
            parse_age_ms("7"),
            Err(FilterTextError::AgeUnit(_))
        ));
        assert!(matches!(
            parse_age_ms("d"),
            Err(FilterTextError::AgeNumber(_))
        ));
        assert!(parse_age_ms("7 days").is_err());
        assert!(parse_age_ms("").is_err());
    }

    #[test]
    fn roles_and_orders_parse_and_others_are_refused() {
        assert_eq!("read".parse(), Ok(MemberRole::Read));
        assert_eq!("write".parse(), Ok(MemberRole::Write));
        assert!("owner".parse::<MemberRole>().is_err());
        assert_eq!("title".parse(), Ok(SortOrder::Title));
        assert_eq!("updated".parse(), Ok(SortOrder::Updated));
        assert_eq!("relevance".parse(), Ok(SortOrder::Relevance));
        assert!("newest".parse::<SortOrder>().is_err());
    }
}
