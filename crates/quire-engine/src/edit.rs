//! Edits and their receipts.

use quire_doc::Splice;
use quire_store::StoreError;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::watch;

use crate::EngineError;

/// A local change to a document's body. Positions count characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Insert text at a position.
    Insert {
        /// Character position.
        at: usize,
        /// Text to insert.
        text: String,
    },
    /// Delete characters at a position.
    Delete {
        /// Character position.
        at: usize,
        /// How many characters.
        len: usize,
    },
    /// Add text at the end.
    Append(String),
    /// Make the body equal to this text, changing only what differs.
    Replace(String),
    /// Several splices as one transaction, applied in order.
    Splices(Vec<Splice>),
}

/// How far durable writes have got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurableProgress {
    /// Every write ticket up to this one is settled (saved, or failed with an error).
    pub up_to: u64,
    /// When the commit that settled them finished.
    pub at: Instant,
}

/// Where receipts learn which tickets are durable.
#[derive(Debug, Clone)]
pub(crate) struct DurableTickets {
    pub(crate) durable: watch::Receiver<DurableProgress>,
    /// Set when a save failed: the open documents must be saved whole.
    pub(crate) repair_needed: Arc<AtomicBool>,
    pub(crate) failures: Arc<Mutex<BTreeMap<u64, String>>>,
}

/// Failures older than this many tickets are forgotten (nobody is waiting for them).
const FAILURES_KEPT: u64 = 1 << 20;

impl DurableTickets {
    /// Creates the pair: the hook for the store, and the receiving side for receipts.
    pub(crate) fn new() -> (Self, quire_store::DurableHook) {
        let (tx, rx) = watch::channel(DurableProgress {
            up_to: 0,
            at: Instant::now(),
        });
        let failures: Arc<Mutex<BTreeMap<u64, String>>> = Arc::default();
        let for_hook = failures.clone();
        let repair_needed = Arc::new(AtomicBool::new(false));
        let repair_flag = repair_needed.clone();
        let hook: quire_store::DurableHook = Box::new(move |up_to, failed| {
            if !failed.is_empty() {
                repair_flag.store(true, Ordering::SeqCst);
            }
            if !failed.is_empty()
                && let Ok(mut f) = for_hook.lock()
            {
                for (ticket, msg) in failed {
                    tracing::warn!("write {ticket} was not saved: {msg}");
                    f.insert(*ticket, msg.clone());
                }
                let keep_from = up_to.saturating_sub(FAILURES_KEPT);
                *f = f.split_off(&keep_from);
            }
            tx.send_replace(DurableProgress {
                up_to,
                at: Instant::now(),
            });
        });
        (
            Self {
                durable: rx,
                repair_needed,
                failures,
            },
            hook,
        )
    }

    pub(crate) fn receipt(&self, ticket: u64) -> Receipt {
        Receipt {
            ticket: Some((ticket, self.clone())),
        }
    }
}

/// Resolves once an edit is durable on disk.
#[derive(Debug)]
#[must_use = "an edit is only known to be saved once its receipt resolves"]
pub struct Receipt {
    ticket: Option<(u64, DurableTickets)>,
}

impl Receipt {
    /// A receipt for an edit that changed nothing.
    pub(crate) fn nothing_to_save() -> Self {
        Self { ticket: None }
    }

    /// The write's ticket (see [`crate::Engine::durable_progress`]); `None` when the edit
    /// changed nothing and there is nothing to save.
    pub fn ticket(&self) -> Option<u64> {
        self.ticket.as_ref().map(|(t, _)| *t)
    }

    /// Waits until the edit is durable.
    pub async fn saved(self) -> Result<(), EngineError> {
        let Some((ticket, mut tickets)) = self.ticket else {
            return Ok(());
        };
        tickets
            .durable
            .wait_for(|d| d.up_to >= ticket)
            .await
            .map_err(|_| EngineError::Closed)?;
        // A poisoned lock means the hook panicked mid-report: do not claim success.
        let failure = match tickets.failures.lock() {
            Ok(mut f) => f.remove(&ticket),
            Err(_) => Some("the save could not be confirmed".to_owned()),
        };
        match failure {
            None => Ok(()),
            Some(msg) => Err(EngineError::Store(StoreError::CommitFailed(msg))),
        }
    }
}
