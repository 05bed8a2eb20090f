//! Text diffs: minimal splices between two texts, a compact patch encoding for
//! version history, and line- and character-level diffs for people to read.
//!
//! All positions count characters (Unicode scalar values).

use std::time::Duration;

use similar::{Algorithm, ChangeTag, DiffTag, TextDiff};

use crate::varint;

/// How long a character diff may search for the minimal answer before it settles for
/// a coarser (still correct) one. Keeps a replace of a huge, wildly different text fast.
pub const DIFF_TIMEOUT: Duration = Duration::from_millis(200);

/// Replace `delete` characters at character `pos` with `insert`.
///
/// In a list of splices each position refers to the text as left by the splices before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    /// Character position.
    pub pos: usize,
    /// Characters to delete at `pos`.
    pub delete: usize,
    /// Text to insert at `pos` after the deletion.
    pub insert: String,
}

/// Above this many bytes of differing text, the character diff runs per changed
/// group of lines rather than over the whole middle: Myers costs O(N·D), and a
/// version checkpoint of a long document with scattered edits would pay it in full.
const WHOLE_CHAR_DIFF_BYTES: usize = 8 * 1024;

/// The splices that turn `old` into `new`, touching as few characters as a bounded
/// search finds. Applying them in order to `old` gives `new`.
pub fn minimal_splices(old: &str, new: &str) -> Vec<Splice> {
    let (base, old_mid, new_mid) = trim_common(old, new);
    if old_mid.len() + new_mid.len() <= WHOLE_CHAR_DIFF_BYTES {
        let mut splices = Vec::new();
        char_splices(old_mid, new_mid, base, &mut splices);
        return splices;
    }
    // Lines first, then characters inside each changed group of lines.
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(DIFF_TIMEOUT)
        .diff_lines(old_mid, new_mid);
    let (old_lines, new_lines) = (diff.old_slices(), diff.new_slices());
    let mut splices = Vec::new();
    let mut new_pos = base;
    let mut group: Option<(usize, String, String)> = None;
    for op in diff.ops() {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        let new_text: String = new_lines
            .get(new_range)
            .map(|l| l.concat())
            .unwrap_or_default();
        if tag == DiffTag::Equal {
            if let Some((at, o, n)) = group.take() {
                char_splices(&o, &n, at, &mut splices);
            }
            new_pos += new_text.chars().count();
            continue;
        }
        let old_text: String = old_lines
            .get(old_range)
            .map(|l| l.concat())
            .unwrap_or_default();
        let (_, o, n) = group.get_or_insert_with(|| (new_pos, String::new(), String::new()));
        o.push_str(&old_text);
        n.push_str(&new_text);
        new_pos += new_text.chars().count();
    }
    if let Some((at, o, n)) = group.take() {
        char_splices(&o, &n, at, &mut splices);
    }
    splices
}

/// Splits off the longest common prefix and suffix: (prefix length in characters,
/// old middle, new middle).
fn trim_common<'a>(old: &'a str, new: &'a str) -> (usize, &'a str, &'a str) {
    let prefix_bytes: usize = old
        .char_indices()
        .zip(new.chars())
        .take_while(|((_, a), b)| a == b)
        .last()
        .map(|((i, c), _)| i + c.len_utf8())
        .unwrap_or(0);
    let (old_rest, new_rest) = (&old[prefix_bytes..], &new[prefix_bytes..]);
    let suffix_bytes: usize = old_rest
        .char_indices()
        .rev()
        .zip(new_rest.chars().rev())
        .take_while(|((_, a), b)| a == b)
        .last()
        .map(|((i, _), _)| old_rest.len() - i)
        .unwrap_or(0);
    let base = old[..prefix_bytes].chars().count();
    (
        base,
        &old_rest[..old_rest.len() - suffix_bytes],
        &new_rest[..new_rest.len() - suffix_bytes],
    )
}

/// Character-level splices turning `old` into `new`, positioned from `base` (a
/// new-side character position), appended to `out`.
fn char_splices(old: &str, new: &str, base: usize, out: &mut Vec<Splice>) {
    let (trimmed, old, new) = trim_common(old, new);
    let base = base + trimmed;
    if old.is_empty() && new.is_empty() {
        return;
    }
    if old.is_empty() || new.is_empty() {
        out.push(Splice {
            pos: base,
            delete: old.chars().count(),
            insert: new.to_owned(),
        });
        return;
    }
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(DIFF_TIMEOUT)
        .diff_chars(old, new);
    let new_chars: Vec<&str> = diff.new_slices().to_vec();
    let first = out.len();
    // Positions are in the text as already changed: new-side coordinates. They are
    // counted here from the lengths of the ops, which come in order, rather than read
    // from `new_range.start`: similar's Myers can report a wrong new index for a
    // deletion (mitsuhiko/similar#78), which put splices out of order.
    let mut new_pos = 0usize;
    for op in diff.ops() {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        let start = new_pos;
        new_pos += new_range.len();
        if tag == DiffTag::Equal {
            continue;
        }
        let pos = base + start;
        let insert: String = new_chars
            .get(start..new_pos)
            .map(|s| s.concat())
            .unwrap_or_default();
        match out.get_mut(first..).and_then(|s| s.last_mut()) {
            Some(last) if last.pos + last.insert.chars().count() == pos => {
                last.delete += old_range.len();
                last.insert.push_str(&insert);
            }
            _ => out.push(Splice {
                pos,
                delete: old_range.len(),
                insert,
            }),
        }
    }
}

