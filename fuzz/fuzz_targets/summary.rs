//! Many-documents summary requests and answers: see `quire_fuzz_harness::summary`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = quire_fuzz_harness::summary::fuzz(data);
});
