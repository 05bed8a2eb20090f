//! Where a command's input comes from and its output goes: this process's terminal,
//! or (when a `quire daemon` runs the command for a client) buffers carried over the
//! control connection. Commands write into [`Io`]; the caller prints it.

use std::io::{IsTerminal, Read};

use anyhow::{Context, Result};

/// A command's standard streams.
#[derive(Debug, Default)]
pub(crate) struct Io {
    /// What goes to standard output.
    pub(crate) out: String,
    /// What goes to standard error (notes, not errors: those are the result).
    pub(crate) err: String,
    /// Standard input sent by a client; `None` reads this process's own.
    provided: Option<String>,
    /// Whether the command runs for a client (no terminal, no editor here).
    pub(crate) remote: bool,
    /// Standard input is a pipe or file holding text.
    pub(crate) stdin_piped: bool,
    /// Standard input is a terminal (a person is there).
    pub(crate) stdin_terminal: bool,
    /// Standard output is a terminal: colour is welcome.
    pub(crate) color: bool,
}

/// Appends a line to [`Io::out`].
macro_rules! outln {
    ($io:expr) => { $io.out.push('\n') };
    ($io:expr, $($arg:tt)*) => {{ $io.out.push_str(&format!($($arg)*)); $io.out.push('\n'); }};
}

/// Appends text to [`Io::out`].
macro_rules! out {
    ($io:expr, $($arg:tt)*) => { $io.out.push_str(&format!($($arg)*)) };
}

pub(crate) use {out, outln};

impl Io {
    /// This process's own terminal and streams.
    pub(crate) fn local() -> Self {
        Self {
            stdin_piped: stdin_is_piped(),
            stdin_terminal: std::io::stdin().is_terminal(),
            color: std::io::stdout().is_terminal(),
            ..Self::default()
        }
    }

    /// Streams of a client, as it described them.
    pub(crate) fn remote(
        stdin: Option<String>,
        stdin_piped: bool,
        stdin_terminal: bool,
        color: bool,
    ) -> Self {
        Self {
            provided: stdin,
            remote: true,
            stdin_piped,
            stdin_terminal,
            color,
            ..Self::default()
        }
    }

    /// A JSON value on one line.
    pub(crate) fn json(&mut self, value: serde_json::Value) {
        outln!(self, "{value}");
    }

    /// A note for people, on standard error.
    pub(crate) fn note(&mut self, text: &str) {
        self.err.push_str(text);
        self.err.push('\n');
    }

    /// The whole of standard input as UTF-8 text.
    pub(crate) fn read_stdin(&mut self) -> Result<String> {
        if self.remote {
            return Ok(self.provided.take().unwrap_or_default());
        }
        read_own_stdin()
    }
}

/// Reads this process's standard input as UTF-8 text.
pub(crate) fn read_own_stdin() -> Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("reading standard input")?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "standard input is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Whether standard input is a pipe, socket or file to read the text from. A terminal
/// means the user is there to use an editor; `/dev/null` or a closed input (what cron,
/// services and IDEs give) carries no text, and reading it would empty the document.
#[cfg(unix)]
pub(crate) fn stdin_is_piped() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;

    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return false;
    }
    let Ok(fd) = stdin.as_fd().try_clone_to_owned() else {
        return false;
    };
    std::fs::File::from(fd)
        .metadata()
        .map(|m| {
            let t = m.file_type();
            t.is_fifo() || t.is_socket() || t.is_file()
        })
        .unwrap_or(false)
}

/// Whether standard input is redirected (not a terminal).
#[cfg(not(unix))]
pub(crate) fn stdin_is_piped() -> bool {
    !std::io::stdin().is_terminal()
}
