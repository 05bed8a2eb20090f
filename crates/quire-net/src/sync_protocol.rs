//! The `/quire/sync/1` request-response protocol: opaque bytes about one topic.
//!
//! The engine puts a state vector (or "everything after N") in the request and the
//! missing updates in the response; this crate only moves bytes. Both directions are
//! capped at [`MAX_SYNC_PAYLOAD_BYTES`], checked before sending and enforced by the
//! codec on receipt, so a peer cannot make us buffer more. Larger state is chunked by
//! the caller.

use std::time::Duration;

use libp2p::{
    StreamProtocol,
    request_response::{self, ProtocolSupport, cbor},
};
use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};

/// The protocol name negotiated on the stream.
pub const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/quire/sync/1");

/// Largest request or response payload (8 MiB).
pub const MAX_SYNC_PAYLOAD_BYTES: usize = 8 * 1024 * 1024;

/// Room for the CBOR framing (topic, byte-string headers) around the payload.
pub const SYNC_FRAME_OVERHEAD_BYTES: usize = 1024;

/// A request with no response after this long fails with a timeout.
pub const SYNC_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the engine may take to answer a [`crate::NetEvent::SyncRequest`].
pub const SYNC_REPLY_TIMEOUT: Duration = Duration::from_secs(20);

/// Concurrent sync streams per connection.
pub const MAX_CONCURRENT_SYNC_STREAMS: usize = 16;

/// On the wire: which topic the request is about, and the engine's bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SyncRequest {
    #[serde(with = "serde_bytes")]
    pub(crate) topic: [u8; 32],
    #[serde(with = "serde_bytes")]
    pub(crate) payload: Vec<u8>,
}

/// On the wire: the engine's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SyncResponse {
    #[serde(with = "serde_bytes")]
    pub(crate) payload: Vec<u8>,
}

/// The request-response behaviour for [`SYNC_PROTOCOL`].
pub(crate) type SyncBehaviour = cbor::Behaviour<SyncRequest, SyncResponse>;

/// Builds the behaviour with the size caps and timeouts above.
pub(crate) fn sync_behaviour() -> SyncBehaviour {
    let wire_max = (MAX_SYNC_PAYLOAD_BYTES + SYNC_FRAME_OVERHEAD_BYTES) as u64;
    let codec = cbor::codec::Codec::default()
        .set_request_size_maximum(wire_max)
        .set_response_size_maximum(wire_max);
    let config = request_response::Config::default()
        .with_request_timeout(SYNC_REQUEST_TIMEOUT)
        .with_max_concurrent_streams(MAX_CONCURRENT_SYNC_STREAMS);
    request_response::Behaviour::with_codec(codec, [(SYNC_PROTOCOL, ProtocolSupport::Full)], config)
}

/// Refuses a payload over [`MAX_SYNC_PAYLOAD_BYTES`].
pub(crate) fn check_sync_size(payload: &[u8]) -> Result<()> {
    if payload.len() > MAX_SYNC_PAYLOAD_BYTES {
        return Err(NetError::SyncPayloadTooLarge {
            len: payload.len(),
            max: MAX_SYNC_PAYLOAD_BYTES,
        });
    }
    Ok(())
}
