//! `quire search` and `quire doc ls` with filters and sort orders, one process per
//! command: shared or not, role, age, trash, and the three orders; and search in
//! scripts written without spaces.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/cli_support.rs"]
mod support;

use support::*;

/// A data folder with: a local-only note, one shared from here (write), one joined
/// read-only from another device, one joined with write access, one trashed, and one
/// last changed 30 days ago. Every body mentions "garden".
struct Fixture {
    q: Quire,
    local: String,
    shared: String,
    read: String,
    write: String,
    trashed: String,
    old: String,
}

/// Runs a command that may print notes on standard error (sharing without a daemon
/// says nothing syncs yet); returns its standard output.
#[track_caller]
fn ok_with_notes(q: &Quire, args: &[&str]) -> String {
    let out = q.run(args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    text(&out.stdout)
}

/// Runs a command that must be refused (by the argument parser or the command);
/// returns its standard error.
#[track_caller]
fn refused(q: &Quire, args: &[&str]) -> String {
    let out = q.run(args);
    assert!(!out.status.success(), "{args:?} was accepted: {out:?}");
    text(&out.stderr)
}

fn fixture() -> Fixture {
    let q = Quire::new();
    let other = Quire::new();
    let local = q.new_doc("banana garden", "a local garden note");
    let shared = q.new_doc("Apple", "the shared garden plan");
    ok_with_notes(&q, &["share", &shared]);
    let theirs_read = other.new_doc("Cherry", "their garden, read only");
    let read_link = ok_with_notes(&other, &["share", "--read-only", &theirs_read])
        .trim()
        .to_owned();
    let theirs_write = other.new_doc("Damson", "their garden, writable");
    let write_link = ok_with_notes(&other, &["share", &theirs_write])
        .trim()
        .to_owned();
    let joined = |link: &str| {
        ok_with_notes(&q, &["join", link])
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let read = joined(&read_link);
    let write = joined(&write_link);
    // Joined replicas are empty until a peer sends the text; give them theirs here.
    q.ok(&["doc", "edit", &write, "--text", "their garden, writable"]);
    let trashed = q.new_doc("Elder", "a trashed garden");
    q.ok(&["doc", "rm", &trashed]);
    let old = q.new_doc("Fig", "an old garden");
    // Make "Fig" last changed 30 days ago, as if it had not been touched since.
    let db = rusqlite::Connection::open(q.data().join("quire.db")).unwrap();
    let month_ago = now_ms() - 30 * 86_400_000;
    db.execute(
        "UPDATE documents SET updated_at = ?1 WHERE id = ?2",
        rusqlite::params![month_ago, old],
    )
    .unwrap();
    Fixture {
        q,
        local,
        shared,
        read,
        write,
        trashed,
        old,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn ids(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn set(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn each_filter_narrows_search_and_the_document_list_alike() {
    let f = fixture();
    let q = &f.q;
    let live = set(&[&f.local, &f.shared, &f.read, &f.write, &f.old]);
    let cases: &[(&[&str], Vec<String>)] = &[
        (&[], live.clone()),
        (&["--shared"], set(&[&f.shared, &f.read, &f.write])),
        (&["--mine"], set(&[&f.local, &f.old])),
        (&["--role", "read"], set(&[&f.read])),
        (&["--role", "write"], set(&[&f.shared, &f.write])),
        (
            &["--since", "7d"],
            set(&[&f.local, &f.shared, &f.read, &f.write]),
        ),
        (&["--since", "60d"], live.clone()),
        (&["--in-trash"], set(&[&f.trashed])),
        (&["--mine", "--since", "7d"], set(&[&f.local])),
    ];
    for (flags, want) in cases {
        let mut search = vec!["search", "garden"];
        search.extend_from_slice(flags);
        let mut ls = vec!["doc", "ls"];
        ls.extend_from_slice(flags);
        // The joined read-only document has no text here (no peer sent it): it shows
        // in the list, and in search only by what is indexed.
        let want_search: Vec<String> = want.iter().filter(|id| **id != f.read).cloned().collect();
        assert_eq!(ids(&q.json(&search)), want_search, "search {flags:?}");
        assert_eq!(ids(&q.json(&ls)), *want, "doc ls {flags:?}");
    }
}

#[test]
fn results_sort_by_relevance_update_or_title() {
    let q = Quire::new();
    let body_only = q.new_doc(
        "zebra notes",
        "one mention of orchard here, among many other words",
    );
    let in_title = q.new_doc("Orchard", "orchard orchard");
    let apple = q.new_doc("apple", "an orchard");
    let titles = |args: &[&str]| -> Vec<String> {
        q.json(args)
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(titles(&["search", "orchard"])[0], "Orchard");
    assert_eq!(
        titles(&["search", "orchard", "--sort", "title"]),
        ["apple", "Orchard", "zebra notes"]
    );
    assert_eq!(
        titles(&["search", "orchard", "--sort", "updated"]),
        ["apple", "Orchard", "zebra notes"]
    );
    // Touch the first one: it is now the most recently changed.
    q.ok(&["doc", "append", &body_only, " more"]);
    assert_eq!(
        titles(&["search", "orchard", "--sort", "updated"]),
        ["zebra notes", "apple", "Orchard"]
    );
    assert_eq!(
        titles(&["doc", "ls", "--sort", "title"]),
        ["apple", "Orchard", "zebra notes"]
    );
    assert_eq!(titles(&["doc", "ls"])[0], "zebra notes");
    let _ = (in_title, apple);
}

#[test]
fn bad_filters_are_refused_with_the_reason() {
    let q = Quire::new();
    q.new_doc("x", "y");
    assert_mentions(
        &refused(&q, &["search", "y", "--since", "7"]),
        &["--since", "7d"],
    );
    assert_mentions(&refused(&q, &["doc", "ls", "--since", "7 days"]), &["unit"]);
    assert_mentions(
        &refused(&q, &["search", "y", "--shared", "--mine"]),
        &["--mine"],
    );
    assert_mentions(
        &refused(&q, &["search", "y", "--role", "admin"]),
        &["read", "write"],
    );
    assert_mentions(
        &refused(&q, &["search", "y", "--sort", "size"]),
        &["relevance", "title"],
    );
}

#[test]
fn words_inside_cjk_sentences_are_found_from_the_command_line() {
    let q = Quire::new();
    let japan = q.new_doc("日本の旅行", "東京で寿司を食べました。京都の寺も見ました。");
    let german = q.new_doc("Deutsch", "Straße und Größe");
    for (query, id) in [
        ("寿司", &japan),
        ("旅行", &japan),
        ("京都", &japan),
        ("strasse", &german),
    ] {
        assert_eq!(
            ids(&q.json(&["search", query])),
            std::slice::from_ref(id),
            "{query}"
        );
    }
    let human = q.ok(&["search", "寿司"]);
    assert!(human.contains("寿司"), "{human}");
}
