//! The window's commands: thin wrappers over the engine and the node. Errors reach the
//! window as the engine's one-line messages.

use std::collections::HashMap;

use quire_engine::{
    DocumentId, DocumentRecord, EngineError, Role, StoreError, VersionKind, VersionRef,
};
use tauri::State;
use tauri::ipc::{Channel, InvokeBody, InvokeResponseBody, Request, Response};

use crate::App;
use crate::filters::ListFilter;
use crate::update_channel::UpdateChannel;
use crate::wire::{
    DOC_ID_HEADER, DiffLine, DocumentSummary, ListedDocument, LocalPresence,
    MAX_WINDOW_UPDATE_BYTES, SearchHit, SearchIndexStatus, Settings, SyncStatus, TrashedDocument,
    VersionSummary, utf16_ranges,
};

/// Most search results the window is sent: more than a person reads, and the list
/// shows them all without a second query.
const MAX_SEARCH_RESULTS: usize = 200;

type Reply<T> = Result<T, String>;

fn id(text: &str) -> Reply<DocumentId> {
    text.parse()
        .map_err(|e: quire_doc::ParseIdError| e.to_string())
}

async fn roles(app: &App) -> Reply<HashMap<DocumentId, Role>> {
    let memberships = app.engine.memberships().await.map_err(|e| e.to_string())?;
    Ok(memberships.into_iter().map(|m| (m.id, m.role())).collect())
}

fn summary(record: &DocumentRecord, roles: &HashMap<DocumentId, Role>) -> DocumentSummary {
    DocumentSummary {
        id: record.id.to_string(),
        title: record.title.clone(),
        updated_at: record.updated_at,
        chars: record.chars,
        role: roles.get(&record.id).copied().map(Role::as_str),
    }
}

/// The documents that pass `filter` (every live one without it), in its order.
#[tauri::command]
pub(crate) async fn list_documents(
    app: State<'_, App>,
    filter: Option<ListFilter>,
) -> Reply<Vec<ListedDocument>> {
    let roles = roles(&app).await?;
    let docs = match filter {
        None => app.engine.list().await,
        Some(filter) => {
            let (filter, sort) = filter.to_engine(quire_engine::now_ms())?;
            app.engine.list_documents(&filter, sort).await
        }
    }
    .map_err(|e| e.to_string())?;
    Ok(docs
        .iter()
        .map(|d| ListedDocument {
            summary: summary(d, &roles),
            deleted_at: d.deleted_at,
        })
        .collect())
}

/// Most ids in one [`list_these`] (the window asks for every document beyond it):
/// `MAX_LISTED_BY_ID` in `ui/src/ipc.ts`.
const MAX_LISTED_BY_ID: usize = 1000;

