#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! The catalogue of documents on real SQLite files: rename, list order, trash,
//! restore and purge, resolving references, Markdown import and export, search.

#[path = "support/engine_support.rs"]
mod support;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_list_order_trash_restore_and_purge() {
    let dir = tempfile::tempdir().unwrap();
    let config = quiet_config(dir.path());
    let engine = open(&config).await;
    let pause = || tokio::time::sleep(Duration::from_millis(5));

    let a = engine.create("Alpha", "alpha body\n").await.unwrap();
    pause().await;
    let b = engine.create("Beta", "beta body\n").await.unwrap();
    pause().await;
    let c = engine
        .create("Gamma", "gamma body ganymede\n")
        .await
        .unwrap();
    assert_eq!(ids(&engine.list().await.unwrap()), vec![c, b, a]);
    assert!(engine.trash().await.unwrap().is_empty());

    pause().await;
    engine.edit(a, Edit::Append("more\n".into())).await.unwrap();
    assert_eq!(ids(&engine.list().await.unwrap()), vec![a, c, b]);

    pause().await;
    engine.rename(b, "Beta – 改名 ✓").await.unwrap();
    let list = engine.list().await.unwrap();
    assert_eq!(ids(&list), vec![b, a, c]);
    assert_eq!(list[0].title, "Beta – 改名 ✓");
    assert_eq!(engine.resolve("beta – 改名 ✓").await.unwrap(), b);
    assert!(matches!(
        engine.resolve("Beta").await,
        Err(EngineError::NoSuchDocument(_))
    ));

    // To the trash.
    engine.delete(c).await.unwrap();
    assert_eq!(ids(&engine.list().await.unwrap()), vec![b, a]);
    let trash = engine.trash().await.unwrap();
    assert_eq!(ids(&trash), vec![c]);
    assert!(trash[0].deleted_at.is_some());
    assert!(engine.search("ganymede", 10).await.unwrap().is_empty());
    // A trashed document can be read but not changed.
    assert_eq!(engine.text(c).await.unwrap(), "gamma body ganymede\n");
    let in_trash = |r: Result<_, EngineError>| match r {
        Err(EngineError::InTrash(s)) => assert_eq!(s, c.to_string()),
        other => panic!("expected InTrash, got {other:?}"),
    };
    in_trash(engine.edit(c, Edit::Append("no".into())).await);
    in_trash(
        engine
            .submit_edit(
                c,
                Edit::Insert {
                    at: 0,
                    text: "no".into(),
                },
            )
            .map(|_| ()),
    );
    in_trash(engine.rename(c, "nope").await);
    in_trash(engine.restore_version(c, 1).await.map(|_| ()));
    assert_eq!(engine.text(c).await.unwrap(), "gamma body ganymede\n");
    assert_eq!(engine.info(c).await.unwrap().title, "Gamma");

    // Purge takes only from the trash.
    match engine.purge(a).await {
        Err(EngineError::NotInTrash(s)) => assert_eq!(s, a.to_string()),
        other => panic!("expected NotInTrash, got {other:?}"),
    }
    assert_eq!(engine.text(a).await.unwrap(), "alpha body\nmore\n");
    assert_eq!(ids(&engine.list().await.unwrap()), vec![b, a]);

    // Back from the trash: listed, editable, searchable.
    engine.restore(c).await.unwrap();
    assert!(engine.trash().await.unwrap().is_empty());
    assert!(ids(&engine.list().await.unwrap()).contains(&c));
    assert_eq!(engine.info(c).await.unwrap().deleted_at, None);
    engine.edit(c, Edit::Append("back\n".into())).await.unwrap();
    assert_eq!(engine.text(c).await.unwrap(), "gamma body ganymede\nback\n");
    assert_eq!(
        ids_of(&engine.search("ganymede", 10).await.unwrap()).len(),
        1
    );

    // Trash again, then purge for good.
    engine.delete(c).await.unwrap();
    engine.purge(c).await.unwrap();
    assert!(!ids(&engine.list().await.unwrap()).contains(&c));
    assert!(engine.trash().await.unwrap().is_empty());
    assert!(matches!(
        engine.resolve("Gamma").await,
        Err(EngineError::NoSuchDocument(_))
    ));
    assert!(matches!(
        engine.resolve(&c.to_string()[..10]).await,
        Err(EngineError::NoSuchDocument(_))
    ));
    assert!(
        engine.resolve(&c.to_string()).await.is_err(),
        "the whole id of a purged document still resolves"
    );
    assert!(engine.text(c).await.is_err());
    assert!(engine.info(c).await.is_err());
    assert!(engine.versions(c).await.is_err());
    assert!(engine.search("ganymede", 10).await.unwrap().is_empty());
    assert!(engine.purge(c).await.is_err());
    assert!(engine.edit(c, Edit::Append("x".into())).await.is_err());
    assert_eq!(ids(&engine.list().await.unwrap()), vec![b, a]);
    shut(engine).await;

