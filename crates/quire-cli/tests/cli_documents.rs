//! The `quire` binary as a user runs it, one process per command: creating,
//! listing, reading, appending, editing (also in $EDITOR), renaming, trash, import
//! and export, search, and Unicode text through every path.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/cli_support.rs"]
mod support;

use support::*;

#[test]
fn new_lists_and_cats_by_id_prefix_and_title() {
    let q = Quire::new();
    assert_mentions(&q.ok(&["doc", "ls"]), &["no documents yet"]);
    assert_eq!(q.docs(), Vec::<Value>::new());

    let text = "# Plan\nbuy milk\n";
    let id = q.new_doc("Plan", text);
    let other = q.new_doc("Other", "x");

    let human = q.ok(&["doc", "ls"]);
    let line = human
        .lines()
        .find(|l| l.starts_with(&id[..12]))
        .unwrap_or_else(|| panic!("{id} not listed: {human}"));
    assert!(line.ends_with("  Plan"), "{line}");
    assert!(line.contains(" 16 chars "), "{line}");
    assert!(human.lines().any(|l| l.starts_with(&other[..12])));

    let docs = q.docs();
    assert_eq!(docs.len(), 2);
    let plan = docs.iter().find(|d| d["id"] == id.as_str()).unwrap();
    assert_eq!(plan["title"], "Plan");
    assert_eq!(plan["chars"], 16);
    assert!(plan["deleted_at"].is_null());
    assert!(plan["created_at"].as_i64().unwrap() > 0);

    assert_eq!(q.cat(&id), text);
    assert_eq!(q.cat(&id[..6]), text);
    assert_eq!(q.cat(&id[..6].to_uppercase()), text);
    assert_eq!(q.cat("Plan"), text);
    assert_eq!(q.cat("plan"), text, "titles match ignoring case");
    assert_eq!(q.cat("Other"), "x");

    let cat = q.json(&["doc", "cat", "Plan"]);
    assert_eq!(cat["id"], id.as_str());
    assert_eq!(cat["text"], text);

    // `--json` on `new` gives the whole record; `--text -` reads standard input.
    let made = serde_json::from_str::<Value>(&q.ok_stdin(
        &["--json", "doc", "new", "Piped", "--text", "-"],
        b"from stdin\n",
    ))
    .unwrap();
    assert_eq!(made["title"], "Piped");
    assert_eq!(made["chars"], 11);
    assert_eq!(q.cat("Piped"), "from stdin\n");

    // Without --text a document starts empty; the title defaults to "Untitled".
    q.ok(&["doc", "new"]);
    assert_eq!(q.cat("Untitled"), "");
}

#[test]
fn append_from_argument_and_stdin() {
    let q = Quire::new();
    let id = q.new_doc("Log", "first\n");
    assert_eq!(q.ok(&["doc", "append", &id, "second\n"]), "");
    assert_eq!(q.ok_stdin(&["doc", "append", "Log"], b"third\n"), "");
    assert_eq!(
        q.ok_stdin(&["doc", "append", "Log", "-"], b"fourth"),
        "",
        "`-` reads standard input too"
    );
    assert_eq!(q.cat(&id), "first\nsecond\nthird\nfourth");
    assert_eq!(q.docs()[0]["chars"], 25, "the listing follows appends");
    let saved = q.json(&["doc", "append", "Log", "!"]);
    assert_eq!(saved["saved"], true);
    assert_eq!(q.cat(&id), "first\nsecond\nthird\nfourth!");
}

#[test]
fn edit_replaces_text_from_argument_and_stdin() {
    let q = Quire::new();
    let id = q.new_doc("Notes", "one\ntwo\n");
    assert_eq!(q.ok(&["doc", "edit", &id, "--text", "one\n2\n"]), "");
    assert_eq!(q.cat(&id), "one\n2\n");
    q.ok_stdin(&["doc", "edit", "Notes", "--text", "-"], b"from --text -\n");
    assert_eq!(q.cat(&id), "from --text -\n");
    // Piped into a plain `doc edit`, standard input is the new text.
    q.ok_stdin(&["doc", "edit", "Notes"], b"piped\ntext\n");
    assert_eq!(q.cat(&id), "piped\ntext\n");
    assert_eq!(q.docs()[0]["chars"], 11);
    // So is a file redirected into it (`quire doc edit Notes < file`).
    let file = q.write("new.md", b"from a file\n");
    let out = q
        .cmd(&["doc", "edit", "Notes"])
        .stdin(std::fs::File::open(file).unwrap())
        .output()
        .unwrap();
    succeeded(&out, &["doc", "edit"]);
    assert_eq!(q.cat(&id), "from a file\n");
    // But /dev/null (what cron and IDEs give) is no text: the editor is used instead,
    // and this one fails, so the text must survive rather than be emptied.
    assert_mentions(
        &q.fail(&["doc", "edit", "Notes"]),
        &["editor", "not changed"],
    );
    assert_eq!(q.cat(&id), "from a file\n");
}

