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

/// Bytes of a body read at a time while looking for its first match (then up to the
/// next space, so no word is cut). A hit in a 10 MB document costs the passage around
/// its first match, not a pass over all 10 MB (measured: 3.7 s for a one-letter query
/// whose hits included one, in the app's debug build).
const SCAN_CHUNK_BYTES: usize = 16 * 1024;

/// The byte at which the first match of `query` in `body` starts, read a chunk at a
/// time; chunks end at a space, and every piece ends at one, so the pieces are the
/// same as the whole body's.
fn first_match(body: &str, query: &Query) -> Option<usize> {
    let mut from = 0;
    while from < body.len() {
        let to = word_end(body, floor_char(body, from + SCAN_CHUNK_BYTES));
        let chunk = body.get(from..to)?;
        if let Some(r) = matches(chunk, query).first() {
            return Some(from + r.start);
        }
        from = to;
    }
    None
}

/// The last character boundary at or before `at` (the end for `at` past it).
fn floor_char(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    (0..=at)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// `at`, moved on to the next whitespace (or the end).
fn word_end(text: &str, at: usize) -> usize {
    text.get(at..)
        .and_then(|rest| rest.find(char::is_whitespace))
        .map_or(text.len(), |i| at + i)
}

/// `at`, moved back to just after the previous whitespace (or the start).
fn word_start(text: &str, at: usize) -> usize {
    text.get(..at)
        .and_then(|head| head.char_indices().rev().find(|(_, c)| c.is_whitespace()))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

/// A passage of `body` around its first match (its start if none), on one line, with
/// "…" where it was cut, and the byte ranges of the snippet that matched.
pub(crate) fn snippet(body: &str, query: &Query) -> (String, Vec<Range<usize>>) {
    let first = first_match(body, query).unwrap_or(0);
    // Up to SNIPPET_LEAD_CHARS characters before the match.
    let mut from = body
        .get(..first)
        .and_then(|head| head.char_indices().rev().take(SNIPPET_LEAD_CHARS).last())
        .map_or(first, |(i, _)| i);
    // Start after a space in the lead, if there is one, rather than inside a word.
    if from > 0 {
        let lead_text = body.get(from..first).unwrap_or("");
        if let Some((space, c)) = lead_text.char_indices().find(|(_, c)| c.is_whitespace()) {
            from += space + c.len_utf8();
        }
    }
    let to = body
        .get(from..)
        .and_then(|rest| rest.char_indices().nth(SNIPPET_CHARS))
        .map_or(body.len(), |(i, _)| from + i);
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
    // The matches in the passage, found in it widened to whole words (as in the body).
    let (wide_from, wide_to) = (word_start(body, from), word_end(body, to));
    let found = matches(body.get(wide_from..wide_to).unwrap_or(""), query);
    let highlights = found
        .into_iter()
        .map(|r| r.start + wide_from..r.end + wide_from)
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
    fn a_match_far_into_a_long_body_is_found_whole_wherever_the_reading_stops() {
        // Many chunks of hay before the match.
        let body = format!("{}東京で寿司を食べた needle straw", "hay ".repeat(20_000));
        assert_eq!(marked(&body, "needle"), ["needle"]);
        assert_eq!(marked(&body, "寿司"), ["寿司"]);
        assert_eq!(marked(&body, "straw needle"), ["needle", "straw"]);
        // A word across a chunk's end is read whole.
        for shift in 0..8 {
            let body = format!("{}needle end", "x ".repeat((SCAN_CHUNK_BYTES - shift) / 2));
            assert_eq!(marked(&body, "needle"), ["needle"], "shift {shift}");
        }
        // A run without spaces longer than a chunk.
        let body = format!("{}寿司 end", "寿".repeat(SCAN_CHUNK_BYTES));
        assert_eq!(marked(&body, "寿司"), ["寿司"]);
        // No match: the start of the body, unmarked.
        assert!(marked(&"hay ".repeat(20_000), "needle").is_empty());
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
