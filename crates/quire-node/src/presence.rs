//! Awareness: who is in a document, their name and colour, where their cursor is and
//! whether they are typing. Sent sealed on the document's topic
//! ([`Kind::Awareness`](quire_crypto::Kind::Awareness)), rate-limited, repeated as a
//! heartbeat, and forgotten when a peer falls silent for [`PRESENCE_TIMEOUT`].
//!
//! A document this device does not have open in an editor (no cursor: a daemon's
//! documents, the app's other documents) is *idle*: its presence is repeated only
//! every [`IDLE_PRESENCE_HEARTBEAT`], and says so, so that its peers keep it for
//! [`IDLE_PRESENCE_TIMEOUT`]. Heartbeats every 10 s in every shared document made a
//! device with 10,000 documents send 1,000 messages a second while idle; now it is
//! 33, and a device keeps the 10 s heartbeat only where someone is looking.

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

/// How often our presence is repeated while nothing changes, in a document open in
/// an editor here.
pub const PRESENCE_HEARTBEAT: Duration = Duration::from_secs(10);

/// How often our presence is repeated in an idle document (not open in an editor
/// here): a device's idle cost is one message per document per this long.
pub const IDLE_PRESENCE_HEARTBEAT: Duration = Duration::from_secs(300);

/// How long an idle presence is kept without news: two heartbeats and a minute, so
/// one lost heartbeat does not make the peer flicker away. A peer that disconnects
/// is forgotten at once; one heard only through a relay that crashes stays this long.
pub const IDLE_PRESENCE_TIMEOUT: Duration = Duration::from_secs(660);

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
    /// Seconds to keep the presence without news: sent for an idle document
    /// ([`IDLE_PRESENCE_TIMEOUT`]); absent, [`PRESENCE_TIMEOUT`]. Older devices
    /// ignore it (and forget an idle peer after 30 s until its next heartbeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stays_secs: Option<u64>,
}

