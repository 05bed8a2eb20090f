//! Full-text search over titles and bodies in every script (SQLite FTS5, ranked with
//! BM25), with filters and sort orders shared with the plain document listing.
//!
//! The terms are made in Rust (`tokens`), so CJK and Thai words inside sentences,
//! `ß`/`ss`, Turkish i and Arabic with or without harakat all match; the snippet and
//! its highlights are cut from the stored text (`snippet`). The index is derived data:
//! a database from an older version, or one whose index pages are damaged, is
//! reindexed from the documents themselves (`rebuild`).

mod filter;
mod rebuild;
mod snippet;
mod tokens;

use std::ops::Range;

use quire_doc::DocumentId;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::documents::{DOC_ROWID, missing};
use crate::{DocumentRecord, Store, StoreError, WriteOp};

pub use filter::{DocumentFilter, FilterTextError, MAX_AGE_MS, Sharing, SortOrder, parse_age_ms};
pub use rebuild::IndexStatus;
pub(crate) use rebuild::{Progress, Rebuilder};
use tokens::Query;

/// Weight of a title match against a body match in the ranking.
const TITLE_WEIGHT: f64 = 10.0;

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The document.
    pub id: DocumentId,
    /// Its title.
    pub title: String,
    /// A passage of the body around the matches ("…" where it was cut).
    pub snippet: String,
    /// Byte ranges of `snippet` that matched the query (always on character
    /// boundaries).
    pub highlights: Vec<Range<usize>>,
    /// Relevance; higher is better.
    pub score: f64,
}

/// Writes the index entry of document `rowid`, replacing any earlier one.
pub(crate) fn write_entry(
    c: &Connection,
    rowid: i64,
    title: &str,
    body: &str,
) -> Result<(), StoreError> {
    c.prepare_cached("DELETE FROM search_index WHERE rowid = ?1")?
        .execute([rowid])?;
    c.prepare_cached("INSERT INTO search_index (rowid, title, body) VALUES (?1, ?2, ?3)")?
        .execute(params![
            rowid,
            tokens::index_terms(title),
            tokens::index_terms(body)
        ])?;
    c.prepare_cached("INSERT OR REPLACE INTO search_text (rowid, body) VALUES (?1, ?2)")?
        .execute(params![rowid, body])?;
    Ok(())
}

/// Removes document `rowid` from the index (before it is purged).
pub(crate) fn remove_entry(c: &Connection, rowid: i64) -> Result<(), StoreError> {
    c.prepare_cached("DELETE FROM search_index WHERE rowid = ?1")?
        .execute([rowid])?;
    c.prepare_cached("DELETE FROM search_text WHERE rowid = ?1")?
        .execute([rowid])?;
    Ok(())
}

/// (Re)indexes a document's title and body.
pub fn index_text(id: DocumentId, title: String, body: String) -> WriteOp {
    Box::new(move |c| {
        let rowid: Option<i64> = c
            .prepare_cached(&format!("SELECT {DOC_ROWID}"))?
            .query_row([id.to_string()], |r| r.get(0))?;
        // A purged document has no row: nothing to index.
        let rowid = rowid.ok_or_else(|| missing(&id))?;
        write_entry(c, rowid, &title, &body)
    })
}

/// Whether an error means the index's pages are damaged (SQLite or FTS5 said so).
fn is_damage(e: &StoreError) -> bool {
    match e {
        StoreError::Sqlite(e) => {
            e.sqlite_error_code() == Some(rusqlite::ffi::ErrorCode::DatabaseCorrupt)
        }
        StoreError::Corrupt { .. } => true,
        _ => false,
    }
}

