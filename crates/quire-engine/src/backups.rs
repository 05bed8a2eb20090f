//! Backups of the database: rotating copies in the data folder's `backups/`, made
//! with SQLite's online backup API daily (while Quire runs) and on an orderly quit
//! (the daemon's and the app's), the newest [`BACKUPS_KEPT`] kept, each owner-only.
//!
//! A backup is `backups/quire-<ms since the epoch>.db`, a whole SQLite database that
//! opens on its own. They are numbered newest first (1 is the newest) for
//! [`list_backups`] and [`restore_backup`]. Restoring needs the data folder to itself
//! (no daemon or app running) and keeps the database it replaces beside it as
//! `quire.replaced-<ms>.db` (with its `-wal`/`-shm` files), never deleting it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use quire_store::private_files::{create_private_dir, create_private_file, sync_dir};
use quire_store::{Lifecycle, StoreError, now_ms};

use crate::data_folder::{BACKUP_DIR, check_private, lock};
use crate::engine::Inner;
use crate::{Engine, EngineConfig, EngineError};

/// How many backups are kept; making one more deletes the oldest.
pub const BACKUPS_KEPT: usize = 10;

/// After a failed automatic backup, the next try is this much later.
pub const BACKUP_RETRY: Duration = Duration::from_secs(60 * 60);

const PREFIX: &str = "quire-";
const SUFFIX: &str = ".db";

/// One backup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// Its number in the listing: 1 is the newest.
    pub number: usize,
    /// The file.
    pub path: PathBuf,
    /// When it was made, ms since the epoch.
    pub made_at: i64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// What [`restore_backup`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The backup now in use.
    pub backup: BackupInfo,
    /// Where the database it replaced was kept (none if there was none).
    pub replaced_kept_at: Option<PathBuf>,
}

/// The backups in `data_dir`, newest first.
pub fn list_backups(data_dir: &Path) -> Result<Vec<BackupInfo>, EngineError> {
    let dir = data_dir.join(BACKUP_DIR);
    let read = match fs::read_dir(&dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EngineError::io(&dir, e)),
    };
    let mut found: Vec<(i64, PathBuf, u64)> = read
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let made_at = name
                .strip_prefix(PREFIX)?
                .strip_suffix(SUFFIX)?
                .parse()
                .ok()?;
            let bytes = entry.metadata().ok()?.len();
            Some((made_at, entry.path(), bytes))
        })
        .collect();
    found.sort_by_key(|b| std::cmp::Reverse(b.0));
    Ok(found
        .into_iter()
        .enumerate()
        .map(|(i, (made_at, path, bytes))| BackupInfo {
            number: i + 1,
            path,
            made_at,
            bytes,
        })
        .collect())
}

/// Puts backup `number` (1 is the newest) in place of the database of `data_dir`,
/// keeping the replaced database beside it. Refused while a daemon or the app uses
/// the folder ([`EngineError::Busy`]).
pub fn restore_backup(data_dir: &Path, number: usize) -> Result<Restored, EngineError> {
    let config = EngineConfig::new(data_dir);
    let _lock = lock(&config)?;
    check_private(data_dir)?;
    let backups = list_backups(data_dir)?;
    let backup = number
        .checked_sub(1)
        .and_then(|i| backups.get(i))
        .cloned()
        .ok_or(EngineError::NoSuchBackup {
            number,
            count: backups.len(),
        })?;
    check_whole(&backup.path)?;
    let database = config.database_path();
    // The copy is complete on disk before anything is moved.
    let incoming = data_dir.join("quire.db.restoring");
    let _ = fs::remove_file(&incoming);
    copy_private(&backup.path, &incoming)?;
    let stamp = now_ms();
    let kept = data_dir.join(format!("quire.replaced-{stamp}.db"));
    let replaced_kept_at = move_database(&database, &kept)?.then_some(kept);
    fs::rename(&incoming, &database).map_err(|e| EngineError::io(&database, e))?;
    sync_dir(data_dir).map_err(|e| EngineError::io(data_dir, e))?;
    Ok(Restored {
        backup,
        replaced_kept_at,
    })
}

