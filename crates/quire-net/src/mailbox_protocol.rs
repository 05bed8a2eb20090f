//! The `/quire/mailbox/1` request-response protocol between members and a relay's
//! mailbox: sealed envelopes kept per topic, each with the topic's next sequence
//! number, for members that are offline when they are sent.
//!
//! The relay only ever sees sealed bytes and topic hashes. A member puts what it
//! publishes, gets what came after the last sequence number it has seen, and may
//! replace everything up to a sequence number with one sealed snapshot (compaction).
//! Several puts may travel as one request ([`MailboxRequest::PutMany`]): each
//! request costs the relay a stream, so a member with several documents to upload
//! sends them together.
//! Reads batch the same way ([`MailboxRequest::GetMany`]): a member with thousands
//! of documents at a relay reads every one of their mailboxes in a few requests,
//! and a topic with nothing new costs a few bytes of the answer.
//! Between reads, a member asks which of its documents changed at all
//! ([`MailboxRequest::Changes`]): every put and compaction gives its topic the
//! relay's next change number, and the member sends the last number it saw with a
//! [`TopicFilter`] of its topics, so an idle member with 10,000 documents asks one
//! small question per read interval instead of reading 10,000 mailboxes.
//! Every payload is capped ([`MAX_MAILBOX_ITEM_BYTES`], [`MAX_MAILBOX_RESPONSE_BYTES`])
//! by the codec on receipt, before anything is decoded.
//!
//! Puts and compactions are signed with the document's mailbox key
//! ([`crate::mailbox_auth`]): the relay keeps only what the key it pinned for the
//! topic signed, so only the document's writers write to its mailbox. The
//! signature rides in an optional `auth` field: a relay from before signatures
//! ignores it, and a relay with signatures refuses a request without it
//! ([`Refusal::Invalid`], with words an older member logs).

use std::time::Duration;

use libp2p::{
    StreamProtocol,
    request_response::{self, ProtocolSupport, cbor},
};
use serde::{Deserialize, Serialize};

pub use crate::mailbox_auth::MailboxAuth;
pub use crate::topic_filter::TopicFilter;
/// A topic hash in a [`MailboxResponse::Changed`] (CBOR bytes, not 32 numbers).
pub use serde_bytes::ByteArray;

/// The protocol name negotiated on the stream.
pub const MAILBOX_PROTOCOL: StreamProtocol = StreamProtocol::new("/quire/mailbox/1");

/// Largest sealed item (or snapshot) a member may put: 8 MiB.
pub const MAX_MAILBOX_ITEM_BYTES: usize = 8 * 1024 * 1024;

/// Largest answer to a get: 8 MiB of items (more come with the next get).
pub const MAX_MAILBOX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Most items in one [`MailboxRequest::PutMany`].
pub const MAX_PUT_BATCH: usize = 64;

/// Most topics read in one [`MailboxRequest::GetMany`]: its request stays near 50
/// KiB, and the relay's answer to it one blocking job of a few milliseconds.
pub const MAX_GET_BATCH: usize = 1024;

/// Topics of a [`MailboxRequest::GetMany`] that cost the relay as much as one
/// request does (its rate limit counts requests; see [`request_cost`]).
pub const GET_BATCH_TOPICS_PER_REQUEST: usize = 128;

/// Most topics named in one [`MailboxResponse::Changed`] (more come with the next
/// ask): 4,096 hashes are about 140 KiB.
pub const MAX_CHANGED_TOPICS: usize = 4096;

/// Most change rows a relay looks at for one [`MailboxRequest::Changes`] (those of
/// other members' topics included): the answer's cursor stops where it stopped, and
/// `more` says to ask again.
pub const MAX_CHANGES_SCANNED: usize = 4096;

/// What a [`MailboxRequest::Changes`] costs against the relay's rate limit, in
/// requests: as much as a batched read of 512 topics (it may walk
/// [`MAX_CHANGES_SCANNED`] rows of one index while holding the mailbox).
pub const CHANGES_REQUEST_COST: u32 = 4;

/// Room for the CBOR framing around payloads.
const FRAME_OVERHEAD_BYTES: usize = 64 * 1024;

/// Mailbox requests one connection may have in progress at once (libp2p's default
/// is 100): a member keeps a few in flight, so a peer cannot make the relay buffer
/// a hundred 8 MiB requests per connection.
pub const MAX_CONCURRENT_MAILBOX_STREAMS: usize = 32;

