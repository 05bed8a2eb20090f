//! [`Engine`]: open documents, edits, updates from elsewhere, lifecycle, search.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use quire_doc::{Document, DocumentId};
use quire_store::{Origin, Store, now_ms, ops};
use tokio::sync::broadcast;

use crate::edit::DurableTickets;
use crate::events::EVENT_BUFFER;
use crate::open_doc::OpenDoc;
use crate::{Edit, EngineConfig, EngineError, EngineEvent, Receipt};

/// How often the engine looks for paused documents to index and checkpoint.
const IDLE_TICK: Duration = Duration::from_millis(250);

/// The Quire node: cheap to clone, every clone is the same engine. When the last
/// clone is dropped, queued writes are committed and the data folder is released
/// before `drop` returns.
#[derive(Clone)]
pub struct Engine {
    // Dropped first: stops background upkeep so that `inner` goes with this clone.
    _user: Arc<UserHandle>,
    pub(crate) inner: Arc<Inner>,
}

/// Shared by the user-facing clones; its drop is the last clone going away.
struct UserHandle {
    upkeep: Arc<UpkeepControl>,
}

/// Lets the last user handle stop the background upkeep and wait for a tick in progress.
#[derive(Default)]
struct UpkeepControl {
    closed: AtomicBool,
    tick: Mutex<()>,
}

impl Drop for UserHandle {
    fn drop(&mut self) {
        self.upkeep.closed.store(true, Ordering::SeqCst);
        // Once we hold the tick lock the upkeep task holds no reference to the engine
        // and will take none again, so the caller's reference is the last one.
        let _tick = self.upkeep.tick.lock();
    }
}

pub(crate) struct Inner {
    pub(crate) config: EngineConfig,
    pub(crate) store: Store,
    pub(crate) docs: Mutex<HashMap<DocumentId, Arc<Mutex<OpenDoc>>>>,
    /// Open documents upkeep has something to do for (an index, a checkpoint or a
    /// compaction may be pending): upkeep looks at these, not at every open
    /// document (a device syncing 10,000 documents keeps them all open). Taken after
    /// a document's own lock, never before it.
    upkeep_waiting: Mutex<HashSet<DocumentId>>,
    events: broadcast::Sender<EngineEvent>,
    durable: DurableTickets,
    /// This device's key (`device.key` in the data folder).
    pub(crate) identity: quire_crypto::DeviceIdentity,
    /// When the next daily backup is due, ms since the epoch.
    pub(crate) next_backup_at: AtomicI64,
    /// Held while a backup is made: one at a time.
    pub(crate) backup_running: Mutex<()>,
    /// Held for the engine's life: one process per data folder.
    _lock: File,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("data_dir", &self.inner.config.data_dir)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the data folder (creating it if needed). Fails with
    /// [`EngineError::Busy`] if another process has it open.
    pub async fn open(config: EngineConfig) -> Result<Self, EngineError> {
        let lock = crate::data_folder::open(&config)?;
        let identity = quire_crypto::DeviceIdentity::load_or_create(&config.data_dir)?;
        let store = Store::open(&config.database_path())?;
        let (durable, hook) = DurableTickets::new();
        store.on_durable(hook);
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let config_for_backups = config.clone();
        let inner = Arc::new(Inner {
            config,
            store,
            docs: Mutex::new(HashMap::new()),
            upkeep_waiting: Mutex::new(HashSet::new()),
            events,
            durable,
            identity,
            next_backup_at: AtomicI64::new(crate::backups::first_due(&config_for_backups)),
            backup_running: Mutex::new(()),
            _lock: lock,
        });
        let upkeep = Arc::new(UpkeepControl::default());
        tokio::spawn(upkeep_loop(Arc::downgrade(&inner), upkeep.clone()));
        Ok(Self {
            _user: Arc::new(UserHandle { upkeep }),
            inner,
        })
    }

    /// The settings this engine runs with.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// The highest write ticket that is durable so far; tickets count up in the order
    /// writes were submitted and become durable in that order.
    pub fn durable_progress(&self) -> tokio::sync::watch::Receiver<crate::DurableProgress> {
        self.inner.durable.durable.clone()
    }

