//! Two `quire daemon` processes on loopback, driven by the `quire` command like a user
//! would: share, join, live edits both ways through the daemons, read-only joins,
//! status and peers, and a clean stop.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/cli_support.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::Child;

use support::*;

/// A running daemon; stopped with SIGTERM when dropped.
struct Daemon {
    child: Child,
}

impl Daemon {
    fn start(q: &Quire) -> Self {
        Self::start_on(q, "/ip4/127.0.0.1/tcp/0")
    }

    /// A daemon listening on `listen` only.
    fn start_on(q: &Quire, listen: &str) -> Self {
        let mut child = q
            .cmd(&["daemon", "--no-mdns", "--listen", listen])
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let line = lines.next().expect("daemon exited early").unwrap();
            if line == "ready" {
                break;
            }
            assert!(Instant::now() < deadline, "daemon not ready");
        }
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child }
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        std::mem::forget(self);
        status
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[track_caller]
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_daemons_sync_documents_edited_from_the_command_line() {
    let (a, b) = (Quire::new(), Quire::new());
    let id = a.new_doc("Shared plan", "# Plan\n");
    a.ok(&["whoami", "--name", "Ann"]);
    let (da, db) = (Daemon::start(&a), Daemon::start(&b));

    // Commands on a daemon's folder go through it.
    let link = a.ok(&["share", "Shared plan"]).trim().to_owned();
    assert!(link.starts_with("quire://join/"), "{link}");
    let joined = b.ok(&["join", "--wait", "30", &link]);
    assert!(joined.starts_with(&id), "{joined}");
    assert_eq!(b.cat("Shared plan"), "# Plan\n");

    // Live edits both ways, made with ordinary commands.
    a.ok(&["doc", "append", "Shared plan", "- milk\n"]);
    wait_for("a's edit at b", || b.cat(&id).contains("- milk\n"));
    b.ok_stdin(&["doc", "append", &id], b"- eggs\n");
    wait_for("b's edit at a", || a.cat(&id).contains("- eggs\n"));

    // Status and peers show the other side, by name.
    let status = b.json(&["status"]);
    assert_eq!(status["daemon"], true);
    let doc = &status["documents"][0];
    assert_eq!(doc["role"], "write");
    assert_eq!(doc["peers"].as_array().unwrap().len(), 1);
    wait_for("a's presence at b", || {
        b.json(&["status"])["documents"][0]["present"][0]["name"] == "Ann"
    });
    assert!(b.ok(&["peers"]).contains("Ann"));
    // Both daemons listen on loopback here: the path is the local network.
    assert_eq!(b.json(&["peers"])[0]["path"], "lan");

    // A read-only join: follows, and its edits are refused with a clear message.
    let c = Quire::new();
    let dc = Daemon::start(&c);
    let read_link = a.ok(&["share", "--read-only", &id]).trim().to_owned();
    let out = c.run(&["join", "--wait", "30", &read_link]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"));
    wait_for("the reader to catch up", || c.cat(&id) == a.cat(&id));
    let refused = c.fail(&["doc", "append", &id, "vandalism"]);
    assert_mentions(&refused, &["read-only"]);
    a.ok(&["doc", "append", &id, "- bread\n"]);
    wait_for("the reader to follow", || c.cat(&id).contains("- bread\n"));

    // Stopping a daemon releases the folder: commands run on their own again.
    assert!(dc.stop().success());
    assert!(!c.data().join("daemon.json").exists());
    assert!(c.cat(&id).contains("- bread\n"));
    assert!(db.stop().success());
    assert!(da.stop().success());
    assert_eq!(a.cat(&id), b.cat(&id));
    let status = a.json(&["status"]);
    assert_eq!(status["daemon"], false);
    assert!(status["documents"][0]["last_sync"].is_i64());
}

#[test]
fn commands_without_a_daemon_explain_what_syncs() {
    let q = Quire::new();
    let id = q.new_doc("Alone", "x\n");
    let out = q.run(&["share", &id]);
    assert!(out.status.success());
    assert!(text(&out.stdout).starts_with("quire://join/"));
    assert_mentions(&text(&out.stderr), &["quire daemon"]);
    assert_mentions(&q.fail(&["peers"]), &["quire daemon"]);
    assert_mentions(
        &q.fail(&["join", "quire://join/notaticket"]),
        &["invite link"],
    );
    assert_mentions(
        &q.fail(&["join", "--wait", "1", &text(&out.stdout)]),
        &["daemon"],
    );
    let who = q.json(&["whoami"]);
    assert!(who["peer_id"].as_str().unwrap().starts_with("12D3KooW"));
}

/// A daemon killed (SIGKILL: no goodbye) and restarted at once is back in live sync
/// both ways, and shows who is there, right away. Over QUIC nothing tells the other
/// daemon that the old connection died (until its 10 s idle timeout), so the
/// restarted daemon's connection is its second one to the same peer: without the
/// restart check, gossip kept using the dead one.
#[test]
fn a_daemon_killed_and_restarted_is_back_in_live_sync_at_once() {
    const QUIC: &str = "/ip4/127.0.0.1/udp/0/quic-v1";
    let (a, b) = (Quire::new(), Quire::new());
    let id = a.new_doc("Crash", "text\n");
    a.ok(&["whoami", "--name", "Ann"]);
    let da = Daemon::start_on(&a, QUIC);
    let db = Daemon::start_on(&b, QUIC);
    let link = a.ok(&["share", &id]).trim().to_owned();
    b.ok(&["join", "--wait", "30", &link]);
    let ann_at_b = || b.json(&["status"])["documents"][0]["present"][0]["name"] == "Ann";
    wait_for("a's presence at b", ann_at_b);

    drop(db);
    let db = Daemon::start_on(&b, QUIC);
    let restarted = Instant::now();
    // Several edits each way: each must arrive live, well before the old
    // connection's idle timeout (10 s) could have cleared the way.
    for round in 0..3 {
        let (from_a, from_b) = (format!("a{round}\n"), format!("b{round}\n"));
        a.ok(&["doc", "append", &id, &from_a]);
        b.ok(&["doc", "append", &id, &from_b]);
        wait_for("the edits of both", || {
            let (at_a, at_b) = (a.cat(&id), b.cat(&id));
            at_a.contains(&from_b) && at_b.contains(&from_a)
        });
    }
    wait_for("a's presence at the restarted b", ann_at_b);
    let took = restarted.elapsed();
    assert!(
        took < Duration::from_secs(6),
        "the restarted daemon took {took:?} to be back in live sync with a"
    );
    assert_eq!(a.cat(&id), b.cat(&id));
    drop((da, db));
}
