//! Throttles: failed sign-ins with exponential back-off, and requests per API key.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// The first wait once the free failures are used up; each further failure doubles it.
pub const BACKOFF_UNIT: Duration = Duration::from_secs(5);

/// Keys kept before forgotten ones are swept out.
const SWEEP_ABOVE: usize = 100_000;

/// Failed attempts per key (a username at an address, or an address), with exponential
/// back-off instead of a lock: the first `free` failures cost nothing; after that the next
/// attempt must wait [`BACKOFF_UNIT`] × 2^k after the last failure (k = failures beyond the free
/// ones, from 0), never more than `max_wait`. A key with no failure for twice `max_wait` is
/// forgotten.
///
/// An attempt is counted as a failure when it starts ([`FailureLimiter::attempt`]), so that
/// attempts racing each other see each other; a correct password takes its count back.
/// Times are milliseconds on the server's clock.
pub struct FailureLimiter {
    free: u32,
    max_wait: Duration,
    entries: Mutex<HashMap<String, Failures>>,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last_ms: i64,
}

impl FailureLimiter {
    pub fn new(free: u32, max_wait: Duration) -> Self {
        FailureLimiter {
            free,
            max_wait,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long the next attempt waits after `count` failures.
    pub fn wait_after(&self, count: u32) -> Duration {
        if count < self.free {
            return Duration::ZERO;
        }
        let doublings = (count - self.free).min(30);
        BACKOFF_UNIT
            .saturating_mul(1 << doublings)
            .min(self.max_wait)
    }

    fn forget_after_ms(&self) -> i64 {
        i64::try_from(self.max_wait.as_millis().saturating_mul(2)).unwrap_or(i64::MAX)
    }

    fn live(&self, f: &Failures, now_ms: i64) -> bool {
        now_ms.saturating_sub(f.last_ms) < self.forget_after_ms()
    }

    fn pending_wait(&self, f: &Failures, now_ms: i64) -> Option<Duration> {
        if !self.live(f, now_ms) {
            return None;
        }
        let wait = i64::try_from(self.wait_after(f.count).as_millis()).unwrap_or(i64::MAX);
        let until = f.last_ms.saturating_add(wait);
        (now_ms < until).then(|| Duration::from_millis((until - now_ms).unsigned_abs()))
    }

    /// `Err(wait)` while `key` must wait; otherwise the attempt is counted as a failure until
    /// [`FailureLimiter::succeeded`] or [`FailureLimiter::reset`] takes it back.
    pub fn attempt(&self, key: &str, now_ms: i64) -> Result<(), Duration> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(wait) = entries.get(key).and_then(|f| self.pending_wait(f, now_ms)) {
            return Err(wait);
        }
        if entries.len() > SWEEP_ABOVE {
            entries.retain(|_, f| self.live(f, now_ms));
        }
        let entry = entries.entry(key.to_owned()).or_insert(Failures {
            count: 0,
            last_ms: now_ms,
        });
        if !self.live(entry, now_ms) {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last_ms = now_ms;
        Ok(())
    }

    /// `Err(wait)` while `key` must wait, without counting anything.
    pub fn check(&self, key: &str, now_ms: i64) -> Result<(), Duration> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key).and_then(|f| self.pending_wait(f, now_ms)) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Takes back the failure counted by the last [`FailureLimiter::attempt`] of `key`.
    pub fn succeeded(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = entries.get_mut(key) {
            f.count = f.count.saturating_sub(1);
            if f.count == 0 {
                entries.remove(key);
            }
        }
    }

    /// Forgets every failure of `key`.
    pub fn reset(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(key);
    }
}

/// One GCRA limiter per API key, each with the key's own quota.
#[derive(Default)]
pub struct KeyLimiter {
    limiters: Mutex<HashMap<String, (u32, std::sync::Arc<DefaultDirectRateLimiter>)>>,
}

impl KeyLimiter {
    /// `Err(wait)` when the key has used up its requests per minute.
    pub fn check(&self, key_id: &str, per_minute: u32) -> Result<(), Duration> {
        let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let limiter = {
            let mut map = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
            let entry = map.entry(key_id.to_owned()).or_insert_with(|| {
                (
                    per_minute.get(),
                    std::sync::Arc::new(RateLimiter::direct(Quota::per_minute(per_minute))),
                )
            });
            if entry.0 != per_minute.get() {
                *entry = (
                    per_minute.get(),
                    std::sync::Arc::new(RateLimiter::direct(Quota::per_minute(per_minute))),
                );
            }
            entry.1.clone()
        };
        limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_the_cap_and_then_forgets() {
        let l = FailureLimiter::new(3, Duration::from_secs(60));
        let s = |secs: i64| secs * 1000;
        for _ in 0..3 {
            assert!(l.attempt("u", 0).is_ok());
        }
        assert_eq!(l.attempt("u", 0), Err(Duration::from_secs(5)));
        assert_eq!(l.check("u", s(2)), Err(Duration::from_secs(3)));
        assert!(l.check("v", 0).is_ok(), "other keys are unaffected");
        // Each further failure doubles the wait: 10 s, 20 s, 40 s, then the cap of 60 s.
        let mut t = s(5);
        for expected in [10, 20, 40, 60, 60] {
            assert!(l.attempt("u", t).is_ok());
            assert_eq!(l.check("u", t), Err(Duration::from_secs(expected)));
            t += s(expected as i64);
        }
        // Refused attempts count nothing.
        assert!(l.attempt("u", t - 1).is_err());
        assert_eq!(l.check("u", t - 1000), Err(Duration::from_secs(1)));
        // Two minutes without failures: forgotten, free failures again.
        t += s(120);
        for _ in 0..3 {
            assert!(l.attempt("u", t).is_ok());
        }
        assert!(l.attempt("u", t).is_err());
        l.reset("u");
        assert!(l.check("u", t).is_ok());
    }

    #[test]
    fn a_success_takes_its_attempt_back() {
        let l = FailureLimiter::new(2, Duration::from_secs(60));
        assert!(l.attempt("a", 0).is_ok());
        l.succeeded("a");
        assert!(l.attempt("a", 0).is_ok());
        assert!(l.attempt("a", 0).is_ok());
        assert!(l.attempt("a", 0).is_err());
        l.succeeded("a");
        assert!(l.attempt("a", 0).is_ok(), "one failure taken back");
        assert_eq!(l.wait_after(0), Duration::ZERO);
        assert_eq!(l.wait_after(2), BACKOFF_UNIT);
        assert_eq!(l.wait_after(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn keys_get_their_own_quota() {
        let l = KeyLimiter::default();
        for _ in 0..5 {
            assert!(l.check("k", 5).is_ok());
        }
        assert!(l.check("k", 5).is_err());
        assert!(l.check("other", 5).is_ok());
    }
}
