//! Sharing: the keys of shared documents, invite tickets, joining and leaving, and
//! this device's identity and display name. The network layer reads memberships from
//! here; the engine itself enforces read-only membership on local edits.

use quire_crypto::{DeviceIdentity, DocKeys, PeerId, ReadKey, Role, Ticket, WriteKey};
use quire_doc::DocumentId;
use quire_store::{MemberRole, MembershipRecord, StoreError, now_ms, ops};

use crate::engine::lock;
use crate::{Engine, EngineError, EngineEvent};

/// Settings key of the display name shown to collaborators.
const DISPLAY_NAME_KEY: &str = "display_name";

/// Settings key of the colour of this device's cursor and avatar.
const COLOR_KEY: &str = "color";

/// Whether `color` is a CSS colour of the form `#rrggbb`, the only form kept or shown.
pub fn is_hex_color(color: &str) -> bool {
    color.len() == 7
        && color.starts_with('#')
        && color.chars().skip(1).all(|c| c.is_ascii_hexdigit())
}

/// Longest display name kept, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// A shared document as this device holds it.
#[derive(Debug, Clone)]
pub struct Membership {
    /// The document.
    pub id: DocumentId,
    /// Its keys (with the write key for writers).
    pub keys: DocKeys,
    /// Peer and relay addresses learnt from the ticket.
    pub addrs: Vec<String>,
    /// Whether the node keeps it in sync (false after `leave`).
    pub syncing: bool,
    /// When this device shared or joined it, ms since the epoch.
    pub joined_at: i64,
    /// When a catch-up with a peer last completed, ms since the epoch.
    pub last_sync: Option<i64>,
}

impl Membership {
    /// Read or write.
    pub fn role(&self) -> Role {
        self.keys.role()
    }

    fn from_record(record: MembershipRecord) -> Result<Self, EngineError> {
        let ticket = Ticket::from_bytes(&record.ticket).map_err(|e| StoreError::DamagedData {
            doc: record.id.to_string(),
            detail: format!("stored document keys: {e}"),
        })?;
        let (keys, addrs) = ticket.into_parts();
        Ok(Self {
            id: record.id,
            keys,
            addrs,
            syncing: record.syncing,
            joined_at: record.joined_at,
            last_sync: record.last_sync,
        })
    }
}

fn member_role(role: Role) -> MemberRole {
    match role {
        Role::Read => MemberRole::Read,
        Role::Write => MemberRole::Write,
    }
}

impl Engine {
    /// This device's identity; its peer id names it to collaborators.
    pub fn identity(&self) -> &DeviceIdentity {
        &self.inner.identity
    }

