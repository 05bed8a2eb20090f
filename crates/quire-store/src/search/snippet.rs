//! The passage shown under a search result, with the matches marked.
//!
//! Computed here rather than by FTS5's `snippet()`: the index holds folded terms and
//! bigrams, not the text, and the marks must cover the characters the user sees (the
//! whole `Straße` for `strasse`, `寿司` inside a sentence).

use std::ops::Range;

use super::tokens::{Piece, Query, QueryPiece, pieces};

/// Characters of body text in a snippet (about the 16 words FTS5 showed before).
const SNIPPET_CHARS: usize = 96;
/// Characters of context kept before the first match.
const SNIPPET_LEAD_CHARS: usize = 24;
const ELLIPSIS: &str = "…";

/// Byte ranges of `text` that `query` matches, in order, not overlapping.
pub(crate) fn matches(text: &str, query: &Query) -> Vec<Range<usize>> {
    let mut found: Vec<Range<usize>> = Vec::new();
    for piece in pieces(text) {
        match piece {
            Piece::Word { term, at } | Piece::Emoji { term, at } => {
                let hit = query.pieces.iter().any(|q| match q {
                    QueryPiece::Term { term: t, prefix } => {
                        term == *t || (*prefix && term.starts_with(t.as_str()))
                    }
                    QueryPiece::Run(_) => false,
                });
                if hit {
                    found.push(at);
                }
            }
            Piece::Run { chars } => {
                for q in &query.pieces {
                    let QueryPiece::Run(wanted) = q else { continue };
                    if wanted.is_empty() || wanted.len() > chars.len() {
                        continue;
                    }
                    for (start, window) in chars.windows(wanted.len()).enumerate() {
                        if window.iter().map(|(c, _)| c).eq(wanted.iter()) {
                            let first = chars.get(start).map(|(_, r)| r.start);
                            let last = chars.get(start + wanted.len() - 1).map(|(_, r)| r.end);
                            if let (Some(s), Some(e)) = (first, last) {
                                found.push(s..e);
                            }
                        }
                    }
                }
            }
        }
    }
    found.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(found.len());
    for r in found {
        match merged.last_mut() {
            Some(prev) if r.start <= prev.end => prev.end = prev.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// A passage of `body` around its first match (its start if none), on one line, with
/// "…" where it was cut, and the byte ranges of the snippet that matched.
pub(crate) fn snippet(body: &str, query: &Query) -> (String, Vec<Range<usize>>) {
    let found = matches(body, query);
    let starts: Vec<usize> = body.char_indices().map(|(i, _)| i).collect();
    let char_at = |byte: usize| starts.partition_point(|&s| s < byte);
    let (first, lead) = match found.first() {
        Some(r) => {
            let at = char_at(r.start);
            (at, at.min(SNIPPET_LEAD_CHARS))
        }
        None => (0, 0),
    };
    let mut from_char = first - lead;
    // Start after a space in the lead, if there is one, rather than inside a word.
    if from_char > 0 {
        let lead_text = body
            .get(
                starts.get(from_char).copied().unwrap_or(0)
                    ..starts.get(first).copied().unwrap_or(body.len()),
            )
            .unwrap_or("");
        if let Some(space) = lead_text.find(char::is_whitespace) {
            from_char += lead_text.get(..space).map_or(0, |s| s.chars().count()) + 1;
        }
    }
    let to_char = (from_char + SNIPPET_CHARS).min(starts.len());
    let from = starts.get(from_char).copied().unwrap_or(body.len());
    let to = starts.get(to_char).copied().unwrap_or(body.len());
    let mut out = String::with_capacity(to - from + 2 * ELLIPSIS.len());
    if from > 0 {
        out.push_str(ELLIPSIS);
    }
    let shift = out.len();
    out.extend(
        body.get(from..to)
            .unwrap_or("")
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
    );
    if to < body.len() {
        out.push_str(ELLIPSIS);
    }
    let highlights = found
        .into_iter()
        .filter(|r| r.start >= from && r.end <= to)
        .map(|r| r.start - from + shift..r.end - from + shift)
        .collect();
    (out, highlights)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(body: &str, query: &str) -> Vec<String> {
        let Some(q) = Query::parse(query) else {
            return Vec::new();
        };
        let (s, hs) = snippet(body, &q);
        hs.into_iter()
            .map(|r| s.get(r).unwrap_or("<not a char boundary>").to_owned())
            .collect()
    }

    #[test]
    fn highlights_cover_what_the_user_sees() {
        assert_eq!(
            marked("Straße und Größe", "strasse grosse"),
            ["Straße", "Größe"]
        );
        assert_eq!(marked("東京で寿司を食べました。", "寿司"), ["寿司"]);
        assert_eq!(marked("東京で寿司を食べました。", "司"), ["司"]);
        assert_eq!(
            marked("Crème brûlée at the café", "cafe cre"),
            ["Crème", "café"]
        );
        assert_eq!(marked("كَتَبَ الولد", "كتب"), ["كَتَبَ"]);
        assert_eq!(marked("I 🍣 love", "🍣"), ["🍣"]);
    }

    #[test]
    fn long_bodies_are_cut_around_the_match() {
        let body = format!("{} needle {}", "hay ".repeat(100), "straw ".repeat(100));
        let q = Query::parse("needle").unwrap_or_else(|| unreachable!());
        let (s, hs) = snippet(&body, &q);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert_eq!(hs.len(), 1);
        assert_eq!(hs.first().and_then(|r| s.get(r.clone())), Some("needle"));
        assert!(s.chars().count() <= SNIPPET_CHARS + 2);
    }
}
