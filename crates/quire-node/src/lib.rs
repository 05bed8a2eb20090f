//! `quire-node`: keeps the shared documents of a Quire engine in sync with peers.
//!
//! A [`SyncNode`] runs one task that joins an [`quire_engine::Engine`] to a
//! `quire-net` swarm:
//!
//! - **Live.** Each shared document is a gossipsub topic. A local transaction's
//!   update is sealed ([`quire_crypto`]) and published; a received message is
//!   verified, decrypted, checked against the sender's write grant and a replay
//!   window, applied through the engine (which validates, persists and announces
//!   it), and only then reported valid to gossipsub, which forwards it. Anything
//!   else is dropped, counted by [`DropReason`], and penalised in gossipsub's peer
//!   score.
//! - **Catch-up.** When a peer subscribes to a document's topic (on connect, on
//!   join) each side asks the other over `/quire/sync/1` with its state vector and
//!   gets exactly the missing updates, in chunks, sealed (see [`wire`]). An answer
//!   carries content only from writers. A request whose state vector shows the asker
//!   has news makes the answerer ask back, so a paste too large for gossip travels
//!   the same way. Edits made offline are in the engine's log; this is how they go
//!   out on reconnect.
//! - **Presence.** Name, colour, cursor and typing, sealed on the same topic,
//!   rate-limited, with heartbeats and expiry ([`presence`]).
//!
//! ```no_run
//! # async fn demo(engine: quire_engine::Engine) -> Result<(), quire_node::NodeError> {
//! use quire_node::{NodeConfig, SyncNode};
//! let node = SyncNode::start(engine.clone(), NodeConfig::new()).await?;
//! let id = engine.create("Notes", "hello").await?;
//! let link = engine.share(id, quire_engine::Role::Write, vec![]).await?.to_link();
//! println!("{link}");
//! node.shutdown().await?;
//! # Ok(()) }
//! ```

mod config;
mod doc_sync;
mod error;
mod known_hellos;
mod node;
pub mod presence;
mod status;
pub mod summary;
pub mod wire;

pub use config::{
    ANSWER_CACHE_TTL, CATCH_UP_RETRY_AFTER, DOCUMENT_SWEEP, MAX_CACHED_ANSWER_BYTES,
    MAX_CACHED_ANSWERS, MAX_CATCH_UP_ATTEMPTS, MAX_CATCH_UPS_PER_PEER, NodeConfig,
    PERIODIC_CATCH_UP, REDIAL_MEMBERS, RELAY_COMPACT_AFTER, SWEEP_BACKSTOP, TICK, default_listen,
    parse_relay_addr,
};
pub use doc_sync::DropReason;
pub use error::NodeError;
pub use node::{
    GREETINGS_PER_TICK, MAX_FEED_START_FAILURES, MAX_SUMMARY_ATTEMPTS, SUMMARY_RETRY_AFTER,
};
pub use node::{MAX_BURST_BYTES, RELAY_FETCH_EVERY, RELAY_UPLOAD_EVERY, SUMMARY_GATHER, SyncNode};
pub use presence::{Cursor, PeerPresence, Presence};
pub use quire_net::ConnectionPath;
pub use status::{CatchUpCounters, DocStatus, NodeEvent, NodeStatus, RelayStatus};
