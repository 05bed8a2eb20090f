//! The filter and sort flags shared by `quire search` and `quire doc ls`.

use anyhow::{Result, anyhow};
use clap::{Args, ValueEnum};
use quire_engine::{DocumentFilter, MemberRole, Sharing, SortOrder, now_ms, parse_age_ms};

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
            Some(age) => Some(now_ms() - parse_age_ms(age).map_err(|e| anyhow!("--since {e}"))?),
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
