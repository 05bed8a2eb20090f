//! Splitting text into search terms, the same way for the index, the query and the
//! highlights, in every script.
//!
//! FTS5's `unicode61` tokenizer makes a whole run of Chinese, Japanese, Korean or Thai
//! one token, so a word inside a sentence is never found. Here:
//! - scripts written with spaces give one term per word, folded: case, accents
//!   (`é`→`e`), `ß`→`ss`, Turkish `İ`/`ı`→`i`, Arabic harakat and tatweel dropped,
//!   compatibility forms (`ﬁ`, full-width Latin) unfolded;
//! - scripts written without spaces (Han, kana, Hangul, Thai, Lao, Khmer, Myanmar)
//!   give overlapping character bigrams plus the run's last character alone, so any
//!   word of one character or more is a phrase of bigrams (or a prefix of one);
//! - each emoji is a term of its own.
//!
//! The index stores the terms separated by spaces in an FTS5 table whose `ascii`
//! tokenizer only splits on the spaces (see `schema.rs`); measured against
//! `unicode61` and `trigram` in `quire-bench search`.

use std::ops::Range;

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// A piece of text that search treats as one unit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    /// A word of a space-separated script, folded, with its bytes in the source.
    Word { term: String, at: Range<usize> },
    /// A run of a script written without spaces: each character folded, with its
    /// bytes in the source.
    Run { chars: Vec<(char, Range<usize>)> },
    /// One emoji (modifiers and joiners dropped).
    Emoji { term: String, at: Range<usize> },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    Word,
    Run,
    Emoji,
    /// Part of the previous piece (a combining mark, a joiner), not a unit itself.
    Joiner,
    Separator,
}

/// Scripts written without spaces between words.
fn is_unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF     // Thai, Lao
        | 0x1000..=0x109F   // Myanmar
        | 0x1100..=0x11FF   // Hangul Jamo
        | 0x1780..=0x17FF   // Khmer
        | 0x2E80..=0x2FDF   // CJK radicals
        | 0x3005..=0x3007   // 々 〆 〇
        | 0x3040..=0x30FF   // Hiragana, Katakana
        | 0x3130..=0x318F   // Hangul compatibility Jamo
        | 0x31F0..=0x31FF   // Katakana extensions
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xAC00..=0xD7AF   // Hangul syllables
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0xFF66..=0xFF9F   // half-width Katakana
        | 0x20000..=0x3FFFF // CJK extensions B and later
    )
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1F2FF
        | 0x1F300..=0x1F3FA
        | 0x1F400..=0x1FAFF
        | 0x2600..=0x27BF
        | 0x2B00..=0x2BFF
    )
}

/// Characters that belong to the piece before them and are dropped from its term.
fn is_silent(c: char) -> bool {
    matches!(c as u32,
        0x200C | 0x200D     // zero-width (non-)joiner
        | 0xFE00..=0xFE0F   // variation selectors
        | 0x1F3FB..=0x1F3FF // skin tones
        | 0x0640            // Arabic tatweel
    )
}

/// Marks that search ignores: Latin, Greek and Cyrillic accents, Hebrew points,
/// Arabic harakat. Other marks (Devanagari vowel signs, Thai) change the word.
fn is_ignored_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05C7 | 0x0610..=0x061A
        | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06ED
    )
}

fn class(c: char) -> Class {
    if is_unspaced(c) {
        Class::Run
    } else if is_silent(c) || is_combining_mark(c) {
        Class::Joiner
    } else if c.is_alphanumeric() {
        Class::Word
    } else if is_emoji(c) {
        Class::Emoji
    } else {
        Class::Separator
    }
}

/// Appends `c` folded for search to `out`.
fn fold_into(c: char, out: &mut String) {
    match c {
        'ß' | 'ẞ' => out.push_str("ss"),
        'ı' | 'İ' => out.push('i'),
        'æ' | 'Æ' => out.push_str("ae"),
        'œ' | 'Œ' => out.push_str("oe"),
        'ø' | 'Ø' => out.push('o'),
        'ł' | 'Ł' => out.push('l'),
        'đ' | 'Đ' => out.push('d'),
        'þ' | 'Þ' => out.push_str("th"),
        'ς' => out.push('σ'),
        c if is_silent(c) || is_ignored_mark(c) => {}
        c => decompose_compatible(c, |d| {
            if !is_ignored_mark(d) {
                out.extend(d.to_lowercase());
            }
        }),
    }
}

/// One character of an unspaced run, folded to one character (half-width Katakana
/// to full width, Latin-like case); Hangul stays a syllable.
fn fold_run_char(c: char) -> char {
    if (0xFF66..=0xFF9F).contains(&(c as u32)) {
        let mut first = None;
        decompose_compatible(c, |d| {
            first.get_or_insert(d);
        });
        first.unwrap_or(c)
    } else {
        c
    }
}

