//! What each command does.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use quire_engine::{
    DocumentId, Edit, Engine, EngineConfig, EngineError, IndexStatus, SortOrder, VersionRef,
};
use quire_node::SyncNode;
use serde_json::json;

use crate::args::{BackupCommand, Cli, Command, DocCommand, TrashCommand};
use crate::control::DaemonInfo;
use crate::editor::edit_in_editor;
use crate::io::{Io, out, outln};
use crate::output;
use crate::{maintenance, remote, sharing};

fn data_dir(cli: &Cli) -> Result<PathBuf> {
    match &cli.data_dir {
        Some(d) => Ok(d.clone()),
        None => dirs::data_dir()
            .map(|d| d.join("quire"))
            .context("cannot find the platform data folder; pass --data-dir"),
    }
}

/// A short fingerprint of a text, to tell whether it changed.
pub(crate) fn text_fingerprint(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex()[..32].to_owned()
}

/// `-` means standard input.
fn text_arg(io: &mut Io, text: String) -> Result<String> {
    if text == "-" {
        io.read_stdin()
    } else {
        Ok(text)
    }
}

fn parse_version(s: &str) -> Result<VersionRef> {
    if s.eq_ignore_ascii_case("current") {
        return Ok(VersionRef::Current);
    }
    let digits = s.strip_prefix(['v', 'V']).unwrap_or(s);
    match digits.parse::<i64>() {
        Ok(n) if n > 0 => Ok(VersionRef::Number(n)),
        _ => bail!(
            "`{s}` is not a version; use a number from `quire history` (like 3 or v3) or `current`"
        ),
    }
}

pub(crate) async fn run(cli: Cli, io: &mut Io) -> Result<()> {
    let dir = data_dir(&cli)?;
    if dir.exists() && !dir.is_dir() {
        bail!(
            "the data folder {} is a file, not a folder; pass --data-dir with a folder",
            dir.display()
        );
    }
    let config = EngineConfig::new(&dir);
    let database = config.database_path();
    // These work on the folder's files, not through an engine: the doctor and a
    // restore need the folder to themselves, and a list needs nothing open.
    match &cli.command {
        Command::Backup {
            command: None | Some(BackupCommand::Ls),
        } => return maintenance::list(&dir, cli.json, io),
        Command::Backup {
            command: Some(BackupCommand::Restore { number }),
        } => return maintenance::restore(&dir, *number, cli.json, io),
        Command::Doctor => return maintenance::doctor(&dir, cli.json, io).await,
        _ => {}
    }
    let result = async {
        let engine = match open_engine(config, &cli.command).await {
            Ok(engine) => engine,
            Err(EngineError::Busy(held)) => {
                // A daemon holds the folder: it runs the command for us.
                if let Some(daemon) = DaemonInfo::find(&dir)
                    && !matches!(cli.command, Command::Daemon(_))
                {
                    return remote::run(&daemon, cli, io).await;
                }
                return Err(EngineError::Busy(held).into());
            }
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("opening the data folder {}", dir.display())));
            }
        };
        let result = match cli.command {
            Command::Daemon(args) => crate::daemon::run(&dir, &engine, args).await,
            _ => dispatch(&engine, None, cli, io).await,
        };
        let closed = engine.close().await;
        result?;
        Ok(closed?)
    }
    .await;
    result.map_err(|e| explain_damage(e, &dir, &database))
}

/// Opens the data folder. A daemon starting while another command briefly holds
/// the folder waits for it (a few seconds at most) instead of giving up.
async fn open_engine(config: EngineConfig, command: &Command) -> Result<Engine, EngineError> {
    let patient = matches!(command, Command::Daemon(_));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Engine::open(config.clone()).await {
            Err(EngineError::Busy(_))
                if patient
                    && DaemonInfo::find(&config.data_dir).is_none()
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            result => return result,
        }
    }
}

/// SQLite finds damage wherever it reads a broken page, not only when the file is
/// opened; say so, and what to do, instead of a bare "database error".
fn explain_damage(
    e: anyhow::Error,
    dir: &std::path::Path,
    database: &std::path::Path,
) -> anyhow::Error {
    use rusqlite::ffi::ErrorCode;
    let damaged = e.chain().find_map(|c| {
        if let Some(EngineError::Store(quire_engine::StoreError::Corrupt { detail, .. })) =
            c.downcast_ref::<EngineError>()
        {
            return Some(detail.clone());
        }
        let sqlite = c.downcast_ref::<rusqlite::Error>()?;
        matches!(
            sqlite.sqlite_error_code(),
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
        )
        .then(|| sqlite.to_string())
    });
    match damaged {
        Some(detail) => anyhow::anyhow!(
            "the database {} is damaged ({detail}); {}",
            database.display(),
            maintenance::damage_advice(dir)
        ),
        None => e,
    }
}

async fn resolve(engine: &Engine, doc: &str) -> Result<DocumentId> {
    Ok(engine.resolve(doc).await?)
}

