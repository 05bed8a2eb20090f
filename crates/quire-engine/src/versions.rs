//! Version history: list, name, read, compare and restore.

use quire_doc::DocumentId;
use quire_doc::diff::{DiffLine, DiffSpan, diff_chars, diff_lines, unified_diff};
use quire_store::{VersionKind, VersionRecord};

use crate::engine::lock;
use crate::{Edit, Engine, EngineError, EngineEvent};

/// A point in a document's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRef {
    /// A stored version, by number.
    Number(i64),
    /// The text as it is now.
    Current,
}

impl std::fmt::Display for VersionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VersionRef::Number(n) => write!(f, "v{n}"),
            VersionRef::Current => f.write_str("current"),
        }
    }
}

/// Two texts of a document to compare.
#[derive(Debug, Clone)]
pub struct VersionDiff {
    /// The older side.
    pub from: VersionRef,
    /// The newer side.
    pub to: VersionRef,
    /// Text of `from`.
    pub from_text: String,
    /// Text of `to`.
    pub to_text: String,
}

impl VersionDiff {
    /// Line by line.
    pub fn lines(&self) -> Vec<DiffLine> {
        diff_lines(&self.from_text, &self.to_text)
    }

    /// Character by character.
    pub fn chars(&self) -> Vec<DiffSpan> {
        diff_chars(&self.from_text, &self.to_text)
    }

    /// As `diff -u` would print it.
    pub fn unified(&self, context: usize) -> String {
        unified_diff(
            &self.from_text,
            &self.to_text,
            &self.from.to_string(),
            &self.to.to_string(),
            context,
        )
    }
}

impl Engine {
    /// Waits for version `number` to be written and checks that it was.
    async fn confirm_version(&self, id: DocumentId, number: i64) -> Result<(), EngineError> {
        self.flushed().await?;
        if self
            .store()
            .versions(&id)?
            .iter()
            .any(|v| v.number == number)
        {
            Ok(())
        } else {
            Err(EngineError::Store(quire_store::StoreError::CommitFailed(
                format!("version {number} could not be written"),
            )))
        }
    }

    /// A document's versions, oldest first.
    pub async fn versions(&self, id: DocumentId) -> Result<Vec<VersionRecord>, EngineError> {
        self.handle(id)?;
        self.flushed().await?;
        Ok(self.store().versions(&id)?)
    }

    /// Takes a version of the current text now, optionally named; returns its number.
    pub async fn create_version(
        &self,
        id: DocumentId,
        name: Option<&str>,
    ) -> Result<i64, EngineError> {
        let handle = self.handle(id)?;
        let number = {
            let mut open = lock(&handle)?;
            let kind = if name.is_some() {
                VersionKind::Named
            } else {
                VersionKind::Auto
            };
            open.checkpoint(
                &self.inner.config,
                self.store(),
                kind,
                name.map(str::to_owned),
            )
        };
        self.confirm_version(id, number).await?;
        self.emit(EngineEvent::VersionCreated { id, number });
        Ok(number)
    }

    /// The text at a point in history.
    pub async fn version_text(
        &self,
        id: DocumentId,
        at: VersionRef,
    ) -> Result<String, EngineError> {
        match at {
            VersionRef::Current => self.text(id).await,
            VersionRef::Number(n) => {
                self.handle(id)?;
                self.flushed().await?;
                Ok(self.store().version_text(&id, n)?)
            }
        }
    }

    /// The two texts to compare; see [`VersionDiff`] for line and character diffs.
    pub async fn diff(
        &self,
        id: DocumentId,
        from: VersionRef,
        to: VersionRef,
    ) -> Result<VersionDiff, EngineError> {
        Ok(VersionDiff {
            from,
            to,
            from_text: self.version_text(id, from).await?,
            to_text: self.version_text(id, to).await?,
        })
    }

    /// Makes the text equal to version `number` again, as a new edit that syncs like
    /// any other (history is never rewound). The state before the restore is kept as
    /// a version first, so a restore can itself be undone. Returns the number of the
    /// version recording the restore.
    pub async fn restore_version(&self, id: DocumentId, number: i64) -> Result<i64, EngineError> {
        let old = self.version_text(id, VersionRef::Number(number)).await?;
        {
            let handle = self.handle(id)?;
            let mut open = lock(&handle)?;
            open.check_writable()?;
            if open.version_dirty {
                open.checkpoint(&self.inner.config, self.store(), VersionKind::Auto, None);
            }
        }
        self.edit(id, Edit::Replace(old)).await?;
        let handle = self.handle(id)?;
        let restored = {
            let mut open = lock(&handle)?;
            open.checkpoint(
                &self.inner.config,
                self.store(),
                VersionKind::Restore,
                Some(format!("restored v{number}")),
            )
        };
        self.confirm_version(id, restored).await?;
        self.emit(EngineEvent::VersionCreated {
            id,
            number: restored,
        });
        Ok(restored)
    }
}
