//! Replays the fuzzers' inputs as ordinary tests: every seed in `fuzz/seeds/<target>/`
//! must be decoded to `Ok` or refused with a reason, never panic; every crasher in
//! `fuzz/crashers/<target>/` must be refused. Each target also needs at least one seed
//! that gets all the way through, so that a decoder that starts refusing good input
//! fails here rather than making its fuzzer shallow.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use quire_fuzz_harness::{TARGETS, run, seeds};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The input files of a folder (no README), sorted; none if it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_seed_decodes_or_is_refused_with_a_reason() {
    for target in TARGETS {
        let dir = fuzz_dir().join("seeds").join(target);
        let paths = inputs(&dir);
        assert!(!paths.is_empty(), "no seeds in {}", dir.display());
        let mut accepted = 0;
        for path in &paths {
            let bytes = std::fs::read(path).unwrap();
            let outcome = run(target, &bytes).unwrap();
            eprintln!("{}: {outcome:?}", path.display());
            match outcome {
                Ok(()) => accepted += 1,
                Err(reason) => assert!(!reason.is_empty(), "{}: no reason", path.display()),
            }
        }
        assert!(accepted > 0, "no seed of {target} gets through");
    }
}

#[test]
fn every_crasher_is_refused() {
    let mut replayed = 0;
    for target in TARGETS {
        for path in inputs(&fuzz_dir().join("crashers").join(target)) {
            let bytes = std::fs::read(&path).unwrap();
            let outcome = run(target, &bytes).unwrap();
            eprintln!("{}: {outcome:?}", path.display());
            assert!(outcome.is_err(), "{} was accepted", path.display());
            replayed += 1;
        }
    }
    eprintln!("{replayed} crashers refused");
}

#[test]
fn committed_seeds_are_the_ones_the_generator_makes() {
    let made = seeds::all().unwrap();
    for target in TARGETS {
        let committed: BTreeSet<String> = inputs(&fuzz_dir().join("seeds").join(target))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let generated: BTreeSet<String> = made
            .iter()
            .filter(|s| s.target == target)
            .map(|s| s.name.to_owned())
            .collect();
        assert_eq!(
            committed, generated,
            "fuzz/seeds/{target} is stale: run `cargo run -p quire-fuzz-harness --bin write-fuzz-seeds`"
        );
    }
    // Freshly made seeds (new device keys and salts) get through as the committed do.
    for target in TARGETS {
        let through = made
            .iter()
            .filter(|s| s.target == target)
            .filter(|s| run(target, &s.bytes).unwrap().is_ok())
            .count();
        assert!(through > 0, "no fresh seed of {target} gets through");
    }
}

#[test]
fn every_target_has_a_fuzzer_and_every_fuzzer_a_target() {
    let fuzzers: BTreeSet<String> = inputs(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let targets: BTreeSet<String> = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    assert_eq!(fuzzers, targets);
}
