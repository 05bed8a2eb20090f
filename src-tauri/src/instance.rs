//! One app per data folder. The first instance holds an exclusive lock on `app.lock`
//! in the data folder for as long as it runs (the system drops it if the app dies),
//! and listens on a loopback port that it writes, with a random token, to `app.json`
//! (owner-only). A second launch on the same folder hands its `quire://` links to the
//! first over that port and exits; the first brings its window forward and opens them.
//!
//! One message per connection: the token on a line of its own, checked before anything
//! else is read, then the links as one JSON line; the answer is `ok`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The lock file held by the running app.
const LOCK_FILE: &str = "app.lock";
/// Where the running app listens.
const INFO_FILE: &str = "app.json";
/// Largest `app.json` read.
const MAX_INFO_BYTES: u64 = 4096;
/// Longest token line read before the token is checked.
const MAX_TOKEN_LINE_BYTES: u64 = 128;
/// Largest list of links read from another launch.
const MAX_LINKS_BYTES: u64 = 64 * 1024;
/// How long a connection may take to say what it wants.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a second launch waits for a first one that is still starting.
const STARTING_GRACE: Duration = Duration::from_secs(10);
/// Most connections served at once (each on its own thread, for at most IO_TIMEOUT
/// per read), so a stalled local client cannot hold up a real launch.
const MAX_CONNECTIONS: usize = 8;

/// Why the app cannot start on a data folder.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InstanceError {
    #[error("cannot use the data folder {0}: {1}")]
    Folder(PathBuf, std::io::Error),
    #[error(
        "Quire is already open on the data folder {0}, but it does not answer; close it, or end the process, and try again"
    )]
    NotAnswering(PathBuf),
}

#[derive(Serialize, Deserialize)]
struct InstanceInfo {
    port: u16,
    token: String,
    pid: u32,
}

#[derive(Serialize, Deserialize)]
struct Handover {
    links: Vec<String>,
}

/// What launching on a data folder came to.
pub(crate) enum Launch {
    /// This is the running app for the folder.
    First(Instance),
    /// Another app runs on the folder and has been handed the links.
    HandedOver,
}

/// The running app's claim on its data folder.
pub(crate) struct Instance {
    _lock: File,
    listener: TcpListener,
    token: String,
    info_path: PathBuf,
}

/// The `quire://` links among the program arguments (how the system passes a clicked
/// link on Linux and Windows).
pub(crate) fn links_in_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .filter(|a| {
            a.get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("quire://"))
        })
        .collect()
}

/// Claims `dir` for this process, or hands `links` to the app already running on it.
pub(crate) fn claim(dir: &Path, links: &[String]) -> Result<Launch, InstanceError> {
    let folder_error = |e| InstanceError::Folder(dir.to_path_buf(), e);
    // Owner-only: the engine refuses a data folder other users can reach.
    quire_engine::private_files::create_private_dir(dir).map_err(folder_error)?;
    let lock = quire_engine::private_files::ensure_private_file(&dir.join(LOCK_FILE))
        .map_err(folder_error)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return hand_over(dir, links),
        Err(TryLockError::Error(e)) => return Err(folder_error(e)),
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(folder_error)?;
    let port = listener.local_addr().map_err(folder_error)?.port();
    let token = random_token();
    let info = InstanceInfo {
        port,
        token: token.clone(),
        pid: std::process::id(),
    };
    let info_path = dir.join(INFO_FILE);
    write_private(&info_path, &info).map_err(folder_error)?;
    Ok(Launch::First(Instance {
        _lock: lock,
        listener,
        token,
        info_path,
    }))
}

impl Instance {
    /// Serves later launches on a thread of its own: `on_links` gets the links each
    /// one hands over (possibly none: the user just opened the app again).
    pub(crate) fn serve(
        &self,
        on_links: impl Fn(Vec<String>) + Send + Sync + 'static,
    ) -> std::io::Result<()> {
        let listener = self.listener.try_clone()?;
        let token: Arc<str> = self.token.clone().into();
        let on_links = Arc::new(on_links);
        let open = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let stream = match stream {
                    Ok(stream) => stream,
                    Err(e) => {
                        // Out of descriptors, say: do not spin.
                        tracing::warn!("cannot accept a later launch: {e}");
                        std::thread::sleep(Duration::from_millis(200));
                        continue;
                    }
                };
                if open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                    open.fetch_sub(1, Ordering::SeqCst);
                    continue;
                }
                let (token, on_links, open) = (token.clone(), on_links.clone(), open.clone());
                std::thread::spawn(move || {
                    match receive(stream, &token) {
                        Ok(links) => on_links(links),
                        Err(e) => tracing::warn!("ignored a connection to the app's port: {e}"),
                    }
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Ok(())
    }
}

impl Instance {
    /// Removes `app.json` as the app exits (the lock goes with the process).
    pub(crate) fn retire(&self) {
        let _ = std::fs::remove_file(&self.info_path);
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.retire();
    }
}

fn receive(stream: TcpStream, token: &str) -> std::io::Result<Vec<String>> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    (&mut reader)
        .take(MAX_TOKEN_LINE_BYTES)
        .read_line(&mut line)?;
    if !tokens_match(line.trim_end(), token) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "wrong token",
        ));
    }
    line.clear();
    reader.take(MAX_LINKS_BYTES).read_line(&mut line)?;
    let handover: Handover = serde_json::from_str(&line)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    (&stream).write_all(b"ok\n")?;
    Ok(links_in_args(handover.links))
}