/// Moves a database and its `-wal`/`-shm` files to `to`; false if there was none. A
/// WAL left behind would be replayed into the file that takes the database's place.
pub(crate) fn move_database(from: &Path, to: &Path) -> Result<bool, EngineError> {
    if !from.exists() {
        return Ok(false);
    }
    for suffix in ["-wal", "-shm", ""] {
        let (src, dst) = (with_suffix(from, suffix), with_suffix(to, suffix));
        if src.exists() {
            fs::rename(&src, &dst).map_err(|e| EngineError::io(&src, e))?;
        }
    }
    Ok(true)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn copy_private(from: &Path, to: &Path) -> Result<(), EngineError> {
    let mut source = fs::File::open(from).map_err(|e| EngineError::io(from, e))?;
    let mut target = create_private_file(to).map_err(|e| EngineError::io(to, e))?;
    std::io::copy(&mut source, &mut target).map_err(|e| EngineError::io(to, e))?;
    target.sync_all().map_err(|e| EngineError::io(to, e))
}

/// Refuses a backup that SQLite finds damaged (it would only replace one damaged
/// database with another).
fn check_whole(path: &Path) -> Result<(), EngineError> {
    let problems = quire_store::check_file(path, true)?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(EngineError::Store(StoreError::Corrupt {
            path: path.to_owned(),
            detail: problems.join("; "),
        }))
    }
}

impl Engine {
    /// Makes a backup of the database now (after everything submitted so far is
    /// durable) and deletes the oldest beyond [`BACKUPS_KEPT`].
    pub async fn backup_now(&self) -> Result<BackupInfo, EngineError> {
        self.flushed().await?;
        let engine = self.clone();
        tokio::task::spawn_blocking(move || engine.inner.make_backup())
            .await
            .map_err(|_| EngineError::Closed)?
    }
}

impl Inner {
    pub(crate) fn make_backup(&self) -> Result<BackupInfo, EngineError> {
        let _one_at_a_time = crate::engine::lock(&self.backup_running)?;
        self.make_backup_locked()
    }

    fn make_backup_locked(&self) -> Result<BackupInfo, EngineError> {
        let dir = self.config.data_dir.join(BACKUP_DIR);
        create_private_dir(&dir).map_err(|e| EngineError::io(&dir, e))?;
        let mut made_at = now_ms();
        let path = loop {
            let path = dir.join(format!("{PREFIX}{made_at:015}{SUFFIX}"));
            if !path.exists() {
                break path;
            }
            made_at += 1;
        };
        self.store.backup_to(&path)?;
        if let Some(every) = self.config.backup_every {
            self.next_backup_at
                .store(made_at + every.as_millis() as i64, Ordering::SeqCst);
        }
        for old in list_backups(&self.config.data_dir)?
            .iter()
            .skip(BACKUPS_KEPT)
        {
            if let Err(e) = fs::remove_file(&old.path) {
                tracing::warn!("cannot delete the old backup {}: {e}", old.path.display());
            }
        }
        let bytes = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        Ok(BackupInfo {
            number: 1,
            path,
            made_at,
            bytes,
        })
    }

    /// Makes the daily backup if it is due (and there is something to keep).
    pub(crate) fn backup_if_due(&self) {
        let now = now_ms();
        if self.config.backup_every.is_none() || now < self.next_backup_at.load(Ordering::SeqCst) {
            return;
        }
        // Checked again under the lock: a backup asked for meanwhile makes this one
        // not due any more.
        let Ok(_one_at_a_time) = crate::engine::lock(&self.backup_running) else {
            return;
        };
        if now < self.next_backup_at.load(Ordering::SeqCst) {
            return;
        }
        let empty = [Lifecycle::Active, Lifecycle::Trashed]
            .iter()
            .all(|l| self.store.documents(*l).is_ok_and(|d| d.is_empty()));
        let result = if empty {
            Ok(())
        } else {
            self.make_backup_locked().map(|_| ())
        };
        if let Err(e) = result {
            tracing::warn!("the daily backup failed: {e}");
            self.next_backup_at
                .store(now + BACKUP_RETRY.as_millis() as i64, Ordering::SeqCst);
        } else if empty {
            self.next_backup_at
                .store(now + BACKUP_RETRY.as_millis() as i64, Ordering::SeqCst);
        }
    }
}

/// When the next daily backup is due, given the backups there are.
pub(crate) fn first_due(config: &EngineConfig) -> i64 {
    let newest = list_backups(&config.data_dir)
        .ok()
        .and_then(|b| b.first().map(|b| b.made_at));
    match (newest, config.backup_every) {
        (Some(made_at), Some(every)) => made_at + every.as_millis() as i64,
        _ => now_ms(),
    }
}
