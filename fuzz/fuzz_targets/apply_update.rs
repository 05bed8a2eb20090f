//! Arbitrary bytes as an update applied to a document with content: see
//! `quire_fuzz_harness::apply_update`. Its first crashers live flat in
//! `fuzz/crashers/` and are replayed by quire-doc's tests.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;

static QUIET_PANICS: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // `Document` catches panics inside yrs (and poisons itself); only a panic that
    // escapes it is a finding. libFuzzer's hook would abort on the caught ones too.
    QUIET_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let _ = quire_fuzz_harness::apply_update::fuzz(data);
});
