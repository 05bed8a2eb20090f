//! Mailbox requests and responses through the protocol's CBOR codec: see
//! `quire_fuzz_harness::mailbox`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = quire_fuzz_harness::mailbox::fuzz(data);
});
