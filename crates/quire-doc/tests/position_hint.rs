//! The vendored yrs (third_party/yrs) starts an index-based text edit from where the
//! last one left off instead of walking the whole document. These tests hold it to
//! what upstream does: the same text, and the same items in the same places.
//!
//! A document with UTF-8 byte offsets never uses the hint, so on ASCII text it is an
//! upstream walk from the start: a hinted document and such a twin, given the same
//! client id and the same edits, must encode to the same bytes. Seeded; the seed is
//! printed (rerun with `QUIRE_SEED=<seed>`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yrs::block::ClientID;
use yrs::types::text::YChange;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Doc, GetString, OffsetKind, Options, Out, ReadTxn, StateVector, Text, Transact, Update,
};

/// Stands for an embedded value in a model of a text.
const EMBED: char = '\u{FFFC}';

fn seed(test: &str) -> u64 {
    let seed = std::env::var("QUIRE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("{test} seed: {seed} (rerun with QUIRE_SEED={seed})");
    seed
}

fn doc(client: u64, offset_kind: OffsetKind) -> Doc {
    Doc::with_options(Options {
        offset_kind,
        ..Options::with_client_id(ClientID::new(client))
    })
}

fn text_of(doc: &Doc) -> String {
    doc.get_or_insert_text("body").get_string(&doc.transact())
}

fn state(doc: &Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

fn apply(doc: &Doc, update: &[u8]) {
    doc.get_or_insert_text("body");
    let mut txn = doc.transact_mut();
    txn.apply_update(Update::decode_v1(update).unwrap())
        .unwrap();
}

/// The text's characters, with [`EMBED`] for each embedded value.
fn model_of(doc: &Doc) -> Vec<char> {
    let text = doc.get_or_insert_text("body");
    let txn = doc.transact();
    text.diff(&txn, YChange::identity)
        .into_iter()
        .flat_map(|chunk| match chunk.insert {
            Out::Any(Any::String(s)) => s.chars().collect(),
            _ => vec![EMBED],
        })
        .collect()
}

/// An edit as a typist makes them: mostly next to the last one, sometimes anywhere.
#[derive(Debug, Clone)]
enum Edit {
    Insert(u32, String),
    Remove(u32, u32),
    /// An embedded value: unlike text, it goes in without skipping deleted items, so
    /// where among them the lookup stops shows.
    Embed(u32),
}

fn next_edit(rng: &mut StdRng, len: u32, cursor: &mut u32, alphabet: &[&str]) -> Edit {
    *cursor = (*cursor).min(len);
    match rng.random_range(0..10) {
        // Jump somewhere: the start, the end or anywhere.
        0 => *cursor = [0, len, rng.random_range(0..=len)][rng.random_range(0..3)],
        // A few characters back or ahead.
        1 => *cursor = cursor.saturating_sub(rng.random_range(0..5)),
        2 => *cursor = (*cursor + rng.random_range(0..5)).min(len),
        _ => {}
    }
    if len > 0 && rng.random_bool(0.3) {
        let backspace = *cursor > 0 && rng.random_bool(0.6);
        let at = if backspace {
            *cursor - 1
        } else {
            (*cursor).min(len - 1)
        };
        let most = if rng.random_bool(0.9) { 1 } else { 40 };
        let n = rng.random_range(1..=(len - at).min(most));
        *cursor = at;
        Edit::Remove(at, n)
    } else {
        let n = if rng.random_bool(0.9) {
            1
        } else {
            rng.random_range(2..30)
        };
        let chunk: String = (0..n)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect();
        let at = *cursor;
        *cursor += chunk.encode_utf16().count() as u32;
        Edit::Insert(at, chunk)
    }
}

fn make(doc: &Doc, edit: &Edit) {
    let text = doc.get_or_insert_text("body");
    let mut txn = doc.transact_mut();
    match edit {
        Edit::Insert(at, chunk) => text.insert(&mut txn, *at, chunk),
        Edit::Remove(at, n) => text.remove_range(&mut txn, *at, *n),
        Edit::Embed(at) => {
            text.insert_embed(&mut txn, *at, Any::from(true));
        }
    }
}

const ASCII: &[&str] = &["a", "b", "c", " ", "\n", "x", "y", "z"];

#[test]
fn edits_from_the_last_position_land_where_a_walk_from_the_start_puts_them() {
    let mut rng = StdRng::seed_from_u64(seed("same items"));
    for round in 0..20 {
        let hinted = doc(1, OffsetKind::Utf16);
        let walked = doc(1, OffsetKind::Bytes);
        let other = doc(2, OffsetKind::Utf16);
        let mut model: Vec<char> = Vec::new();
        let (mut cursor, mut other_cursor) = (0, 0);
        for step in 0..800 {
            if rng.random_bool(0.05) {
                // A peer's concurrent edits arrive: they move items the hint counts.
                let other_len = model_of(&other).len() as u32;
                let edit = next_edit(&mut rng, other_len, &mut other_cursor, ASCII);
                make(&other, &edit);
                let update = state(&other);
                apply(&hinted, &update);
                apply(&walked, &update);
                apply(&other, &state(&hinted));
                model = model_of(&walked);
            }
            let mut edit = next_edit(&mut rng, model.len() as u32, &mut cursor, ASCII);
            if let (Edit::Insert(at, _), true) = (&edit, rng.random_bool(0.05)) {
                edit = Edit::Embed(*at);
            }
            make(&hinted, &edit);
            make(&walked, &edit);
            match &edit {
                Edit::Insert(at, chunk) => {
                    let at = *at as usize;
                    model.splice(at..at, chunk.chars());
                }
                Edit::Remove(at, n) => {
                    model.drain(*at as usize..(*at + *n) as usize);
                }
                Edit::Embed(at) => model.insert(*at as usize, EMBED),
            }
            assert_eq!(
                model_of(&hinted),
                model,
                "round {round} step {step}: {edit:?}"
            );
        }
        assert_eq!(
            state(&hinted),
            state(&walked),
            "round {round}: the hinted document's items differ from the walked one's"
        );
    }
}

#[test]
fn edits_among_multi_unit_characters_keep_their_utf16_positions() {
    let mut rng = StdRng::seed_from_u64(seed("utf16"));
    let alphabet = ["a", "é", "€", "😀", "𝄞", " "];
    for round in 0..10 {
        let hinted = doc(3, OffsetKind::Utf16);
        let other = doc(4, OffsetKind::Utf16);
        // The model is the text's characters; edits are made at character boundaries.
        let mut model: Vec<char> = Vec::new();
        let mut cursor = 0u32;
        for step in 0..600 {
            if rng.random_bool(0.05) {
                let chars = text_of(&other).chars().count() as u32;
                let mut c = rng.random_range(0..=chars);
                let edit = next_edit(&mut rng, chars, &mut c, &alphabet);
                make(
                    &other,
                    &utf16_edit(&text_of(&other).chars().collect::<Vec<_>>(), &edit),
                );
                apply(&hinted, &state(&other));
                apply(&other, &state(&hinted));
                model = text_of(&hinted).chars().collect();
            }
            let edit = next_edit(&mut rng, model.len() as u32, &mut cursor, &alphabet);
            cursor = cursor.min(model.len() as u32);
            make(&hinted, &utf16_edit(&model, &edit));
            match &edit {
                Edit::Insert(at, chunk) => {
                    let at = *at as usize;
                    model.splice(at..at, chunk.chars());
                    cursor = (at + chunk.chars().count()) as u32;
                }
                Edit::Remove(at, n) => {
                    model.drain(*at as usize..(*at + *n) as usize);
                }
                Edit::Embed(_) => unreachable!("no embeds here"),
            }
            let expected: String = model.iter().collect();
            assert_eq!(
                text_of(&hinted),
                expected,
                "round {round} step {step}: {edit:?}"
            );
        }
        apply(&other, &state(&hinted));
        apply(&hinted, &state(&other));
        assert_eq!(
            text_of(&other),
            text_of(&hinted),
            "round {round}: not converged"
        );
    }
}

/// `edit`, given in characters of `chars`, in UTF-16 units.
fn utf16_edit(chars: &[char], edit: &Edit) -> Edit {
    let units = |n: u32| -> u32 {
        chars[..n as usize]
            .iter()
            .map(|c| c.len_utf16() as u32)
            .sum()
    };
    match edit {
        Edit::Insert(at, chunk) => Edit::Insert(units(*at), chunk.clone()),
        Edit::Remove(at, n) => Edit::Remove(units(*at), units(*at + *n) - units(*at)),
        Edit::Embed(at) => Edit::Embed(units(*at)),
    }
}
