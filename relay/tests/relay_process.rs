//! The real `quire-relay` binary, driven by real members (`quire-net` nodes) over
//! loopback: the mailbox keeps what it acknowledged across a clean stop and a
//! SIGKILL, quotas and rate limits refuse clearly without storing anything partial,
//! a device the operator did not allow is refused and stores nothing, and /health and
//! /metrics answer.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::process::Command;

use support::member::{Member, assert_refused, compact_request, put_item, writer_key};
use support::{Relay, http_get};

use quire_net::mailbox_protocol::{
    GetItem, MAX_GET_BATCH, MAX_PUT_BATCH, MailboxItem, MailboxRequest, MailboxResponse, Refusal,
    TopicFilter,
};

const DOC: [u8; 32] = [7; 32];
const OTHER_DOC: [u8; 32] = [8; 32];
const THIRD_DOC: [u8; 32] = [9; 32];

fn allow(members: &[&Member]) -> Vec<String> {
    members
        .iter()
        .flat_map(|m| ["--allow".to_owned(), m.peer().to_string()])
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_items_survive_a_clean_stop_and_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let (ann, bob) = (Member::new(), Member::new());
    let args = allow(&[&ann, &bob]);

    let relay = Relay::start(dir.path(), &args);
    for (i, item) in [b"sealed one", b"sealed two", b"sealed 3!!"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            ann.put(&relay, DOC, *item).await,
            MailboxResponse::Stored { seq: i as u64 + 1 }
        );
    }
    let peer = relay.peer;
    relay.stop("-TERM");

    // Same folder, same key: the same relay, with everything it acknowledged.
    let relay = Relay::start(dir.path(), &args);
    assert_eq!(relay.peer, peer);
    let items = bob.get(&relay, DOC, 0).await;
    assert_eq!(items.iter().map(|i| i.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(items[1].bytes, b"sealed two");
    assert_eq!(
        bob.put(&relay, DOC, b"bob's reply").await,
        MailboxResponse::Stored { seq: 4 }
    );
    relay.stop("-KILL");

    let relay = Relay::start(dir.path(), &args);
    let items = ann.get(&relay, DOC, 3).await;
    assert_eq!(
        items,
        [MailboxItem {
            seq: 4,
            bytes: b"bob's reply".to_vec()
        }]
    );
    // A snapshot replaces what it covers.
    let compacted = ann
        .ask(
            &relay,
            compact_request(&writer_key(DOC), relay.peer, DOC, b"snapshot", 3),
        )
        .await;
    assert_eq!(compacted, MailboxResponse::Compacted { seq: 5 });
    let items = bob.get(&relay, DOC, 0).await;
    assert_eq!(items.iter().map(|i| i.seq).collect::<Vec<_>>(), [4, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_not_allowed_is_refused_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (ann, outsider) = (Member::new(), Member::new());
    let relay = Relay::start(dir.path(), &allow(&[&ann]));
    let answer = outsider.put(&relay, DOC, b"let me in").await;
    let MailboxResponse::Refused { reason, message } = answer else {
        panic!("an outsider was not refused: {answer:?}");
    };
    assert_eq!(reason, Refusal::NotAllowed);
    assert!(message.contains(&outsider.peer().to_string()), "{message}");
    let answer = outsider
        .ask(
            &relay,
            MailboxRequest::Get {
                topic: DOC,
                after: 0,
                max_bytes: 1024,
            },
        )
        .await;
    assert!(matches!(
        answer,
        MailboxResponse::Refused {
            reason: Refusal::NotAllowed,
            ..
        }
    ));

    let db = rusqlite::Connection::open(dir.path().join("mailbox.sqlite")).unwrap();
    let items: i64 = db
        .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(items, 0);
    // The team member is served.
    assert_eq!(
        ann.put(&relay, DOC, b"sealed").await,
        MailboxResponse::Stored { seq: 1 }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_quota_refuses_clearly_and_other_documents_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let ann = Member::new();
    let mut args = allow(&[&ann]);
    args.extend(["--topic-quota-bytes".to_owned(), "1000".to_owned()]);
    let relay = Relay::start(dir.path(), &args);
    assert_eq!(
        ann.put(&relay, DOC, &[1; 600]).await,
        MailboxResponse::Stored { seq: 1 }
    );
    let answer = ann.put(&relay, DOC, &[2; 600]).await;
    assert!(
        matches!(&answer, MailboxResponse::Refused { reason: Refusal::QuotaExceeded, message } if message.contains("quota")),
        "{answer:?}"
    );
    let items = ann.get(&relay, DOC, 0).await;
    assert_eq!(items.len(), 1, "nothing of the refused item is kept");
    assert_eq!(
        ann.put(&relay, OTHER_DOC, &[3; 600]).await,
        MailboxResponse::Stored { seq: 1 }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_kept_item_by_item_and_an_oversized_batch_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let ann = Member::new();
    let mut args = allow(&[&ann]);
    args.extend(["--topic-quota-bytes".to_owned(), "1000".to_owned()]);
    let relay = Relay::start(dir.path(), &args);
    let item = |topic: [u8; 32], byte: u8| {
        put_item(&writer_key(topic), relay.peer, topic, vec![byte; 600])
    };
    // The second item of DOC would go over its quota: only it is refused.
    let answer = ann
        .ask(
            &relay,
            MailboxRequest::PutMany {
                items: vec![item(DOC, 1), item(DOC, 2), item(OTHER_DOC, 3)],
            },
        )
        .await;
    let MailboxResponse::StoredMany { results } = answer else {
        panic!("a batch is answered item by item: {answer:?}");
    };
    assert_eq!(results.len(), 3);
    assert_eq!(results[0], MailboxResponse::Stored { seq: 1 });
    assert!(
        matches!(
            &results[1],
            MailboxResponse::Refused {
                reason: Refusal::QuotaExceeded,
                ..
            }
        ),
        "{:?}",
        results[1]
    );
    assert_eq!(results[2], MailboxResponse::Stored { seq: 1 });
    let kept = ann.get(&relay, DOC, 0).await;
    assert_eq!(kept.len(), 1, "nothing of the refused item is kept");
    assert_eq!(kept[0].bytes, vec![1; 600]);
    assert_eq!(ann.get(&relay, OTHER_DOC, 0).await.len(), 1);

    // Too many items in one request: refused as a whole, nothing kept.
    let answer = ann
        .ask(
            &relay,
            MailboxRequest::PutMany {
                items: (0..=MAX_PUT_BATCH).map(|_| item(THIRD_DOC, 4)).collect(),
            },
        )
        .await;
    assert!(
        matches!(&answer, MailboxResponse::Refused { reason: Refusal::Invalid, message } if message.contains("batch")),
        "{answer:?}"
    );
    assert!(ann.get(&relay, THIRD_DOC, 0).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_rate_limited_and_health_and_metrics_answer() {
    let dir = tempfile::tempdir().unwrap();
    let ann = Member::new();
    let mut args = allow(&[&ann]);
    args.extend(["--puts-per-second", "1", "--http", "127.0.0.1:0"].map(String::from));
    let relay = Relay::start(dir.path(), &args);
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(ann.put(&relay, DOC, b"x").await);
    }
    let limited = answers
        .iter()
        .filter(|a| {
            matches!(
                a,
                MailboxResponse::Refused {
                    reason: Refusal::RateLimited,
                    ..
                }
            )
        })
        .count();
    assert!(limited >= 1, "{answers:?}");
    let stored = answers.len() - limited;

    let http = relay
        .http
        .clone()
        .expect("the relay printed its HTTP address");
    let health = http_get(&http, "/health");
    assert!(
        health.starts_with("HTTP/1.1 200") && health.contains(&relay.peer.to_string()),
        "{health}"
    );
    let metrics = http_get(&http, "/metrics");
    assert!(
        metrics.contains(&format!("quire_relay_mailbox_puts_total {stored}\n")),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "quire_relay_refusals_total{{reason=\"rate_limited\"}} {limited}\n"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("quire_relay_connected_peers 1\n"),
        "{metrics}"
    );
    assert!(http_get(&http, "/nothing").starts_with("HTTP/1.1 404"));
}

#[test]
fn a_relay_nobody_may_use_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_quire-relay"))
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_asks_which_of_its_documents_changed_and_a_bad_filter_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (ann, bob) = (Member::new(), Member::new());
    let relay = Relay::start(dir.path(), &allow(&[&ann, &bob]));
    let bobs = TopicFilter::of(&[DOC, THIRD_DOC]);
    let ask = |after| MailboxRequest::Changes {
        after,
        filter: bobs.clone(),
    };
    let changed = |answer: MailboxResponse| match answer {
        MailboxResponse::Changed {
            topics,
            cursor,
            more,
        } => (
            topics
                .into_iter()
                .map(|t| t.into_array())
                .collect::<Vec<_>>(),
            cursor,
            more,
        ),
        other => panic!("no list of changes: {other:?}"),
    };
    // Where to follow from: the relay's last change number.
    let (_, start, _) = changed(bob.ask(&relay, ask(None)).await);
    ann.put(&relay, DOC, b"one").await;
    ann.put(&relay, OTHER_DOC, b"not Bob's").await;
    ann.put(&relay, DOC, b"two").await;
    let (topics, cursor, more) = changed(bob.ask(&relay, ask(Some(start))).await);
    assert_eq!((topics, more), (vec![DOC], false));
    assert_eq!(cursor, start + 3);
    // Nothing new: nothing named, same cursor.
    assert_eq!(
        changed(bob.ask(&relay, ask(Some(cursor))).await),
        (vec![], cursor, false)
    );
    ann.put(&relay, THIRD_DOC, b"third's").await;
    let (topics, _, _) = changed(bob.ask(&relay, ask(Some(cursor))).await);
    assert_eq!(topics, vec![THIRD_DOC]);

    // A filter that sets no bits per topic (or is too large) is refused; the relay
    // goes on.
    let bad: TopicFilter =
        serde_json::from_value(serde_json::json!({"bits": [255], "hashes": 0})).unwrap();
    let answer = bob
        .ask(
            &relay,
            MailboxRequest::Changes {
                after: Some(0),
                filter: bad,
            },
        )
        .await;
    assert_refused(&answer, Refusal::Invalid);
    assert_eq!(bob.get(&relay, DOC, 0).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batched_read_answers_each_document_in_order_and_refuses_bad_batches() {
    let dir = tempfile::tempdir().unwrap();
    let (ann, bob) = (Member::new(), Member::new());
    let relay = Relay::start(dir.path(), &allow(&[&ann, &bob]));
    for item in [b"one".as_slice(), b"two", b"three"] {
        ann.put(&relay, DOC, item).await;
    }
    ann.put(&relay, THIRD_DOC, b"third's").await;
    let read = |topic, after| GetItem { topic, after };
    let answer = bob
        .ask(
            &relay,
            MailboxRequest::GetMany {
                reads: vec![read(DOC, 1), read(OTHER_DOC, 0), read(THIRD_DOC, 0)],
                max_bytes: 1 << 20,
            },
        )
        .await;
    let MailboxResponse::ItemsMany { results } = answer else {
        panic!("no batched answer: {answer:?}");
    };
    let got: Vec<(Vec<u64>, bool)> = results
        .iter()
        .map(|r| (r.items.iter().map(|i| i.seq).collect(), r.more))
        .collect();
    assert_eq!(
        got,
        [(vec![2, 3], false), (vec![], false), (vec![1], false)]
    );
    assert_eq!(results[2].items[0].bytes, b"third's");

    // An empty batch and one over the limit are refused, and the relay goes on.
    let too_many = vec![read(DOC, 0); MAX_GET_BATCH + 1];
    for reads in [vec![], too_many] {
        let answer = bob
            .ask(
                &relay,
                MailboxRequest::GetMany {
                    reads,
                    max_bytes: 1024,
                },
            )
            .await;
        assert_refused(&answer, Refusal::Invalid);
    }
    assert_eq!(bob.get(&relay, DOC, 2).await.len(), 1);
}
