//! Department API keys: `jk_<prefix>_<secret>`. The prefix finds the key; only a SHA-256 hash of
//! the secret is stored (the secret has 256 random bits, so a slow hash adds nothing).

use std::net::IpAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ipnet::IpNet;
use jiekun_domain::access::{parse_list, KeyScope};
use jiekun_domain::RegionCode;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{forbidden, unauthenticated, KeyPrincipal};
use crate::error::{ApiError, ApiResult};
use crate::{db, AppState};

/// A freshly made key: the full text (shown once) and what is stored.
pub struct MintedKey {
    pub full: String,
    pub prefix: String,
    pub secret_hash: String,
}

pub fn mint() -> MintedKey {
    let mut rng = rand::rng();
    let mut prefix = [0u8; 6];
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut prefix);
    rng.fill_bytes(&mut secret);
    let prefix: String = prefix.iter().map(|b| format!("{b:02x}")).collect();
    let secret = URL_SAFE_NO_PAD.encode(secret);
    MintedKey {
        full: format!("jk_{prefix}_{secret}"),
        secret_hash: hash_secret(&secret),
        prefix,
    }
}

pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Splits `jk_<12 hex>_<43 base64url>` into prefix and secret.
pub fn parse(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("jk_")?;
    let (prefix, secret) = rest.split_once('_')?;
    let prefix_ok = prefix.len() == 12 && prefix.bytes().all(|b| b.is_ascii_hexdigit());
    let secret_ok = secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (prefix_ok && secret_ok).then_some((prefix, secret))
}

/// Parses a comma-separated allow-list of addresses or CIDR blocks.
pub fn parse_allow_list(s: &str) -> Result<Vec<IpNet>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<IpNet>()
                .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{p} is not an address or CIDR block"))
        })
        .collect()
}

fn invalid_key() -> ApiError {
    unauthenticated(
        "the API key is unknown, revoked, or not valid now",
        "API 密钥不存在、已吊销或不在有效期内",
    )
}

/// Checks a presented key: known, secret matches, not revoked, inside its validity window,
/// department active, caller's address allowed, and under its rate limit. Records its last use.
/// Nothing of the key is cached: a key revoked or a department deactivated by any process is
/// refused by every process from the next request on.
pub async fn authenticate(
    state: &AppState,
    key: String,
    peer: Option<IpAddr>,
) -> ApiResult<KeyPrincipal> {
    let (prefix, secret) = parse(&key).ok_or_else(invalid_key)?;
    let presented = hash_secret(secret);
    let prefix = prefix.to_owned();
    let found = db::run(&state.db, move |c| {
        Ok(jiekun_store::api_keys::find_by_prefix(c, &prefix)?)
    })
    .await?
    .ok_or_else(invalid_key)?;
    let k = &found.key;
    if !bool::from(presented.as_bytes().ct_eq(k.secret_hash.as_bytes())) {
        return Err(invalid_key());
    }
    let now = jiekun_store::now();
    let inside_window = k.valid_from <= now && k.valid_until.is_none_or(|u| now < u);
    if k.revoked_at.is_some() || !inside_window || !found.department_active {
        return Err(invalid_key());
    }
    if let Some(list) = &k.allowed_addresses {
        let nets = parse_allow_list(list).map_err(ApiError::internal)?;
        let allowed = peer.is_some_and(|ip| nets.iter().any(|n| n.contains(&ip)));
        if !allowed {
            return Err(forbidden(
                "this API key may not be used from your address",
                "该 API 密钥不允许从您的地址使用",
            ));
        }
    }
    let per_minute = u32::try_from(k.rate_limit_per_minute).unwrap_or(u32::MAX);
    state.auth.key_requests.check(&k.id, per_minute).await?;
    // Last use is kept to the minute, so that busy keys do not write on every request.
    let stale = k
        .last_used_at
        .is_none_or(|t| now - t > chrono::TimeDelta::seconds(60));
    if stale {
        let id = k.id.clone();
        db::run_blocking(&state.db, move |c| {
            Ok(jiekun_store::api_keys::touch(c, &id, now)?)
        })
        .await?;
    }
    let scopes = parse_list::<KeyScope>(&k.scopes)
        .map_err(|_| ApiError::internal("stored key scopes unreadable"))?;
    let region = RegionCode::parse(&found.department_region)
        .map_err(|e| ApiError::internal(format!("stored region: {e}")))?;
    Ok(KeyPrincipal {
        id: k.id.clone(),
        name: k.name.clone(),
        department_id: k.department_id.clone(),
        department_code: found.department_code.clone(),
        region,
        scopes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_keys_parse_and_hash() {
        let k = mint();
        let (prefix, secret) = parse(&k.full).unwrap();
        assert_eq!(prefix, k.prefix);
        assert_eq!(hash_secret(secret), k.secret_hash);
        assert_ne!(mint().full, k.full);
        assert!(parse("jk_short_x").is_none());
        assert!(parse(&k.full.replace("jk_", "xx_")).is_none());
    }

    #[test]
    fn allow_lists() {
        let nets = parse_allow_list("10.1.0.0/16, 192.168.1.7").unwrap();
        assert!(nets[0].contains(&"10.1.2.3".parse::<IpAddr>().unwrap()));
        assert!(nets[1].contains(&"192.168.1.7".parse::<IpAddr>().unwrap()));
        assert!(!nets[1].contains(&"192.168.1.8".parse::<IpAddr>().unwrap()));
        assert!(parse_allow_list("10.1.0.0/33").is_err());
    }
}
