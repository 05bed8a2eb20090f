//! `quire doctor` on a really damaged file: random blocks written over a real
//! 20-document database, as a failing disk or a bad copy would. Every document whose
//! rows are still readable must come back with its exact text (and be found by search
//! again), and every other one must be named. Seeded: set QUIRE_TEST_SEED to replay.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/cli_support.rs"]
mod support;

use std::collections::HashMap;
use std::io::{Seek, SeekFrom};

use support::*;

/// Documents in the database.
const DOCUMENTS: usize = 20;
/// Random blocks written over it, and their size.
const BLOCKS: usize = 30;
const BLOCK_BYTES: usize = 64;
/// SQLite's page size here; page 1 (the schema) is spared: with it gone nothing is
/// recoverable by any tool, and the doctor says so instead.
const PAGE: u64 = 4096;

fn seed() -> u64 {
    let seed = std::env::var("QUIRE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("seed {seed} (QUIRE_TEST_SEED={seed} replays this run)");
    seed
}

/// xorshift64*: small, seeded, good enough to pick offsets and bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn damage(db: &Path, rng: &mut Rng) {
    let len = std::fs::metadata(db).unwrap().len();
    let mut file = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    for _ in 0..BLOCKS {
        let at = PAGE + rng.next() % (len - PAGE - BLOCK_BYTES as u64);
        let block: Vec<u8> = (0..BLOCK_BYTES).map(|_| rng.next() as u8).collect();
        file.seek(SeekFrom::Start(at)).unwrap();
        file.write_all(&block).unwrap();
    }
    file.sync_all().unwrap();
}

#[test]
fn doctor_saves_every_readable_document_of_a_damaged_file_and_names_the_rest() {
    let mut rng = Rng(seed() | 1);
    let q = Quire::new();
    let mut texts = HashMap::new();
    for i in 0..DOCUMENTS {
        // Some documents span several pages, some share one.
        let lines = 1 + rng.next() % 300;
        let text: String = (0..lines)
            .map(|l| format!("word{i}x line {l} of document {i}\n"))
            .collect();
        let id = q.new_doc(&format!("Doc {i}"), &text);
        if i % 3 == 0 {
            q.ok(&["doc", "append", &id, &format!("more{i} text\n")]);
        }
        texts.insert(id.clone(), q.cat(&id));
    }
    let db = q.data().join("quire.db");
    // Everything is in the main file once the last command closed it.
    assert!(!q.data().join("quire.db-wal").exists());
    damage(&db, &mut rng);

    let out = q.cmd(&["--json", "doctor"]).output().unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor printed no report ({e}); stderr: {stderr}"));
    println!("{report:#}");
    assert!(
        !report["problems"].as_array().unwrap().is_empty(),
        "the integrity check saw the damage"
    );
    let salvage = &report["salvage"];
    assert!(salvage.is_object(), "a damaged file is salvaged");
    let kept = report["damaged_kept_at"].as_str().unwrap();
    assert!(Path::new(kept).exists(), "the damaged file is kept aside");

    let mut named: Vec<String> = Vec::new();
    let mut unnamed_lost = 0;
    for lost in salvage["lost"].as_array().unwrap() {
        match lost["id"].as_str() {
            Some(id) => named.push(id.to_owned()),
            None => unnamed_lost += 1,
        }
    }
    for suspect in report["suspects"].as_array().unwrap() {
        named.push(suspect["id"].as_str().unwrap().to_owned());
    }
    let success = out.status.success();
    assert_eq!(
        success,
        named.is_empty() && unnamed_lost == 0,
        "the exit status says whether everything came back; stderr {stderr}"
    );

    // The salvaged database is whole, and each document is back exactly or named.
    let again = q.cmd(&["--json", "doctor"]).output().unwrap();
    let after: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(after["problems"].as_array().unwrap().len(), 0, "{after}");
    assert!(after["salvage"].is_null(), "{after}");
    let mut back = 0;
    let mut missing_without_name = 0;
    for (id, text) in &texts {
        if named.contains(id) {
            continue;
        }
        let out = q.run(&["doc", "cat", id]);
        if out.status.success() {
            assert_eq!(&text_of(&out), text, "document {id} came back changed");
            back += 1;
            // The search index was rebuilt: its own word finds it.
            let word = text.split_whitespace().next().unwrap();
            let hits = q.json(&["search", word]);
            assert!(
                hits.as_array()
                    .unwrap()
                    .iter()
                    .any(|h| h["id"] == id.as_str()),
                "search for {word} finds {id}"
            );
        } else {
            missing_without_name += 1;
        }
    }
    assert!(
        missing_without_name <= unnamed_lost,
        "{missing_without_name} documents are gone, but only {unnamed_lost} were named by row"
    );
    println!(
        "{back} of {DOCUMENTS} documents came back whole; {} named by id, {unnamed_lost} by row",
        named.len()
    );
    assert!(back > 0, "some documents survive 30 small blocks");
}

fn text_of(out: &Output) -> String {
    text(&out.stdout)
}
