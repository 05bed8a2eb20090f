//! The filter row's choices as the window sends them with a search or a listing,
//! checked and turned into the engine's [`DocumentFilter`] and [`SortOrder`]. The
//! words (`7d`, `read`, `title`) are read by the same functions as the CLI's flags.

use quire_engine::{DocumentFilter, MemberRole, Sharing, SortOrder, parse_age_ms};
use serde::Deserialize;

/// What the window asks to see; every field may be left out (meaning "any").
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ListFilter {
    /// `shared` (shared from here or joined from a link) or `mine` (shared with no one).
    #[serde(default)]
    pub(crate) sharing: Option<String>,
    /// `read` or `write`: this device's role in a shared document.
    #[serde(default)]
    pub(crate) role: Option<String>,
    /// Changed within this long: `1d`, `7d`, `30d` (any age the CLI takes).
    #[serde(default)]
    pub(crate) since: Option<String>,
    /// The trash instead of the live documents.
    #[serde(default)]
    pub(crate) in_trash: bool,
    /// `relevance`, `updated` or `title`.
    #[serde(default)]
    pub(crate) sort: Option<String>,
}

impl ListFilter {
    /// The engine's filter (ages counted back from `now_ms`) and order; a choice the
    /// engine does not know is refused with a message naming it.
    pub(crate) fn to_engine(&self, now_ms: i64) -> Result<(DocumentFilter, SortOrder), String> {
        let sharing = match self.sharing.as_deref() {
            None => None,
            Some("shared") => Some(Sharing::Shared),
            Some("mine") => Some(Sharing::LocalOnly),
            Some(other) => {
                return Err(format!(
                    "{other:?} is not a sharing filter: give shared or mine"
                ));
            }
        };
        let role = self
            .role
            .as_deref()
            .map(str::parse::<MemberRole>)
            .transpose()
            .map_err(|e| e.to_string())?;
        if role.is_some() && sharing == Some(Sharing::LocalOnly) {
            return Err(
                "a role filter covers shared documents only; it cannot go with \"only mine\""
                    .to_owned(),
            );
        }
        let changed_since = match self.since.as_deref() {
            None => None,
            Some(age) => Some(
                now_ms.saturating_sub(parse_age_ms(age).map_err(|e| format!("changed since {e}"))?),
            ),
        };
        let sort = self
            .sort
            .as_deref()
            .map(str::parse::<SortOrder>)
            .transpose()
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        Ok((
            DocumentFilter {
                in_trash: self.in_trash,
                sharing,
                role,
                changed_since,
            },
            sort,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn parsed(json: &str) -> Result<(DocumentFilter, SortOrder), String> {
        let filter: ListFilter = serde_json::from_str(json).map_err(|e| e.to_string())?;
        filter.to_engine(NOW)
    }

    #[test]
    fn an_empty_filter_is_the_default() {
        assert_eq!(
            parsed("{}"),
            Ok((DocumentFilter::default(), SortOrder::Relevance))
        );
    }

    #[test]
    fn every_choice_of_the_filter_row_maps_onto_the_engine() {
        let (filter, sort) = parsed(
            r#"{"sharing":"shared","role":"read","since":"7d","inTrash":true,"sort":"title"}"#,
        )
        .unwrap();
        assert_eq!(
            filter,
            DocumentFilter {
                in_trash: true,
                sharing: Some(Sharing::Shared),
                role: Some(MemberRole::Read),
                changed_since: Some(NOW - 7 * 86_400_000),
            }
        );
        assert_eq!(sort, SortOrder::Title);
        let (filter, sort) = parsed(r#"{"sharing":"mine","sort":"updated"}"#).unwrap();
        assert_eq!(filter.sharing, Some(Sharing::LocalOnly));
        assert_eq!(sort, SortOrder::Updated);
        assert_eq!(
            parsed(r#"{"role":"write"}"#).unwrap().0.role,
            Some(MemberRole::Write)
        );
    }

    #[test]
    fn bad_choices_are_refused_with_a_message_naming_them() {
        for (json, mentions) in [
            (r#"{"role":"owner"}"#, "\"owner\" is not a role"),
            (r#"{"since":"7"}"#, "changed since 7: the unit"),
            (r#"{"since":"a week"}"#, "give a number and a unit"),
            (r#"{"sort":"newest"}"#, "\"newest\" is not a sort order"),
            (
                r#"{"sharing":"public"}"#,
                "\"public\" is not a sharing filter",
            ),
            (r#"{"sharing":"mine","role":"read"}"#, "cannot go with"),
            (r#"{"colour":"red"}"#, "unknown field"),
        ] {
            let err = parsed(json).unwrap_err();
            assert!(err.contains(mentions), "{json}: {err}");
        }
    }
}
