//! Two hosts on one machine: network namespaces joined by a veth pair, each running
//! `quire daemon` with mDNS. The invite carries no address, so the devices can only
//! find each other on the "LAN" by mDNS; then they sync. Skipped, with the reason
//! printed, where namespaces cannot be made (not root, no `ip`).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/cli_support.rs"]
mod support;

use support::*;

use quire_netns::{Host, Stop, link};

/// Two hosts on one "LAN" (a veth pair, multicast on); removed on drop.
struct Lan {
    hosts: [Host; 2],
}

impl Lan {
    fn new() -> Result<Self, String> {
        let tag = std::process::id() % 100_000;
        let hosts = [
            Host::new(format!("quire-a-{tag}"))?,
            Host::new(format!("quire-b-{tag}"))?,
        ];
        let (va, vb) = (format!("qva{tag}"), format!("qvb{tag}"));
        link(
            (&hosts[0], &va, "10.77.0.1/24"),
            (&hosts[1], &vb, "10.77.0.2/24"),
        )?;
        for (host, dev) in [(&hosts[0], &va), (&hosts[1], &vb)] {
            host.ip(&["link", "set", dev, "multicast", "on"])?;
            host.ip(&["route", "add", "224.0.0.0/4", "dev", dev])?;
        }
        Ok(Self { hosts })
    }

    /// `quire` on host `i`.
    fn quire(&self, i: usize, q: &Quire, args: &[&str]) -> Command {
        let inner = q.cmd(args);
        let mut cmd = self.hosts[i].command(inner.get_program());
        cmd.args(inner.get_args())
            .env("EDITOR", "false")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

fn log_tail(q: &Quire) -> String {
    let log = std::fs::read_to_string(q.path("daemon.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[test]
fn devices_on_a_lan_find_each_other_with_mdns_and_sync() {
    let lan = match Lan::new() {
        Ok(lan) => lan,
        Err(reason) => {
            quire_netns::skip_or_fail("the LAN test", &reason);
            return;
        }
    };
    let (a, b) = (Quire::new(), Quire::new());
    let id = a.new_doc("LAN notes", "found by mDNS\n");
    // Shared and joined with no daemon running: the link names no address.
    let link = text(&a.run(&["share", &id]).stdout).trim().to_owned();
    let _ = b.run(&["join", &link]);
    assert_eq!(b.cat(&id), "", "nothing synced before the daemons run");

    let mut daemons = Vec::new();
    for (i, q) in [(0, &a), (1, &b)] {
        let mut child = lan
            .quire(i, q, &["daemon", "--listen", "/ip4/0.0.0.0/tcp/0"])
            .env("QUIRE_LOG", "debug")
            .stderr(std::fs::File::create(q.path("daemon.log")).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        assert!(
            lines.by_ref().map_while(Result::ok).any(|l| l == "ready"),
            "daemon {i} did not start"
        );
        std::thread::spawn(move || for _ in lines {});
        daemons.push(Stop(child));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = lan.quire(1, &b, &["doc", "cat", &id]).output().unwrap();
        if text(&out.stdout) == "found by mDNS\n" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no sync over mDNS within 60 s: {}\n--- a's daemon log\n{}\n--- b's daemon log\n{}",
            text(&out.stderr),
            log_tail(&a),
            log_tail(&b)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Live, across the namespaces.
    let out = lan
        .quire(1, &b, &["doc", "append", &id, "and edited live\n"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = lan.quire(0, &a, &["doc", "cat", &id]).output().unwrap();
        if text(&out.stdout).contains("and edited live\n") {
            break;
        }
        assert!(Instant::now() < deadline, "live edit did not cross the LAN");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(daemons);
}