/// Splits `text` into pieces, in order.
pub(crate) fn pieces(text: &str) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut last = Class::Separator;
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        let class = class(c);
        match (class, out.last_mut()) {
            (Class::Joiner, Some(piece)) if last != Class::Separator => match piece {
                Piece::Word { term, at } | Piece::Emoji { term, at } => {
                    if !is_silent(c) && !is_ignored_mark(c) {
                        term.push(c);
                    }
                    at.end = end;
                }
                Piece::Run { chars } => {
                    // A mark inside Thai or Lao text is part of the run.
                    if let Some((_, at)) = chars.last_mut() {
                        at.end = end;
                    }
                }
            },
            (Class::Word, Some(Piece::Word { term, at })) if last == Class::Word => {
                fold_into(c, term);
                at.end = end;
            }
            (Class::Run, Some(Piece::Run { chars })) if last == Class::Run => {
                chars.push((fold_run_char(c), i..end));
            }
            (Class::Word, _) => {
                let mut term = String::new();
                fold_into(c, &mut term);
                out.push(Piece::Word { term, at: i..end });
            }
            (Class::Run, _) => out.push(Piece::Run {
                chars: vec![(fold_run_char(c), i..end)],
            }),
            (Class::Emoji, _) => out.push(Piece::Emoji {
                term: c.to_string(),
                at: i..end,
            }),
            (Class::Joiner, _) | (Class::Separator, _) => {}
        }
        // A joiner continues whatever came before it.
        if class != Class::Joiner {
            last = class;
        }
    }
    // A word made only of dropped marks has no term.
    out.retain(|p| match p {
        Piece::Word { term, .. } | Piece::Emoji { term, .. } => !term.is_empty(),
        Piece::Run { chars } => !chars.is_empty(),
    });
    out
}

/// The terms of a run: overlapping bigrams, then the last character alone (so a
/// one-character query, searched as a prefix, finds every occurrence).
fn run_terms(chars: &[(char, Range<usize>)], out: &mut String) {
    for pair in chars.windows(2) {
        if let [(a, _), (b, _)] = pair {
            push_term(out, &[*a, *b]);
        }
    }
    if let Some((c, _)) = chars.last() {
        push_term(out, &[*c]);
    }
}

fn push_term(out: &mut String, chars: &[char]) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.extend(chars);
}

/// What the index stores for `text`: its terms separated by spaces.
pub(crate) fn index_terms(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    for piece in pieces(text) {
        match piece {
            Piece::Word { term, .. } | Piece::Emoji { term, .. } => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&term);
            }
            Piece::Run { chars } => run_terms(&chars, &mut out),
        }
    }
    out
}

/// What a user typed, as pieces to match: every piece must match; the last word (or a
/// one-character run) may be a prefix, so results appear while typing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    pub(crate) pieces: Vec<QueryPiece>,
}

/// One thing a query looks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QueryPiece {
    /// A folded word or emoji; `prefix` if it may be the start of a longer word.
    Term { term: String, prefix: bool },
    /// A run of unspaced characters, folded, found anywhere inside a run.
    Run(Vec<char>),
}

impl Query {
    /// Parses `input`; `None` if it holds nothing searchable.
    pub(crate) fn parse(input: &str) -> Option<Self> {
        let pieces = pieces(input);
        let count = pieces.len();
        let parsed: Vec<QueryPiece> = pieces
            .into_iter()
            .enumerate()
            .map(|(i, p)| match p {
                Piece::Word { term, .. } => QueryPiece::Term {
                    term,
                    prefix: i + 1 == count,
                },
                Piece::Emoji { term, .. } => QueryPiece::Term {
                    term,
                    prefix: false,
                },
                Piece::Run { chars } => {
                    QueryPiece::Run(chars.into_iter().map(|(c, _)| c).collect())
                }
            })
            .collect();
        (!parsed.is_empty()).then_some(Self { pieces: parsed })
    }

    /// The FTS5 MATCH expression: every piece must match. Terms never contain a double
    /// quote (it is a separator), so quoting them makes operators plain text.
    pub(crate) fn fts(&self) -> String {
        let parts: Vec<String> = self
            .pieces
            .iter()
            .map(|p| match p {
                QueryPiece::Term { term, prefix } => {
                    format!("\"{term}\"{}", if *prefix { "*" } else { "" })
                }
                QueryPiece::Run(chars) => match chars.as_slice() {
                    [one] => format!("\"{one}\"*"),
                    _ => {
                        let mut phrase = String::new();
                        for pair in chars.windows(2) {
                            push_term(&mut phrase, pair);
                        }
                        format!("\"{phrase}\"")
                    }
                },
            })
            .collect();
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded() {
        assert_eq!(index_terms("Straße GRÖSSE Café"), "strasse grosse cafe");
        assert_eq!(index_terms("İstanbul ılık"), "istanbul ilik");
        assert_eq!(index_terms("ﬁne ＡＢＣ"), "fine abc");
        // Harakat and tatweel dropped, hamza forms folded to alef.
        assert_eq!(index_terms("كَتَبَ أحمد كـتـب"), "كتب احمد كتب");
    }

    #[test]
    fn unspaced_runs_become_bigrams() {
        assert_eq!(index_terms("寿司を"), "寿司 司を を");
        assert_eq!(index_terms("京"), "京");
        assert_eq!(index_terms("Tokyo東京2024"), "tokyo 東京 京 2024");
    }

    #[test]
    fn emoji_are_terms() {
        assert_eq!(index_terms("sushi🍣ok 👍🏽"), "sushi 🍣 ok 👍");
    }

    #[test]
    fn queries_are_sanitised() {
        let fts = |s: &str| Query::parse(s).map(|q| q.fts());
        assert_eq!(fts("hello wor").as_deref(), Some("\"hello\" \"wor\"*"));
        assert_eq!(
            fts("a\"b OR c*").as_deref(),
            Some("\"a\" \"b\" \"or\" \"c\"*")
        );
        assert_eq!(fts("  -- "), None);
        assert_eq!(fts("寿").as_deref(), Some("\"寿\"*"));
        assert_eq!(fts("東京都").as_deref(), Some("\"東京 京都\""));
    }
}
