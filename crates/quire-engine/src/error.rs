//! Errors of the engine.

use std::path::PathBuf;

use quire_doc::DocError;
use quire_store::StoreError;

/// What went wrong in an engine call. Messages say what failed and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The document operation failed.
    #[error(transparent)]
    Doc(#[from] DocError),
    /// Nothing matches the reference.
    #[error("no document matches `{0}`; `quire doc ls` lists them")]
    NoSuchDocument(String),
    /// More than one document matches the reference.
    #[error("`{needle}` matches {} documents ({}); use more of the id", candidates.len(), candidates.join(", "))]
    Ambiguous {
        /// What was asked for.
        needle: String,
        /// Ids that match.
        candidates: Vec<String>,
    },
    /// The document is in the trash.
    #[error("document {0} is in the trash; restore it first (`quire trash restore`)")]
    InTrash(String),
    /// An argument is not acceptable.
    #[error("{0}")]
    InvalidInput(String),
    /// The document was shared with this device read-only.
    #[error(
        "document {0} is shared with you read-only: your edits would be refused by every writer; ask a writer for a write link (`quire share DOC`)"
    )]
    ReadOnly(String),
    /// An invite ticket is not valid.
    #[error("this invite link is not valid: {0}")]
    Ticket(#[from] quire_crypto::TicketError),
    /// The device key could not be loaded or created.
    #[error(transparent)]
    Identity(#[from] quire_crypto::IdentityError),
    /// A write link was asked for a document this device may only read.
    #[error(
        "document {0} is shared with you read-only, so you can only pass on a read-only link (`--read-only`)"
    )]
    CannotGrantWrite(String),
    /// An invite names a document that is here, with other keys.
    #[error(
        "this invite link names document {0}, which is already here with different keys; it was not joined (ask its sender for a new link)"
    )]
    TicketMismatch(String),
    /// The document is not shared, so there is nothing to leave.
    #[error("document {0} is not shared; `quire share` shares it")]
    NotShared(String),
    /// Purge only takes documents from the trash.
    #[error("document {0} is not in the trash; delete it first (`quire doc rm`)")]
    NotInTrash(String),
    /// Another process holds the data folder.
    #[error("another Quire process is using {0}; stop it (or use it) and try again")]
    Busy(PathBuf),
    /// Other users may read or write the data folder or a file in it.
    #[error(
        "{} can be read or written by other users (mode {mode:o}), and the data folder holds every document's keys; Quire will not use it until only you can: run `chmod -R go-rwx '{}'` and start again",
        .path.display(),
        .folder.display()
    )]
    NotPrivate {
        /// The folder or file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The data folder (what to chmod).
        folder: PathBuf,
    },
    /// No backup with this number.
    #[error("there is no backup {number} (there are {count}); `quire backup ls` lists them")]
    NoSuchBackup {
        /// The number asked for.
        number: usize,
        /// How many backups there are.
        count: usize,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A file to import is not UTF-8 text.
    #[error(
        "{path} is not UTF-8 text (invalid byte at offset {offset}); convert it to UTF-8 first"
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// A catch-up message from a peer was refused.
    #[error("sync with a peer failed: {0}")]
    Sync(String),
    /// The engine has been closed.
    #[error(
        "Quire is shutting down and this change was not confirmed; open the document again to check it"
    )]
    Closed,
}

impl EngineError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
