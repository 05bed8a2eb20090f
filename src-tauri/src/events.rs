//! Forwards to the window what changes behind it: updates from peers (and local
//! changes made elsewhere, such as a restore) over the raw update channel, titles,
//! presence, and the sync status.

use std::time::Duration;

use quire_engine::{Engine, EngineEvent};
use quire_node::{NodeEvent, SyncNode};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

use crate::update_channel::UpdateChannel;
use crate::wire::{Cursor, Presence, SyncStatus};

/// How often the sync status is sent while it changes.
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// A document's title changed (here or on a peer): the window updates one row of its
/// list instead of asking for the whole list.
#[derive(Serialize, Clone)]
struct RenamedEvent {
    id: String,
    title: String,
}

#[derive(Serialize, Clone)]
struct PresenceEvent {
    id: String,
    peer: String,
    presence: Option<Presence>,
}

/// Progress of a catch-up with a peer (chunks of its answer applied).
#[derive(Serialize, Clone)]
struct CatchUpEvent {
    id: String,
    peer: String,
    received: u32,
    total: u32,
}

/// The node's status as the window shows it.
pub(crate) async fn sync_status(node: &SyncNode) -> Result<SyncStatus, quire_node::NodeError> {
    let status = node.status().await?;
    let peers = status.connected.len();
    Ok(SyncStatus {
        // The best way any peer is reached: lan, direct or relayed.
        mode: status
            .paths
            .values()
            .max()
            .map_or("offline", |path| path.as_str()),
        peers,
        pending: status.docs.iter().map(|d| d.pending).sum(),
    })
}

/// Starts the forwarding tasks.
pub(crate) fn forward(app: AppHandle, engine: Engine, node: SyncNode) {
    let mut changes = engine.subscribe();
    let window = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(EngineEvent::Changed { id, origin, update }) => {
                    window
                        .state::<UpdateChannel>()
                        .send(&id.to_string(), &origin, &update);
                }
                Ok(EngineEvent::Renamed { id, title }) => {
                    let event = RenamedEvent {
                        id: id.to_string(),
                        title,
                    };
                    if let Err(e) = window.emit("doc-renamed", event) {
                        tracing::warn!("cannot tell the window about a new title: {e}");
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let mut events = node.subscribe();
    let window = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            match event {
                NodeEvent::Presence { id, peer, presence } => {
                    let presence = presence.map(|p| Presence {
                        name: p.name,
                        color: p.color,
                        cursor: p.cursor.map(|c| Cursor {
                            anchor: c.anchor,
                            head: c.head,
                        }),
                        typing: p.typing,
                    });
                    let event = PresenceEvent {
                        id: id.to_string(),
                        peer: peer.to_string(),
                        presence,
                    };
                    let _ = window.emit("presence", event);
                }
                NodeEvent::CatchingUp {
                    id,
                    peer,
                    received,
                    total,
                } => {
                    let event = CatchUpEvent {
                        id: id.to_string(),
                        peer: peer.to_string(),
                        received,
                        total,
                    };
                    let _ = window.emit("catch-up", event);
                }
                _ => {}
            }
        }
    });
    tauri::async_runtime::spawn(async move {
        let mut last: Option<(&str, usize, u64)> = None;
        loop {
            tokio::time::sleep(STATUS_EVERY).await;
            let Ok(status) = sync_status(&node).await else {
                break;
            };
            let now = (status.mode, status.peers, status.pending);
            if last != Some(now) {
                last = Some(now);
                let _ = app.emit("sync-status", status);
            }
        }
    });
}
