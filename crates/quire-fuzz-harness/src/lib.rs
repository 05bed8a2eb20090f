//! What each fuzz target in `fuzz/` does with its bytes: one function per target,
//! feeding the bytes to a decoder of untrusted input the way Quire does on receipt and
//! checking what must hold of the result.
//!
//! The fuzzers (`fuzz/fuzz_targets/<target>.rs`) call these functions, and so does
//! this crate's `replay` test, which runs every seed in `fuzz/seeds/<target>/` and
//! every crasher in `fuzz/crashers/<target>/` as an ordinary `cargo test` (no
//! instrumentation, stable Rust). A property that does not hold panics: that is a
//! finding. Otherwise a target returns `Ok` when its input got all the way through
//! (decoded, and opened where keys allow), or the first refusal's message.
//!
//! The seeds come from the real encoders: `cargo run -p quire-fuzz-harness --bin
//! write-fuzz-seeds` rewrites `fuzz/seeds/` (see [`seeds`]).

pub mod apply_update;
pub mod catch_up;
pub mod keys;
pub mod mailbox;
pub mod sealed;
pub mod sealed_bundle;
pub mod seeds;
pub mod summary;
pub mod ticket;

/// What a target made of its input: `Err` holds the refusal, in the decoder's words.
pub type Outcome = Result<(), String>;

/// Every fuzz target, by the name of its binary in `fuzz/` (and of its folders under
/// `fuzz/seeds/` and `fuzz/crashers/`).
pub const TARGETS: [&str; 7] = [
    "apply_update",
    "catch_up",
    "mailbox",
    "sealed",
    "sealed_bundle",
    "summary",
    "ticket",
];

/// Runs the target named `target` on `data`; `None` for an unknown name.
pub fn run(target: &str, data: &[u8]) -> Option<Outcome> {
    Some(match target {
        "apply_update" => apply_update::fuzz(data),
        "catch_up" => catch_up::fuzz(data),
        "mailbox" => mailbox::fuzz(data),
        "sealed" => sealed::fuzz(data),
        "sealed_bundle" => sealed_bundle::fuzz(data),
        "summary" => summary::fuzz(data),
        "ticket" => ticket::fuzz(data),
        _ => return None,
    })
}

/// Keeps the first refusal of a chain of steps, in words.
pub(crate) fn refused(e: impl std::fmt::Display) -> String {
    let words = e.to_string();
    if words.is_empty() {
        "refused (no reason given)".to_owned()
    } else {
        words
    }
}
