//! The relay's settings: a TOML file (`--config`), environment variables
//! (`QUIRE_RELAY_*`) and flags, the later overriding the earlier, over defaults.
//!
//! ```toml
//! listen = ["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"]
//! key_file = "/var/lib/quire-relay/relay.key"
//! data_dir = "/var/lib/quire-relay"
//! http = "127.0.0.1:8080"
//! allow = ["12D3KooW…", "12D3KooW…"]   # the team's devices (`quire whoami`)
//! # allow_any = true                  # or an open relay
//! topic_quota_mb = 64
//! peer_quota_mb = 256
//! retention_days = 30
//! puts_per_second = 50
//! max_reservations = 128
//! max_circuits = 64
//! max_connections = 5000
//! max_memory_mb = 512
//! circuit_minutes = 30
//! circuit_mb = 64
//! external = ["/dns4/relay.example.org/tcp/4001"]
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use libp2p::{Multiaddr, PeerId};
use serde::Deserialize;

use crate::mailbox::Limits;

/// Connections a relay holds at once unless told otherwise: about 170 MB of
/// connection state at the measured 34 KB each, within a small server's memory.
pub(crate) const DEFAULT_MAX_CONNECTIONS: u32 = 5_000;

/// Megabytes of memory (the relay process's resident size) above which it accepts
/// no new connection, unless told otherwise: a full house of
/// [`DEFAULT_MAX_CONNECTIONS`] is about 170 MB, so this leaves room for requests in
/// flight and SQLite's cache, and still fits a 1 GB server. Connections already
/// held keep working; new ones are refused until memory falls again.
pub(crate) const DEFAULT_MAX_MEMORY_MB: u64 = 512;

/// Incoming connections still in their handshake at once.
pub(crate) const MAX_PENDING_CONNECTIONS: u32 = 512;

/// Largest config file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// `quire-relay`: rendezvous, NAT traversal and an offline mailbox for a Quire team.
#[derive(Debug, Parser, Default)]
#[command(version, about)]
pub(crate) struct Args {
    /// A TOML file of settings (flags and environment variables override it).
    #[arg(long, env = "QUIRE_RELAY_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Where to listen (repeat for several), e.g. /ip4/0.0.0.0/tcp/4001.
    #[arg(long, env = "QUIRE_RELAY_LISTEN", value_delimiter = ',')]
    pub(crate) listen: Vec<Multiaddr>,
    /// The relay's key (made on first start, owner-only).
    #[arg(long, env = "QUIRE_RELAY_KEY_FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// Where the mailbox database lives.
    #[arg(long, env = "QUIRE_RELAY_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Address for /health and /metrics, e.g. 127.0.0.1:8080 (none: off).
    #[arg(long, env = "QUIRE_RELAY_HTTP")]
    pub(crate) http: Option<SocketAddr>,
    /// A device allowed to use the relay (repeat for several; its peer id).
    #[arg(long, env = "QUIRE_RELAY_ALLOW", value_delimiter = ',')]
    pub(crate) allow: Vec<PeerId>,
    /// Let any device use the relay.
    #[arg(long, env = "QUIRE_RELAY_ALLOW_ANY")]
    pub(crate) allow_any: bool,
    /// Most megabytes kept per document.
    #[arg(long, env = "QUIRE_RELAY_TOPIC_QUOTA_MB")]
    pub(crate) topic_quota_mb: Option<u64>,
    /// Most megabytes kept per device.
    #[arg(long, env = "QUIRE_RELAY_PEER_QUOTA_MB")]
    pub(crate) peer_quota_mb: Option<u64>,
    /// Most bytes kept per document (overrides the megabytes; for tests).
    #[arg(long, hide = true)]
    pub(crate) topic_quota_bytes: Option<u64>,
    /// Days an item is kept.
    #[arg(long, env = "QUIRE_RELAY_RETENTION_DAYS")]
    pub(crate) retention_days: Option<u64>,
    /// Mailbox requests per device per second.
    #[arg(long, env = "QUIRE_RELAY_PUTS_PER_SECOND")]
    pub(crate) puts_per_second: Option<u32>,
    /// Circuit relay reservations held at once.
    #[arg(long, env = "QUIRE_RELAY_MAX_RESERVATIONS")]
    pub(crate) max_reservations: Option<usize>,
    /// Relayed circuits open at once.
    #[arg(long, env = "QUIRE_RELAY_MAX_CIRCUITS")]
    pub(crate) max_circuits: Option<usize>,
    /// Connections held at once (each idle one costs about 34 KB; see the README).
    #[arg(long, env = "QUIRE_RELAY_MAX_CONNECTIONS")]
    pub(crate) max_connections: Option<u32>,
    /// Megabytes of memory above which no new connection is accepted.
    #[arg(long, env = "QUIRE_RELAY_MAX_MEMORY_MB")]
    pub(crate) max_memory_mb: Option<u64>,
    /// Minutes a relayed circuit may last (members try to go direct long before).
    #[arg(long, env = "QUIRE_RELAY_CIRCUIT_MINUTES")]
    pub(crate) circuit_minutes: Option<u64>,
    /// Megabytes a relayed circuit may carry each way.
    #[arg(long, env = "QUIRE_RELAY_CIRCUIT_MB")]
    pub(crate) circuit_mb: Option<u64>,
    /// The relay's public address, as members reach it (repeat for several); given to
    /// members with their reservations. Default: the addresses it listens on.
    #[arg(long, env = "QUIRE_RELAY_EXTERNAL", value_delimiter = ',')]
    pub(crate) external: Vec<Multiaddr>,
}

