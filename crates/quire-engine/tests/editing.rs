#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Editing through the engine on real SQLite files: character positions with
//! emoji and CJK text, durability across close and reopen, the data-folder lock, and
//! edits in flight when the engine goes away.

#[path = "support/engine_support.rs"]
mod support;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_with_emoji_and_cjk_survive_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config = quiet_config(dir.path());
    let engine = open(&config).await;
    let title = "Reise 旅行 ✈️";
    let id = engine.create(title, "# Trip\n").await.unwrap();
    let mut model = String::from("# Trip\n");
    assert_eq!(engine.text(id).await.unwrap(), model);

    edit_both(
        &engine,
        id,
        &mut model,
        Edit::Append("Day 1: 東京 🗼 then 京都 🏯\n".into()),
    )
    .await;
    // "# 😀 Trip": the emoji is one character although it is two UTF-16 units.
    edit_both(
        &engine,
        id,
        &mut model,
        Edit::Insert {
            at: 2,
            text: "😀 ".into(),
        },
    )
    .await;
    // Right after the emoji: would split its surrogate pair if positions were UTF-16.
    edit_both(
        &engine,
        id,
        &mut model,
        Edit::Insert {
            at: 3,
            text: "!".into(),
        },
    )
    .await;
    assert!(model.starts_with("# 😀! Trip\n"), "{model}");
    // Delete the tower and the space after it.
    let tower = char_pos(&model, '🗼');
    edit_both(&engine, id, &mut model, Edit::Delete { at: tower, len: 2 }).await;
    assert!(model.contains("東京 then"), "{model}");
    // Delete a CJK character in the middle of a word.
    let kyo = char_pos(&model, '都');
    edit_both(&engine, id, &mut model, Edit::Delete { at: kyo, len: 1 }).await;
    // Insert after the last emoji, at the very end and at 0.
    let castle = char_pos(&model, '🏯');
    edit_both(
        &engine,
        id,
        &mut model,
        Edit::Insert {
            at: castle + 1,
            text: "🎎".into(),
        },
    )
    .await;
    let end = model.chars().count();
    edit_both(
        &engine,
        id,
        &mut model,
        Edit::Insert {
            at: end,
            text: "Ende.".into(),
        },
    )
    .await;
    edit_both(
        &engine,
        id,
        &mut model,
        Edit::Insert {
            at: 0,
            text: "前\n".into(),
        },
    )
    .await;
    let replaced = model
        .replace("Day 1", "第一日 🌅")
        .replace("then", "und dann");
    edit_both(&engine, id, &mut model, Edit::Replace(replaced)).await;

    // Out of range edits fail and change nothing.
    let len = model.chars().count();
    for bad in [
        Edit::Insert {
            at: len + 1,
            text: "x".into(),
        },
        Edit::Delete {
            at: len - 1,
            len: 2,
        },
        Edit::Delete {
            at: usize::MAX,
            len: 2,
        },
    ] {
        let err = engine.edit(id, bad.clone()).await.unwrap_err();
        assert!(
            matches!(err, EngineError::Doc(DocError::OutOfRange { .. })),
            "{bad:?} gave {err:?}"
        );
        assert_eq!(engine.text(id).await.unwrap(), model);
    }
    // An edit that changes nothing is fine.
    engine
        .edit(
            id,
            Edit::Insert {
                at: 1,
                text: String::new(),
            },
        )
        .await
        .unwrap();

    let info = engine.info(id).await.unwrap();
    assert_eq!(info.title, title);
    assert_eq!(info.chars, model.chars().count() as i64);
    engine
        .create_version(id, Some("before closing"))
        .await
        .unwrap();
    engine.close().await.unwrap();
    let versions = engine.versions(id).await.unwrap();
    assert!(
        versions
            .iter()
            .any(|v| v.name.as_deref() == Some("before closing"))
    );
    drop(engine);

    let engine = open(&config).await;
    assert_eq!(engine.text(id).await.unwrap(), model);
    let info = engine.info(id).await.unwrap();
    assert_eq!(info.title, title);
    assert_eq!(info.chars, model.chars().count() as i64);
    assert_eq!(engine.versions(id).await.unwrap(), versions);
    assert_eq!(ids(&engine.list().await.unwrap()), vec![id]);

    // Character positions still hold after a reload (the document no longer knows
    // whether it holds emoji and must find out).
    let castle = char_pos(&model, '🏯');
    edit_both(
        &engine,
        id,
        &mut model,
        Edit::Insert {
            at: castle + 1,
            text: "|".into(),
        },
    )
    .await;
    let doll = char_pos(&model, '🎎');
    edit_both(&engine, id, &mut model, Edit::Delete { at: doll, len: 1 }).await;
    edit_both(&engine, id, &mut model, Edit::Append("🦀".into())).await;
    shut(engine).await;

    let engine = open(&config).await;
    assert_holds(&engine, id, &model).await;
    shut(engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_engine_on_the_same_folder_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let config = quiet_config(dir.path());
    let first = open(&config).await;
    match Engine::open(config.clone()).await {
        Err(EngineError::Busy(path)) => assert_eq!(path, config.data_dir),
        other => panic!("expected Busy, got {other:?}"),
    }
    // The first engine is unaffected.
    let id = first.create("mine", "still works").await.unwrap();
    match Engine::open(config.clone()).await {
        Err(EngineError::Busy(_)) => {}
        other => panic!("expected Busy, got {other:?}"),
    }
    shut(first).await;
    let second = open(&config).await;
    assert_eq!(second.text(id).await.unwrap(), "still works");
    shut(second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_edits_in_flight_are_all_saved_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = quiet_config(dir.path());
    config.compact_after_updates = 3000;
    let engine = open(&config).await;
    let id = engine.create("Firehose", "").await.unwrap();
    let mut model = String::new();
    let mut receipts = Vec::new();
    for i in 0..20_000 {
        let piece = if i % 7 == 0 {
            format!("{i}漢")
        } else {
            format!("{i},")
        };
        model.push_str(&piece);
        receipts.push(engine.submit_edit(id, Edit::Append(piece)).unwrap());
    }
    // Awaited newest first: each resolves once it (and everything before it) is durable.
    for receipt in receipts.into_iter().rev() {
        receipt.saved().await.unwrap();
    }
    assert_eq!(engine.text(id).await.unwrap(), model);
    shut(engine).await;
    let engine = open(&config).await;
    assert_holds(&engine, id, &model).await;
    shut(engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_submitted_just_before_the_engine_is_dropped_are_saved() {
    let dir = tempfile::tempdir().unwrap();
    let config = quiet_config(dir.path());
    let engine = open(&config).await;
    let id = engine.create("Quit", "").await.unwrap();
    let mut receipts = Vec::new();
    let mut model = String::new();
    for i in 0..300 {
        let piece = format!("[{i}]");
        model.push_str(&piece);
        receipts.push(engine.submit_edit(id, Edit::Append(piece)).unwrap());
    }
    // No close: the app quits with edits still queued.
    drop(engine);
    for receipt in receipts {
        receipt.saved().await.unwrap();
    }
    let engine = open(&config).await;
    assert_eq!(engine.text(id).await.unwrap(), model);
    shut(engine).await;
}
