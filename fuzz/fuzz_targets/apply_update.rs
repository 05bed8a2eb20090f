//! Feeds arbitrary bytes to `Document::apply_update` on a document with content.
//! The call must return (never panic out), and a rejected update must leave the
//! document unchanged or poisoned (never half-applied and still in use). Known
//! crashers live in `fuzz/crashers/` and are replayed by quire-doc's tests.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use quire_doc::Document;

static QUIET_PANICS: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // `Document` catches panics inside yrs (and poisons itself); only a panic that
    // escapes it is a finding. libFuzzer's hook would abort on the caught ones too.
    QUIET_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let mut doc = Document::with_client_id(1);
    doc.insert(0, "# Title\nsome text 😀 here\n").ok();
    doc.set_title("Fuzz").ok();
    doc.delete(3, 4).ok();
    // Content from a second writer too, so forged blocks of a known peer are explored.
    let mut peer = Document::with_client_id(2);
    if let Ok(Some(u)) = peer.insert(0, "peer text") {
        doc.apply_update(&u).ok();
    }
    let text = doc.text();
    let sv = doc.state_vector();
    let result = doc.apply_update(data);
    if doc.is_poisoned() {
        return;
    }
    if result.is_err() {
        assert_eq!(doc.text(), text);
        assert_eq!(doc.state_vector(), sv);
    }
    // Whatever was accepted must still be servable and saveable.
    let _ = doc.diff_since(data);
    let _ = doc.diff_since(&sv);
    // Errors are fine here; a panic escaping (or memory unsafety) is a finding.
    let _ = doc.encode_state();
});
