//! Sharing commands: share, join, leave, rejoin, status, peers, whoami. They work on
//! the data folder alone; with a running daemon (`node`) they also show and use the
//! network.

use std::time::Duration;

use anyhow::{Result, bail};
use quire_engine::{DocumentId, Engine, Role};
use quire_node::{ConnectionPath, NodeEvent, SyncNode};
use serde_json::json;

use crate::io::{Io, outln};
use crate::output;

const NO_DAEMON: &str =
    "no `quire daemon` runs for this data folder, so nothing syncs now; start one to sync";

pub(crate) async fn share(
    engine: &Engine,
    node: Option<&SyncNode>,
    id: DocumentId,
    read_only: bool,
    json: bool,
    io: &mut Io,
) -> Result<()> {
    let addrs = match node {
        Some(node) => node.ticket_addrs().await?,
        None => Vec::new(),
    };
    let role = if read_only { Role::Read } else { Role::Write };
    let ticket = engine.share(id, role, addrs).await?;
    if json {
        io.json(json!({
            "id": id.to_string(),
            "role": role.as_str(),
            "link": ticket.to_link(),
            "addrs": ticket.addrs(),
        }));
    } else {
        outln!(io, "{}", ticket.to_link());
    }
    if node.is_none() {
        io.note(&format!(
            "note: {NO_DAEMON} (peers on this network find it by mDNS)"
        ));
    }
    Ok(())
}

pub(crate) async fn join(
    engine: &Engine,
    node: Option<&SyncNode>,
    ticket: &str,
    wait: Option<u64>,
    json: bool,
    io: &mut Io,
) -> Result<()> {
    let mut events = node.map(SyncNode::subscribe);
    let id = engine.join(ticket.trim()).await?;
    let role = engine.membership(id).await?.map(|m| m.role());
    let mut synced = false;
    if let Some(seconds) = wait {
        let Some(events) = events.as_mut() else {
            bail!("--wait needs a running `quire daemon` for this data folder; start one first");
        };
        synced = wait_for_sync(events, id, Duration::from_secs(seconds)).await;
        if !synced {
            bail!(
                "joined {id}, but no peer answered within {seconds} s; it syncs as soon as one is reachable"
            );
        }
    }
    let info = engine.info(id).await?;
    if json {
        io.json(json!({
            "id": id.to_string(),
            "title": info.title,
            "role": role.map(Role::as_str),
            "synced": synced,
        }));
    } else {
        let title = if info.title.is_empty() {
            "(title arrives with the first sync)"
        } else {
            &info.title
        };
        outln!(io, "{id}  {title}");
    }
    if role == Some(Role::Read) {
        io.note("joined read-only: you can read and follow this document, not edit it");
    }
    if node.is_none() {
        io.note(&format!("note: {NO_DAEMON}"));
    }
    Ok(())
}

async fn wait_for_sync(
    events: &mut tokio::sync::broadcast::Receiver<NodeEvent>,
    id: DocumentId,
    within: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(NodeEvent::Synced { id: synced, .. })) if synced == id => return true,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(_)) | Err(_) => return false,
        }
    }
}