/// Why a patch could not be decoded or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt text patch: {0}")]
pub struct PatchError(&'static str);

/// Applies splices in order to `text`, in one pass.
pub fn apply_splices(text: &str, splices: &[Splice]) -> Result<String, PatchError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text.chars();
    // Position in the output text, in characters.
    let mut out_pos = 0usize;
    for s in splices {
        if s.pos < out_pos {
            return Err(PatchError("splices out of order"));
        }
        for _ in out_pos..s.pos {
            out.push(rest.next().ok_or(PatchError("position past the end"))?);
        }
        for _ in 0..s.delete {
            rest.next().ok_or(PatchError("deletion past the end"))?;
        }
        out.push_str(&s.insert);
        out_pos = s.pos + s.insert.chars().count();
    }
    out.extend(rest);
    Ok(out)
}

/// Encodes splices compactly (varints; positions as gaps from the previous splice).
pub fn encode_splices(splices: &[Splice]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, splices.len() as u64);
    let mut prev_end = 0usize;
    for s in splices {
        put_varint(&mut out, s.pos.saturating_sub(prev_end) as u64);
        put_varint(&mut out, s.delete as u64);
        put_varint(&mut out, s.insert.len() as u64);
        out.extend_from_slice(s.insert.as_bytes());
        prev_end = s.pos + s.insert.chars().count();
    }
    out
}

/// Decodes what [`encode_splices`] wrote. Never panics on corrupt input.
pub fn decode_splices(mut bytes: &[u8]) -> Result<Vec<Splice>, PatchError> {
    let count = take_varint(&mut bytes)?;
    // Each splice takes at least three bytes; a count beyond that is corrupt.
    if count > bytes.len() as u64 {
        return Err(PatchError("splice count larger than the patch"));
    }
    let mut splices = Vec::with_capacity(count as usize);
    let mut prev_end = 0usize;
    for _ in 0..count {
        let gap = to_usize(take_varint(&mut bytes)?)?;
        let delete = to_usize(take_varint(&mut bytes)?)?;
        let len = to_usize(take_varint(&mut bytes)?)?;
        if len > bytes.len() {
            return Err(PatchError("insert longer than the patch"));
        }
        let (head, tail) = bytes.split_at(len);
        bytes = tail;
        let insert = std::str::from_utf8(head)
            .map_err(|_| PatchError("insert is not UTF-8"))?
            .to_owned();
        let pos = prev_end
            .checked_add(gap)
            .ok_or(PatchError("position overflows"))?;
        prev_end = pos + insert.chars().count();
        splices.push(Splice {
            pos,
            delete,
            insert,
        });
    }
    if !bytes.is_empty() {
        return Err(PatchError("trailing bytes"));
    }
    Ok(splices)
}

fn to_usize(v: u64) -> Result<usize, PatchError> {
    usize::try_from(v).map_err(|_| PatchError("number too large"))
}

fn put_varint(out: &mut Vec<u8>, v: u64) {
    varint::put(out, v);
}

fn take_varint(bytes: &mut &[u8]) -> Result<u64, PatchError> {
    varint::take(bytes).map_err(PatchError)
}

/// Whether a piece of a diff is common to both sides or only in one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffKind {
    /// In both texts.
    Equal,
    /// Only in the old text.
    Delete,
    /// Only in the new text.
    Insert,
}

/// One line of a line-level diff (the text includes its line break, if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    /// Which side the line belongs to.
    pub kind: DiffKind,
    /// Line number in the old text (1-based), for Equal and Delete lines.
    pub old_line: Option<usize>,
    /// Line number in the new text (1-based), for Equal and Insert lines.
    pub new_line: Option<usize>,
    /// The line.
    pub text: String,
}

/// One run of a character-level diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffSpan {
    /// Which side the run belongs to.
    pub kind: DiffKind,
    /// The characters.
    pub text: String,
}

fn kind_of(tag: ChangeTag) -> DiffKind {
    match tag {
        ChangeTag::Equal => DiffKind::Equal,
        ChangeTag::Delete => DiffKind::Delete,
        ChangeTag::Insert => DiffKind::Insert,
    }
}

