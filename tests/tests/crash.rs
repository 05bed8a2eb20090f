#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Crash safety with real processes: `quire-crash-child` appends `<1><2><3>...` to a
//! document as fast as it can and reports every edit whose receipt said "saved"; the
//! test kills it with SIGKILL at a random moment, then opens the data folder itself and
//! checks that every edit reported saved is there, in order, with nothing missing or
//! doubled, that version history reads back, and that SQLite finds the file intact.
//! Hundreds of cycles, seeded: `QUIRE_CRASH_SEED` replays a run, `QUIRE_CRASH_CYCLES`
//! changes how many kills it makes.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use quire_engine::{Engine, EngineConfig, EngineError, VersionRef};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Cycles on one data folder before starting a fresh one (keeps each cycle fast).
const CYCLES_PER_FOLDER: usize = 50;
/// Stop early (with a note) rather than run past this.
const TIME_BUDGET: Duration = Duration::from_secs(90);

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.trim().parse().ok())
}

#[test]
fn saved_edits_survive_sigkill() {
    let seed = env_number("QUIRE_CRASH_SEED").unwrap_or_else(rand::random);
    let cycles = env_number("QUIRE_CRASH_CYCLES").unwrap_or(200) as usize;
    println!("crash test seed {seed} (QUIRE_CRASH_SEED={seed} replays it), {cycles} cycles");
    let mut rng = StdRng::seed_from_u64(seed);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let started = Instant::now();
    let mut folder = tempfile::tempdir().unwrap();
    // Highest n found in the document so far, per folder: never goes down.
    let mut durable = 0u64;
    let mut total_saved_checked = 0u64;
    let mut kills_before_first_save = 0;
    let mut done = 0;
    for cycle in 0..cycles {
        if started.elapsed() > TIME_BUDGET {
            println!("time budget spent after {cycle} cycles");
            break;
        }
        if cycle > 0 && cycle % CYCLES_PER_FOLDER == 0 {
            folder = tempfile::tempdir().unwrap();
            durable = 0;
        }
        let context = format!("seed {seed}, cycle {cycle}");
        let compact_after = [8u32, 64, 512, 2000][rng.random_range(0..4)];
        let wait_for_first_save = rng.random_bool(0.85);
        let delay = Duration::from_millis(rng.random_range(5..60));

        let run = kill_a_child(folder.path(), compact_after, wait_for_first_save, delay)
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        if run.saved == 0 {
            kills_before_first_save += 1;
        }
        // Edits the child reported saved in this run (it continues the numbering).
        total_saved_checked += run.saved.saturating_sub(durable);

        let found = runtime
            .block_on(verify(folder.path(), run.saved))
            .unwrap_or_else(|e| {
                panic!(
                    "{context}: {e}\nthe child reported up to `saved {}`; its stderr:\n{}",
                    run.saved, run.stderr
                )
            });
        assert!(
            found >= durable,
            "{context}: the document went back from <{durable}> to <{found}>"
        );
        durable = found;
        done += 1;
    }
    println!(
        "{done} kills in {:.1?}; {kills_before_first_save} before the first save; {total_saved_checked} edits reported saved and found",
        started.elapsed()
    );
    assert!(done >= cycles.min(100), "only {done} cycles ran");
}

struct Run {
    /// Highest n the child reported saved (0 for none).
    saved: u64,
    stderr: String,
}

