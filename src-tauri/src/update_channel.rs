//! Document updates for the window as raw bytes over a Tauri channel, not as JSON
//! events (a JSON event carries bytes as an array of numbers, four or more times their
//! size, which the page must parse; a peer's catch-up of a 10 MB document would cost
//! seconds). The window opens the channel once (`watch_updates`); each update is one
//! frame: the origin, the document id, then the update.

use std::sync::Mutex;

use quire_engine::Origin;
use tauri::ipc::{Channel, InvokeResponseBody};

/// Frame byte 0: the update came from a peer.
pub(crate) const FROM_PEER: u8 = 0;
/// Frame byte 0: the update came from a relay's mailbox.
pub(crate) const FROM_RELAY: u8 = 1;
/// Frame byte 0: a local change made outside the window (a restore, another window).
pub(crate) const FROM_LOCAL_OTHER: u8 = 2;

/// The window's channel, once it has asked for one (the newest wins: a reloaded page
/// asks again).
#[derive(Default)]
pub(crate) struct UpdateChannel(Mutex<Option<Channel<InvokeResponseBody>>>);

impl UpdateChannel {
    /// Sends updates to `channel` from now on.
    pub(crate) fn set(&self, channel: Channel<InvokeResponseBody>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(channel);
        }
    }

    /// Sends one update, if the window listens.
    pub(crate) fn send(&self, id: &str, origin: &Origin, update: &[u8]) {
        let Some(channel) = self.0.lock().ok().and_then(|slot| slot.clone()) else {
            return;
        };
        if let Err(e) = channel.send(InvokeResponseBody::Raw(frame(id, origin, update))) {
            tracing::warn!("cannot tell the window about an update: {e}");
        }
    }
}

/// One frame: origin byte, id length byte, the id (ASCII), the update. Ids are
/// base32 text far shorter than 255 bytes; a longer one is cut rather than let
/// overflow the length byte (the window then drops the frame as unknown).
pub(crate) fn frame(id: &str, origin: &Origin, update: &[u8]) -> Vec<u8> {
    let id = id.as_bytes();
    let id = id.get(..usize::from(u8::MAX)).unwrap_or(id);
    let mut out = Vec::with_capacity(2 + id.len() + update.len());
    out.push(match origin {
        Origin::Peer(_) => FROM_PEER,
        Origin::Relay(_) => FROM_RELAY,
        Origin::Local => FROM_LOCAL_OTHER,
    });
    out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(id);
    out.extend_from_slice(update);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_origin_id_then_update() {
        let framed = frame("ABC", &Origin::Local, &[7, 8, 9]);
        assert_eq!(framed, [FROM_LOCAL_OTHER, 3, b'A', b'B', b'C', 7, 8, 9]);
    }
}
