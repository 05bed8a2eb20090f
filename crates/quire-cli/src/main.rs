//! `quire`: the headless Quire command line over the engine, for people, scripts and
//! servers. Every command opens the data folder, does one thing, and closes it; while
//! `quire daemon` runs on that folder, commands go through the daemon instead.

mod args;
mod commands;
mod control;
mod daemon;
mod editor;
mod filters;
mod io;
mod maintenance;
mod output;
mod remote;
mod sharing;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("quire: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut io = io::Io::local();
    let result = runtime.block_on(commands::run(cli, &mut io));
    print_streams(&io);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quire: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// Prints what the command wrote; a closed pipe (`quire doc cat X | head`) is fine.
fn print_streams(io: &io::Io) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(io.out.as_bytes());
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(io.err.as_bytes());
}

/// One line: what failed, and the cause chain that says why. Many errors already
/// print their source in their own message (`{path}: {source}`, `database error:
/// {0}`), so a cause that adds nothing new is left out rather than repeated.
pub(crate) fn one_line(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        // "Error code 11: database disk image is malformed" adds only its code.
        let tail = cause.split_once(": ").map_or(cause.as_str(), |(_, t)| t);
        if !msg.contains(&cause) && !msg.contains(tail) {
            msg.push_str(": ");
            msg.push_str(&cause);
        }
    }
    msg.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Leaf;
    impl std::fmt::Display for Leaf {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("No such file or directory (os error 2)")
        }
    }
    impl std::error::Error for Leaf {}

    #[test]
    fn causes_are_not_repeated() {
        let e = anyhow::Error::new(Leaf).context("a.md: No such file or directory (os error 2)");
        assert_eq!(one_line(&e), "a.md: No such file or directory (os error 2)");
        let e = anyhow::Error::new(Leaf).context("importing a.md");
        assert_eq!(
            one_line(&e),
            "importing a.md: No such file or directory (os error 2)"
        );
        let e = anyhow::anyhow!("two\nlines").context("outer");
        assert_eq!(one_line(&e), "outer: two lines");
    }
}
