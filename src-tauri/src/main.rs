// A release build on Windows is a windowed program: no console window beside it.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

//! `quire-app`: the Quire desktop app. A Tauri 2 window shows the `ui/` front end; the
//! engine and the sync node run in this process (one app per data folder, see
//! `instance.rs`, so nothing else writes the database while the window is open).
//! Commands (`commands.rs`) are thin typed wrappers over the engine; `events.rs`
//! forwards changes from peers, presence and sync status to the window. `quire://`
//! links (invites) arrive as program arguments, from a second launch, or on macOS as
//! an "open URL" event, and wait in `links.rs` until the window takes them.

mod backups;
mod commands;
mod events;
mod filters;
mod import;
mod instance;
mod links;
mod menu;
mod startup_error;
mod update_channel;
mod window_state;
mod wire;

use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use instance::Launch;
use links::LinkInbox;
use quire_engine::{Engine, EngineConfig};
use quire_node::{NodeConfig, SyncNode};
use tauri::Manager;

/// Environment variable naming the data folder (default: the platform data folder).
const DATA_DIR_ENV: &str = "QUIRE_DATA_DIR";

/// The label of the one window (from `tauri.conf.json`).
pub(crate) const MAIN_WINDOW: &str = "main";

/// How long leaving waits for the goodbyes to go out.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(2);

/// What every command reaches.
pub(crate) struct App {
    pub(crate) engine: Engine,
    pub(crate) node: SyncNode,
    /// Where the documents are kept.
    pub(crate) data_folder: PathBuf,
}

fn data_dir() -> Option<PathBuf> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => dirs::data_dir().map(|d| d.join("quire")),
    }
}

fn main() -> ExitCode {
    let Some(dir) = data_dir() else {
        return startup_error::fail(&format!(
            "cannot find the platform data folder; set {DATA_DIR_ENV}"
        ));
    };
    let links = instance::links_in_args(
        std::env::args_os()
            .skip(1)
            .filter_map(|a| a.into_string().ok()),
    );
    let instance = match instance::claim(&dir, &links) {
        Ok(Launch::First(instance)) => instance,
        Ok(Launch::HandedOver) => return ExitCode::SUCCESS,
        Err(e) => return startup_error::fail(&e.to_string()),
    };
    // Later launches are answered at once, even while this one is still starting.
    let inbox = LinkInbox::new(links);
    let handovers = inbox.clone();
    if let Err(e) = instance.serve(move |links| handovers.deliver(links)) {
        return startup_error::fail(&format!("cannot listen for later launches: {e}"));
    }
    let started = tauri::async_runtime::block_on(async {
        let engine = Engine::open(EngineConfig::new(&dir)).await?;
        let mut config = NodeConfig::new();
        for text in engine.relays().await? {
            match quire_node::parse_relay_addr(&text) {
                Ok(addr) => config.relays.push(addr),
                Err(e) => tracing::warn!("skipping a relay from the settings: {e}"),
            }
        }
        let node = SyncNode::start(engine.clone(), config).await?;
        Ok::<_, Box<dyn std::error::Error>>(App {
            engine,
            node,
            data_folder: dir.clone(),
        })
    });
    let app = match started {
        Ok(app) => app,
        Err(e) => {
            return startup_error::fail(&format!("cannot open {}: {e}", dir.display()));
        }
    };
    let (engine, node) = (app.engine.clone(), app.node.clone());
    let built = tauri::Builder::default()
        .manage(app)
        .manage(inbox.clone())
        .manage(update_channel::UpdateChannel::default())
        .plugin(tauri_plugin_dialog::init())
        .menu(menu::build)
        .on_menu_event(menu::forward)
        .setup(move |handle| {
            let handle = handle.handle().clone();
            events::forward(handle.clone(), engine.clone(), node.clone());
            if let Some(window) = handle.get_webview_window(MAIN_WINDOW) {
                window_state::restore_and_track(&window, dir);
            }
            inbox.attach(handle.clone());
            handle.manage(instance);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::list_documents,
            commands::list_these,
            commands::create_document,
            commands::import_document,
            commands::import_files,
            commands::rename_document,
            commands::delete_document,
            commands::restore_document,
            commands::list_trash,
            commands::search,
            commands::search_index_status,
            commands::open_document,
            commands::apply_update,
            commands::watch_updates,
            commands::versions,
            commands::version_text,
            commands::diff,
            commands::restore_version,
            commands::create_version,
            commands::share,
            commands::join,
            commands::set_presence,
            commands::sync_status,
            commands::get_settings,
            commands::set_settings,
            links::take_links,
        ])
        .build(tauri::generate_context!());
    let tauri_app = match built {
        Ok(app) => app,
        Err(e) => return startup_error::fail(&e.to_string()),
    };
    tauri_app.run(|handle, event| match event {
        #[cfg(any(target_os = "macos", target_os = "ios"))]
        tauri::RunEvent::Opened { urls } => {
            handle
                .state::<LinkInbox>()
                .deliver(urls.iter().map(ToString::to_string).collect());
        }
        tauri::RunEvent::Exit => {
            // Say goodbye to collaborators, so they see this device leave at once.
            let node = handle.state::<App>().node.clone();
            let _ = tauri::async_runtime::block_on(async {
                tokio::time::timeout(GOODBYE_TIMEOUT, node.shutdown()).await
            });
            // An orderly quit leaves a backup, with pending work saved first.
            let engine = handle.state::<App>().engine.clone();
            let backup = tauri::async_runtime::block_on(async {
                engine.close().await?;
                engine.backup_now().await
            });
            if let Err(e) = backup {
                tracing::warn!("the backup on quit failed: {e}");
            }
            if let Some(instance) = handle.try_state::<instance::Instance>() {
                instance.retire();
            }
        }
        _ => {}
    });
    ExitCode::SUCCESS
}
