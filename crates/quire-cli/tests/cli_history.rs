//! The `quire` binary's version history: history, named versions, diffs (line,
//! character, JSON) and restore.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/cli_support.rs"]
mod support;

use support::*;

#[test]
fn history_version_diff_and_restore() {
    let q = Quire::new();
    let id = q.new_doc("Story", "keep this\nold line\nend\n");
    let start = q.versions(&id);
    assert!(!start.is_empty(), "a new document has its first version");
    assert_eq!(start[0]["number"], 1);
    assert_eq!(start[0]["chars"], 23);

    let named = q.ok(&["version", "Story", "first draft"]);
    let named_number: i64 = named
        .trim()
        .strip_prefix('v')
        .and_then(|s| s.split_once(' '))
        .map(|(n, _)| n.parse().unwrap())
        .unwrap_or_else(|| panic!("{named}"));
    assert!(named.contains("\"first draft\""), "{named}");

    q.ok(&[
        "doc",
        "edit",
        "Story",
        "--text",
        "keep this\nnew line\nend\n",
    ]);

    let history = q.ok(&["history", "Story"]);
    let line = history
        .lines()
        .find(|l| l.contains("first draft"))
        .unwrap_or_else(|| panic!("{history}"));
    assert!(line.starts_with(&format!("v{named_number} ")), "{line}");
    assert!(line.contains("named"), "{line}");
    let versions = q.versions(&id);
    let v = versions
        .iter()
        .find(|v| v["number"] == named_number)
        .unwrap();
    assert_eq!(v["kind"], "named");
    assert_eq!(v["name"], "first draft");

    // Line diff, as `diff -u` prints it; `current` is the default newer side.
    let diff = q.ok(&["diff", "Story", "1"]);
    let lines: Vec<_> = diff.lines().collect();
    assert!(lines.contains(&"-old line"), "{diff}");
    assert!(lines.contains(&"+new line"), "{diff}");
    assert!(lines.contains(&" keep this"), "{diff}");
    assert!(
        lines.contains(&"--- v1") && lines.contains(&"+++ current"),
        "{diff}"
    );
    assert_eq!(q.ok(&["diff", "Story", "v1", "current"]), diff);
    let named_ref = format!("v{named_number}");
    assert_eq!(
        q.ok(&["diff", "Story", &named_ref])
            .replace(&named_ref, "v1"),
        diff
    );
    assert_eq!(q.ok(&["diff", "Story", "1", "1"]), "", "no change, no diff");

    // Character diff, marked up when not on a terminal.
    let chars = q.ok(&["diff", "Story", "1", "--chars"]);
    assert!(chars.contains("[-old-]{+new+}"), "{chars}");
    assert!(chars.starts_with("keep this\n"), "{chars}");

    let json = q.json(&["diff", "Story", "1"]);
    let spans = json.as_array().unwrap();
    assert!(spans.iter().any(|s| s["kind"] == "delete"
        && s["text"] == "old line\n"
        && s["old_line"] == 2
        && s["new_line"].is_null()));
    assert!(
        spans
            .iter()
            .any(|s| s["kind"] == "insert" && s["text"] == "new line\n" && s["new_line"] == 2)
    );
    assert!(
        spans
            .iter()
            .any(|s| s["kind"] == "equal" && s["text"] == "keep this\n")
    );
    let json = q.json(&["diff", "Story", "1", "--chars"]);
    let spans = json.as_array().unwrap();
    assert!(
        spans
            .iter()
            .any(|s| s["kind"] == "delete" && s["text"] == "old")
    );
    assert!(
        spans
            .iter()
            .any(|s| s["kind"] == "insert" && s["text"] == "new")
    );
    let rebuilt: String = spans
        .iter()
        .filter(|s| s["kind"] != "delete")
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert_eq!(rebuilt, "keep this\nnew line\nend\n");

    // Restore is a new edit on top: the old text is back, and history only grows.
    let before = q.versions(&id).len();
    let restored = q.ok(&["restore", "Story", "1"]);
    assert!(
        restored.starts_with("restored v1 (recorded as v"),
        "{restored}"
    );
    assert_eq!(q.cat(&id), "keep this\nold line\nend\n");
    let after = q.versions(&id);
    assert!(after.len() > before, "{before} -> {}", after.len());
    let last = after.last().unwrap();
    assert_eq!(last["kind"], "restore");
    assert_eq!(last["name"], "restored v1");
    assert!(q.ok(&["history", "Story"]).contains("restored v1"));
    // ...and the text from before the restore is still there to go back to.
    let previous = after[after.len() - 2]["number"].to_string();
    let diff = q.ok(&["diff", "Story", &previous]);
    let lines: Vec<_> = diff.lines().collect();
    assert!(
        lines.contains(&"-new line") && lines.contains(&"+old line"),
        "{diff}"
    );
    let json = q.json(&["restore", "Story", &named_ref]);
    assert_eq!(json["restored"], named_number);
    assert_eq!(q.cat(&id), "keep this\nold line\nend\n");
}

// ---------------------------------------------------------------------------------
// Search
