//! The data folder: made owner-only, refused when other users can reach it, and
//! locked so that one process at a time uses it.
//!
//! `quire.db` holds every document's read key and write secret and `device.key` the
//! device's identity, so on Unix the folder is 0700 and its files 0600 (SQLite's
//! `-wal`/`-shm` files take the database's mode). A folder or file that group or
//! others may read, write or enter is refused with the command that fixes it, rather
//! than used: the keys in it may already have been read, and a quiet chmod would hide
//! that. A folder that holds no key yet (no database, no device key) is simply made
//! private: there is nothing in it to have leaked. Windows and macOS-specific ACLs are not checked: the check is Unix modes only.

use std::fs::File;
use std::path::{Path, PathBuf};

use quire_store::private_files::{create_private_dir, ensure_private_file, shared_mode};

use crate::{EngineConfig, EngineError};

/// Sub-folder of the data folder holding the database backups.
pub const BACKUP_DIR: &str = "backups";

/// Makes the data folder if it is missing (owner-only), checks that no other user can
/// reach it or its files, and takes its lock. Fails with [`EngineError::Busy`] if
/// another process holds the lock.
pub(crate) fn open(config: &EngineConfig) -> Result<File, EngineError> {
    let dir = &config.data_dir;
    create_private_dir(dir).map_err(|e| EngineError::io(dir, e))?;
    // A folder made by someone else (an installer, `mkdir`, a temporary folder) that
    // holds no key yet has nothing to leak: Quire makes it private and uses it.
    let holds_keys = [
        config.database_path(),
        dir.join(quire_crypto::KEY_FILE_NAME),
    ]
    .iter()
    .any(|p| p.exists());
    if !holds_keys {
        make_private(dir)?;
    }
    check_private(dir)?;
    lock(config)
}

/// Takes the data folder's lock (creating the lock file owner-only).
pub(crate) fn lock(config: &EngineConfig) -> Result<File, EngineError> {
    let lock_path = config.lock_path();
    let lock = ensure_private_file(&lock_path).map_err(|e| EngineError::io(&lock_path, e))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(EngineError::Busy(config.data_dir.clone())),
        Err(std::fs::TryLockError::Error(e)) => Err(EngineError::io(&lock_path, e)),
    }
}

#[cfg(unix)]
fn make_private(dir: &Path) -> Result<(), EngineError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| EngineError::io(dir, e))
}

#[cfg(not(unix))]
fn make_private(_dir: &Path) -> Result<(), EngineError> {
    Ok(())
}

/// Quire's files in the data folder that hold secrets: the database (every
/// document's keys) with SQLite's side files, the device key, and the control files
/// with their access tokens. Other files a user keeps there (a log, say) are theirs.
const SECRET_FILES: [&str; 8] = [
    "quire.db",
    "quire.db-wal",
    "quire.db-shm",
    "quire.db-journal",
    quire_crypto::KEY_FILE_NAME,
    "daemon.json",
    "app.json",
    BACKUP_DIR,
];

/// Refuses `dir`, its secret files and its backups if other users may reach any of
/// them.
pub fn check_private(dir: &Path) -> Result<(), EngineError> {
    let mut paths = vec![dir.to_owned()];
    paths.extend(SECRET_FILES.iter().map(|name| dir.join(name)));
    let backups = dir.join(BACKUP_DIR);
    if backups.is_dir() {
        paths.extend(entries(&backups)?);
    }
    for path in paths {
        // A file that is not there (or was removed meanwhile) is fine.
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if let Some(mode) = shared_mode(&metadata) {
            return Err(EngineError::NotPrivate {
                path,
                mode,
                folder: dir.to_owned(),
            });
        }
    }
    Ok(())
}

fn entries(dir: &Path) -> Result<Vec<PathBuf>, EngineError> {
    let read = std::fs::read_dir(dir).map_err(|e| EngineError::io(dir, e))?;
    Ok(read
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_symlink()))
        .map(|e| e.path())
        .collect())
}
