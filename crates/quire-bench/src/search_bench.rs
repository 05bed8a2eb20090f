//! Search over a multilingual corpus: the store's index (Rust-made terms: words,
//! CJK/Thai bigrams, emoji) against two baselines in the same run, FTS5 `unicode61`
//! (the index before) and FTS5 `trigram` with a LIKE scan for queries under three
//! characters. For each: build time, index size against the text size, query
//! p50/p99 for one-word, two-word and prefix queries per script, and recall (the
//! share of documents holding the words that the search returned).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use quire_doc::{Document, DocumentId};
use quire_store::{Store, ops};
use rusqlite::Connection;
use serde_json::{Value, json};

use crate::search_corpus::{BenchQuery, Doc, Kind, Rng, SCRIPTS, corpus, queries};
use crate::stats::Latency;

/// Results asked for per timed query, as the app asks.
const RESULT_LIMIT: usize = 50;
/// Queries whose recall is measured (without a limit) per script and kind.
const RECALL_QUERIES: usize = 10;
/// Documents per transaction when filling the baseline tables.
const BASELINE_BATCH: usize = 200;
const SEED: u64 = 0x5EED_2026;

trait Engine {
    fn name(&self) -> &'static str;
    /// Document indices of the hits, at most `limit`.
    fn search(&self, query: &str, limit: usize) -> Result<Vec<usize>>;
}

/// The store as the app uses it.
struct Quire {
    store: Store,
    index_of: HashMap<DocumentId, usize>,
}

impl Engine for Quire {
    fn name(&self) -> &'static str {
        "quire"
    }
    fn search(&self, query: &str, limit: usize) -> Result<Vec<usize>> {
        Ok(self
            .store
            .search(query, limit)?
            .iter()
            .filter_map(|h| self.index_of.get(&h.id).copied())
            .collect())
    }
}

/// A bare FTS5 table with a built-in tokenizer.
struct Fts {
    name: &'static str,
    conn: Connection,
    trigram: bool,
}

impl Engine for Fts {
    fn name(&self) -> &'static str {
        self.name
    }
    fn search(&self, query: &str, limit: usize) -> Result<Vec<usize>> {
        let words: Vec<&str> = query
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let Some((last, rest)) = words.split_last() else {
            return Ok(Vec::new());
        };
        let (sql, params): (String, Vec<String>) = if self.trigram {
            // Terms of three characters or more use the index; shorter ones scan.
            let (long, short): (Vec<&str>, Vec<&str>) =
                words.iter().partition(|w| w.chars().count() >= 3);
            let mut conds = Vec::new();
            let mut params = Vec::new();
            if !long.is_empty() {
                conds.push(format!("t MATCH ?{}", params.len() + 1));
                params.push(
                    long.iter()
                        .map(|w| format!("\"{w}\""))
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
            for w in short {
                conds.push(format!(
                    "(title LIKE ?{n} OR body LIKE ?{n})",
                    n = params.len() + 1
                ));
                params.push(format!("%{w}%"));
            }
            (
                format!(
                    "SELECT rowid, snippet(t, 1, '[', ']', '…', 16) FROM t WHERE {} LIMIT {limit}",
                    conds.join(" AND ")
                ),
                params,
            )
        } else {
            let mut q: Vec<String> = rest.iter().map(|w| format!("\"{w}\"")).collect();
            q.push(format!("\"{last}\"*"));
            (
                format!(
                    "SELECT rowid, snippet(t, 1, '[', ']', '…', 16) FROM t WHERE t MATCH ?1 ORDER BY bm25(t, 10.0, 1.0) LIMIT {limit}"
                ),
                vec![q.join(" ")],
            )
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
            let _snippet: String = r.get(1)?;
            r.get::<_, i64>(0)
        })?;
        Ok(rows
            .filter_map(|r| r.ok())
            .map(|r| (r - 1).max(0) as usize)
            .collect())
    }
}

fn index_bytes(conn: &Connection, pattern: &str) -> Result<u64> {
    let n: i64 = conn.query_row(
        "SELECT coalesce(SUM(pgsize), 0) FROM dbstat WHERE name LIKE ?1",
        [pattern],
        |r| r.get(0),
    )?;
    Ok(n.max(0) as u64)
}

fn build_fts(
    dir: &Path,
    docs: &[Doc],
    name: &'static str,
    tokenize: &str,
) -> Result<(Fts, Duration, u64)> {
    let path = dir.join(format!("{name}.db"));
    let mut conn = Connection::open(&path)?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize = '{tokenize}');"
    ))?;
    let started = Instant::now();
    for (b, chunk) in docs.chunks(BASELINE_BATCH).enumerate() {
        let tx = conn.transaction()?;
        for (i, d) in chunk.iter().enumerate() {
            tx.prepare_cached("INSERT INTO t (rowid, title, body) VALUES (?1, ?2, ?3)")?
                .execute(rusqlite::params![
                    (b * BASELINE_BATCH + i + 1) as i64,
                    d.title,
                    d.body
                ])?;
        }
        tx.commit()?;
    }
    let took = started.elapsed();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    let size = index_bytes(&conn, "t%")?;
    Ok((
        Fts {
            name,
            conn,
            trigram: tokenize.starts_with("trigram"),
        },
        took,
        size,
    ))
}

