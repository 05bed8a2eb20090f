//! Errors of the store.

use std::path::{Path, PathBuf};

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error.
    #[error(
        "database error ({0}); if it persists, check the disk and restore the database from a backup"
    )]
    Sqlite(#[from] rusqlite::Error),
    /// The file is not a usable SQLite database.
    #[error(
        "the database {path} is damaged ({detail}); move it aside and restore it from a backup (`quire backup ls` lists them), or run `quire doctor` to save every document that is still readable"
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// The database was written by a newer Quire.
    #[error(
        "the database {path} was written by a newer Quire (schema {found}, this build knows up to {supported}); upgrade Quire to open it"
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Schema version in the file.
        found: i64,
        /// Newest schema version this build knows.
        supported: i64,
    },
    /// The database file cannot be opened at all.
    #[error("cannot open the database {path}: {detail}")]
    CannotOpen {
        /// The database file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// No document with this id exists.
    #[error("no document with id {0}; `quire doc ls` lists the documents")]
    NoSuchDocument(String),
    /// No such version of the document.
    #[error("document {doc} has no version {number}; `quire history` lists its versions")]
    NoSuchVersion {
        /// The document.
        doc: String,
        /// The version asked for.
        number: i64,
    },
    /// Stored bytes failed to decode.
    #[error(
        "stored data of document {doc} is damaged ({detail}); export what still opens and restore the database from a backup"
    )]
    DamagedData {
        /// The document.
        doc: String,
        /// What failed.
        detail: String,
    },
    /// The transaction holding this write failed to commit.
    #[error(
        "the change was not saved ({0}); check the disk has free space and the data folder is writable"
    )]
    CommitFailed(String),
    /// The writer thread has stopped.
    #[error("the database writer has stopped; restart Quire")]
    WriterGone,
    /// A file next to the database could not be made, read or moved.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A lock was poisoned by a panic elsewhere.
    #[error("internal lock poisoned; restart Quire")]
    Poisoned,
}

impl StoreError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// Turns an error from opening or first touching `path` into the clearest variant.
    pub(crate) fn classify(e: rusqlite::Error, path: &Path) -> Self {
        use rusqlite::ffi::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => Self::Corrupt {
                path: path.to_owned(),
                detail: e.to_string(),
            },
            Some(ErrorCode::CannotOpen)
            | Some(ErrorCode::PermissionDenied)
            | Some(ErrorCode::ReadOnly) => Self::CannotOpen {
                path: path.to_owned(),
                detail: e.to_string(),
            },
            _ => Self::Sqlite(e),
        }
    }
}
