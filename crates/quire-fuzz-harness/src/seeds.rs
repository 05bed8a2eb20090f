//! Seed inputs for every fuzz target, made by the real encoders: tickets, hellos and
//! sealed messages under the fixed keys of [`crate::keys`], catch-up requests and
//! answers from a real document, bundles as the node sends them, and mailbox messages
//! as the codec writes them. A fuzzer starts from these (they reach deep into each
//! decoder at once), and the `replay` test runs them on every `cargo test`.
//!
//! `cargo run -p quire-fuzz-harness --bin write-fuzz-seeds` rewrites `fuzz/seeds/`.
//! Device keys and hello salts are random, so the bytes differ on every run; what
//! they decode to does not.

use quire_crypto::{
    DeviceIdentity, Kind, LocalSession, SessionHint, TICKET_CHECKSUM_BYTES, TOPIC_BYTES, Ticket,
};
use quire_doc::Document;
use quire_doc::sync::{SyncMessage, SyncSession};
use quire_net::mailbox_auth::{MAILBOX_KEY_BYTES, MAILBOX_SIGNATURE_BYTES, MailboxAuth};
use quire_net::mailbox_protocol::{
    ByteArray, GetItem, MailboxItem, MailboxRequest, MailboxResponse, PutItem, Refusal,
    TopicFilter, TopicItems,
};
use quire_node::summary::{
    SUMMARY_CONFIRMATION_BYTES, SUMMARY_NONCE_BYTES, SUMMARY_PROOF_BYTES, SummaryAnswer,
    SummaryRequest,
};
use quire_node::wire::{CatchUpRequest, EXCHANGE_ID_BYTES, encode_bundle, encode_chunk};

use crate::{catch_up, keys, mailbox, refused, summary};

/// One seed input.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The fuzz target it is for.
    pub target: &'static str,
    /// Its file name under `fuzz/seeds/<target>/`.
    pub name: &'static str,
    /// The input.
    pub bytes: Vec<u8>,
}

/// Every seed of every target.
pub fn all() -> Result<Vec<Seed>, String> {
    let mut seeds = Vec::new();
    tickets(&mut seeds)?;
    sealed_and_bundles(&mut seeds)?;
    catch_ups(&mut seeds)?;
    summaries(&mut seeds);
    mailbox_messages(&mut seeds)?;
    updates(&mut seeds)?;
    Ok(seeds)
}

fn push(seeds: &mut Vec<Seed>, target: &'static str, name: &'static str, bytes: Vec<u8>) {
    seeds.push(Seed {
        target,
        name,
        bytes,
    });
}

fn tickets(seeds: &mut Vec<Seed>) -> Result<(), String> {
    let keys = keys::writer_keys().map_err(refused)?;
    let addrs = vec![
        "/dns4/relay.example.org/tcp/4001".to_owned(),
        "/ip4/192.0.2.7/udp/4001/quic-v1".to_owned(),
    ];
    let write = Ticket::new(keys.clone(), addrs.clone()).map_err(refused)?;
    let read = Ticket::new(keys.read_only(), addrs).map_err(refused)?;
    let bare = Ticket::new(keys.read_only(), Vec::new()).map_err(refused)?;
    push(seeds, "ticket", "write-link", write.to_link().into_bytes());
    push(seeds, "ticket", "read-text", read.to_text().into_bytes());
    push(seeds, "ticket", "read-bytes", read.to_bytes());
    push(seeds, "ticket", "bare-bytes", bare.to_bytes());
    // Without its checksum: the target frames it again, so mutations reach the fields.
    let mut body = write.to_bytes();
    body.truncate(body.len().saturating_sub(TICKET_CHECKSUM_BYTES));
    push(seeds, "ticket", "write-body", body);
    Ok(())
}

