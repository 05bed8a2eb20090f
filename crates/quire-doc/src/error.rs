//! Errors of document operations.

/// What went wrong in a document operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocError {
    /// The update is larger than [`crate::MAX_UPDATE_BYTES`].
    #[error("update of {size} bytes is larger than the limit of {limit} bytes")]
    UpdateTooLarge {
        /// Size of the rejected update.
        size: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// The bytes are not a valid yrs v1 update.
    #[error("malformed update: {0}")]
    MalformedUpdate(String),
    /// The bytes are not a valid yrs v1 state vector.
    #[error("malformed state vector: {0}")]
    MalformedStateVector(String),
    /// yrs panicked while applying an update; the document is poisoned and must be reloaded.
    #[error(
        "the update crashed the CRDT library and was rejected; the document must be reloaded from disk"
    )]
    ApplyPanicked,
    /// yrs panicked while encoding the document; it is left as it was.
    #[error("the CRDT library failed to encode this document; its update log is kept as it is")]
    EncodePanicked,
    /// A previous apply panicked; this in-memory copy is unusable.
    #[error("this in-memory copy of the document is unusable after a rejected update; reload it")]
    Poisoned,
    /// A character index or range lies outside the text.
    #[error("position {index} is outside the text, which has {len} characters")]
    OutOfRange {
        /// The index asked for.
        index: usize,
        /// The text length in characters.
        len: usize,
    },
}
