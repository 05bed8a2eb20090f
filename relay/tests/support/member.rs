//! A raw mailbox client: a bare `quire-net` node that speaks the mailbox protocol
//! to a relay process, with or without a document's mailbox key.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use quire_crypto::{MailboxKey, WriteKey};
use quire_net::mailbox_auth::{MailboxAuth, Operation};
use quire_net::mailbox_protocol::{MailboxItem, MailboxRequest, MailboxResponse, PutItem, Refusal};
use quire_net::{Keypair, NetConfig, NetHandle, Node, PeerId};

use super::Relay;

/// Fails unless `answer` is a refusal for `reason`.
#[track_caller]
pub fn assert_refused(answer: &MailboxResponse, reason: Refusal) {
    assert!(
        matches!(answer, MailboxResponse::Refused { reason: r, .. } if *r == reason),
        "expected a refusal ({reason:?}), got {answer:?}"
    );
}

/// The mailbox key every writer of the test document on `topic` derives: the
/// document's write secret is the topic's bytes here, so two writers of one test
/// document share it as real writers share theirs.
pub fn writer_key(topic: [u8; 32]) -> MailboxKey {
    MailboxKey::derive(&WriteKey::from_secret_bytes(topic).unwrap()).unwrap()
}

/// `key`'s signature on `operation` on `topic` at `relay`.
pub fn sign(
    key: &MailboxKey,
    relay: PeerId,
    topic: [u8; 32],
    operation: Operation<'_>,
) -> MailboxAuth {
    MailboxAuth::sign(key.public(), |m| key.sign(m), &relay, &topic, operation)
}

/// A put of `item` signed by `key` (`None`: unsigned).
pub fn put_request(
    key: Option<&MailboxKey>,
    relay: PeerId,
    topic: [u8; 32],
    item: &[u8],
) -> MailboxRequest {
    MailboxRequest::Put {
        topic,
        item: item.to_vec(),
        auth: key.map(|key| sign(key, relay, topic, Operation::Put { item })),
    }
}

/// One item of a batch put, signed by `key`.
pub fn put_item(key: &MailboxKey, relay: PeerId, topic: [u8; 32], item: Vec<u8>) -> PutItem {
    let auth = Some(sign(key, relay, topic, Operation::Put { item: &item }));
    PutItem { topic, item, auth }
}

/// A compaction signed by `key`.
pub fn compact_request(
    key: &MailboxKey,
    relay: PeerId,
    topic: [u8; 32],
    snapshot: &[u8],
    supersedes: u64,
) -> MailboxRequest {
    let operation = Operation::Compact {
        supersedes,
        snapshot,
    };
    MailboxRequest::Compact {
        topic,
        snapshot: snapshot.to_vec(),
        supersedes,
        auth: Some(sign(key, relay, topic, operation)),
    }
}

/// A device: a quire-net node that dials the relay when it asks it something.
pub struct Member {
    pub key: Keypair,
    pub net: NetHandle,
}

impl Member {
    pub fn new() -> Self {
        Self::with_key(Keypair::generate_ed25519())
    }

    pub fn with_key(key: Keypair) -> Self {
        let mut config = NetConfig::new(key.clone());
        config.enable_mdns = false;
        let (net, mut events) = Node::spawn(config).unwrap();
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        Self { key, net }
    }

    pub fn peer(&self) -> PeerId {
        self.key.public().to_peer_id()
    }

    pub async fn ask(&self, relay: &Relay, request: MailboxRequest) -> MailboxResponse {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if !self
                .net
                .connected_peers()
                .await
                .unwrap()
                .contains(&relay.peer)
            {
                let _ = self.net.dial(relay.addr.clone()).await;
            }
            match self.net.mailbox(relay.peer, request.clone()).await {
                Ok(response) => return response,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("asking the relay failed ({e}); again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("the relay does not answer: {e}"),
            }
        }
    }

    /// Puts `item` as a writer of the document on `topic` would.
    pub async fn put(&self, relay: &Relay, topic: [u8; 32], item: &[u8]) -> MailboxResponse {
        let key = writer_key(topic);
        self.ask(relay, put_request(Some(&key), relay.peer, topic, item))
            .await
    }

    pub async fn get(&self, relay: &Relay, topic: [u8; 32], after: u64) -> Vec<MailboxItem> {
        match self
            .ask(
                relay,
                MailboxRequest::Get {
                    topic,
                    after,
                    max_bytes: 1 << 20,
                },
            )
            .await
        {
            MailboxResponse::Items { items, more: false } => items,
            other => panic!("expected items, got {other:?}"),
        }
    }
}
