//! End-to-end tests of the `quire` binary: every command runs as its own process
//! against a temporary data folder, and is checked as a user or a script sees it
//! (standard output, standard error, exit code), including what it must refuse.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// A scratch folder holding a data folder, temporary files and test inputs.
struct Quire {
    root: TempDir,
}

impl Quire {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("tmp")).unwrap();
        Self { root }
    }

    /// The data folder every command uses.
    fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// A path inside the scratch folder (outside the data folder).
    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// Where the editor's temporary file goes (`TMPDIR`).
    fn tmp(&self) -> PathBuf {
        self.root.path().join("tmp")
    }

    /// A command on the data folder, isolated from the caller's environment. The
    /// default editor fails at once, so a test can never hang in an interactive `vi`.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quire"));
        cmd.arg("--data-dir")
            .arg(self.data())
            .args(args)
            .env_remove("VISUAL")
            .env_remove("QUIRE_DATA_DIR")
            .env("EDITOR", "false")
            .env("TMPDIR", self.tmp())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs with `input` piped to standard input.
    fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        pipe(self.cmd(args), input)
    }

    /// Runs a command that must succeed quietly on stderr; returns its stdout.
    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        succeeded(&self.run(args), args)
    }

    #[track_caller]
    fn ok_stdin(&self, args: &[&str], input: &[u8]) -> String {
        succeeded(&self.run_stdin(args, input), args)
    }

    /// Runs a command that must fail; returns its one-line message.
    #[track_caller]
    fn fail(&self, args: &[&str]) -> String {
        failed(&self.run(args), args)
    }

    #[track_caller]
    fn fail_stdin(&self, args: &[&str], input: &[u8]) -> String {
        failed(&self.run_stdin(args, input), args)
    }

    /// Creates a document and returns its id.
    #[track_caller]
    fn new_doc(&self, title: &str, text: &str) -> String {
        let id = self.ok(&["doc", "new", title, "--text", text]);
        let id = id.trim().to_owned();
        assert_eq!(id.len(), 52, "an id is 52 base32 characters: {id:?}");
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c)),
            "{id:?}"
        );
        id
    }

    #[track_caller]
    fn cat(&self, doc: &str) -> String {
        self.ok(&["doc", "cat", doc])
    }

    #[track_caller]
    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    }

    /// Live documents as `doc ls --json` lists them.
    #[track_caller]
    fn docs(&self) -> Vec<Value> {
        self.json(&["doc", "ls"]).as_array().unwrap().clone()
    }

    #[track_caller]
    fn versions(&self, doc: &str) -> Vec<Value> {
        self.json(&["history", doc]).as_array().unwrap().clone()
    }

    /// Writes a file in the scratch folder and returns its path as a string.
    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    }

    /// The editor's temporary files must be gone once the command ends.
    #[track_caller]
    fn assert_no_editor_leftovers(&self) {
        let left: Vec<_> = std::fs::read_dir(self.tmp())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "editor files left behind: {left:?}");
    }
}

fn pipe(mut cmd: Command, input: &[u8]) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Written from a thread so that a child that does not read cannot deadlock us.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[track_caller]
fn succeeded(out: &Output, args: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{args:?} failed with {}: {stderr}",
        out.status
    );
    assert!(stderr.is_empty(), "{args:?} wrote to stderr: {stderr}");
    text(&out.stdout)
}

/// A failure must exit with status 1 and say what is wrong in exactly one line.
#[track_caller]
fn failed(out: &Output, args: &[&str]) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail with status 1, got {}; stdout {:?}, stderr {stderr:?}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(
        stderr.starts_with("quire: ") && stderr.ends_with('\n') && stderr.lines().count() == 1,
        "{args:?}: stderr must be one `quire: ` line, got {stderr:?}"
    );
    stderr.trim_end().to_owned()
}

