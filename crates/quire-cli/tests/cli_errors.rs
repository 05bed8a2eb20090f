//! What the `quire` binary refuses, and how: one line on standard error that says
//! what is wrong, exit code 1, no panic, no data lost; plus help and version.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/cli_support.rs"]
mod support;

use support::*;

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
    let current: i64 = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let current = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        current
    };
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
    conn.pragma_update(None, "user_version", current).unwrap();
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
    // Owner-only, as Quire makes them: a wider folder is refused before it is read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(q.data(), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
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
