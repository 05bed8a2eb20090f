//! Making real documents in a real store file, as the engine does: a yrs state as the
//! first snapshot, then the index entry.

#![allow(dead_code)]

use quire_doc::{Document, DocumentId};
use quire_store::{Store, ops};

/// Creates a document with `title` and `body`, changed at `at` (ms since the epoch).
pub(crate) fn add(store: &Store, title: &str, body: &str, at: i64) -> DocumentId {
    let id = DocumentId::random();
    let mut doc = Document::new();
    doc.set_title(title).unwrap();
    doc.insert(0, body).unwrap();
    let state = doc.encode_state().unwrap();
    store
        .write(ops::create_document(
            id,
            title.to_owned(),
            at,
            body.chars().count(),
            state,
        ))
        .unwrap();
    store
        .write(ops::index_text(id, title.to_owned(), body.to_owned()))
        .unwrap();
    id
}

/// Titles of the hits of `query`, sorted.
pub(crate) fn found(store: &Store, query: &str) -> Vec<String> {
    let mut titles: Vec<String> = store
        .search(query, 100)
        .unwrap()
        .into_iter()
        .map(|h| h.title)
        .collect();
    titles.sort();
    titles
}
