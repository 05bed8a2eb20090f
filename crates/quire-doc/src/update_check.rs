//! A cheap check on state-vector bytes before yrs decodes them.
//!
//! yrs sizes its table from the entry count at the head of a state vector before
//! reading any entry, so four hostile bytes can make it reserve (and clear) gigabytes
//! (found by `cargo fuzz run apply_update`, kept in `fuzz/crashers/`). Every entry,
//! a client and a clock, takes at least two bytes, so a larger count is a lie.
//! Updates get the full walk of `update_shape.rs`, which bounds every count.

use crate::DocError;

/// Rejects bytes that do not start with a whole state vector, in particular one whose
/// declared entry count cannot fit in its bytes.
pub(crate) fn precheck_state_vector(bytes: &[u8]) -> Result<(), DocError> {
    crate::sync::state_vector_len(bytes)
        .map(|_| ())
        .ok_or_else(|| {
            DocError::MalformedStateVector(format!(
                "{} bytes that do not start with a whole state vector",
                bytes.len()
            ))
        })
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
