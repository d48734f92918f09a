//! Field encryption (DESIGN §7): XChaCha20-Poly1305 with a random nonce per value, bound to the
//! table, column and row it belongs to, and a keyed hash (HMAC-SHA256) as a blind index for lookups
//! and uniqueness. The key comes from configuration and never enters the database.

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Stored ciphertexts start with the key version, so that keys can be rotated later.
const PREFIX: &str = "v1:";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the data key must be 32 bytes, given as 64 hexadecimal characters or base64")]
    BadKey,
    #[error("a stored value could not be decrypted (wrong key, or the value was altered)")]
    Decrypt,
}

/// Encrypts and indexes personal data.
pub struct FieldCipher {
    aead: XChaCha20Poly1305,
    index_key: [u8; 32],
}

impl std::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldCipher(..)")
    }
}

fn derive(master: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

impl FieldCipher {
    /// From the configured key text: 64 hexadecimal characters or base64 of 32 bytes.
    pub fn from_key_text(text: &str) -> Result<FieldCipher, CryptoError> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| {
                    u8::from_str_radix(&t[2 * i..2 * i + 2], 16).map_err(|_| CryptoError::BadKey)
                })
                .collect::<Result<Vec<u8>, _>>()?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(|_| CryptoError::BadKey)?
        };
        let master: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        // Separate keys for encryption and indexing, derived from the one configured key.
        let enc = derive(&master, b"jiekun field encryption v1");
        Ok(FieldCipher {
            aead: XChaCha20Poly1305::new(&enc.into()),
            index_key: derive(&master, b"jiekun blind index v1"),
        })
    }

    /// A fresh random key, as 64 hexadecimal characters.
    pub fn generate_key_text() -> String {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        k.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Encrypts `plaintext` for `context` (e.g. `household_members.national_id:<row id>`).
    pub fn encrypt(&self, context: &str, plaintext: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption does not fail");
        let mut out = nonce.to_vec();
        out.extend(ct);
        format!("{PREFIX}{}", B64.encode(out))
    }

    pub fn decrypt(&self, context: &str, stored: &str) -> Result<String, CryptoError> {
        let raw = stored
            .strip_prefix(PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .filter(|r| r.len() > 24)
            .ok_or(CryptoError::Decrypt)?;
        let (nonce, ct) = raw.split_at(24);
        let pt = self
            .aead
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(pt).map_err(|_| CryptoError::Decrypt)
    }

    /// The blind index of a value: equal values give equal indexes; nothing else can be learnt
    /// without the key.
    pub fn blind_index(&self, kind: &str, value: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.index_key).expect("any key length");
        mac.update(kind.as_bytes());
        mac.update(b"\x00");
        mac.update(value.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> FieldCipher {
        FieldCipher::from_key_text(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn round_trips_and_binds_context() {
        let c = cipher();
        let s = c.encrypt("t.c:1", "610724198001011234");
        assert!(s.starts_with("v1:") && !s.contains("6107241980"));
        assert_eq!(c.decrypt("t.c:1", &s).unwrap(), "610724198001011234");
        assert_eq!(
            c.decrypt("t.c:2", &s),
            Err(CryptoError::Decrypt),
            "bound to its row"
        );
        assert_ne!(
            c.encrypt("t.c:1", "x"),
            c.encrypt("t.c:1", "x"),
            "random nonces"
        );
        let other = FieldCipher::from_key_text(&"cd".repeat(32)).unwrap();
        assert_eq!(other.decrypt("t.c:1", &s), Err(CryptoError::Decrypt));
        let mut tampered = s.clone();
        tampered.pop();
        tampered.push('A');
        assert!(c.decrypt("t.c:1", &tampered).is_err() || tampered == s);
    }

    #[test]
    fn blind_index_is_deterministic_and_keyed() {
        let c = cipher();
        assert_eq!(c.blind_index("id", "x"), c.blind_index("id", "x"));
        assert_ne!(c.blind_index("id", "x"), c.blind_index("bank", "x"));
        let other = FieldCipher::from_key_text(&"cd".repeat(32)).unwrap();
        assert_ne!(c.blind_index("id", "x"), other.blind_index("id", "x"));
    }

    #[test]
    fn keys() {
        assert!(FieldCipher::from_key_text("short").is_err());
        assert!(FieldCipher::from_key_text(&FieldCipher::generate_key_text()).is_ok());
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(FieldCipher::from_key_text(&b64).is_ok());
    }
}
