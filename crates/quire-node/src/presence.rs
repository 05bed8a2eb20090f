//! Awareness: who is in a document, their name and colour, where their cursor is and
//! whether they are typing. Sent sealed on the document's topic
//! ([`Kind::Awareness`](quire_crypto::Kind::Awareness)), rate-limited, repeated as a
//! heartbeat, and forgotten when a peer falls silent for [`PRESENCE_TIMEOUT`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use quire_crypto::PeerId;
use serde::{Deserialize, Serialize};

/// Largest awareness plaintext accepted (checked before parsing).
pub const MAX_PRESENCE_BYTES: usize = 2048;

/// Longest name kept, in characters (longer names are cut).
pub const MAX_NAME_CHARS: usize = 64;

/// A peer that sends nothing for this long is shown as gone.
pub const PRESENCE_TIMEOUT: Duration = Duration::from_secs(30);

/// How often our presence is repeated while nothing changes.
pub const PRESENCE_HEARTBEAT: Duration = Duration::from_secs(10);

/// Least time between two presence messages we send for one document; changes in
/// between are sent together when it has passed.
pub const PRESENCE_MIN_INTERVAL: Duration = Duration::from_millis(50);

/// Most presence messages accepted per peer and document per second; more are
/// dropped.
pub const MAX_PRESENCE_PER_SECOND: u32 = 30;

/// Colours given to peers that did not choose one.
const PALETTE: [&str; 8] = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324",
];

/// A cursor or selection, in character offsets into the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Where the selection starts (where it was anchored).
    pub anchor: u64,
    /// Where the caret is.
    pub head: u64,
}

/// What a member shows the others about itself in one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// Display name.
    pub name: String,
    /// CSS colour, `#rrggbb`.
    pub color: String,
    /// Cursor or selection, if the document is open in an editor.
    #[serde(default)]
    pub cursor: Option<Cursor>,
    /// Whether the member is typing right now.
    #[serde(default)]
    pub typing: bool,
}

impl Presence {
    /// A presence with a colour picked from the peer id.
    pub fn new(name: &str, peer: &PeerId) -> Self {
        Self::with_color(name, default_color(peer))
    }

    /// A presence with a chosen colour.
    pub fn with_color(name: &str, color: &str) -> Self {
        Self {
            name: name.to_owned(),
            color: color.to_owned(),
            cursor: None,
            typing: false,
        }
    }

    /// Checks and tidies a presence from a peer: a sane name and colour.
    fn sanitized(mut self, peer: &PeerId) -> Self {
        self.name = self
            .name
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_NAME_CHARS)
            .collect();
        if self.name.trim().is_empty() {
            self.name = "Anonymous".to_owned();
        }
        if !quire_engine::is_hex_color(&self.color) {
            self.color = default_color(peer).to_owned();
        }
        self
    }
}

/// The colour a peer gets when it did not choose one.
pub fn default_color(peer: &PeerId) -> &'static str {
    let hash = blake3::hash(&peer.to_bytes());
    let index = usize::from(hash.as_bytes()[0]) % PALETTE.len();
    PALETTE.get(index).copied().unwrap_or("#4363d8")
}

/// An awareness message: a presence, or a goodbye.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AwarenessMessage {
    /// The presence, or `None` when the member leaves the document.
    pub(crate) presence: Option<Presence>,
}

impl AwarenessMessage {
    pub(crate) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub(crate) fn decode(bytes: &[u8], peer: &PeerId) -> Option<Self> {
        if bytes.len() > MAX_PRESENCE_BYTES {
            return None;
        }
        let mut message: Self = serde_json::from_slice(bytes).ok()?;
        message.presence = message.presence.map(|p| p.sanitized(peer));
        Some(message)
    }
}

/// A peer's presence as last heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerPresence {
    /// The peer.
    pub peer: PeerId,
    /// What it shows.
    pub presence: Presence,
}

#[derive(Debug)]
struct Heard {
    presence: Presence,
    last_seen: Instant,
}

/// Presences of the other members of one document.
#[derive(Debug, Default)]
pub(crate) struct PresenceBook {
    peers: HashMap<PeerId, Heard>,
    /// Per peer: messages counted in the current one-second window (kept also for
    /// peers not shown, so a flood of goodbyes is limited too).
    rate: HashMap<PeerId, (Instant, u32)>,
}