    /// Runs `op` on the writer and waits until it is durable, without blocking a
    /// thread of the async runtime.
    pub(crate) async fn write_async(&self, op: quire_store::WriteOp) -> Result<(), EngineError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.store().submit(op, move |r| {
            let _ = tx.send(r);
        });
        Ok(rx.await.map_err(|_| EngineError::Closed)??)
    }

    /// Waits until everything queued so far is durable, without blocking a thread.
    pub(crate) async fn flushed(&self) -> Result<(), EngineError> {
        self.write_async(Box::new(|_| Ok(()))).await
    }

    pub(crate) fn emit(&self, event: EngineEvent) {
        // No subscribers is fine.
        let _ = self.inner.events.send(event);
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The open document, loading it on first use. Loading reads the disk, so it
    /// happens outside the map's lock; if two callers race, the first copy wins.
    pub(crate) fn handle(&self, id: DocumentId) -> Result<Arc<Mutex<OpenDoc>>, EngineError> {
        if let Some(d) = lock(&self.inner.docs)?.get(&id) {
            return Ok(d.clone());
        }
        let loaded = OpenDoc::load(&self.inner.store, id)?;
        let handle = lock(&self.inner.docs)?
            .entry(id)
            .or_insert_with(|| Arc::new(Mutex::new(loaded)))
            .clone();
        // Its log may be long enough to compact.
        lock(&self.inner.upkeep_waiting)?.insert(id);
        Ok(handle)
    }

    /// The document if it is loaded already.
    pub(crate) fn open_handle(&self, id: DocumentId) -> Option<Arc<Mutex<OpenDoc>>> {
        lock(&self.inner.docs).ok()?.get(&id).cloned()
    }

    /// Creates a document with a title and initial text.
    pub async fn create(&self, title: &str, text: &str) -> Result<DocumentId, EngineError> {
        let id = DocumentId::random();
        let mut doc = Document::new();
        doc.set_title(title)?;
        doc.insert(0, text)?;
        let state = doc.encode_state()?;
        let chars = doc.len_chars();
        let mut open = OpenDoc::created(id, doc, state.len());
        let store = self.store();
        self.write_async(ops::create_document(
            id,
            title.to_owned(),
            now_ms(),
            chars,
            state,
        ))
        .await?;
        open.index(store);
        open.checkpoint(
            &self.inner.config,
            store,
            quire_store::VersionKind::Auto,
            None,
        );
        lock(&self.inner.docs)?
            .entry(id)
            .or_insert_with(|| Arc::new(Mutex::new(open)));
        self.flushed().await?;
        self.emit(EngineEvent::Created { id });
        Ok(id)
    }

    /// The body text.
    pub async fn text(&self, id: DocumentId) -> Result<String, EngineError> {
        let handle = self.handle(id)?;
        let open = lock(&handle)?;
        Ok(open.doc.text())
    }

    /// The whole document as one yrs update (what a new replica needs).
    pub async fn encode_state(&self, id: DocumentId) -> Result<Vec<u8>, EngineError> {
        self.off_the_runtime(move |engine| {
            let handle = engine.handle(id)?;
            let open = lock(&handle)?;
            Ok(open.doc.encode_state()?)
        })
        .await
    }

    /// The document's state vector.
    pub async fn state_vector(&self, id: DocumentId) -> Result<Vec<u8>, EngineError> {
        self.off_the_runtime(move |engine| {
            let handle = engine.handle(id)?;
            let open = lock(&handle)?;
            Ok(open.doc.state_vector())
        })
        .await
    }

    /// What a replica with state vector `sv` is missing, as one update.
    pub async fn diff_since(&self, id: DocumentId, sv: &[u8]) -> Result<Vec<u8>, EngineError> {
        let sv = sv.to_vec();
        self.off_the_runtime(move |engine| {
            let handle = engine.handle(id)?;
            let open = lock(&handle)?;
            Ok(open.doc.diff_since(&sv)?)
        })
        .await
    }

    /// Runs work that grows with a document (loading it from disk, encoding it) on
    /// tokio's blocking pool, so that the async tasks awaiting it (the sync node, the
    /// network) never stall a runtime thread; runs it inline outside a runtime.
    pub(crate) async fn off_the_runtime<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let engine = self.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime
                .spawn_blocking(move || work(&engine))
                .await
                .map_err(|e| EngineError::Sync(format!("a background task failed: {e}")))?,
            Err(_) => work(&engine),
        }
    }

    /// Applies a local edit and waits until it is durable.
    pub async fn edit(&self, id: DocumentId, edit: Edit) -> Result<(), EngineError> {
        self.submit_edit(id, edit)?.saved().await
    }

    /// Applies a local edit in memory and queues it for disk; the receipt tells when it
    /// is durable. Lets a fast typist (or a benchmark) keep going while commits group.
    pub fn submit_edit(&self, id: DocumentId, edit: Edit) -> Result<Receipt, EngineError> {
        let handle = self.handle(id)?;
        let mut open = lock(&handle)?;
        open.check_writable()?;
        let splices = open.splices_for(edit);
        let Some(update) = open.doc.splice(&splices)? else {
            return Ok(Receipt::nothing_to_save());
        };
        self.record(&mut open, &update, Origin::Local)
    }

    /// Applies an update made on this device outside the engine (the desktop app's
    /// editor, which edits its own Yjs copy) as a local edit: refused for read-only and
    /// trashed documents, validated like any update, persisted, and announced (so the
    /// sync node publishes it). Returns once it is queued; the receipt tells when it
    /// is durable.
    pub fn apply_local_update(
        &self,
        id: DocumentId,
        update: &[u8],
    ) -> Result<Receipt, EngineError> {
        self.handle(id).and_then(|h| lock(&h)?.check_writable())?;
        self.submit_update(id, update, Origin::Local)
            .map(|(_, receipt)| receipt)
    }

    /// Applies an update from elsewhere (a peer or a relay) and persists it; returns
    /// once it is durable.
    ///
    /// Malformed or hostile bytes are rejected with an error and change nothing: if
    /// the CRDT library failed half-way, the in-memory copy is dropped and reloaded
    /// from the durable store.
    pub async fn apply_update(
        &self,
        id: DocumentId,
        update: &[u8],
        origin: Origin,
    ) -> Result<quire_doc::Applied, EngineError> {
        let (applied, receipt) = self.submit_update(id, update, origin)?;
        receipt.saved().await?;
        Ok(applied)
    }

    /// Like [`Engine::apply_update`], but returns as soon as the update is applied in
    /// memory and queued for disk; the [`Receipt`] tells when it is durable. Lets the
    /// network layer take the next message while commits group.
    pub fn submit_update(
        &self,
        id: DocumentId,
        update: &[u8],
        origin: Origin,
    ) -> Result<(quire_doc::Applied, Receipt), EngineError> {
        let handle = self.handle(id)?;
        let mut open = lock(&handle)?;
        let title_before = open.doc.title();
        match open.doc.apply_update(update) {
            Ok(applied) if applied.changed || applied.pending => {
                // A peer may have renamed the document: keep the stored title (what
                // the list, `info` and `resolve` show) in step with the CRDT's. The
                // title itself is in the update, which the receipt covers; if this
                // copy fails it is logged, and the next rename or reload repairs it.
                let title_after = open.doc.title();
                if title_after != title_before
                    && let Some(title) = title_after
                {
                    self.store()
                        .submit(ops::rename(id, title.clone(), now_ms()), |r| {
                            if let Err(e) = r {
                                tracing::warn!("saving a title from a peer failed: {e}");
                            }
                        });
                    self.emit(EngineEvent::Renamed { id, title });
                }
                let receipt = self.record(&mut open, update, origin)?;
                Ok((applied, receipt))
            }
            Ok(applied) => Ok((applied, Receipt::nothing_to_save())),
            Err(e) => {
                if open.doc.is_poisoned() {
                    tracing::warn!(
                        "document {id}: rejected update poisoned the in-memory copy; reloading"
                    );
                    // Forget the copy first, so that whatever happens next the
                    // document is reloaded from disk on its next use.
                    lock(&self.inner.docs)?.remove(&id);
                    if let Ok(fresh) = self
                        .store()
                        .flush()
                        .map_err(EngineError::from)
                        .and_then(|()| OpenDoc::load(self.store(), id))
                    {
                        *open = fresh;
                        lock(&self.inner.docs)?
                            .entry(id)
                            .or_insert_with(|| handle.clone());
                        // Like any load: its log may be due for compaction.
                        lock(&self.inner.upkeep_waiting)?.insert(id);
                    }
                }
                Err(e.into())
            }
        }
    }

    /// Logs an update already applied in memory and tells subscribers.
    pub(crate) fn record(
        &self,
        open: &mut OpenDoc,
        update: &[u8],
        origin: Origin,
    ) -> Result<Receipt, EngineError> {
        // Who waits first: for a local edit, the sync node that sends it to peers;
        // for a peer's update, the writer that makes it durable. Queuing for the log
        // wakes the writer thread, and waking a thread costs microseconds.
        let id = open.id;
        let changed = || EngineEvent::Changed {
            id,
            origin: origin.clone(),
            update: Arc::from(update),
        };
        // Copy the bytes for subscribers only when someone listens.
        let listened = self.inner.events.receiver_count() > 0;
        let local = origin == Origin::Local;
        if listened && local {
            self.emit(changed());
        }
        let ticket = open.log_update(self.store(), update, origin.clone())?;
        lock(&self.inner.upkeep_waiting)?.insert(id);
        if listened && !local {
            self.emit(changed());
        }
        // Upkeep never fails the edit: it is already applied and queued.
        let version = open.housekeeping(&self.inner.config, self.store());
        if let Some(number) = version {
            self.emit(EngineEvent::VersionCreated {
                id: open.id,
                number,
            });
        }
        Ok(self.inner.durable.receipt(ticket))
    }

    /// Runs `f` on every open document.
    pub(crate) fn for_each_open(
        &self,
        f: impl FnMut(&mut OpenDoc, &Store, &EngineConfig) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        self.inner.for_each_open(f)
    }

    /// Waits until everything submitted so far is durable.
    pub async fn flush(&self) -> Result<(), EngineError> {
        self.flushed().await
    }

    /// Finishes pending work (index, versions, compaction) and makes it durable.
    /// Dropping the last clone of the engine closes the database.
    pub async fn close(&self) -> Result<(), EngineError> {
        self.for_each_open(|open, store, config| {
            if open.index_dirty {
                open.index(store);
            }
            if open.version_dirty && !open.trashed {
                open.checkpoint(config, store, quire_store::VersionKind::Auto, None);
            }
            // Replaying a long log is what makes an open slow: leave a snapshot.
            open.compact(store, false);
            Ok(())
        })?;
        self.flushed().await
    }

    /// Size of the database on disk, after checkpointing its WAL.
    pub async fn disk_size(&self) -> Result<u64, EngineError> {
        self.for_each_open(|open, store, _| {
            open.compact(store, false);
            Ok(())
        })?;
        self.store().vacuum()?;
        Ok(self.store().disk_size())
    }

    /// Bytes used per table and index of the database, largest first.
    pub async fn table_sizes(&self) -> Result<Vec<(String, u64)>, EngineError> {
        self.flushed().await?;
        Ok(self.store().table_sizes()?)
    }

    /// Checks the database file with SQLite's integrity check.
    pub async fn integrity_check(&self) -> Result<(), EngineError> {
        self.flushed().await?;
        Ok(self.store().integrity_check()?)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, EngineError> {
    m.lock()
        .map_err(|_| EngineError::Store(quire_store::StoreError::Poisoned))
}

impl Inner {
    fn for_each_open(
        &self,
        mut f: impl FnMut(&mut OpenDoc, &Store, &EngineConfig) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        let handles: Vec<_> = lock(&self.docs)?.values().cloned().collect();
        for handle in handles {
            let mut open = lock(&handle)?;
            f(&mut open, &self.store, &self.config)?;
        }
        Ok(())
    }

    /// Indexes and checkpoints documents whose editing has paused.
    fn upkeep(&self) -> Result<(), EngineError> {
        // A failed save left holes in some log: snapshot every open document whole.
        let repair = self.durable.repair_needed.swap(false, Ordering::SeqCst);
        if repair {
            tracing::warn!("a save failed; saving every open document whole");
            self.for_each_open(|open, store, _| {
                open.compact(store, true);
                Ok(())
            })?;
        }
        let waiting: Vec<DocumentId> = lock(&self.upkeep_waiting)?.iter().copied().collect();
        for id in waiting {
            let handle = lock(&self.docs)?.get(&id).cloned();
            let Some(handle) = handle else {
                lock(&self.upkeep_waiting)?.remove(&id);
                continue;
            };
            let mut open = lock(&handle)?;
            self.upkeep_of(&mut open);
            if !open.index_dirty && !open.version_dirty && !open.compaction_due(&self.config) {
                // Under the document's lock: an edit marks it again after this.
                lock(&self.upkeep_waiting)?.remove(&id);
            }
        }
        self.backup_if_due();
        Ok(())
    }

    /// Compacts, indexes and checkpoints one open document, as far as each is due.
    fn upkeep_of(&self, open: &mut OpenDoc) {
        let (store, config) = (&self.store, &self.config);
        if open.compaction_due(config) {
            open.compact(store, false);
        }
        let idle = open.last_change.elapsed();
        if open.index_dirty && idle >= config.index_after_idle {
            open.index(store);
        }
        if open.version_dirty && !open.trashed && idle >= config.checkpoint_after_idle {
            let number = open.checkpoint(config, store, quire_store::VersionKind::Auto, None);
            let _ = self.events.send(EngineEvent::VersionCreated {
                id: open.id,
                number,
            });
        }
    }
}

/// Runs [`Inner::upkeep`] every [`IDLE_TICK`] until the last user handle is dropped.
async fn upkeep_loop(inner: Weak<Inner>, control: Arc<UpkeepControl>) {
    let mut tick = tokio::time::interval(IDLE_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // The tick body is synchronous: the guard never lives across an await.
        let Ok(_tick) = control.tick.lock() else {
            return;
        };
        if control.closed.load(Ordering::SeqCst) {
            return;
        }
        let Some(inner) = inner.upgrade() else { return };
        if let Err(e) = inner.upkeep() {
            tracing::warn!("background upkeep failed: {e}");
        }
        // Released before the tick lock, so a waiting last handle really is the last.
        drop(inner);
    }
}
