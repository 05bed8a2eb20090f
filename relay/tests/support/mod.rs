//! The `quire-relay` binary as a test runs it: on loopback, in a folder the test
//! keeps, stopped with SIGTERM or SIGKILL and started again on the same folder.
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quire_net::{Multiaddr, PeerId};

/// A running relay; killed when dropped.
pub struct Relay {
    child: Child,
    pub peer: PeerId,
    pub addr: Multiaddr,
    pub http: Option<String>,
}

impl Relay {
    pub fn start(dir: &Path, args: &[String]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_quire-relay"));
        command.arg("--data-dir").arg(dir);
        if !args.iter().any(|a| a == "--listen") {
            command.args(["--listen", "/ip4/127.0.0.1/tcp/0"]);
        }
        let mut child = command
            .args(args)
            .env("QUIRE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut peer, mut addr, mut http) = (None, None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let line = lines
                .next()
                .expect("the relay exited before it was ready")
                .unwrap();
            if let Some(id) = line.strip_prefix("quire-relay ") {
                peer = Some(id.parse().unwrap());
            } else if let Some(a) = line.strip_prefix("address ") {
                addr = Some(a.parse().unwrap());
            } else if let Some(url) = line.strip_prefix("http http://") {
                http = Some(url.to_owned());
            } else if line == "ready" {
                break;
            }
            assert!(Instant::now() < deadline, "the relay did not get ready");
        }
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            peer: peer.expect("the relay printed its peer id"),
            addr: addr.expect("the relay printed an address"),
            http,
        }
    }

    pub fn stop(mut self, signal: &str) {
        let pid = self.child.id().to_string();
        Command::new("kill").args([signal, &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        if signal == "-TERM" {
            assert!(status.success(), "a clean stop exits 0: {status}");
        }
        std::mem::forget(self);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port free on loopback right now (for a relay that must come back on the
/// same address after a restart).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
