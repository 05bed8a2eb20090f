//! Helpers shared by the engine's integration tests (included with `#[path]`).
#![allow(dead_code, unused_imports)]

pub(crate) use std::collections::BTreeMap;
pub(crate) use std::path::Path;
pub(crate) use std::time::{Duration, Instant};

pub(crate) use quire_doc::{DocError, Document};
pub(crate) use quire_engine::{
    DocumentId, Edit, Engine, EngineConfig, EngineError, EngineEvent, Origin, VersionKind,
    VersionRef,
};
pub(crate) use quire_store::{Store, now_ms, ops};
pub(crate) use rand::rngs::StdRng;
pub(crate) use rand::{Rng, SeedableRng};
pub(crate) use rusqlite::{Connection, OpenFlags};

/// Defaults, except that nothing happens on a timer during a test (no idle versions,
/// no idle indexing), so every version and index refresh is caused by the test.
pub(crate) fn quiet_config(dir: &Path) -> EngineConfig {
    let mut config = EngineConfig::new(dir);
    config.checkpoint_after_idle = Duration::from_secs(3600);
    config.index_after_idle = Duration::from_secs(3600);
    config
}

/// Opens an engine. Dropping the last handle of the previous one released the
/// folder before `drop` returned, so no waiting is needed (nor allowed).
pub(crate) async fn open(config: &EngineConfig) -> Engine {
    Engine::open(config.clone()).await.unwrap_or_else(|e| {
        panic!(
            "cannot open the engine on {}: {e}",
            config.data_dir.display()
        )
    })
}

/// Closes an engine and drops it, as an app does on exit.
pub(crate) async fn shut(engine: Engine) {
    engine.close().await.unwrap();
    drop(engine);
}

/// Byte offset of character `at` in `s` (the end if `at` is the length).
pub(crate) fn byte_at(s: &str, at: usize) -> usize {
    s.char_indices().nth(at).map_or(s.len(), |(i, _)| i)
}

/// Applies `edit` to a model string the way the engine should.
pub(crate) fn apply_to_model(model: &mut String, edit: &Edit) {
    match edit {
        Edit::Insert { at, text } => {
            let b = byte_at(model, *at);
            model.insert_str(b, text);
        }
        Edit::Delete { at, len } => {
            let (a, b) = (byte_at(model, *at), byte_at(model, at + len));
            model.replace_range(a..b, "");
        }
        Edit::Append(text) => model.push_str(text),
        Edit::Replace(text) => *model = text.clone(),
        other => panic!("the model does not handle {other:?}"),
    }
}

/// Applies `edit` to the engine and the model and checks that they agree.
pub(crate) async fn edit_both(engine: &Engine, id: DocumentId, model: &mut String, edit: Edit) {
    apply_to_model(model, &edit);
    engine.edit(id, edit.clone()).await.unwrap();
    assert_eq!(&engine.text(id).await.unwrap(), model, "after {edit:?}");
}

/// Checks that the document holds `model` and that its stored length agrees.
pub(crate) async fn assert_holds(engine: &Engine, id: DocumentId, model: &str) {
    assert_eq!(engine.text(id).await.unwrap(), model);
    assert_eq!(
        engine.info(id).await.unwrap().chars,
        model.chars().count() as i64
    );
}

pub(crate) fn char_pos(s: &str, c: char) -> usize {
    s.chars().position(|x| x == c).unwrap()
}

pub(crate) fn ids(records: &[quire_engine::DocumentRecord]) -> Vec<DocumentId> {
    records.iter().map(|r| r.id).collect()
}

/// Opens the database of a closed engine read-only.
pub(crate) fn read_only(data_dir: &Path) -> Connection {
    Connection::open_with_flags(data_dir.join("quire.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
}

/// Runs a `count(*)` query with the document id as `?1`.
pub(crate) fn rows_in(data_dir: &Path, sql: &str, id: DocumentId) -> i64 {
    read_only(data_dir)
        .query_row(sql, [id.to_string()], |r| r.get(0))
        .unwrap()
}

/// Runs a `count(*)` query without parameters.
pub(crate) fn count(data_dir: &Path, sql: &str) -> i64 {
    read_only(data_dir)
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}
