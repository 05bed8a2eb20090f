//! Character index ⇄ UTF-16 offset conversion for the body text.
//!
//! yrs counts the body in UTF-16 code units (as Yjs and CodeMirror do); users and the
//! CLI count characters. The two agree unless the text holds characters outside the
//! Basic Multilingual Plane (emoji, some CJK extensions), which take two UTF-16 units.
//! Converting by scanning the text is O(n) per edit, so [`AstralTracker`] remembers
//! when the text is known to hold no such character and the conversion is the identity.

/// Remembers whether the body may contain characters that take two UTF-16 units.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AstralTracker {
    known_bmp_only: bool,
}

impl AstralTracker {
    /// A tracker for an empty text.
    pub(crate) fn empty() -> Self {
        Self {
            known_bmp_only: true,
        }
    }

    /// A tracker that knows nothing yet.
    pub(crate) fn unknown() -> Self {
        Self {
            known_bmp_only: false,
        }
    }

    /// Whether the identity mapping between characters and UTF-16 units is known to hold.
    pub(crate) fn is_bmp_only(&self) -> bool {
        self.known_bmp_only
    }

    /// Records a local insertion.
    pub(crate) fn note_inserted(&mut self, text: &str) {
        if has_astral(text) {
            self.known_bmp_only = false;
        }
    }

    /// Records a remote update. Its strings are UTF-8 inside the encoding; a four-byte
    /// sequence starts with a byte of 0xF0 or more. Other fields may contain such bytes
    /// too, which only costs a rescan later.
    pub(crate) fn note_remote_update(&mut self, update: &[u8]) {
        if update.iter().any(|&b| b >= 0xF0) {
            self.known_bmp_only = false;
        }
    }

    /// Records the result of a full scan of the text.
    pub(crate) fn note_scanned(&mut self, text: &str) {
        self.known_bmp_only = !has_astral(text);
    }
}

fn has_astral(text: &str) -> bool {
    // Every astral character is four bytes in UTF-8, the only four-byte sequences.
    text.len() != 0 && text.bytes().any(|b| b >= 0xF0)
}

/// UTF-16 offset of the character at `char_index` in `text`, or `None` past the end.
pub(crate) fn utf16_offset(text: &str, char_index: usize) -> Option<usize> {
    let mut units = 0;
    let mut chars = text.chars();
    for _ in 0..char_index {
        units += chars.next()?.len_utf16();
    }
    Some(units)
}

/// UTF-16 length of `count` characters starting at UTF-16 offset `from`, or `None` when
/// the range runs past the end.
pub(crate) fn utf16_len_of_chars(text: &str, from_char: usize, count: usize) -> Option<usize> {
    let mut chars = text.chars().skip(from_char);
    let mut units = 0;
    for _ in 0..count {
        units += chars.next()?.len_utf16();
    }
    Some(units)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_around_emoji_and_cjk() {
        let text = "a😀b漢c";
        assert_eq!(utf16_offset(text, 0), Some(0));
        assert_eq!(utf16_offset(text, 1), Some(1));
        assert_eq!(utf16_offset(text, 2), Some(3));
        assert_eq!(utf16_offset(text, 4), Some(5));
        assert_eq!(utf16_offset(text, 5), Some(6));
        assert_eq!(utf16_offset(text, 6), None);
        assert_eq!(utf16_len_of_chars(text, 1, 2), Some(3));
        assert_eq!(utf16_len_of_chars(text, 4, 2), None);
    }

    #[test]
    fn tracks_astral_text() {
        let mut t = AstralTracker::empty();
        t.note_inserted("漢字 is BMP");
        assert!(t.is_bmp_only());
        t.note_inserted("🎉");
        assert!(!t.is_bmp_only());
        t.note_scanned("plain");
        assert!(t.is_bmp_only());
    }
}
