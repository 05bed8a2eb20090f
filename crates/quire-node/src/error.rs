//! Errors of the sync node.

use quire_engine::EngineError;
use quire_net::NetError;

/// What went wrong in a node call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The network layer failed.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The node has stopped.
    #[error("the sync node has stopped")]
    Stopped,
    /// The document is not shared or not syncing on this node.
    #[error("document {0} is not being synced; share or join it first")]
    NotSyncing(String),
    /// A relay address that cannot be used.
    #[error(
        "{0:?} is not a relay address: it looks like /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW…, as quire-relay prints it"
    )]
    BadRelayAddress(String),
}
