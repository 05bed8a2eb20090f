//! Search finds a word wherever it appears, in every script: a fixture set of
//! documents in Japanese, Chinese, Korean, Thai, German, Turkish, Arabic, French and
//! emoji, and a table of queries with the documents each must find (and only those),
//! and the characters each must mark in the snippet.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/store_docs.rs"]
mod support;

use quire_store::Store;
use support::{add, found};

const JAPANESE: &str = "日本の旅行";
const FRENCH: &str = "Café notes";
const GERMAN: &str = "Deutsch";
const CHINESE: &str = "北京烤鸭";
const KOREAN: &str = "서울 여행";
const THAI: &str = "อาหารไทย";
const TURKISH: &str = "İstanbul gezisi";
const ARABIC_VOWELLED: &str = "مكتبة الجامعة";
const ARABIC_PLAIN: &str = "كتاب جديد";
const EMOJI: &str = "Party 🎉";
const MIXED: &str = "iPhone用メモ";

const FIXTURES: &[(&str, &str)] = &[
    (JAPANESE, "東京で寿司を食べました。京都の寺も見ました。"),
    (FRENCH, "Crème brûlée at the café; naïve résumé"),
    (GERMAN, "Straße und Größe"),
    (CHINESE, "我们在北京吃了烤鸭，然后去了长城。"),
    (
        KOREAN,
        "서울에서 김치찌개를 먹었습니다. 한강 공원도 좋았어요.",
    ),
    (THAI, "ฉันชอบกินต้มยำกุ้งและผัดไทยมาก"),
    (TURKISH, "Boğaz'da ılık bir akşam; Kız Kulesi çok güzeldi."),
    (ARABIC_VOWELLED, "ذَهَبْتُ إِلَى المَكْتَبَةِ لِقِرَاءَةِ الكُتُبِ"),
    (ARABIC_PLAIN, "قرأت كتابا عن المكتبة"),
    (EMOJI, "Pizza 🍕 and sushi 🍣 tonight 👍🏽"),
    (MIXED, "Notes für das iPhone 15: バッテリー life is great"),
];

/// Query, the titles it must find (all of them, no others).
const EXPECTED: &[(&str, &[&str])] = &[
    // The table.
    ("寿司", &[JAPANESE]),
    ("旅行", &[JAPANESE]),
    ("京都", &[JAPANESE]),
    ("cafe", &[FRENCH]),
    ("creme", &[FRENCH]),
    ("resume", &[FRENCH]),
    ("strasse", &[GERMAN]),
    ("grosse", &[GERMAN]),
    // Japanese: one character, inside a sentence, as typed so far, not a longer word.
    ("寺", &[JAPANESE]),
    ("東京", &[JAPANESE]),
    ("食べ", &[JAPANESE]),
    ("寿司屋", &[]),
    ("京都大学", &[]),
    // Chinese.
    ("北京", &[CHINESE]),
    ("烤鸭", &[CHINESE]),
    ("长城", &[CHINESE]),
    ("上海", &[]),
    // Korean: a noun with a particle attached, and inside a compound.
    ("서울", &[KOREAN]),
    ("김치", &[KOREAN]),
    ("한강 공원", &[KOREAN]),
    // Thai, written without spaces.
    ("ต้มยำ", &[THAI]),
    ("ผัดไทย", &[THAI]),
    ("ไทย", &[THAI]),
    // German: ß and ss either way, case.
    ("Straße", &[GERMAN]),
    ("GRÖSSE", &[GERMAN]),
    ("strassen", &[]),
    // Turkish dotted and dotless i, either way, and case.
    ("istanbul", &[TURKISH]),
    ("İSTANBUL", &[TURKISH]),
    ("ılık", &[TURKISH]),
    ("ilik", &[TURKISH]),
    ("kiz kulesi", &[TURKISH]),
    // Arabic with and without harakat, on either side.
    ("المكتبة", &[ARABIC_VOWELLED, ARABIC_PLAIN]),
    ("المَكْتَبَة", &[ARABIC_VOWELLED, ARABIC_PLAIN]),
    ("الكتب", &[ARABIC_VOWELLED]),
    ("كتاب", &[ARABIC_PLAIN]),
    // Emoji, with a skin tone in the text.
    ("🍣", &[EMOJI]),
    ("🎉", &[EMOJI]),
    ("👍", &[EMOJI]),
    // Mixed scripts.
    ("iphone", &[MIXED]),
    ("iPhone用", &[MIXED]),
    ("バッテリー", &[MIXED]),
    ("メモ", &[MIXED]),
    ("fur", &[MIXED]),
    // Operators are text.
    ("\"(* OR", &[]),
];

/// Query, title of the hit, the exact text each highlight must cover.
const HIGHLIGHTS: &[(&str, &str, &[&str])] = &[
    ("寿司", JAPANESE, &["寿司"]),
    ("京", JAPANESE, &["京", "京"]),
    ("strasse grosse", GERMAN, &["Straße", "Größe"]),
    ("cafe", FRENCH, &["café"]),
    ("ilik", TURKISH, &["ılık"]),
    ("المكتبة", ARABIC_VOWELLED, &["المَكْتَبَةِ"]),
    ("🍣", EMOJI, &["🍣"]),
    ("👍", EMOJI, &["👍🏽"]),
    ("ผัดไทย", THAI, &["ผัดไทย"]),
    ("김치", KOREAN, &["김치"]),
];

fn fixture_store(dir: &std::path::Path) -> Store {
    let store = Store::open(&dir.join("quire.db")).unwrap();
    for (i, (title, body)) in FIXTURES.iter().enumerate() {
        add(&store, title, body, 1_000 + i as i64);
    }
    store
}

#[test]
fn every_script_finds_its_words_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture_store(dir.path());
    let mut wrong = Vec::new();
    for (query, expected) in EXPECTED {
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.sort();
        let got = found(&store, query);
        if got != want {
            wrong.push(format!("{query:?}: found {got:?}, want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "wrong results:\n{}", wrong.join("\n"));
}

#[test]
fn highlights_mark_the_characters_that_matched() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture_store(dir.path());
    for (query, title, marks) in HIGHLIGHTS {
        let hits = store.search(query, 10).unwrap();
        let hit = hits
            .iter()
            .find(|h| h.title == *title)
            .unwrap_or_else(|| panic!("{query:?} did not find {title:?}"));
        let marked: Vec<&str> = hit
            .highlights
            .iter()
            .map(|r| {
                hit.snippet
                    .get(r.clone())
                    .expect("highlight on char boundaries")
            })
            .collect();
        assert_eq!(&marked, marks, "{query:?} in {:?}", hit.snippet);
    }
}

#[test]
fn titles_rank_above_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("quire.db")).unwrap();
    add(&store, "雑記", "今日は旅行の準備をした。", 1);
    add(&store, "旅行の計画", "まだ何も決めていない。", 2);
    let hits = store.search("旅行", 10).unwrap();
    let titles: Vec<&str> = hits.iter().map(|h| h.title.as_str()).collect();
    assert_eq!(titles, ["旅行の計画", "雑記"]);
}
