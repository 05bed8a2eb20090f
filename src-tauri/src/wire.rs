//! The shapes the window sees (camelCase JSON), as `ui/src/ipc.ts` declares them.

use std::ops::Range;

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

/// A document as `list_documents` sends it: with when it went to the trash, for a
/// listing of the trash.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListedDocument {
    #[serde(flatten)]
    pub(crate) summary: DocumentSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) deleted_at: Option<i64>,
}

/// How far the search index is (after an upgrade it is rebuilt in the background).
#[derive(Serialize)]
pub(crate) struct SearchIndexStatus {
    pub(crate) rebuilding: bool,
    /// Documents indexed so far, while rebuilding.
    pub(crate) done: u64,
    /// Documents to index in all, while rebuilding.
    pub(crate) total: u64,
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

/// Byte ranges of `text` (on character boundaries) as UTF-16 `[start, end)` ranges,
/// the offsets JavaScript strings count. A range that does not fall on character
/// boundaries inside `text` is dropped rather than sent wrong.
pub(crate) fn utf16_ranges(text: &str, ranges: &[Range<usize>]) -> Vec<[usize; 2]> {
    ranges
        .iter()
        .filter(|r| r.start < r.end)
        .filter_map(|r| Some([utf16_offset(text, r.start)?, utf16_offset(text, r.end)?]))
        .collect()
}

/// A byte offset into `text` as a UTF-16 offset; `None` off a character boundary.
fn utf16_offset(text: &str, byte: usize) -> Option<usize> {
    text.get(..byte).map(|s| s.encode_utf16().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ranges of `needle`'s occurrences in `text`, in bytes, as the engine gives them.
    fn byte_ranges(text: &str, needle: &str) -> Vec<Range<usize>> {
        text.match_indices(needle)
            .map(|(at, m)| at..at + m.len())
            .collect()
    }

    /// What a JavaScript `slice` of the UTF-16 range would show.
    fn js_slice(text: &str, [start, end]: [usize; 2]) -> String {
        let units: Vec<u16> = text.encode_utf16().collect();
        String::from_utf16(&units[start..end]).unwrap()
    }

    #[test]
    fn highlights_cover_the_same_characters_in_every_script() {
        for (text, needle) in [
            ("…東京で寿司を食べた。寿司!", "寿司"),
            ("party 🎉🎉 time 🎉", "🎉"),
            ("Straße café naïve", "café"),
            ("مرحبا بالعالم", "بالعالم"),
            ("plain ascii text", "ascii"),
            ("𠀋𠀋 rare CJK 𠀋", "𠀋"),
        ] {
            let ranges = utf16_ranges(text, &byte_ranges(text, needle));
            assert!(!ranges.is_empty(), "{text}");
            for range in ranges {
                assert_eq!(js_slice(text, range), needle, "{text}: {range:?}");
            }
        }
    }

    #[test]
    fn emoji_count_two_utf16_units_and_cjk_one() {
        assert_eq!(
            utf16_ranges("a🎉b寿司", &[5..6, 6..12]),
            vec![[3, 4], [4, 6]]
        );
    }

    #[test]
    fn a_range_off_a_character_boundary_or_past_the_end_is_dropped() {
        assert_eq!(
            utf16_ranges("寿司", &[1..3, 0..9, 3..3]),
            Vec::<[usize; 2]>::new()
        );
    }
}
