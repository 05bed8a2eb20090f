//! Copies of the database made with SQLite's online backup API: a consistent copy of
//! a live database, taken while the writer keeps committing.

use std::fs;
use std::path::Path;

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use crate::private_files::{create_private_file, sync_dir};
use crate::{Store, StoreError};

impl Store {
    /// Writes a consistent copy of the database to `dest`, owner-only (0600 on Unix).
    /// The copy appears under `dest` whole or not at all; `dest` must not exist.
    pub fn backup_to(&self, dest: &Path) -> Result<(), StoreError> {
        let partial = dest.with_extension("partial");
        let _ = fs::remove_file(&partial);
        let copied = self.copy_into(&partial);
        let published = copied.and_then(|()| {
            if dest.exists() {
                return Err(StoreError::io(
                    dest,
                    std::io::ErrorKind::AlreadyExists.into(),
                ));
            }
            fs::rename(&partial, dest).map_err(|e| StoreError::io(dest, e))?;
            if let Some(dir) = dest.parent() {
                sync_dir(dir).map_err(|e| StoreError::io(dir, e))?;
            }
            Ok(())
        });
        if published.is_err() {
            let _ = fs::remove_file(&partial);
        }
        published
    }

    fn copy_into(&self, partial: &Path) -> Result<(), StoreError> {
        // Created 0600 before SQLite opens it, so its journal is private too.
        create_private_file(partial).map_err(|e| StoreError::io(partial, e))?;
        let mut to = Connection::open(partial).map_err(|e| StoreError::classify(e, partial))?;
        {
            // Its own read-only connection: the shared reader stays free for the
            // app's reads while a large database is copied.
            let from = Connection::open_with_flags(
                &self.path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| StoreError::classify(e, &self.path))?;
            let backup = Backup::new(&from, &mut to)?;
            // All pages in one step, under one read transaction: a step-by-step copy
            // restarts whenever the writer commits, and might never finish.
            match backup.step(-1)? {
                StepResult::Done => {}
                other => {
                    return Err(StoreError::CommitFailed(format!(
                        "the backup stopped before the end ({other:?})"
                    )));
                }
            }
        }
        to.close().map_err(|(_, e)| StoreError::Sqlite(e))?;
        fs::File::open(partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::io(partial, e))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ops;
    use quire_doc::DocumentId;

    #[test]
    fn a_backup_holds_what_was_committed_and_opens_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("quire.db")).unwrap();
        let id = DocumentId::random();
        store
            .write(ops::create_document(id, "Kept".into(), 1, 1, Vec::new()))
            .unwrap();
        let copy = dir.path().join("copy.db");
        store.backup_to(&copy).unwrap();
        assert!(store.backup_to(&copy).is_err(), "never replaces a backup");
        drop(store);
        let restored = Store::open(&copy).unwrap();
        assert_eq!(restored.document(&id).unwrap().title, "Kept");
        restored.integrity_check().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
