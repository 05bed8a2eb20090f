//! Two members who are never online at the same time converge through the relay's
//! mailbox (Ann has it in her settings; Bob only knows it from the invite link): Ann edits and goes offline; Bob comes online later and gets Ann's edits;
//! Bob edits and leaves; Ann returns and gets Bob's. Between the turns the relay is
//! stopped cleanly in one run and killed with SIGKILL in the other, and comes back on
//! the same folder and address. Real engines on disk, real sync nodes, the real relay
//! binary. While both are offline, a device the relay allows but that is not a
//! writer of the document (Eve) tries to wipe the mailbox, and cannot.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use quire_engine::{DocumentId, Edit, Role};
use quire_net::mailbox_protocol::{MailboxResponse, Refusal};
use support::member::{Member, compact_request, put_request, writer_key};
use support::{Relay, Team, free_port, go_online, open};

/// Eve, allowed on the relay and knowing the document's topic (as a reader of it
/// does) but not its write key, tries to wipe the mailbox with a snapshot of her
/// own and to put junk; both are refused and every item stays.
async fn eve_tries_to_wipe_the_mailbox(eve: &Member, relay: &Relay, id: DocumentId) {
    let topic = quire_crypto::topic_for(id.as_bytes());
    let before = eve.get(relay, topic, 0).await;
    let last = before
        .last()
        .expect("the mailbox holds the writers' items")
        .seq;
    let eves_key = writer_key([66; 32]);
    let wipe = compact_request(&eves_key, relay.peer, topic, b"junk snapshot", last);
    let junk = put_request(Some(&eves_key), relay.peer, topic, b"junk");
    for request in [wipe, junk] {
        let answer = eve.ask(relay, request).await;
        assert!(
            matches!(
                answer,
                MailboxResponse::Refused {
                    reason: Refusal::NotWriter,
                    ..
                }
            ),
            "{answer:?}"
        );
    }
    assert_eq!(
        eve.get(relay, topic, 0).await,
        before,
        "every item is still there"
    );
}

async fn never_online_together(stop_signal: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("QUIRE_LOG"))
        .with_test_writer()
        .try_init();
    // Ann makes the document and shares it; Bob joins from the link (both offline).
    // The relay comes back on the same address after each restart.
    let listen = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    let eve = Member::new();
    let team = Team::new(
        "Plan",
        "The plan, first draft.\n",
        vec![
            "--listen".to_owned(),
            listen,
            "--allow".to_owned(),
            eve.peer().to_string(),
        ],
    )
    .await;
    let (id, args, relay) = (team.id, team.args.clone(), team.relay);
    let (ann_dir, bob_dir, relay_dir) = (&team.ann_dir, &team.bob_dir, &team.relay_dir);

    // Ann's turn.
    let ann = go_online(ann_dir.path(), Some(&relay.addr)).await;
    // Links Ann makes now name her relay first.
    let addrs = ann.node.ticket_addrs().await.unwrap();
    assert_eq!(
        addrs.first(),
        Some(&format!("{}/p2p-circuit", relay.addr)),
        "{addrs:?}"
    );
    ann.engine
        .edit(id, Edit::Append("Ann: budget approved.\n".into()))
        .await
        .unwrap();
    ann.until_relay_has_everything(&relay, id).await;
    let status = ann.node.status().await.unwrap();
    let seen = &status.relays[0];
    assert!(
        seen.connected && seen.last_upload.is_some() && seen.error.is_none(),
        "{seen:?}"
    );
    ann.go_offline().await;
    eve_tries_to_wipe_the_mailbox(&eve, &relay, id).await;

    let relay = restart(relay, relay_dir.path(), &args, stop_signal);

    // Bob's turn: he gets Ann's edits from the relay, then adds his own.
    let bob = go_online(bob_dir.path(), None).await;
    bob.until_text_has(id, "Ann: budget approved.").await;
    bob.engine
        .edit(id, Edit::Append("Bob: venue booked.\n".into()))
        .await
        .unwrap();
    bob.until_relay_has_everything(&relay, id).await;
    let bob_text = bob.engine.text(id).await.unwrap();
    bob.go_offline().await;

    let relay = restart(relay, relay_dir.path(), &args, stop_signal);
    // The pin survived the restart.
    eve_tries_to_wipe_the_mailbox(&eve, &relay, id).await;

    // Ann returns and converges with what Bob left.
    let ann = go_online(ann_dir.path(), Some(&relay.addr)).await;
    let ann_text = ann.until_text_has(id, "Bob: venue booked.").await;
    assert_eq!(ann_text, bob_text);
    assert_eq!(
        ann_text,
        "The plan, first draft.\nAnn: budget approved.\nBob: venue booked.\n"
    );
    ann.go_offline().await;

    // The relay holds none of it in the clear.
    let db = std::fs::read(relay_dir.path().join("mailbox.sqlite")).unwrap();
    let wal = std::fs::read(relay_dir.path().join("mailbox.sqlite-wal")).unwrap_or_default();
    for phrase in ["budget approved", "venue booked", "first draft"] {
        for bytes in [&db, &wal] {
            assert!(
                !bytes.windows(phrase.len()).any(|w| w == phrase.as_bytes()),
                "the relay's database holds {phrase:?} in the clear"
            );
        }
    }
    drop(relay);
}

