//! The search benchmark of `quire-bench search`, runnable without building the
//! network stack: `cargo run --release -p quire-store --example search_bench --
//! [DOCS] [BODY_BYTES] [QUERIES]` prints the same JSON (defaults: 10,000 documents of
//! about 1,000 bytes, 200 timed queries per script and kind).
#![allow(missing_docs, unreachable_pub)]

#[path = "../../quire-bench/src/search_bench.rs"]
mod search_bench;
#[path = "../../quire-bench/src/search_corpus.rs"]
mod search_corpus;
#[path = "../../quire-bench/src/stats.rs"]
mod stats;

fn main() -> anyhow::Result<()> {
    let arg = |i: usize, default: usize| -> anyhow::Result<usize> {
        match std::env::args().nth(i) {
            Some(a) => Ok(a.parse()?),
            None => Ok(default),
        }
    };
    let result = search_bench::run(arg(1, 10_000)?, arg(2, 1_000)?, arg(3, 200)?)?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}