/// The file's keys (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<Vec<String>>,
    key_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    http: Option<SocketAddr>,
    allow: Option<Vec<String>>,
    allow_any: Option<bool>,
    topic_quota_mb: Option<u64>,
    peer_quota_mb: Option<u64>,
    retention_days: Option<u64>,
    puts_per_second: Option<u32>,
    max_reservations: Option<usize>,
    max_circuits: Option<usize>,
    max_connections: Option<u32>,
    max_memory_mb: Option<u64>,
    circuit_minutes: Option<u64>,
    circuit_mb: Option<u64>,
    external: Option<Vec<String>>,
}

/// Who may use the relay.
#[derive(Debug, Clone)]
pub(crate) enum Access {
    /// Anyone.
    Anyone,
    /// These devices only.
    Only(Vec<PeerId>),
}

impl Access {
    /// Whether `peer` may use the relay.
    pub(crate) fn allows(&self, peer: &PeerId) -> bool {
        match self {
            Self::Anyone => true,
            Self::Only(list) => list.contains(peer),
        }
    }
}

/// The settings in effect.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) listen: Vec<Multiaddr>,
    pub(crate) key_file: PathBuf,
    pub(crate) data_dir: PathBuf,
    pub(crate) http: Option<SocketAddr>,
    pub(crate) access: Access,
    pub(crate) limits: Limits,
    pub(crate) puts_per_second: u32,
    pub(crate) max_reservations: usize,
    pub(crate) max_circuits: usize,
    /// Connections held at once, from anyone.
    pub(crate) max_connections: u32,
    /// Bytes of memory above which no new connection is accepted.
    pub(crate) max_memory_bytes: u64,
    pub(crate) circuit_duration: Duration,
    pub(crate) circuit_bytes: u64,
    /// Announced public addresses (empty: the listen addresses as they come up).
    pub(crate) external: Vec<Multiaddr>,
}

