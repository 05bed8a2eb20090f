//! One hostile process opens 1,000 connections to a team relay, each from a new
//! device the relay does not allow, and sends mailbox requests through them, some of
//! them 4 MiB puts. The relay's memory stays under a stated bound and the team's
//! members keep editing live through it.
//!
//! The bound: the relay's resident memory before the attack, plus
//! [`BUDGET_PER_CONNECTION`] for each hostile connection, plus [`SLACK`]. Before the
//! relay checked access before reading a request, each outsider's put was read
//! whole (up to 8 MiB a stream) before it was refused: the 100 large puts here
//! alone are 400 MiB.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::time::{Duration, Instant};

use futures::future::join_all;
use quire_engine::Edit;
use quire_net::mailbox_protocol::{MailboxRequest, MailboxResponse, Refusal};
use support::member::Member;
use support::{Relay, Team, go_online};

/// Connections the hostile process holds at once.
const HOSTILE_CONNECTIONS: usize = 1_000;

/// Of those, how many also send one large put.
const LARGE_PUTS: usize = 100;

/// The size of each large put: over the stream's receive window (256 KiB), so
/// only a relay that reads it can hold it.
const LARGE_PUT_BYTES: usize = 4 * 1024 * 1024;

/// Memory budgeted to each held connection: an idle member connection measured
/// about 34 KB (README, "Sizes and the limits that decide them"), doubled for the
/// handshakes and refusals in flight.
const BUDGET_PER_CONNECTION: u64 = 64 * 1024;

/// Room for the allocator and what is in flight besides connections.
const SLACK: u64 = 64 * 1024 * 1024;

/// Hostile devices connect this many at a time.
const CONNECT_BATCH: usize = 100;

async fn connected(member: &Member, relay: &Relay) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let _ = member.net.dial(relay.addr.clone()).await;
        let poll_until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < poll_until {
            if member
                .net
                .connected_peers()
                .await
                .unwrap()
                .contains(&relay.peer)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            Instant::now() < deadline,
            "a hostile device never connected"
        );
    }
}

/// What one hostile device does once connected: a get, answered with a refusal in
/// words; and, for the first [`LARGE_PUTS`], a 4 MiB put, refused or cut off.
async fn attack(n: usize, member: &Member, relay: &Relay) {
    let get = MailboxRequest::Get {
        topic: [7; 32],
        after: 0,
        max_bytes: 1 << 20,
    };
    match member.net.mailbox(relay.peer, get).await.unwrap() {
        MailboxResponse::Refused {
            reason: Refusal::NotAllowed,
            message,
        } => assert!(message.contains("team only"), "{message}"),
        other => panic!("an outsider's get was answered with {other:?}"),
    }
    if n < LARGE_PUTS {
        let put = MailboxRequest::Put {
            topic: [7; 32],
            item: vec![0x5a; LARGE_PUT_BYTES],
            auth: None,
        };
        // Either the refusal arrives, or the relay drops the stream unread.
        if let Ok(answer) = member.net.mailbox(relay.peer, put).await {
            assert!(
                matches!(
                    answer,
                    MailboxResponse::Refused {
                        reason: Refusal::NotAllowed,
                        ..
                    }
                ),
                "an outsider's put was answered with {answer:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_hostile_connections_leave_relay_memory_bounded_and_members_syncing() {
    // The hostile side needs a file descriptor per connection, as the relay does
    // (it raises its own limit when it starts).
    rlimit::increase_nofile_limit(u64::MAX).unwrap();
    let args = vec!["--max-reservations".to_owned(), "0".to_owned()];
    let team = Team::new("Standup", "Agenda.\n", args).await;
    let (id, relay) = (team.id, &team.relay);
    let ann = go_online(team.ann_dir.path(), Some(&relay.addr)).await;
    let bob = go_online(team.bob_dir.path(), Some(&relay.addr)).await;
    bob.until_text_has(id, "Agenda.").await;
    let (before, _) = relay.memory();
    let bound = before + HOSTILE_CONNECTIONS as u64 * BUDGET_PER_CONNECTION + SLACK;

    let started = Instant::now();
    let mut hostile = Vec::with_capacity(HOSTILE_CONNECTIONS);
    for _ in 0..HOSTILE_CONNECTIONS / CONNECT_BATCH {
        let batch: Vec<Member> = (0..CONNECT_BATCH).map(|_| Member::new()).collect();
        join_all(batch.iter().map(|m| connected(m, relay))).await;
        hostile.extend(batch);
    }
    println!(
        "{} hostile connections open after {:?}",
        hostile.len(),
        started.elapsed()
    );

    // The attack and the team's editing run at the same time.
    let attacks = join_all(hostile.iter().enumerate().map(|(n, m)| attack(n, m, relay)));
    let editing = ann.edits_arrive_live(&bob, id, "ann during the attack", 5);
    let ((), slowest) = futures::join!(
        async {
            attacks.await;
        },
        editing
    );
    println!("slowest live edit through the relay during the attack: {slowest:?}");

    // The hostile connections are all still held.
    let (now, peak) = relay.memory();
    println!(
        "relay memory: {} MiB before, {} MiB now, {} MiB at its peak; bound {} MiB",
        before >> 20,
        now >> 20,
        peak >> 20,
        bound >> 20
    );
    assert!(
        peak <= bound,
        "the relay's memory peaked at {peak} bytes, over the bound of {bound}"
    );
    let line = "ann after the attack\n";
    ann.engine
        .edit(id, Edit::Append(line.into()))
        .await
        .unwrap();
    bob.until_text_has(id, line).await;

    join_all(hostile.into_iter().map(|m| async move {
        let _ = m.net.shutdown().await;
    }))
    .await;
    ann.go_offline().await;
    bob.go_offline().await;
}
