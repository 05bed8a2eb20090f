//! The catalogue of documents: listing, finding, titles, trash and search.

use quire_doc::DocumentId;
use quire_store::{
    DocumentFilter, DocumentRecord, IndexStatus, Lifecycle, Origin, SearchHit, SortOrder, now_ms,
    ops,
};

use crate::engine::lock;
use crate::{Engine, EngineError, EngineEvent};

impl Engine {
    /// Live documents, most recently changed first.
    pub async fn list(&self) -> Result<Vec<DocumentRecord>, EngineError> {
        self.flushed().await?;
        Ok(self.store().documents(Lifecycle::Active)?)
    }

    /// Documents in the trash.
    pub async fn trash(&self) -> Result<Vec<DocumentRecord>, EngineError> {
        self.flushed().await?;
        Ok(self.store().documents(Lifecycle::Trashed)?)
    }

    /// One document's metadata.
    pub async fn info(&self, id: DocumentId) -> Result<DocumentRecord, EngineError> {
        self.flushed().await?;
        Ok(self.store().document(&id)?)
    }

    /// Finds the one document that `needle` names: a whole id, a unique id prefix of at
    /// least 4 characters, or an exact title (ignoring case).
    pub async fn resolve(&self, needle: &str) -> Result<DocumentId, EngineError> {
        self.flushed().await?;
        if let Ok(id) = needle.parse::<DocumentId>() {
            // A whole id still has to name a document that exists (it may have been purged).
            return match self.store().document(&id) {
                Ok(_) => Ok(id),
                Err(quire_store::StoreError::NoSuchDocument(_)) => {
                    Err(EngineError::NoSuchDocument(needle.to_owned()))
                }
                Err(e) => Err(e.into()),
            };
        }
        let mut found = self.store().find_documents(needle)?;
        if needle.len() < 4 {
            found.retain(|d| d.title.eq_ignore_ascii_case(needle));
        }
        // A live document wins over trashed ones of the same title.
        if found.len() > 1 && found.iter().filter(|d| d.deleted_at.is_none()).count() == 1 {
            found.retain(|d| d.deleted_at.is_none());
        }
        match found.as_slice() {
            [] => Err(EngineError::NoSuchDocument(needle.to_owned())),
            [one] => Ok(one.id),
            many => Err(EngineError::Ambiguous {
                needle: needle.to_owned(),
                candidates: many
                    .iter()
                    .map(|d| d.id.to_string()[..12].to_owned())
                    .collect(),
            }),
        }
    }

    /// Sets a document's title.
    pub async fn rename(&self, id: DocumentId, title: &str) -> Result<(), EngineError> {
        let handle = self.handle(id)?;
        let receipt = {
            let mut open = lock(&handle)?;
            open.check_writable()?;
            let update = open.doc.set_title(title)?;
            self.store()
                .submit(ops::rename(id, title.to_owned(), now_ms()), |_| {});
            self.record(&mut open, &update, Origin::Local)?
        };
        receipt.saved().await?;
        self.emit(EngineEvent::Renamed {
            id,
            title: title.to_owned(),
        });
        Ok(())
    }

    /// Moves a document to the trash.
    pub async fn delete(&self, id: DocumentId) -> Result<(), EngineError> {
        self.set_lifecycle(id, Lifecycle::Trashed).await?;
        self.emit(EngineEvent::Trashed { id });
        Ok(())
    }

    /// Brings a document back from the trash.
    pub async fn restore(&self, id: DocumentId) -> Result<(), EngineError> {
        self.set_lifecycle(id, Lifecycle::Active).await?;
        self.emit(EngineEvent::Restored { id });
        Ok(())
    }

    async fn set_lifecycle(&self, id: DocumentId, lifecycle: Lifecycle) -> Result<(), EngineError> {
        let handle = self.handle(id)?;
        self.write_async(ops::set_lifecycle(id, lifecycle, now_ms()))
            .await?;
        lock(&handle)?.trashed = lifecycle == Lifecycle::Trashed;
        Ok(())
    }

    /// Deletes a trashed document for good.
    pub async fn purge(&self, id: DocumentId) -> Result<(), EngineError> {
        let record = self.info(id).await?;
        if record.deleted_at.is_none() {
            return Err(EngineError::NotInTrash(id.to_string()));
        }
        self.write_async(ops::purge(id)).await?;
        lock(&self.inner.docs)?.remove(&id);
        self.emit(EngineEvent::Purged { id });
        Ok(())
    }

    /// Live documents whose title or body match `query`, best first.
    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, EngineError> {
        self.search_documents(
            query,
            &DocumentFilter::default(),
            SortOrder::Relevance,
            limit,
        )
        .await
    }

    /// Documents whose title or body match `query` and that pass `filter`, in `sort`
    /// order. Works in every script; see [`quire_store::SearchHit`] for the snippet.
    pub async fn search_documents(
        &self,
        query: &str,
        filter: &DocumentFilter,
        sort: SortOrder,
        limit: usize,
    ) -> Result<Vec<SearchHit>, EngineError> {
        self.for_each_open(|open, store, _| {
            if open.index_dirty {
                open.index(store);
            }
            Ok(())
        })?;
        self.flushed().await?;
        Ok(self.store().search_documents(query, filter, sort, limit)?)
    }

    /// Documents that pass `filter`, without a query, in `sort` order (`Relevance`
    /// means most recently changed first): the document list with filters.
    pub async fn list_documents(
        &self,
        filter: &DocumentFilter,
        sort: SortOrder,
    ) -> Result<Vec<DocumentRecord>, EngineError> {
        self.flushed().await?;
        Ok(self.store().list_documents(filter, sort)?)
    }

    /// Whether search covers every document, or how far the rebuild of its index (after
    /// an upgrade) has come.
    pub fn search_index_status(&self) -> IndexStatus {
        self.store().search_index_status()
    }
}
