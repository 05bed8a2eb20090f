#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Version history and the update log: named and automatic versions, diffs,
//! restore as a forward edit, and compaction of the log.

#[path = "support/engine_support.rs"]
mod support;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_diff_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = quiet_config(dir.path());
    // Short keyframe interval: version texts are rebuilt across keyframes and patches.
    config.keyframe_every = 3;
    let engine = open(&config).await;
    let mut texts: BTreeMap<i64, String> = BTreeMap::new();
    let mut model = String::from("line one\nline two\n");
    let id = engine.create("History", &model).await.unwrap();

    let versions = engine.versions(id).await.unwrap();
    assert_eq!(versions.len(), 1, "creating takes the first version");
    assert_eq!(versions[0].number, 1);
    texts.insert(1, model.clone());

    edit_both(
        &engine,
        id,
        &mut model,
        Edit::Append("line three 🌲\n".into()),
    )
    .await;
    let draft = engine.create_version(id, Some("draft")).await.unwrap();
    assert_eq!(draft, 2);
    texts.insert(draft, model.clone());
    let versions = engine.versions(id).await.unwrap();
    let v = versions.last().unwrap();
    assert_eq!(
        (v.number, v.kind, v.name.as_deref()),
        (2, VersionKind::Named, Some("draft"))
    );
    assert_eq!(v.chars, model.chars().count() as i64);

    let changed = model.replace("line two", "line 2 (二)");
    edit_both(&engine, id, &mut model, Edit::Replace(changed)).await;
    edit_both(
        &engine,
        id,
        &mut model,
        Edit::Insert {
            at: 0,
            text: "# Title\n".into(),
        },
    )
    .await;
    let third = engine.create_version(id, None).await.unwrap();
    assert_eq!(third, 3);
    assert_eq!(
        engine.versions(id).await.unwrap()[2].kind,
        VersionKind::Auto
    );
    texts.insert(third, model.clone());

    // Diffs between version numbers.
    let diff = engine
        .diff(id, VersionRef::Number(2), VersionRef::Number(3))
        .await
        .unwrap();
    assert_eq!(diff.from_text, texts[&2]);
    assert_eq!(diff.to_text, texts[&3]);
    let lines = diff.lines();
    use quire_doc::diff::DiffKind;
    let deleted: Vec<&str> = lines
        .iter()
        .filter(|l| l.kind == DiffKind::Delete)
        .map(|l| l.text.as_str())
        .collect();
    let inserted: Vec<&str> = lines
        .iter()
        .filter(|l| l.kind == DiffKind::Insert)
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(deleted, vec!["line two\n"]);
    assert_eq!(inserted, vec!["# Title\n", "line 2 (二)\n"]);
    let two = lines.iter().find(|l| l.text == "line two\n").unwrap();
    assert_eq!((two.old_line, two.new_line), (Some(2), None));
    let spans = diff.chars();
    let side = |skip: DiffKind| -> String {
        spans
            .iter()
            .filter(|s| s.kind != skip)
            .map(|s| s.text.as_str())
            .collect()
    };
    assert_eq!(side(DiffKind::Insert), texts[&2]);
    assert_eq!(side(DiffKind::Delete), texts[&3]);
    assert!(
        spans
            .iter()
            .any(|s| s.kind == DiffKind::Insert && s.text.contains('二'))
    );
    let unified = diff.unified(3);
    assert!(unified.contains("--- v2"), "{unified}");
    assert!(unified.contains("+++ v3"), "{unified}");
    assert!(unified.contains("-line two\n"), "{unified}");
    assert!(unified.contains("+line 2 (二)\n"), "{unified}");
    assert!(unified.contains("+# Title\n"), "{unified}");
    // Against the current text, and of a version with itself.
    edit_both(&engine, id, &mut model, Edit::Append("line four\n".into())).await;
    let to_now = engine
        .diff(id, VersionRef::Number(3), VersionRef::Current)
        .await
        .unwrap();
    assert!(to_now.unified(1).contains("+line four\n"));
    assert!(to_now.unified(1).contains("+++ current"));
    let same = engine
        .diff(id, VersionRef::Number(1), VersionRef::Number(1))
        .await
        .unwrap();
    assert!(same.lines().iter().all(|l| l.kind == DiffKind::Equal));
    assert!(matches!(
        engine
            .diff(id, VersionRef::Number(1), VersionRef::Number(99))
            .await,
        Err(EngineError::Store(_))
    ));

    for (n, text) in &texts {
        assert_eq!(
            &engine
                .version_text(id, VersionRef::Number(*n))
                .await
                .unwrap(),
            text,
            "v{n}"
        );
    }

    // Restore v2: the text is v2's, the state before it is kept, history grows.
    let before_restore = model.clone();
    let listed_before = engine.versions(id).await.unwrap();
    let restored = engine.restore_version(id, 2).await.unwrap();
    model = texts[&2].clone();
    assert_eq!(engine.text(id).await.unwrap(), model);
    let listed = engine.versions(id).await.unwrap();
    assert_eq!(
        listed[..listed_before.len()],
        listed_before[..],
        "old versions unchanged"
    );
    assert_eq!(listed.len(), listed_before.len() + 2, "{listed:?}");
    let kept = &listed[listed_before.len()];
    assert_eq!(kept.kind, VersionKind::Auto);
    texts.insert(kept.number, before_restore.clone());
    let last = listed.last().unwrap();
    assert_eq!(last.number, restored);
    assert_eq!(last.kind, VersionKind::Restore);
    assert_eq!(last.name.as_deref(), Some("restored v2"));
    texts.insert(restored, model.clone());
    // Restoring a version that does not exist fails and changes nothing.
    assert!(engine.restore_version(id, 999).await.is_err());
    assert_eq!(engine.text(id).await.unwrap(), model);

    // Edit, restore v3, edit, then restore the restore.
    edit_both(
        &engine,
        id,
        &mut model,
        Edit::Append("after restore\n".into()),
    )
    .await;
    let pre = model.clone();
    let r2 = engine.restore_version(id, 3).await.unwrap();
    model = texts[&3].clone();
    assert_eq!(engine.text(id).await.unwrap(), model);
    let listed = engine.versions(id).await.unwrap();
    assert_eq!(listed.last().unwrap().number, r2);
    texts.insert(r2 - 1, pre);
    texts.insert(r2, model.clone());
    edit_both(&engine, id, &mut model, Edit::Delete { at: 0, len: 2 }).await;
    let pre = model.clone();
    let r3 = engine.restore_version(id, restored).await.unwrap();
    model = texts[&2].clone();
    assert_eq!(engine.text(id).await.unwrap(), model);
    texts.insert(r3 - 1, pre);
    texts.insert(r3, model.clone());
    // Restoring the version that equals the current text adds only the restore record.
    let n = engine.versions(id).await.unwrap().len();
    let r4 = engine.restore_version(id, r3).await.unwrap();
    assert_eq!(engine.text(id).await.unwrap(), model);
    assert_eq!(engine.versions(id).await.unwrap().len(), n + 1);
    texts.insert(r4, model.clone());

    let listed = engine.versions(id).await.unwrap();
    let numbers: Vec<i64> = listed.iter().map(|v| v.number).collect();
    assert_eq!(numbers, (1..=listed.len() as i64).collect::<Vec<_>>());
    assert_eq!(numbers, texts.keys().copied().collect::<Vec<_>>());
    for (n, text) in &texts {
        assert_eq!(
            &engine
                .version_text(id, VersionRef::Number(*n))
                .await
                .unwrap(),
            text,
            "v{n}"
        );
        assert_eq!(listed[*n as usize - 1].chars, text.chars().count() as i64);
    }
    shut(engine).await;

    // Reopened, history reads the same.
    let engine = open(&config).await;
    assert_eq!(engine.text(id).await.unwrap(), model);
    assert_eq!(engine.versions(id).await.unwrap(), listed);
    for (n, text) in &texts {
        assert_eq!(
            &engine
                .version_text(id, VersionRef::Number(*n))
                .await
                .unwrap(),
            text,
            "v{n} after reopen"
        );
    }
    // And new versions after a reopen patch against the right base.
    edit_both(&engine, id, &mut model, Edit::Append("reopened\n".into())).await;
    let after = engine
        .create_version(id, Some("after reopen"))
        .await
        .unwrap();
    assert_eq!(
        engine
            .version_text(id, VersionRef::Number(after))
            .await
            .unwrap(),
        model
    );
    let again = engine.restore_version(id, 1).await.unwrap();
    assert_eq!(engine.text(id).await.unwrap(), texts[&1]);
    assert_eq!(
        engine
            .version_text(id, VersionRef::Number(again))
            .await
            .unwrap(),
        texts[&1]
    );
    shut(engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_version_every_n_edits() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = quiet_config(dir.path());
    config.checkpoint_every_edits = 10;
    config.checkpoint_min_interval = Duration::ZERO;
    let engine = open(&config).await;
    let mut events = engine.subscribe();
    let mut model = String::new();
    let id = engine.create("Counted", "").await.unwrap();
    let mut expected = vec![String::new()];
    for i in 1..=35 {
        edit_both(&engine, id, &mut model, Edit::Append(format!("{i}·"))).await;
        if i % 10 == 0 {
            expected.push(model.clone());
        }
    }
    let versions = engine.versions(id).await.unwrap();
    assert_eq!(versions.len(), expected.len(), "{versions:?}");
    for (v, text) in versions.iter().zip(&expected) {
        assert_eq!(v.kind, VersionKind::Auto);
        assert_eq!(
            &engine
                .version_text(id, VersionRef::Number(v.number))
                .await
                .unwrap(),
            text
        );
    }
    let mut announced = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let EngineEvent::VersionCreated { id: doc, number } = event {
            assert_eq!(doc, id);
            announced.push(number);
        }
    }
    assert_eq!(announced, vec![2, 3, 4]);
    shut(engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_version_after_a_pause() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = quiet_config(dir.path());
    config.checkpoint_after_idle = Duration::from_millis(200);
    let engine = open(&config).await;
    let id = engine.create("Idle", "start\n").await.unwrap();
    assert_eq!(engine.versions(id).await.unwrap().len(), 1);
    engine
        .edit(id, Edit::Append("typed, then a pause\n".into()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let versions = engine.versions(id).await.unwrap();
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(versions[1].kind, VersionKind::Auto);
    assert_eq!(
        engine
            .version_text(id, VersionRef::Number(2))
            .await
            .unwrap(),
        "start\ntyped, then a pause\n"
    );
    // No edits, no more versions.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(engine.versions(id).await.unwrap().len(), 2);
    shut(engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_update_log_is_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = quiet_config(dir.path());
    config.compact_after_updates = 50;
    let engine = open(&config).await;
    let id = engine.create("Busy log", "").await.unwrap();
    let mut model = String::new();
    let mut receipts = Vec::new();
    for i in 0..500usize {
        let len = model.chars().count();
        let edit = match i % 5 {
            0 | 1 => Edit::Append(format!("{i}ü ")),
            2 => Edit::Insert {
                at: len / 2,
                text: "中😀".into(),
            },
            3 if len > 4 => Edit::Delete {
                at: len / 3,
                len: 2,
            },
            _ => Edit::Insert {
                at: 0,
                text: "ß".into(),
            },
        };
        apply_to_model(&mut model, &edit);
        receipts.push(engine.submit_edit(id, edit).unwrap());
    }
    for receipt in receipts {
        receipt.saved().await.unwrap();
    }
    assert_eq!(engine.text(id).await.unwrap(), model);
    shut(engine).await;

    let rows = rows_in(
        dir.path(),
        "SELECT count(*) FROM updates WHERE doc = (SELECT rowid FROM documents WHERE id = ?1)",
        id,
    );
    assert!(rows < 50, "{rows} updates left in the log");
    let snapshots = rows_in(
        dir.path(),
        "SELECT count(*) FROM snapshots WHERE doc = (SELECT rowid FROM documents WHERE id = ?1)",
        id,
    );
    assert_eq!(snapshots, 1);

    let engine = open(&config).await;
    assert_eq!(engine.text(id).await.unwrap(), model);
    // Editing continues after a compacted reload (sequence numbers carry on).
    for i in 0..60 {
        edit_both(&engine, id, &mut model, Edit::Append(format!("[{i}]"))).await;
    }
    shut(engine).await;
    let engine = open(&config).await;
    assert_eq!(engine.text(id).await.unwrap(), model);
    engine.integrity_check().await.unwrap();
    shut(engine).await;
}
