//! Throttles: failed sign-ins per user and per address, and requests per API key.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// Counts failures per key in a fixed window; past `max` failures the key is refused until the
/// window ends. Successes do not count.
pub struct FailureLimiter {
    max: u32,
    window: Duration,
    entries: Mutex<HashMap<String, (Instant, u32)>>,
}

impl FailureLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        FailureLimiter {
            max,
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` while `key` has used up its failures.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key) {
            Some(&(start, count)) if count >= self.max => {
                let elapsed = start.elapsed();
                if elapsed < self.window {
                    Err(self.window - elapsed)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    pub fn fail(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if entries.len() > 100_000 {
            let window = self.window;
            entries.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = entries.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    /// Forgets the failures of `key` (after a successful sign-in of that user).
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
    fn failures_block_until_the_window_ends() {
        let l = FailureLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(l.check("u").is_ok());
            l.fail("u");
        }
        let wait = l.check("u").unwrap_err();
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        assert!(l.check("v").is_ok(), "other keys are unaffected");
        l.reset("u");
        assert!(l.check("u").is_ok());
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
