//! Target `mailbox`: a `/quire/mailbox/1` message as the other side sends it, read by
//! the protocol's own CBOR codec ([`mailbox_codec`], size caps included): a request
//! as a relay receives it, or a response as a member receives it. Whatever is read
//! must write and read back the same.
//!
//! The first byte chooses: even for a request, odd for a response; the rest is the
//! stream's bytes.

use futures::executor::block_on;
use futures::io::Cursor;
use libp2p::request_response::Codec;
use quire_net::mailbox_protocol::{
    MAILBOX_PROTOCOL, MailboxRequest, MailboxResponse, mailbox_codec,
};

use crate::{Outcome, refused};

/// Selector byte of a request.
pub const REQUEST: u8 = 0;

/// Selector byte of a response.
pub const RESPONSE: u8 = 1;

/// Reads one request or response from the bytes.
pub fn fuzz(data: &[u8]) -> Outcome {
    let (&selector, stream) = data.split_first().ok_or("empty input")?;
    if selector % 2 == REQUEST {
        let request = read_request(stream)?;
        assert_eq!(read_request(&encode_request(&request)?), Ok(request));
    } else {
        let response = read_response(stream)?;
        assert_eq!(read_response(&encode_response(&response)?), Ok(response));
    }
    Ok(())
}

/// Reads a request as a relay does.
pub fn read_request(stream: &[u8]) -> Result<MailboxRequest, String> {
    block_on(mailbox_codec().read_request(&MAILBOX_PROTOCOL, &mut Cursor::new(stream)))
        .map_err(refused)
}

/// Reads a response as a member does.
pub fn read_response(stream: &[u8]) -> Result<MailboxResponse, String> {
    block_on(mailbox_codec().read_response(&MAILBOX_PROTOCOL, &mut Cursor::new(stream)))
        .map_err(refused)
}

/// Writes a request as a member does.
pub fn encode_request(request: &MailboxRequest) -> Result<Vec<u8>, String> {
    let mut out = Cursor::new(Vec::new());
    block_on(mailbox_codec().write_request(&MAILBOX_PROTOCOL, &mut out, request.clone()))
        .map_err(refused)?;
    Ok(out.into_inner())
}

/// Writes a response as a relay does.
pub fn encode_response(response: &MailboxResponse) -> Result<Vec<u8>, String> {
    let mut out = Cursor::new(Vec::new());
    block_on(mailbox_codec().write_response(&MAILBOX_PROTOCOL, &mut out, response.clone()))
        .map_err(refused)?;
    Ok(out.into_inner())
}
