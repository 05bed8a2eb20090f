//! End to end, two apps and a read-only link opened the way a user opens one: by
//! launching the app with the `quire://` link while it already runs (what clicking the
//! link does). The running app comes forward with the join form filled in; after
//! joining, Bob reads Ann's text live, and his typing is refused with a visible
//! message, in his window and at Ann's. Screenshots go to `target/e2e/`.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::process::Command;
use std::time::Duration;

use support::Session;

const TEXT: &str = "Minutes of the meeting. Only Ann writes here.";
const LATER: &str = " Decision: ship on Friday.";

#[test]
fn a_read_only_link_opened_from_outside_lets_bob_read_but_not_edit() {
    let Some(apps) = support::TwoApps::start() else {
        return;
    };
    let shots = support::shots();
    let (driver_a, driver_b) = (&apps.driver_a, &apps.driver_b);
    let app = support::app();

    let ann = Session::start(driver_a.port, app);
    ann.set_name("Ann");
    ann.create_document();
    ann.type_into(".cm-content", TEXT);
    ann.wait_for_text("Ann's text", |t| t.contains(TEXT));
    let link = ann.share_link(true);

    // Bob's app runs; the link is opened by launching the app again with it.
    let bob = Session::start(driver_b.port, app);
    bob.set_name("Bob");
    bob.wait_for(
        "Bob's app",
        "return document.querySelector('.sidebar') !== null",
    );
    let second = Command::new(app)
        .arg(&link)
        .env("QUIRE_DATA_DIR", apps.b_dir.path())
        .env("DISPLAY", &apps.display)
        .output()
        .unwrap();
    assert!(
        second.status.success(),
        "the second launch hands the link over and exits: {}",
        String::from_utf8_lossy(&second.stderr)
    );
    let offered = bob.wait_for(
        "the join form filled in with the link",
        "const i = document.querySelector('.join-form input'); return i && i.offsetParent !== null && i.value;",
    );
    assert_eq!(offered.as_str(), Some(link.as_str()));
    bob.screenshot(&shots.join("read-only-1-link-offered.png"));
    bob.click_button(".join-form", "Join");
    bob.wait_for_text("Ann's text at Bob", |t| t.contains(TEXT));
    bob.wait_for(
        "the read-only badge",
        "return document.body.innerText.includes('read-only') || document.body.innerText.includes('Read-only')",
    );

    // Bob tries to type: refused, with a visible message; his text stays Ann's.
    bob.type_into(".cm-content", "Bob's scribble");
    let banner = bob.wait_for(
        "the read-only message",
        "const b = document.querySelector('.banner'); return b && !b.hidden && b.textContent;",
    );
    assert!(banner.as_str().unwrap().contains("read-only"), "{banner}");
    bob.screenshot(&shots.join("read-only-2-refused.png"));
    assert!(
        !bob.editor_text().contains("scribble"),
        "{:?}",
        bob.editor_text()
    );

    // Ann keeps writing and Bob follows; nothing of Bob's ever reaches Ann.
    ann.type_into(".cm-content", LATER);
    bob.wait_for_text("Ann's later text at Bob", |t| t.contains(LATER.trim()));
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !ann.editor_text().contains("scribble"),
        "{:?}",
        ann.editor_text()
    );
    bob.screenshot(&shots.join("read-only-3-following.png"));
    bob.quit();
    ann.quit();
}
