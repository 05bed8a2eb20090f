//! Running a command through the daemon that holds the data folder: the arguments,
//! standard input and working folder go over; output and error come back. The
//! editor of `quire doc edit` runs here, with the text fetched from the daemon.

use anyhow::{Result, bail};

use crate::args::{Cli, Command, DocCommand, EditArgs};
use crate::commands::text_fingerprint;
use crate::control::{DaemonInfo, Request};
use crate::editor::edit_in_editor;
use crate::io::{Io, read_own_stdin};

pub(crate) async fn run(daemon: &DaemonInfo, cli: Cli, io: &mut Io) -> Result<()> {
    let mut argv = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(a) => argv.push(a),
            Err(a) => bail!("argument {} is not UTF-8 text", a.to_string_lossy()),
        }
    }
    if let Command::Doc(DocCommand::Edit(EditArgs {
        doc, text: None, ..
    })) = &cli.command
        && !io.stdin_piped
    {
        let current = send(
            daemon,
            io,
            vec!["doc".into(), "cat".into(), doc.clone()],
            None,
        )
        .await?;
        let edited = edit_in_editor(&current)?;
        let mut edit = vec![
            "doc".into(),
            "edit".into(),
            doc.clone(),
            "--text".into(),
            "-".into(),
            "--unchanged-since".into(),
            text_fingerprint(&current),
        ];
        if cli.json {
            edit.push("--json".into());
        }
        // Peers' edits may arrive while the editor is open: then the edit is refused
        // rather than undoing theirs, and the user's text is kept in a file.
        match send(daemon, io, edit, Some(edited.clone())).await {
            Ok(out) => io.out.push_str(&out),
            Err(e) => {
                let kept =
                    std::env::temp_dir().join(format!("quire-unsaved-{}.md", std::process::id()));
                std::fs::write(&kept, &edited)?;
                bail!("{e}; your text is kept in {}", kept.display());
            }
        }
        return Ok(());
    }
    let stdin = if reads_stdin(&cli.command, io) {
        Some(read_own_stdin()?)
    } else {
        None
    };
    let out = send(daemon, io, argv, stdin).await?;
    io.out.push_str(&out);
    Ok(())
}

/// Whether the command will read standard input.
fn reads_stdin(command: &Command, io: &Io) -> bool {
    match command {
        Command::Doc(DocCommand::New { text, .. }) => text.as_deref() == Some("-"),
        Command::Doc(DocCommand::Edit(args)) => {
            args.text.as_deref() == Some("-") || (args.text.is_none() && io.stdin_piped)
        }
        Command::Doc(DocCommand::Append { text, .. }) => {
            !io.stdin_terminal && text.as_deref().is_none_or(|t| t == "-")
        }
        _ => false,
    }
}

async fn send(
    daemon: &DaemonInfo,
    io: &mut Io,
    argv: Vec<String>,
    stdin: Option<String>,
) -> Result<String> {
    let request = Request {
        argv,
        cwd: std::env::current_dir()?,
        stdin,
        stdin_piped: io.stdin_piped,
        stdin_terminal: io.stdin_terminal,
        color: io.color,
    };
    let response = daemon.send(request).await?;
    io.err.push_str(&response.stderr);
    match response.error {
        Some(error) => {
            io.out.push_str(&response.stdout);
            bail!("{error}")
        }
        None => Ok(response.stdout),
    }
}