#[track_caller]
fn assert_mentions(msg: &str, words: &[&str]) {
    for w in words {
        assert!(
            msg.to_lowercase().contains(&w.to_lowercase()),
            "message lacks {w:?}: {msg}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Documents

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

#[test]
fn unknown_and_ambiguous_documents() {
    let q = Quire::new();
    let a = q.new_doc("Twin", "first\n");
    let b = q.new_doc("Twin", "second\n");

    assert_mentions(
        &q.fail(&["doc", "cat", "nothing"]),
        &["no document matches", "`nothing`"],
    );
    assert_mentions(&q.fail(&["history", "nothing"]), &["no document matches"]);
    assert_mentions(
        &q.fail(&["doc", "append", "nothing", "x"]),
        &["no document matches"],
    );
    // A whole id that names no document.
    let ghost = "a".repeat(52);
    assert_mentions(&q.fail(&["doc", "cat", &ghost]), &["no document"]);

    for args in [
        vec!["doc", "cat", "Twin"],
        vec!["doc", "append", "twin", "more"],
        vec!["doc", "edit", "Twin", "--text", "clobbered"],
        vec!["doc", "rm", "Twin"],
        vec!["doc", "rename", "Twin", "One"],
        vec!["restore", "Twin", "1"],
    ] {
        let msg = q.fail(&args);
        assert_mentions(&msg, &["matches 2 documents", &a[..12], &b[..12], "id"]);
    }
    assert_eq!(q.cat(&a), "first\n");
    assert_eq!(q.cat(&b), "second\n");
    assert_eq!(q.docs().len(), 2);
    assert!(q.docs().iter().all(|d| d["title"] == "Twin"));
    // Telling them apart by id works.
    assert_eq!(q.cat(&a[..10]), "first\n");
}

#[test]
fn bad_version_ids() {
    let q = Quire::new();
    let id = q.new_doc("Doc", "text\n");
    q.ok(&["doc", "append", "Doc", "more\n"]);
    let versions = q.versions(&id).len();

    assert_mentions(
        &q.fail(&["diff", "Doc", "x"]),
        &["`x` is not a version", "history"],
    );
    assert_mentions(
        &q.fail(&["diff", "Doc", "1", "v"]),
        &["`v` is not a version"],
    );
    assert_mentions(&q.fail(&["diff", "Doc", "0"]), &["`0` is not a version"]);
    assert_mentions(&q.fail(&["diff", "Doc", "999"]), &["no version 999"]);
    assert_mentions(&q.fail(&["restore", "Doc", "999"]), &["no version 999"]);
    assert_mentions(&q.fail(&["restore", "Doc", "v999"]), &["no version 999"]);
    assert_mentions(&q.fail(&["restore", "Doc", "current"]), &["version number"]);
    assert_mentions(&q.fail(&["restore", "Doc", "x"]), &["not a version"]);

    assert_eq!(q.cat(&id), "text\nmore\n");
    assert_eq!(q.versions(&id).len(), versions);
}

#[test]
fn unreadable_import_files() {
    let q = Quire::new();
    let id = q.new_doc("Existing", "safe\n");
    let good = q.write("good.md", b"# Good\n");

    let missing = q.path("missing.md");
    let missing = missing.to_str().unwrap();
    let msg = q.fail(&["import", missing]);
    assert_mentions(&msg, &[missing, "no such file"]);
    assert_eq!(msg.matches("No such file").count(), 1, "said twice: {msg}");

    let folder = q.path("tmp");
    let folder = folder.to_str().unwrap();
    assert_mentions(
        &q.fail(&["import", folder]),
        &[folder, "not a regular file"],
    );

    let bad = q.write("bad.md", b"\xff\xfe# Not UTF-8\n");
    assert_mentions(
        &q.fail(&["import", &bad]),
        &[&bad, "not UTF-8", "offset 0", "convert"],
    );
    let late = q.write("late.md", b"# Fine at first\ncaf\xe9\n");
    assert_mentions(&q.fail(&["import", &late]), &["not UTF-8", "offset 19"]);

    assert_eq!(q.docs().len(), 1, "nothing was imported");
    assert_eq!(q.cat(&id), "safe\n");

    // Files before the bad one are imported (and said so); the bad one stops the run.
    let out = q.run(&["import", &good, missing]);
    assert_mentions(&failed(&out, &["import"]), &[missing]);
    assert!(text(&out.stdout).contains("Good"));
    assert_eq!(q.cat("Good"), "# Good\n");

    // Exporting into a folder that does not exist.
    let nowhere = q.path("no/such/dir/out.md");
    assert_mentions(
        &q.fail(&["export", "Existing", nowhere.to_str().unwrap()]),
        &["no such file"],
    );
}

#[test]
fn non_utf8_standard_input() {
    let q = Quire::new();
    let id = q.new_doc("Doc", "unchanged\n");
    let versions = q.versions(&id).len();
    for args in [
        vec!["doc", "append", "Doc"],
        vec!["doc", "append", "Doc", "-"],
        vec!["doc", "edit", "Doc"],
        vec!["doc", "edit", "Doc", "--text", "-"],
        vec!["doc", "new", "Other", "--text", "-"],
    ] {
        let msg = q.fail_stdin(&args, b"ok \xff\xfe");
        assert_mentions(&msg, &["standard input", "not UTF-8", "offset 3"]);
    }
    assert_eq!(q.cat(&id), "unchanged\n");
    assert_eq!(q.docs().len(), 1);
    assert_eq!(q.versions(&id).len(), versions);
}

#[test]
fn database_from_a_newer_quire() {
    let q = Quire::new();
    let id = q.new_doc("Precious", "do not lose me\n");
    let db = q.data().join("quire.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    for args in [vec!["doc", "ls"], vec!["doc", "cat", "Precious"]] {
        let msg = q.fail(&args);
        assert_mentions(&msg, &["newer", "upgrade", "99", db.to_str().unwrap()]);
    }
    // Nothing was touched: an older build never migrates a newer file.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 99);
    conn.pragma_update(None, "user_version", 1).unwrap();
    drop(conn);
    assert_eq!(q.cat(&id), "do not lose me\n");
}

/// Deterministic noise (no SQLite header).
fn garbage(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

#[test]
fn garbage_database() {
    let q = Quire::new();
    std::fs::create_dir(q.data()).unwrap();
    let db = q.data().join("quire.db");
    let bytes = garbage(4096 * 3);
    std::fs::write(&db, &bytes).unwrap();
    for args in [
        vec!["doc", "ls"],
        vec!["doc", "new", "x"],
        vec!["search", "x"],
        vec!["trash"],
    ] {
        let msg = q.fail(&args);
        assert_mentions(&msg, &["damaged", db.to_str().unwrap(), "backup"]);
    }
    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "the file was left as it was"
    );
}

#[test]
fn truncated_database() {
    let q = Quire::new();
    let big: String = (0..4000).map(|i| format!("line {i}\n")).collect();
    for title in ["One", "Two", "Three"] {
        q.new_doc(title, &big);
    }
    let db = q.data().join("quire.db");
    let len = std::fs::metadata(&db).unwrap().len();
    assert!(len > 64 * 1024, "{len}");
    // Shorter and shorter: from losing the last page to keeping only two.
    for cut in [len - 4096, len / 2, 4096 * 2] {
        let file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        file.set_len(cut).unwrap();
        drop(file);
        for args in [
            vec!["doc", "ls"],
            vec!["doc", "cat", "Two"],
            vec!["search", "line"],
        ] {
            let msg = q.fail(&args);
            assert_mentions(&msg, &["damaged", "quire.db", "backup"]);
        }
    }
}

#[test]
fn data_dir_that_is_a_file() {
    let q = Quire::new();
    std::fs::write(q.data(), b"not a folder").unwrap();
    for args in [vec!["doc", "ls"], vec!["doc", "new", "x"]] {
        let msg = q.fail(&args);
        assert_mentions(&msg, &[q.data().to_str().unwrap(), "not a folder"]);
    }
    assert_eq!(std::fs::read(q.data()).unwrap(), b"not a folder");
}

/// Polls for `path` to appear.
fn wait_for(path: &Path, limit: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < limit, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn second_process_is_refused_while_the_first_holds_the_data_folder() {
    let q = Quire::new();
    let id = q.new_doc("Shared", "before\n");
    let started = q.path("editor-started");
    let release = q.path("editor-release");
    // The editor holds on until the test has seen the second process refused (or 30 s),
    // so a slow machine cannot let the first process finish too early.
    let script = q.write(
        "slow.sh",
        format!(
            "#!/bin/sh\ntouch '{}'\ni=0\nwhile [ ! -e '{}' ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\nprintf 'after\\n' > \"$1\"\n",
            started.display(),
            release.display()
        )
        .as_bytes(),
    );
    let mut first = q
        .cmd(&["doc", "edit", &id])
        .env("EDITOR", format!("sh {script}"))
        .spawn()
        .unwrap();
    wait_for(&started, Duration::from_secs(30));

    let data = q.data();
    for args in [vec!["doc", "ls"], vec!["doc", "cat", "Shared"]] {
        let t = Instant::now();
        let msg = q.fail(&args);
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "{args:?} took {:?} to give up",
            t.elapsed()
        );
        assert_mentions(&msg, &["another Quire process", data.to_str().unwrap()]);
    }
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first process is still editing"
    );

    std::fs::write(&release, b"").unwrap();
    let out = first.wait_with_output().unwrap();
    succeeded(&out, &["doc", "edit"]);
    assert_eq!(q.cat(&id), "after\n");
    q.assert_no_editor_leftovers();
}

// ---------------------------------------------------------------------------------
// Help and version

#[test]
fn help_and_version() {
    let q = Quire::new();
    let help = q.ok(&["--help"]);
    assert!(help.contains("Usage: quire"), "{help}");
    for command in [
        "doc", "import", "export", "history", "version", "diff", "restore", "search", "trash",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} missing from {help}"
        );
    }
    assert!(help.contains("--data-dir") && help.contains("--json"));

    let doc = q.ok(&["doc", "--help"]);
    for command in ["new", "ls", "cat", "edit", "append", "rename", "rm"] {
        assert!(
            doc.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} missing from {doc}"
        );
    }
    assert!(q.ok(&["help", "doc"]).contains("Usage: quire doc"));
    assert!(q.ok(&["diff", "--help"]).contains("--chars"));
    assert!(q.ok(&["doc", "edit", "--help"]).contains("EDITOR"));
    assert!(q.ok(&["trash", "--help"]).contains("purge"));
    assert!(q.ok(&["search", "--help"]).contains("--limit"));

    let version = q.ok(&["--version"]);
    assert_eq!(version, format!("quire {}\n", env!("CARGO_PKG_VERSION")));
    assert_eq!(q.ok(&["-V"]), version);

    // Usage errors are clap's: status 2, with a hint on stderr.
    let out = q.run(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unrecognized subcommand"));
    let out = q.run(&["doc", "cat"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("<DOC>"));

    // None of that touched (or created) the data folder.
    assert!(!q.data().exists());
}
