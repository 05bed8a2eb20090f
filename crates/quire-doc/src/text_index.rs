//! Character index ⇄ UTF-16 offset conversion for the body text.
//!
//! yrs counts the body in UTF-16 code units (as Yjs and CodeMirror do); users and the
//! CLI count characters. The two differ only at characters outside the Basic
//! Multilingual Plane (emoji, some CJK extensions), which take two UTF-16 units.
//! [`AstralIndex`] keeps the character positions of those few characters, so a
//! conversion is a binary search rather than a scan of the text. Local edits update
//! it in place; a remote update that may touch such characters makes it unknown, and
//! it is rebuilt from the text the next time it is needed.

/// Sorted character positions of the characters that take two UTF-16 units, when known.
#[derive(Debug, Clone, Default)]
pub(crate) struct AstralIndex {
    positions: Option<Vec<usize>>,
}

impl AstralIndex {
    /// The index of an empty text.
    pub(crate) fn empty() -> Self {
        Self {
            positions: Some(Vec::new()),
        }
    }

    /// An index to be rebuilt from the text before use.
    pub(crate) fn unknown() -> Self {
        Self { positions: None }
    }

    /// Whether [`AstralIndex::rebuild`] is needed before use.
    pub(crate) fn is_known(&self) -> bool {
        self.positions.is_some()
    }

    /// Rebuilds the index from the whole text.
    pub(crate) fn rebuild(&mut self, text: &str) {
        let positions = if text.bytes().any(|b| b >= 0xF0) {
            text.chars()
                .enumerate()
                .filter(|(_, c)| c.len_utf16() == 2)
                .map(|(i, _)| i)
                .collect()
        } else {
            Vec::new()
        };
        self.positions = Some(positions);
    }

    fn positions(&self) -> &[usize] {
        self.positions.as_deref().unwrap_or_default()
    }

    /// Number of two-unit characters in the text.
    pub(crate) fn count(&self) -> usize {
        self.positions().len()
    }

    /// UTF-16 offset of character `pos`.
    pub(crate) fn utf16_offset(&self, pos: usize) -> usize {
        pos + self.positions().partition_point(|&p| p < pos)
    }

    /// UTF-16 length of `count` characters from character `pos`.
    pub(crate) fn utf16_len(&self, pos: usize, count: usize) -> usize {
        let p = self.positions();
        count + p.partition_point(|&x| x < pos + count) - p.partition_point(|&x| x < pos)
    }

    /// Records a local splice: `delete` characters at `pos` replaced by `insert`.
    pub(crate) fn splice(&mut self, pos: usize, delete: usize, insert: &str) {
        let Some(positions) = self.positions.as_mut() else {
            return;
        };
        let inserted = insert.chars().count();
        let start = positions.partition_point(|&p| p < pos);
        let end = positions.partition_point(|&p| p < pos + delete);
        let fresh: Vec<usize> = if insert.bytes().any(|b| b >= 0xF0) {
            insert
                .chars()
                .enumerate()
                .filter(|(_, c)| c.len_utf16() == 2)
                .map(|(i, _)| pos + i)
                .collect()
        } else {
            Vec::new()
        };
        let fresh_len = fresh.len();
        positions.splice(start..end, fresh);
        for p in positions.iter_mut().skip(start + fresh_len) {
            *p = *p - delete + inserted;
        }
    }

    /// Records a remote update. Its strings are UTF-8 in the encoding, where every
    /// two-unit character starts with a byte of 0xF0 or more; without such a byte,
    /// a text known to hold none still holds none (deletions cannot add any). Other
    /// fields may hold such bytes too, which only costs a rebuild.
    pub(crate) fn note_remote_update(&mut self, update: &[u8]) {
        let still_none = self.positions.as_ref().is_some_and(Vec::is_empty)
            && !update.iter().any(|&b| b >= 0xF0);
        if !still_none {
            self.positions = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(text: &str) -> AstralIndex {
        let mut i = AstralIndex::unknown();
        i.rebuild(text);
        i
    }

    #[test]
    fn converts_around_emoji_and_cjk() {
        let i = built("a😀b漢c");
        assert_eq!(i.utf16_offset(0), 0);
        assert_eq!(i.utf16_offset(1), 1);
        assert_eq!(i.utf16_offset(2), 3);
        assert_eq!(i.utf16_offset(5), 6);
        assert_eq!(i.utf16_len(1, 2), 3);
        assert_eq!(i.count(), 1);
    }

    #[test]
    fn splices_keep_the_index_equal_to_a_rebuild() {
        let mut text: Vec<char> = "x😀y🎉z".chars().collect();
        let mut i = built(&text.iter().collect::<String>());
        for (pos, delete, insert) in [(1, 1, "ab"), (0, 0, "🙂"), (3, 2, "漢😀"), (6, 1, "")] {
            i.splice(pos, delete, insert);
            text.splice(pos..pos + delete, insert.chars());
            let s: String = text.iter().collect();
            assert_eq!(
                i.positions(),
                built(&s).positions(),
                "after splicing {insert:?} at {pos}"
            );
        }
    }

    #[test]
    fn remote_updates_invalidate_only_when_needed() {
        let mut i = AstralIndex::empty();
        i.note_remote_update(b"plain ascii update");
        assert!(i.is_known());
        i.note_remote_update("😀".as_bytes());
        assert!(!i.is_known());
    }
}
