//! Bundles of sealed items, as a catch-up or a relay mailbox delivers them: see
//! `quire_fuzz_harness::sealed_bundle`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = quire_fuzz_harness::sealed_bundle::fuzz(data);
});