impl Store {
    /// Live documents matching `query`, best first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
        self.search_documents(
            query,
            &DocumentFilter::default(),
            SortOrder::Relevance,
            limit,
        )
    }

    /// Documents matching `query` and `filter`, in `sort` order. A damaged index is
    /// rebuilt from the documents and the search answered from the new index.
    pub fn search_documents(
        &self,
        query: &str,
        filter: &DocumentFilter,
        sort: SortOrder,
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let Some(query) = Query::parse(query) else {
            return Ok(Vec::new());
        };
        match self.run_search(&query, filter, sort, limit) {
            Err(e) if is_damage(&e) => {
                tracing::warn!("the search index is damaged ({e}); rebuilding it");
                self.repair_search_index()?;
                self.run_search(&query, filter, sort, limit)
            }
            other => other,
        }
    }

    fn run_search(
        &self,
        query: &Query,
        filter: &DocumentFilter,
        sort: SortOrder,
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let (conds, mut values) = filter.sql(3);
        let order = sort.sql(true);
        let conn = self.reader()?;
        // Rank first, then read the text of the hits only: with a common word, the
        // ranking covers most documents, and reading every body doubled query time.
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT d.rowid, d.id, d.title, bm25(search_index, {TITLE_WEIGHT}, 1.0) AS rank
             FROM search_index
             JOIN documents d ON d.rowid = search_index.rowid
             LEFT JOIN memberships m ON m.doc = d.rowid
             WHERE search_index MATCH ?1 AND {conds}
             ORDER BY {order} LIMIT ?2"
        ))?;
        let mut all = vec![Value::Text(query.fts()), Value::Integer(limit as i64)];
        all.append(&mut values);
        let rows = stmt
            .query_map(params_from_iter(all), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, f64>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut text = conn.prepare_cached("SELECT body FROM search_text WHERE rowid = ?1")?;
        let mut hits = Vec::with_capacity(rows.len());
        for (rowid, id, title, rank) in rows {
            let Ok(id) = id.parse() else { continue };
            let body: String = text
                .query_row([rowid], |r| r.get(0))
                .optional()?
                .unwrap_or_default();
            let (snippet, highlights) = snippet::snippet(&body, query);
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

    /// Documents matching `filter` without a query, in `sort` order (`Relevance`
    /// means most recently changed first).
    pub fn list_documents(
        &self,
        filter: &DocumentFilter,
        sort: SortOrder,
    ) -> Result<Vec<DocumentRecord>, StoreError> {
        let (conds, values) = filter.sql(1);
        let order = sort.sql(false);
        let columns = crate::documents::COLUMNS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {columns} FROM documents d LEFT JOIN memberships m ON m.doc = d.rowid
             WHERE {conds} ORDER BY {order}"
        ))?;
        let rows = stmt.query_map(params_from_iter(values), crate::documents::record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether the index covers every document, or how far its rebuild has come.
    pub fn search_index_status(&self) -> IndexStatus {
        self.search_progress.status()
    }

    /// Drops the search index and rebuilds it from every document's stored state,
    /// through the writer, a chunk per transaction; returns when it is done.
    pub fn rebuild_search_index(&self) -> Result<(), StoreError> {
        self.write(Box::new(rebuild::drop_index))?;
        self.write(Box::new(rebuild::create_index))?;
        self.index_all_missing()
    }

    /// Replaces a damaged search index by a new one built from the documents.
    fn repair_search_index(&self) -> Result<(), StoreError> {
        self.write(Box::new(rebuild::forget_index))?;
        {
            // Copying the file without the forgotten pages makes it whole again. If
            // other pages are damaged too this fails, and the error says to restore
            // a backup.
            let conn = self.reader()?;
            conn.execute_batch("VACUUM")
                .map_err(|e| StoreError::classify(e, &self.path))?;
        }
        self.write(Box::new(rebuild::create_index))?;
        self.index_all_missing()
    }

    /// Indexes every document without an index entry, a chunk per write.
    fn index_all_missing(&self) -> Result<(), StoreError> {
        loop {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let done_count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let counter = done_count.clone();
            self.submit(
                Box::new(move |c| {
                    let n = rebuild::index_missing(c, rebuild::REBUILD_CHUNK)?;
                    counter.store(n, std::sync::atomic::Ordering::SeqCst);
                    Ok(())
                }),
                move |r| {
                    let _ = tx.send(r);
                },
            );
            rx.recv().map_err(|_| StoreError::WriterGone)??;
            if done_count.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                return Ok(());
            }
        }
    }
}
