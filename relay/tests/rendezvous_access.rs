//! The relay's rendezvous point serves its team only: an allowed device registers and
//! finds who is registered; any other device is not even offered the protocol, so it
//! can neither register nor list the members (their peer ids and circuit addresses).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{Swarm, SwarmBuilder, identity::Keypair, noise, rendezvous, tcp, yamux};
use support::Relay;

fn client(key: Keypair) -> Swarm<rendezvous::client::Behaviour> {
    let mut swarm = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|key| rendezvous::client::Behaviour::new(key.clone()))
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    // What it would register: an address of its own.
    swarm.add_external_address("/ip4/127.0.0.1/tcp/9".parse().unwrap());
    swarm
}

/// The rendezvous client's next answer.
async fn next_outcome(
    swarm: &mut Swarm<rendezvous::client::Behaviour>,
) -> rendezvous::client::Event {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let SwarmEvent::Behaviour(event) = swarm.select_next_some().await
                && !matches!(event, rendezvous::client::Event::Expired { .. })
            {
                return event;
            }
        }
    })
    .await
    .expect("an answer from the rendezvous point")
}

/// Connects to the relay, then registers and discovers under `namespace`; returns
/// what the rendezvous client said of each.
async fn register_and_discover(
    swarm: &mut Swarm<rendezvous::client::Behaviour>,
    relay: &Relay,
    namespace: &rendezvous::Namespace,
) -> (rendezvous::client::Event, rendezvous::client::Event) {
    swarm.dial(relay.addr.clone()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let SwarmEvent::ConnectionEstablished { peer_id, .. } =
                swarm.select_next_some().await
                && peer_id == relay.peer
            {
                return;
            }
        }
    })
    .await
    .expect("connected to the relay");
    swarm
        .behaviour_mut()
        .register(namespace.clone(), relay.peer, None)
        .unwrap();
    let registered = next_outcome(swarm).await;
    swarm
        .behaviour_mut()
        .discover(Some(namespace.clone()), None, None, relay.peer);
    let discovered = next_outcome(swarm).await;
    (registered, discovered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_team_may_register_and_list_members() {
    let dir = tempfile::tempdir().unwrap();
    let (member, outsider) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let member_id = member.public().to_peer_id();
    let relay = Relay::start(dir.path(), &["--allow".to_owned(), member_id.to_string()]);
    let namespace = quire_net::namespace_for(&[7; 32]);

    let mut member = client(member);
    let (registered, discovered) = register_and_discover(&mut member, &relay, &namespace).await;
    assert!(
        matches!(registered, rendezvous::client::Event::Registered { .. }),
        "{registered:?}"
    );
    match discovered {
        rendezvous::client::Event::Discovered { registrations, .. } => {
            let peers: Vec<_> = registrations.iter().map(|r| r.record.peer_id()).collect();
            assert_eq!(peers, [member_id]);
        }
        other => panic!("the member lists the members: {other:?}"),
    }

    let mut outsider = client(outsider);
    let (registered, discovered) = register_and_discover(&mut outsider, &relay, &namespace).await;
    assert!(
        matches!(registered, rendezvous::client::Event::RegisterFailed { .. }),
        "{registered:?}"
    );
    assert!(
        matches!(discovered, rendezvous::client::Event::DiscoverFailed { .. }),
        "an outsider learns nothing of the members: {discovered:?}"
    );
}
