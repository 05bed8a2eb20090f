//! Device identity: one ed25519 keypair per device, whose public key is its libp2p
//! [`PeerId`], kept in a private key file in the data directory.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use libp2p_identity::{Keypair, PeerId, PublicKey, ed25519};
use zeroize::Zeroize;

use crate::error::IdentityError;

/// File name of the device key inside the data directory.
pub const KEY_FILE_NAME: &str = "device.key";

/// Largest key file that is read; a protobuf-encoded ed25519 key is 68 bytes.
pub const MAX_KEY_FILE_BYTES: u64 = 1024;

/// Length of an ed25519 signature.
pub const SIGNATURE_BYTES: usize = 64;

/// Length of an ed25519 public key.
pub const PUBLIC_KEY_BYTES: usize = 32;

/// Multihash code of the identity hash, which libp2p uses to inline small public keys
/// (every ed25519 key) in a `PeerId`.
const MULTIHASH_IDENTITY: u64 = 0;

/// This device's long-lived identity.
#[derive(Clone)]
pub struct DeviceIdentity {
    keypair: ed25519::Keypair,
}

impl fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceIdentity({})", self.peer_id())
    }
}

impl DeviceIdentity {
    /// A fresh random identity that lives only in memory.
    pub fn generate() -> Self {
        Self {
            keypair: ed25519::Keypair::generate(),
        }
    }

    /// Loads the identity from `dir`/[`KEY_FILE_NAME`], creating the directory and a new
    /// key if there is none.
    ///
    /// A new key file is written atomically with owner-only permissions (0600 on Unix).
    /// On Unix a key file that other users can access is refused rather than used; the
    /// error says how to fix it.
    pub fn load_or_create(dir: &Path) -> Result<Self, IdentityError> {
        let path = dir.join(KEY_FILE_NAME);
        match Self::load(&path) {
            Err(IdentityError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
            other => return other,
        }
        fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
        let identity = Self::generate();
        match identity.write_new(dir, &path)? {
            Written::Created => Ok(identity),
            // Another process created the key first: use theirs, so both agree.
            Written::AlreadyExists => Self::load(&path),
        }
    }

    /// Loads the identity from an existing key file.
    pub fn load(path: &Path) -> Result<Self, IdentityError> {
        let file = File::open(path).map_err(io_error("open", path))?;
        let metadata = file.metadata().map_err(io_error("inspect", path))?;
        check_private(path, &metadata)?;
        let bad = |reason: String| IdentityError::BadKeyFile {
            path: path.to_owned(),
            reason,
        };
        if metadata.len() > MAX_KEY_FILE_BYTES {
            return Err(bad(format!("it is {} bytes long", metadata.len())));
        }
        let mut bytes = Vec::new();
        let read = file.take(MAX_KEY_FILE_BYTES).read_to_end(&mut bytes);
        let decoded = read
            .map_err(io_error("read", path))
            .map(|_| Keypair::from_protobuf_encoding(&bytes));
        bytes.zeroize();
        let keypair = decoded?.map_err(|e| bad(e.to_string()))?;
        let keypair = keypair
            .try_into_ed25519()
            .map_err(|_| bad("it holds a key that is not ed25519".to_owned()))?;
        Ok(Self { keypair })
    }

    /// The device's libp2p peer id.
    pub fn peer_id(&self) -> PeerId {
        self.public_key().to_peer_id()
    }

    /// The device's public key.
    pub fn public_key(&self) -> DevicePublicKey {
        DevicePublicKey(self.keypair.public())
    }

    /// The keypair in libp2p's form, for building the swarm.
    pub fn to_libp2p_keypair(&self) -> Keypair {
        Keypair::from(self.keypair.clone())
    }

    /// Signs `msg` with the device key.
    pub fn sign(&self, msg: &[u8]) -> [u8; SIGNATURE_BYTES] {
        let signature = self.keypair.sign(msg);
        let mut out = [0; SIGNATURE_BYTES];
        // ed25519 signatures are always 64 bytes; a zero signature would only fail to verify.
        if let Some(chunk) = signature.first_chunk::<SIGNATURE_BYTES>() {
            out = *chunk;
        }
        out
    }

    /// Checks that `sig` is `peer_public_key`'s signature of `msg`.
    pub fn verify(peer_public_key: &DevicePublicKey, msg: &[u8], sig: &[u8]) -> bool {
        peer_public_key.verify(msg, sig)
    }

    fn write_new(&self, dir: &Path, path: &Path) -> Result<Written, IdentityError> {
        let mut encoded = self
            .to_libp2p_keypair()
            .to_protobuf_encoding()
            .map_err(|e| IdentityError::BadKeyFile {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        let temp = dir.join(format!(
            ".{KEY_FILE_NAME}.{:016x}.tmp",
            rand::random::<u64>()
        ));
        let written = write_private(&temp, &encoded);
        encoded.zeroize();
        if let Err(error) = written {
            let _ = fs::remove_file(&temp);
            return Err(error);
        }
        // A hard link publishes the complete file under its final name and fails if the
        // name is taken, so a concurrent start cannot replace a key already in use.
        let outcome = match fs::hard_link(&temp, path) {
            Ok(()) => Ok(Written::Created),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(Written::AlreadyExists),
            // File systems without hard links: an atomic rename still never leaves a
            // partial file.
            Err(_) => fs::rename(&temp, path)
                .map(|()| Written::Created)
                .map_err(io_error("create", path)),
        };
        let _ = fs::remove_file(&temp);
        sync_dir(dir)?;
        outcome
    }
}

enum Written {
    Created,
    AlreadyExists,
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> IdentityError + use<> {
    let path = path.to_owned();
    move |source| IdentityError::Io {
        action,
        path,
        source,
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), IdentityError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error("create", path))?;
    file.write_all(bytes).map_err(io_error("write", path))?;
    file.sync_all().map_err(io_error("flush", path))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), IdentityError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("flush directory", dir))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), IdentityError> {
    Ok(())
}

#[cfg(unix)]
fn check_private(path: &Path, metadata: &fs::Metadata) -> Result<(), IdentityError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(IdentityError::InsecurePermissions {
            path: PathBuf::from(path),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _metadata: &fs::Metadata) -> Result<(), IdentityError> {
    Ok(())
}

/// A device's ed25519 public key: what its [`PeerId`] is made of.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DevicePublicKey(ed25519::PublicKey);

impl DevicePublicKey {
    /// Parses raw key bytes; `None` if they are not an ed25519 public key.
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_BYTES]) -> Option<Self> {
        ed25519::PublicKey::try_from_bytes(bytes).ok().map(Self)
    }

