//! Lowercase RFC 4648 base32 without padding, as used for document ids and tickets.
//!
//! Decoding is lenient about what a person's copy-and-paste does to text (case, a cut
//! in the middle of a character group) and strict about symbols: a character outside
//! the alphabet is reported with its position. Whether the decoded bytes are whole is
//! for the format inside to say (tickets carry their length and a checksum).

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Encodes `bytes` as lowercase base32 without padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u16 = 0;
    let mut bits: u32 = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(symbol((buffer >> bits) as u8));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(symbol((buffer << (5 - bits)) as u8));
    }
    out
}

fn symbol(value: u8) -> char {
    char::from(
        ALPHABET
            .get(usize::from(value & 0x1f))
            .copied()
            .unwrap_or(b'a'),
    )
}

fn value_of(ch: char) -> Option<u8> {
    match ch {
        'a'..='z' => Some(ch as u8 - b'a'),
        'A'..='Z' => Some(ch as u8 - b'A'),
        '2'..='7' => Some(ch as u8 - b'2' + 26),
        _ => None,
    }
}

/// A character that is not base32, and where it was (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadSymbol {
    pub(crate) position: usize,
    pub(crate) found: char,
}

/// Decodes base32 in either case; leftover bits that do not make a whole byte are
/// dropped.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, BadSymbol> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u16 = 0;
    let mut bits: u32 = 0;
    for (position, found) in text.chars().enumerate() {
        let value = value_of(found).ok_or(BadSymbol { position, found })?;
        buffer = (buffer << 5) | u16::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ];
        for (plain, coded) in vectors {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
            assert_eq!(
                decode(&coded.to_ascii_uppercase()).unwrap(),
                plain.as_bytes()
            );
        }
    }

    #[test]
    fn reports_the_bad_symbol() {
        assert_eq!(
            decode("mzx1"),
            Err(BadSymbol {
                position: 3,
                found: '1'
            })
        );
        assert_eq!(
            decode("é"),
            Err(BadSymbol {
                position: 0,
                found: 'é'
            })
        );
    }

    #[test]
    fn round_trips_all_lengths() {
        let bytes: Vec<u8> = (0..=255).collect();
        for len in 0..64 {
            let slice = &bytes[..len];
            assert_eq!(decode(&encode(slice)).unwrap(), slice);
        }
    }
}
