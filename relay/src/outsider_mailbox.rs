//! The mailbox protocol as an outsider meets it: every request is answered with a
//! refusal in words, and not one byte of the request is read.
//!
//! A team relay decides who may use its mailbox by the device's peer id, which is
//! known before any stream opens. A device the operator did not allow therefore
//! gets this behaviour on [`MAILBOX_PROTOCOL`] instead of the members' one
//! ([`crate::by_access::ByAccess`]): its request body stays in the stream's
//! receive window and is dropped with the stream, so an outsider cannot make the
//! relay buffer [`quire_net::mailbox_protocol::MAX_MAILBOX_ITEM_BYTES`] per stream
//! the way a member can. A request small enough to fit the window (a get, a
//! small put) is answered before the stream closes, so the device's user reads
//! why; a larger one sees the stream reset.

use std::io;

use futures::prelude::*;
use libp2p::StreamProtocol;
use libp2p::request_response::{self, Codec, ProtocolSupport};
use quire_net::mailbox_protocol::{
    MAILBOX_PROTOCOL, MAILBOX_REQUEST_TIMEOUT, MailboxRequest, MailboxResponse, mailbox_codec,
};

/// Requests one outsider connection may have waiting for their refusal at once.
pub(crate) const MAX_CONCURRENT_OUTSIDER_STREAMS: usize = 2;

/// A request whose body was left unread.
#[derive(Debug)]
pub(crate) struct Unread;

/// Reads nothing, writes refusals in the members' encoding.
#[derive(Clone, Default)]
pub(crate) struct RefusingCodec {
    members: request_response::cbor::codec::Codec<MailboxRequest, MailboxResponse>,
}

impl Codec for RefusingCodec {
    type Protocol = StreamProtocol;
    type Request = Unread;
    type Response = MailboxResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, _: &mut T) -> io::Result<Unread>
    where
        T: AsyncRead + Unpin + Send,
    {
        Ok(Unread)
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
    ) -> io::Result<Self::Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        Err(io::Error::other("the outsiders' mailbox asks nothing"))
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, _: &mut T, _: Unread) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        Err(io::Error::other("the outsiders' mailbox asks nothing"))
    }

    async fn write_response<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
        response: MailboxResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.members.write_response(protocol, io, response).await
    }
}

/// The behaviour outsiders get on [`MAILBOX_PROTOCOL`].
pub(crate) type OutsiderMailbox = request_response::Behaviour<RefusingCodec>;

/// Builds [`OutsiderMailbox`].
pub(crate) fn outsider_mailbox() -> OutsiderMailbox {
    let codec = RefusingCodec {
        members: mailbox_codec(),
    };
    let config = request_response::Config::default()
        .with_request_timeout(MAILBOX_REQUEST_TIMEOUT)
        .with_max_concurrent_streams(MAX_CONCURRENT_OUTSIDER_STREAMS);
    request_response::Behaviour::with_codec(
        codec,
        [(MAILBOX_PROTOCOL, ProtocolSupport::Inbound)],
        config,
    )
}