/// Starts the child, kills it after `delay` (counted from its first `saved` line, or
/// from the start), and returns what it reported.
fn kill_a_child(
    dir: &Path,
    compact_after: u32,
    wait_for_first_save: bool,
    delay: Duration,
) -> Result<Run, String> {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_quire-crash-child"))
        .arg(dir)
        .arg(compact_after.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the child: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let (first_tx, first_rx) = mpsc::channel();
    let reader = thread::spawn(move || -> Result<u64, String> {
        let mut highest = 0;
        let mut previous = 0;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let n: u64 = line
                .strip_prefix("saved ")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("unexpected output {line:?}"))?;
            if n <= previous {
                return Err(format!("`saved {n}` after `saved {previous}`"));
            }
            if highest == 0 {
                let _ = first_tx.send(());
            }
            previous = n;
            highest = n;
        }
        Ok(highest)
    });
    let errors = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    if wait_for_first_save {
        // A child that never saves is caught below, when it is found to have exited.
        let _ = first_rx.recv_timeout(Duration::from_secs(20));
    }
    thread::sleep(delay);
    let exited_early = child.try_wait().map_err(|e| e.to_string())?;
    child
        .kill()
        .map_err(|e| format!("cannot kill the child: {e}"))?;
    let status = child.wait().map_err(|e| e.to_string())?;
    let saved = reader.join().map_err(|_| "the reader panicked")??;
    let stderr = errors.join().unwrap_or_default();
    if let Some(status) = exited_early {
        return Err(format!(
            "the child exited by itself ({status}) after `saved {saved}`; stderr:\n{stderr}"
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if status.signal() != Some(9) {
            return Err(format!(
                "the child ended with {status}, not by SIGKILL; stderr:\n{stderr}"
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = status;
    Ok(Run { saved, stderr })
}

/// Opens the folder the child was killed on and checks the document against what the
/// child reported saved; returns the highest n in the text.
async fn verify(dir: &Path, saved: u64) -> Result<u64, String> {
    let engine = open(dir).await?;
    let result = check(&engine, saved).await;
    engine.close().await.map_err(|e| format!("close: {e}"))?;
    drop(engine);
    result
}

async fn check(engine: &Engine, saved: u64) -> Result<u64, String> {
    let id = match engine.resolve("crash").await {
        Ok(id) => id,
        // Killed before the document was created: fine if nothing was reported saved.
        Err(EngineError::NoSuchDocument(_)) if saved == 0 => return Ok(0),
        Err(e) => return Err(format!("the document is gone: {e}")),
    };
    let text = engine
        .text(id)
        .await
        .map_err(|e| format!("cannot load the text: {e}"))?;
    let last = parse_run(&text)?;
    if last < saved {
        let tail: String = text
            .chars()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(format!(
            "the text ends at <{last}> but <{saved}> was reported saved (…{tail})"
        ));
    }
    engine
        .integrity_check()
        .await
        .map_err(|e| format!("integrity check: {e}"))?;
    // Versions are snapshots of an append-only text: each is a prefix of it.
    let versions = engine
        .versions(id)
        .await
        .map_err(|e| format!("versions: {e}"))?;
    if let Some(v) = versions.last() {
        let old = engine
            .version_text(id, VersionRef::Number(v.number))
            .await
            .map_err(|e| format!("version {}: {e}", v.number))?;
        if !text.starts_with(&old) {
            return Err(format!(
                "version {} is not a prefix of the text ({} vs {} chars)",
                v.number,
                old.chars().count(),
                text.chars().count()
            ));
        }
        parse_run(&old).map_err(|e| format!("version {}: {e}", v.number))?;
    }
    Ok(last)
}

/// Checks that `text` is exactly `<1><2>...<m>` and returns m.
fn parse_run(text: &str) -> Result<u64, String> {
    let mut expected = 1u64;
    let mut rest = text;
    while !rest.is_empty() {
        let token = format!("<{expected}>");
        match rest.strip_prefix(token.as_str()) {
            Some(r) => rest = r,
            None => {
                let at = text.len() - rest.len();
                let shown: String = rest.chars().take(40).collect();
                return Err(format!(
                    "expected {token} at byte {at}, found {shown:?} (edits lost, doubled or out of order)"
                ));
            }
        }
        expected += 1;
    }
    Ok(expected - 1)
}

async fn open(dir: &Path) -> Result<Engine, String> {
    quire_tests::open_when_free(EngineConfig::new(dir))
        .await
        .map_err(|e| format!("cannot open the data folder: {e}"))
}

#[test]
fn parse_run_accepts_only_a_complete_sequence() {
    assert_eq!(parse_run(""), Ok(0));
    assert_eq!(parse_run("<1><2><3>"), Ok(3));
    assert!(parse_run("<1><3>").is_err());
    assert!(parse_run("<1><2><2>").is_err());
    assert!(parse_run("<1><2><3").is_err());
    assert!(parse_run("<2>").is_err());
}
