//! How a connection to a peer runs: over the local network, directly over the
//! internet, or through a relay. Told from the connection's remote address.

use std::net::IpAddr;

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

/// The way a connection reaches its peer. Ordered worst first, so the best of a
/// peer's connections is the largest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConnectionPath {
    /// Through a relay's circuit (`/p2p-circuit`).
    Relayed,
    /// Straight to the peer over the internet.
    Direct,
    /// Straight to the peer on this device or the local network (loopback, private,
    /// link-local or unique-local addresses).
    Lan,
}

impl ConnectionPath {
    /// The path of a connection with this remote address.
    pub fn of(remote: &Multiaddr) -> Self {
        let mut ip = None;
        for protocol in remote.iter() {
            match protocol {
                Protocol::P2pCircuit => return Self::Relayed,
                Protocol::Ip4(a) if ip.is_none() => ip = Some(IpAddr::V4(a)),
                Protocol::Ip6(a) if ip.is_none() => ip = Some(IpAddr::V6(a)),
                _ => {}
            }
        }
        match ip {
            Some(ip) if is_local(ip) => Self::Lan,
            _ => Self::Direct,
        }
    }

    /// A short lowercase name: `lan`, `direct` or `relayed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lan => "lan",
            Self::Direct => "direct",
            Self::Relayed => "relayed",
        }
    }
}

impl std::fmt::Display for ConnectionPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Lan => "LAN",
            Self::Direct => "direct",
            Self::Relayed => "relayed",
        })
    }
}

fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_loopback() || a.is_private() || a.is_link_local(),
        IpAddr::V6(a) => {
            let first = a.segments()[0];
            a.is_loopback()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link local fe80::/10
                || a.to_ipv4_mapped().is_some_and(|v4| is_local(IpAddr::V4(v4)))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn path(addr: &str) -> ConnectionPath {
        ConnectionPath::of(&addr.parse().unwrap())
    }

    #[test]
    fn addresses_tell_the_path() {
        assert_eq!(path("/ip4/127.0.0.1/tcp/4001"), ConnectionPath::Lan);
        assert_eq!(
            path("/ip4/192.168.1.20/udp/4001/quic-v1"),
            ConnectionPath::Lan
        );
        assert_eq!(path("/ip4/10.0.0.7/tcp/4001"), ConnectionPath::Lan);
        assert_eq!(path("/ip6/fe80::1/tcp/4001"), ConnectionPath::Lan);
        assert_eq!(path("/ip6/fd12:3456::1/tcp/4001"), ConnectionPath::Lan);
        assert_eq!(path("/ip4/203.0.113.9/tcp/4001"), ConnectionPath::Direct);
        assert_eq!(
            path("/ip6/2001:db8::1/udp/4001/quic-v1"),
            ConnectionPath::Direct
        );
        assert_eq!(path("/dns4/example.org/tcp/4001"), ConnectionPath::Direct);
        assert_eq!(
            path(
                "/ip4/203.0.113.9/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit"
            ),
            ConnectionPath::Relayed
        );
        assert!(ConnectionPath::Lan > ConnectionPath::Direct);
        assert!(ConnectionPath::Direct > ConnectionPath::Relayed);
    }
}
