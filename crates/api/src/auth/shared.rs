//! Throttles that hold across every server process on one database (kept in its tables by
//! `jiekun_store::throttle`) or on one Redis (`jiekun_store::throttle::redis`), or in this
//! process's memory where one process owns the database.

use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jiekun_store::throttle::redis::RedisThrottle;
use jiekun_store::throttle::{self, Backoff};
use sha2::{Digest, Sha256};

use super::limits::{FailureLimiter, KeyLimiter, BACKOFF_UNIT};
use super::rate_limited;
use crate::db::{self, Db};
use crate::error::ApiResult;

/// Where sign-in throttles and API-key rate limits are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SharedLimits {
    /// In the database on PostgreSQL (which several processes may share), in memory on SQLite
    /// (whose file one process owns).
    #[default]
    Auto,
    /// In this process's memory: each process counts on its own.
    Memory,
    /// In the database, shared by every process on it.
    Database,
    /// In Redis at `JIEKUN_REDIS_URL`, shared by every process that uses it (`auto` picks it
    /// whenever that is set).
    Redis,
}

impl FromStr for SharedLimits {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(SharedLimits::Auto),
            "memory" => Ok(SharedLimits::Memory),
            "database" => Ok(SharedLimits::Database),
            "redis" => Ok(SharedLimits::Redis),
            other => Err(format!(
                "{other:?} is not one of auto, memory, database, redis"
            )),
        }
    }
}

/// Where the throttles of one server end up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeptIn {
    Memory,
    Database,
    Redis,
}

impl SharedLimits {
    /// Where the throttles go for a pool of `backend`, with or without a Redis URL; an error
    /// when `redis` is asked for without one.
    pub fn kept_in(self, backend: &str, redis_url: bool) -> Result<KeptIn, String> {
        Ok(match self {
            SharedLimits::Auto if redis_url => KeptIn::Redis,
            SharedLimits::Auto if backend == "postgres" => KeptIn::Database,
            SharedLimits::Auto | SharedLimits::Memory => KeptIn::Memory,
            SharedLimits::Database => KeptIn::Database,
            SharedLimits::Redis if redis_url => KeptIn::Redis,
            SharedLimits::Redis => {
                return Err("JIEKUN_SHARED_LIMITS=redis needs JIEKUN_REDIS_URL".into())
            }
        })
    }
}

/// How often each process deletes expired throttle rows.
const SWEEP_EVERY_MS: i64 = 60_000;

/// The database or the Redis the throttles are kept in, and when this process last swept the
/// database (Redis expires its keys itself).
pub struct SharedStore {
    db: Db,
    redis: Option<Arc<RedisThrottle>>,
    failures_swept_ms: AtomicI64,
    requests_swept_ms: AtomicI64,
}

impl SharedStore {
    /// Throttles in the database of `db`.
    pub fn new(db: Db) -> Arc<Self> {
        Arc::new(SharedStore {
            db,
            redis: None,
            failures_swept_ms: AtomicI64::new(0),
            requests_swept_ms: AtomicI64::new(0),
        })
    }

    /// Throttles in `redis` (`db` runs the blocking calls' permits only).
    pub fn in_redis(db: Db, redis: Arc<RedisThrottle>) -> Arc<Self> {
        Arc::new(SharedStore {
            db,
            redis: Some(redis),
            failures_swept_ms: AtomicI64::new(0),
            requests_swept_ms: AtomicI64::new(0),
        })
    }

