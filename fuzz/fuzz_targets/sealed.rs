//! Sealed hellos and messages, decoded and received: see `quire_fuzz_harness::sealed`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = quire_fuzz_harness::sealed::fuzz(data);
});