    /// This device's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.inner.identity.peer_id()
    }

    /// The name shown to collaborators: the one set, else the user's login name.
    pub async fn display_name(&self) -> Result<String, EngineError> {
        if let Some(name) = self.store().setting(DISPLAY_NAME_KEY)? {
            return Ok(name);
        }
        let login = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_default();
        Ok(if login.trim().is_empty() {
            "Anonymous".to_owned()
        } else {
            login
        })
    }

    /// Sets the name shown to collaborators (trimmed, one line, at most
    /// [`MAX_DISPLAY_NAME_CHARS`] characters).
    pub async fn set_display_name(&self, name: &str) -> Result<String, EngineError> {
        let name: String = name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(MAX_DISPLAY_NAME_CHARS)
            .collect();
        if name.is_empty() {
            return Err(EngineError::InvalidInput(
                "a display name needs at least one visible character".into(),
            ));
        }
        self.write_async(ops::set_setting(DISPLAY_NAME_KEY.into(), name.clone()))
            .await?;
        Ok(name)
    }

    /// The colour chosen for this device's cursor and avatar, if one was.
    pub async fn color(&self) -> Result<Option<String>, EngineError> {
        Ok(self.store().setting(COLOR_KEY)?.filter(|c| is_hex_color(c)))
    }

    /// Chooses the colour of this device's cursor and avatar (`#rrggbb`).
    pub async fn set_color(&self, color: &str) -> Result<String, EngineError> {
        let color = color.trim().to_ascii_lowercase();
        if !is_hex_color(&color) {
            return Err(EngineError::InvalidInput(format!(
                "a colour is written #rrggbb, not {color:?}"
            )));
        }
        self.write_async(ops::set_setting(COLOR_KEY.into(), color.clone()))
            .await?;
        Ok(color)
    }

    /// Shares a document: makes its keys on first use and returns an invite ticket
    /// for `role`, naming `addrs` (this node's or a relay's addresses) to dial.
    pub async fn share(
        &self,
        id: DocumentId,
        role: Role,
        addrs: Vec<String>,
    ) -> Result<Ticket, EngineError> {
        self.flushed().await?;
        let record = self.store().document(&id)?;
        if record.deleted_at.is_some() {
            return Err(EngineError::InTrash(id.to_string()));
        }
        let keys = match self.store().membership(&id)? {
            Some(existing) => {
                let membership = Membership::from_record(existing)?;
                if !membership.syncing {
                    self.write_async(ops::set_syncing(id, true)).await?;
                }
                membership.keys
            }
            None => {
                let write = WriteKey::generate();
                let keys = DocKeys::new(
                    *id.as_bytes(),
                    ReadKey::generate(),
                    write.public(),
                    Some(write),
                )
                .map_err(|e| EngineError::Sync(e.to_string()))?;
                let stored = Ticket::new(keys.clone(), Vec::new())?;
                self.write_async(ops::put_membership(
                    id,
                    MemberRole::Write,
                    stored.to_bytes(),
                    now_ms(),
                ))
                .await?;
                keys
            }
        };
        let keys = match (role, keys.role()) {
            (Role::Write, Role::Read) => return Err(EngineError::CannotGrantWrite(id.to_string())),
            (Role::Write, Role::Write) => keys,
            (Role::Read, _) => keys.read_only(),
        };
        self.emit(EngineEvent::SharingChanged { id });
        Ok(Ticket::new(keys, addrs)?)
    }

    /// Joins a shared document from an invite ticket (a `quire://join/…` link or its
    /// text): makes an empty local replica if the document is new here, keeps the
    /// keys, and turns syncing on. Returns the document's id.
    pub async fn join(&self, ticket: &str) -> Result<DocumentId, EngineError> {
        let ticket = Ticket::parse(ticket)?;
        let id = DocumentId::from_bytes(*ticket.doc_id());
        self.flushed().await?;
        // A link for a document already here must carry that document's keys: never
        // let a forged link take over a local document or replace its keys.
        match (self.store().document(&id), self.store().membership(&id)?) {
            (Ok(_), None) => return Err(EngineError::TicketMismatch(id.to_string())),
            (Ok(_), Some(existing)) => {
                let held = Membership::from_record(existing)?.keys;
                let same = held.writer() == ticket.keys().writer()
                    && held.read_key().to_bytes() == ticket.keys().read_key().to_bytes();
                if !same {
                    return Err(EngineError::TicketMismatch(id.to_string()));
                }
            }
            (Err(StoreError::NoSuchDocument(_)), _) => {}
            (Err(e), _) => return Err(e.into()),
        }
        self.adopt(id, "").await?;
        let record = self.store().document(&id)?;
        if record.deleted_at.is_some() {
            self.restore(id).await?;
        }
        let role = member_role(ticket.role());
        self.write_async(ops::put_membership(id, role, ticket.to_bytes(), now_ms()))
            .await?;
        let stored = self.store().membership(&id)?;
        let read_only = stored.is_some_and(|m| m.role == MemberRole::Read);
        if let Some(handle) = self.open_handle(id) {
            lock(&handle)?.read_only = read_only;
        }
        self.emit(EngineEvent::SharingChanged { id });
        Ok(id)
    }

    /// Stops syncing a shared document; it stays here, with its keys, and can be
    /// joined again with [`Engine::rejoin`].
    pub async fn leave(&self, id: DocumentId) -> Result<(), EngineError> {
        self.set_syncing(id, false).await
    }

    /// Syncs a document that was left again.
    pub async fn rejoin(&self, id: DocumentId) -> Result<(), EngineError> {
        self.set_syncing(id, true).await
    }

    async fn set_syncing(&self, id: DocumentId, syncing: bool) -> Result<(), EngineError> {
        self.flushed().await?;
        if self.store().membership(&id)?.is_none() {
            return Err(EngineError::NotShared(id.to_string()));
        }
        self.write_async(ops::set_syncing(id, syncing)).await?;
        self.emit(EngineEvent::SharingChanged { id });
        Ok(())
    }

    /// This device's membership of a document, if it is shared.
    pub async fn membership(&self, id: DocumentId) -> Result<Option<Membership>, EngineError> {
        self.flushed().await?;
        self.store()
            .membership(&id)?
            .map(Membership::from_record)
            .transpose()
    }

    /// Every shared document.
    pub async fn memberships(&self) -> Result<Vec<Membership>, EngineError> {
        self.flushed().await?;
        self.store()
            .memberships()?
            .into_iter()
            .map(Membership::from_record)
            .collect()
    }

    /// Records that a catch-up with a peer completed at `at` (ms since the epoch).
    pub async fn mark_synced(&self, id: DocumentId, at: i64) -> Result<(), EngineError> {
        self.write_async(ops::set_last_sync(id, at)).await
    }
}
