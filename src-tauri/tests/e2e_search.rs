//! End to end, the filter row: the real app (Xvfb, WebDriver) over a data folder
//! holding a local note, one shared from here, one joined read-only and one joined
//! with write access from another device, one changed two days ago, one ten days
//! ago, one in the trash, and one in Japanese with an emoji. Each filter and each
//! order changes the list as the engine says, with and without a query, and a CJK
//! query marks exactly the matched characters. Screenshots go to `target/e2e/`.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use quire_engine::{Engine, EngineConfig, Origin, Role};
use serde_json::Value;
use support::{Driver, Session};

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;
/// The Japanese note's body: an emoji (two UTF-16 units, four bytes) before the
/// matches, so a byte offset sent as a character offset marks the wrong characters.
const CJK_BODY: &str = "🎉 旅の記録: 東京で寿司を食べた。寿司はおいしい。";
const CJK_TITLE: &str = "寿司 notes";

/// Fills `dir` (the app's data folder) with the documents above, `other` being the
/// other device's. Every body but the Japanese one mentions "garden". Times of last
/// change are set afterwards so the orders are fixed.
fn fill_data_folder(dir: &Path, other: &Path) {
    tauri::async_runtime::block_on(async {
        let here = Engine::open(EngineConfig::new(dir)).await.unwrap();
        let there = Engine::open(EngineConfig::new(other)).await.unwrap();
        let joined = |title: &'static str, body: &'static str, role: Role| {
            let (here, there) = (here.clone(), there.clone());
            async move {
                let theirs = there.create(title, body).await.unwrap();
                let link = there.share(theirs, role, Vec::new()).await.unwrap();
                let id = here.join(&link.to_link()).await.unwrap();
                // What a peer would send on connecting: their whole document.
                let state = there.encode_state(theirs).await.unwrap();
                here.apply_update(id, &state, Origin::Peer("other-device".into()))
                    .await
                    .unwrap();
            }
        };
        joined("Cherry", "their garden, read only", Role::Read).await;
        joined("Damson", "their garden, writable", Role::Write).await;
        let apple = here
            .create("Apple", "the shared garden plan")
            .await
            .unwrap();
        here.share(apple, Role::Write, Vec::new()).await.unwrap();
        here.create("Banana", "a local garden note").await.unwrap();
        here.create("Fig", "an old garden").await.unwrap();
        here.create(CJK_TITLE, CJK_BODY).await.unwrap();
        let elder = here.create("Elder", "a trashed garden").await.unwrap();
        here.delete(elder).await.unwrap();
        here.close().await.unwrap();
        there.close().await.unwrap();
    });
    let now = quire_engine::now_ms();
    let db = rusqlite::Connection::open(dir.join("quire.db")).unwrap();
    for (title, age) in [
        (CJK_TITLE, MINUTE),
        ("Banana", 2 * MINUTE),
        ("Apple", 3 * MINUTE),
        ("Cherry", 4 * MINUTE),
        ("Elder", 5 * MINUTE),
        ("Damson", 2 * DAY),
        ("Fig", 10 * DAY),
    ] {
        let changed = db
            .execute(
                "UPDATE documents SET updated_at = ?1 WHERE title = ?2",
                rusqlite::params![now - age, title],
            )
            .unwrap();
        assert_eq!(changed, 1, "the fixture holds one {title:?}");
    }
}

