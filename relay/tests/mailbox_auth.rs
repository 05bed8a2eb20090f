//! Only a document's writers write to its mailbox at a relay: the real relay
//! binary, and raw mailbox clients (bare `quire-net` nodes) as devices the relay
//! allows. A device without the document's write key (a reader, or any device on
//! the relay) can neither put nor compact; a junk or doctored compaction leaves
//! every item readable; a snapshot never supersedes items its writer had not read.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use quire_crypto::MailboxKey;
use quire_net::mailbox_protocol::{MailboxRequest, MailboxResponse, Refusal};
use support::Relay;
use support::member::{Member, assert_refused, compact_request, put_request, writer_key};

/// The document's topic (its writers' mailbox key is derived for it, see
/// `support::member::writer_key`).
const DOC: [u8; 32] = [7; 32];

fn allow(members: &[&Member]) -> Vec<String> {
    members
        .iter()
        .flat_map(|m| ["--allow".to_owned(), m.peer().to_string()])
        .collect()
}

fn seqs(items: &[quire_net::mailbox_protocol::MailboxItem]) -> Vec<u64> {
    items.iter().map(|i| i.seq).collect()
}

/// Ann writes three items; Eve, allowed on the relay and knowing the topic but not
/// the write key (a reader of the document), tries every write she can make.
async fn ann_writes_three(ann: &Member, relay: &Relay) {
    for (i, item) in [b"sealed 1", b"sealed 2", b"sealed 3"].iter().enumerate() {
        assert_eq!(
            ann.put(relay, DOC, *item).await,
            MailboxResponse::Stored { seq: i as u64 + 1 }
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_device_that_is_not_a_writer_can_neither_put_nor_compact() {
    let dir = tempfile::tempdir().unwrap();
    let (ann, bob, eve) = (Member::new(), Member::new(), Member::new());
    let relay = Relay::start(dir.path(), &allow(&[&ann, &bob, &eve]));
    ann_writes_three(&ann, &relay).await;

    // Unsigned (what a member from before signatures sends): refused in words.
    let answer = eve
        .ask(&relay, put_request(None, relay.peer, DOC, b"junk"))
        .await;
    assert_refused(&answer, Refusal::Invalid);
    let MailboxResponse::Refused { message, .. } = answer else {
        unreachable!()
    };
    assert!(message.contains("signed"), "{message}");
    // Signed with her own key: not the one the topic is pinned to.
    let eves_key = writer_key([66; 32]);
    let answer = eve
        .ask(
            &relay,
            put_request(Some(&eves_key), relay.peer, DOC, b"junk"),
        )
        .await;
    assert_refused(&answer, Refusal::NotWriter);
    let answer = eve
        .ask(
            &relay,
            compact_request(&eves_key, relay.peer, DOC, b"junk", 3),
        )
        .await;
    assert_refused(&answer, Refusal::NotWriter);
    let mut unsigned = compact_request(&eves_key, relay.peer, DOC, b"junk", 3);
    if let MailboxRequest::Compact { auth, .. } = &mut unsigned {
        *auth = None;
    }
    assert_refused(&eve.ask(&relay, unsigned).await, Refusal::Invalid);

    // She still reads: readers read.
    let items = eve.get(&relay, DOC, 0).await;
    assert_eq!(seqs(&items), [1, 2, 3]);
    assert_eq!(items[0].bytes, b"sealed 1");

    // Bob, another writer, derives the same key: he puts and compacts.
    assert_eq!(
        bob.put(&relay, DOC, b"sealed 4").await,
        MailboxResponse::Stored { seq: 4 }
    );
    let answer = bob
        .ask(
            &relay,
            compact_request(&writer_key(DOC), relay.peer, DOC, b"snapshot", 4),
        )
        .await;
    assert_eq!(answer, MailboxResponse::Compacted { seq: 5 });
    assert_eq!(seqs(&ann.get(&relay, DOC, 0).await), [5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_junk_compaction_from_anyone_leaves_every_item_readable() {
    let (dir, other_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ann, eve) = (Member::new(), Member::new());
    let relay = Relay::start(dir.path(), &allow(&[&ann, &eve]));
    let other_relay = Relay::start(other_dir.path(), &allow(&[&ann, &eve]));
    ann_writes_three(&ann, &relay).await;
    ann_writes_three(&ann, &other_relay).await;

    let key = writer_key(DOC);
    let mut junk: Vec<MailboxRequest> = Vec::new();
    // A writer's signature on one snapshot, put on other bytes.
    let mut swapped = compact_request(&key, relay.peer, DOC, b"real snapshot", 3);
    if let MailboxRequest::Compact { snapshot, .. } = &mut swapped {
        *snapshot = b"junk".to_vec();
    }
    junk.push(swapped);
    // A writer's signature on a put, offered as a compaction.
    if let MailboxRequest::Put { item, auth, .. } = put_request(Some(&key), relay.peer, DOC, b"j") {
        junk.push(MailboxRequest::Compact {
            topic: DOC,
            snapshot: item,
            supersedes: 3,
            auth,
        });
    }
    // A writer's real compaction made for another relay (whose operator replays
    // it here).
    junk.push(compact_request(&key, other_relay.peer, DOC, b"snapshot", 3));
    // A stranger's own key.
    junk.push(compact_request(
        &writer_key([66; 32]),
        relay.peer,
        DOC,
        b"junk",
        3,
    ));
    for request in junk {
        let answer = eve.ask(&relay, request).await;
        assert!(
            matches!(answer, MailboxResponse::Refused { .. }),
            "a junk compaction was kept: {answer:?}"
        );
    }
    let items = ann.get(&relay, DOC, 0).await;
    assert_eq!(seqs(&items), [1, 2, 3], "every item is still there");
    assert_eq!(items[2].bytes, b"sealed 3");

    // The other relay's compaction still does what its writer meant, there.
    let answer = ann
        .ask(
            &other_relay,
            compact_request(&key, other_relay.peer, DOC, b"snapshot", 3),
        )
        .await;
    assert_eq!(answer, MailboxResponse::Compacted { seq: 4 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_never_supersedes_items_after_the_last_one_its_writer_read() {
    let dir = tempfile::tempdir().unwrap();
    let (ann, bob, eve) = (Member::new(), Member::new(), Member::new());
    let relay = Relay::start(dir.path(), &allow(&[&ann, &bob, &eve]));
    ann_writes_three(&ann, &relay).await;
    // Bob read up to item 2 and made his snapshot from that; item 3 came after.
    let key: MailboxKey = writer_key(DOC);
    let bobs = compact_request(&key, relay.peer, DOC, b"snapshot of 1-2", 2);
    // Eve captured it and raises the last item read, to wipe item 3 too.
    let mut raised = bobs.clone();
    if let MailboxRequest::Compact { supersedes, .. } = &mut raised {
        *supersedes = 3;
    }
    assert_refused(&eve.ask(&relay, raised).await, Refusal::NotWriter);
    assert_eq!(seqs(&ann.get(&relay, DOC, 0).await), [1, 2, 3]);

    // Bob's own request supersedes 1 and 2 only.
    assert_eq!(
        bob.ask(&relay, bobs.clone()).await,
        MailboxResponse::Compacted { seq: 4 }
    );
    assert_eq!(seqs(&ann.get(&relay, DOC, 0).await), [3, 4]);
    // Replayed, it supersedes nothing more: item 3 stays.
    let answer = eve.ask(&relay, bobs).await;
    assert_eq!(answer, MailboxResponse::Compacted { seq: 5 });
    let items = ann.get(&relay, DOC, 0).await;
    assert_eq!(seqs(&items), [3, 4, 5]);
    assert_eq!(items[0].bytes, b"sealed 3");
}