/// A request with no response after this long fails with a timeout.
pub const MAILBOX_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What a member asks of a relay's mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailboxRequest {
    /// Keep a sealed envelope for the topic's members.
    Put {
        /// The topic hash (never the document id).
        #[serde(with = "serde_bytes")]
        topic: [u8; 32],
        /// The sealed envelope.
        #[serde(with = "serde_bytes")]
        item: Vec<u8>,
        /// The mailbox key's signature over the put.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        auth: Option<MailboxAuth>,
    },
    /// Keep several sealed envelopes (of one topic or several) in one request: at
    /// most [`MAX_PUT_BATCH`] items of at most [`MAX_MAILBOX_ITEM_BYTES`] in all.
    /// The answer is [`MailboxResponse::StoredMany`], one outcome per item in order;
    /// an item refused (say, over its topic's quota) does not stop the others.
    PutMany {
        /// The items, in the order they are kept.
        items: Vec<PutItem>,
    },
    /// The items after sequence number `after`, oldest first, up to `max_bytes`.
    Get {
        /// The topic hash.
        #[serde(with = "serde_bytes")]
        topic: [u8; 32],
        /// The last sequence number already seen (0: none).
        after: u64,
        /// Most bytes of items wanted (capped at [`MAX_MAILBOX_RESPONSE_BYTES`]).
        max_bytes: u32,
    },
    /// The items after a sequence number in each of several topics, in one request:
    /// at most [`MAX_GET_BATCH`] topics. The answer is [`MailboxResponse::ItemsMany`],
    /// one entry per read in order, together at most `max_bytes` (capped at
    /// [`MAX_MAILBOX_RESPONSE_BYTES`]): each topic's entry has its oldest items that
    /// fit, and `more` when the rest must be asked for again.
    GetMany {
        /// One per topic.
        reads: Vec<GetItem>,
        /// Most bytes of items wanted in all.
        max_bytes: u32,
    },
    /// Which topics of `filter` had an item put or compacted after change number
    /// `after`; with no `after`, only the relay's last change number (where to
    /// start following from, asked before reading every mailbox once). The answer
    /// is [`MailboxResponse::Changed`]; a relay from before change numbers closes
    /// the stream without one.
    Changes {
        /// The last change number seen (from the previous answer).
        after: Option<u64>,
        /// The asker's topics.
        filter: TopicFilter,
    },
    /// Replace every item up to and including `supersedes` with one sealed snapshot.
    /// `supersedes` is the last item the member had read: nothing after it goes.
    Compact {
        /// The topic hash.
        #[serde(with = "serde_bytes")]
        topic: [u8; 32],
        /// The sealed snapshot holding everything the replaced items held.
        #[serde(with = "serde_bytes")]
        snapshot: Vec<u8>,
        /// The last sequence number the snapshot covers.
        supersedes: u64,
        /// The mailbox key's signature over the compaction.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        auth: Option<MailboxAuth>,
    },
}

/// One item of a [`MailboxRequest::PutMany`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutItem {
    /// The topic hash.
    #[serde(with = "serde_bytes")]
    pub topic: [u8; 32],
    /// The sealed envelope.
    #[serde(with = "serde_bytes")]
    pub item: Vec<u8>,
    /// The mailbox key's signature over this item's put.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<MailboxAuth>,
}

/// One read of a [`MailboxRequest::GetMany`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetItem {
    /// The topic hash.
    #[serde(with = "serde_bytes")]
    pub topic: [u8; 32],
    /// The last sequence number already seen (0: none).
    pub after: u64,
}

/// One topic's part of a [`MailboxResponse::ItemsMany`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicItems {
    /// Oldest first.
    pub items: Vec<MailboxItem>,
    /// Whether more items may follow (ask again after the last one, or after the
    /// asked sequence number when none came).
    pub more: bool,
}

/// One kept item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxItem {
    /// Its sequence number in the topic.
    pub seq: u64,
    /// The sealed bytes.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

/// Why a relay refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The relay serves its team only, and this peer is not on its list.
    NotAllowed,
    /// The topic or the peer would go over its storage quota.
    QuotaExceeded,
    /// Too many requests from this peer; try again shortly.
    RateLimited,
    /// The request is malformed (say, an item over the size limit).
    Invalid,
    /// The relay failed to store or read (its disk); try again later.
    Unavailable,
    /// The put or compaction is not signed with the mailbox key the relay pinned
    /// for the topic: the device is not a writer of the document (or someone else
    /// pinned the topic first, see [`crate::mailbox_auth`]).
    NotWriter,
}

