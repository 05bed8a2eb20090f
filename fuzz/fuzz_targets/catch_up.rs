//! Catch-up request and answer plaintexts, answered and applied to a document: see
//! `quire_fuzz_harness::catch_up`.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;

static QUIET_PANICS: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // `Document` catches panics inside yrs (and poisons itself); only a panic that
    // escapes it is a finding. libFuzzer's hook would abort on the caught ones too.
    QUIET_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let _ = quire_fuzz_harness::catch_up::fuzz(data);
});
