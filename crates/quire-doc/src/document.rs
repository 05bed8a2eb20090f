//! [`Document`]: the yrs document with Quire's shape, validated remote updates and
//! character-indexed local edits.

use std::panic::{AssertUnwindSafe, catch_unwind};

use yrs::updates::decoder::Decode;
use yrs::updates::encoder::{Encode, EncoderV1};
use yrs::{
    Doc, GetString, Map, MapRef, OffsetKind, Options, ReadTxn, StateVector, Text, TextRef,
    Transact, Update,
};

use crate::diff::{Splice, minimal_splices};
use crate::text_index::AstralIndex;
use crate::update_check::precheck_state_vector;
use crate::update_shape::check_update_shape;
use crate::{DocError, MAX_STATE_VECTOR_BYTES, MAX_UPDATE_BYTES};

/// Name of the root `Y.Text` holding the Markdown body.
pub const BODY: &str = "body";
/// Name of the root `Y.Map` holding metadata.
pub const META: &str = "meta";
/// Key of the title in [`META`].
pub const META_TITLE: &str = "title";

/// Where a change observed by [`Document::observe`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateSource {
    /// An edit made through this `Document`.
    Local,
    /// An update applied with [`Document::apply_update`].
    Remote,
}

/// Highest clock (operation count) accepted for any one writer of a document; two
/// billion operations is beyond any real editing session, and clocks near `u32::MAX`
/// wrap around inside yrs.
pub const MAX_CLIENT_CLOCK: u32 = 1 << 31;

/// The outcome of applying a remote update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The update added something this document did not have.
    pub changed: bool,
    /// Part of the update waits for earlier updates it depends on.
    pub pending: bool,
}

type Observer = Box<dyn FnMut(&[u8], UpdateSource) + Send>;

/// One Quire document: Markdown body and metadata in a yrs CRDT.
pub struct Document {
    pub(crate) doc: Doc,
    body: TextRef,
    meta: MapRef,
    astral: AstralIndex,
    poisoned: bool,
    observers: Vec<Observer>,
    /// The last sync digest computed and the key it was computed with; cleared by
    /// every change (see `sync_digest`).
    pub(crate) digest_cache: Option<([u8; 32], [u8; 32])>,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("client_id", &self.doc.client_id().get())
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl Default for Document {
    fn default() -> Self {
        Self::new()
    }
}

impl Document {
    /// An empty document with a fresh random client id.
    pub fn new() -> Self {
        Self::with_options(Options {
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        })
    }

    /// An empty document with the given yrs client id (tests and simulations); only
    /// the low 53 bits are used, as in Yjs.
    pub fn with_client_id(client_id: u64) -> Self {
        Self::with_options(Options {
            offset_kind: OffsetKind::Utf16,
            ..Options::with_client_id(yrs::block::ClientID::new(client_id & ((1 << 53) - 1)))
        })
    }

    fn with_options(options: Options) -> Self {
        let doc = Doc::with_options(options);
        let body = doc.get_or_insert_text(BODY);
        let meta = doc.get_or_insert_map(META);
        Self {
            doc,
            body,
            meta,
            astral: AstralIndex::empty(),
            poisoned: false,
            observers: Vec::new(),
            digest_cache: None,
        }
    }

    /// A document loaded from stored updates (a snapshot, then the log after it).
    ///
    /// Stored data is this device's own, so the size cap for peers' updates does not
    /// apply (a document may outgrow it); every other check does.
    pub fn load<'a>(updates: impl IntoIterator<Item = &'a [u8]>) -> Result<Self, DocError> {
        let mut doc = Self::new();
        for update in updates {
            doc.integrate(update)?;
        }
        doc.astral = AstralIndex::unknown();
        Ok(doc)
    }

    /// Registers a callback run after every change with the change's v1 update bytes.
    pub fn observe(&mut self, f: impl FnMut(&[u8], UpdateSource) + Send + 'static) {
        self.observers.push(Box::new(f));
    }

    fn notify(&mut self, update: &[u8], source: UpdateSource) {
        for observer in &mut self.observers {
            observer(update, source);
        }
    }

