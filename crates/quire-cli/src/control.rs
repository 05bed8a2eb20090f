//! The control connection between `quire` commands and a running `quire daemon` on
//! the same data folder: the daemon holds the folder, so other commands send it their
//! arguments and get their output back.
//!
//! The daemon listens on a loopback TCP port (the same on every platform) and writes
//! the port and a random token to `daemon.json` in the data folder, readable only by
//! its owner. A request must carry the token, so only someone who can read the data
//! folder can drive the daemon. One request per connection, one JSON line each way.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The file in the data folder that says where the daemon listens.
pub(crate) const DAEMON_FILE: &str = "daemon.json";

/// Largest request (arguments and standard input) the daemon reads.
pub(crate) const MAX_REQUEST_BYTES: u64 = 96 * 1024 * 1024;

/// Largest response a client reads.
pub(crate) const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// Largest `daemon.json` read.
const MAX_DAEMON_FILE_BYTES: u64 = 4096;

/// What `daemon.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DaemonInfo {
    pub(crate) port: u16,
    pub(crate) token: String,
    pub(crate) pid: u32,
    pub(crate) peer_id: String,
}

/// A command for the daemon to run.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) token: String,
    /// The arguments after the program name.
    pub(crate) argv: Vec<String>,
    /// The client's working folder, for relative paths.
    pub(crate) cwd: PathBuf,
    /// The client's standard input, when the command reads it.
    pub(crate) stdin: Option<String>,
    pub(crate) stdin_piped: bool,
    pub(crate) stdin_terminal: bool,
    pub(crate) color: bool,
}

/// What the command printed, and its error if it failed.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Response {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) error: Option<String>,
}

impl DaemonInfo {
    /// Reads `daemon.json` from `dir`, if there is one.
    pub(crate) fn find(dir: &Path) -> Option<Self> {
        let path = dir.join(DAEMON_FILE);
        let file = std::fs::File::open(&path).ok()?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_DAEMON_FILE_BYTES),
            &mut bytes,
        )
        .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Writes `daemon.json` readable by the owner only, replacing it atomically.
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(DAEMON_FILE);
        let tmp = dir.join(format!("{DAEMON_FILE}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::io::Write::write_all(&mut file, &serde_json::to_vec(self)?)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// Sends a request and waits for the response.
    pub(crate) async fn send(&self, mut request: Request) -> Result<Response> {
        request.token = self.token.clone();
        let connect = TcpStream::connect(("127.0.0.1", self.port));
        let mut stream = tokio::time::timeout(std::time::Duration::from_secs(5), connect)
            .await
            .ok()
            .and_then(Result::ok)
            .with_context(|| {
                format!(
                    "the data folder is held by quire daemon (pid {}), which does not answer; stop it and try again",
                    self.pid
                )
            })?;
        let mut line = serde_json::to_vec(&request)?;
        line.push(b'\n');
        stream.write_all(&line).await?;
        stream.flush().await?;
        let mut bytes = Vec::new();
        (&mut stream)
            .take(MAX_RESPONSE_BYTES)
            .read_to_end(&mut bytes)
            .await
            .context("reading the daemon's answer")?;
        if bytes.is_empty() {
            bail!("the daemon closed the connection without answering (did it stop?)");
        }
        serde_json::from_slice(&bytes).context("the daemon's answer is not valid")
    }
}

/// Reads one request line, refusing more than [`MAX_REQUEST_BYTES`].
pub(crate) async fn read_request(stream: &mut TcpStream) -> Result<Request> {
    let mut reader = BufReader::new(stream).take(MAX_REQUEST_BYTES);
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line).await?;
    if line.last() != Some(&b'\n') {
        bail!("request too large or cut short");
    }
    Ok(serde_json::from_slice(&line)?)
}

/// Compares tokens in time independent of where they differ.
pub(crate) fn token_matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
