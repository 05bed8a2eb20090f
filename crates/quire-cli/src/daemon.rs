//! `quire daemon`: runs the sync node on a data folder and serves other `quire`
//! commands for that folder over the control connection, until Ctrl-C or SIGTERM.

use std::path::Path;

use anyhow::{Context, Result};
use clap::Parser;
use quire_engine::Engine;
use quire_node::{NodeConfig, SyncNode};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::args::{Cli, Command, DaemonArgs};
use crate::control::{DAEMON_FILE, DaemonInfo, Request, RequestError, Response, read_request};
use crate::io::Io;

/// Environment variable with the log filter (`warn` by default; e.g. `info`,
/// `quire_node=debug`).
pub(crate) const LOG_ENV: &str = "QUIRE_LOG";

pub(crate) async fn run(dir: &Path, engine: &Engine, args: DaemonArgs) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env(LOG_ENV)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let mut config = NodeConfig::new();
    if !args.listen.is_empty() {
        config.listen = parse_addrs(&args.listen, "--listen")?;
    }
    config.bootstrap = parse_addrs(&args.peers, "--peer")?;
    // The relays given here, then those kept in the settings (the app's).
    for text in args.relays.iter().chain(&engine.relays().await?) {
        let addr = quire_node::parse_relay_addr(text).context("--relay")?;
        if !config.relays.contains(&addr) {
            config.relays.push(addr);
        }
    }
    config.mdns = !args.no_mdns;
    let node = SyncNode::start(engine.clone(), config)
        .await
        .context("starting the network")?;
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("opening the control port on 127.0.0.1")?;
    let token: String = (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    let info = DaemonInfo {
        port: listener.local_addr()?.port(),
        token: token.clone(),
        pid: std::process::id(),
        peer_id: node.peer_id().to_string(),
    };
    info.write(dir)?;
    let result = serve(dir, engine, &node, listener, &token).await;
    let _ = std::fs::remove_file(dir.join(DAEMON_FILE));
    node.shutdown().await?;
    // An orderly quit leaves a backup: pending work first, so the copy has it.
    engine.close().await?;
    match engine.backup_now().await {
        Ok(made) => println!("quire daemon: backup made: {}", made.path.display()),
        Err(e) => eprintln!("quire daemon: the backup on quit failed: {e}"),
    }
    println!("quire daemon: stopped");
    result
}

fn parse_addrs(addrs: &[String], flag: &str) -> Result<Vec<quire_net::Multiaddr>> {
    addrs
        .iter()
        .map(|a| {
            a.parse().with_context(|| {
                format!("{flag} {a}: not a multiaddr (like /ip4/0.0.0.0/tcp/4001)")
            })
        })
        .collect()
}

async fn serve(
    dir: &Path,
    engine: &Engine,
    node: &SyncNode,
    listener: TcpListener,
    token: &str,
) -> Result<()> {
    let name = engine.display_name().await?;
    println!("quire daemon: {name}, peer id {}", node.peer_id());
    println!("data folder {}", dir.display());
    for _ in 0..50 {
        if !node.status().await?.listen.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for addr in node.status().await?.listen {
        println!("listening on {addr}");
    }
    println!("ready");
    let stop = shutdown_signal();
    tokio::pin!(stop);
    let clients = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CLIENTS));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, do not stop.
                        tracing::warn!("accepting a control connection failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                };
                // A bounded number of clients at once; more are turned away at once.
                let Ok(permit) = clients.clone().try_acquire_owned() else {
                    drop(stream);
                    continue;
                };
                let (engine, node, token) = (engine.clone(), node.clone(), token.to_owned());
                tokio::spawn(async move {
                    serve_client(stream, engine, node, token).await;
                    drop(permit);
                });
            }
            () = &mut stop => return Ok(()),
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Most control clients served at once.
const MAX_CLIENTS: usize = 32;

async fn serve_client(mut stream: TcpStream, engine: Engine, node: SyncNode, token: String) {
    let response = match read_request(&mut stream, &token).await {
        Ok(request) => run_request(request, &engine, &node).await,
        Err(RequestError::Refused) => Response {
            stdout: String::new(),
            stderr: String::new(),
            error: Some("the daemon refused a request with a wrong token".into()),
        },
        Err(RequestError::Bad(e)) => Response {
            stdout: String::new(),
            stderr: String::new(),
            error: Some(format!("bad request: {e}")),
        },
    };
    if let Ok(mut bytes) = serde_json::to_vec(&response) {
        bytes.push(b'\n');
        let _ = stream.write_all(&bytes).await;
        let _ = stream.shutdown().await;
    }
}

async fn run_request(request: Request, engine: &Engine, node: &SyncNode) -> Response {
    let mut io = Io::remote(
        request.stdin,
        request.stdin_piped,
        request.stdin_terminal,
        request.color,
    );
    let argv = std::iter::once("quire".to_owned()).chain(request.argv);
    let result = match Cli::try_parse_from(argv) {
        Ok(mut cli) => {
            absolutize(&mut cli.command, &request.cwd);
            if matches!(cli.command, Command::Daemon(_)) {
                Err(anyhow::anyhow!(
                    "a daemon already runs for this data folder (pid {})",
                    std::process::id()
                ))
            } else {
                crate::commands::dispatch(engine, Some(node), cli, &mut io).await
            }
        }
        Err(e) => Err(anyhow::anyhow!("{}", e.to_string().trim())),
    };
    Response {
        stdout: io.out,
        stderr: io.err,
        error: result.err().map(|e| crate::one_line(&e)),
    }
}

/// Paths in a client's arguments are relative to the client's folder.
fn absolutize(command: &mut Command, cwd: &Path) {
    match command {
        Command::Import { files } => {
            for f in files.iter_mut() {
                *f = cwd.join(&*f);
            }
        }
        Command::Export { file: Some(f), .. } => *f = cwd.join(&*f),
        _ => {}
    }
}
