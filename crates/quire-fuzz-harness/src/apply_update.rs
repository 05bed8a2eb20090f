//! Target `apply_update`: arbitrary bytes as an update from a peer, applied to a
//! document with content ([`Document::apply_update`]). The call must return (never
//! panic out), and a refused update must leave the document unchanged or poisoned
//! (never half-applied and still in use). Whatever was accepted must still be
//! servable and saveable without a panic.
//!
//! Its first crashers live flat in `fuzz/crashers/` and are replayed with stricter,
//! per-crasher expectations by `crates/quire-doc/tests/crashers.rs`.

use crate::{Outcome, catch_up::document, refused};

/// Applies the bytes as an update.
pub fn fuzz(data: &[u8]) -> Outcome {
    let mut doc = document()?;
    let text = doc.text();
    let sv = doc.state_vector();
    let result = doc.apply_update(data).map(|_| ()).map_err(refused);
    if doc.is_poisoned() {
        return result;
    }
    if result.is_err() {
        assert_eq!(doc.text(), text, "a refused update changed the text");
        assert_eq!(doc.state_vector(), sv, "a refused update changed the state");
    }
    // Errors are fine here; a panic escaping (or memory unsafety) is a finding.
    let _ = doc.diff_since(data);
    let _ = doc.diff_since(&sv);
    let _ = doc.encode_state();
    result
}
