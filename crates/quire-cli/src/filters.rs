//! The filter and sort flags shared by `quire search` and `quire doc ls`.

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use quire_engine::{DocumentFilter, MemberRole, Sharing, SortOrder, now_ms};

/// The longest `--since` accepted: past it the age means "everything".
const MAX_SINCE_DAYS: i64 = 100 * 366;

#[derive(Debug, Clone, Default, Args)]
pub(crate) struct FilterArgs {
    /// Only shared documents (shared from this device or joined from a link).
    #[arg(long, conflicts_with = "mine")]
    pub(crate) shared: bool,
    /// Only documents shared with no one (on this device only).
    #[arg(long, conflicts_with = "role")]
    pub(crate) mine: bool,
    /// Only shared documents where this device may read only, or write.
    #[arg(long, value_enum)]
    pub(crate) role: Option<RoleArg>,
    /// Only documents changed within this long: 45s, 30m, 12h, 7d or 2w.
    #[arg(long, value_name = "AGE")]
    pub(crate) since: Option<String>,
    /// Look in the trash instead of the live documents.
    #[arg(long)]
    pub(crate) in_trash: bool,
    /// Order: relevance (the default of search), updated (the default of ls), title.
    #[arg(long, value_enum)]
    pub(crate) sort: Option<SortArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RoleArg {
    Read,
    Write,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SortArg {
    Relevance,
    Updated,
    Title,
}

impl FilterArgs {
    /// The engine's filter, with `--since` counted back from now.
    pub(crate) fn filter(&self) -> Result<DocumentFilter> {
        let changed_since = match &self.since {
            Some(age) => Some(now_ms() - age_ms(age)?),
            None => None,
        };
        Ok(DocumentFilter {
            in_trash: self.in_trash,
            sharing: if self.shared {
                Some(Sharing::Shared)
            } else if self.mine {
                Some(Sharing::LocalOnly)
            } else {
                None
            },
            role: self.role.map(|r| match r {
                RoleArg::Read => MemberRole::Read,
                RoleArg::Write => MemberRole::Write,
            }),
            changed_since,
        })
    }

    /// The sort order, `default` if none was given.
    pub(crate) fn sort(&self, default: SortOrder) -> SortOrder {
        match self.sort {
            None => default,
            Some(SortArg::Relevance) => SortOrder::Relevance,
            Some(SortArg::Updated) => SortOrder::Updated,
            Some(SortArg::Title) => SortOrder::Title,
        }
    }
}

/// `7d` and the like, in milliseconds.
fn age_ms(age: &str) -> Result<i64> {
    let age = age.trim();
    let split = age.find(|c: char| !c.is_ascii_digit()).unwrap_or(age.len());
    let (number, unit) = age.split_at(split);
    let Ok(number) = number.parse::<i64>() else {
        bail!("--since {age}: give a number and a unit, e.g. 30m, 12h, 7d or 2w");
    };
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => bail!("--since {age}: the unit must be s, m, h, d or w (e.g. 7d)"),
    };
    Ok(number
        .saturating_mul(unit_ms)
        .min(MAX_SINCE_DAYS * 86_400_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse() {
        assert_eq!(age_ms("7d").ok(), Some(7 * 86_400_000));
        assert_eq!(age_ms("30m").ok(), Some(1_800_000));
        assert_eq!(
            age_ms("99999999999999w").ok(),
            Some(MAX_SINCE_DAYS * 86_400_000)
        );
        assert!(age_ms("7").is_err());
        assert!(age_ms("d").is_err());
        assert!(age_ms("7 days").is_err());
    }
}
