//! Invite tickets as text, links and bytes: see `quire_fuzz_harness::ticket`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = quire_fuzz_harness::ticket::fuzz(data);
});
