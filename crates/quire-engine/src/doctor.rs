//! `quire doctor`: checks the database with SQLite's `integrity_check`; a damaged
//! file is salvaged (every readable document copied row by row into a fresh file,
//! which takes its place; the damaged file is kept beside it), and then what is
//! derived from the documents (the search index) is built again from each one.
//!
//! Every document of the resulting database is loaded to prove it opens, and its
//! length is compared with the length stored when it was last saved: a document that
//! does not open, or came back shorter or longer, is named as a suspect.

use std::path::PathBuf;

use quire_doc::DocumentId;
use quire_store::private_files::sync_dir;
use quire_store::{Lifecycle, SalvageReport, StoreError, now_ms, ops};

use crate::backups::move_database;
use crate::open_doc::OpenDoc;
use crate::{Engine, EngineConfig, EngineError};

/// What [`doctor`] found and did.
#[derive(Debug, Default)]
pub struct DoctorReport {
    /// What `integrity_check` reported (empty: the file was whole).
    pub problems: Vec<String>,
    /// The salvage of a damaged file, if there was one.
    pub salvage: Option<SalvageReport>,
    /// Where the damaged file was kept.
    pub damaged_kept_at: Option<PathBuf>,
    /// Documents that open, whose search entry was built again.
    pub reindexed: usize,
    /// Documents that do not open, or whose text may be incomplete.
    pub suspects: Vec<Suspect>,
}

/// A document that did not come back whole.
#[derive(Debug, Clone)]
pub struct Suspect {
    /// The document.
    pub id: DocumentId,
    /// Its stored title.
    pub title: String,
    /// What is wrong.
    pub detail: String,
}

/// Checks, salvages if damaged, and rebuilds the derived data of the data folder in
/// `config`. Needs the folder to itself ([`EngineError::Busy`] otherwise).
pub async fn doctor(config: EngineConfig) -> Result<DoctorReport, EngineError> {
    let mut report = DoctorReport::default();
    let database = config.database_path();
    {
        // Held while files are checked and moved; released before the engine opens.
        let _lock = crate::data_folder::open(&config)?;
        if database.exists() {
            report.problems = match quire_store::check_file(&database, false) {
                Ok(problems) => problems,
                Err(StoreError::Corrupt { detail, .. }) => vec![detail],
                Err(e) => return Err(e.into()),
            };
        }
        if !report.problems.is_empty() {
            let dir = &config.data_dir;
            let stamp = now_ms();
            let fresh = dir.join(format!("quire.salvaged-{stamp}.db"));
            let salvaged = quire_store::salvage(&database, &fresh);
            let salvaged = match salvaged {
                Ok(salvaged) => salvaged,
                Err(e) => {
                    let _ = std::fs::remove_file(&fresh);
                    return Err(e.into());
                }
            };
            let kept = dir.join(format!("quire.damaged-{stamp}.db"));
            move_database(&database, &kept)?;
            std::fs::rename(&fresh, &database).map_err(|e| EngineError::io(&database, e))?;
            sync_dir(dir).map_err(|e| EngineError::io(dir, e))?;
            report.salvage = Some(salvaged);
            report.damaged_kept_at = Some(kept);
        }
    }
    let engine = Engine::open(config).await?;
    let store = engine.store();
    let mut records = store.documents(Lifecycle::Active)?;
    records.extend(store.documents(Lifecycle::Trashed)?);
    for record in records {
        let suspect = |detail: String| Suspect {
            id: record.id,
            title: record.title.clone(),
            detail,
        };
        let mut open = match OpenDoc::load(store, record.id) {
            Ok(open) => open,
            Err(e) => {
                report
                    .suspects
                    .push(suspect(format!("it does not open: {e}")));
                continue;
            }
        };
        let chars = open.doc.len_chars();
        if i64::try_from(chars).ok() != Some(record.chars) {
            report.suspects.push(suspect(format!(
                "its text has {chars} characters, but {} when it was last saved: part of it may be missing",
                record.chars
            )));
        }
        let title = open.doc.title().unwrap_or(record.title.clone());
        engine
            .write_async(ops::index_text(record.id, title, open.doc.text()))
            .await?;
        report.reindexed += 1;
    }
    engine.close().await?;
    Ok(report)
}