/// A relay's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailboxResponse {
    /// The item is durable under this sequence number.
    Stored {
        /// Its sequence number.
        seq: u64,
    },
    /// The outcome of each item of a [`MailboxRequest::PutMany`], in order: each
    /// is [`Self::Stored`] or [`Self::Refused`].
    StoredMany {
        /// One per item.
        results: Vec<MailboxResponse>,
    },
    /// Items after the asked sequence number.
    Items {
        /// Oldest first.
        items: Vec<MailboxItem>,
        /// Whether more items follow (ask again after the last one).
        more: bool,
    },
    /// The answer to a [`MailboxRequest::GetMany`]: one entry per read, in order.
    ItemsMany {
        /// One per read.
        results: Vec<TopicItems>,
    },
    /// The answer to a [`MailboxRequest::Changes`]: topics the filter may hold that
    /// changed after the asked number (each once, at most [`MAX_CHANGED_TOPICS`]),
    /// and the number to ask after next time.
    Changed {
        /// The changed topics.
        topics: Vec<serde_bytes::ByteArray<32>>,
        /// The last change number this answer covers.
        cursor: u64,
        /// Whether more changes follow (ask again after `cursor` now).
        more: bool,
    },
    /// The snapshot is durable under this sequence number and older items are gone.
    Compacted {
        /// The snapshot's sequence number.
        seq: u64,
    },
    /// Refused, with a reason a person can read.
    Refused {
        /// Why.
        reason: Refusal,
        /// In words.
        message: String,
    },
}

/// What a request costs against a relay's per-device rate limit, in requests: one,
/// and one more for every [`GET_BATCH_TOPICS_PER_REQUEST`] topics a batched read
/// asks for beyond the first ones. Member and relay count the same way, so a member
/// paces itself under the relay's limit.
pub fn request_cost(request: &MailboxRequest) -> u32 {
    match request {
        MailboxRequest::GetMany { reads, .. } => get_many_cost(reads.len()),
        MailboxRequest::Changes { .. } => CHANGES_REQUEST_COST,
        _ => 1,
    }
}

/// What a [`MailboxRequest::GetMany`] of `topics` reads costs (see [`request_cost`]).
pub fn get_many_cost(topics: usize) -> u32 {
    let extra = topics.saturating_sub(1) / GET_BATCH_TOPICS_PER_REQUEST;
    u32::try_from(extra).map_or(u32::MAX, |extra| extra.saturating_add(1))
}

/// The request-response behaviour for [`MAILBOX_PROTOCOL`].
pub type MailboxBehaviour = cbor::Behaviour<MailboxRequest, MailboxResponse>;

/// The CBOR codec of [`MAILBOX_PROTOCOL`], with its size caps: what decodes every
/// request a relay receives and every response a member receives (public so that the
/// fuzzers decode through it too).
pub fn mailbox_codec() -> cbor::codec::Codec<MailboxRequest, MailboxResponse> {
    cbor::codec::Codec::default()
        .set_request_size_maximum((MAX_MAILBOX_ITEM_BYTES + FRAME_OVERHEAD_BYTES) as u64)
        .set_response_size_maximum((MAX_MAILBOX_RESPONSE_BYTES + FRAME_OVERHEAD_BYTES) as u64)
}

/// Builds the behaviour: `serve` for a relay (answers requests), else a member's
/// (asks only).
pub fn mailbox_behaviour(serve: bool) -> MailboxBehaviour {
    let codec = mailbox_codec();
    let support = if serve {
        ProtocolSupport::Inbound
    } else {
        ProtocolSupport::Outbound
    };
    let config = request_response::Config::default()
        .with_request_timeout(MAILBOX_REQUEST_TIMEOUT)
        .with_max_concurrent_streams(MAX_CONCURRENT_MAILBOX_STREAMS);
    request_response::Behaviour::with_codec(codec, [(MAILBOX_PROTOCOL, support)], config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batched_read_costs_one_request_per_batch_of_topics() {
        assert_eq!(get_many_cost(1), 1);
        assert_eq!(get_many_cost(GET_BATCH_TOPICS_PER_REQUEST), 1);
        assert_eq!(get_many_cost(GET_BATCH_TOPICS_PER_REQUEST + 1), 2);
        assert_eq!(get_many_cost(MAX_GET_BATCH), 8);
        let get = MailboxRequest::Get {
            topic: [1; 32],
            after: 0,
            max_bytes: 1,
        };
        assert_eq!(request_cost(&get), 1);
        let many = MailboxRequest::GetMany {
            reads: vec![
                GetItem {
                    topic: [1; 32],
                    after: 0
                };
                300
            ],
            max_bytes: 1,
        };
        assert_eq!(request_cost(&many), 3);
        let changes = MailboxRequest::Changes {
            after: Some(1),
            filter: TopicFilter::of(&[[1; 32]]),
        };
        assert_eq!(request_cost(&changes), CHANGES_REQUEST_COST);
    }
}
