//! The same throttles kept in Redis (`JIEKUN_REDIS_URL`), for deployments that run several server
//! processes and already have one: each check-and-count is one Lua script, which Redis runs
//! atomically, with the rules of the SQL statements beside it; every key expires by itself when it
//! means nothing any more, so there is nothing to sweep.

use std::time::Duration;

use ::redis::Script;

use super::{request_wait, Backoff, MINUTE_MS};
use crate::{StoreError, StoreResult};

/// Failed attempts: `KEYS[1]` the subject's hash; `ARGV` now, free, unit, max wait, forget after
/// (ms). Returns failures, last failure (ms) and 1 when refused (nothing counted), else 0.
const ATTEMPT: &str = r"
local now = tonumber(ARGV[1])
local free, unit, maxw, forget = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local f = redis.call('HMGET', KEYS[1], 'failures', 'last_ms')
local failures, last = tonumber(f[1]), tonumber(f[2])
if failures and last and now - last < forget then
  local wait = 0
  if failures - free >= 30 then
    wait = maxw
  elseif failures >= free then
    wait = math.min(unit * 2 ^ (failures - free), maxw)
  end
  if now < last + wait then
    return {failures, last, 1}
  end
  failures = failures + 1
else
  failures = 1
end
redis.call('HSET', KEYS[1], 'failures', failures, 'last_ms', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {failures, now, 0}
";

/// Takes one failure back, never below zero.
const SUCCEEDED: &str = r"
local f = tonumber(redis.call('HGET', KEYS[1], 'failures'))
if f and f > 0 then
  redis.call('HSET', KEYS[1], 'failures', f - 1)
end
return 0
";

/// Requests in a sliding minute: `ARGV` this minute, ms into it, limit, expiry (ms). Returns hits
/// this minute, hits of the previous one, and 1 when refused (nothing counted), else 0.
const REQUEST: &str = r"
local minute, into, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local r = redis.call('HMGET', KEYS[1], 'window_minute', 'hits', 'previous_hits')
local window = tonumber(r[1])
local previous, current = 0, 0
if window == minute then
  previous, current = tonumber(r[3]) or 0, tonumber(r[2]) or 0
elseif window == minute - 1 then
  previous = tonumber(r[2]) or 0
end
local refused = previous * (60000 - into) + (current + 1) * 60000 > limit * 60000
if not refused then
  current = current + 1
end
redis.call('HSET', KEYS[1], 'window_minute', ARGV[1], 'hits', current, 'previous_hits', previous)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if refused then
  return {current, previous, 1}
end
return {current, previous, 0}
";

/// How long a command may take before the check fails (and the request with it, 503).
const TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug)]
struct Timeouts;

impl r2d2::CustomizeConnection<::redis::Connection, ::redis::RedisError> for Timeouts {
    fn on_acquire(&self, conn: &mut ::redis::Connection) -> Result<(), ::redis::RedisError> {
        conn.set_read_timeout(Some(TIMEOUT))?;
        conn.set_write_timeout(Some(TIMEOUT))
    }
}

/// Throttles in one Redis, their keys under `prefix` (so that several deployments may share it).
pub struct RedisThrottle {
    pool: r2d2::Pool<::redis::Client>,
    prefix: String,
    attempt: Script,
    succeeded: Script,
    request: Script,
}

impl std::fmt::Debug for RedisThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisThrottle")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("redis: {e}"))
}

impl RedisThrottle {
    /// Connects to `url` (`redis://host:port/db`) and checks that it answers.
    pub fn connect(url: &str, prefix: &str) -> StoreResult<RedisThrottle> {
        let client =
            ::redis::Client::open(url).map_err(|e| StoreError::Config(format!("redis: {e}")))?;
        let pool = r2d2::Pool::builder()
            .max_size(16)
            .min_idle(Some(1))
            .connection_timeout(TIMEOUT)
            .connection_customizer(Box::new(Timeouts))
            .build(client)
            .map_err(unavailable)?;
        let throttle = RedisThrottle {
            pool,
            prefix: prefix.to_owned(),
            attempt: Script::new(ATTEMPT),
            succeeded: Script::new(SUCCEEDED),
            request: Script::new(REQUEST),
        };
        let pong: String = ::redis::cmd("PING")
            .query(&mut *throttle.conn()?)
            .map_err(unavailable)?;
        if pong != "PONG" {
            return Err(unavailable(format!("PING answered {pong:?}")));
        }
        Ok(throttle)
    }

    fn conn(&self) -> StoreResult<r2d2::PooledConnection<::redis::Client>> {
        self.pool.get().map_err(unavailable)
    }

    fn key(&self, subject: &str) -> String {
        format!("{}{subject}", self.prefix)
    }

    /// [`super::attempt`], in Redis.
    pub fn attempt(
        &self,
        subject: &str,
        now_ms: i64,
        backoff: &Backoff,
    ) -> StoreResult<Option<i64>> {
        let (failures, last_ms, refused): (i64, i64, i64) = self
            .attempt
            .key(self.key(subject))
            .arg(now_ms)
            .arg(backoff.free)
            .arg(backoff.unit_ms)
            .arg(backoff.max_wait_ms)
            .arg(backoff.forget_after_ms())
            .invoke(&mut *self.conn()?)
            .map_err(unavailable)?;
        if refused == 0 {
            return Ok(None);
        }
        let until = last_ms.saturating_add(backoff.wait_after(failures));
        Ok(Some((until - now_ms).max(1)))
    }

    /// [`super::check`], in Redis.
    pub fn check(&self, subject: &str, now_ms: i64, backoff: &Backoff) -> StoreResult<Option<i64>> {
        let (failures, last_ms): (Option<i64>, Option<i64>) = ::redis::cmd("HMGET")
            .arg(self.key(subject))
            .arg("failures")
            .arg("last_ms")
            .query(&mut *self.conn()?)
            .map_err(unavailable)?;
        let (Some(failures), Some(last_ms)) = (failures, last_ms) else {
            return Ok(None);
        };
        let live = now_ms.saturating_sub(last_ms) < backoff.forget_after_ms();
        let until = last_ms.saturating_add(backoff.wait_after(failures));
        Ok((live && now_ms < until).then_some(until - now_ms))
    }

    /// [`super::succeeded`], in Redis.
    pub fn succeeded(&self, subject: &str) -> StoreResult<()> {
        let _: i64 = self
            .succeeded
            .key(self.key(subject))
            .invoke(&mut *self.conn()?)
            .map_err(unavailable)?;
        Ok(())
    }

    /// [`super::reset`], in Redis.
    pub fn reset(&self, subject: &str) -> StoreResult<()> {
        let _: i64 = ::redis::cmd("DEL")
            .arg(self.key(subject))
            .query(&mut *self.conn()?)
            .map_err(unavailable)?;
        Ok(())
    }

    /// [`super::request`], in Redis.
    pub fn request(&self, subject: &str, now_ms: i64, per_minute: u32) -> StoreResult<Option<i64>> {
        let limit = i64::from(per_minute.max(1));
        let minute = now_ms.div_euclid(MINUTE_MS);
        let into = now_ms.rem_euclid(MINUTE_MS);
        let (hits, previous, refused): (i64, i64, i64) = self
            .request
            .key(self.key(subject))
            .arg(minute)
            .arg(into)
            .arg(limit)
            .arg(2 * MINUTE_MS)
            .invoke(&mut *self.conn()?)
            .map_err(unavailable)?;
        if refused == 0 {
            return Ok(None);
        }
        Ok(Some(request_wait(previous, hits, into, limit)))
    }
}
