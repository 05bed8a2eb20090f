//! Shared helpers: real engines in temporary folders, real nodes on loopback.

#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::future::Future;
use std::time::Duration;

use quire_engine::{DocumentId, Engine, EngineConfig, Role};
use quire_node::{NodeConfig, SyncNode};
use tempfile::TempDir;

/// How long a test waits for peers to agree before it fails.
pub const CONVERGE_WITHIN: Duration = Duration::from_secs(30);

/// One device: a data folder, its engine and its sync node.
pub struct Peer {
    pub dir: TempDir,
    pub engine: Engine,
    pub node: SyncNode,
}

impl Peer {
    pub async fn start() -> Self {
        Self::start_with(NodeConfig::loopback()).await
    }

    /// A device whose node runs with `config`.
    pub async fn start_with(config: NodeConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(EngineConfig::new(dir.path())).await.unwrap();
        let node = SyncNode::start(engine.clone(), config).await.unwrap();
        Self { dir, engine, node }
    }

    /// The node's loopback addresses (with its peer id), once it listens.
    pub async fn addrs(&self) -> Vec<String> {
        eventually("listening", || async {
            let listen = self.node.status().await.unwrap().listen;
            (!listen.is_empty()).then(|| listen.iter().map(ToString::to_string).collect())
        })
        .await
    }

    /// Shares `id` and returns a link naming this node's addresses.
    pub async fn share(&self, id: DocumentId, role: Role) -> String {
        let addrs = self.addrs().await;
        self.engine.share(id, role, addrs).await.unwrap().to_link()
    }

    /// The keys this device holds for the shared document `id`.
    pub async fn keys(&self, id: DocumentId) -> quire_crypto::DocKeys {
        self.engine.membership(id).await.unwrap().unwrap().keys
    }

    pub async fn text(&self, id: DocumentId) -> String {
        self.engine.text(id).await.unwrap()
    }

    pub async fn stop(self) {
        self.node.shutdown().await.unwrap();
        self.engine.close().await.unwrap();
    }
}

/// Two devices editing one new document: `a` creates it with `text` and shares it
/// with write access, `b` joins by the link; returns once both hold the text.
pub async fn two_writers(title: &str, text: &str) -> (Peer, Peer, DocumentId) {
    let (a, b) = (Peer::start().await, Peer::start().await);
    let id = a.engine.create(title, text).await.unwrap();
    b.engine
        .join(&a.share(id, Role::Write).await)
        .await
        .unwrap();
    converged(&[&a, &b], id).await;
    (a, b, id)
}

/// The session hints a catch-up request bundle names, opened with the document's
/// `keys` (empty if none of its items is a request).
pub fn wanted_hints(
    keys: &quire_crypto::DocKeys,
    request: &[u8],
) -> Vec<quire_crypto::SessionHint> {
    let mut book = quire_crypto::SessionBook::new();
    let mut hints = Vec::new();
    for item in quire_node::wire::decode_bundle(request).unwrap() {
        if let Ok(quire_crypto::Received::Message(opened)) =
            quire_crypto::receive(keys, &mut book, item, &keys.topic())
        {
            let request = quire_node::wire::CatchUpRequest::decode(&opened.plaintext).unwrap();
            hints.extend(request.wanted_hints);
        }
    }
    hints
}

/// A bare libp2p node (no engine, no keys) that knows a document's topic hash, as a
/// relay or an eavesdropper would, dialled into `target`'s swarm and subscribed; returns
/// once `target` sees it in the topic.
pub async fn raw_node_in_topic(
    identity: &quire_crypto::DeviceIdentity,
    target: &Peer,
    topic: [u8; 32],
) -> (
    quire_net::NetHandle,
    tokio::sync::mpsc::Receiver<quire_net::NetEvent>,
) {
    let mut config = quire_net::NetConfig::new(identity.to_libp2p_keypair());
    config.enable_mdns = false;
    let (node, events) = quire_net::Node::spawn(config).unwrap();
    node.subscribe(topic).await.unwrap();
    for addr in target.addrs().await {
        node.dial(addr.parse().unwrap()).await.unwrap();
    }
    let peer = node.local_peer_id();
    eventually("the raw node in the topic", || async {
        let status = target.node.status().await.ok()?;
        status.docs.first()?.peers.contains(&peer).then_some(())
    })
    .await;
    (node, events)
}

/// Polls `probe` until it yields a value, failing after [`CONVERGE_WITHIN`].
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + CONVERGE_WITHIN;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until every peer has the same text for `id`; returns it.
pub async fn converged(peers: &[&Peer], id: DocumentId) -> String {
    let mut last;
    let deadline = tokio::time::Instant::now() + CONVERGE_WITHIN;
    loop {
        let mut texts = Vec::new();
        for p in peers {
            texts.push(p.engine.text(id).await.unwrap_or_default());
        }
        if texts.windows(2).all(|w| w[0] == w[1]) {
            return texts.swap_remove(0);
        }
        last = texts;
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lens: Vec<usize> = last.iter().map(|t| t.chars().count()).collect();
    panic!("peers did not converge on {id}: lengths {lens:?}");
}