/// These documents as the list shows them: the live ones (an id no document has, or
/// one in the trash, is left out). What the window asks for when documents it does
/// not know arrive from elsewhere, instead of every document (10,000 of them cost
/// WebKit seconds to take in).
#[tauri::command]
pub(crate) async fn list_these(
    app: State<'_, App>,
    ids: Vec<String>,
) -> Reply<Vec<DocumentSummary>> {
    if ids.len() > MAX_LISTED_BY_ID {
        return Err(format!(
            "at most {MAX_LISTED_BY_ID} documents at once, not {}",
            ids.len()
        ));
    }
    let roles = roles(&app).await?;
    let mut listed = Vec::with_capacity(ids.len());
    for text in &ids {
        match app.engine.info(id(text)?).await {
            Ok(record) if record.deleted_at.is_none() => listed.push(summary(&record, &roles)),
            Ok(_) | Err(EngineError::Store(StoreError::NoSuchDocument(_))) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(listed)
}

#[tauri::command]
pub(crate) async fn create_document(app: State<'_, App>, title: String) -> Reply<DocumentSummary> {
    let id = app
        .engine
        .create(&title, "")
        .await
        .map_err(|e| e.to_string())?;
    let record = app.engine.info(id).await.map_err(|e| e.to_string())?;
    Ok(summary(&record, &HashMap::new()))
}

/// Asks for Markdown files in the system's dialog and imports them (progress and the
/// outcome arrive as `import-progress` and `import-done`); returns how many.
#[tauri::command]
pub(crate) async fn import_files(app: tauri::AppHandle) -> Reply<usize> {
    Ok(crate::import::pick_and_import(app).await)
}

/// Imports the text of a Markdown file the window read (named `fileName`).
#[tauri::command]
pub(crate) async fn import_document(
    app: State<'_, App>,
    file_name: String,
    text: String,
) -> Reply<DocumentSummary> {
    let id = app
        .engine
        .import_text(&file_name, &text)
        .await
        .map_err(|e| e.to_string())?;
    let record = app.engine.info(id).await.map_err(|e| e.to_string())?;
    Ok(summary(&record, &HashMap::new()))
}

#[tauri::command]
pub(crate) async fn rename_document(app: State<'_, App>, id: String, title: String) -> Reply<()> {
    app.engine
        .rename(self::id(&id)?, &title)
        .await
        .map_err(|e| e.to_string())
}

#[tauri::command]
pub(crate) async fn delete_document(app: State<'_, App>, id: String) -> Reply<()> {
    app.engine
        .delete(self::id(&id)?)
        .await
        .map_err(|e| e.to_string())
}

#[tauri::command]
pub(crate) async fn restore_document(app: State<'_, App>, id: String) -> Reply<()> {
    app.engine
        .restore(self::id(&id)?)
        .await
        .map_err(|e| e.to_string())
}

#[tauri::command]
pub(crate) async fn list_trash(app: State<'_, App>) -> Reply<Vec<TrashedDocument>> {
    let roles = roles(&app).await?;
    let docs = app.engine.trash().await.map_err(|e| e.to_string())?;
    Ok(docs
        .iter()
        .map(|d| TrashedDocument {
            summary: summary(d, &roles),
            deleted_at: d.deleted_at.unwrap_or_default(),
        })
        .collect())
}

/// Documents matching `query` and passing `filter` (live ones, any sharing, without
/// it), best first unless the filter sorts otherwise. Highlights are UTF-16 offsets.
#[tauri::command]
pub(crate) async fn search(
    app: State<'_, App>,
    query: String,
    filter: Option<ListFilter>,
) -> Reply<Vec<SearchHit>> {
    let (filter, sort) = filter
        .unwrap_or_default()
        .to_engine(quire_engine::now_ms())?;
    let hits = app
        .engine
        .search_documents(&query, &filter, sort, MAX_SEARCH_RESULTS)
        .await
        .map_err(|e| e.to_string())?;
    Ok(hits
        .into_iter()
        .map(|h| SearchHit {
            id: h.id.to_string(),
            highlights: utf16_ranges(&h.snippet, &h.highlights),
            title: h.title,
            snippet: h.snippet,
        })
        .collect())
}

/// Whether search covers every document, or how far the rebuild of its index (after
/// an upgrade) has come.
#[tauri::command]
pub(crate) fn search_index_status(app: State<'_, App>) -> SearchIndexStatus {
    match app.engine.search_index_status() {
        quire_engine::IndexStatus::Ready => SearchIndexStatus {
            rebuilding: false,
            done: 0,
            total: 0,
        },
        quire_engine::IndexStatus::Rebuilding { done, total } => SearchIndexStatus {
            rebuilding: true,
            done,
            total,
        },
    }
}

/// The whole document as raw bytes (see [`crate::wire::opened_document`]): a 10 MB
/// document crosses as 10 MB, not as a JSON array of numbers four times its size that
/// the window must parse.
#[tauri::command]
pub(crate) async fn open_document(app: State<'_, App>, id: String) -> Reply<Response> {
    let id = self::id(&id)?;
    let state = app
        .engine
        .encode_state(id)
        .await
        .map_err(|e| e.to_string())?;
    let read_only = roles(&app).await?.get(&id) == Some(&Role::Read);
    Ok(Response::new(crate::wire::opened_document(
        state, read_only,
    )))
}

/// A local edit made in the window's Yjs copy: durable when this returns. The update
/// is the raw request body; the document id is in the [`DOC_ID_HEADER`] header.
#[tauri::command]
pub(crate) async fn apply_update(app: State<'_, App>, request: Request<'_>) -> Reply<()> {
    let InvokeBody::Raw(update) = request.body() else {
        return Err("apply_update takes the update as raw bytes".to_owned());
    };
    if update.len() > MAX_WINDOW_UPDATE_BYTES {
        return Err(format!(
            "an edit of {} bytes is over the {MAX_WINDOW_UPDATE_BYTES}-byte limit",
            update.len()
        ));
    }
    let id = request
        .headers()
        .get(DOC_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("apply_update needs the document id in {DOC_ID_HEADER}"))?;
    let receipt = app
        .engine
        .apply_local_update(self::id(id)?, update)
        .map_err(|e| e.to_string())?;
    receipt.saved().await.map_err(|e| e.to_string())
}

/// Opens the channel document updates reach the window by (see
/// [`crate::update_channel`]); a reloaded page calls it again.
#[tauri::command]
pub(crate) fn watch_updates(
    updates: State<'_, UpdateChannel>,
    channel: Channel<InvokeResponseBody>,
) {
    updates.set(channel);
}

#[tauri::command]
pub(crate) async fn versions(app: State<'_, App>, id: String) -> Reply<Vec<VersionSummary>> {
    let versions = app
        .engine
        .versions(self::id(&id)?)
        .await
        .map_err(|e| e.to_string())?;
    Ok(versions
        .into_iter()
        .map(|v| VersionSummary {
            number: v.number,
            kind: match v.kind {
                VersionKind::Auto => "auto",
                VersionKind::Named => "named",
                VersionKind::Restore => "restore",
            },
            name: v.name,
            created_at: v.created_at,
            chars: v.chars,
        })
        .collect())
}

#[tauri::command]
pub(crate) async fn version_text(app: State<'_, App>, id: String, number: i64) -> Reply<String> {
    app.engine
        .version_text(self::id(&id)?, VersionRef::Number(number))
        .await
        .map_err(|e| e.to_string())
}

#[tauri::command]
pub(crate) async fn diff(
    app: State<'_, App>,
    id: String,
    from: i64,
    to: Option<i64>,
) -> Reply<Vec<DiffLine>> {
    let to = to.map_or(VersionRef::Current, VersionRef::Number);
    let diff = app
        .engine
        .diff(self::id(&id)?, VersionRef::Number(from), to)
        .await
        .map_err(|e| e.to_string())?;
    Ok(diff
        .lines()
        .into_iter()
        .map(|l| DiffLine {
            kind: match l.kind {
                quire_engine::DiffKind::Equal => "equal",
                quire_engine::DiffKind::Insert => "insert",
                quire_engine::DiffKind::Delete => "delete",
            },
            old_line: l.old_line,
            new_line: l.new_line,
            text: l.text,
        })
        .collect())
}

#[tauri::command]
pub(crate) async fn restore_version(app: State<'_, App>, id: String, number: i64) -> Reply<i64> {
    app.engine
        .restore_version(self::id(&id)?, number)
        .await
        .map_err(|e| e.to_string())
}

#[tauri::command]
pub(crate) async fn create_version(app: State<'_, App>, id: String, name: String) -> Reply<i64> {
    app.engine
        .create_version(self::id(&id)?, Some(&name))
        .await
        .map_err(|e| e.to_string())
}

#[tauri::command]
pub(crate) async fn share(app: State<'_, App>, id: String, read_only: bool) -> Reply<String> {
    let role = if read_only { Role::Read } else { Role::Write };
    let addrs = app.node.ticket_addrs().await.map_err(|e| e.to_string())?;
    let ticket = app
        .engine
        .share(self::id(&id)?, role, addrs)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ticket.to_link())
}

#[tauri::command]
pub(crate) async fn join(app: State<'_, App>, link: String) -> Reply<String> {
    let id = app
        .engine
        .join(link.trim())
        .await
        .map_err(|e| e.to_string())?;
    Ok(id.to_string())
}

#[tauri::command]
pub(crate) async fn set_presence(
    app: State<'_, App>,
    id: String,
    presence: LocalPresence,
) -> Reply<()> {
    let cursor = presence.cursor.map(|c| quire_node::Cursor {
        anchor: c.anchor,
        head: c.head,
    });
    match app
        .node
        .set_presence(self::id(&id)?, cursor, presence.typing)
        .await
    {
        // A document that is not shared has nobody to show presence to.
        Ok(()) | Err(quire_node::NodeError::NotSyncing(_)) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

#[tauri::command]
pub(crate) async fn sync_status(app: State<'_, App>) -> Reply<SyncStatus> {
    crate::events::sync_status(&app.node)
        .await
        .map_err(|e| e.to_string())
}

#[tauri::command]
pub(crate) async fn get_settings(app: State<'_, App>) -> Reply<Settings> {
    let display_name = app.engine.display_name().await.map_err(|e| e.to_string())?;
    let chosen = app.engine.color().await.map_err(|e| e.to_string())?;
    let color = chosen
        .unwrap_or_else(|| quire_node::presence::default_color(&app.engine.peer_id()).to_owned());
    Ok(Settings {
        display_name,
        color,
        data_folder: app.data_folder.display().to_string(),
        relays: app.engine.relays().await.map_err(|e| e.to_string())?,
    })
}

#[tauri::command]
pub(crate) async fn set_settings(app: State<'_, App>, settings: Settings) -> Reply<Settings> {
    // Nothing is kept unless everything is valid.
    if !quire_engine::is_hex_color(settings.color.trim()) {
        return Err(format!(
            "a colour is written #rrggbb, not {:?}",
            settings.color
        ));
    }
    let relays = settings
        .relays
        .iter()
        .filter(|r| !r.trim().is_empty())
        .map(|r| quire_node::parse_relay_addr(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if relays.len() > quire_engine::MAX_RELAYS {
        return Err(format!("at most {} relays", quire_engine::MAX_RELAYS));
    }
    let name = app
        .engine
        .set_display_name(&settings.display_name)
        .await
        .map_err(|e| e.to_string())?;
    let color = app
        .engine
        .set_color(&settings.color)
        .await
        .map_err(|e| e.to_string())?;
    app.node
        .set_profile(name, Some(color))
        .await
        .map_err(|e| e.to_string())?;
    let texts: Vec<String> = relays.iter().map(ToString::to_string).collect();
    app.engine
        .set_relays(&texts)
        .await
        .map_err(|e| e.to_string())?;
    app.node
        .set_relays(relays)
        .await
        .map_err(|e| e.to_string())?;
    get_settings(app).await
}
