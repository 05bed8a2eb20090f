//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::filters::FilterArgs;

/// Quire: local-first collaborative Markdown documents.
#[derive(Debug, Parser)]
#[command(name = "quire", version, about)]
pub(crate) struct Cli {
    /// Data folder (default: the platform's data folder, e.g. ~/.local/share/quire).
    #[arg(long, global = true, env = "QUIRE_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create, list, read and edit documents.
    #[command(subcommand)]
    Doc(DocCommand),
    /// Import Markdown files as new documents.
    Import {
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write a document's Markdown to a file (or standard output).
    Export {
        /// Document id, id prefix or title.
        doc: String,
        /// Target file; standard output when left out.
        file: Option<PathBuf>,
    },
    /// List a document's versions.
    History {
        /// Document id, id prefix or title.
        doc: String,
    },
    /// Save the current text as a named version.
    Version {
        /// Document id, id prefix or title.
        doc: String,
        /// Name of the version.
        name: String,
    },
    /// Show what changed between two versions (`current` is the text now).
    Diff {
        /// Document id, id prefix or title.
        doc: String,
        /// Older version: a number (`3` or `v3`) or `current`.
        from: String,
        /// Newer version (default: `current`).
        #[arg(default_value = "current")]
        to: String,
        /// Compare character by character instead of line by line.
        #[arg(long)]
        chars: bool,
    },
    /// Make the text equal to an older version again (as a new edit).
    Restore {
        /// Document id, id prefix or title.
        doc: String,
        /// Version number (`3` or `v3`).
        version: String,
    },
    /// Search titles and bodies.
    Search {
        /// Words to look for; the last may be a prefix.
        #[arg(required = true)]
        query: Vec<String>,
        /// Most results to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        filters: FilterArgs,
    },
    /// List, restore or purge deleted documents.
    Trash {
        #[command(subcommand)]
        command: Option<TrashCommand>,
    },
    /// Print an invite link for a document (write access unless --read-only).
    Share {
        /// Document id, id prefix or title.
        doc: String,
        /// The link lets its holder read and follow, not edit.
        #[arg(long)]
        read_only: bool,
    },
    /// Join a shared document from an invite link (`quire://join/...` or its text).
    Join {
        /// The invite link.
        ticket: String,
        /// Wait until the first catch-up with a peer completes (needs a running
        /// daemon), at most this many seconds.
        #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "30")]
        wait: Option<u64>,
    },
    /// Stop syncing a shared document (it stays here; `quire rejoin` resumes).
    Leave {
        /// Document id, id prefix or title.
        doc: String,
    },
    /// Resume syncing a document that was left.
    Rejoin {
        /// Document id, id prefix or title.
        doc: String,
    },
    /// Shared documents: role, peers, last sync, pending updates.
    Status,
    /// Peers connected to this device's daemon, and the documents they share.
    Peers,
    /// This device's peer id, display name and colour (`--name`, `--color` set them).
    Whoami {
        /// New display name shown to collaborators.
        #[arg(long)]
        name: Option<String>,
        /// New colour of this device's cursor, `#rrggbb`.
        #[arg(long)]
        color: Option<String>,
    },
    /// List, make or restore backups of the database (kept in the data folder's
    /// `backups/`, made daily and when the daemon or app quits).
    Backup {
        #[command(subcommand)]
        command: Option<BackupCommand>,
    },
    /// Check the database; salvage every readable document of a damaged one into a
    /// fresh file (keeping the damaged one aside) and rebuild the search index.
    Doctor,
    /// Run the sync node: keep shared documents in sync with peers until stopped.
    /// While it runs, other `quire` commands on the same data folder go through it.
    Daemon(DaemonArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DaemonArgs {
    /// Address to listen on (repeatable; default: TCP and QUIC on every interface,
    /// ports picked by the system), e.g. `/ip4/0.0.0.0/tcp/4001`.
    #[arg(long = "listen", value_name = "MULTIADDR")]
    pub(crate) listen: Vec<String>,
    /// Address of a peer or relay to dial at start (repeatable).
    #[arg(long = "peer", value_name = "MULTIADDR")]
    pub(crate) peers: Vec<String>,
    /// A team relay (repeatable): its mailbox keeps this device's updates for members
    /// who are offline, and brings theirs; the address ends in /p2p/<relay peer id>,
    /// as `quire-relay` prints it.
    #[arg(long = "relay", value_name = "MULTIADDR")]
    pub(crate) relays: Vec<String>,
    /// Do not look for peers on the local network (mDNS).
    #[arg(long)]
    pub(crate) no_mdns: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DocCommand {
    /// Create a document and print its id.
    New {
        /// Title.
        #[arg(default_value = "Untitled")]
        title: String,
        /// Initial text (`-` reads standard input).
        #[arg(long)]
        text: Option<String>,
    },
    /// List documents, most recently changed first (filters as for `quire search`).
    Ls {
        #[command(flatten)]
        filters: FilterArgs,
    },
    /// Print a document's text.
    Cat {
        /// Document id, id prefix or title.
        doc: String,
    },
    /// Replace a document's text: from --text, from standard input (`--text -`, or
    /// when it is piped in), or else in $VISUAL/$EDITOR. Only what differs is changed.
    Edit(EditArgs),
    /// Add text at the end of a document (standard input when no text is given).
    Append {
        /// Document id, id prefix or title.
        doc: String,
        /// Text to append (may start with `-`, like a Markdown list item).
        #[arg(allow_hyphen_values = true)]
        text: Option<String>,
    },
    /// Change a document's title.
    Rename {
        /// Document id, id prefix or title.
        doc: String,
        /// New title.
        title: String,
    },
    /// Move a document to the trash.
    Rm {
        /// Document id, id prefix or title.
        doc: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// Document id, id prefix or title.
    pub(crate) doc: String,
    /// The new text (`-` reads standard input).
    #[arg(long)]
    pub(crate) text: Option<String>,
    /// Refuse the edit if the text is no longer the one with this fingerprint (used
    /// when the editor ran while a daemon kept the document in sync).
    #[arg(long, hide = true)]
    pub(crate) unchanged_since: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TrashCommand {
    /// List the trash (the default).
    Ls,
    /// Bring a document back.
    Restore {
        /// Document id, id prefix or title.
        doc: String,
    },
    /// Delete a trashed document for good.
    Purge {
        /// Document id, id prefix or title.
        doc: String,
    },
    /// Delete everything in the trash for good.
    Empty,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BackupCommand {
    /// List the backups, newest (1) first (the default).
    Ls,
    /// Make a backup now.
    Now,
    /// Put backup N (from `quire backup ls`) in place of the database; the database
    /// it replaces is kept beside it. Quit the daemon and the app first.
    Restore {
        /// Backup number from `quire backup ls` (1 is the newest).
        number: usize,
    },
}