    /// Whether an earlier rejected update left this copy unusable.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    fn usable(&self) -> Result<(), DocError> {
        if self.poisoned {
            Err(DocError::Poisoned)
        } else {
            Ok(())
        }
    }

    /// The yrs client id of this copy.
    pub fn client_id(&self) -> u64 {
        self.doc.client_id().get()
    }

    /// The Markdown body.
    pub fn text(&self) -> String {
        self.body.get_string(&self.doc.transact())
    }

    /// Makes sure the astral index matches the text.
    fn astral_index(&mut self) -> &AstralIndex {
        if !self.astral.is_known() {
            let text = self.text();
            self.astral.rebuild(&text);
        }
        &self.astral
    }

    /// Length of the body in characters.
    pub fn len_chars(&mut self) -> usize {
        let units = self.body.len(&self.doc.transact()) as usize;
        units - self.astral_index().count()
    }

    /// The title from the metadata, if one was set.
    pub fn title(&self) -> Option<String> {
        let txn = self.doc.transact();
        match self.meta.get(&txn, META_TITLE)? {
            yrs::Out::Any(yrs::Any::String(s)) => Some(s.to_string()),
            _ => None,
        }
    }

    /// Sets the title; returns the update.
    pub fn set_title(&mut self, title: &str) -> Result<Vec<u8>, DocError> {
        self.usable()?;
        self.digest_cache = None;
        let update = {
            let mut txn = self.doc.transact_mut();
            self.meta.insert(&mut txn, META_TITLE, title);
            txn.encode_update_v1()
        };
        self.notify(&update, UpdateSource::Local);
        Ok(update)
    }

    /// Inserts `text` at character `index`; returns the update, or `None` for an empty insert.
    pub fn insert(&mut self, index: usize, text: &str) -> Result<Option<Vec<u8>>, DocError> {
        self.splice(&[Splice {
            pos: index,
            delete: 0,
            insert: text.to_owned(),
        }])
    }

    /// Deletes `len` characters at character `index`; returns the update, or `None` if
    /// nothing was deleted.
    pub fn delete(&mut self, index: usize, len: usize) -> Result<Option<Vec<u8>>, DocError> {
        self.splice(&[Splice {
            pos: index,
            delete: len,
            insert: String::new(),
        }])
    }

    /// Replaces the whole body with `new`, changing only what differs; returns the
    /// update, or `None` if the text was already `new`.
    pub fn replace_text(&mut self, new: &str) -> Result<Option<Vec<u8>>, DocError> {
        self.usable()?;
        let old = self.text();
        let splices = minimal_splices(&old, new);
        self.splice(&splices)
    }

    /// Applies splices in order as one transaction; returns its update, or `None` if
    /// the splices change nothing. Out-of-range splices fail before anything changes.
    pub fn splice(&mut self, splices: &[Splice]) -> Result<Option<Vec<u8>>, DocError> {
        self.usable()?;
        let units = self.splices_in_utf16(splices)?;
        if units
            .iter()
            .all(|(_, del, ins)| *del == 0 && ins.is_empty())
        {
            return Ok(None);
        }
        self.digest_cache = None;
        let update = {
            let mut txn = self.doc.transact_mut();
            for (pos, del, ins) in &units {
                if *del > 0 {
                    self.body.remove_range(&mut txn, *pos, *del);
                }
                if !ins.is_empty() {
                    self.body.insert(&mut txn, *pos, ins);
                }
            }
            txn.encode_update_v1()
        };
        self.notify(&update, UpdateSource::Local);
        Ok(Some(update))
    }

    /// Translates character splices to UTF-16 (position, deletion, insert), checking
    /// every range against the text as the earlier splices leave it. The astral index
    /// is updated only once every splice is known to be valid.
    fn splices_in_utf16<'s>(
        &mut self,
        splices: &'s [Splice],
    ) -> Result<Vec<(u32, u32, &'s str)>, DocError> {
        let mut len = self.len_chars();
        let mut index = self.astral.clone();
        let mut out = Vec::with_capacity(splices.len());
        for s in splices {
            let end = s.pos.checked_add(s.delete).filter(|&end| end <= len);
            let Some(end) = end else {
                return Err(DocError::OutOfRange {
                    index: s.pos.saturating_add(s.delete),
                    len,
                });
            };
            let pos16 = index.utf16_offset(s.pos);
            let del16 = index.utf16_len(s.pos, s.delete);
            index.splice(s.pos, s.delete, &s.insert);
            len = len - (end - s.pos) + s.insert.chars().count();
            out.push((to_u32(pos16, len)?, to_u32(del16, len)?, s.insert.as_str()));
        }
        self.astral = index;
        Ok(out)
    }

    /// Applies an update from elsewhere (a peer, the relay, the store).
    ///
    /// The bytes are size-checked, decoded and applied with any panic inside yrs caught.
    /// Bytes that do not decode change nothing. If yrs fails or panics *while
    /// integrating*, the document may be half-changed, so it is poisoned: every later
    /// call returns [`DocError::Poisoned`] and the owner must reload it from storage.
    pub fn apply_update(&mut self, bytes: &[u8]) -> Result<Applied, DocError> {
        self.usable()?;
        if bytes.len() > MAX_UPDATE_BYTES {
            return Err(DocError::UpdateTooLarge {
                size: bytes.len(),
                limit: MAX_UPDATE_BYTES,
            });
        }
        self.integrate(bytes)
    }

    /// [`Document::apply_update`] without the size cap.
    fn integrate(&mut self, bytes: &[u8]) -> Result<Applied, DocError> {
        self.usable()?;
        self.digest_cache = None;
        check_update_shape(bytes)?;
        let update = catch_unwind(|| Update::decode_v1(bytes))
            .map_err(|_| DocError::MalformedUpdate("the decoder panicked".into()))?
            .map_err(|e| DocError::MalformedUpdate(e.to_string()))?;
        // Nobody else may write as this device: blocks under our client id beyond what
        // we have written would wait as pending and later merge into our own edits.
        let own = self.doc.client_id();
        let (sv_before, had_pending) = {
            let txn = self.doc.transact();
            let store = txn.store();
            let pending = store.pending_update().is_some() || store.pending_ds().is_some();
            (txn.state_vector(), pending)
        };
        let ours_known = sv_before.get(&own);
        let insertions = update.insertions(true);
        // Clocks near the top of u32 wrap around inside yrs (a use-after-free the
        // fuzzer found: `fuzz/crashers/use-after-free-in-yrs-integrate-peer-client`).
        // No real writer gets anywhere near, so such an update is forged.
        let wraps = insertions
            .iter()
            .chain(update.delete_set().iter())
            .any(|(_, ranges)| {
                ranges
                    .iter()
                    .any(|r| r.end > MAX_CLIENT_CLOCK || r.start > r.end)
            });
        if wraps {
            return Err(DocError::MalformedUpdate(
                "the update's clocks are out of range".into(),
            ));
        }
        let forged = insertions
            .iter()
            .filter(|(client, _)| **client == own)
            .any(|(_, ranges)| ranges.iter().any(|r| r.end > ours_known));
        if forged {
            return Err(DocError::MalformedUpdate(
                "the update claims to come from this device".into(),
            ));
        }
        let mut txn = self.doc.transact_mut();
        let integrated = catch_unwind(AssertUnwindSafe(|| txn.apply_update(update)));
        let outcome = match integrated {
            Ok(Ok(())) => {
                let changed =
                    txn.before_state() != txn.after_state() || !txn.delete_set().is_empty();
                let pending =
                    txn.store().pending_update().is_some() || txn.store().pending_ds().is_some();
                Ok(Applied { changed, pending })
            }
            Ok(Err(e)) => Err(DocError::MalformedUpdate(e.to_string())),
            Err(_) => Err(DocError::ApplyPanicked),
        };
        let committed = catch_unwind(AssertUnwindSafe(move || drop(txn)));
        // yrs has accepted updates that leave its block lists unable to encode (found
        // by the fuzzer: `fuzz/crashers/accepted-then-diff-panics`); a later snapshot
        // or catch-up would then panic. Encoding just the blocks this update added
        // runs the same code on the same blocks, at the cost of the update's size
        // (the crash is there; a diff's delete set would cost the whole document's
        // size: 0.2 ms per keystroke in a 76,000-character document).
        let encodable = || {
            catch_unwind(AssertUnwindSafe(|| {
                let txn = self.doc.transact();
                txn.store()
                    .write_blocks_from(&sv_before, &mut EncoderV1::new());
            }))
            .is_ok()
        };
        // Likewise a stashed (pending) part can make every later snapshot panic when
        // yrs merges it in (`fuzz/crashers/accepted-then-encode-panics`). Checking runs
        // that merge: O(document), paid only when an update leaves something pending,
        // which in normal operation means updates arrived out of order.
        let pending_encodable = || {
            catch_unwind(AssertUnwindSafe(|| {
                let txn = self.doc.transact();
                txn.encode_state_as_update_v1(&txn.state_vector());
            }))
            .is_ok()
        };
        let committed = match (&outcome, committed) {
            (Ok(applied), Ok(())) if applied.changed && !encodable() => Err(()),
            (Ok(applied), Ok(())) if applied.pending && !pending_encodable() => Err(()),
            (_, c) => c.map_err(|_| ()),
        };
        match (outcome, committed) {
            (Ok(applied), Ok(())) => {
                if applied.changed && (had_pending || applied.pending) {
                    // Stashed updates may have joined the text: what they hold is unknown.
                    self.astral = AstralIndex::unknown();
                } else if applied.changed {
                    self.astral.note_remote_update(bytes);
                }
                if applied.changed {
                    self.notify(bytes, UpdateSource::Remote);
                }
                Ok(applied)
            }
            (Err(e), _) => {
                self.poisoned = true;
                Err(e)
            }
            (Ok(_), Err(_)) => {
                self.poisoned = true;
                Err(DocError::ApplyPanicked)
            }
        }
    }

    /// This document's state vector, v1-encoded.
    pub fn state_vector(&self) -> Vec<u8> {
        self.doc.transact().state_vector().encode_v1()
    }

    /// Everything this document has that a peer with state vector `sv` lacks, as one update.
    ///
    /// `sv` comes from a peer, so decoding is checked, and the encoding is isolated too:
    /// yrs has panicked serving odd state vectors. Serving is read-only, so a panic
    /// leaves the document as it was; the request just fails.
    pub fn diff_since(&self, sv: &[u8]) -> Result<Vec<u8>, DocError> {
        self.usable()?;
        if sv.len() > MAX_STATE_VECTOR_BYTES {
            return Err(DocError::MalformedStateVector(format!(
                "{} bytes is over the limit of {MAX_STATE_VECTOR_BYTES}",
                sv.len()
            )));
        }
        precheck_state_vector(sv)?;
        let sv = catch_unwind(|| StateVector::decode_v1(sv))
            .map_err(|_| DocError::MalformedStateVector("the decoder panicked".into()))?
            .map_err(|e| DocError::MalformedStateVector(e.to_string()))?;
        catch_unwind(AssertUnwindSafe(|| self.doc.transact().encode_diff_v1(&sv))).map_err(|_| {
            DocError::MalformedStateVector("the CRDT library could not serve it".into())
        })
    }

    /// The whole document as one update (a snapshot). Isolated like every other yrs
    /// call on state that peers shaped: if the library panics, this is an error (the
    /// caller keeps its update log instead of compacting) and the process lives on.
    pub fn encode_state(&self) -> Result<Vec<u8>, DocError> {
        self.usable()?;
        catch_unwind(AssertUnwindSafe(|| {
            self.doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default())
        }))
        .map_err(|_| DocError::EncodePanicked)
    }
}

fn to_u32(v: usize, len: usize) -> Result<u32, DocError> {
    u32::try_from(v).map_err(|_| DocError::OutOfRange { index: v, len })
}