#[test]
fn edit_in_editor_saves_what_the_editor_wrote() {
    let q = Quire::new();
    let id = q.new_doc("Draft", "the old text\nold again\n");

    // An editor with arguments, run through the shell (`-i.bak` works on GNU and BSD sed).
    let out = q
        .cmd(&["doc", "edit", "Draft"])
        .env("EDITOR", "sed -i.bak s/old/new/")
        .output()
        .unwrap();
    assert_eq!(succeeded(&out, &["doc", "edit"]), "");
    assert_eq!(q.cat(&id), "the new text\nnew again\n");
    q.assert_no_editor_leftovers();

    // A script that rewrites the whole file; VISUAL wins over EDITOR.
    let script = q.write(
        "rewrite.sh",
        b"#!/bin/sh\nprintf 'rewritten \\360\\237\\216\\211\\n' > \"$1\"\n",
    );
    let out = q
        .cmd(&["doc", "edit", &id])
        .env("VISUAL", format!("sh {script}"))
        .output()
        .unwrap();
    succeeded(&out, &["doc", "edit"]);
    assert_eq!(q.cat(&id), "rewritten 🎉\n");
    q.assert_no_editor_leftovers();
}

#[test]
fn failing_editor_changes_nothing() {
    let q = Quire::new();
    let id = q.new_doc("Keep", "keep me\n");
    let versions = q.versions(&id).len();

    // The editor mangles the file, then exits non-zero: nothing may be saved.
    let script = q.write("fail.sh", b"#!/bin/sh\nprintf 'garbage' > \"$1\"\nexit 3\n");
    let out = q
        .cmd(&["doc", "edit", "Keep"])
        .env("EDITOR", format!("sh {script}"))
        .output()
        .unwrap();
    let msg = failed(&out, &["doc", "edit"]);
    assert_mentions(&msg, &["editor", "exit", "3", "not changed"]);
    assert_eq!(q.cat(&id), "keep me\n");
    assert_eq!(q.versions(&id).len(), versions);
    q.assert_no_editor_leftovers();

    // An editor that cannot even be found. The shell says so on stderr too (an
    // editor's own output goes to the terminal), so only the last line is ours.
    let out = q
        .cmd(&["doc", "edit", "Keep"])
        .env("EDITOR", q.path("no-such-editor"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let last = stderr.lines().last().unwrap();
    assert!(last.starts_with("quire: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_mentions(
        last,
        &["no-such-editor", "not found", "EDITOR", "not changed"],
    );

    // An editor that saves bytes that are not UTF-8.
    let script = q.write("latin1.sh", b"#!/bin/sh\nprintf 'caf\\351' > \"$1\"\n");
    let out = q
        .cmd(&["doc", "edit", "Keep"])
        .env("EDITOR", format!("sh {script}"))
        .output()
        .unwrap();
    assert_mentions(&failed(&out, &["doc", "edit"]), &["UTF-8", "not changed"]);

    assert_eq!(q.cat(&id), "keep me\n");
    q.assert_no_editor_leftovers();
}

#[test]
fn rename_changes_the_title() {
    let q = Quire::new();
    let id = q.new_doc("Old name", "body\n");
    assert_eq!(q.ok(&["doc", "rename", "Old name", "New name ✨"]), "");
    let docs = q.docs();
    assert_eq!(docs[0]["id"], id.as_str());
    assert_eq!(docs[0]["title"], "New name ✨");
    assert!(q.ok(&["doc", "ls"]).contains("  New name ✨\n"));
    assert_eq!(q.cat("New name ✨"), "body\n");
    assert_mentions(
        &q.fail(&["doc", "cat", "Old name"]),
        &["no document", "Old name"],
    );
    assert_eq!(
        q.ok(&["search", "name"]).lines().next().unwrap()[..12],
        id[..12]
    );
}

#[test]
fn trash_rm_restore_purge_and_empty() {
    let q = Quire::new();
    let a = q.new_doc("Alpha", "a\n");
    let b = q.new_doc("Beta", "b\n");
    let c = q.new_doc("Gamma", "c\n");
    assert_mentions(&q.ok(&["trash"]), &["the trash is empty"]);

    // Purge only takes documents from the trash.
    assert_mentions(
        &q.fail(&["trash", "purge", "Alpha"]),
        &["not in the trash", "doc rm"],
    );
    assert_eq!(q.cat(&a), "a\n");

    let rm = q.ok(&["doc", "rm", "Alpha"]);
    assert_mentions(&rm, &["moved to the trash", "trash restore", &a[..12]]);
    assert!(q.docs().iter().all(|d| d["id"] != a.as_str()));
    assert!(q.ok(&["doc", "ls"]).lines().all(|l| !l.contains("Alpha")));
    let trash = q.ok(&["trash"]);
    assert!(
        trash.starts_with(&a[..12]) && trash.contains("Alpha"),
        "{trash}"
    );
    assert_eq!(q.ok(&["trash", "ls"]), trash);
    let trash = q.json(&["trash"]);
    assert_eq!(trash[0]["id"], a.as_str());
    assert!(trash[0]["deleted_at"].as_i64().is_some());
    // Still readable, but not writable, while in the trash; and not searchable.
    assert_eq!(q.cat(&a), "a\n");
    assert_mentions(
        &q.fail(&["doc", "append", &a, "x"]),
        &["in the trash", "restore"],
    );
    assert_mentions(&q.ok(&["search", "Alpha"]), &["no matches"]);

    q.ok(&["trash", "restore", "Alpha"]);
    assert!(q.docs().iter().any(|d| d["id"] == a.as_str()));
    assert_mentions(&q.ok(&["trash"]), &["the trash is empty"]);
    assert_eq!(q.cat("Alpha"), "a\n");

    q.ok(&["doc", "rm", &a]);
    q.ok(&["trash", "purge", &a[..8]]);
    assert_mentions(&q.fail(&["doc", "cat", &a]), &["no document", &a]);
    assert_mentions(&q.ok(&["trash"]), &["the trash is empty"]);

    q.ok(&["doc", "rm", &b]);
    q.ok(&["doc", "rm", &c]);
    assert_eq!(q.json(&["trash"]).as_array().unwrap().len(), 2);
    q.ok(&["trash", "empty"]);
    assert_mentions(&q.ok(&["trash"]), &["the trash is empty"]);
    assert_mentions(&q.ok(&["doc", "ls"]), &["no documents yet"]);
    assert_mentions(&q.fail(&["doc", "cat", &b]), &["no document"]);
}

// ---------------------------------------------------------------------------------
// Files

#[test]
fn import_and_export_round_trip() {
    let q = Quire::new();
    let one = "intro line\n# Shopping list\n- milk 🥛\n- 米\n";
    let two = "no heading here\n";
    let f1 = q.write("one.md", one.as_bytes());
    let f2 = q.write("second-file.md", two.as_bytes());

    let out = q.ok(&["import", &f1, &f2]);
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains("Shopping list") && lines[0].contains(&f1),
        "{out}"
    );
    assert!(
        lines[1].contains("second-file") && lines[1].contains(&f2),
        "{out}"
    );

    let docs = q.docs();
    assert_eq!(docs.len(), 2);
    assert_eq!(q.cat("Shopping list"), one);
    assert_eq!(q.cat("second-file"), two);

    // Export to a file and to standard output: the same bytes as the import.
    let target = q.path("out.md");
    assert_eq!(
        q.ok(&["export", "Shopping list", target.to_str().unwrap()]),
        ""
    );
    assert_eq!(std::fs::read(&target).unwrap(), one.as_bytes());
    let out = q.run(&["export", "Shopping list"]);
    succeeded(&out, &["export"]);
    assert_eq!(out.stdout, one.as_bytes());
    // Export overwrites, and leaves no temporary file behind.
    q.ok(&["export", "second-file", target.to_str().unwrap()]);
    assert_eq!(std::fs::read(&target).unwrap(), two.as_bytes());
    let names: Vec<_> = std::fs::read_dir(q.root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("quire-tmp"))
        .collect();
    assert!(names.is_empty(), "{names:?}");

    // `--json` lists the created documents.
    let f3 = q.write("three.md", b"# Third\n");
    let made = q.json(&["import", &f3]);
    assert_eq!(made[0]["title"], "Third");
    assert_eq!(made[0]["chars"], 8);
}

// ---------------------------------------------------------------------------------
// History

#[test]
fn search_human_json_and_no_matches() {
    let q = Quire::new();
    let garden = q.new_doc(
        "Garden",
        "🌱 日本語 Tomatoes need sun.\nBasil likes warmth and water.\n",
    );
    q.new_doc("Kitchen", "Pasta with tomato sauce.\n");

    let out = q.ok(&["search", "basil"]);
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0], format!("{}  Garden", &garden[..12]));
    assert!(lines[1].contains("«Basil»"), "{out}");

    let hits = q.json(&["search", "basil", "warmth"]);
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit["id"], garden.as_str());
    assert_eq!(hit["title"], "Garden");
    assert!(hit["score"].as_f64().unwrap() > 0.0);
    let snippet = hit["snippet"].as_str().unwrap();
    let marked: Vec<_> = hit["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let (start, end) = (
                r[0].as_u64().unwrap() as usize,
                r[1].as_u64().unwrap() as usize,
            );
            snippet
                .get(start..end)
                .unwrap_or_else(|| panic!("{start}..{end} is not a range of {snippet:?}"))
        })
        .collect();
    assert_eq!(marked, ["Basil", "warmth"], "{snippet}");

    // The last word is a prefix.
    let hits = q.json(&["search", "tomat"]);
    assert_eq!(hits.as_array().unwrap().len(), 2);
    // Titles count too.
    assert_eq!(q.json(&["search", "kitchen"])[0]["title"], "Kitchen");
    assert_eq!(
        q.json(&["search", "basil", "--limit", "0"]),
        Value::Array(vec![])
    );

    assert_eq!(q.ok(&["search", "zebra"]), "no matches\n");
    assert_eq!(q.json(&["search", "zebra"]), Value::Array(vec![]));
    // Query syntax is treated as plain words, never as an error.
    assert_eq!(q.ok(&["search", "\"(*", "OR"]), "no matches\n");

    // The index follows edits made by another process.
    q.ok(&["doc", "edit", "Garden", "--text", "Rosemary only.\n"]);
    assert_eq!(q.ok(&["search", "basil"]), "no matches\n");
    assert_eq!(q.json(&["search", "rosemary"])[0]["id"], garden.as_str());
}