/// Line-level diff of two texts.
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .timeout(DIFF_TIMEOUT)
        .diff_lines(old, new);
    diff.iter_all_changes()
        .map(|c| DiffLine {
            kind: kind_of(c.tag()),
            old_line: c.old_index().map(|i| i + 1),
            new_line: c.new_index().map(|i| i + 1),
            text: c.value().to_owned(),
        })
        .collect()
}

/// Character-level diff of two texts, adjacent runs of one kind merged.
pub fn diff_chars(old: &str, new: &str) -> Vec<DiffSpan> {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(DIFF_TIMEOUT)
        .diff_chars(old, new);
    let mut spans: Vec<DiffSpan> = Vec::new();
    for c in diff.iter_all_changes() {
        let kind = kind_of(c.tag());
        match spans.last_mut() {
            Some(last) if last.kind == kind => last.text.push_str(c.value()),
            _ => spans.push(DiffSpan {
                kind,
                text: c.value().to_owned(),
            }),
        }
    }
    spans
}

/// A unified diff (as `diff -u` prints) with `context` lines around each change.
pub fn unified_diff(
    old: &str,
    new: &str,
    old_label: &str,
    new_label: &str,
    context: usize,
) -> String {
    TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .timeout(DIFF_TIMEOUT)
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(context)
        .header(old_label, new_label)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splices_are_small_for_a_small_change() {
        let s = minimal_splices("hello world", "hello brave world");
        assert_eq!(
            s,
            vec![Splice {
                pos: 6,
                delete: 0,
                insert: "brave ".into()
            }]
        );
        assert!(minimal_splices("same", "same").is_empty());
    }

    #[test]
    fn splices_count_characters_not_bytes() {
        let s = minimal_splices("😀 a 漢", "😀 b 漢");
        assert_eq!(
            s,
            vec![Splice {
                pos: 2,
                delete: 1,
                insert: "b".into()
            }]
        );
    }

    #[test]
    fn corrupt_patches_are_errors() {
        assert!(decode_splices(&[5]).is_err());
        assert!(decode_splices(&[1, 0, 0, 9, b'a']).is_err());
        assert!(decode_splices(&[0xff; 12]).is_err());
        let bad = [Splice {
            pos: 10,
            delete: 0,
            insert: "x".into(),
        }];
        assert!(apply_splices("short", &bad).is_err());
    }

    #[test]
    fn line_diff_numbers_lines() {
        let d = diff_lines("a\nb\nc\n", "a\nB\nc\n");
        let changed: Vec<_> = d.iter().filter(|l| l.kind != DiffKind::Equal).collect();
        assert_eq!(changed.len(), 2);
        assert_eq!(changed[0].old_line, Some(2));
        assert_eq!(changed[1].new_line, Some(2));
        assert!(unified_diff("a\nb\n", "a\nc\n", "v1", "v2", 3).contains("-b\n+c"));
    }

    #[test]
    fn large_texts_diff_by_line_groups_and_still_rebuild_exactly() {
        let old: String = (0..3000)
            .map(|i| format!("line {i} with some text 😀\n"))
            .collect();
        let mut new = old
            .replace("line 10 ", "line ten ")
            .replace("line 2500 with", "changed 2500 and");
        new.push_str("tail\n");
        let splices = minimal_splices(&old, &new);
        assert_eq!(apply_splices(&old, &splices).unwrap(), new);
        let touched: usize = splices
            .iter()
            .map(|s| s.delete + s.insert.chars().count())
            .sum();
        assert!(
            touched < 40,
            "splices should be small, touched {touched} characters"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn line_grouped_splices_rebuild_large_texts(
            edits in proptest::collection::vec((0usize..12_000, 0usize..40, "[ab😀\n]{0,30}"), 1..20)
        ) {
            let old: String = (0..600).map(|i| format!("row {i} 漢字 text\n")).collect();
            let mut new: Vec<char> = old.chars().collect();
            for (pos, del, ins) in edits {
                let pos = pos.min(new.len());
                let del = del.min(new.len() - pos);
                new.splice(pos..pos + del, ins.chars());
            }
            let new: String = new.into_iter().collect();
            let splices = minimal_splices(&old, &new);
            prop_assert_eq!(apply_splices(&old, &splices).unwrap(), new);
        }
    }

    proptest! {
        #[test]
        fn splices_turn_old_into_new(old in "[ab😀漢\n]{0,40}", new in "[ab😀漢\n]{0,40}") {
            let splices = minimal_splices(&old, &new);
            prop_assert_eq!(apply_splices(&old, &splices).unwrap(), new.clone());
            let decoded = decode_splices(&encode_splices(&splices)).unwrap();
            prop_assert_eq!(decoded, splices);
            let spans = diff_chars(&old, &new);
            let rebuilt_new: String = spans.iter().filter(|s| s.kind != DiffKind::Delete).map(|s| s.text.as_str()).collect();
            prop_assert_eq!(rebuilt_new, new);
        }
    }
}
