//! A structural check of yrs v1 update bytes, run before yrs decodes them.
//!
//! yrs trusts the shape of what it decodes. The fuzzer found updates that are well
//! formed byte by byte but whose shape breaks yrs's assumptions, up to
//! use-after-free inside `integrate` (`fuzz/crashers/`): the same client listed
//! twice (its blocks then go backwards), clocks that wrap around `u32`, values nested
//! deep enough to exhaust the stack. This walks the encoding exactly as yrs 0.28's
//! decoder does, without building anything, and rejects:
//! - a client listed twice, or a client id over 53 bits (as in Yjs);
//! - any clock (block or deletion) past [`crate::MAX_CLIENT_CLOCK`];
//! - empty skip or GC blocks, unknown content or type references;
//! - subdocuments and weak links, which Quire documents never contain;
//! - `Any` values nested deeper than [`MAX_ANY_DEPTH`];
//! - counts larger than the bytes left to hold them (which would make yrs reserve
//!   memory for them before failing).
//!
//! It costs one pass over the bytes, with no allocation beyond the seen-clients set.

use std::collections::HashSet;

use crate::{DocError, MAX_CLIENT_CLOCK};

/// Deepest nesting of arrays and maps accepted inside an update's values.
pub const MAX_ANY_DEPTH: usize = 32;

const CLIENT_ID_BITS: u32 = 53;

struct Reader<'a> {
    bytes: &'a [u8],
}

type Check<T> = Result<T, String>;

impl Reader<'_> {
    fn left(&self) -> usize {
        self.bytes.len()
    }

    fn u8(&mut self) -> Check<u8> {
        let (&b, rest) = self.bytes.split_first().ok_or("truncated")?;
        self.bytes = rest;
        Ok(b)
    }

    fn skip(&mut self, n: usize) -> Check<()> {
        if n > self.bytes.len() {
            return Err("truncated".into());
        }
        self.bytes = self.bytes.get(n..).unwrap_or_default();
        Ok(())
    }

    fn var_u64(&mut self) -> Check<u64> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.u8()?;
            if shift == 63 && b > 1 {
                return Err("number too large".into());
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("number too long".into())
    }

    fn var_u32(&mut self) -> Check<u32> {
        u32::try_from(self.var_u64()?).map_err(|_| "number too large".into())
    }

    /// A count of things that each take at least one byte.
    fn count(&mut self) -> Check<usize> {
        self.count_of(1)
    }

    /// A count of things that each take at least `min_bytes` bytes.
    fn count_of(&mut self, min_bytes: u64) -> Check<usize> {
        let n = self.var_u64()?;
        if n > self.left() as u64 / min_bytes {
            return Err(format!(
                "declares {n} entries with {} bytes left",
                self.left()
            ));
        }
        Ok(n as usize)
    }

    /// A signed lib0 varint; only its extent matters here.
    fn var_i64(&mut self) -> Check<()> {
        for _ in 0..10 {
            if self.u8()? & 0x80 == 0 {
                return Ok(());
            }
        }
        Err("number too long".into())
    }

    fn buf(&mut self) -> Check<&[u8]> {
        let n = self.var_u64()?;
        if n > self.left() as u64 {
            return Err("buffer runs past the end".into());
        }
        let (head, rest) = self.bytes.split_at(n as usize);
        self.bytes = rest;
        Ok(head)
    }

    fn string(&mut self) -> Check<&str> {
        std::str::from_utf8(self.buf()?).map_err(|_| "string is not UTF-8".into())
    }

    fn client(&mut self) -> Check<u64> {
        let c = self.var_u64()?;
        if c >> CLIENT_ID_BITS != 0 {
            return Err("client id over 53 bits".into());
        }
        Ok(c)
    }

    fn clock(&mut self) -> Check<u32> {
        let c = self.var_u32()?;
        if c > MAX_CLIENT_CLOCK {
            return Err("clock out of range".into());
        }
        Ok(c)
    }

    fn id(&mut self) -> Check<()> {
        self.client()?;
        self.clock()?;
        Ok(())
    }

    fn any(&mut self, depth: usize) -> Check<()> {
        if depth > MAX_ANY_DEPTH {
            return Err("values nested too deep".into());
        }
        match self.u8()? {
            127 | 126 | 121 | 120 => Ok(()),
            125 => self.var_i64(),
            124 => self.skip(4),
            123 | 122 => self.skip(8),
            119 => self.string().map(drop),
            118 => {
                for _ in 0..self.count()? {
                    self.string()?;
                    self.any(depth + 1)?;
                }
                Ok(())
            }
            117 => {
                for _ in 0..self.count()? {
                    self.any(depth + 1)?;
                }
                Ok(())
            }
            116 => self.buf().map(drop),
            tag => Err(format!("unknown value tag {tag}")),
        }
    }
}

/// Length in clock units of an item's content, as yrs counts it (0: yrs drops it).
fn content(r: &mut Reader<'_>, info: u8) -> Check<u32> {
    match info & 0b1111 {
        1 => r.var_u32(),
        2 => {
            // yrs reads one string more than the count says; mirror it exactly.
            let n = r.count()?;
            for _ in 0..=n {
                r.string()?;
            }
            u32::try_from(n + 1).map_err(|_| "too many strings".into())
        }
        3 => r.buf().map(|_| 1),
        4 => {
            let s = r.string()?;
            u32::try_from(s.encode_utf16().count()).map_err(|_| "string too long".into())
        }
        5 => r.string().map(|_| 1),
        6 => {
            r.string()?;
            r.string()?;
            Ok(1)
        }
        7 => match r.u8()? {
            0 | 1 | 2 | 4 | 5 | 6 | 15 => Ok(1),
            3 => r.string().map(|_| 1),
            7 => Err("weak links are not used by Quire".into()),
            9 => Err("subdocuments are not used by Quire".into()),
            t => Err(format!("unknown type reference {t}")),
        },
        8 => {
            let n = r.count()?;
            for _ in 0..n {
                r.any(0)?;
            }
            u32::try_from(n).map_err(|_| "too many values".into())
        }
        9 => Err("subdocuments are not used by Quire".into()),
        other => Err(format!("unknown content reference {other}")),
    }
}

