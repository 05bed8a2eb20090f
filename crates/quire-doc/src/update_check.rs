//! A cheap check on state-vector bytes before yrs decodes them.
//!
//! yrs sizes its table from the entry count at the head of a state vector before
//! reading any entry, so four hostile bytes can make it reserve (and clear) gigabytes
//! (found by `cargo fuzz run apply_update`, kept in `fuzz/crashers/`). Every entry,
//! a client and a clock, takes at least two bytes, so a larger count is a lie.
//! Updates get the full walk of `update_shape.rs`, which bounds every count.

use crate::{DocError, varint};

/// Rejects state vectors whose declared entry count cannot fit in their bytes.
pub(crate) fn precheck_state_vector(bytes: &[u8]) -> Result<(), DocError> {
    let mut rest = bytes;
    let entries = varint::take(&mut rest)
        .map_err(|_| DocError::MalformedStateVector("truncated entry count".into()))?;
    if entries > rest.len() as u64 / 2 {
        return Err(DocError::MalformedStateVector(format!(
            "declares {entries} entries in {} bytes",
            bytes.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_impossible_counts() {
        assert!(precheck_state_vector(&[0xf9, 0xab, 0xf9, 0x31]).is_err());
        assert!(precheck_state_vector(&[]).is_err());
        assert!(precheck_state_vector(&[0]).is_ok());
    }
}
