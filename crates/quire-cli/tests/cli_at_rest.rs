//! Secrets and damage at rest, through the real `quire` binary: the data folder is
//! owner-only and a folder other users can reach is refused; backups are made, rotate
//! and restore; the damaged-database error names the newest backup.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/cli_support.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::Child;

use support::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn backups(q: &Quire) -> Vec<Value> {
    q.json(&["backup", "ls"]).as_array().unwrap().clone()
}

/// A running `quire daemon`; killed if the test ends without stopping it.
struct Daemon {
    child: Child,
}

impl Daemon {
    fn start(q: &Quire) -> Self {
        let mut child = q
            .cmd(&["daemon", "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0"])
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines.next().expect("daemon exited early").unwrap();
            if line == "ready" {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Self { child }
    }

    /// SIGTERM, the orderly stop; waits for the process to end.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(self.child.wait().unwrap().success());
        std::mem::forget(self);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_new_data_folder_and_its_files_are_owner_only() {
    let q = Quire::new();
    let id = q.new_doc("Keys", "secret plans");
    // Sharing stores the document's keys (it notes on stderr that no daemon runs).
    assert!(q.run(&["share", &id]).status.success());
    q.ok(&["backup", "now"]);
    assert_eq!(mode(&q.data()), 0o700, "the data folder");
    let backups_dir = q.data().join("backups");
    assert_eq!(mode(&backups_dir), 0o700, "the backups folder");
    let mut files: Vec<PathBuf> = std::fs::read_dir(q.data())
        .unwrap()
        .chain(std::fs::read_dir(&backups_dir).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    // SQLite makes -wal and -shm files while the database is open: open it the way
    // Quire does (WAL mode, this test process's umask is the usual 022) and look.
    let db = q.data().join("quire.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    for side in ["quire.db-wal", "quire.db-shm"] {
        let path = q.data().join(side);
        assert!(path.exists(), "{side} exists while the database is open");
        files.push(path);
    }
    for name in ["quire.db", "device.key", "quire.lock"] {
        assert!(files.contains(&q.data().join(name)), "{name} is there");
    }
    assert!(
        files.iter().any(|f| f.starts_with(&backups_dir)),
        "a backup"
    );
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
}

#[test]
fn a_data_folder_others_can_reach_is_refused_with_the_fix() {
    let q = Quire::new();
    let id = q.new_doc("Keys", "secret plans");
    q.ok(&["backup", "now"]);
    let db = q.data().join("quire.db");
    let backup = PathBuf::from(backups(&q)[0]["path"].as_str().unwrap());
    let folder = q.data();
    for (path, wide, private) in [
        (folder.clone(), 0o755, 0o700),
        (folder.clone(), 0o711, 0o700),
        (db.clone(), 0o644, 0o600),
        (db.clone(), 0o620, 0o600),
        (folder.join("device.key"), 0o640, 0o600),
        (backup.clone(), 0o604, 0o600),
    ] {
        let before = std::fs::read(&db).unwrap();
        chmod(&path, wide);
        for args in [vec!["doc", "ls"], vec!["doc", "cat", &id], vec!["doctor"]] {
            let msg = q.fail(&args);
            assert_mentions(
                &msg,
                &[
                    path.to_str().unwrap(),
                    "other users",
                    &format!("mode {wide:o}"),
                    &format!("chmod -R go-rwx '{}'", folder.display()),
                ],
            );
        }
        assert!(
            std::fs::read(&db).unwrap() == before,
            "a refused start wrote nothing"
        );
        // The fix the message gives is enough.
        let fixed = Command::new("chmod")
            .args(["-R", "go-rwx"])
            .arg(&folder)
            .status()
            .unwrap();
        assert!(fixed.success());
        assert_eq!(mode(&path), private);
        assert_eq!(q.cat(&id), "secret plans");
    }
}

#[test]
fn backups_are_made_rotate_and_restore_the_documents() {
    let q = Quire::new();
    assert_mentions(&q.ok(&["backup", "ls"]), &["no backups yet"]);
    let a = q.new_doc("Alpha", "first text");
    let made = q.json(&["backup", "now"]);
    let first = PathBuf::from(made["path"].as_str().unwrap());
    assert!(first.starts_with(q.data().join("backups")), "{first:?}");
    assert_eq!(mode(&first), 0o600);

    // Later work: an edit and a new document.
    q.ok(&["doc", "edit", &a, "--text", "second text"]);
    let b = q.new_doc("Beta", "only after the backup");

    // Each `backup now` makes one; beyond the kept number, the oldest go.
    let kept = quire_engine::BACKUPS_KEPT;
    let mut made_at = Vec::new();
    for _ in 0..kept + 2 {
        made_at.push(q.json(&["backup", "now"])["made_at"].as_i64().unwrap());
    }
    let listed = backups(&q);
    assert_eq!(listed.len(), kept, "the last {kept} are kept");
    let listed_at: Vec<i64> = listed
        .iter()
        .map(|b| b["made_at"].as_i64().unwrap())
        .collect();
    made_at.reverse();
    assert_eq!(listed_at, made_at[..kept], "newest first, the newest kept");
    assert!(!first.exists(), "the oldest was deleted");

    // Restore the newest: everything is there. Make one of the state before the edit
    // to restore that too.
    q.ok(&["backup", "restore", "1"]);
    assert_eq!(q.cat(&a), "second text");
    assert_eq!(q.cat(&b), "only after the backup");
    q.ok(&["doc", "rm", &b]);
    q.ok(&["trash", "empty"]);
    q.ok(&["doc", "edit", &a, "--text", "third text"]);
    let out = q.ok(&["backup", "restore", "1"]);
    assert_mentions(&out, &["restored", "kept as"]);
    assert_eq!(q.cat(&a), "second text");
    assert_eq!(q.cat(&b), "only after the backup");
    // The replaced database is kept whole beside it, and opens.
    let aside: Vec<PathBuf> = std::fs::read_dir(q.data())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("quire.replaced-")
        })
        .filter(|p| p.extension().is_some_and(|e| e == "db"))
        .collect();
    assert_eq!(aside.len(), 2, "{aside:?}");
    let texts: Vec<String> = aside
        .iter()
        .map(|p| {
            let c = rusqlite::Connection::open(p).unwrap();
            c.query_row("SELECT count(*) FROM documents", [], |r| r.get::<_, i64>(0))
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        texts.contains(&"1".to_owned()),
        "the replaced file without Beta: {texts:?}"
    );

    assert_mentions(
        &q.fail(&["backup", "restore", "99"]),
        &["no backup 99", "quire backup ls"],
    );
}

#[test]
fn restore_is_refused_while_a_daemon_runs_and_the_daemon_leaves_a_backup_on_quit() {
    let q = Quire::new();
    let a = q.new_doc("Alpha", "before the daemon");
    q.ok(&["backup", "now"]);
    let daemon = Daemon::start(&q);
    let msg = q.fail(&["backup", "restore", "1"]);
    assert_mentions(&msg, &["daemon", "quit it", "quire backup restore 1"]);
    assert_mentions(&q.fail(&["doctor"]), &["daemon", "quit it", "quire doctor"]);
    // `backup now` runs in the daemon; listing needs nothing.
    q.ok(&["doc", "edit", &a, "--text", "while the daemon ran"]);
    q.ok(&["backup", "now"]);
    let during = backups(&q).len();
    daemon.stop();
    let after = backups(&q);
    assert_eq!(after.len(), during + 1, "the orderly quit made one");
    // That last backup holds the edit made through the daemon.
    q.ok(&["doc", "edit", &a, "--text", "after"]);
    q.ok(&["backup", "restore", "1"]);
    assert_eq!(q.cat(&a), "while the daemon ran");
}

#[test]
fn the_damaged_database_error_names_the_newest_backup() {
    let q = Quire::new();
    q.new_doc("Alpha", "text");
    q.ok(&["backup", "now"]);
    let newest = backups(&q)[0]["path"].as_str().unwrap().to_owned();
    let db = q.data().join("quire.db");
    // The header's magic string is gone: not a database any more.
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[..16].copy_from_slice(b"garbage garbage\0");
    std::fs::write(&db, &bytes).unwrap();
    let msg = q.fail(&["doc", "ls"]);
    assert_mentions(
        &msg,
        &[
            "damaged",
            "restore it from a backup",
            &newest,
            "quire backup restore 1",
            "quire doctor",
        ],
    );
    q.ok(&["backup", "restore", "1"]);
    assert_eq!(q.docs().len(), 1);
}