fn build_quire(dir: &Path, docs: &[Doc]) -> Result<(Quire, Duration, Duration, u64)> {
    let store = Store::open(&dir.join("quire.db"))?;
    let mut index_of = HashMap::new();
    let mut texts = Vec::with_capacity(docs.len());
    for (i, d) in docs.iter().enumerate() {
        let id = DocumentId::random();
        let mut doc = Document::new();
        doc.set_title(&d.title)?;
        doc.insert(0, &d.body)?;
        store.submit(
            ops::create_document(
                id,
                d.title.clone(),
                i as i64,
                d.body.chars().count(),
                doc.encode_state()?,
            ),
            |_| {},
        );
        index_of.insert(id, i);
        texts.push((id, d));
    }
    store.flush()?;
    // Indexing as the engine does it, one write per document, group-committed.
    let started = Instant::now();
    for (id, d) in &texts {
        store.submit(
            ops::index_text(*id, d.title.clone(), d.body.clone()),
            |_| {},
        );
    }
    store.flush()?;
    let took = started.elapsed();
    // Rebuilding from the stored documents, as after an upgrade or damage.
    let started = Instant::now();
    store.rebuild_search_index()?;
    let rebuild = started.elapsed();
    store.vacuum()?;
    let sizes = store.table_sizes()?;
    let size = sizes
        .iter()
        .filter(|(name, _)| name.starts_with("search_"))
        .map(|(_, s)| s)
        .sum();
    Ok((Quire { store, index_of }, took, rebuild, size))
}

fn measure(engine: &dyn Engine, sets: &[(usize, Kind, Vec<BenchQuery>)]) -> Result<(Value, f64)> {
    let mut per_script = serde_json::Map::new();
    let mut worst_p99_us: f64 = 0.0;
    for (s, kind, qs) in sets {
        let mut samples = Vec::with_capacity(qs.len());
        for q in qs {
            let started = Instant::now();
            let hits = engine.search(&q.text, RESULT_LIMIT)?;
            samples.push(started.elapsed());
            std::hint::black_box(hits);
        }
        let (mut wanted, mut got) = (0usize, 0usize);
        for q in qs.iter().take(RECALL_QUERIES) {
            let hits: HashSet<usize> = engine
                .search(&q.text, usize::MAX >> 2)?
                .into_iter()
                .collect();
            wanted += q.truth.len();
            got += q.truth.intersection(&hits).count();
        }
        let latency = Latency::of(samples);
        worst_p99_us = worst_p99_us.max(latency.p99_us);
        let script = SCRIPTS.get(*s).map_or("?", |x| x.name);
        let entry = per_script
            .entry(script.to_owned())
            .or_insert_with(|| json!({}));
        let measured = json!({
            "latency": latency,
            "recall": if wanted == 0 { 1.0 } else { got as f64 / wanted as f64 },
            "example": qs.first().map(|q| q.text.clone()),
        });
        if let Some(kinds) = entry.as_object_mut() {
            kinds.insert(kind.name().to_owned(), measured);
        }
    }
    Ok((Value::Object(per_script), worst_p99_us))
}

pub(crate) fn run(docs_count: usize, body_bytes: usize, per_kind: usize) -> Result<Value> {
    let dir = tempfile::tempdir().context("temporary folder")?;
    let docs = corpus(docs_count, body_bytes, SEED);
    let text_bytes: usize = docs.iter().map(|d| d.title.len() + d.body.len()).sum();
    let mut rng = Rng(SEED ^ 0xABCD);
    let mut sets = Vec::new();
    for s in 0..SCRIPTS.len() {
        for kind in [Kind::OneWord, Kind::TwoWords, Kind::Prefix] {
            sets.push((s, kind, queries(&docs, s, kind, per_kind, &mut rng)));
        }
    }
    let (baseline, base_build, base_size) = build_fts(
        dir.path(),
        &docs,
        "unicode61",
        "unicode61 remove_diacritics 2",
    )?;
    let (trigram, tri_build, tri_size) =
        build_fts(dir.path(), &docs, "trigram", "trigram remove_diacritics 1")?;
    let (quire, quire_build, quire_rebuild, quire_size) = build_quire(dir.path(), &docs)?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut options = Vec::new();
    for (engine, build, size) in [
        (&baseline as &dyn Engine, base_build, base_size),
        (&trigram as &dyn Engine, tri_build, tri_size),
        (&quire as &dyn Engine, quire_build, quire_size),
    ] {
        let (queries, worst_p99_us) = measure(engine, &sets)?;
        let result = json!({
            "name": engine.name(),
            "build_ms": ms(build),
            "build_vs_unicode61": ms(build) / ms(base_build).max(1e-9),
            "index_bytes": size,
            "index_vs_text": size as f64 / text_bytes as f64,
            "index_vs_unicode61": size as f64 / base_size.max(1) as f64,
            "worst_p99_us": worst_p99_us,
            "queries": queries,
        });
        options.push(result);
    }
    Ok(json!({
        "bench": "search",
        "documents": docs_count,
        "text_bytes": text_bytes,
        "queries_per_script_and_kind": per_kind,
        "result_limit": RESULT_LIMIT,
        "quire_rebuild_from_documents_ms": ms(quire_rebuild),
        "options": options,
    }))
}
