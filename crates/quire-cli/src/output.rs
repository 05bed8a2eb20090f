//! Human and JSON renderings of engine results.

use quire_engine::{DocumentRecord, SearchHit, VersionKind, VersionRecord};
use serde_json::{Value, json};

/// `2026-11-25 12:34 CET`: the device's local time, from ms since the epoch.
pub(crate) fn time(ms: i64) -> String {
    quire_engine::local_time_label(ms)
}

pub(crate) fn short_id(r: &DocumentRecord) -> String {
    r.id.to_string().chars().take(12).collect()
}

pub(crate) fn document_json(r: &DocumentRecord) -> Value {
    json!({
        "id": r.id.to_string(),
        "title": r.title,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "deleted_at": r.deleted_at,
        "chars": r.chars,
    })
}

pub(crate) fn document_line(r: &DocumentRecord) -> String {
    format!(
        "{}  {}  {:>7} chars  {}",
        short_id(r),
        time(r.updated_at),
        r.chars,
        r.title
    )
}

fn kind_name(k: VersionKind) -> &'static str {
    match k {
        VersionKind::Auto => "auto",
        VersionKind::Named => "named",
        VersionKind::Restore => "restore",
    }
}

pub(crate) fn version_json(v: &VersionRecord) -> Value {
    json!({
        "number": v.number,
        "kind": kind_name(v.kind),
        "name": v.name,
        "created_at": v.created_at,
        "chars": v.chars,
    })
}

pub(crate) fn version_line(v: &VersionRecord) -> String {
    format!(
        "v{:<4} {}  {:<7} {:>7} chars  {}",
        v.number,
        time(v.created_at),
        kind_name(v.kind),
        v.chars,
        v.name.as_deref().unwrap_or("")
    )
}

pub(crate) fn hit_json(h: &SearchHit) -> Value {
    json!({
        "id": h.id.to_string(),
        "title": h.title,
        "snippet": h.snippet,
        "highlights": h.highlights.iter().map(|r| [r.start, r.end]).collect::<Vec<_>>(),
        "score": h.score,
    })
}

/// A hit for a terminal: matches in bold when stdout is a terminal, else in «».
pub(crate) fn hit_lines(h: &SearchHit, color: bool) -> String {
    let (open, close) = if color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("«", "»")
    };
    let mut snippet = String::new();
    let mut at = 0;
    for r in &h.highlights {
        snippet.push_str(h.snippet.get(at..r.start).unwrap_or(""));
        snippet.push_str(open);
        snippet.push_str(h.snippet.get(r.clone()).unwrap_or(""));
        snippet.push_str(close);
        at = r.end;
    }
    snippet.push_str(h.snippet.get(at..).unwrap_or(""));
    let id: String = h.id.to_string().chars().take(12).collect();
    format!("{id}  {}\n    {}", h.title, snippet.replace('\n', " "))
}
