//! Human and JSON renderings of engine results.

use quire_engine::{DocumentRecord, SearchHit, VersionKind, VersionRecord};
use serde_json::{Value, json};

/// `2026-11-25 12:34` in UTC, from ms since the epoch.
pub(crate) fn time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(time(0), "1970-01-01 00:00");
        assert_eq!(time(1_795_000_000_000), "2026-11-18 11:06");
        assert_eq!(time(951_782_400_000), "2000-02-29 00:00");
    }
}
