//! `quire backup` and `quire doctor`: the database's backups, its check and its
//! salvage. Listing, restoring and the doctor work on the data folder's files
//! directly (restoring and the doctor need the folder to themselves); `backup now`
//! runs in whichever process holds the folder.

use std::path::Path;

use anyhow::{Result, bail};
use quire_engine::{BackupInfo, DoctorReport, Engine, EngineConfig, EngineError};
use serde_json::json;

use crate::io::{Io, outln};
use crate::output;

fn backup_json(b: &BackupInfo) -> serde_json::Value {
    json!({
        "number": b.number,
        "path": b.path.display().to_string(),
        "made_at": b.made_at,
        "bytes": b.bytes,
    })
}

fn backup_line(b: &BackupInfo) -> String {
    format!(
        "{:>3}  {}  {:>10} bytes  {}",
        b.number,
        output::time(b.made_at),
        b.bytes,
        b.path.display()
    )
}

/// `quire backup ls`.
pub(crate) fn list(dir: &Path, json: bool, io: &mut Io) -> Result<()> {
    let backups = quire_engine::list_backups(dir)?;
    if json {
        io.json(json!(backups.iter().map(backup_json).collect::<Vec<_>>()));
    } else if backups.is_empty() {
        outln!(
            io,
            "no backups yet in {}; `quire backup now` makes one",
            dir.join(quire_engine::BACKUP_DIR).display()
        );
    } else {
        for b in &backups {
            outln!(io, "{}", backup_line(b));
        }
    }
    Ok(())
}

/// `quire backup now`, in the process that holds the data folder.
pub(crate) async fn now(engine: &Engine, json: bool, io: &mut Io) -> Result<()> {
    let made = engine.backup_now().await?;
    if json {
        io.json(backup_json(&made));
    } else {
        outln!(io, "backup made: {}", made.path.display());
    }
    Ok(())
}

/// Why a command that needs the data folder to itself cannot run.
fn needs_folder(e: EngineError, what: &str) -> anyhow::Error {
    match e {
        EngineError::Busy(dir) => anyhow::anyhow!(
            "a Quire daemon or the Quire app is using {}; quit it, then run `{what}` again",
            dir.display()
        ),
        e => e.into(),
    }
}

/// `quire backup restore N`.
pub(crate) fn restore(dir: &Path, number: usize, json: bool, io: &mut Io) -> Result<()> {
    let restored = quire_engine::restore_backup(dir, number)
        .map_err(|e| needs_folder(e, &format!("quire backup restore {number}")))?;
    if json {
        io.json(json!({
            "restored": backup_json(&restored.backup),
            "replaced_kept_at": restored.replaced_kept_at.as_ref().map(|p| p.display().to_string()),
        }));
        return Ok(());
    }
    outln!(
        io,
        "restored the backup of {} ({})",
        output::time(restored.backup.made_at),
        restored.backup.path.display()
    );
    if let Some(kept) = &restored.replaced_kept_at {
        outln!(io, "the database it replaced is kept as {}", kept.display());
    }
    Ok(())
}

/// `quire doctor`.
pub(crate) async fn doctor(dir: &Path, json: bool, io: &mut Io) -> Result<()> {
    let report = quire_engine::doctor(EngineConfig::new(dir))
        .await
        .map_err(|e| needs_folder(e, "quire doctor"))?;
    if json {
        io.json(doctor_json(&report));
    } else {
        doctor_lines(&report, io);
    }
    if !report.suspects.is_empty() || report.salvage.as_ref().is_some_and(|s| !s.lost.is_empty()) {
        bail!("some documents did not come back whole (listed above)");
    }
    Ok(())
}

fn lost_name(d: &quire_engine::LostDocument) -> String {
    match (&d.id, &d.title) {
        (Some(id), Some(title)) => format!("{id} \"{title}\""),
        (Some(id), None) => id.clone(),
        (None, _) => format!("the document in row {} (its id is unreadable)", d.rowid),
    }
}

fn doctor_lines(report: &DoctorReport, io: &mut Io) {
    if report.problems.is_empty() {
        outln!(io, "integrity check: ok");
    } else {
        outln!(io, "integrity check found damage:");
        for p in &report.problems {
            outln!(io, "  {p}");
        }
    }
    if let Some(salvage) = &report.salvage {
        outln!(
            io,
            "salvaged {} documents into a fresh database",
            salvage.saved.len()
        );
        for (table, copied, unreadable) in &salvage.rows {
            if *unreadable > 0 {
                outln!(
                    io,
                    "  {table}: {copied} rows copied, {unreadable} unreadable stretches skipped"
                );
            }
        }
        for lost in &salvage.lost {
            outln!(io, "could not save {}: {}", lost_name(lost), lost.reason);
        }
    }
    if let Some(kept) = &report.damaged_kept_at {
        outln!(io, "the damaged database is kept as {}", kept.display());
    }
    for s in &report.suspects {
        outln!(
            io,
            "could not save {} \"{}\" whole: {}",
            s.id,
            s.title,
            s.detail
        );
    }
    outln!(
        io,
        "search index rebuilt for {} documents",
        report.reindexed
    );
}

fn doctor_json(report: &DoctorReport) -> serde_json::Value {
    let salvage = report.salvage.as_ref().map(|s| {
        json!({
            "saved": s.saved,
            "lost": s.lost.iter().map(|d| json!({
                "id": d.id, "title": d.title, "rowid": d.rowid, "reason": d.reason,
            })).collect::<Vec<_>>(),
            "rows": s.rows.iter().map(|(t, c, u)| json!({
                "table": t, "copied": c, "unreadable": u,
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "problems": report.problems,
        "salvage": salvage,
        "damaged_kept_at": report.damaged_kept_at.as_ref().map(|p| p.display().to_string()),
        "reindexed": report.reindexed,
        "suspects": report.suspects.iter().map(|s| json!({
            "id": s.id.to_string(), "title": s.title, "detail": s.detail,
        })).collect::<Vec<_>>(),
    })
}

/// The damaged-database advice: the newest backup and the doctor.
pub(crate) fn damage_advice(dir: &Path) -> String {
    let newest = quire_engine::list_backups(dir)
        .ok()
        .and_then(|b| b.into_iter().next());
    match newest {
        Some(b) => format!(
            "move it aside and restore it from a backup: the newest is {} of {} (`quire backup restore 1`), or run `quire doctor` to save every document that is still readable",
            b.path.display(),
            output::time(b.made_at)
        ),
        None => "there is no backup of it; run `quire doctor` to save every document that is still readable".to_owned(),
    }
}
