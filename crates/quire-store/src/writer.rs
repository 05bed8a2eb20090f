//! The one writer: a thread that owns the write connection and commits everything
//! queued since its last commit as one transaction (group commit).
//!
//! The hot path, logging an update, costs the caller one short mutex hold: the bytes
//! are copied into a shared arena (reused between batches, so a keystroke does not
//! allocate memory that another thread frees) and get a ticket number. After each
//! commit the writer reports the highest durable ticket through the durable hook.

use std::collections::{HashMap, HashSet, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

use quire_doc::DocumentId;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::log_rows::{PendingRow, RowUpdate};
use crate::{Origin, StoreError};

/// A write to run inside the writer's transaction.
pub type WriteOp = Box<dyn FnOnce(&Connection) -> Result<(), StoreError> + Send>;

/// Called once the write is durable, or with the reason it is not.
pub(crate) type Done = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// Told after each commit: every ticket up to `up_to` is settled; those in `failed`
/// were not saved, for the reason given.
pub type DurableHook = Box<dyn Fn(u64, &[(u64, String)]) + Send + Sync>;

/// An update to log, its bytes in the arena.
struct LoggedUpdate {
    ticket: u64,
    doc: DocumentId,
    seq: i64,
    origin: Origin,
    at: i64,
    chars: usize,
    start: usize,
    len: usize,
}

enum Entry {
    Update(LoggedUpdate),
    Op {
        ticket: u64,
        op: WriteOp,
        done: Option<Done>,
        /// Saves this document whole: once committed, its log may take updates again.
        repairs: Option<DocumentId>,
    },
}

#[derive(Default)]
struct Queue {
    entries: VecDeque<Entry>,
    arena: Vec<u8>,
    next_ticket: u64,
    writer_waiting: bool,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    hook: Mutex<Option<DurableHook>>,
}

pub(crate) struct Writer {
    shared: Arc<Shared>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Writer {
    pub(crate) fn spawn(conn: Connection) -> Result<Self, StoreError> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                next_ticket: 1,
                ..Queue::default()
            }),
            wake: Condvar::new(),
            hook: Mutex::new(None),
        });
        let for_thread = shared.clone();
        let thread = thread::Builder::new()
            .name("quire-store-writer".into())
            .spawn(move || run(conn, &for_thread))
            .map_err(|e| {
                StoreError::CommitFailed(format!("cannot start the writer thread: {e}"))
            })?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    pub(crate) fn set_hook(&self, hook: DurableHook) {
        if let Ok(mut h) = self.shared.hook.lock() {
            *h = Some(hook);
        }
    }

    fn enqueue(&self, make: impl FnOnce(u64, &mut Vec<u8>) -> Entry) -> Result<u64, StoreError> {
        let mut q = self.shared.queue.lock().map_err(|_| StoreError::Poisoned)?;
        if q.closed {
            return Err(StoreError::WriterGone);
        }
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        let entry = make(ticket, &mut q.arena);
        q.entries.push_back(entry);
        if q.writer_waiting {
            q.writer_waiting = false;
            self.shared.wake.notify_one();
        }
        Ok(ticket)
    }

    pub(crate) fn submit(
        &self,
        op: WriteOp,
        done: Option<Done>,
        repairs: Option<DocumentId>,
    ) -> Result<u64, StoreError> {
        let mut slot = Some((op, done));
        let result = self.enqueue(|ticket, _| {
            let (op, done) = slot.take().unwrap_or_else(|| (Box::new(|_| Ok(())), None));
            Entry::Op {
                ticket,
                op,
                done,
                repairs,
            }
        });
        if let (Err(_), Some((_, Some(done)))) = (&result, slot) {
            done(Err(StoreError::WriterGone));
        }
        result
    }

    pub(crate) fn log_update(
        &self,
        doc: DocumentId,
        seq: i64,
        origin: Origin,
        at: i64,
        chars: usize,
        data: &[u8],
    ) -> Result<u64, StoreError> {
        self.enqueue(|ticket, arena| {
            let start = arena.len();
            arena.extend_from_slice(data);
            Entry::Update(LoggedUpdate {
                ticket,
                doc,
                seq,
                origin,
                at,
                chars,
                start,
                len: data.len(),
            })
        })
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing lets the thread commit what is queued, then stop.
        if let Ok(mut q) = self.shared.queue.lock() {
            q.closed = true;
        }
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// However the writer thread ends (closed, or a panic), nothing queued is left
/// waiting: later submits are refused and queued writes are reported failed.
struct FailQueuedOnExit<'a>(&'a Shared);