/// The titles the list shows, top to bottom: of search results (rows with a
/// snippet) when `hits`, else of plain rows.
fn listed(session: &Session, hits: bool) -> Vec<String> {
    let rows = if hits { ".hit" } else { ":not(.hit)" };
    let value = session.script(&format!(
        "return [...document.querySelectorAll('.doc-list .doc-item{rows} .doc-title')].map(t => t.textContent);"
    ));
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

/// Waits until the list shows `expected` (in that order when `ordered`), as search
/// results when `what` names a search ("searching …"), else as plain rows.
fn wait_for_list(session: &Session, what: &str, expected: &[&str], ordered: bool) {
    let hits = what.contains("searching");
    let normal = |mut v: Vec<String>| {
        if !ordered {
            v.sort();
        }
        v
    };
    let expected = normal(expected.iter().map(|s| s.to_string()).collect());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let shown = normal(listed(session, hits));
        if shown == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the list shows {shown:?}, not {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Chooses `value` in the filter row's select labelled `label`, as a person would
/// (the change event the keyboard or the mouse gives).
fn choose(session: &Session, label: &str, value: &str) {
    let script = format!(
        "const s = document.querySelector('.filter-row select[aria-label={label:?}]'); if (!s || s.disabled) return false; s.value = {value:?}; s.dispatchEvent(new Event('change', {{bubbles: true}})); return s.value === {value:?};"
    );
    session.wait_for(&format!("the {label} filter"), &script);
}

fn set_in_trash(session: &Session, on: bool) {
    let script = format!(
        "const c = [...document.querySelectorAll('.filter-row input[type=checkbox]')].find(c => c.closest('label').textContent.trim() === 'In trash'); if (!c) return false; if (c.checked !== {on}) c.click(); return c.checked === {on};"
    );
    session.wait_for("the In trash checkbox", &script);
}

/// One filter setting and what the list shows under it, with and without the query.
struct Case {
    set: &'static [(&'static str, &'static str)],
    trash: bool,
    plain: &'static [&'static str],
    searched: &'static [&'static str],
    /// Whether the order of the list is part of what is checked.
    ordered: bool,
}

const NEWEST_FIRST: &[&str] = &["寿司 notes", "Banana", "Apple", "Cherry", "Damson", "Fig"];
const GARDENS_NEWEST_FIRST: &[&str] = &["Banana", "Apple", "Cherry", "Damson", "Fig"];

const CASES: &[Case] = &[
    Case {
        set: &[("Sharing", "shared")],
        trash: false,
        plain: &["Apple", "Cherry", "Damson"],
        searched: &["Apple", "Cherry", "Damson"],
        ordered: false,
    },
    Case {
        set: &[("Sharing", "mine")],
        trash: false,
        plain: &["寿司 notes", "Banana", "Fig"],
        searched: &["Banana", "Fig"],
        ordered: false,
    },
    Case {
        set: &[("Role", "read")],
        trash: false,
        plain: &["Cherry"],
        searched: &["Cherry"],
        ordered: false,
    },
    Case {
        set: &[("Role", "write")],
        trash: false,
        plain: &["Apple", "Damson"],
        searched: &["Apple", "Damson"],
        ordered: false,
    },
    Case {
        set: &[("Changed since", "1d")],
        trash: false,
        plain: &["寿司 notes", "Banana", "Apple", "Cherry"],
        searched: &["Banana", "Apple", "Cherry"],
        ordered: false,
    },
    Case {
        set: &[("Changed since", "7d")],
        trash: false,
        plain: &["寿司 notes", "Banana", "Apple", "Cherry", "Damson"],
        searched: &["Banana", "Apple", "Cherry", "Damson"],
        ordered: false,
    },
    Case {
        set: &[("Changed since", "30d")],
        trash: false,
        plain: NEWEST_FIRST,
        searched: GARDENS_NEWEST_FIRST,
        ordered: false,
    },
    Case {
        set: &[],
        trash: true,
        plain: &["Elder"],
        searched: &["Elder"],
        ordered: false,
    },
    Case {
        set: &[("Sort by", "title")],
        trash: false,
        plain: &["Apple", "Banana", "Cherry", "Damson", "Fig", "寿司 notes"],
        searched: &["Apple", "Banana", "Cherry", "Damson", "Fig"],
        ordered: true,
    },
    Case {
        set: &[("Sort by", "updated")],
        trash: false,
        plain: NEWEST_FIRST,
        searched: GARDENS_NEWEST_FIRST,
        ordered: true,
    },
    Case {
        set: &[("Sharing", "shared"), ("Sort by", "title")],
        trash: false,
        plain: &["Apple", "Cherry", "Damson"],
        searched: &["Apple", "Cherry", "Damson"],
        ordered: true,
    },
];

/// Puts every filter back to "any" and the order to its default.
fn reset_filters(session: &Session) {
    for (label, value) in [
        ("Sharing", "any"),
        ("Role", "any"),
        ("Changed since", "any"),
    ] {
        choose(session, label, value);
    }
    session.script("const s = document.querySelector('.filter-row select[aria-label=\"Sort by\"]'); s.value = 'relevance'; s.dispatchEvent(new Event('change', {bubbles: true})); return true;");
    set_in_trash(session, false);
}

fn search_for(session: &Session, query: &str) {
    session.fill("input.search", query);
}

#[test]
fn each_filter_and_order_changes_the_list_with_and_without_a_query() {
    if !support::tools_present() {
        return;
    }
    let shots = support::shots();
    let (data, other) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fill_data_folder(data.path(), other.path());
    let (display, _xvfb) = support::display();
    let driver = Driver::start(&display, data.path());
    let session = Session::start(driver.port, support::app());
    wait_for_list(&session, "the plain list", NEWEST_FIRST, true);

    for (n, case) in CASES.iter().enumerate() {
        let what = format!("{:?} trash={}", case.set, case.trash);
        for (label, value) in case.set {
            choose(&session, label, value);
        }
        set_in_trash(&session, case.trash);
        wait_for_list(
            &session,
            &format!("{what}, no query"),
            case.plain,
            case.ordered,
        );
        if n == 0 {
            session.screenshot(&shots.join("search-1-filtered.png"));
        }
        search_for(&session, "garden");
        wait_for_list(
            &session,
            &format!("{what}, searching \"garden\""),
            case.searched,
            case.ordered,
        );
        if n == 0 {
            session.screenshot(&shots.join("search-2-filtered-query.png"));
        }
        search_for(&session, "");
        reset_filters(&session);
        wait_for_list(&session, "the plain list again", NEWEST_FIRST, true);
    }

    // Relevance needs a query: offered only with one.
    let relevance_offered = "return !document.querySelector('.filter-row select[aria-label=\"Sort by\"] option[value=relevance]').disabled;";
    assert_eq!(session.script(relevance_offered), Value::Bool(false));
    search_for(&session, "garden");
    wait_for_list(
        &session,
        "searching \"garden\"",
        GARDENS_NEWEST_FIRST,
        false,
    );
    assert_eq!(session.script(relevance_offered), Value::Bool(true));

    // A CJK query after an emoji: exactly the matched characters are marked.
    search_for(&session, "寿司");
    wait_for_list(&session, "searching 寿司", &[CJK_TITLE], true);
    let marks = session.script(
        "return [...document.querySelectorAll('.doc-list .snippet mark')].map(m => m.textContent);",
    );
    assert_eq!(marks, serde_json::json!(["寿司", "寿司"]), "{marks}");
    let snippet =
        session.script("return document.querySelector('.doc-list .snippet').textContent;");
    assert!(
        snippet.as_str().unwrap().contains("🎉"),
        "the emoji is whole: {snippet}"
    );
    session.screenshot(&shots.join("search-3-cjk.png"));

    // Choices the engine does not know are refused with a message naming them.
    for (command, filter, says) in [
        ("search", r#"{"role": "owner"}"#, "\"owner\" is not a role"),
        (
            "list_documents",
            r#"{"since": "7"}"#,
            "changed since 7: the unit",
        ),
        (
            "list_documents",
            r#"{"sort": "newest"}"#,
            "is not a sort order",
        ),
    ] {
        let refused = refusal(&session, command, filter);
        assert!(refused.contains(says), "{command} {filter}: {refused}");
    }
    assert_eq!(listed(&session, true), [CJK_TITLE], "the app carries on");
    session.quit();
}

/// The error `command` answers with `filter` (JSON); panics if it answers at all.
fn refusal(session: &Session, command: &str, filter: &str) -> String {
    let script = format!(
        "const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke({command:?}, {{query: 'garden', filter: {filter}}}).then(v => done({{ok: v}}), e => done({{err: String(e)}}));"
    );
    let value = support::call(
        session.port,
        "POST",
        &format!("/session/{}/execute/async", session.id),
        Some(serde_json::json!({"script": script, "args": []})),
    );
    assert!(
        value.get("ok").is_none(),
        "{command} {filter} was accepted: {value}"
    );
    value["err"].as_str().unwrap().to_owned()
}