impl Config {
    /// Resolves flags and environment (`args`) over the file they name over defaults.
    pub(crate) fn resolve(args: Args) -> Result<Self> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("quire-relay-data"));
        let key_file = args
            .key_file
            .or(file.key_file)
            .unwrap_or_else(|| data_dir.join("relay.key"));
        let listen = if !args.listen.is_empty() {
            args.listen
        } else if let Some(texts) = file.listen {
            parse_addrs("listen", &texts)?
        } else {
            default_listen()
        };
        let external = if !args.external.is_empty() {
            args.external
        } else {
            parse_addrs("external", &file.external.unwrap_or_default())?
        };
        let mut allowed = args.allow;
        for text in file.allow.unwrap_or_default() {
            allowed.push(
                text.parse()
                    .with_context(|| format!("allow: {text:?} is not a peer id"))?,
            );
        }
        let access = if args.allow_any || file.allow_any == Some(true) {
            Access::Anyone
        } else if allowed.is_empty() {
            bail!(
                "nobody may use this relay yet: name the team's devices with --allow PEER_ID \
                 (each device's `quire whoami` shows its peer id) or `allow = [...]` in the \
                 config file, or open it to anyone with --allow-any"
            );
        } else {
            Access::Only(allowed)
        };
        const MB: u64 = 1024 * 1024;
        let topic_bytes = args
            .topic_quota_bytes
            .or(args
                .topic_quota_mb
                .or(file.topic_quota_mb)
                .map(|mb| mb * MB))
            .unwrap_or(64 * MB);
        let peer_bytes = args.peer_quota_mb.or(file.peer_quota_mb).unwrap_or(256) * MB;
        let retention_days = args.retention_days.or(file.retention_days).unwrap_or(30);
        Ok(Self {
            listen,
            key_file,
            data_dir,
            http: args.http.or(file.http),
            access,
            limits: Limits {
                topic_bytes,
                peer_bytes,
                retention: Duration::from_secs(retention_days * 24 * 3600),
            },
            puts_per_second: args.puts_per_second.or(file.puts_per_second).unwrap_or(50),
            max_reservations: args
                .max_reservations
                .or(file.max_reservations)
                .unwrap_or(128),
            max_circuits: args.max_circuits.or(file.max_circuits).unwrap_or(64),
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(DEFAULT_MAX_CONNECTIONS),
            max_memory_bytes: args
                .max_memory_mb
                .or(file.max_memory_mb)
                .unwrap_or(DEFAULT_MAX_MEMORY_MB)
                .saturating_mul(MB),
            circuit_duration: Duration::from_secs(
                60 * args.circuit_minutes.or(file.circuit_minutes).unwrap_or(30),
            ),
            circuit_bytes: args.circuit_mb.or(file.circuit_mb).unwrap_or(64) * MB,
            external,
        })
    }
}

fn parse_addrs(key: &str, texts: &[String]) -> Result<Vec<Multiaddr>> {
    texts
        .iter()
        .map(|t| {
            t.parse()
                .with_context(|| format!("{key}: {t:?} is not a multiaddr"))
        })
        .collect()
}

fn default_listen() -> Vec<Multiaddr> {
    ["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"]
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect()
}

fn read_file(path: &Path) -> Result<FileConfig> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .with_context(|| format!("cannot open the config file {}", path.display()))?
        .take(MAX_CONFIG_BYTES)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ANN: &str = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

    #[test]
    fn flags_override_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(
            &path,
            format!("allow = [\"{ANN}\"]\ntopic_quota_mb = 2\nretention_days = 7\nhttp = \"127.0.0.1:9000\"\n"),
        )
        .unwrap();
        let config = Config::resolve(Args {
            config: Some(path),
            retention_days: Some(1),
            ..Args::default()
        })
        .unwrap();
        assert!(config.access.allows(&ANN.parse().unwrap()));
        assert!(!config.access.allows(&PeerId::random()));
        assert_eq!(config.limits.topic_bytes, 2 * 1024 * 1024);
        assert_eq!(config.limits.retention, Duration::from_secs(24 * 3600));
        assert_eq!(config.http, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(config.listen.len(), 2);
    }

    #[test]
    fn the_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("relay.example.toml");
        let config = Config::resolve(Args {
            config: Some(path),
            allow: vec![ANN.parse().unwrap()],
            ..Args::default()
        })
        .unwrap();
        assert_eq!(config.limits.peer_bytes, 256 * 1024 * 1024);
        assert_eq!(config.max_circuits, 64);
        assert_eq!(config.circuit_duration, Duration::from_secs(30 * 60));
        assert_eq!(config.circuit_bytes, 64 * 1024 * 1024);
        assert!(config.external.is_empty());
    }

    #[test]
    fn a_relay_nobody_may_use_and_unknown_keys_are_refused_clearly() {
        let err = Config::resolve(Args::default()).unwrap_err();
        assert!(err.to_string().contains("--allow"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(&path, "allow_any = true\nquota = 5\n").unwrap();
        let err = Config::resolve(Args {
            config: Some(path),
            ..Args::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("quota"), "{err:#}");
    }
}
