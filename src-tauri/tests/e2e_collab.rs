//! End to end, two apps: separate data folders, one window each (Xvfb), joined by an
//! invite link made in the first. Typing in either appears in the other, and each
//! shows the other's name. Screenshots go to `target/e2e/`.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use serde_json::json;
use support::Session;

fn ready(session: &Session, name: &str) {
    session.wait_for(
        "the app",
        "return document.querySelector('button.primary') !== null",
    );
    session.invoke(
        "set_settings",
        json!({"settings": {"displayName": name, "color": "#4363d8"}}),
    );
}

fn contains(text: &str) -> String {
    format!(
        "const c = document.querySelector('.cm-content'); return c !== null && c.textContent.includes({text:?})"
    )
}

#[test]
fn two_apps_joined_by_a_link_edit_together_and_see_each_other() {
    let Some(apps) = support::TwoApps::start() else {
        return;
    };
    let shots = support::shots();
    let (driver_a, driver_b) = (&apps.driver_a, &apps.driver_b);
    let app = support::app();

    let ann = Session::start(driver_a.port, app);
    ready(&ann, "Ann");
    ann.script("document.querySelector('button.primary').click(); return true");
    ann.wait_for(
        "the editor",
        "return document.querySelector('.cm-content') !== null",
    );
    ann.type_into(".cm-content", "Written by Ann.");
    ann.wait_for("Ann's text", &contains("Written by Ann."));
    let docs = ann.invoke("list_documents", json!({}));
    let id = docs[0]["id"].as_str().unwrap().to_owned();
    let link = ann.invoke("share", json!({"id": id, "readOnly": false}));
    let link = link.as_str().unwrap().to_owned();
    assert!(link.starts_with("quire://join/"), "{link}");

    let bob = Session::start(driver_b.port, app);
    ready(&bob, "Bob");
    assert_eq!(bob.invoke("join", json!({"link": link})), json!(id));
    bob.refresh();
    bob.wait_for(
        "the joined document",
        "return document.querySelector('button.doc-open') !== null",
    );
    bob.script("document.querySelector('button.doc-open').click(); return true");
    bob.wait_for("Ann's text at Bob", &contains("Written by Ann."));
    bob.type_into(".cm-content", "Bob was here. ");
    ann.wait_for("Bob's text at Ann", &contains("Bob was here."));
    bob.screenshot(&shots.join("collab-bob.png"));

    // Each shows the other's name (presence: cursor label or collaborator list).
    ann.wait_for(
        "Bob's name at Ann",
        "return document.body.innerText.includes('Bob')",
    );
    bob.wait_for(
        "Ann's name at Bob",
        "return document.body.innerText.includes('Ann')",
    );
    ann.screenshot(&shots.join("collab-ann.png"));
    bob.quit();
    ann.quit();
}
