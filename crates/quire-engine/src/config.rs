//! Engine settings.

use std::path::PathBuf;
use std::time::Duration;

/// How long after the newest backup the next one is made, while Quire runs.
pub const BACKUP_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// How an [`crate::Engine`] is set up. Every limit of the engine lives here.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Folder holding the database and the lock file.
    pub data_dir: PathBuf,
    /// Take an automatic version after this many edits since the last version.
    pub checkpoint_every_edits: u32,
    /// ...but not sooner than this after the previous automatic one (a flat-out
    /// burst, such as a paste storm or a replay, gets a version every so often, not
    /// one per thousand edits).
    pub checkpoint_min_interval: Duration,
    /// Take an automatic version once editing has paused this long.
    pub checkpoint_after_idle: Duration,
    /// Refresh the search index once editing has paused this long.
    pub index_after_idle: Duration,
    /// Compact a document's log once it holds this many updates...
    pub compact_after_updates: usize,
    /// ...or once its bytes exceed the larger of this and the snapshot's size.
    pub compact_after_bytes: usize,
    /// Every this many versions, store the whole text instead of a patch.
    pub keyframe_every: i64,
    /// Make a backup of the database this long after the newest one, while Quire
    /// runs (`None`: only when asked, and on an orderly quit).
    pub backup_every: Option<Duration>,
}

impl EngineConfig {
    /// Defaults for a data folder.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            checkpoint_every_edits: 1000,
            checkpoint_min_interval: Duration::from_secs(10),
            checkpoint_after_idle: Duration::from_secs(10),
            index_after_idle: Duration::from_secs(1),
            compact_after_updates: 4000,
            compact_after_bytes: 256 * 1024,
            keyframe_every: 500,
            backup_every: Some(BACKUP_EVERY),
        }
    }

    /// Path of the SQLite database.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("quire.db")
    }

    /// Path of the lock file that keeps a second process off this data folder.
    pub fn lock_path(&self) -> PathBuf {
        self.data_dir.join("quire.lock")
    }
}