fn hand_over(dir: &Path, links: &[String]) -> Result<Launch, InstanceError> {
    let deadline = Instant::now() + STARTING_GRACE;
    loop {
        // Until the running app has written where it listens, and listens, try again;
        // once connected, the links are sent once and the answer awaited.
        if let Some(info) = read_info(&dir.join(INFO_FILE))
            && let Ok(stream) = connect(&info)
        {
            return match send(stream, &info, links) {
                Ok(()) => Ok(Launch::HandedOver),
                Err(_) => Err(InstanceError::NotAnswering(dir.to_path_buf())),
            };
        }
        if Instant::now() >= deadline {
            return Err(InstanceError::NotAnswering(dir.to_path_buf()));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn connect(info: &InstanceInfo) -> std::io::Result<TcpStream> {
    TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, info.port).into(), IO_TIMEOUT)
}

fn send(mut stream: TcpStream, info: &InstanceInfo, links: &[String]) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    let handover = serde_json::to_string(&Handover {
        links: links.to_vec(),
    })?;
    stream.write_all(format!("{}\n{handover}\n", info.token).as_bytes())?;
    let mut answer = String::new();
    BufReader::new(stream).take(16).read_line(&mut answer)?;
    if answer.trim_end() == "ok" {
        Ok(())
    } else {
        Err(std::io::Error::other("the running app refused the links"))
    }
}

fn read_info(path: &Path) -> Option<InstanceInfo> {
    let mut bytes = Vec::new();
    File::open(path)
        .ok()?
        .take(MAX_INFO_BYTES)
        .read_to_end(&mut bytes)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes `value` as JSON readable by the owner only, replacing the file whole.
fn write_private(path: &Path, value: &InstanceInfo) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut options = OpenOptions::new();
    options.create(true).truncate(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(&serde_json::to_vec(value)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference.
fn tokens_match(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::sync::mpsc;

    #[test]
    fn links_are_picked_out_of_the_arguments() {
        let args = [
            "quire-app",
            "--flag",
            "QUIRE://join/abc",
            "quire://join/def",
            "quire:/x",
        ];
        assert_eq!(
            links_in_args(args.map(String::from)),
            vec!["QUIRE://join/abc".to_owned(), "quire://join/def".to_owned()]
        );
    }

    #[test]
    fn a_second_launch_hands_its_links_to_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let Launch::First(first) = claim(dir.path(), &[]).unwrap() else {
            panic!("the first launch should claim the folder");
        };
        let (tx, rx) = mpsc::channel();
        first.serve(move |links| tx.send(links).unwrap()).unwrap();
        let link = "quire://join/AAAA".to_owned();
        assert!(matches!(
            claim(dir.path(), std::slice::from_ref(&link)).unwrap(),
            Launch::HandedOver
        ));
        assert_eq!(rx.recv_timeout(IO_TIMEOUT).unwrap(), vec![link]);
        // Opening the app again without a link just brings it forward.
        assert!(matches!(
            claim(dir.path(), &[]).unwrap(),
            Launch::HandedOver
        ));
        assert_eq!(rx.recv_timeout(IO_TIMEOUT).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn a_connection_without_the_token_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let Launch::First(first) = claim(dir.path(), &[]).unwrap() else {
            panic!("the first launch should claim the folder");
        };
        let info = read_info(&dir.path().join(INFO_FILE)).unwrap();
        let (tx, rx) = mpsc::channel();
        first.serve(move |links| tx.send(links).unwrap()).unwrap();
        let forged = InstanceInfo {
            token: "0".repeat(64),
            ..info
        };
        let stream = connect(&forged).unwrap();
        assert!(send(stream, &forged, &["quire://join/x".to_owned()]).is_err());
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(INFO_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o077,
                0,
                "app.json must be readable by its owner only"
            );
        }
    }
}