// ---------------------------------------------------------------------------------
// Persistence

#[test]
fn unicode_text_survives_every_path() {
    let q = Quire::new();
    let title = "日記 📓";
    let body = "Café ☕ — 你好，世界！\n👩‍👩‍👧 family, 🇯🇵 flag, e\u{301} combining\n";
    let id = q.new_doc(title, body);
    assert_eq!(q.cat(&id), body);
    assert_eq!(q.cat(title), body);
    assert_eq!(q.docs()[0]["title"], title);
    assert_eq!(q.docs()[0]["chars"], body.chars().count());

    q.ok_stdin(&["doc", "append", &id], "ñ 🦀 한국어\n".as_bytes());
    q.ok(&["doc", "append", &id, "𝄞 end"]);
    let full = format!("{body}ñ 🦀 한국어\n𝄞 end");
    assert_eq!(q.cat(&id), full);
    assert_eq!(q.docs()[0]["chars"], full.chars().count());
    assert_eq!(q.json(&["doc", "cat", &id])["text"], full.as_str());

    // Edits in the middle of astral characters' neighbourhood.
    let edited = full.replace("🦀", "🐍🐍").replace("世界", "地球");
    q.ok_stdin(&["doc", "edit", &id], edited.as_bytes());
    assert_eq!(q.cat(&id), edited);
    let out = q.run(&["export", &id]);
    assert_eq!(out.stdout, edited.as_bytes());
    let diff = q.ok(&["diff", &id, "1"]);
    assert!(diff.contains("-Café ☕ — 你好，世界！"), "{diff}");
    assert!(diff.contains("+Café ☕ — 你好，地球！"), "{diff}");
    q.ok(&["restore", &id, "1"]);
    assert_eq!(q.cat(&id), body);
}

// ---------------------------------------------------------------------------------
// Bad input: one clear line, status 1, and nothing changed
