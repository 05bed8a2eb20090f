//! `quire-relay`: a small binary a team runs on a cheap server. Members behind home
//! routers and office NATs reach each other through it (circuit relay v2, then a
//! direct connection with DCUtR where the NATs allow), find each other by document
//! (rendezvous, under topic hashes), and leave sealed updates in its mailbox for
//! members who are offline. It never sees plaintext, and only the devices the
//! operator allows may use it.
//!
//! `config.rs` reads the settings, `identity.rs` keeps the relay's key, `mailbox.rs`
//! is the SQLite store, `node.rs` the libp2p node, `http.rs` and `metrics.rs` the
//! `/health` and `/metrics` endpoints.

mod boxed_handler;
mod by_access;
mod config;
mod http;
mod identity;
mod mailbox;
mod metrics;
mod node;
mod open_files;
mod outsider_mailbox;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;

use crate::config::{Args, Config};
use crate::mailbox::Mailbox;
use crate::metrics::Metrics;
use crate::node::RelayNode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("QUIRE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quire-relay: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    let config = Config::resolve(args)?;
    open_files::make_room_for(config.max_connections);
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot make the data folder {}", config.data_dir.display()))?;
    let key = identity::load_or_create(&config.key_file)?;
    let peer_id = key.public().to_peer_id();
    let mailbox = Mailbox::open(&config.data_dir.join("mailbox.sqlite"), config.limits)
        .context("cannot open the mailbox")?;
    let metrics = Arc::new(Metrics::new());
    metrics.set_totals(mailbox.totals()?);
    println!("quire-relay {peer_id}");
    if let Some(addr) = config.http {
        let bound = http::serve(addr, metrics.clone(), peer_id.to_string())
            .await
            .with_context(|| format!("cannot serve HTTP on {addr}"))?;
        println!("http http://{bound}");
    }
    let node = RelayNode::start(key, &config, mailbox, metrics)?;
    node.run(shutdown_signal()).await;
    Ok(())
}

/// Ctrl-C, or SIGTERM (what `systemctl stop` and `docker stop` send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
