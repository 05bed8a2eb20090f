//! Runs the real `quire` binary against a temporary data folder (shared by the CLI
//! tests, included with `#[path]`).
#![allow(dead_code, unused_imports)]

pub(crate) use std::io::Write;
pub(crate) use std::path::{Path, PathBuf};
pub(crate) use std::process::{Command, Output, Stdio};
pub(crate) use std::time::{Duration, Instant};

pub(crate) use serde_json::Value;
pub(crate) use tempfile::TempDir;

/// A scratch folder holding a data folder, temporary files and test inputs.
pub(crate) struct Quire {
    pub(crate) root: TempDir,
}

impl Quire {
    pub(crate) fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("tmp")).unwrap();
        Self { root }
    }

    /// The data folder every command uses.
    pub(crate) fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// A path inside the scratch folder (outside the data folder).
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// Where the editor's temporary file goes (`TMPDIR`).
    pub(crate) fn tmp(&self) -> PathBuf {
        self.root.path().join("tmp")
    }

    /// A command on the data folder, isolated from the caller's environment. The
    /// default editor fails at once, so a test can never hang in an interactive `vi`.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
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

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs with `input` piped to standard input.
    pub(crate) fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        pipe(self.cmd(args), input)
    }

    /// Runs a command that must succeed quietly on stderr; returns its stdout.
    #[track_caller]
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        succeeded(&self.run(args), args)
    }

    #[track_caller]
    pub(crate) fn ok_stdin(&self, args: &[&str], input: &[u8]) -> String {
        succeeded(&self.run_stdin(args, input), args)
    }

    /// Runs a command that must fail; returns its one-line message.
    #[track_caller]
    pub(crate) fn fail(&self, args: &[&str]) -> String {
        failed(&self.run(args), args)
    }

    #[track_caller]
    pub(crate) fn fail_stdin(&self, args: &[&str], input: &[u8]) -> String {
        failed(&self.run_stdin(args, input), args)
    }

    /// Creates a document and returns its id.
    #[track_caller]
    pub(crate) fn new_doc(&self, title: &str, text: &str) -> String {
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
    pub(crate) fn cat(&self, doc: &str) -> String {
        self.ok(&["doc", "cat", doc])
    }

    #[track_caller]
    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    }

    /// Live documents as `doc ls --json` lists them.
    #[track_caller]
    pub(crate) fn docs(&self) -> Vec<Value> {
        self.json(&["doc", "ls"]).as_array().unwrap().clone()
    }

    #[track_caller]
    pub(crate) fn versions(&self, doc: &str) -> Vec<Value> {
        self.json(&["history", doc]).as_array().unwrap().clone()
    }

    /// Writes a file in the scratch folder and returns its path as a string.
    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    }

    /// The editor's temporary files must be gone once the command ends.
    #[track_caller]
    pub(crate) fn assert_no_editor_leftovers(&self) {
        let left: Vec<_> = std::fs::read_dir(self.tmp())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "editor files left behind: {left:?}");
    }
}

pub(crate) fn pipe(mut cmd: Command, input: &[u8]) -> Output {
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

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[track_caller]
pub(crate) fn succeeded(out: &Output, args: &[&str]) -> String {
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
pub(crate) fn failed(out: &Output, args: &[&str]) -> String {
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
pub(crate) fn assert_mentions(msg: &str, words: &[&str]) {
    for w in words {
        assert!(
            msg.to_lowercase().contains(&w.to_lowercase()),
            "message lacks {w:?}: {msg}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Documents
