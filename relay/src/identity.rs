//! The relay's identity: an ed25519 key kept in a file (owner-only), made on first
//! start. Its peer id is what members put in tickets, so it must not change.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use libp2p::identity::Keypair;

/// Largest key file read (a protobuf-encoded ed25519 key is 68 bytes).
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// Reads the key at `path`, or makes one there.
pub(crate) fn load_or_create(path: &Path) -> Result<Keypair> {
    if path.exists() {
        let len = std::fs::metadata(path)?.len();
        if len > MAX_KEY_FILE_BYTES {
            bail!("{} is {len} bytes: not a relay key file", path.display());
        }
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        return Keypair::from_protobuf_encoding(&bytes)
            .with_context(|| format!("{} is not a relay key file", path.display()));
    }
    let key = Keypair::generate_ed25519();
    let bytes = key
        .to_protobuf_encoding()
        .context("cannot encode the new key")?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write the relay key {}", path.display()))?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    Ok(key)
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
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0);
        }
        std::fs::write(&path, b"garbage").unwrap();
        assert!(load_or_create(&path).is_err());
    }
}