fn restart(relay: Relay, dir: &Path, args: &[String], signal: &str) -> Relay {
    relay.stop(signal);
    Relay::start(dir, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_never_online_together_converge_across_relay_restarts() {
    never_online_together("-TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_never_online_together_converge_across_relay_kills() {
    never_online_together("-KILL").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_the_relay_refuses_says_why_in_its_status() {
    let (dir, relay_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let someone_else = quire_net::Keypair::generate_ed25519().public().to_peer_id();
    let relay = Relay::start(
        relay_dir.path(),
        &["--allow".to_owned(), someone_else.to_string()],
    );
    let engine = open(dir.path()).await;
    let id = engine.create("Notes", "private\n").await.unwrap();
    engine.share(id, Role::Write, Vec::new()).await.unwrap();
    engine.close().await.unwrap();
    drop(engine);
    let device = go_online(dir.path(), Some(&relay.addr)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let error = loop {
        let status = device.node.status().await.unwrap();
        if let Some(error) = status.relays.first().and_then(|r| r.error.clone()) {
            break error;
        }
        assert!(Instant::now() < deadline, "no refusal reported");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(error.contains("serves its team only"), "{error}");
    // Nor does it get a slot to be reached through the relay.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = device.node.status().await.unwrap();
    assert!(
        !status.relays[0].reachable_through,
        "{:?}",
        status.relays[0]
    );
    device.go_offline().await;
    let db = rusqlite::Connection::open(relay_dir.path().join("mailbox.sqlite")).unwrap();
    let items: i64 = db
        .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(items, 0);
}

/// A document whose state is several MiB (over the 1 MiB a sealed message was once
/// capped at) still goes through the relay, as one sealed item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_of_several_mib_reaches_a_member_never_online_with_its_writer() {
    let mut text = String::new();
    let mut line = 0;
    while text.len() < 3 * 1024 * 1024 {
        text.push_str(&format!(
            "Line {line}: minutes of a long meeting, kept verbatim.\n"
        ));
        line += 1;
    }
    text.push_str("The end.\n");
    let team = Team::new("Minutes", &text, Vec::new()).await;

    let ann = go_online(team.ann_dir.path(), Some(&team.relay.addr)).await;
    ann.until_relay_has_everything(&team.relay, team.id).await;
    ann.go_offline().await;

    let bob = go_online(team.bob_dir.path(), None).await;
    let got = bob.until_text_has(team.id, "The end.").await;
    assert_eq!(got.len(), text.len());
    assert!(got == text, "Bob's copy differs from Ann's");
    bob.go_offline().await;
}

/// A document made and shared while its writer is online with a relay is uploaded
/// there at once, not only at its next edit: a member who joins later, when the
/// writer is gone, finds its text. (Before, only documents the node knew when the
/// relay connected, or that changed afterwards, were uploaded.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_shared_while_online_reaches_a_member_who_joins_later() {
    let (ann_dir, bob_dir, relay_dir) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let relay = Relay::start(relay_dir.path(), &["--allow-any".to_owned()]);
    let ann = go_online(ann_dir.path(), Some(&relay.addr)).await;
    ann.until_relay_connected(&relay).await;
    let id = ann
        .engine
        .create("Minutes", "Made while online.\n")
        .await
        .unwrap();
    let link = ann
        .engine
        .share(id, Role::Write, vec![format!("{}/p2p-circuit", relay.addr)])
        .await
        .unwrap();
    ann.until_relay_has_everything(&relay, id).await;
    ann.go_offline().await;

    {
        let bob = open(bob_dir.path()).await;
        bob.join(&link.to_link()).await.unwrap();
        bob.close().await.unwrap();
    }
    let bob = go_online(bob_dir.path(), None).await;
    bob.until_text_has(id, "Made while online.").await;
    bob.go_offline().await;
}
