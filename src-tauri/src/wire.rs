//! The shapes the window sees (camelCase JSON), as `ui/src/ipc.ts` declares them.

use serde::{Deserialize, Serialize};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DocumentSummary {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) updated_at: i64,
    pub(crate) chars: i64,
    pub(crate) role: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TrashedDocument {
    #[serde(flatten)]
    pub(crate) summary: DocumentSummary,
    pub(crate) deleted_at: i64,
}

#[derive(Serialize)]
pub(crate) struct SearchHit {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) snippet: String,
    /// UTF-16 offsets into `snippet`, as the browser counts.
    pub(crate) highlights: Vec<[usize; 2]>,
}

/// The header of `apply_update` that names the document (its body is the update).
pub(crate) const DOC_ID_HEADER: &str = "quire-doc-id";

/// Largest update the window may hand over in one call. A paste of a whole
/// `quire_engine::MAX_IMPORT_BYTES` (32 MiB) file encodes to a little more than the
/// text, so twice that leaves room without letting a runaway page fill memory.
pub(crate) const MAX_WINDOW_UPDATE_BYTES: usize = 64 * 1024 * 1024;

/// `open_document`'s answer as raw bytes: one flags byte ([`OPENED_READ_ONLY`] set for
/// a read-only document), then the document's whole state (yrs v1 update). The
/// window reads it as an `ArrayBuffer` (`ui/src/ipc.ts`, `parseOpened`).
pub(crate) fn opened_document(state: Vec<u8>, read_only: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(state.len() + 1);
    out.push(if read_only { OPENED_READ_ONLY } else { 0 });
    out.extend_from_slice(&state);
    out
}

/// Flag bit of `open_document`'s first byte: this device may only read.
pub(crate) const OPENED_READ_ONLY: u8 = 1;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VersionSummary {
    pub(crate) number: i64,
    pub(crate) kind: &'static str,
    pub(crate) name: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) chars: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DiffLine {
    pub(crate) kind: &'static str,
    pub(crate) old_line: Option<usize>,
    pub(crate) new_line: Option<usize>,
    pub(crate) text: String,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
pub(crate) struct Cursor {
    pub(crate) anchor: u64,
    pub(crate) head: u64,
}

#[derive(Deserialize)]
pub(crate) struct LocalPresence {
    pub(crate) cursor: Option<Cursor>,
    pub(crate) typing: bool,
}

#[derive(Serialize, Clone)]
pub(crate) struct Presence {
    pub(crate) name: String,
    pub(crate) color: String,
    pub(crate) cursor: Option<Cursor>,
    pub(crate) typing: bool,
}

#[derive(Serialize, Clone)]
pub(crate) struct SyncStatus {
    pub(crate) mode: &'static str,
    pub(crate) peers: usize,
    pub(crate) pending: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Settings {
    pub(crate) display_name: String,
    /// `#rrggbb`.
    pub(crate) color: String,
    /// Where the documents are kept (shown; set with `QUIRE_DATA_DIR`).
    #[serde(default)]
    pub(crate) data_folder: String,
    /// Team relays (addresses ending in `/p2p/<peer id>`).
    #[serde(default)]
    pub(crate) relays: Vec<String>,
}

/// A byte offset into `text` as a UTF-16 offset.
pub(crate) fn utf16_offset(text: &str, byte: usize) -> usize {
    text.get(..byte).map_or(0, |s| s.encode_utf16().count())
}
