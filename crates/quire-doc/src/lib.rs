//! `quire-doc`: one Quire document as a yrs CRDT.
//!
//! A [`Document`] holds a Markdown body (`Y.Text` named `"body"`) and metadata
//! (`Y.Map` named `"meta"`, holding the title). Local edits address the body by
//! *character* index (Unicode scalar values), which is how a user and the CLI count;
//! internally the yrs document counts UTF-16 code units so that it matches Yjs and
//! CodeMirror in the desktop app.
//!
//! Every change produces an update in yrs encoding v1: local edits return it, and
//! remote updates are applied through [`Document::apply_update`], which size-checks,
//! decodes and applies the bytes with panics inside yrs contained. A document whose
//! apply panicked is *poisoned*: it refuses further use so that a half-applied state can
//! never be read or persisted, and its owner reloads it from durable storage.
//!
//! ```
//! use quire_doc::Document;
//!
//! let mut a = Document::new();
//! let update = a.insert(0, "# Hello").unwrap().expect("a non-empty insert changes the text");
//! let mut b = Document::new();
//! b.apply_update(&update).unwrap();
//! assert_eq!(b.text(), "# Hello");
//! ```
//!
//! [`diff`] holds the text diffs used for minimal replacements and version history;
//! [`sync`] the sans-io catch-up exchange between two replicas.

pub mod diff;
mod document;
mod error;
mod id;
mod merge;
pub mod sync;
mod sync_digest;
mod text_index;
mod update_check;
mod update_shape;
mod varint;

pub use diff::Splice;
pub use document::{Applied, BODY, Document, MAX_CLIENT_CLOCK, META, META_TITLE, UpdateSource};
pub use error::DocError;
pub use id::{DOCUMENT_ID_BYTES, DocumentId, ParseIdError};
pub use merge::merge_updates;
pub use sync_digest::{SYNC_DIGEST_BYTES, SyncDigest};
pub use update_shape::MAX_ANY_DEPTH;

/// Largest update accepted by [`Document::apply_update`], in bytes.
///
/// Big enough for the full state of a large document (a catch-up or a huge paste),
/// small enough that a hostile peer cannot make the node allocate without bound.
pub const MAX_UPDATE_BYTES: usize = 64 * 1024 * 1024;

/// Largest state vector accepted by [`Document::diff_since`], in bytes.
pub const MAX_STATE_VECTOR_BYTES: usize = 1024 * 1024;
