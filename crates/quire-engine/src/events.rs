//! What subscribers of [`crate::Engine::subscribe`] hear.

use std::sync::Arc;

use quire_doc::DocumentId;
use quire_store::Origin;

/// Something changed in the engine.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum EngineEvent {
    /// A document's content changed; `update` is the yrs v1 update.
    Changed {
        /// The document.
        id: DocumentId,
        /// Where the change came from.
        origin: Origin,
        /// The update bytes.
        update: Arc<[u8]>,
    },
    /// A document was created or imported.
    Created {
        /// The document.
        id: DocumentId,
    },
    /// A document's title changed.
    Renamed {
        /// The document.
        id: DocumentId,
        /// The new title.
        title: String,
    },
    /// A document moved to the trash.
    Trashed {
        /// The document.
        id: DocumentId,
    },
    /// A document came back from the trash.
    Restored {
        /// The document.
        id: DocumentId,
    },
    /// A document was deleted for good.
    Purged {
        /// The document.
        id: DocumentId,
    },
    /// A document was shared, joined, left or re-joined.
    SharingChanged {
        /// The document.
        id: DocumentId,
    },
    /// A version was taken.
    VersionCreated {
        /// The document.
        id: DocumentId,
        /// Its number.
        number: i64,
    },
}

/// How many events a slow subscriber may fall behind before it misses some.
pub(crate) const EVENT_BUFFER: usize = 4096;
