//! `quire-app`: the Quire desktop app. A Tauri 2 window shows the `ui/` front end; the
//! engine and the sync node run in this process (one process per data folder, so
//! nothing else can write the database while the window is open). Commands
//! (`commands.rs`) are thin typed wrappers over the engine; `events.rs` forwards
//! changes from peers, presence and sync status to the window.

mod commands;
mod events;
mod wire;

use std::path::PathBuf;
use std::process::ExitCode;

use quire_engine::{Engine, EngineConfig};
use quire_node::{NodeConfig, SyncNode};

/// Environment variable naming the data folder (default: the platform data folder).
const DATA_DIR_ENV: &str = "QUIRE_DATA_DIR";

/// What every command reaches.
pub(crate) struct App {
    pub(crate) engine: Engine,
    pub(crate) node: SyncNode,
}

fn data_dir() -> Option<PathBuf> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => dirs::data_dir().map(|d| d.join("quire")),
    }
}

fn main() -> ExitCode {
    let Some(dir) = data_dir() else {
        eprintln!("quire-app: cannot find the platform data folder; set {DATA_DIR_ENV}");
        return ExitCode::FAILURE;
    };
    let started = tauri::async_runtime::block_on(async {
        let engine = Engine::open(EngineConfig::new(&dir)).await?;
        let node = SyncNode::start(engine.clone(), NodeConfig::new()).await?;
        Ok::<_, Box<dyn std::error::Error>>(App { engine, node })
    });
    let app = match started {
        Ok(app) => app,
        Err(e) => {
            eprintln!("quire-app: cannot open {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    let (engine, node) = (app.engine.clone(), app.node.clone());
    let result = tauri::Builder::default()
        .manage(app)
        .setup(move |handle| {
            events::forward(handle.handle().clone(), engine.clone(), node.clone());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::list_documents,
            commands::create_document,
            commands::rename_document,
            commands::delete_document,
            commands::restore_document,
            commands::list_trash,
            commands::search,
            commands::open_document,
            commands::apply_update,
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
        ])
        .run(tauri::generate_context!("../tauri.conf.json"));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quire-app: {e}");
            ExitCode::FAILURE
        }
    }
}
