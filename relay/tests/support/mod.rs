//! The `quire-relay` binary as a test runs it: on loopback, in a folder the test
//! keeps, stopped with SIGTERM or SIGKILL and started again on the same folder.
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use quire_engine::{DocumentId, Engine, EngineConfig};
use quire_net::{Multiaddr, PeerId};
use quire_node::{NodeConfig, SyncNode};

pub mod member;

/// A running relay; killed when dropped.
pub struct Relay {
    child: Child,
    pub peer: PeerId,
    /// The first address it printed.
    pub addr: Multiaddr,
    /// Every address it printed.
    pub addrs: Vec<Multiaddr>,
    pub http: Option<String>,
}

impl Relay {
    pub fn start(dir: &Path, args: &[String]) -> Self {
        Self::start_in(None, dir, args)
    }

    /// Starts it inside the network namespace `netns` (with `ip netns exec`).
    pub fn start_in(netns: Option<&str>, dir: &Path, args: &[String]) -> Self {
        let bin = env!("CARGO_BIN_EXE_quire-relay");
        let mut command = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, bin]);
                c
            }
            None => Command::new(bin),
        };
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
        let (mut peer, mut addrs, mut http) = (None, Vec::new(), None);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let line = lines
                .next()
                .expect("the relay exited before it was ready")
                .unwrap();
            if let Some(id) = line.strip_prefix("quire-relay ") {
                peer = Some(id.parse().unwrap());
            } else if let Some(a) = line.strip_prefix("address ") {
                addrs.push(a.parse().unwrap());
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
            addr: addrs
                .first()
                .cloned()
                .expect("the relay printed an address"),
            addrs,
            http,
        }
    }

    /// The relay process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The relay process's resident memory now and at its peak, in bytes (Linux).
    pub fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().strip_suffix("kB"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|kb| kb * 1024)
                .unwrap_or_else(|| panic!("no {name} in /proc/{}/status", self.pid()))
        };
        (field("VmRSS:"), field("VmHWM:"))
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

