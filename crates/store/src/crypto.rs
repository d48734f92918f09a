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

/// Ciphertexts written before keys had ids: `v1:` and the base64 of nonce and ciphertext. They
/// are read with the current key, and during a rotation with the previous one.
const LEGACY: &str = "v1:";
/// Ciphertexts today: `v2:`, the id of the key, `:`, then the base64 of nonce and ciphertext.
const VERSION: &str = "v2:";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the data key must be 32 bytes, given as 64 hexadecimal characters or base64")]
    BadKey,
    #[error("a stored value could not be decrypted (wrong key, or the value was altered)")]
    Decrypt,
    #[error("the previous data key is the current one")]
    SameKey,
}

/// One data key: its id (a keyed fingerprint, safe to store) and the keys derived from it.
struct KeySet {
    id: String,
    aead: XChaCha20Poly1305,
    index_key: [u8; 32],
    signing_key: [u8; 32],
}

impl KeySet {
    fn from_key_text(text: &str) -> Result<KeySet, CryptoError> {
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
        // Separate keys for encryption and indexing, and an id, derived from the one key.
        let enc = derive(&master, b"jiekun field encryption v1");
        let id: String = derive(&master, b"jiekun key id v1")[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(KeySet {
            id,
            aead: XChaCha20Poly1305::new(&enc.into()),
            index_key: derive(&master, b"jiekun blind index v1"),
            signing_key: derive(&master, b"jiekun signing v1"),
        })
    }

    fn sign(&self, message: &[u8]) -> String {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.signing_key).expect("any key length");
        mac.update(message);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn open(&self, context: &str, raw: &[u8]) -> Result<String, CryptoError> {
        if raw.len() <= 24 {
            return Err(CryptoError::Decrypt);
        }
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

    fn index(&self, kind: &str, value: &str) -> String {
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

/// Encrypts and indexes personal data: with the current key, and while a rotation runs
/// (`jiekun keys rotate-data-key`), reading with the previous key too.
pub struct FieldCipher {
    current: KeySet,
    previous: Option<KeySet>,
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
        Ok(FieldCipher {
            current: KeySet::from_key_text(text)?,
            previous: None,
        })
    }

    /// The same cipher, reading values still under `previous` too (during a rotation).
    pub fn with_previous(self, previous: &str) -> Result<FieldCipher, CryptoError> {
        let previous = KeySet::from_key_text(previous)?;
        if previous.id == self.current.id {
            return Err(CryptoError::SameKey);
        }
        Ok(FieldCipher {
            previous: Some(previous),
            ..self
        })
    }

    /// The id of the current key, as stored values name it.
    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// Whether a previous key is configured: a rotation is under way.
    pub fn rotating(&self) -> bool {
        self.previous.is_some()
    }

    /// Whether `stored` is encrypted under the current key (and needs no rotation).
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(VERSION)
            .and_then(|r| r.strip_prefix(self.current.id.as_str()))
            .is_some_and(|r| r.starts_with(':'))
    }

    /// How a stored value under the current key begins, for queries that find the others.
    pub fn current_prefix(&self) -> String {
        format!("{VERSION}{}:", self.current.id)
    }

    /// A fresh random key, as 64 hexadecimal characters.
    pub fn generate_key_text() -> String {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        k.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Encrypts `plaintext` for `context` (e.g. `household_members.national_id:<row id>`) under
    /// the current key.
    pub fn encrypt(&self, context: &str, plaintext: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .current
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
        format!("{VERSION}{}:{}", self.current.id, B64.encode(out))
    }

    /// Decrypts a stored value: under the key its id names, or for a value written before ids
    /// (`v1:`), the current key and then the previous one.
    pub fn decrypt(&self, context: &str, stored: &str) -> Result<String, CryptoError> {
        let keys = || std::iter::once(&self.current).chain(self.previous.as_ref());
        if let Some(rest) = stored.strip_prefix(VERSION) {
            let (id, body) = rest.split_once(':').ok_or(CryptoError::Decrypt)?;
            let key = keys().find(|k| k.id == id).ok_or(CryptoError::Decrypt)?;
            let raw = B64.decode(body).map_err(|_| CryptoError::Decrypt)?;
            return key.open(context, &raw);
        }
        let raw = stored
            .strip_prefix(LEGACY)
            .and_then(|b| B64.decode(b).ok())
            .ok_or(CryptoError::Decrypt)?;
        keys()
            .find_map(|k| k.open(context, &raw).ok())
            .ok_or(CryptoError::Decrypt)
    }

    /// The blind index of a value under the current key: equal values give equal indexes;
    /// nothing else can be learnt without the key.
    pub fn blind_index(&self, kind: &str, value: &str) -> String {
        self.current.index(kind, value)
    }

    /// Signs `message` (HMAC-SHA256 under a key derived from the current data key): the id of
    /// the key and the signature in hex.
    pub fn sign(&self, message: &[u8]) -> (String, String) {
        (self.current.id.clone(), self.current.sign(message))
    }

    /// Whether `signature` is the signature of `message` under the key `key_id` (the current or
    /// the previous one), compared in constant time.
    pub fn verify_signature(&self, key_id: &str, message: &[u8], signature: &str) -> bool {
        let Some(key) = std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|k| k.id == key_id)
        else {
            return false;
        };
        let expected = key.sign(message);
        expected.len() == signature.len()
            && expected
                .bytes()
                .zip(signature.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The blind indexes a stored row may still carry for a value: the current key's, and
    /// during a rotation the previous key's, for lookups that must find rows not yet rotated.
    pub fn blind_indexes(&self, kind: &str, value: &str) -> Vec<String> {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .map(|k| k.index(kind, value))
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
        assert!(s.starts_with(&c.current_prefix()) && !s.contains("6107241980"));
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

    /// A value as it was written before keys had ids.
    fn legacy(stored: &str) -> String {
        let rest = stored.strip_prefix(VERSION).unwrap();
        let (_, body) = rest.split_once(':').unwrap();
        format!("{LEGACY}{body}")
    }

    #[test]
    fn a_rotation_reads_under_both_keys_and_writes_under_the_new_one() {
        let (a, b) = ("ab".repeat(32), "cd".repeat(32));
        let old = FieldCipher::from_key_text(&a).unwrap();
        let new = FieldCipher::from_key_text(&b).unwrap();
        let both = FieldCipher::from_key_text(&b)
            .unwrap()
            .with_previous(&a)
            .unwrap();
        assert_ne!(old.key_id(), new.key_id());
        assert_eq!(both.key_id(), new.key_id());
        assert!(both.rotating() && !new.rotating());
        let before = legacy(&old.encrypt("t.c:1", "610724198001011234"));
        let under_old = old.encrypt("t.c:2", "尿毒症");
        // The new key alone reads neither; with the previous one, both.
        assert_eq!(new.decrypt("t.c:1", &before), Err(CryptoError::Decrypt));
        assert_eq!(new.decrypt("t.c:2", &under_old), Err(CryptoError::Decrypt));
        assert_eq!(
            both.decrypt("t.c:1", &before).unwrap(),
            "610724198001011234"
        );
        assert_eq!(both.decrypt("t.c:2", &under_old).unwrap(), "尿毒症");
        assert_eq!(old.decrypt("t.c:1", &before).unwrap(), "610724198001011234");
        assert!(!both.is_current(&before) && !both.is_current(&under_old));
        // Written again, it is under the new key only.
        let again = both.encrypt("t.c:2", "尿毒症");
        assert!(both.is_current(&again) && again.starts_with(&new.current_prefix()));
        assert_eq!(new.decrypt("t.c:2", &again).unwrap(), "尿毒症");
        assert_eq!(old.decrypt("t.c:2", &again), Err(CryptoError::Decrypt));
        // Lookups during the rotation find rows under either index; the current one first.
        assert_eq!(
            both.blind_indexes("id", "x"),
            [new.blind_index("id", "x"), old.blind_index("id", "x")]
        );
        assert_eq!(new.blind_indexes("id", "x"), [new.blind_index("id", "x")]);
        assert_eq!(both.blind_index("id", "x"), new.blind_index("id", "x"));
        // The previous key must be another key.
        assert_eq!(
            FieldCipher::from_key_text(&a)
                .unwrap()
                .with_previous(&a)
                .unwrap_err(),
            CryptoError::SameKey
        );
        // A value naming a key the cipher does not hold is refused, whatever its body.
        let foreign = under_old.replacen(old.key_id(), "000000000000", 1);
        assert_eq!(both.decrypt("t.c:2", &foreign), Err(CryptoError::Decrypt));
    }

    #[test]
    fn keys() {
        assert!(FieldCipher::from_key_text("short").is_err());
        assert!(FieldCipher::from_key_text(&FieldCipher::generate_key_text()).is_ok());
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(FieldCipher::from_key_text(&b64).is_ok());
    }
}
