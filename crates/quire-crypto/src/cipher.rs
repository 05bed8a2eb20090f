//! XChaCha20-Poly1305 under a document's read key, and the derived values (nonces,
//! session ids) that keep the wire format small.

use chacha20poly1305::{AeadInOut, Key, KeyInit, XChaCha20Poly1305, XNonce};

use crate::doc_keys::ReadKey;
use crate::error::EnvelopeError;
use crate::identity::DevicePublicKey;
use crate::session::{SESSION_ID_BYTES, SESSION_SALT_BYTES, SessionId};

/// Length of an XChaCha20-Poly1305 nonce.
pub const NONCE_BYTES: usize = 24;

/// Length of the Poly1305 authentication tag appended to every ciphertext.
pub const AEAD_TAG_BYTES: usize = 16;

const SESSION_ID_CONTEXT: &str = "quire 2025-06 session id v1";
const MESSAGE_NONCE_CONTEXT: &str = "quire 2025-06 message nonce v1";
const HELLO_KEY_CONTEXT: &str = "quire 2026-12 hello key v3";

/// Encrypts `plaintext`, returning ciphertext with the tag appended.
pub(crate) fn encrypt(
    key: &ReadKey,
    nonce: &[u8; NONCE_BYTES],
    associated_data: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let cipher = XChaCha20Poly1305::new(&Key::from(*key.as_bytes()));
    let mut buffer = Vec::with_capacity(plaintext.len() + AEAD_TAG_BYTES);
    buffer.extend_from_slice(plaintext);
    cipher
        .encrypt_in_place(&XNonce::from(*nonce), associated_data, &mut buffer)
        .map_err(|_| EnvelopeError::PlaintextTooLarge {
            size: plaintext.len(),
            limit: crate::MAX_PLAINTEXT_BYTES,
        })?;
    Ok(buffer)
}

/// Decrypts and authenticates `ciphertext` (with its tag).
pub(crate) fn decrypt(
    key: &ReadKey,
    nonce: &[u8; NONCE_BYTES],
    associated_data: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let cipher = XChaCha20Poly1305::new(&Key::from(*key.as_bytes()));
    let mut buffer = ciphertext.to_vec();
    cipher
        .decrypt_in_place(&XNonce::from(*nonce), associated_data, &mut buffer)
        .map_err(|_| EnvelopeError::Undecryptable)?;
    Ok(buffer)
}

/// The key hellos are sealed under: derived from the read key, so that hellos' random
/// nonces and messages' derived ones are never used under the same key.
pub(crate) fn hello_key(read_key: &ReadKey) -> ReadKey {
    ReadKey::from_bytes(blake3::derive_key(HELLO_KEY_CONTEXT, read_key.as_bytes()))
}

/// A session's id: a hash of the device key and the session's random salt, so no other
/// device can announce a session under the same id without a 64-bit second preimage.
pub(crate) fn session_id(device: &DevicePublicKey, salt: &[u8; SESSION_SALT_BYTES]) -> SessionId {
    let mut hasher = blake3::Hasher::new_derive_key(SESSION_ID_CONTEXT);
    hasher.update(&device.to_bytes());
    hasher.update(salt);
    let mut id = [0; SESSION_ID_BYTES];
    hasher.finalize_xof().fill(&mut id);
    SessionId(id)
}

/// The nonce of message `seq` in a session, derived rather than sent: unique because
/// the salt is fresh per session and a session never seals the same `seq` twice.
pub(crate) fn message_nonce(
    device: &DevicePublicKey,
    salt: &[u8; SESSION_SALT_BYTES],
    seq: u64,
) -> [u8; NONCE_BYTES] {
    let mut hasher = blake3::Hasher::new_derive_key(MESSAGE_NONCE_CONTEXT);
    hasher.update(&device.to_bytes());
    hasher.update(salt);
    hasher.update(&seq.to_le_bytes());
    let mut nonce = [0; NONCE_BYTES];
    hasher.finalize_xof().fill(&mut nonce);
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceIdentity;

    #[test]
    fn encrypt_round_trips_and_binds_associated_data() {
        let key = ReadKey::generate();
        let nonce = [9; NONCE_BYTES];
        let sealed = encrypt(&key, &nonce, b"ad", b"hello").unwrap();
        assert_eq!(sealed.len(), 5 + AEAD_TAG_BYTES);
        assert_eq!(decrypt(&key, &nonce, b"ad", &sealed).unwrap(), b"hello");
        assert_eq!(
            decrypt(&key, &nonce, b"AD", &sealed),
            Err(EnvelopeError::Undecryptable)
        );
        assert_eq!(
            decrypt(&ReadKey::generate(), &nonce, b"ad", &sealed),
            Err(EnvelopeError::Undecryptable)
        );
        assert_eq!(
            decrypt(&key, &nonce, b"ad", &sealed[..10]),
            Err(EnvelopeError::Undecryptable)
        );
    }

    #[test]
    fn nonces_differ_by_seq_salt_and_device() {
        let a = DeviceIdentity::generate().public_key();
        let b = DeviceIdentity::generate().public_key();
        let salt = [1; SESSION_SALT_BYTES];
        let base = message_nonce(&a, &salt, 1);
        assert_ne!(base, message_nonce(&a, &salt, 2));
        assert_ne!(base, message_nonce(&a, &[2; SESSION_SALT_BYTES], 1));
        assert_ne!(base, message_nonce(&b, &salt, 1));
        assert_ne!(session_id(&a, &salt), session_id(&b, &salt));
    }
}