fn sealed_and_bundles(seeds: &mut Vec<Seed>) -> Result<(), String> {
    let keys = keys::writer_keys().map_err(refused)?;
    let writer = DeviceIdentity::generate();
    let reader = DeviceIdentity::generate();
    let mut session = LocalSession::start(&writer, &keys);
    let mut reader_session = LocalSession::start(&reader, &keys.read_only());
    let hello = session.hello().map_err(refused)?.encode();
    let reader_hello = reader_session.hello().map_err(refused)?.encode();
    let mut doc = catch_up::document()?;
    let update = doc
        .insert(0, "more ")
        .map_err(refused)?
        .ok_or("no update")?;
    let update_msg = session
        .seal(1, Kind::Update, &update)
        .map_err(refused)?
        .encode();
    let awareness = session
        .seal(2, Kind::Awareness, b"{\"cursor\":3}")
        .map_err(refused)?
        .encode();
    push(seeds, "sealed", "hello-writer", hello.clone());
    push(seeds, "sealed", "hello-reader", reader_hello.clone());
    push(seeds, "sealed", "update", update_msg);
    push(seeds, "sealed", "awareness", awareness);

    // A catch-up request as the asker sends it: its hello, then the sealed request.
    let request = CatchUpRequest {
        exchange: [0x11; EXCHANGE_ID_BYTES],
        first_chunk: 0,
        state_vector: Document::with_client_id(9).state_vector(),
        wanted_hints: vec![SessionHint([1, 2])],
    };
    let sealed_request = reader_session
        .seal(1, Kind::Sync, &request.encode())
        .map_err(refused)?
        .encode();
    push(
        seeds,
        "sealed_bundle",
        "request",
        encode_bundle(&[reader_hello.clone(), sealed_request]),
    );
    // An answer as a writer sends it: hellos, then the chunks of its diff.
    let mut answer = vec![hello, reader_hello];
    let diff = SyncSession::default()
        .handle(&doc, &SyncMessage::StateVector(request.state_vector))
        .map_err(refused)?;
    for (seq, chunk) in (3..).zip(&diff.replies) {
        let plaintext = encode_chunk(&request.exchange, &chunk.encode());
        answer.push(
            session
                .seal(seq, Kind::Update, &plaintext)
                .map_err(refused)?
                .encode(),
        );
    }
    push(seeds, "sealed_bundle", "answer", encode_bundle(&answer));
    Ok(())
}

fn catch_ups(seeds: &mut Vec<Seed>) -> Result<(), String> {
    let doc = catch_up::document()?;
    let mut peer = Document::with_client_id(3);
    peer.insert(0, "from elsewhere").map_err(refused)?;
    let request = CatchUpRequest {
        exchange: [0x22; EXCHANGE_ID_BYTES],
        first_chunk: 0,
        state_vector: peer.state_vector(),
        wanted_hints: vec![SessionHint([1, 2]), SessionHint([3, 4])],
    };
    push(
        seeds,
        "catch_up",
        "request",
        selected(catch_up::REQUEST, request.encode()),
    );
    // A request from a node from before hints: the state vector ends it.
    let older = CatchUpRequest {
        wanted_hints: Vec::new(),
        ..request.clone()
    };
    push(
        seeds,
        "catch_up",
        "request-no-hints",
        selected(catch_up::REQUEST, older.encode()),
    );
    // The peer's answer to the fuzzed document's state vector: one chunk that
    // completes it.
    let diff = SyncSession::default()
        .handle(&peer, &SyncMessage::StateVector(doc.state_vector()))
        .map_err(refused)?;
    let chunk = diff.replies.first().ok_or("no answer chunk")?;
    let plaintext = encode_chunk(&request.exchange, &chunk.encode());
    push(
        seeds,
        "catch_up",
        "answer",
        selected(catch_up::ANSWER, plaintext),
    );
    let state_vector = SyncMessage::StateVector(peer.state_vector()).encode();
    push(
        seeds,
        "catch_up",
        "answer-state-vector",
        selected(
            catch_up::ANSWER,
            encode_chunk(&request.exchange, &state_vector),
        ),
    );
    Ok(())
}

fn summaries(seeds: &mut Vec<Seed>) {
    let request = SummaryRequest {
        nonce: [0x31; SUMMARY_NONCE_BYTES],
        entries: (0u8..3)
            .map(|n| ([n; TOPIC_BYTES], [n ^ 0x5a; SUMMARY_PROOF_BYTES]))
            .collect(),
    };
    push(
        seeds,
        "summary",
        "request",
        selected(summary::REQUEST, request.encode()),
    );
    let answer = SummaryAnswer {
        nonce: request.nonce,
        differs: vec![true, false, true],
        confirmation: [0x44; SUMMARY_CONFIRMATION_BYTES],
    };
    let mut bytes = 3u16.to_le_bytes().to_vec();
    bytes.extend(answer.encode());
    push(seeds, "summary", "answer", selected(summary::ANSWER, bytes));
}

