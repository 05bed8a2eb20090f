//! Cheap structural checks on update and state-vector bytes before yrs decodes them.
//!
//! yrs sizes its client table from the count at the head of an update before reading
//! any client, so four hostile bytes can make it reserve (and clear) gigabytes (found
//! by `cargo fuzz run apply_update`, kept in `fuzz/crashers/`). Every client entry
//! takes at least three bytes, so a count larger than the update is a lie; likewise
//! each block takes at least a byte, which bounds the first client's block count.

use crate::DocError;

/// Reads a lib0 variable-length unsigned integer.
fn read_varuint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Rejects updates whose declared client count cannot fit in their bytes.
pub(crate) fn precheck_update(bytes: &[u8]) -> Result<(), DocError> {
    let (clients, used) = read_varuint(bytes)
        .ok_or_else(|| DocError::MalformedUpdate("truncated client count".into()))?;
    let room = (bytes.len() - used) as u64;
    if clients > room / 3 {
        return Err(DocError::MalformedUpdate(format!(
            "declares {clients} clients in {} bytes",
            bytes.len()
        )));
    }
    // The first client's block count is next; every block takes at least one byte.
    if clients > 0 {
        let rest = bytes.get(used..).unwrap_or_default();
        let (blocks, used_blocks) = read_varuint(rest)
            .ok_or_else(|| DocError::MalformedUpdate("truncated block count".into()))?;
        if blocks > (rest.len() - used_blocks) as u64 {
            return Err(DocError::MalformedUpdate(format!(
                "declares {blocks} blocks in {} bytes",
                bytes.len()
            )));
        }
    }
    Ok(())
}

/// Rejects state vectors whose declared entry count cannot fit in their bytes (each
/// entry, a client and a clock, takes at least two bytes).
pub(crate) fn precheck_state_vector(bytes: &[u8]) -> Result<(), DocError> {
    let (entries, used) = read_varuint(bytes)
        .ok_or_else(|| DocError::MalformedStateVector("truncated entry count".into()))?;
    let room = (bytes.len() - used) as u64;
    if entries > room / 2 {
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
        assert!(precheck_update(&[171, 249, 171, 28]).is_err());
        assert!(precheck_update(&[]).is_err());
        assert!(precheck_update(&[0x80]).is_err());
        // An empty update: no clients, an empty delete set.
        assert!(precheck_update(&[0, 0]).is_ok());
        assert!(precheck_update(&[0x01, 0xcc, 0xd4, 0xd9, 0xdb, 0x24, 0x00, 0x08]).is_err());
        assert!(precheck_state_vector(&[0xf9, 0xab, 0xf9, 0x31]).is_err());
        assert!(precheck_state_vector(&[0]).is_ok());
    }
}
