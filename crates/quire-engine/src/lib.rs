//! `quire-engine`: the Quire node. One async API over documents (quire-doc), their
//! durable store (quire-store) and files, used alike by the desktop app, the `quire`
//! CLI and (next) the network layer.
//!
//! ## Flow of an edit
//! 1. [`Engine::submit_edit`] applies the edit to the document in memory (so reads
//!    see it at once) and gets the yrs update it produced.
//! 2. The update is queued on the store's writer, which commits queued writes in
//!    groups; the returned [`Receipt`] resolves once the update's row is durable.
//! 3. An [`EngineEvent::Changed`] carrying the update and its [`Origin`] goes to every
//!    subscriber. The network layer is one more subscriber (a sink of local updates)
//!    and one more caller of [`Engine::apply_update`] (a source of remote ones).
//!
//! Behind the edit, the engine keeps each open document's log bounded (compacting it
//! into a snapshot), takes automatic version checkpoints (every N edits and after a
//! pause), and refreshes the search index when editing pauses (and before a search).
//!
//! ```no_run
//! # async fn demo() -> Result<(), quire_engine::EngineError> {
//! use quire_engine::{Edit, Engine, EngineConfig};
//!
//! let engine = Engine::open(EngineConfig::new("/tmp/quire-data")).await?;
//! let id = engine.create("Notes", "# Notes\n").await?;
//! engine.edit(id, Edit::Append("- buy milk\n".into())).await?;
//! assert_eq!(engine.text(id).await?, "# Notes\n- buy milk\n");
//! engine.close().await?;
//! # Ok(()) }
//! ```

mod backups;
mod catalog;
mod config;
mod data_folder;
mod doctor;
mod edit;
mod engine;
mod error;
mod events;
mod files;
mod open_doc;
mod relay_marks;
mod replica_sync;
mod sharing;
mod time_label;
mod versions;

pub use backups::{BACKUP_RETRY, BACKUPS_KEPT, BackupInfo, Restored, list_backups, restore_backup};
pub use config::{BACKUP_EVERY, EngineConfig};
pub use data_folder::{BACKUP_DIR, check_private};
pub use doctor::{DoctorReport, Suspect, doctor};
pub use edit::{DurableProgress, Edit, Receipt};
pub use engine::Engine;
pub use error::EngineError;
pub use events::EngineEvent;
pub use files::MAX_IMPORT_BYTES;
pub use quire_crypto::{DeviceIdentity, DocKeys, PeerId, Role, Ticket};
pub use quire_doc::DocumentId;
pub use quire_doc::diff::{DiffKind, DiffLine, DiffSpan};
pub use quire_store::private_files;
pub use quire_store::{
    DocumentFilter, DocumentRecord, FilterTextError, IndexStatus, LostDocument, MAX_AGE_MS,
    MemberRole, Origin, SalvageReport, SearchHit, Sharing, SortOrder, StoreError, VersionKind,
    VersionRecord, now_ms, parse_age_ms,
};
pub use relay_marks::{MAX_RELAYS, RelayMark};
pub use sharing::{MAX_DISPLAY_NAME_CHARS, Membership, is_hex_color};
pub use time_label::local_time_label;
pub use versions::{VersionDiff, VersionRef};

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send<T: Send>(_: &T) {}

    /// The desktop app and the network layer run engine calls on spawned tasks, which
    /// needs every future to be `Send` (no lock guard held across an await).
    #[test]
    fn engine_futures_are_send() {
        let config = EngineConfig::new("unused");
        is_send(&Engine::open(config));
        let make = |e: Engine, id: DocumentId| {
            is_send(&e.create("t", "x"));
            is_send(&e.edit(id, Edit::Append(String::new())));
            is_send(&e.apply_update(id, &[], Origin::Local));
            is_send(&e.rename(id, "t"));
            is_send(&e.delete(id));
            is_send(&e.restore(id));
            is_send(&e.purge(id));
            is_send(&e.search("q", 1));
            is_send(&e.versions(id));
            is_send(&e.create_version(id, None));
            is_send(&e.restore_version(id, 1));
            is_send(&e.diff(id, VersionRef::Number(1), VersionRef::Current));
            is_send(&e.import_markdown(std::path::Path::new("x")));
            is_send(&e.close());
            is_send(&e.adopt(id, "t"));
            is_send(&e.sync_open(id));
            let mut session = quire_doc::sync::SyncSession::default();
            let msg = quire_doc::sync::SyncMessage::StateVector(Vec::new());
            is_send(&e.sync_handle(id, &mut session, &msg, Origin::Local));
        };
        // Only type-checked: nothing is run.
        let _ = make;
    }
}