    /// Runs `f` on the Redis connection pool, off the async workers.
    async fn on_redis<T, F>(redis: &Arc<RedisThrottle>, f: F) -> ApiResult<T>
    where
        F: FnOnce(&RedisThrottle) -> jiekun_store::StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let redis = redis.clone();
        match actix_web::web::block(move || f(&redis)).await {
            Ok(r) => Ok(r?),
            Err(_) => {
                Err(jiekun_store::StoreError::Unavailable("redis call cancelled".into()).into())
            }
        }
    }

    /// Whether this caller should sweep now (one caller per minute and process).
    fn due(last: &AtomicI64, now_ms: i64) -> bool {
        let before = last.load(Ordering::Relaxed);
        now_ms.saturating_sub(before) >= SWEEP_EVERY_MS
            && last
                .compare_exchange(before, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// The subject a key is stored under: hashed, so that the table holds no usernames or
/// addresses (and no character PostgreSQL text refuses).
fn subject(kind: &str, key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}:{hex}")
}

fn wait(ms: i64) -> Duration {
    Duration::from_millis(ms.max(1).unsigned_abs())
}

/// Failed attempts per key with exponential back-off (see [`FailureLimiter`] for the rules),
/// counted in this process or in the database.
pub struct Failures {
    kind: &'static str,
    backoff: Backoff,
    memory: FailureLimiter,
    shared: Option<Arc<SharedStore>>,
}

impl Failures {
    pub fn new(
        kind: &'static str,
        free: u32,
        max_wait: Duration,
        shared: Option<Arc<SharedStore>>,
    ) -> Self {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Failures {
            kind,
            backoff: Backoff {
                free,
                unit_ms: ms(BACKOFF_UNIT),
                max_wait_ms: ms(max_wait),
            },
            memory: FailureLimiter::new(free, max_wait),
            shared,
        }
    }

    /// Whether the counts are in the database.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// 429 while `key` must wait; otherwise the attempt is counted as a failure until
    /// [`Failures::succeeded`] or [`Failures::reset`] takes it back.
    pub async fn attempt(&self, key: &str, now_ms: i64) -> ApiResult<()> {
        let Some(shared) = &self.shared else {
            return self.memory.attempt(key, now_ms).map_err(rate_limited);
        };
        let (subject, backoff) = (subject(self.kind, key), self.backoff);
        let refused = if let Some(redis) = &shared.redis {
            SharedStore::on_redis(redis, move |r| r.attempt(&subject, now_ms, &backoff)).await?
        } else {
            let sweep = SharedStore::due(&shared.failures_swept_ms, now_ms);
            db::run_blocking(&shared.db, move |c| {
                let refused = throttle::attempt(c, &subject, now_ms, &backoff)?;
                if sweep {
                    throttle::sweep_failures(c, now_ms)?;
                }
                Ok(refused)
            })
            .await?
        };
        match refused {
            Some(ms) => Err(rate_limited(wait(ms))),
            None => Ok(()),
        }
    }

    /// 429 while `key` must wait, without counting anything.
    pub async fn check(&self, key: &str, now_ms: i64) -> ApiResult<()> {
        let Some(shared) = &self.shared else {
            return self.memory.check(key, now_ms).map_err(rate_limited);
        };
        let (subject, backoff) = (subject(self.kind, key), self.backoff);
        let refused = if let Some(redis) = &shared.redis {
            SharedStore::on_redis(redis, move |r| r.check(&subject, now_ms, &backoff)).await?
        } else {
            db::run(&shared.db, move |c| {
                Ok(throttle::check(c, &subject, now_ms, &backoff)?)
            })
            .await?
        };
        match refused {
            Some(ms) => Err(rate_limited(wait(ms))),
            None => Ok(()),
        }
    }

    /// Takes back the failure counted by the last [`Failures::attempt`] of `key`.
    pub async fn succeeded(&self, key: &str) -> ApiResult<()> {
        let Some(shared) = &self.shared else {
            self.memory.succeeded(key);
            return Ok(());
        };
        let subject = subject(self.kind, key);
        if let Some(redis) = &shared.redis {
            return SharedStore::on_redis(redis, move |r| r.succeeded(&subject)).await;
        }
        db::run_blocking(&shared.db, move |c| Ok(throttle::succeeded(c, &subject)?)).await
    }

    /// Forgets every failure of `key`.
    pub async fn reset(&self, key: &str) -> ApiResult<()> {
        let Some(shared) = &self.shared else {
            self.memory.reset(key);
            return Ok(());
        };
        let subject = subject(self.kind, key);
        if let Some(redis) = &shared.redis {
            return SharedStore::on_redis(redis, move |r| r.reset(&subject)).await;
        }
        db::run_blocking(&shared.db, move |c| Ok(throttle::reset(c, &subject)?)).await
    }
}

/// Requests per minute per API key, counted in this process (a token bucket) or in the
/// database (a sliding minute).
pub struct KeyRequests {
    memory: KeyLimiter,
    shared: Option<Arc<SharedStore>>,
}

impl KeyRequests {
    pub fn new(shared: Option<Arc<SharedStore>>) -> Self {
        KeyRequests {
            memory: KeyLimiter::default(),
            shared,
        }
    }

    /// 429 when the key has used up its requests per minute; otherwise counts this one.
    pub async fn check(&self, key_id: &str, per_minute: u32) -> ApiResult<()> {
        let Some(shared) = &self.shared else {
            return self.memory.check(key_id, per_minute).map_err(rate_limited);
        };
        let now_ms = chrono::Utc::now().timestamp_millis();
        let subject = format!("key:{key_id}");
        let refused = if let Some(redis) = &shared.redis {
            SharedStore::on_redis(redis, move |r| r.request(&subject, now_ms, per_minute)).await?
        } else {
            let sweep = SharedStore::due(&shared.requests_swept_ms, now_ms);
            db::run_blocking(&shared.db, move |c| {
                let refused = throttle::request(c, &subject, now_ms, per_minute)?;
                if sweep {
                    throttle::sweep_requests(c, now_ms)?;
                }
                Ok(refused)
            })
            .await?
        };
        match refused {
            Some(ms) => Err(rate_limited(wait(ms))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_pick_by_backend() {
        assert_eq!("Database".parse(), Ok(SharedLimits::Database));
        assert_eq!(" memory ".parse(), Ok(SharedLimits::Memory));
        assert_eq!("redis".parse(), Ok(SharedLimits::Redis));
        assert!("memcached".parse::<SharedLimits>().is_err());
        let auto = SharedLimits::Auto;
        assert_eq!(auto.kept_in("postgres", false), Ok(KeptIn::Database));
        assert_eq!(auto.kept_in("sqlite", false), Ok(KeptIn::Memory));
        assert_eq!(auto.kept_in("sqlite", true), Ok(KeptIn::Redis));
        assert_eq!(auto.kept_in("postgres", true), Ok(KeptIn::Redis));
        let database = SharedLimits::Database;
        assert_eq!(database.kept_in("sqlite", true), Ok(KeptIn::Database));
        let memory = SharedLimits::Memory;
        assert_eq!(memory.kept_in("postgres", true), Ok(KeptIn::Memory));
        assert!(SharedLimits::Redis.kept_in("postgres", false).is_err());
    }

    #[test]
    fn subjects_hide_the_key_and_keep_kinds_apart() {
        let a = subject("user", "10.0.0.1\u{0}alice");
        assert!(a.starts_with("user:") && !a.contains("alice") && !a.contains('\u{0}'));
        assert_ne!(a, subject("address", "10.0.0.1\u{0}alice"));
    }
}
