//! [`ByAccess`]: one behaviour for the team's devices, another for everyone else,
//! chosen per connection by the relay's [`Access`] list.
//!
//! [`TeamOnly`] is the common case: the team's devices get the wrapped behaviour and
//! every other connection gets a handler that speaks no protocol, so the behaviour is
//! not even offered to it. At the rendezvous point an outsider can neither register
//! nor list who is registered, and in gossip it hears no topic list, no subscription
//! and no message, and can send none. The mailbox uses the general form: outsiders
//! get a protocol that answers every request with a refusal without reading its
//! body (see `crate::outsider_mailbox`).

use std::task::{Context, Poll};

use either::Either;
use libp2p::core::{Endpoint, transport::PortUse};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

use crate::config::Access;

/// `members` for the devices `access` allows, `outsiders` for every other one.
pub(crate) struct ByAccess<M, O> {
    members: M,
    outsiders: O,
    access: Access,
}

/// `inner` for the devices the relay allows; nothing at all for the others.
pub(crate) type TeamOnly<B> = ByAccess<B, dummy::Behaviour>;

impl<B> TeamOnly<B> {
    pub(crate) fn team_only(inner: B, access: Access) -> Self {
        ByAccess::new(inner, dummy::Behaviour, access)
    }
}

impl<M, O> ByAccess<M, O> {
    pub(crate) fn new(members: M, outsiders: O, access: Access) -> Self {
        Self {
            members,
            outsiders,
            access,
        }
    }

    /// The team's behaviour.
    pub(crate) fn members_mut(&mut self) -> &mut M {
        &mut self.members
    }

    /// The outsiders' behaviour.
    pub(crate) fn outsiders_mut(&mut self) -> &mut O {
        &mut self.outsiders
    }
}

impl<M: NetworkBehaviour, O: NetworkBehaviour> NetworkBehaviour for ByAccess<M, O> {
    type ConnectionHandler = Either<THandler<M>, THandler<O>>;
    type ToSwarm = Either<M::ToSwarm, O::ToSwarm>;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        // The peer is not known yet: both sides may have a say.
        self.members
            .handle_pending_inbound_connection(connection_id, local_addr, remote_addr)?;
        self.outsiders
            .handle_pending_inbound_connection(connection_id, local_addr, remote_addr)
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if self.access.allows(&peer) {
            self.members
                .handle_established_inbound_connection(connection_id, peer, local_addr, remote_addr)
                .map(Either::Left)
        } else {
            self.outsiders
                .handle_established_inbound_connection(connection_id, peer, local_addr, remote_addr)
                .map(Either::Right)
        }
    }

    fn handle_pending_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        maybe_peer: Option<PeerId>,
        addresses: &[Multiaddr],
        effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        let mut found = self.members.handle_pending_outbound_connection(
            connection_id,
            maybe_peer,
            addresses,
            effective_role,
        )?;
        found.extend(self.outsiders.handle_pending_outbound_connection(
            connection_id,
            maybe_peer,
            addresses,
            effective_role,
        )?);
        Ok(found)
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if self.access.allows(&peer) {
            self.members
                .handle_established_outbound_connection(
                    connection_id,
                    peer,
                    addr,
                    role_override,
                    port_use,
                )
                .map(Either::Left)
        } else {
            self.outsiders
                .handle_established_outbound_connection(
                    connection_id,
                    peer,
                    addr,
                    role_override,
                    port_use,
                )
                .map(Either::Right)
        }
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        // Each side hears only of the connections it has a handler on.
        let peer = match &event {
            FromSwarm::ConnectionEstablished(e) => Some(e.peer_id),
            FromSwarm::ConnectionClosed(e) => Some(e.peer_id),
            FromSwarm::AddressChange(e) => Some(e.peer_id),
            FromSwarm::DialFailure(e) => e.peer_id,
            _ => None,
        };
        match peer {
            Some(peer) if self.access.allows(&peer) => self.members.on_swarm_event(event),
            Some(_) => self.outsiders.on_swarm_event(event),
            None => {
                self.members.on_swarm_event(event);
                self.outsiders.on_swarm_event(event);
            }
        }
    }

    fn on_connection_handler_event(
        &mut self,
        peer_id: PeerId,
        connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {
            Either::Left(event) => {
                self.members
                    .on_connection_handler_event(peer_id, connection_id, event);
            }
            Either::Right(event) => {
                self.outsiders
                    .on_connection_handler_event(peer_id, connection_id, event);
            }
        }
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        if let Poll::Ready(action) = self.members.poll(cx) {
            return Poll::Ready(action.map_out(Either::Left).map_in(Either::Left));
        }
        self.outsiders
            .poll(cx)
            .map(|action| action.map_out(Either::Right).map_in(Either::Right))
    }
}