pub(crate) async fn dispatch(
    engine: &Engine,
    node: Option<&SyncNode>,
    cli: Cli,
    io: &mut Io,
) -> Result<()> {
    let json = cli.json;
    match cli.command {
        Command::Share { doc, read_only } => {
            let id = resolve(engine, &doc).await?;
            sharing::share(engine, node, id, read_only, json, io).await
        }
        Command::Join { ticket, wait } => {
            sharing::join(engine, node, &ticket, wait, json, io).await
        }
        Command::Leave { doc } => {
            let id = resolve(engine, &doc).await?;
            engine.leave(id).await?;
            let short = &id.to_string()[..12];
            if json {
                io.json(json!({ "id": id.to_string(), "syncing": false }));
            } else {
                outln!(io, "left {short}; `quire rejoin {short}` syncs it again");
            }
            Ok(())
        }
        Command::Rejoin { doc } => {
            let id = resolve(engine, &doc).await?;
            engine.rejoin(id).await?;
            if json {
                io.json(json!({ "id": id.to_string(), "syncing": true }));
            } else {
                outln!(io, "syncing {} again", &id.to_string()[..12]);
            }
            Ok(())
        }
        Command::Status => sharing::status(engine, node, json, io).await,
        Command::Peers => sharing::peers(engine, node, json, io).await,
        Command::Whoami { name, color } => {
            sharing::whoami(engine, node, name, color, json, io).await
        }
        Command::Daemon(_) => bail!("the daemon runs only as its own command"),
        Command::Backup {
            command: Some(BackupCommand::Now),
        } => maintenance::now(engine, json, io).await,
        Command::Backup { .. } | Command::Doctor => {
            bail!("this command works on the data folder's files; run it without a daemon")
        }
        Command::Doc(cmd) => doc(engine, cmd, json, io).await,
        Command::Import { files } => {
            let mut ids = Vec::new();
            for file in &files {
                let id = engine.import_markdown(file).await?;
                let info = engine.info(id).await?;
                if !json {
                    outln!(
                        io,
                        "{}  {}  (from {})",
                        output::short_id(&info),
                        info.title,
                        file.display()
                    );
                }
                ids.push(output::document_json(&info));
            }
            if json {
                io.json(json!(ids));
            }
            Ok(())
        }
        Command::Export { doc, file } => {
            let id = resolve(engine, &doc).await?;
            match file {
                Some(path) => engine.export_markdown(id, &path).await?,
                None => {
                    let text = engine.text(id).await?;
                    io.out.push_str(&text);
                }
            }
            Ok(())
        }
        Command::History { doc } => {
            let id = resolve(engine, &doc).await?;
            let versions = engine.versions(id).await?;
            if json {
                io.json(json!(
                    versions
                        .iter()
                        .map(output::version_json)
                        .collect::<Vec<_>>()
                ));
            } else if versions.is_empty() {
                outln!(io, "no versions yet");
            } else {
                for v in &versions {
                    outln!(io, "{}", output::version_line(v));
                }
            }
            Ok(())
        }
        Command::Version { doc, name } => {
            let id = resolve(engine, &doc).await?;
            let number = engine.create_version(id, Some(&name)).await?;
            if json {
                io.json(json!({ "number": number, "name": name }));
            } else {
                outln!(io, "v{number} \"{name}\"");
            }
            Ok(())
        }
        Command::Diff {
            doc,
            from,
            to,
            chars,
        } => {
            let id = resolve(engine, &doc).await?;
            let diff = engine
                .diff(id, parse_version(&from)?, parse_version(&to)?)
                .await?;
            if json {
                let spans: Vec<_> = if chars {
                    diff.chars().iter().map(|s| json!({ "kind": format!("{:?}", s.kind).to_lowercase(), "text": s.text })).collect()
                } else {
                    diff.lines()
                        .iter()
                        .map(|l| json!({ "kind": format!("{:?}", l.kind).to_lowercase(), "old_line": l.old_line, "new_line": l.new_line, "text": l.text }))
                        .collect()
                };
                io.json(json!(spans));
            } else if chars {
                let color = io.color;
                let mut out = String::new();
                for s in diff.chars() {
                    use quire_engine::DiffKind::*;
                    match (s.kind, color) {
                        (Equal, _) => out.push_str(&s.text),
                        (Delete, true) => out.push_str(&format!("\x1b[9;31m{}\x1b[0m", s.text)),
                        (Insert, true) => out.push_str(&format!("\x1b[4;32m{}\x1b[0m", s.text)),
                        (Delete, false) => out.push_str(&format!("[-{}-]", s.text)),
                        (Insert, false) => out.push_str(&format!("{{+{}+}}", s.text)),
                    }
                }
                out!(io, "{out}");
            } else {
                out!(io, "{}", diff.unified(3));
            }
            Ok(())
        }
        Command::Restore { doc, version } => {
            let id = resolve(engine, &doc).await?;
            let VersionRef::Number(n) = parse_version(&version)? else {
                bail!("restore needs a version number from `quire history`");
            };
            let recorded = engine.restore_version(id, n).await?;
            if json {
                io.json(json!({ "restored": n, "version": recorded }));
            } else {
                outln!(io, "restored v{n} (recorded as v{recorded})");
            }
            Ok(())
        }
        Command::Search {
            query,
            limit,
            filters,
        } => {
            let hits = engine
                .search_documents(
                    &query.join(" "),
                    &filters.filter()?,
                    filters.sort(SortOrder::Relevance),
                    limit,
                )
                .await?;
            if let IndexStatus::Rebuilding { done, total } = engine.search_index_status() {
                io.note(&format!(
                    "quire: the search index is being rebuilt ({done} of {total} documents); results may be incomplete"
                ));
            }
            if json {
                io.json(json!(hits.iter().map(output::hit_json).collect::<Vec<_>>()));
            } else if hits.is_empty() {
                outln!(io, "no matches");
            } else {
                let color = io.color;
                for h in &hits {
                    outln!(io, "{}", output::hit_lines(h, color));
                }
            }
            Ok(())
        }
        Command::Trash { command } => {
            trash(engine, command.unwrap_or(TrashCommand::Ls), json, io).await
        }
    }
}