    /// Recovers the public key inlined in an ed25519 peer id; `None` for other peer ids.
    pub fn from_peer_id(peer_id: &PeerId) -> Option<Self> {
        let multihash = peer_id.as_ref();
        if multihash.code() != MULTIHASH_IDENTITY {
            return None;
        }
        let key = PublicKey::try_decode_protobuf(multihash.digest()).ok()?;
        key.try_into_ed25519().ok().map(Self)
    }

    /// The raw key bytes.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_BYTES] {
        self.0.to_bytes()
    }

    /// The peer id of the device that holds this key.
    pub fn to_peer_id(&self) -> PeerId {
        PublicKey::from(self.0.clone()).to_peer_id()
    }

    /// Checks that `sig` is this key's signature of `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.0.verify(msg, sig)
    }
}

impl fmt::Debug for DevicePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DevicePublicKey({})", self.to_peer_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_id_round_trips_to_the_public_key() {
        let identity = DeviceIdentity::generate();
        let recovered = DevicePublicKey::from_peer_id(&identity.peer_id()).unwrap();
        assert_eq!(recovered, identity.public_key());
        assert_eq!(
            identity.to_libp2p_keypair().public().to_peer_id(),
            identity.peer_id()
        );
        assert!(DevicePublicKey::from_peer_id(&PeerId::random()).is_none());
    }

    #[test]
    fn signatures_verify_only_for_the_signer_and_message() {
        let alice = DeviceIdentity::generate();
        let bob = DeviceIdentity::generate();
        let sig = alice.sign(b"hello");
        assert!(DeviceIdentity::verify(&alice.public_key(), b"hello", &sig));
        assert!(!DeviceIdentity::verify(&alice.public_key(), b"hellO", &sig));
        assert!(!DeviceIdentity::verify(&bob.public_key(), b"hello", &sig));
        assert!(!DeviceIdentity::verify(
            &alice.public_key(),
            b"hello",
            &sig[..63]
        ));
    }

    #[test]
    fn load_or_create_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested").join("quire");
        let first = DeviceIdentity::load_or_create(&data).unwrap();
        let second = DeviceIdentity::load_or_create(&data).unwrap();
        assert_eq!(first.peer_id(), second.peer_id());
        let names: Vec<_> = fs::read_dir(&data)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from(KEY_FILE_NAME)],
            "no temp files left"
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_private_and_shared_files_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let identity = DeviceIdentity::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let error = DeviceIdentity::load_or_create(dir.path()).unwrap_err();
        assert!(
            matches!(
                error,
                IdentityError::InsecurePermissions { mode: 0o644, .. }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("chmod 600"), "{error}");

        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            DeviceIdentity::load_or_create(dir.path())
                .unwrap()
                .peer_id(),
            identity.peer_id()
        );
    }

    #[test]
    fn corrupt_key_files_are_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        write_private(&path, b"not a key").unwrap();
        let error = DeviceIdentity::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(error, IdentityError::BadKeyFile { .. }), "{error}");
        assert_eq!(fs::read(&path).unwrap(), b"not a key");

        fs::remove_file(&path).unwrap();
        write_private(&path, &vec![0; 4096]).unwrap();
        let error = DeviceIdentity::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(error, IdentityError::BadKeyFile { .. }), "{error}");
    }
}
