//! The relay's identity: an ed25519 key kept in a file (owner-only), made on first
//! start. Its peer id is what members put in tickets, so it must not change.
//!
//! A new key file is written whole or not at all (a temporary file in the same folder,
//! created 0600, flushed, then linked into place), so a crash never leaves a truncated
//! key that would change the relay's peer id. On Unix a key file that other users may
//! read or write is refused: its key may be known to them.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use libp2p::identity::Keypair;

/// Largest key file read (a protobuf-encoded ed25519 key is 68 bytes).
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// Reads the key at `path`, or makes one there.
pub(crate) fn load_or_create(path: &Path) -> Result<Keypair> {
    match File::open(path) {
        Ok(file) => load(path, file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(e) => Err(e).with_context(|| format!("cannot read the relay key {}", path.display())),
    }
}

fn load(path: &Path, file: File) -> Result<Keypair> {
    let metadata = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    check_private(path, &metadata)?;
    let len = metadata.len();
    if len > MAX_KEY_FILE_BYTES {
        bail!("{} is {len} bytes: not a relay key file", path.display());
    }
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE_BYTES)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Keypair::from_protobuf_encoding(&bytes)
        .with_context(|| format!("{} is not a relay key file", path.display()))
}

#[cfg(unix)]
fn check_private(path: &Path, metadata: &fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "the relay key {} can be read or written by other users (mode {mode:o}); \
             run `chmod 600 '{}'` and start again (if others may have read it, move it \
             away instead: the relay then gets a new peer id, and members need new tickets)",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _metadata: &fs::Metadata) -> Result<()> {
    Ok(())
}

fn create(path: &Path) -> Result<Keypair> {
    let key = Keypair::generate_ed25519();
    let bytes = key
        .to_protobuf_encoding()
        .context("cannot encode the new key")?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&temp);
    let written = write_private(&temp, &bytes);
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e).with_context(|| format!("cannot write the relay key {}", temp.display()));
    }
    // A hard link publishes the whole file and fails if the name is taken, so two
    // relays starting at once cannot end up with different keys on disk.
    let linked = fs::hard_link(&temp, path);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let file = File::open(path)
                .with_context(|| format!("cannot read the relay key {}", path.display()))?;
            return load(path, file);
        }
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot write the relay key {}", path.display()));
        }
    }
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot flush {}", dir.display()))?;
    Ok(key)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/relay.key");
        let first = load_or_create(&path).unwrap();
        let again = load_or_create(&path).unwrap();
        assert_eq!(first.public().to_peer_id(), again.public().to_peer_id());
        let names: Vec<_> = fs::read_dir(dir.path().join("keys"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["relay.key"], "no temporary file is left behind");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::write(&path, b"garbage").unwrap();
        assert!(load_or_create(&path).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused_and_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.key");
        let first = load_or_create(&path).unwrap();
        let before = fs::read(&path).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o620] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let error = load_or_create(&path).unwrap_err().to_string();
            assert!(error.contains("other users"), "{error}");
            assert!(error.contains("chmod 600"), "{error}");
            assert_eq!(fs::read(&path).unwrap(), before, "the key is not replaced");
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let again = load_or_create(&path).unwrap();
        assert_eq!(first.public().to_peer_id(), again.public().to_peer_id());
    }
}
