//! Document identifiers: 32 random bytes, shown as lowercase base32.

use std::fmt;
use std::str::FromStr;

use data_encoding::BASE32_NOPAD;

/// Number of random bytes in a document id.
pub const DOCUMENT_ID_BYTES: usize = 32;

/// A document's identity, the same on every device that has the document.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId([u8; DOCUMENT_ID_BYTES]);

impl DocumentId {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(rand::random())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; DOCUMENT_ID_BYTES] {
        &self.0
    }

    /// Wraps raw bytes.
    pub fn from_bytes(bytes: [u8; DOCUMENT_ID_BYTES]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&BASE32_NOPAD.encode(&self.0).to_ascii_lowercase())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

/// Why a string is not a document id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a document id (expected 52 base32 characters a-z, 2-7)")]
pub struct ParseIdError(pub String);

impl FromStr for DocumentId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = || ParseIdError(s.chars().take(80).collect());
        let upper = s.trim().to_ascii_uppercase();
        let bytes = BASE32_NOPAD.decode(upper.as_bytes()).map_err(|_| fail())?;
        let bytes: [u8; DOCUMENT_ID_BYTES] = bytes.try_into().map_err(|_| fail())?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = DocumentId::random();
        let text = id.to_string();
        assert_eq!(text.len(), 52);
        assert_eq!(text.parse::<DocumentId>().unwrap(), id);
    }

    #[test]
    fn rejects_garbage() {
        assert!("hello".parse::<DocumentId>().is_err());
        assert!("".parse::<DocumentId>().is_err());
        let short = &DocumentId::random().to_string()[..50];
        assert!(short.parse::<DocumentId>().is_err());
    }
}