    // All of it is durable.
    let engine = open(&config).await;
    assert_eq!(ids(&engine.list().await.unwrap()), vec![b, a]);
    assert!(engine.trash().await.unwrap().is_empty());
    assert!(engine.text(c).await.is_err());
    assert_eq!(engine.info(b).await.unwrap().title, "Beta – 改名 ✓");
    assert_eq!(engine.text(a).await.unwrap(), "alpha body\nmore\n");
    engine.integrity_check().await.unwrap();
    shut(engine).await;
    // Nothing of the purged document is left in the file.
    for table in ["updates", "versions", "snapshots"] {
        let sql =
            format!("SELECT count(*) FROM {table} WHERE doc NOT IN (SELECT rowid FROM documents)");
        assert_eq!(count(dir.path(), &sql), 0, "orphan rows in {table}");
    }
    let c_text = count(
        dir.path(),
        "SELECT count(*) FROM search_text WHERE body LIKE '%ganymede%'",
    );
    assert_eq!(c_text, 0, "the purged body is still in the search index");
    let c_terms = count(
        dir.path(),
        "SELECT count(*) FROM search_index WHERE search_index MATCH 'ganymede'",
    );
    assert_eq!(
        c_terms, 0,
        "the purged body's words are still in the search index"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_by_id_prefix_and_title() {
    let dir = tempfile::tempdir().unwrap();
    let config = quiet_config(dir.path());
    // Two documents whose ids share their first 16 characters (10 bytes), written with
    // the store directly since random ids practically never share a prefix.
    let mut twin_a = [7u8; 32];
    let mut twin_b = [7u8; 32];
    twin_a[12] = 1;
    twin_b[12] = 2;
    let (twin_a, twin_b) = (
        DocumentId::from_bytes(twin_a),
        DocumentId::from_bytes(twin_b),
    );
    // Made private as Quire makes its own folders: a folder that other users can
    // read is refused once it holds a database.
    #[cfg(unix)]
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    {
        let store = Store::open(&config.database_path()).unwrap();
        for (id, title) in [(twin_a, "Twin A"), (twin_b, "Twin B")] {
            let mut doc = Document::new();
            doc.set_title(title).unwrap();
            doc.insert(0, title).unwrap();
            store
                .write(ops::create_document(
                    id,
                    title.into(),
                    now_ms(),
                    doc.len_chars(),
                    doc.encode_state().unwrap(),
                ))
                .unwrap();
        }
    }
    let (sa, sb) = (twin_a.to_string(), twin_b.to_string());
    assert_eq!(sa[..16], sb[..16]);
    assert_ne!(sa[..24], sb[..24]);

    let engine = open(&config).await;
    let notes = engine.create("Notes", "n").await.unwrap();
    let dup1 = engine.create("Dup", "one").await.unwrap();
    let dup2 = engine.create("dup", "two").await.unwrap();

    // Whole id, unique prefixes, exact titles ignoring case.
    assert_eq!(engine.resolve(&notes.to_string()).await.unwrap(), notes);
    assert_eq!(
        engine.resolve(&notes.to_string()[..8]).await.unwrap(),
        notes
    );
    assert_eq!(
        engine
            .resolve(&notes.to_string()[..8].to_ascii_uppercase())
            .await
            .unwrap(),
        notes
    );
    assert_eq!(engine.resolve("Notes").await.unwrap(), notes);
    assert_eq!(engine.resolve("NOTES").await.unwrap(), notes);
    assert_eq!(engine.resolve(&sa[..24]).await.unwrap(), twin_a);
    assert_eq!(engine.resolve(&sb[..24]).await.unwrap(), twin_b);
    assert_eq!(engine.resolve("twin a").await.unwrap(), twin_a);
    assert_eq!(engine.text(twin_b).await.unwrap(), "Twin B");

    // Too short to be a prefix, unknown, ambiguous.
    assert!(matches!(
        engine.resolve(&notes.to_string()[..3]).await,
        Err(EngineError::NoSuchDocument(_))
    ));
    assert!(matches!(
        engine.resolve("no such thing").await,
        Err(EngineError::NoSuchDocument(_))
    ));
    for needle in [&sa[..4], &sa[..16]] {
        match engine.resolve(needle).await {
            Err(EngineError::Ambiguous {
                needle: n,
                candidates,
            }) => {
                assert_eq!(n, needle);
                assert_eq!(candidates.len(), 2, "{candidates:?}");
                assert!(candidates.iter().any(|c| sa.starts_with(c.as_str())));
                assert!(candidates.iter().any(|c| sb.starts_with(c.as_str())));
            }
            other => panic!("expected Ambiguous for {needle}, got {other:?}"),
        }
    }
    match engine.resolve("DUP").await {
        Err(EngineError::Ambiguous { candidates, .. }) => {
            let (s1, s2) = (dup1.to_string(), dup2.to_string());
            assert_eq!(candidates.len(), 2);
            assert!(candidates.iter().any(|c| s1.starts_with(c.as_str())));
            assert!(candidates.iter().any(|c| s2.starts_with(c.as_str())));
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    // A live document wins over a trashed one with the same title.
    engine.delete(dup1).await.unwrap();
    assert_eq!(engine.resolve("Dup").await.unwrap(), dup2);
    shut(engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_and_export_markdown_files() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let config = quiet_config(dir.path());
    let engine = open(&config).await;

    let content = "Intro line\n\n# Plan für 2025 📅\n\n- 漢字 lernen\n- write `code`\n";
    let source = files.path().join("plan.md");
    std::fs::write(&source, content).unwrap();
    let id = engine.import_markdown(&source).await.unwrap();
    assert_eq!(engine.info(id).await.unwrap().title, "Plan für 2025 📅");
    assert_eq!(engine.text(id).await.unwrap(), content);
    assert_eq!(engine.resolve("plan für 2025 📅").await.unwrap(), id);

    let out = files.path().join("out.md");
    engine.export_markdown(id, &out).await.unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), content.as_bytes());

    // Export replaces an existing file with the current text.
    engine
        .edit(id, Edit::Append("- 🎉 done\n".into()))
        .await
        .unwrap();
    engine.export_markdown(id, &out).await.unwrap();
    assert_eq!(
        std::fs::read(&out).unwrap(),
        format!("{content}- 🎉 done\n").as_bytes()
    );
    let leftovers: Vec<_> = std::fs::read_dir(files.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("quire-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Without a heading the file name is the title; a BOM and CRLF are file artefacts.
    let plain = files.path().join("shopping list.md");
    std::fs::write(&plain, "\u{feff}milk\r\neggs\r\n").unwrap();
    let plain_id = engine.import_markdown(&plain).await.unwrap();
    assert_eq!(engine.info(plain_id).await.unwrap().title, "shopping list");
    assert_eq!(engine.text(plain_id).await.unwrap(), "milk\neggs\n");

    // Not UTF-8: refused with the offset of the first bad byte, nothing created.
    let before = ids(&engine.list().await.unwrap());
    let latin1 = files.path().join("latin1.md");
    let mut bytes = "# Caf".as_bytes().to_vec();
    bytes.push(0xE9); // 'é' in Latin-1
    bytes.extend_from_slice(b" au lait\n");
    std::fs::write(&latin1, &bytes).unwrap();
    match engine.import_markdown(&latin1).await {
        Err(EngineError::NotUtf8 { path, offset }) => {
            assert_eq!(path, latin1);
            assert_eq!(offset, 5);
        }
        other => panic!("expected NotUtf8, got {other:?}"),
    }
    let later = files.path().join("later.md");
    std::fs::write(
        &later,
        [b"ok \xF0\x9F\x98\x80 then ".as_slice(), &[0xFF, 0xFE]].concat(),
    )
    .unwrap();
    match engine.import_markdown(&later).await {
        Err(EngineError::NotUtf8 { offset, .. }) => assert_eq!(offset, 13),
        other => panic!("expected NotUtf8, got {other:?}"),
    }
    assert!(matches!(
        engine
            .import_markdown(&files.path().join("missing.md"))
            .await,
        Err(EngineError::Io { .. })
    ));
    assert_eq!(ids(&engine.list().await.unwrap()), before);
    shut(engine).await;

    let engine = open(&config).await;
    assert_eq!(ids(&engine.list().await.unwrap()), before);
    assert_eq!(
        engine.text(id).await.unwrap(),
        format!("{content}- 🎉 done\n")
    );
    shut(engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_ranks_highlights_and_follows_edits() {
    let dir = tempfile::tempdir().unwrap();
    let config = quiet_config(dir.path());
    let engine = open(&config).await;

    let kettle_title = engine
        .create("Kettle descaling", "Use vinegar and water, then rinse.\n")
        .await
        .unwrap();
    let kettle_body = engine
        .create("Kitchen notes", "The kettle is by the window.\n")
        .await
        .unwrap();
    let zebra_many = engine
        .create(
            "Field notes one",
            "zebra zebra zebra zebra zebra grass river tree sky\n",
        )
        .await
        .unwrap();
    let zebra_once = engine
        .create(
            "Field notes two",
            "zebra lion grass river tree sky cloud hill rock\n",
        )
        .await
        .unwrap();
    let collab = engine
        .create(
            "Team",
            "Notes on 🎉 teamwork: 协作 and collaboration across time zones.\n",
        )
        .await
        .unwrap();
    let quokka = engine
        .create("Animals", "The quokka smiles.\n")
        .await
        .unwrap();

    // A title match outranks a body match.
    let hits = engine.search("kettle", 10).await.unwrap();
    assert_eq!(ids_of(&hits), vec![kettle_title, kettle_body]);
    assert!(hits[0].score > hits[1].score);
    assert_eq!(hits[0].title, "Kettle descaling");
    check_highlights(&hits[1], "kettle");

    // Many mentions outrank one.
    let hits = engine.search("zebra", 10).await.unwrap();
    assert_eq!(ids_of(&hits), vec![zebra_many, zebra_once]);
    for hit in &hits {
        check_highlights(hit, "zebra");
    }

    // Prefix search while typing; the whole word is highlighted, in a snippet that holds
    // multi-byte text before the match.
    for typed in ["collab", "Collabo", "collaboration"] {
        let hits = engine.search(typed, 10).await.unwrap();
        assert_eq!(ids_of(&hits), vec![collab], "{typed}");
        check_highlights(&hits[0], "collaboration");
        assert!(hits[0].snippet.contains("🎉"), "{:?}", hits[0].snippet);
    }
    assert!(engine.search("collabz", 10).await.unwrap().is_empty());
    // Every word must match.
    assert_eq!(
        ids_of(&engine.search("kettle window", 10).await.unwrap()),
        vec![kettle_body]
    );
    // Query syntax is text, not operators.
    assert!(engine.search("  -- \"", 10).await.unwrap().is_empty());
    assert!(
        engine
            .search("kettle OR zebra", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(engine.search("notes", 10).await.unwrap().len(), 4);
    assert_eq!(engine.search("notes", 2).await.unwrap().len(), 2);

    // Trashed documents are not found; restored ones are again.
    assert_eq!(
        ids_of(&engine.search("quokka", 10).await.unwrap()),
        vec![quokka]
    );
    engine.delete(quokka).await.unwrap();
    assert!(engine.search("quokka", 10).await.unwrap().is_empty());
    assert!(engine.search("smiles", 10).await.unwrap().is_empty());
    engine.restore(quokka).await.unwrap();
    assert_eq!(
        ids_of(&engine.search("quokka", 10).await.unwrap()),
        vec![quokka]
    );

    // An edit is searchable as soon as `edit` returns (idle indexing is an hour away).
    engine
        .edit(
            kettle_body,
            Edit::Append("Remember the xylophone.\n".into()),
        )
        .await
        .unwrap();
    let hits = engine.search("xylophone", 10).await.unwrap();
    assert_eq!(ids_of(&hits), vec![kettle_body]);
    check_highlights(&hits[0], "xylophone");
    // ...and a removed word stops matching.
    let text = engine.text(kettle_body).await.unwrap();
    engine
        .edit(
            kettle_body,
            Edit::Replace(text.replace("xylophone", "piano")),
        )
        .await
        .unwrap();
    assert!(engine.search("xylophone", 10).await.unwrap().is_empty());
    assert_eq!(
        ids_of(&engine.search("piano", 10).await.unwrap()),
        vec![kettle_body]
    );
    // A rename is searchable too.
    engine.rename(quokka, "Marsupials").await.unwrap();
    assert_eq!(
        ids_of(&engine.search("marsup", 10).await.unwrap()),
        vec![quokka]
    );

    // The index survives a reopen.
    shut(engine).await;
    let engine = open(&config).await;
    assert_eq!(
        ids_of(&engine.search("piano", 10).await.unwrap()),
        vec![kettle_body]
    );
    assert_eq!(
        ids_of(&engine.search("kettle", 10).await.unwrap()),
        vec![kettle_title, kettle_body]
    );
    shut(engine).await;
}

fn ids_of(hits: &[quire_engine::SearchHit]) -> Vec<DocumentId> {
    hits.iter().map(|h| h.id).collect()
}

/// The snippet contains `word` and every highlight range covers exactly it.
fn check_highlights(hit: &quire_engine::SearchHit, word: &str) {
    assert!(
        hit.snippet.to_lowercase().contains(word),
        "snippet {:?} lacks {word}",
        hit.snippet
    );
    assert!(
        !hit.highlights.is_empty(),
        "no highlights in {:?}",
        hit.snippet
    );
    for range in &hit.highlights {
        let marked = hit
            .snippet
            .get(range.clone())
            .unwrap_or_else(|| panic!("{range:?} is not a valid range of {:?}", hit.snippet));
        assert!(
            marked.eq_ignore_ascii_case(word),
            "highlight {range:?} is {marked:?}, not {word:?}, in {:?}",
            hit.snippet
        );
    }
}