async fn doc(engine: &Engine, cmd: DocCommand, json: bool, io: &mut Io) -> Result<()> {
    match cmd {
        DocCommand::New { title, text } => {
            let text = match text {
                Some(t) => text_arg(io, t)?,
                None => String::new(),
            };
            let id = engine.create(&title, &text).await?;
            if json {
                io.json(output::document_json(&engine.info(id).await?));
            } else {
                outln!(io, "{id}");
            }
        }
        DocCommand::Ls { filters } => {
            let docs = engine
                .list_documents(&filters.filter()?, filters.sort(SortOrder::Updated))
                .await?;
            if json {
                io.json(json!(
                    docs.iter().map(output::document_json).collect::<Vec<_>>()
                ));
            } else if docs.is_empty() {
                outln!(
                    io,
                    "no documents yet; create one with `quire doc new TITLE` or `quire import FILE`"
                );
            } else {
                for d in &docs {
                    outln!(io, "{}", output::document_line(d));
                }
            }
        }
        DocCommand::Cat { doc } => {
            let id = resolve(engine, &doc).await?;
            let text = engine.text(id).await?;
            if json {
                io.json(json!({ "id": id.to_string(), "text": text }));
            } else {
                io.out.push_str(&text);
            }
        }
        DocCommand::Edit(args) => {
            let id = resolve(engine, &args.doc).await?;
            let new = match args.text {
                Some(t) => text_arg(io, t)?,
                None if io.stdin_piped => io.read_stdin()?,
                None if io.remote => bail!("the editor runs where `quire doc edit` was typed"),
                None => edit_in_editor(&engine.text(id).await?)?,
            };
            if let Some(expected) = &args.unchanged_since
                && *expected != text_fingerprint(&engine.text(id).await?)
            {
                bail!(
                    "the document changed while it was being edited (a collaborator's edit arrived), so your text was not applied"
                );
            }
            engine.edit(id, Edit::Replace(new)).await?;
            if json {
                io.json(json!({ "id": id.to_string(), "saved": true }));
            }
        }
        DocCommand::Append { doc, text } => {
            let id = resolve(engine, &doc).await?;
            let text = match text {
                Some(t) => text_arg(io, t)?,
                None if io.stdin_terminal => {
                    bail!("give the text to append (`quire doc append DOC TEXT`) or pipe it in")
                }
                None => io.read_stdin()?,
            };
            engine.edit(id, Edit::Append(text)).await?;
            if json {
                io.json(json!({ "id": id.to_string(), "saved": true }));
            }
        }
        DocCommand::Rename { doc, title } => {
            let id = resolve(engine, &doc).await?;
            engine.rename(id, &title).await?;
        }
        DocCommand::Rm { doc } => {
            let id = resolve(engine, &doc).await?;
            engine.delete(id).await?;
            if !json {
                outln!(
                    io,
                    "moved to the trash; `quire trash restore {}` brings it back",
                    &id.to_string()[..12]
                );
            }
        }
    }
    Ok(())
}

async fn trash(engine: &Engine, cmd: TrashCommand, json: bool, io: &mut Io) -> Result<()> {
    match cmd {
        TrashCommand::Ls => {
            let docs = engine.trash().await?;
            if json {
                io.json(json!(
                    docs.iter().map(output::document_json).collect::<Vec<_>>()
                ));
            } else if docs.is_empty() {
                outln!(io, "the trash is empty");
            } else {
                for d in &docs {
                    outln!(io, "{}", output::document_line(d));
                }
            }
        }
        TrashCommand::Restore { doc } => {
            let id = resolve(engine, &doc).await?;
            engine.restore(id).await?;
        }
        TrashCommand::Purge { doc } => {
            let id = resolve(engine, &doc).await?;
            engine.purge(id).await?;
        }
        TrashCommand::Empty => {
            for d in engine.trash().await? {
                engine.purge(d.id).await?;
            }
        }
    }
    Ok(())
}
