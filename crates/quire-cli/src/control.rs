//! The control connection between `quire` commands and a running `quire daemon` on
//! the same data folder: the daemon holds the folder, so other commands send it their
//! arguments and get their output back.
//!
//! The daemon listens on a loopback TCP port (the same on every platform) and writes
//! the port and a random token to `daemon.json` in the data folder, readable only by
//! its owner. A request must carry the token, so only someone who can read the data
//! folder can drive the daemon. One request per connection: the token on a line of its
//! own (checked before anything else is read), then one JSON line each way.

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

/// Longest token line read before the token is checked.
const MAX_TOKEN_LINE_BYTES: u64 = 128;

/// How long a client may take to send its token and its request.
pub(crate) const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A command for the daemon to run.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Request {
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
    pub(crate) async fn send(&self, request: Request) -> Result<Response> {
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
        let mut line = format!("{}\n", self.token).into_bytes();
        line.extend(serde_json::to_vec(&request)?);
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

/// Why a client's request was not read.
#[derive(Debug)]
pub(crate) enum RequestError {
    /// The token is missing or wrong: nothing more was read.
    Refused,
    /// The request is too large, cut short, late or not JSON.
    Bad(anyhow::Error),
}

/// Reads the token line and, if it is `token`, one request line of at most
/// [`MAX_REQUEST_BYTES`], all within [`REQUEST_TIMEOUT`].
pub(crate) async fn read_request(
    stream: &mut TcpStream,
    token: &str,
) -> Result<Request, RequestError> {
    let read = async {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        (&mut reader)
            .take(MAX_TOKEN_LINE_BYTES)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| RequestError::Bad(e.into()))?;
        let given = String::from_utf8_lossy(&line);
        if !token_matches(token, given.trim_end()) {
            return Err(RequestError::Refused);
        }
        line.clear();
        reader
            .take(MAX_REQUEST_BYTES)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| RequestError::Bad(e.into()))?;
        if line.last() != Some(&b'\n') {
            return Err(RequestError::Bad(anyhow::anyhow!(
                "request too large or cut short"
            )));
        }
        serde_json::from_slice(&line).map_err(|e| RequestError::Bad(e.into()))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, read)
        .await
        .unwrap_or_else(|_| {
            Err(RequestError::Bad(anyhow::anyhow!(
                "request not sent in time"
            )))
        })
}

/// Compares tokens in time independent of where they differ.
pub(crate) fn token_matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
