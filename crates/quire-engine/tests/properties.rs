#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Property tests of the engine on real SQLite files: random edit sequences (with
//! non-ASCII text, tiny compaction thresholds and reopens in between) keep the text
//! equal to a plain `String` model, and version history (automatic, named, restores)
//! matches a model of the checkpoint policy.

#[path = "support/engine_support.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use quire_doc::Splice;
use quire_engine::{
    DocumentId, Edit, Engine, EngineConfig, VersionKind, VersionRecord, VersionRef,
};
use support::{open, shut};

/// A step of a test run. Positions are raw random numbers, reduced to a valid position
/// of the text at the time the step runs.
#[derive(Debug, Clone)]
enum Step {
    Insert {
        at: usize,
        text: String,
    },
    Delete {
        at: usize,
        len: usize,
    },
    Append(String),
    /// Replace the whole text with the text where a range is replaced.
    Replace {
        at: usize,
        len: usize,
        text: String,
    },
    /// Several splices in one transaction.
    Splices(Vec<(usize, usize, String)>),
    /// Close the engine, drop it and open a new one on the same folder.
    Reopen,
    /// Take a named version.
    Version,
    /// Restore the version at this (reduced) index of the list.
    Restore(usize),
}

fn some_text() -> impl Strategy<Value = String> {
    "[a-z \n漢字éß😀🎉]{0,8}"
}

fn edit_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (any::<usize>(), some_text()).prop_map(|(at, text)| Step::Insert { at, text }),
        3 => (any::<usize>(), 0usize..6).prop_map(|(at, len)| Step::Delete { at, len }),
        1 => some_text().prop_map(Step::Append),
        2 => (any::<usize>(), 0usize..6, some_text())
            .prop_map(|(at, len, text)| Step::Replace { at, len, text }),
    ]
}

fn text_steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        10 => edit_step(),
        2 => proptest::collection::vec((any::<usize>(), 0usize..4, some_text()), 1..4)
            .prop_map(Step::Splices),
        1 => Just(Step::Reopen),
    ];
    proptest::collection::vec(step, 1..40)
}

fn history_steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        8 => edit_step(),
        2 => Just(Step::Version),
        3 => any::<usize>().prop_map(Step::Restore),
        1 => Just(Step::Reopen),
    ];
    proptest::collection::vec(step, 1..30)
}

fn byte_at(s: &str, at: usize) -> usize {
    s.char_indices().nth(at).map_or(s.len(), |(i, _)| i)
}

/// `s` with `len` characters at `at` replaced by `text`.
fn spliced(s: &str, at: usize, len: usize, text: &str) -> String {
    let (a, b) = (byte_at(s, at), byte_at(s, at + len));
    format!("{}{text}{}", &s[..a], &s[b..])
}

/// Reduces a raw position and length to a valid range of `s`.
fn range_in(s: &str, at: usize, len: usize) -> (usize, usize) {
    let chars = s.chars().count();
    let at = at % (chars + 1);
    (at, len.min(chars - at))
}

