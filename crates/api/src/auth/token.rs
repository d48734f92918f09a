//! Access tokens: HS256 JWTs with the algorithm pinned, `exp` enforced, issuer and audience checked,
//! and no token issued in the future.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// How far in the future a token's `iat` may lie, for clocks that disagree a little.
pub const IAT_LEEWAY_SECONDS: i64 = 60;

/// How long after its `exp` a token is still taken, for clocks that disagree a little.
const EXP_LEEWAY_SECONDS: i64 = 5;

/// How many verified tokens are remembered (about 400 bytes each); when full, the memory is
/// emptied and filled again by the tokens in use.
const VERIFIED_CAPACITY: usize = 4096;

/// Signing settings. The secret comes from configuration and is never stored in the database.
/// The keys and the validation rules are built once here, not for every token checked.
#[derive(Clone)]
pub struct TokenConfig {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub ttl: Duration,
    /// Tokens whose signature, issuer and audience were checked, by their exact text. A client
    /// sends the same token with every request for its whole life, and checking the signature
    /// (HMAC over the token, two base64 decodings, two JSON parses) is most of what reading it
    /// costs; only a token of exactly the same bytes is found here, and its times are checked
    /// again on every use.
    verified: Arc<Mutex<HashMap<Box<str>, Claims>>>,
}

impl std::fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenConfigError {
    #[error("the signing secret must be at least 32 bytes")]
    SecretTooShort,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The user's token version; a password, role or status change makes older tokens invalid.
    pub tv: i64,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

impl TokenConfig {
    pub fn new(secret: Vec<u8>, ttl: Duration) -> Result<Self, TokenConfigError> {
        if secret.len() < 32 {
            return Err(TokenConfigError::SecretTooShort);
        }
        Ok(Self::with_names(&secret, "jiekun", "jiekun-api", ttl))
    }

    /// The settings for an issuer and an audience (the server's are fixed by [`TokenConfig::new`]).
    fn with_names(secret: &[u8], issuer: &str, audience: &str, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = EXP_LEEWAY_SECONDS as u64;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        TokenConfig {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
            verified: Arc::default(),
        }
    }

    /// Signs a token for a user, valid from `now` (seconds since the epoch) for the configured ttl.
    pub fn issue(
        &self,
        user_id: &str,
        token_version: i64,
        now: i64,
    ) -> Result<(String, Claims), String> {
        let claims = Claims {
            sub: user_id.to_owned(),
            tv: token_version,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map(|t| (t, claims))
            .map_err(|e| e.to_string())
    }

    /// Checks signature (HS256 only), expiry, issuer and audience, and that the token was not
    /// issued in the future (a token that claims so was not signed by this server's clock).
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        self.verify_at(token, chrono::Utc::now().timestamp())
    }

