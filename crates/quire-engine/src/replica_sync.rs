//! Catch-up with another replica: adopting a document known from elsewhere, and
//! running the sans-io exchange of `quire_doc::sync` against the engine's copy.
//! The transport (the network layer, a file, a test) only carries the messages.

use quire_doc::sync::{SyncMessage, SyncSession};
use quire_doc::{DocumentId, SyncDigest};
use quire_store::{Origin, StoreError, now_ms, ops};

use crate::engine::lock;
use crate::{Engine, EngineError, EngineEvent};

impl Engine {
    /// Makes an empty local replica of a document that lives elsewhere (joining it),
    /// ready to be filled by sync. Does nothing if the document is already here.
    pub async fn adopt(&self, id: DocumentId, title: &str) -> Result<(), EngineError> {
        self.flushed().await?;
        match self.store().document(&id) {
            Ok(_) => return Ok(()),
            Err(StoreError::NoSuchDocument(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.write_async(ops::create_document(
            id,
            title.to_owned(),
            now_ms(),
            0,
            Vec::new(),
        ))
        .await?;
        self.emit(EngineEvent::Created { id });
        Ok(())
    }

    /// Each document's sync digest under its key (`None` where the document cannot
    /// be read), in the order asked. A document's digest is kept until it changes, so
    /// asking again for thousands of unchanged documents (every reconnect) encodes
    /// none of them; only documents not yet loaded are read from disk.
    pub async fn sync_digests(
        &self,
        wanted: Vec<(DocumentId, [u8; 32])>,
    ) -> Result<Vec<Option<SyncDigest>>, EngineError> {
        self.off_the_runtime(move |engine| {
            Ok(wanted
                .iter()
                .map(|(id, key)| {
                    let handle = engine.handle(*id).ok()?;
                    let mut open = lock(&handle).ok()?;
                    if open.doc.is_poisoned() {
                        return None;
                    }
                    Some(open.doc.sync_digest(key))
                })
                .collect())
        })
        .await
    }

    /// The message that opens a catch-up exchange for `id`: our state vector.
    pub async fn sync_open(&self, id: DocumentId) -> Result<SyncMessage, EngineError> {
        let handle = self.handle(id)?;
        let open = lock(&handle)?;
        Ok(SyncSession::start(&open.doc))
    }

    /// Handles one sync message from a peer and returns the replies to send back. A
    /// completed answer is applied like any update from elsewhere: validated,
    /// persisted with `origin`, announced.
    pub async fn sync_handle(
        &self,
        id: DocumentId,
        session: &mut SyncSession,
        msg: &SyncMessage,
        origin: Origin,
    ) -> Result<Vec<SyncMessage>, EngineError> {
        let (output, advanced) = {
            let mut moved = std::mem::take(session);
            let msg = msg.clone();
            let (output, moved) = self
                .off_the_runtime(move |engine| {
                    let handle = engine.handle(id)?;
                    let open = lock(&handle)?;
                    let output = moved
                        .handle(&open.doc, &msg)
                        .map_err(|e| EngineError::Sync(e.to_string()));
                    Ok((output, moved))
                })
                .await?;
            (output, moved)
        };
        *session = advanced;
        let output = output?;
        if let Some(update) = output.complete_update
            && !update.is_empty()
        {
            self.apply_update(id, &update, origin).await?;
        }
        Ok(output.replies)
    }
}