/// Turns an edit step into an engine edit and the text it should produce.
fn to_edit(model: &str, step: &Step) -> (Edit, String) {
    match step {
        Step::Insert { at, text } => {
            let (at, _) = range_in(model, *at, 0);
            let edit = Edit::Insert {
                at,
                text: text.clone(),
            };
            (edit, spliced(model, at, 0, text))
        }
        Step::Delete { at, len } => {
            let (at, len) = range_in(model, *at, *len);
            (Edit::Delete { at, len }, spliced(model, at, len, ""))
        }
        Step::Append(text) => (Edit::Append(text.clone()), format!("{model}{text}")),
        Step::Replace { at, len, text } => {
            let (at, len) = range_in(model, *at, *len);
            let new = spliced(model, at, len, text);
            (Edit::Replace(new.clone()), new)
        }
        Step::Splices(raw) => {
            let mut text = model.to_owned();
            let mut splices = Vec::new();
            for (at, len, insert) in raw {
                let (at, len) = range_in(&text, *at, *len);
                text = spliced(&text, at, len, insert);
                splices.push(Splice {
                    pos: at,
                    delete: len,
                    insert: insert.clone(),
                });
            }
            (Edit::Splices(splices), text)
        }
        other => panic!("{other:?} is not an edit"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn reopen(engine: Engine, config: &EngineConfig) -> Engine {
    shut(engine).await;
    open(config).await
}

fn config(
    dir: &Path,
    compact_updates: usize,
    compact_bytes: usize,
    every: u32,
    keyframes: i64,
) -> EngineConfig {
    let mut config = EngineConfig::new(dir);
    config.compact_after_updates = compact_updates;
    config.compact_after_bytes = compact_bytes;
    config.checkpoint_every_edits = every;
    config.checkpoint_min_interval = Duration::ZERO;
    config.keyframe_every = keyframes;
    // Versions come only from the steps, never from the clock.
    config.checkpoint_after_idle = Duration::from_secs(3600);
    config
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 256, ..ProptestConfig::default() })]

    /// Whatever the edits, compaction and reopens, the engine's text is the model's.
    #[test]
    fn text_follows_a_string_model(
        initial in some_text(),
        steps in text_steps(),
        compact_updates in 1usize..8,
        compact_bytes in 16usize..512,
        every in 1u32..8,
        keyframes in 1i64..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), compact_updates, compact_bytes, every, keyframes);
        runtime().block_on(async {
            let mut engine = open(&config).await;
            let id = engine.create("prop", &initial).await.unwrap();
            let mut model = initial.clone();
            let mut pending: Vec<quire_engine::Receipt> = Vec::new();
            for (i, step) in steps.iter().enumerate() {
                if let Step::Reopen = step {
                    for receipt in pending.drain(..) {
                        receipt.saved().await.unwrap();
                    }
                    engine = reopen(engine, &config).await;
                } else {
                    let (edit, next) = to_edit(&model, step);
                    // Every other edit is only submitted; its receipt is awaited later.
                    if i % 2 == 0 {
                        engine.edit(id, edit.clone()).await.unwrap();
                    } else {
                        pending.push(engine.submit_edit(id, edit.clone()).unwrap());
                    }
                    model = next;
                }
                prop_assert_eq!(&engine.text(id).await.unwrap(), &model, "after step {} {:?}", i, step);
            }
            for receipt in pending {
                receipt.saved().await.unwrap();
            }
            let engine = reopen(engine, &config).await;
            prop_assert_eq!(&engine.text(id).await.unwrap(), &model, "after the final reopen");
            prop_assert_eq!(engine.info(id).await.unwrap().chars, model.chars().count() as i64);
            // Every version reads back with the length it was listed with, and the last
            // one (taken on close at the latest) is the current text.
            let versions = engine.versions(id).await.unwrap();
            for v in &versions {
                let text = engine.version_text(id, VersionRef::Number(v.number)).await.unwrap();
                prop_assert_eq!(text.chars().count() as i64, v.chars, "v{}", v.number);
            }
            let last = versions.last().unwrap().number;
            prop_assert_eq!(engine.version_text(id, VersionRef::Number(last)).await.unwrap(), model);
            engine.close().await.unwrap();
            Ok::<(), TestCaseError>(())
        })?;
    }

    /// Version history follows the checkpoint policy, every version's text is the text
    /// it was taken of, and restores (of anything, in any order) give that text back.
    #[test]
    fn history_follows_a_model(
        initial in some_text(),
        steps in history_steps(),
        every in 2u32..7,
        keyframes in 1i64..4,
        compact_updates in 2usize..10,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), compact_updates, 4096, every, keyframes);
        runtime().block_on(async {
            let mut engine = open(&config).await;
            let id = engine.create("history", &initial).await.unwrap();
            let mut h = History::new(every, &initial);
            for (i, step) in steps.iter().enumerate() {
                match step {
                    Step::Reopen => {
                        h.close();
                        engine = reopen(engine, &config).await;
                    }
                    Step::Version => {
                        let name = format!("named {i}");
                        let n = engine.create_version(id, Some(&name)).await.unwrap();
                        prop_assert_eq!(n, h.take(VersionKind::Named, Some(name)));
                    }
                    Step::Restore(k) => {
                        let number = h.pick(*k);
                        let n = engine.restore_version(id, number).await.unwrap();
                        prop_assert_eq!(n, h.restore(number));
                    }
                    edit_step => {
                        let (edit, next) = to_edit(&h.text, edit_step);
                        engine.edit(id, edit).await.unwrap();
                        h.edited(next);
                    }
                }
                prop_assert_eq!(&engine.text(id).await.unwrap(), &h.text, "after step {} {:?}", i, step);
                h.check(&engine, id).await.map_err(|e| TestCaseError::fail(format!("after step {i} {step:?}: {e}")))?;
            }
            // Restore, edit, restore again, then restore the restore.
            let first = h.pick(0);
            let last = h.pick(usize::MAX);
            let r1 = engine.restore_version(id, first).await.unwrap();
            prop_assert_eq!(r1, h.restore(first));
            prop_assert_eq!(&engine.text(id).await.unwrap(), &h.versions[&first].1);
            let (edit, next) = to_edit(&h.text, &Step::Append("✎ edited after restoring".into()));
            engine.edit(id, edit).await.unwrap();
            h.edited(next);
            let r2 = engine.restore_version(id, last).await.unwrap();
            prop_assert_eq!(r2, h.restore(last));
            prop_assert_eq!(&engine.text(id).await.unwrap(), &h.versions[&last].1);
            let r3 = engine.restore_version(id, r1).await.unwrap();
            prop_assert_eq!(r3, h.restore(r1));
            prop_assert_eq!(&engine.text(id).await.unwrap(), &h.versions[&first].1);
            h.check(&engine, id).await.map_err(TestCaseError::fail)?;

            h.close();
            let engine = reopen(engine, &config).await;
            prop_assert_eq!(&engine.text(id).await.unwrap(), &h.text);
            h.check(&engine, id).await.map_err(TestCaseError::fail)?;
            engine.close().await.unwrap();
            Ok::<(), TestCaseError>(())
        })?;
    }
}