pub(crate) async fn status(
    engine: &Engine,
    node: Option<&SyncNode>,
    json: bool,
    io: &mut Io,
) -> Result<()> {
    let memberships = engine.memberships().await?;
    let live = match node {
        Some(node) => Some(node.status().await?),
        None => None,
    };
    let mut docs = Vec::new();
    for m in &memberships {
        let info = engine.info(m.id).await?;
        let state = live
            .as_ref()
            .and_then(|s| s.docs.iter().find(|d| d.id == m.id));
        docs.push((m, info, state));
    }
    if json {
        let list: Vec<_> = docs
            .iter()
            .map(|(m, info, state)| {
                json!({
                    "id": m.id.to_string(),
                    "title": info.title,
                    "role": m.role().as_str(),
                    "syncing": m.syncing,
                    "peers": state.map(|s| s.peers.iter().map(ToString::to_string).collect::<Vec<_>>()).unwrap_or_default(),
                    "present": state.map(|s| s.present.iter().map(|p| json!({"peer": p.peer.to_string(), "name": p.presence.name, "color": p.presence.color, "typing": p.presence.typing})).collect::<Vec<_>>()).unwrap_or_default(),
                    "last_sync": state.and_then(|s| s.last_sync).or(m.last_sync),
                    "pending": state.map(|s| s.pending),
                    "dropped": state.map(|s| s.dropped.iter().map(|(r, n)| (r.as_str().to_owned(), json!(n))).collect::<serde_json::Map<_, _>>()),
                })
            })
            .collect();
        io.json(json!({
            "daemon": live.is_some(),
            "peer_id": engine.peer_id().to_string(),
            "connected": live.as_ref().map(|s| s.connected.len()),
            "relays": live.as_ref().map(|s| s.relays.iter().map(|r| json!({
                "addr": r.addr.to_string(),
                "connected": r.connected,
                "reachable_through": r.reachable_through,
                "last_upload": r.last_upload,
                "last_read": r.last_read,
                "error": r.error,
            })).collect::<Vec<_>>()).unwrap_or_default(),
            "documents": list,
        }));
        return Ok(());
    }
    match &live {
        Some(s) => outln!(
            io,
            "daemon: running, {} peer(s) connected",
            s.connected.len()
        ),
        None => outln!(
            io,
            "daemon: not running (`quire daemon` syncs shared documents)"
        ),
    }
    for relay in live.iter().flat_map(|s| &s.relays) {
        let state = if relay.reachable_through {
            "connected, other members can reach this device through it"
        } else if relay.connected {
            "connected"
        } else {
            "unreachable"
        };
        let ago = |at: Option<i64>| {
            at.map_or_else(
                || "never".to_owned(),
                |t| format!("{} s ago", (quire_engine::now_ms() - t).max(0) / 1000),
            )
        };
        outln!(
            io,
            "relay {}: {state}; last upload {}, last read {}{}",
            relay.addr,
            ago(relay.last_upload),
            ago(relay.last_read),
            relay
                .error
                .as_ref()
                .map(|e| format!("; {e}"))
                .unwrap_or_default()
        );
    }
    if docs.is_empty() {
        outln!(
            io,
            "no shared documents; `quire share DOC` makes an invite link"
        );
    }
    for (m, info, state) in docs {
        let short: String = m.id.to_string().chars().take(12).collect();
        let sync_state = if !m.syncing {
            "left".to_owned()
        } else {
            match state {
                Some(s) if s.peers.is_empty() => "no peers online".to_owned(),
                Some(s) => {
                    let names: Vec<String> =
                        s.present.iter().map(|p| p.presence.name.clone()).collect();
                    if names.is_empty() {
                        format!("{} peer(s)", s.peers.len())
                    } else {
                        format!("{} peer(s): {}", s.peers.len(), names.join(", "))
                    }
                }
                None => "offline".to_owned(),
            }
        };
        let last = state
            .and_then(|s| s.last_sync)
            .or(m.last_sync)
            .map_or_else(|| "never".to_owned(), output::time);
        outln!(
            io,
            "{short}  {}  [{}]  {sync_state}  last sync {last}",
            info.title,
            m.role().as_str()
        );
        if let Some(s) = state {
            let dropped: u64 = s.dropped.values().sum();
            let mut line = format!("              pending {}", s.pending);
            if dropped > 0 {
                let reasons: Vec<String> =
                    s.dropped.iter().map(|(r, n)| format!("{r} {n}")).collect();
                line.push_str(&format!(", dropped {dropped} ({})", reasons.join(", ")));
            }
            outln!(io, "{line}");
        }
    }
    Ok(())
}

pub(crate) async fn peers(
    engine: &Engine,
    node: Option<&SyncNode>,
    json: bool,
    io: &mut Io,
) -> Result<()> {
    let Some(node) = node else {
        bail!("{NO_DAEMON}; `quire peers` shows the peers of a running daemon");
    };
    let status = node.status().await?;
    let mut rows = Vec::new();
    for peer in &status.connected {
        let mut docs = Vec::new();
        let mut name = None;
        for doc in &status.docs {
            if doc.peers.contains(peer) {
                docs.push(
                    engine
                        .info(doc.id)
                        .await
                        .map(|i| i.title)
                        .unwrap_or_default(),
                );
            }
            if let Some(p) = doc.present.iter().find(|p| p.peer == *peer) {
                name = Some(p.presence.name.clone());
            }
        }
        let path = status.paths.get(peer).copied();
        rows.push((peer.to_string(), name, docs, path));
    }
    if json {
        io.json(json!(
            rows.iter()
                .map(|(peer, name, docs, path)| json!({
                    "peer": peer,
                    "name": name,
                    "documents": docs,
                    "path": path.map(ConnectionPath::as_str),
                }))
                .collect::<Vec<_>>()
        ));
    } else if rows.is_empty() {
        outln!(io, "no peers connected");
    } else {
        for (peer, name, docs, path) in rows {
            outln!(
                io,
                "{peer}  {}  {}  {}",
                name.unwrap_or_else(|| "-".into()),
                path.map_or_else(|| "-".to_owned(), |p| p.to_string()),
                docs.join(", ")
            );
        }
    }
    Ok(())
}

pub(crate) async fn whoami(
    engine: &Engine,
    node: Option<&SyncNode>,
    name: Option<String>,
    color: Option<String>,
    json: bool,
    io: &mut Io,
) -> Result<()> {
    if let Some(name) = &name {
        engine.set_display_name(name).await?;
    }
    if let Some(color) = &color {
        engine.set_color(color).await?;
    }
    let name = engine.display_name().await?;
    let chosen = engine.color().await?;
    if let Some(node) = node {
        node.set_profile(name.clone(), chosen.clone()).await?;
    }
    let peer_id = engine.peer_id();
    let color = chosen.unwrap_or_else(|| quire_node::presence::default_color(&peer_id).to_owned());
    if json {
        io.json(json!({
            "peer_id": peer_id.to_string(),
            "name": name,
            "color": color,
            "daemon": node.is_some(),
        }));
    } else {
        outln!(io, "{name}");
        outln!(io, "colour {color}");
        outln!(io, "peer id {peer_id}");
    }
    Ok(())
}