fn blocks(r: &mut Reader<'_>) -> Check<()> {
    let mut seen = HashSet::new();
    // A client entry (block count, client, clock) takes at least three bytes.
    for _ in 0..r.count_of(3)? {
        let count = r.count()?;
        let client = r.client()?;
        if !seen.insert(client) {
            return Err(format!("client {client} is listed twice"));
        }
        let mut clock = u64::from(r.clock()?);
        for _ in 0..count {
            let info = r.u8()?;
            let len = match info {
                10 | 0 => {
                    let len = r.var_u32()?;
                    if len == 0 {
                        return Err("empty block".into());
                    }
                    len
                }
                info => {
                    let copies_parent = info & 0b1100_0000 != 0;
                    if info & 0b1000_0000 != 0 {
                        r.id()?;
                    }
                    if info & 0b0100_0000 != 0 {
                        r.id()?;
                    }
                    if !copies_parent {
                        if r.var_u32()? == 1 {
                            r.string()?;
                        } else {
                            r.id()?;
                        }
                        if info & 0b0010_0000 != 0 {
                            r.string()?;
                        }
                    }
                    content(r, info)?
                }
            };
            clock += u64::from(len);
            if clock > u64::from(MAX_CLIENT_CLOCK) {
                return Err("clock out of range".into());
            }
        }
    }
    Ok(())
}

fn delete_set(r: &mut Reader<'_>) -> Check<()> {
    for _ in 0..r.count()? {
        r.client()?;
        for _ in 0..r.count()? {
            let clock = u64::from(r.clock()?);
            let len = u64::from(r.var_u32()?);
            if clock + len > u64::from(MAX_CLIENT_CLOCK) {
                return Err("deletion out of range".into());
            }
        }
    }
    Ok(())
}

/// Checks the shape of v1 update bytes (see the module docs).
pub(crate) fn check_update_shape(bytes: &[u8]) -> Result<(), DocError> {
    let mut r = Reader { bytes };
    blocks(&mut r)
        .and_then(|()| delete_set(&mut r))
        .map_err(DocError::MalformedUpdate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Document;
    use proptest::prelude::*;

    #[test]
    fn rejects_the_shapes_the_fuzzer_found() {
        // A client listed twice.
        assert!(check_update_shape(&[2, 1, 5, 0, 0, 3, 1, 5, 0, 0, 2, 0]).is_err());
        // Clocks wrapping around.
        assert!(check_update_shape(&[1, 1, 5, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 2, 0]).is_err());
        // Deep nesting: an Any item in root "body" holding arrays in arrays.
        let mut deep = vec![1, 1, 5, 0, 8, 1, 4, b'b', b'o', b'd', b'y', 1];
        deep.extend(std::iter::repeat_n([117, 1], 100).flatten());
        deep.extend([126, 0]);
        let err = check_update_shape(&deep).unwrap_err().to_string();
        assert!(err.contains("nested"), "{err}");
        deep.drain(12..12 + 2 * (100 - MAX_ANY_DEPTH + 1));
        assert!(check_update_shape(&deep).is_ok());
        assert!(check_update_shape(&[]).is_err());
        assert!(check_update_shape(&[0, 0]).is_ok());
        // Counts that cannot fit in the bytes (the allocation bombs in fuzz/crashers).
        assert!(check_update_shape(&[171, 249, 171, 28]).is_err());
        assert!(check_update_shape(&[0x80]).is_err());
        assert!(check_update_shape(&[0x01, 0xcc, 0xd4, 0xd9, 0xdb, 0x24, 0x00, 0x08]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Everything yrs itself produces passes: local edits, titles, snapshots,
        /// diffs and merged updates (which contain skips).
        #[test]
        fn everything_yrs_writes_has_a_good_shape(
            edits in proptest::collection::vec((0usize..50, 0usize..5, "[a-z😀漢\\n ]{0,12}"), 1..30),
            title in "[A-Za-z ]{0,10}",
        ) {
            let mut doc = Document::with_client_id(3);
            let mut peer = Document::with_client_id(4);
            let mut updates = Vec::new();
            for (i, (pos, del, ins)) in edits.into_iter().enumerate() {
                let target = if i % 3 == 0 { &mut peer } else { &mut doc };
                let len = target.len_chars();
                let pos = pos.min(len);
                let del = del.min(len - pos);
                if let Some(u) = target.splice(&[crate::Splice { pos, delete: del, insert: ins }]).unwrap() {
                    updates.push(u);
                }
            }
            updates.push(doc.set_title(&title).unwrap());
            for u in &updates {
                prop_assert!(check_update_shape(u).is_ok());
            }
            prop_assert!(check_update_shape(&doc.encode_state().unwrap()).is_ok());
            prop_assert!(check_update_shape(&peer.diff_since(&doc.state_vector()).unwrap()).is_ok());
            let merged = yrs::merge_updates_v1(updates.iter().map(Vec::as_slice)).unwrap();
            prop_assert!(check_update_shape(&merged).is_ok());
        }
    }
}