/// A model of a document's versions under the engine's checkpoint policy: a version on
/// create, every `every` effective edits, on request, around a restore, and on close
/// when something changed since the last one.
struct History {
    every: u32,
    text: String,
    /// number → (kind, text, name)
    versions: BTreeMap<i64, (VersionKind, String, Option<String>)>,
    edits_since_version: u32,
    dirty: bool,
}

impl History {
    fn new(every: u32, initial: &str) -> Self {
        let mut versions = BTreeMap::new();
        versions.insert(1, (VersionKind::Auto, initial.to_owned(), None));
        Self {
            every,
            text: initial.to_owned(),
            versions,
            edits_since_version: 0,
            dirty: false,
        }
    }

    fn take(&mut self, kind: VersionKind, name: Option<String>) -> i64 {
        let n = self.versions.len() as i64 + 1;
        self.versions.insert(n, (kind, self.text.clone(), name));
        self.edits_since_version = 0;
        self.dirty = false;
        n
    }

    fn edited(&mut self, next: String) {
        if next == self.text {
            return; // nothing changed, nothing logged
        }
        self.text = next;
        self.edits_since_version += 1;
        self.dirty = true;
        if self.edits_since_version >= self.every {
            self.take(VersionKind::Auto, None);
        }
    }

    fn pick(&self, k: usize) -> i64 {
        (k % self.versions.len()) as i64 + 1
    }

    fn restore(&mut self, number: i64) -> i64 {
        if self.dirty {
            self.take(VersionKind::Auto, None);
        }
        let target = self.versions[&number].1.clone();
        self.edited(target);
        self.take(VersionKind::Restore, Some(format!("restored v{number}")))
    }

    fn close(&mut self) {
        if self.dirty {
            self.take(VersionKind::Auto, None);
        }
        self.edits_since_version = 0;
    }

    /// The engine lists exactly the modelled versions, each with its text.
    async fn check(&self, engine: &Engine, id: DocumentId) -> Result<(), String> {
        let listed: Vec<VersionRecord> = engine.versions(id).await.map_err(|e| e.to_string())?;
        let got: Vec<_> = listed
            .iter()
            .map(|v| (v.number, v.kind, v.name.clone(), v.chars))
            .collect();
        let want: Vec<_> = self
            .versions
            .iter()
            .map(|(n, (kind, text, name))| (*n, *kind, name.clone(), text.chars().count() as i64))
            .collect();
        if got != want {
            return Err(format!("versions listed {got:?}, expected {want:?}"));
        }
        for (n, (_, text, _)) in &self.versions {
            let stored = engine
                .version_text(id, VersionRef::Number(*n))
                .await
                .map_err(|e| e.to_string())?;
            if &stored != text {
                return Err(format!("v{n} reads {stored:?}, expected {text:?}"));
            }
        }
        Ok(())
    }
}