/// The relay's HTTP answer to `GET path` (status line, headers and body).
pub fn http_get(host: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
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

/// A member's device, online.
pub struct Online {
    pub engine: Engine,
    pub node: SyncNode,
}

/// Opens the device's engine (waiting while the previous session lets go of it).
pub async fn open(dir: &Path) -> Engine {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match Engine::open(EngineConfig::new(dir)).await {
            Ok(engine) => return engine,
            Err(quire_engine::EngineError::Busy(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot open {}: {e}", dir.display()),
        }
    }
}

/// Goes online; `relay` is a relay of the device's settings (else it uses only the
/// relays named in its documents' links).
pub async fn go_online(dir: &Path, relay: Option<&Multiaddr>) -> Online {
    let mut config = NodeConfig::loopback();
    config.relays = relay.into_iter().cloned().collect();
    go_online_with(dir, config).await
}

/// Goes online with `config`.
pub async fn go_online_with(dir: &Path, config: NodeConfig) -> Online {
    let engine = open(dir).await;
    let node = SyncNode::start(engine.clone(), config).await.unwrap();
    Online { engine, node }
}

impl Online {
    pub async fn go_offline(self) {
        self.node.shutdown().await.unwrap();
        self.engine.close().await.unwrap();
    }

    /// Waits until the node is connected to the relay.
    pub async fn until_relay_connected(&self, relay: &Relay) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self
            .node
            .status()
            .await
            .unwrap()
            .relays
            .iter()
            .any(|r| r.peer == relay.peer && r.connected)
        {
            assert!(Instant::now() < deadline, "the relay never connected");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the relay has acknowledged everything this device has.
    pub async fn until_relay_has_everything(&self, relay: &Relay, id: DocumentId) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mark = self
                .engine
                .relay_mark(&relay.peer.to_string(), id)
                .await
                .unwrap();
            if mark.uploaded == self.engine.state_vector(id).await.unwrap() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the relay never acknowledged this device's state"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Appends `rounds` lines (`{what} {round}`) one after another, each waited for
    /// at `other`; returns the slowest one's time from the edit to `other`'s text.
    pub async fn edits_arrive_live(
        &self,
        other: &Online,
        id: DocumentId,
        what: &str,
        rounds: usize,
    ) -> Duration {
        let mut slowest = Duration::ZERO;
        for round in 0..rounds {
            let line = format!("{what} {round}\n");
            let sent = Instant::now();
            self.engine
                .edit(id, quire_engine::Edit::Append(line.clone()))
                .await
                .unwrap();
            other.until_text_has(id, &line).await;
            slowest = slowest.max(sent.elapsed());
        }
        slowest
    }

    pub async fn until_text_has(&self, id: DocumentId, part: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = self.engine.text(id).await.unwrap_or_default();
            if text.contains(part) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "never got {part:?}; the text is {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Ann's new document, shared with Bob by an invite link that names the team relay
/// (as the app and the CLI put it there); both devices offline again.
pub struct Team {
    pub relay: Relay,
    pub id: DocumentId,
    /// The relay's arguments (to start it again the same way).
    pub args: Vec<String>,
    pub ann_dir: tempfile::TempDir,
    pub bob_dir: tempfile::TempDir,
    pub relay_dir: tempfile::TempDir,
}

impl Team {
    /// Makes the document with `text`; the relay allows both devices and gets `args`.
    pub async fn new(title: &str, text: &str, mut args: Vec<String>) -> Self {
        let (ann_dir, bob_dir, relay_dir) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let ann = open(ann_dir.path()).await;
        let id = ann.create(title, text).await.unwrap();
        let bob = open(bob_dir.path()).await;
        for peer in [ann.peer_id(), bob.peer_id()] {
            args.extend(["--allow".to_owned(), peer.to_string()]);
        }
        let relay = Relay::start(relay_dir.path(), &args);
        let link = ann
            .share(
                id,
                quire_engine::Role::Write,
                vec![format!("{}/p2p-circuit", relay.addr)],
            )
            .await
            .unwrap();
        bob.join(&link.to_link()).await.unwrap();
        for engine in [ann, bob] {
            engine.close().await.unwrap();
        }
        Self {
            relay,
            id,
            args,
            ann_dir,
            bob_dir,
            relay_dir,
        }
    }
}

/// `program`, run inside the network namespace `netns` (with `ip netns exec`) or here.
fn command_in(netns: Option<&str>, program: &Path) -> Command {
    match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// The `quire` binary, built beside the relay's.
pub fn quire_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_quire-relay")).with_file_name("quire");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p quire-cli` (`cargo test --workspace` does)",
        bin.display()
    );
    bin
}

/// Runs `quire --data-dir DATA ARGS…` (in `netns`, if given) to the end.
pub fn quire_in(netns: Option<&str>, data: &Path, args: &[&str]) -> Output {
    command_in(netns, &quire_bin())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("EDITOR", "false")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A member's `quire daemon` (in `netns`, if given), without mDNS; stopped with
/// SIGTERM on drop, or killed with [`Daemon::kill`].
pub struct Daemon {
    process: Option<quire_netns::Stop>,
    pub log: PathBuf,
}

impl Daemon {
    pub fn start_in(netns: Option<&str>, data: &Path, listen: &str) -> Self {
        let log = data.join("test-daemon.log");
        let mut child = command_in(netns, &quire_bin())
            .arg("--data-dir")
            .arg(data)
            .args(["daemon", "--no-mdns", "--listen", listen])
            .env("QUIRE_LOG", "info,libp2p_dcutr=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert!(
            lines.by_ref().map_while(Result::ok).any(|l| l == "ready"),
            "the daemon for {} did not start: {}",
            data.display(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::spawn(move || for _ in lines {});
        Self {
            process: Some(quire_netns::Stop(child)),
            log,
        }
    }

    /// SIGKILL: the daemon says no goodbye to anyone.
    pub fn kill(mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.0.kill();
            let _ = process.0.wait();
            std::mem::forget(process);
        }
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// `quire doc append ID TEXT` (in `netns`, if given); the command must succeed.
pub fn append_in(netns: Option<&str>, data: &Path, id: &str, text: &str) {
    let out = quire_in(netns, data, &["doc", "append", id, text]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until `data`'s copy of `id` (read in `netns`, if given) holds `part`, for
/// at most `within`; on failure shows both daemons' logs (Ann's, then Bob's).
pub fn until_text_in(
    netns: Option<&str>,
    data: &Path,
    id: &str,
    part: &str,
    daemons: [&Daemon; 2],
    within: Duration,
) {
    let deadline = Instant::now() + within;
    loop {
        let out = quire_in(netns, data, &["doc", "cat", id]);
        if String::from_utf8_lossy(&out.stdout).contains(part) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never got {part:?}\n--- ann's log\n{}\n--- bob's log\n{}",
            data.display(),
            daemons[0].log_tail(),
            daemons[1].log_tail()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
