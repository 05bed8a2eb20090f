//! Length-checked reading and writing of the crate's binary formats.
//!
//! Everything here works on untrusted bytes: reads return `None` instead of panicking
//! when the input is short, and varints must be minimal so that every value has exactly
//! one encoding (signatures cover encoded bytes, so there must be no second spelling).

/// Most bytes a LEB128 varint of a `u64` takes.
pub(crate) const MAX_VARINT_BYTES: usize = 10;

/// A cursor over untrusted bytes.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&first, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(first)
    }

    pub(crate) fn u16_be(&mut self) -> Option<u16> {
        self.array::<2>().map(u16::from_be_bytes)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.rest.split_first_chunk::<N>()?;
        self.rest = rest;
        Some(*head)
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        Some(head)
    }

    /// A minimal unsigned LEB128 varint.
    pub(crate) fn varint(&mut self) -> Option<u64> {
        let mut value: u64 = 0;
        for index in 0..MAX_VARINT_BYTES {
            let byte = self.u8()?;
            let bits = u64::from(byte & 0x7f);
            let shift = 7 * index;
            // The tenth byte may only carry the top bit of a u64.
            if index == MAX_VARINT_BYTES - 1 && byte > 1 {
                return None;
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                // A last byte of zero (after the first) means a longer-than-needed encoding.
                if index > 0 && byte == 0 {
                    return None;
                }
                return Some(value);
            }
        }
        None
    }

    /// Splits off the last `N` bytes, leaving the middle as the rest.
    pub(crate) fn last_array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (rest, tail) = self.rest.split_last_chunk::<N>()?;
        self.rest = rest;
        Some(*tail)
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

/// Appends `value` as a minimal unsigned LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// Number of bytes [`put_varint`] writes for `value`.
pub(crate) fn varint_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: u64) {
        let mut out = Vec::new();
        put_varint(&mut out, value);
        assert_eq!(out.len(), varint_len(value), "length of {value}");
        let mut reader = Reader::new(&out);
        assert_eq!(reader.varint(), Some(value));
        assert!(reader.is_empty());
    }

    #[test]
    fn varints_round_trip() {
        for value in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            round_trip(value);
        }
        assert_eq!(varint_len(u64::MAX), MAX_VARINT_BYTES);
    }

    #[test]
    fn non_minimal_and_overlong_varints_are_rejected() {
        assert_eq!(Reader::new(&[0x80, 0x00]).varint(), None);
        assert_eq!(Reader::new(&[0x81, 0x00]).varint(), None);
        assert_eq!(Reader::new(&[0xff; 10]).varint(), None);
        let mut too_big = vec![0xff; 9];
        too_big.push(0x02);
        assert_eq!(Reader::new(&too_big).varint(), None);
        assert_eq!(Reader::new(&[0x80]).varint(), None);
        assert_eq!(Reader::new(&[]).varint(), None);
    }

    #[test]
    fn short_input_reads_none() {
        let mut reader = Reader::new(&[1, 2, 3]);
        assert_eq!(reader.array::<4>(), None);
        assert_eq!(reader.last_array::<2>(), Some([2, 3]));
        assert_eq!(reader.bytes(2), None);
        assert_eq!(reader.u8(), Some(1));
        assert_eq!(reader.u8(), None);
    }
}