/// What receiving an awareness message changed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PresenceChange {
    /// Nothing worth telling (a heartbeat).
    None,
    /// The peer's presence is new or different.
    Updated,
    /// The peer said goodbye.
    Left,
    /// Over the rate limit: dropped.
    RateLimited,
}

impl PresenceBook {
    pub(crate) fn receive(
        &mut self,
        peer: PeerId,
        message: AwarenessMessage,
        now: Instant,
    ) -> PresenceChange {
        let (start, count) = self.rate.entry(peer).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(1) {
            *start = now;
            *count = 0;
        }
        *count += 1;
        if *count > MAX_PRESENCE_PER_SECOND {
            return PresenceChange::RateLimited;
        }
        match message.presence {
            None => {
                if self.peers.remove(&peer).is_some() {
                    PresenceChange::Left
                } else {
                    PresenceChange::None
                }
            }
            Some(presence) => match self.peers.get_mut(&peer) {
                Some(heard) => {
                    heard.last_seen = now;
                    if heard.presence == presence {
                        PresenceChange::None
                    } else {
                        heard.presence = presence;
                        PresenceChange::Updated
                    }
                }
                None => {
                    self.peers.insert(
                        peer,
                        Heard {
                            presence,
                            last_seen: now,
                        },
                    );
                    PresenceChange::Updated
                }
            },
        }
    }

    /// Forgets peers silent for [`PRESENCE_TIMEOUT`]; returns them.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<PeerId> {
        let gone: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, h)| now.duration_since(h.last_seen) >= PRESENCE_TIMEOUT)
            .map(|(p, _)| *p)
            .collect();
        for peer in &gone {
            self.peers.remove(peer);
        }
        self.rate
            .retain(|_, (start, _)| now.duration_since(*start) < PRESENCE_TIMEOUT);
        gone
    }

    /// Forgets a peer at once (it disconnected); returns whether it was shown.
    pub(crate) fn remove(&mut self, peer: &PeerId) -> bool {
        self.peers.remove(peer).is_some()
    }

    /// Everyone shown, by name.
    pub(crate) fn list(&self) -> Vec<PeerPresence> {
        let mut list: Vec<PeerPresence> = self
            .peers
            .iter()
            .map(|(peer, heard)| PeerPresence {
                peer: *peer,
                presence: heard.presence.clone(),
            })
            .collect();
        list.sort_by(|a, b| a.presence.name.cmp(&b.presence.name));
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> PeerId {
        quire_crypto::DeviceIdentity::generate().peer_id()
    }

    #[test]
    fn presence_is_tidied_and_expires() {
        let p = peer();
        let now = Instant::now();
        let mut book = PresenceBook::default();
        let bytes = br#"{"presence":{"name":"Ann\u0007 Lee","color":"red","typing":true}}"#;
        let message = AwarenessMessage::decode(bytes, &p).unwrap();
        assert_eq!(
            book.receive(p, message.clone(), now),
            PresenceChange::Updated
        );
        let shown = &book.list()[0].presence;
        assert_eq!(shown.name, "Ann Lee");
        assert_eq!(shown.color, default_color(&p));
        assert!(shown.typing);
        assert_eq!(book.receive(p, message, now), PresenceChange::None);
        assert!(book.expire(now + PRESENCE_TIMEOUT / 2).is_empty());
        assert_eq!(book.expire(now + PRESENCE_TIMEOUT), vec![p]);
        assert!(book.list().is_empty());
    }

    #[test]
    fn floods_are_limited_and_junk_refused() {
        let p = peer();
        let now = Instant::now();
        let mut book = PresenceBook::default();
        let hello = AwarenessMessage {
            presence: Some(Presence::new("Bo", &p)),
        };
        for _ in 0..MAX_PRESENCE_PER_SECOND {
            assert_ne!(
                book.receive(p, hello.clone(), now),
                PresenceChange::RateLimited
            );
        }
        assert_eq!(
            book.receive(p, hello.clone(), now),
            PresenceChange::RateLimited
        );
        assert_ne!(
            book.receive(p, hello, now + Duration::from_secs(1)),
            PresenceChange::RateLimited
        );
        assert!(AwarenessMessage::decode(b"not json", &p).is_none());
        assert!(AwarenessMessage::decode(&vec![b' '; MAX_PRESENCE_BYTES + 1], &p).is_none());
    }
}