/// Whether our presence in a document is due: it changed and the minimum interval
/// has passed, or its heartbeat is due (`open`: the document is open in an editor
/// here), or it was never sent.
pub(crate) fn presence_due(
    sent_at: Option<Instant>,
    changed: bool,
    open: bool,
    now: Instant,
) -> bool {
    let Some(at) = sent_at else {
        return true;
    };
    let since = now.saturating_duration_since(at);
    let heartbeat = if open {
        PRESENCE_HEARTBEAT
    } else {
        IDLE_PRESENCE_HEARTBEAT
    };
    (changed && since >= PRESENCE_MIN_INTERVAL) || since >= heartbeat
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
    /// How long it is kept without news.
    stays: Duration,
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
        // A peer may ask to be kept longer (an idle document), never past the idle
        // timeout.
        let stays = message.stays_secs.map_or(PRESENCE_TIMEOUT, |secs| {
            Duration::from_secs(secs).clamp(PRESENCE_TIMEOUT, IDLE_PRESENCE_TIMEOUT)
        });
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
                    heard.stays = stays;
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
                            stays,
                        },
                    );
                    PresenceChange::Updated
                }
            },
        }
    }

    /// Forgets peers silent for longer than they asked to be kept
    /// ([`PRESENCE_TIMEOUT`], or up to [`IDLE_PRESENCE_TIMEOUT`]); returns them.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<PeerId> {
        let gone: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, h)| now.saturating_duration_since(h.last_seen) >= h.stays)
            .map(|(p, _)| *p)
            .collect();
        for peer in &gone {
            self.peers.remove(peer);
        }
        self.rate
            .retain(|_, (start, _)| now.duration_since(*start) < PRESENCE_TIMEOUT);
        gone
    }

    /// When [`PresenceBook::expire`] next has something to forget: the earliest a
    /// shown peer times out, or a rate window is done with.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        let shown = self.peers.values().map(|h| h.last_seen + h.stays);
        let windows = self
            .rate
            .values()
            .map(|(start, _)| *start + PRESENCE_TIMEOUT);
        shown.chain(windows).min()
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
        // The node's sweep looks at the book when its first peer is due to go.
        assert_eq!(book.next_expiry(), Some(now + PRESENCE_TIMEOUT));
        assert!(book.expire(now + PRESENCE_TIMEOUT / 2).is_empty());
        assert_eq!(book.expire(now + PRESENCE_TIMEOUT), vec![p]);
        assert!(book.list().is_empty());
        assert_eq!(book.next_expiry(), None);
    }

    #[test]
    fn an_idle_peer_is_looked_at_when_it_asked_to_go() {
        let p = peer();
        let now = Instant::now();
        let mut book = PresenceBook::default();
        let bytes = br#"{"presence":{"name":"Ann","color":"red"},"stays_secs":660}"#;
        let message = AwarenessMessage::decode(bytes, &p).unwrap();
        book.receive(p, message, now);
        // The rate window is done with after PRESENCE_TIMEOUT, the peer after 660 s.
        assert_eq!(book.next_expiry(), Some(now + PRESENCE_TIMEOUT));
        assert!(book.expire(now + PRESENCE_TIMEOUT).is_empty());
        assert_eq!(book.next_expiry(), Some(now + IDLE_PRESENCE_TIMEOUT));
        assert_eq!(book.expire(now + IDLE_PRESENCE_TIMEOUT), vec![p]);
    }

    #[test]
    fn floods_are_limited_and_junk_refused() {
        let p = peer();
        let now = Instant::now();
        let mut book = PresenceBook::default();
        let hello = AwarenessMessage {
            presence: Some(Presence::new("Bo", &p)),
            stays_secs: None,
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

    #[test]
    fn an_idle_presence_stays_longer_but_never_past_the_idle_timeout() {
        let (idle, greedy, open) = (peer(), peer(), peer());
        let now = Instant::now();
        let mut book = PresenceBook::default();
        let message = |p: &PeerId, stays_secs| AwarenessMessage {
            presence: Some(Presence::new("X", p)),
            stays_secs,
        };
        let idle_secs = IDLE_PRESENCE_TIMEOUT.as_secs();
        book.receive(idle, message(&idle, Some(idle_secs)), now);
        book.receive(greedy, message(&greedy, Some(u64::MAX)), now);
        book.receive(open, message(&open, None), now);
        // The field survives the wire, and an older message without it decodes.
        let bytes = message(&idle, Some(idle_secs)).encode();
        let decoded = AwarenessMessage::decode(&bytes, &idle).unwrap();
        assert_eq!(decoded.stays_secs, Some(idle_secs));
        assert!(AwarenessMessage::decode(br#"{"presence":null}"#, &idle).is_some());
        assert_eq!(book.expire(now + PRESENCE_TIMEOUT), vec![open]);
        let mut gone = book.expire(now + IDLE_PRESENCE_TIMEOUT);
        gone.sort();
        let mut expected = vec![idle, greedy];
        expected.sort();
        assert_eq!(gone, expected, "nobody stays past the idle timeout");
    }

    #[test]
    fn idle_documents_repeat_presence_rarely_open_ones_often() {
        let now = Instant::now();
        let sent = Some(now);
        assert!(presence_due(None, false, false, now), "never sent");
        for open in [false, true] {
            assert!(
                !presence_due(sent, true, open, now),
                "too soon after the last"
            );
            assert!(presence_due(sent, true, open, now + PRESENCE_MIN_INTERVAL));
        }
        assert!(presence_due(sent, false, true, now + PRESENCE_HEARTBEAT));
        assert!(!presence_due(sent, false, false, now + PRESENCE_HEARTBEAT));
        assert!(!presence_due(
            sent,
            false,
            false,
            now + IDLE_PRESENCE_HEARTBEAT - Duration::from_secs(1)
        ));
        assert!(presence_due(
            sent,
            false,
            false,
            now + IDLE_PRESENCE_HEARTBEAT
        ));
    }
}
