//! End to end, two apps joined by an edit link: Ann saves a named version from the
//! history panel, both write more, then Ann restores the version from the history
//! panel. Both windows show the restored text, and the history keeps what came after
//! it. Screenshots go to `target/e2e/`.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use serde_json::json;
use support::Session;

const DRAFT: &str = "First draft: keep it short.";
const LATER_ANN: &str = " Ann's second thoughts.";
const LATER_BOB: &str = "Bob's rewrite. ";

#[test]
fn restoring_a_version_in_the_history_panel_shows_in_both_apps() {
    let Some(apps) = support::TwoApps::start() else {
        return;
    };
    let shots = support::shots();
    let (driver_a, driver_b) = (&apps.driver_a, &apps.driver_b);
    let app = support::app();

    let ann = Session::start(driver_a.port, app);
    ann.set_name("Ann");
    ann.create_document();
    ann.type_into(".cm-content", DRAFT);
    ann.wait_for_text("Ann's draft", |t| t.contains(DRAFT));

    // A named version, saved from the history panel.
    ann.click_button(".doc-header", "History");
    ann.fill(
        ".history-panel input[aria-label='Version name']",
        "Short draft",
    );
    ann.click_button(".history-panel", "Save version");
    ann.wait_for(
        "the named version in the list",
        "return [...document.querySelectorAll('.version-label')].some(l => l.textContent.includes('Short draft'))",
    );
    ann.screenshot(&shots.join("restore-1-version-saved.png"));

    // Bob joins with an edit link made in the share panel; both write more.
    let link = ann.share_link(false);
    let bob = Session::start(driver_b.port, app);
    bob.set_name("Bob");
    bob.join_with_form(&link);
    bob.wait_for_text("Ann's draft at Bob", |t| t.contains(DRAFT));
    bob.type_into(".cm-content", LATER_BOB);
    ann.type_into(".cm-content", LATER_ANN);
    for (who, session) in [("Ann", &ann), ("Bob", &bob)] {
        session.wait_for_text(&format!("both edits at {who}"), |t| {
            t.contains(LATER_ANN.trim()) && t.contains(LATER_BOB.trim())
        });
    }
    bob.screenshot(&shots.join("restore-2-bob-before.png"));

    // Ann restores the named version from the history panel.
    ann.click_button(".doc-header", "History");
    ann.wait_for(
        "the history list",
        "return document.querySelector('.history-panel .version') !== null",
    );
    let restored = ann.script(
        "const v = [...document.querySelectorAll('.history-panel .version')].find(v => v.textContent.includes('Short draft')); if (!v) return false; [...v.querySelectorAll('button')].find(b => b.textContent.trim() === 'Restore').click(); return true;",
    );
    assert_eq!(restored, json!(true), "the version has a Restore button");
    ann.wait_for(
        "the restore confirmation",
        "const d = document.querySelector('.version-detail'); return d !== null && d.textContent.includes('Restored')",
    );
    for (who, session) in [("Ann", &ann), ("Bob", &bob)] {
        let text = session.wait_for_text(&format!("the restored text at {who}"), |t| {
            t.trim() == DRAFT
        });
        assert!(
            !text.contains("second thoughts") && !text.contains("rewrite"),
            "{who}: {text:?}"
        );
    }
    ann.screenshot(&shots.join("restore-3-ann-restored.png"));
    bob.screenshot(&shots.join("restore-4-bob-restored.png"));

    // Nothing is lost: the text before the restore is a version of its own.
    let versions = ann.invoke(
        "versions",
        json!({"id": ann.invoke("list_documents", json!({}))[0]["id"]}),
    );
    let kinds: Vec<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"restore"), "versions: {versions}");
    bob.quit();
    ann.quit();
}
