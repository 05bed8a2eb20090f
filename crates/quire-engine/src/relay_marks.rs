//! Where this device stands with each relay's mailbox, per shared document: the last
//! item it read (its cursor) and the state it has uploaded and had acknowledged (a
//! state vector), so that a restart neither reads everything again nor forgets to
//! upload what the relay lacks.

use quire_doc::DocumentId;
use quire_store::ops;

use crate::{Engine, EngineError};

/// This device's marks at one relay for one document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayMark {
    /// The last mailbox item read (0: none).
    pub cursor: u64,
    /// The state vector of what the relay acknowledged from this device (empty: none).
    pub uploaded: Vec<u8>,
}

fn key(relay: &str, id: DocumentId, what: &str) -> String {
    format!("relay/{relay}/{id}/{what}")
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Settings key of the relays this device uses (one address per line).
const RELAYS_KEY: &str = "relays";

/// Most relays kept.
pub const MAX_RELAYS: usize = 16;

/// Longest relay address kept, in bytes.
const MAX_RELAY_ADDR_BYTES: usize = 512;

impl Engine {
    /// The relays this device uses (addresses as the user gave them).
    pub async fn relays(&self) -> Result<Vec<String>, EngineError> {
        Ok(self
            .store()
            .setting(RELAYS_KEY)?
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default())
    }

    /// Sets the relays this device uses (blank entries dropped; the caller checks
    /// that each is an address).
    pub async fn set_relays(&self, relays: &[String]) -> Result<Vec<String>, EngineError> {
        let relays: Vec<String> = relays
            .iter()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        if relays.len() > MAX_RELAYS {
            return Err(EngineError::InvalidInput(format!(
                "at most {MAX_RELAYS} relays"
            )));
        }
        if let Some(long) = relays
            .iter()
            .find(|r| r.len() > MAX_RELAY_ADDR_BYTES || r.contains('\n'))
        {
            return Err(EngineError::InvalidInput(format!(
                "not a relay address: {long:.40}…"
            )));
        }
        self.write_async(ops::set_setting(RELAYS_KEY.into(), relays.join("\n")))
            .await?;
        Ok(relays)
    }

    /// The last mailbox item read at `relay` (its peer id) for document `id` (0:
    /// none): the one mark a read needs.
    pub async fn relay_cursor(&self, relay: &str, id: DocumentId) -> Result<u64, EngineError> {
        Ok(self
            .store()
            .setting(&key(relay, id, "cursor"))?
            .and_then(|c| c.parse().ok())
            .unwrap_or(0))
    }

    /// This device's marks at `relay` (its peer id) for document `id`.
    pub async fn relay_mark(&self, relay: &str, id: DocumentId) -> Result<RelayMark, EngineError> {
        let cursor = self.relay_cursor(relay, id).await?;
        let uploaded = self
            .store()
            .setting(&key(relay, id, "uploaded"))?
            .and_then(|h| from_hex(&h))
            .unwrap_or_default();
        Ok(RelayMark { cursor, uploaded })
    }

    /// Records that every mailbox item up to `cursor` has been read and applied.
    pub async fn set_relay_cursor(
        &self,
        relay: &str,
        id: DocumentId,
        cursor: u64,
    ) -> Result<(), EngineError> {
        self.write_async(ops::set_setting(
            key(relay, id, "cursor"),
            cursor.to_string(),
        ))
        .await
    }

    /// Records that the relay acknowledged everything up to state vector `uploaded`.
    pub async fn set_relay_uploaded(
        &self,
        relay: &str,
        id: DocumentId,
        uploaded: &[u8],
    ) -> Result<(), EngineError> {
        self.write_async(ops::set_setting(
            key(relay, id, "uploaded"),
            to_hex(uploaded),
        ))
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_garbage() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(from_hex(&to_hex(&bytes)).unwrap(), bytes);
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
    }
}