impl Drop for FailQueuedOnExit<'_> {
    fn drop(&mut self) {
        let mut q = match self.0.queue.lock() {
            Ok(q) => q,
            Err(poisoned) => poisoned.into_inner(),
        };
        q.closed = true;
        let left = std::mem::take(&mut q.entries);
        drop(q);
        let mut failed = Vec::new();
        for entry in left {
            match entry {
                Entry::Update(u) => {
                    failed.push((u.ticket, "the database writer stopped".to_owned()))
                }
                Entry::Op { ticket, done, .. } => {
                    failed.push((ticket, "the database writer stopped".to_owned()));
                    if let Some(done) = done {
                        done(Err(StoreError::WriterGone));
                    }
                }
            }
        }
        if let Some(up_to) = failed.iter().map(|f| f.0).max()
            && let Ok(hook) = self.0.hook.lock()
            && let Some(hook) = hook.as_ref()
        {
            hook(up_to, &failed);
        }
    }
}

fn run(mut conn: Connection, shared: &Shared) {
    let _exit = FailQueuedOnExit(shared);
    let mut entries = VecDeque::new();
    let mut arena = Vec::new();
    let mut rowids: HashMap<DocumentId, i64> = HashMap::new();
    // Documents whose log lost an update: later updates would depend on the missing
    // one and stay invisible after a restart, so they are refused until a snapshot of
    // the whole document (a compaction) is committed.
    let mut broken: HashSet<DocumentId> = HashSet::new();
    loop {
        {
            let Ok(mut q) = shared.queue.lock() else {
                return;
            };
            while q.entries.is_empty() && !q.closed {
                q.writer_waiting = true;
                q = match shared.wake.wait(q) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
            if q.entries.is_empty() && q.closed {
                return;
            }
            // Take everything queued, swapping buffers so that the callers' next
            // pushes reuse the capacity of the previous batch.
            std::mem::swap(&mut entries, &mut q.entries);
            std::mem::swap(&mut arena, &mut q.arena);
        }
        let (up_to, failed) =
            commit_batch(&mut conn, &mut entries, &arena, &mut rowids, &mut broken);
        arena.clear();
        if let Ok(hook) = shared.hook.lock()
            && let Some(hook) = hook.as_ref()
        {
            hook(up_to, &failed);
        }
    }
}

fn rowid_of(
    conn: &Connection,
    rowids: &mut HashMap<DocumentId, i64>,
    doc: &DocumentId,
) -> Result<i64, StoreError> {
    if let Some(r) = rowids.get(doc) {
        return Ok(*r);
    }
    let r: Option<i64> = conn
        .prepare_cached("SELECT rowid FROM documents WHERE id = ?1")?
        .query_row([doc.to_string()], |r| r.get(0))
        .optional()?;
    let r = r.ok_or_else(|| StoreError::NoSuchDocument(doc.to_string()))?;
    rowids.insert(*doc, r);
    Ok(r)
}

fn flush_row(
    conn: &Connection,
    row: PendingRow,
    failed: &mut Vec<(u64, String)>,
    touched: &mut HashMap<i64, (i64, usize)>,
    broken: &mut HashSet<DocumentId>,
) {
    match row.insert(conn) {
        Ok(()) => {
            touched.insert(row.rowid, (row.at, row.chars));
        }
        Err(e) => {
            let msg = e.to_string();
            failed.extend(row.tickets.iter().map(|t| (*t, msg.clone())));
            broken.insert(row.doc);
        }
    }
}

/// Why an update of a document whose log lost an update is refused.
const BROKEN_LOG: &str =
    "an earlier save of this document failed; Quire saves it whole at the next compaction";

/// Commits one batch; returns the last ticket and the tickets that failed.
fn commit_batch(
    conn: &mut Connection,
    entries: &mut VecDeque<Entry>,
    arena: &[u8],
    rowids: &mut HashMap<DocumentId, i64>,
    broken: &mut HashSet<DocumentId>,
) -> (u64, Vec<(u64, String)>) {
    let docs_in_batch: HashSet<DocumentId> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Update(u) => Some(u.doc),
            Entry::Op { .. } => None,
        })
        .collect();
    let mut repaired: Vec<DocumentId> = Vec::new();
    let mut failed = Vec::new();
    let mut tickets = Vec::with_capacity(entries.len());
    let mut dones: Vec<(u64, Done)> = Vec::new();
    let mut up_to = 0;
    let mut touched: HashMap<i64, (i64, usize)> = HashMap::new();
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let msg = e.to_string();
            broken.extend(docs_in_batch);
            for entry in entries.drain(..) {
                match entry {
                    Entry::Update(u) => failed.push((u.ticket, msg.clone())),
                    Entry::Op { ticket, done, .. } => {
                        failed.push((ticket, msg.clone()));
                        if let Some(done) = done {
                            done(Err(StoreError::CommitFailed(msg.clone())));
                        }
                    }
                }
                up_to = up_to.max(failed.last().map_or(0, |f| f.0));
            }
            return (up_to, failed);
        }
    };
    // Documents created or purged inside this batch change the id → rowid map.
    let mut rowids_stale = false;
    let mut row: Option<PendingRow> = None;
    for entry in entries.drain(..) {
        match entry {
            Entry::Update(u) => {
                up_to = u.ticket;
                tickets.push(u.ticket);
                if rowids_stale {
                    rowids.clear();
                    rowids_stale = false;
                }
                if broken.contains(&u.doc) {
                    failed.push((u.ticket, BROKEN_LOG.to_owned()));
                    continue;
                }
                let data = arena.get(u.start..u.start + u.len).unwrap_or(&[]);
                let update = RowUpdate {
                    doc: u.doc,
                    ticket: u.ticket,
                    seq: u.seq,
                    origin: &u.origin,
                    at: u.at,
                    chars: u.chars,
                    data,
                };
                match rowid_of(&tx, rowids, &u.doc) {
                    Err(e) => failed.push((u.ticket, e.to_string())),
                    Ok(rowid) => {
                        if let Some(r) = row.as_mut()
                            && r.try_extend(rowid, &update)
                        {
                            continue;
                        }
                        if let Some(r) = row.take() {
                            flush_row(&tx, r, &mut failed, &mut touched, broken);
                        }
                        row = Some(PendingRow::new(rowid, &update));
                    }
                }
            }
            Entry::Op {
                ticket,
                op,
                done,
                repairs,
            } => {
                // Ops see every update queued before them (compaction relies on it).
                if let Some(r) = row.take() {
                    flush_row(&tx, r, &mut failed, &mut touched, broken);
                }
                up_to = ticket;
                tickets.push(ticket);
                rowids_stale = true;
                // A savepoint per op: one failing op leaves the rest of the batch intact.
                let result = (|| {
                    tx.execute_batch("SAVEPOINT op")?;
                    // A panicking op must not take the writer (and every save) down.
                    let outcome = catch_unwind(AssertUnwindSafe(|| op(&tx))).unwrap_or_else(|_| {
                        Err(StoreError::CommitFailed(
                            "a write failed unexpectedly".into(),
                        ))
                    });
                    match outcome {
                        Ok(()) => {
                            tx.execute_batch("RELEASE op")?;
                            Ok(())
                        }
                        Err(e) => {
                            tx.execute_batch("ROLLBACK TO op; RELEASE op")?;
                            Err(e)
                        }
                    }
                })();
                // Later updates of a repaired document in this same batch may be
                // logged again (if the commit fails, it is marked broken once more).
                if let (Ok(()), Some(doc)) = (&result, repairs) {
                    broken.remove(&doc);
                    repaired.push(doc);
                }
                match (result, done) {
                    (Ok(()), Some(done)) => dones.push((ticket, done)),
                    (Ok(()), None) => {}
                    (Err(e), done) => {
                        failed.push((ticket, e.to_string()));
                        if let Some(done) = done {
                            done(Err(e));
                        }
                    }
                }
            }
        }
    }
    if let Some(r) = row.take() {
        flush_row(&tx, r, &mut failed, &mut touched, broken);
    }
    if rowids_stale {
        rowids.clear();
    }
    // One metadata update per document per batch, not one per keystroke.
    for (rowid, (at, chars)) in touched {
        if let Err(e) = tx
            .prepare_cached("UPDATE documents SET updated_at = max(updated_at, ?2), chars = ?3 WHERE rowid = ?1")
            .and_then(|mut s| s.execute(params![rowid, at, chars as i64]))
        {
            tracing::warn!("updating document metadata failed: {e}");
        }
    }
    match tx.commit() {
        Ok(()) => {
            for (_, done) in dones {
                done(Ok(()));
            }
        }
        Err(e) => {
            // Everything in the batch is lost with the transaction.
            let msg = e.to_string();
            rowids.clear();
            broken.extend(docs_in_batch);
            broken.extend(repaired);
            for (_, done) in dones {
                done(Err(StoreError::CommitFailed(msg.clone())));
            }
            failed = tickets.into_iter().map(|t| (t, msg.clone())).collect();
        }
    }
    (up_to, failed)
}