fn mailbox_messages(seeds: &mut Vec<Seed>) -> Result<(), String> {
    let topic = keys::writer_keys().map_err(refused)?.topic();
    let requests: [(&'static str, MailboxRequest); 6] = [
        (
            "put",
            MailboxRequest::Put {
                topic,
                item: vec![0x23; 40],
                auth: Some(MailboxAuth {
                    key: [3; MAILBOX_KEY_BYTES],
                    signature: [4; MAILBOX_SIGNATURE_BYTES],
                }),
            },
        ),
        (
            "put-many",
            MailboxRequest::PutMany {
                items: vec![
                    PutItem {
                        topic,
                        item: vec![1; 8],
                        auth: None,
                    },
                    PutItem {
                        topic: [9; 32],
                        item: vec![2; 3],
                        auth: None,
                    },
                ],
            },
        ),
        (
            "get",
            MailboxRequest::Get {
                topic,
                after: 7,
                max_bytes: 65_536,
            },
        ),
        (
            "get-many",
            MailboxRequest::GetMany {
                reads: vec![
                    GetItem { topic, after: 7 },
                    GetItem {
                        topic: [9; 32],
                        after: 0,
                    },
                ],
                max_bytes: 65_536,
            },
        ),
        (
            "changes",
            MailboxRequest::Changes {
                after: Some(41),
                filter: TopicFilter::of(&[topic, [9; 32]]),
            },
        ),
        (
            "compact",
            MailboxRequest::Compact {
                topic,
                snapshot: vec![5; 20],
                supersedes: 12,
                auth: None,
            },
        ),
    ];
    for (name, request) in requests {
        push(
            seeds,
            "mailbox",
            name,
            selected(mailbox::REQUEST, mailbox::encode_request(&request)?),
        );
    }
    let responses: [(&'static str, MailboxResponse); 7] = [
        ("stored", MailboxResponse::Stored { seq: 3 }),
        (
            "stored-many",
            MailboxResponse::StoredMany {
                results: vec![
                    MailboxResponse::Stored { seq: 4 },
                    MailboxResponse::Refused {
                        reason: Refusal::QuotaExceeded,
                        message: "over quota".to_owned(),
                    },
                ],
            },
        ),
        (
            "items",
            MailboxResponse::Items {
                items: vec![
                    MailboxItem {
                        seq: 1,
                        bytes: vec![0x23; 16],
                    },
                    MailboxItem {
                        seq: 2,
                        bytes: vec![0x42; 9],
                    },
                ],
                more: true,
            },
        ),
        (
            "items-many",
            MailboxResponse::ItemsMany {
                results: vec![
                    TopicItems {
                        items: vec![MailboxItem {
                            seq: 3,
                            bytes: vec![0x11; 12],
                        }],
                        more: false,
                    },
                    TopicItems {
                        items: Vec::new(),
                        more: true,
                    },
                ],
            },
        ),
        (
            "changed",
            MailboxResponse::Changed {
                topics: vec![ByteArray::new(topic), ByteArray::new([9; 32])],
                cursor: 45,
                more: true,
            },
        ),
        ("compacted", MailboxResponse::Compacted { seq: 13 }),
        (
            "refused",
            MailboxResponse::Refused {
                reason: Refusal::NotAllowed,
                message: "not on this relay's list".to_owned(),
            },
        ),
    ];
    for (name, response) in responses {
        push(
            seeds,
            "mailbox",
            name,
            selected(mailbox::RESPONSE, mailbox::encode_response(&response)?),
        );
    }
    Ok(())
}

fn updates(seeds: &mut Vec<Seed>) -> Result<(), String> {
    let mut peer = Document::with_client_id(2);
    let insert = peer
        .insert(0, "peer text")
        .map_err(refused)?
        .ok_or("no update")?;
    let more = peer
        .insert(4, " more 😀")
        .map_err(refused)?
        .ok_or("no update")?;
    let delete = peer.delete(0, 3).map_err(refused)?.ok_or("no update")?;
    let title = peer.set_title("Elsewhere").map_err(refused)?;
    push(seeds, "apply_update", "insert", insert);
    push(seeds, "apply_update", "insert-more", more);
    push(seeds, "apply_update", "delete", delete);
    push(seeds, "apply_update", "title", title);
    push(
        seeds,
        "apply_update",
        "whole-state",
        peer.encode_state().map_err(refused)?,
    );
    Ok(())
}

/// A selector byte, then the bytes.
fn selected(selector: u8, bytes: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + bytes.len());
    out.push(selector);
    out.extend(bytes);
    out
}
