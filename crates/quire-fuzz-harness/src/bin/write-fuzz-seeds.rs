//! Rewrites `fuzz/seeds/<target>/` from the real encoders (see
//! `quire_fuzz_harness::seeds`). Run from anywhere in the repository:
//! `cargo run -p quire-fuzz-harness --bin write-fuzz-seeds`.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let seeds = match quire_fuzz_harness::seeds::all() {
        Ok(seeds) => seeds,
        Err(e) => {
            eprintln!("cannot make the seeds: {e}");
            return ExitCode::FAILURE;
        }
    };
    for target in quire_fuzz_harness::TARGETS {
        let dir = root.join(target);
        // Old seeds go: a renamed seed must not linger.
        if let Err(e) = std::fs::remove_dir_all(&dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!("cannot clear {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    }
    for seed in &seeds {
        let dir = root.join(seed.target);
        let path = dir.join(seed.name);
        if let Err(e) =
            std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &seed.bytes))
        {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!(
            "fuzz/seeds/{}/{} ({} bytes)",
            seed.target,
            seed.name,
            seed.bytes.len()
        );
    }
    ExitCode::SUCCESS
}
