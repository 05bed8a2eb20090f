//! Fixed document keys for the targets that open sealed bytes, so that a seed sealed
//! by [`crate::seeds`] opens in every fuzzer run and every replay. (Device keys need
//! not be fixed: a hello carries its device's public key.)

use quire_crypto::{DocKeys, KeyError, ReadKey, WriteKey};

/// The write key's secret bytes (any 32 bytes are an ed25519 secret).
const WRITE_SECRET: [u8; 32] = [0x57; 32];

/// The read key's bytes.
const READ_KEY: [u8; 32] = [0x52; 32];

/// A writer's keys of the fuzzed document; its id is the writer public key.
pub fn writer_keys() -> Result<DocKeys, KeyError> {
    let write = WriteKey::from_secret_bytes(WRITE_SECRET)?;
    let writer = write.public();
    DocKeys::new(
        writer.to_bytes(),
        ReadKey::from_bytes(READ_KEY),
        writer,
        Some(write),
    )
}
