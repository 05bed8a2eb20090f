//! Full-text search over titles and bodies (SQLite FTS5, ranked with BM25).

use std::ops::Range;

use quire_doc::DocumentId;
use rusqlite::params;

use crate::documents::DOC_ROWID;
use crate::{Store, StoreError, WriteOp};

/// Weight of a title match against a body match in the ranking.
const TITLE_WEIGHT: f64 = 10.0;
/// Approximate number of words in a snippet.
const SNIPPET_WORDS: i64 = 16;
const MARK_OPEN: char = '\u{2}';
const MARK_CLOSE: char = '\u{3}';

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The document.
    pub id: DocumentId,
    /// Its title.
    pub title: String,
    /// A passage of the body around the matches ("…" where it was cut).
    pub snippet: String,
    /// Byte ranges of `snippet` that matched the query.
    pub highlights: Vec<Range<usize>>,
    /// Relevance; higher is better.
    pub score: f64,
}

/// (Re)indexes a document's title and body.
pub fn index_text(id: DocumentId, title: String, body: String) -> WriteOp {
    Box::new(move |c| {
        c.prepare_cached(&format!("DELETE FROM search WHERE rowid = {DOC_ROWID}"))?
            .execute([id.to_string()])?;
        let n = c
            .prepare_cached("INSERT INTO search (rowid, title, body) SELECT rowid, ?2, ?3 FROM documents WHERE id = ?1")?
            .execute(params![id.to_string(), title, body])?;
        // A purged document has no row: nothing to index.
        if n == 0 {
            Err(crate::documents::missing(&id))
        } else {
            Ok(())
        }
    })
}

/// Turns what a user typed into an FTS5 query: every word must match, the last one as a
/// prefix (so results appear while typing). Operators and quotes are treated as text.
fn fts_query(input: &str) -> Option<String> {
    let words: Vec<&str> = input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let (last, rest) = words.split_last()?;
    let mut q: Vec<String> = rest.iter().map(|w| format!("\"{w}\"")).collect();
    q.push(format!("\"{last}\"*"));
    Some(q.join(" "))
}

/// Strips the match markers from a snippet and returns where they were.
fn highlight_ranges(marked: &str) -> (String, Vec<Range<usize>>) {
    let mut text = String::with_capacity(marked.len());
    let mut ranges = Vec::new();
    let mut open = None;
    for c in marked.chars() {
        match c {
            MARK_OPEN => open = Some(text.len()),
            MARK_CLOSE => {
                if let Some(start) = open.take() {
                    ranges.push(start..text.len());
                }
            }
            c => text.push(c),
        }
    }
    (text, ranges)
}

impl Store {
    /// Live documents matching `query`, best first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
        let Some(q) = fts_query(query) else {
            return Ok(Vec::new());
        };
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT d.id, d.title, snippet(search, 1, '{MARK_OPEN}', '{MARK_CLOSE}', '…', {SNIPPET_WORDS}),
                    bm25(search, {TITLE_WEIGHT}, 1.0) AS rank
             FROM search JOIN documents d ON d.rowid = search.rowid
             WHERE search MATCH ?1 AND d.deleted_at IS NULL
             ORDER BY rank LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![q, limit as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, f64>(3)?,
            ))
        })?;
        let mut hits = Vec::new();
        for row in rows {
            let (id, title, marked, rank) = row?;
            let Ok(id) = id.parse() else { continue };
            let (snippet, highlights) = highlight_ranges(&marked);
            hits.push(SearchHit {
                id,
                title,
                snippet,
                highlights,
                // bm25() is lower-is-better and negative; flip it.
                score: -rank,
            });
        }
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_sanitised() {
        assert_eq!(
            fts_query("hello wor").as_deref(),
            Some("\"hello\" \"wor\"*")
        );
        assert_eq!(
            fts_query("a\"b OR c*").as_deref(),
            Some("\"a\" \"b\" \"OR\" \"c\"*")
        );
        assert_eq!(fts_query("  -- "), None);
    }

    #[test]
    fn highlights_are_found() {
        let (t, r) = highlight_ranges("x \u{2}foo\u{3} y");
        assert_eq!(t, "x foo y");
        assert_eq!(r, vec![2..5]);
    }
}