    /// [`TokenConfig::verify`] at `now` (seconds since the epoch) for `iat` and `exp`. A token
    /// checked before is found by its exact text and not checked again, except for its times.
    pub fn verify_at(&self, token: &str, now: i64) -> Result<Claims, String> {
        let known = self.remembered().get(token).cloned();
        let claims = match known {
            Some(claims) => claims,
            None => {
                let claims = decode::<Claims>(token, &self.decoding, &self.validation)
                    .map(|d| d.claims)
                    .map_err(|e| e.to_string())?;
                let mut verified = self.remembered();
                if verified.len() >= VERIFIED_CAPACITY {
                    verified.clear();
                }
                verified.insert(token.into(), claims.clone());
                claims
            }
        };
        if claims.exp < now.saturating_sub(EXP_LEEWAY_SECONDS) {
            return Err(format!("expired (exp {})", claims.exp));
        }
        if claims.iat > now.saturating_add(IAT_LEEWAY_SECONDS) {
            return Err(format!("issued in the future (iat {})", claims.iat));
        }
        Ok(claims)
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Claims>> {
        // The map holds no invariant a panic elsewhere could have broken half-way.
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn config(secret: &[u8]) -> TokenConfig {
        TokenConfig::new(secret.to_vec(), Duration::from_secs(900)).unwrap()
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn round_trip() {
        let c = config(&[7; 32]);
        let (t, claims) = c.issue("u1", 3, now()).unwrap();
        assert_eq!(c.verify(&t).unwrap(), claims);
    }

    #[test]
    fn refuses_tokens_issued_in_the_future() {
        let c = config(&[7; 32]);
        let t = now();
        let (ahead, _) = c.issue("u1", 1, t + IAT_LEEWAY_SECONDS + 5).unwrap();
        assert!(c.verify_at(&ahead, t).unwrap_err().contains("future"));
        let (slightly, _) = c.issue("u1", 1, t + IAT_LEEWAY_SECONDS - 5).unwrap();
        assert!(c.verify_at(&slightly, t).is_ok(), "within the leeway");
    }

    #[test]
    fn a_token_checked_before_still_expires_and_its_forgeries_are_refused() {
        let c = config(&[7; 32]);
        let t = now();
        let (token, claims) = c.issue("u1", 3, t).unwrap();
        assert_eq!(c.verify_at(&token, t).unwrap(), claims);
        assert_eq!(c.verify_at(&token, t + 10).unwrap(), claims, "remembered");
        let after = claims.exp + EXP_LEEWAY_SECONDS + 1;
        assert!(c.verify_at(&token, after).unwrap_err().contains("expired"));
        let fresh = config(&[7; 32]);
        assert!(
            fresh.verify_at(&token, after).is_err(),
            "the same answer whether remembered or not"
        );
        assert!(c
            .verify_at(&token, t - IAT_LEEWAY_SECONDS - 5)
            .unwrap_err()
            .contains("future"));

        // One character changed anywhere is another token, checked from scratch.
        for at in [token.len() - 2, token.find('.').unwrap() + 3, 5] {
            let mut bytes = token.clone().into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert!(c.verify_at(&tampered, t).is_err(), "changed at {at}");
        }
        // Another secret's configuration remembers nothing of this one's tokens.
        assert!(config(&[8; 32]).verify_at(&token, t).is_err());
    }

    #[test]
    fn the_memory_of_verified_tokens_stays_bounded() {
        let c = config(&[7; 32]);
        let t = now();
        for i in 0..VERIFIED_CAPACITY + 10 {
            let (token, _) = c.issue(&format!("u{i}"), 1, t).unwrap();
            c.verify_at(&token, t).unwrap();
            assert!(c.remembered().len() <= VERIFIED_CAPACITY);
        }
        assert!(!c.remembered().is_empty());
    }

    #[test]
    fn refuses_short_secrets() {
        assert!(TokenConfig::new(vec![1; 31], Duration::from_secs(1)).is_err());
    }

    #[test]
    fn refuses_expired_foreign_unsigned_and_tampered_tokens() {
        let c = config(&[7; 32]);
        let (expired, _) = c.issue("u1", 1, now() - 3600).unwrap();
        assert!(c.verify(&expired).is_err());
        let (foreign, _) = config(&[8; 32]).issue("u1", 1, now()).unwrap();
        assert!(c.verify(&foreign).is_err());

        let (good, claims) = c.issue("u1", 1, now()).unwrap();
        let parts: Vec<&str> = good.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert!(c.verify(&format!("{none_header}.{}.", parts[1])).is_err());
        let hs512 = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS512","typ":"JWT"}"#);
        assert!(c
            .verify(&format!("{hs512}.{}.{}", parts[1], parts[2]))
            .is_err());
        let mut forged = claims.clone();
        forged.sub = "admin".into();
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert!(c
            .verify(&format!("{}.{forged_body}.{}", parts[0], parts[2]))
            .is_err());

        let other = TokenConfig::with_names(&[7; 32], "jiekun", "someone-else", c.ttl);
        let (wrong_aud, _) = other.issue("u1", 1, now()).unwrap();
        assert!(c.verify(&wrong_aud).is_err());
        let stranger = TokenConfig::with_names(&[7; 32], "someone-else", "jiekun-api", c.ttl);
        let (wrong_iss, _) = stranger.issue("u1", 1, now()).unwrap();
        assert!(c.verify(&wrong_iss).is_err());
    }
}
