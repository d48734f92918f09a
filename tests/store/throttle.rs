//! The throttles kept in the database, and the same in Redis: back-off and requests per minute,
//! and that racing threads on their own connections get exactly the allowed number between them.

use std::sync::Barrier;

use jiekun_store::throttle::redis::RedisThrottle;
use jiekun_store::throttle::{self, Backoff};
use jiekun_store::{Pool, StoreResult};

use crate::common::TestDb;

const BACKOFF: Backoff = Backoff {
    free: 3,
    unit_ms: 5_000,
    max_wait_ms: 60_000,
};

const S: i64 = 1_000;

/// Where the counts are kept: the same checks run against each.
trait Counts: Sync {
    fn attempt(&self, subject: &str, now_ms: i64, b: &Backoff) -> StoreResult<Option<i64>>;
    fn check(&self, subject: &str, now_ms: i64, b: &Backoff) -> StoreResult<Option<i64>>;
    fn succeeded(&self, subject: &str) -> StoreResult<()>;
    fn reset(&self, subject: &str) -> StoreResult<()>;
    fn request(&self, subject: &str, now_ms: i64, per_minute: u32) -> StoreResult<Option<i64>>;
}

/// The database, a connection from the pool for each call.
struct InDb(Pool);

impl Counts for InDb {
    fn attempt(&self, subject: &str, now_ms: i64, b: &Backoff) -> StoreResult<Option<i64>> {
        throttle::attempt(&mut *self.0.get()?, subject, now_ms, b)
    }
    fn check(&self, subject: &str, now_ms: i64, b: &Backoff) -> StoreResult<Option<i64>> {
        throttle::check(&mut *self.0.get()?, subject, now_ms, b)
    }
    fn succeeded(&self, subject: &str) -> StoreResult<()> {
        throttle::succeeded(&mut *self.0.get()?, subject)
    }
    fn reset(&self, subject: &str) -> StoreResult<()> {
        throttle::reset(&mut *self.0.get()?, subject)
    }
    fn request(&self, subject: &str, now_ms: i64, per_minute: u32) -> StoreResult<Option<i64>> {
        throttle::request(&mut *self.0.get()?, subject, now_ms, per_minute)
    }
}

impl Counts for RedisThrottle {
    fn attempt(&self, subject: &str, now_ms: i64, b: &Backoff) -> StoreResult<Option<i64>> {
        RedisThrottle::attempt(self, subject, now_ms, b)
    }
    fn check(&self, subject: &str, now_ms: i64, b: &Backoff) -> StoreResult<Option<i64>> {
        RedisThrottle::check(self, subject, now_ms, b)
    }
    fn succeeded(&self, subject: &str) -> StoreResult<()> {
        RedisThrottle::succeeded(self, subject)
    }
    fn reset(&self, subject: &str) -> StoreResult<()> {
        RedisThrottle::reset(self, subject)
    }
    fn request(&self, subject: &str, now_ms: i64, per_minute: u32) -> StoreResult<Option<i64>> {
        RedisThrottle::request(self, subject, now_ms, per_minute)
    }
}

/// A Redis under a prefix of this test's own, or `None` (the test skipped, loudly) when it does
/// not answer — under `CI=true` that fails instead.
fn redis() -> Option<RedisThrottle> {
    let url = std::env::var("JIEKUN_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned());
    let prefix = format!("jiekun-test:{}:", uuid::Uuid::new_v4().simple());
    match RedisThrottle::connect(&url, &prefix) {
        Ok(r) => Some(r),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("Redis is required under CI=true but {url} does not answer: {e}")
        }
        Err(e) => {
            eprintln!("\n!!! SKIPPED: Redis test — {url} does not answer ({e}). Set JIEKUN_TEST_REDIS_URL.\n");
            None
        }
    }
}

fn back_off_doubles_up_to_the_cap_and_then_forgets(c: &dyn Counts) {
    let t0 = 1_800_000_000_000;
    for _ in 0..3 {
        assert_eq!(c.attempt("u", t0, &BACKOFF).unwrap(), None);
    }
    assert_eq!(c.attempt("u", t0, &BACKOFF).unwrap(), Some(5 * S));
    assert_eq!(c.check("u", t0 + 2 * S, &BACKOFF).unwrap(), Some(3 * S));
    assert_eq!(c.check("v", t0, &BACKOFF).unwrap(), None);
    // Each further failure doubles the wait: 10 s, 20 s, 40 s, then the cap of 60 s.
    let mut t = t0 + 5 * S;
    for expected in [10, 20, 40, 60, 60] {
        assert_eq!(c.attempt("u", t, &BACKOFF).unwrap(), None);
        assert_eq!(c.check("u", t, &BACKOFF).unwrap(), Some(expected * S));
        t += expected * S;
    }
    // Refused attempts count nothing.
    assert_eq!(c.attempt("u", t - 1, &BACKOFF).unwrap(), Some(1));
    assert_eq!(c.check("u", t - S, &BACKOFF).unwrap(), Some(S));
    // Two minutes without failures: forgotten, free failures again.
    t += 120 * S;
    for _ in 0..3 {
        assert_eq!(c.attempt("u", t, &BACKOFF).unwrap(), None);
    }
    assert!(c.attempt("u", t, &BACKOFF).unwrap().is_some());
    c.reset("u").unwrap();
    assert_eq!(c.check("u", t, &BACKOFF).unwrap(), None);
}

fn a_success_takes_its_attempt_back(c: &dyn Counts) {
    let b = Backoff { free: 2, ..BACKOFF };
    let t = 1_800_000_000_000;
    assert_eq!(c.attempt("a", t, &b).unwrap(), None);
    c.succeeded("a").unwrap();
    assert_eq!(c.attempt("a", t, &b).unwrap(), None);
    assert_eq!(c.attempt("a", t, &b).unwrap(), None);
    assert!(c.attempt("a", t, &b).unwrap().is_some());
    c.succeeded("a").unwrap();
    assert_eq!(
        c.attempt("a", t, &b).unwrap(),
        None,
        "one failure taken back"
    );
}

fn requests_per_minute_slide(c: &dyn Counts) {
    let minute = 30_000_000 * 60_000;
    for _ in 0..5 {
        assert_eq!(c.request("k", minute + 1_000, 5).unwrap(), None);
    }
    assert_eq!(
        c.request("k", minute + 2_000, 5).unwrap(),
        Some(58_000 + 12_000),
        "the next minute, until a fifth of it has passed"
    );
    assert_eq!(c.request("other", minute, 5).unwrap(), None);
    // Halfway into the next minute the previous five weigh 2.5: two more fit, not three.
    let half = minute + 90_000;
    assert_eq!(c.request("k", half, 5).unwrap(), None);
    assert_eq!(c.request("k", half, 5).unwrap(), None);
    assert!(c.request("k", half, 5).unwrap().is_some());
    // Two quiet minutes later the key has its whole quota again.
    let later = minute + 240_000;
    for _ in 0..5 {
        assert_eq!(c.request("k", later, 5).unwrap(), None);
    }
    assert!(c.request("k", later, 5).unwrap().is_some());
}

fn expired_rows_are_swept(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let t = 1_800_000_000_000;
    throttle::attempt(&mut c, "old", t, &BACKOFF).unwrap();
    throttle::request(&mut c, "old-key", t, 5).unwrap();
    throttle::attempt(&mut c, "new", t + 200 * S, &BACKOFF).unwrap();
    assert_eq!(throttle::sweep_failures(&mut c, t + 200 * S).unwrap(), 1);
    assert_eq!(throttle::sweep_requests(&mut c, t + 200 * S).unwrap(), 1);
    assert_eq!(throttle::sweep_failures(&mut c, t + 200 * S).unwrap(), 0);
    assert!(throttle::check(&mut c, "new", t + 200 * S, &BACKOFF)
        .unwrap()
        .is_none());
}

/// Runs `per_thread` calls of `f` on each of `threads` threads at once (each call on a
/// connection of its own); returns how many were let through.
fn race(
    c: &dyn Counts,
    threads: usize,
    per_thread: usize,
    f: impl Fn(&dyn Counts) -> bool + Sync,
) -> usize {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    (0..per_thread).filter(|_| f(c)).count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

fn racing_attempts_get_exactly_the_free_ones(c: &dyn Counts) {
    let t = 1_800_000_000_000;
    let let_through = race(c, 4, 10, move |c| {
        c.attempt("raced", t, &BACKOFF).unwrap().is_none()
    });
    assert_eq!(let_through, 3, "three free failures and no more");
    assert_eq!(c.check("raced", t, &BACKOFF).unwrap(), Some(5 * S));
}

fn racing_requests_get_exactly_the_limit(c: &dyn Counts) {
    let t = 30_000_000 * 60_000 + 10_000;
    let let_through = race(c, 4, 15, move |c| {
        c.request("raced-key", t, 25).unwrap().is_none()
    });
    assert_eq!(let_through, 25);
}

/// The checks every place the counts are kept must pass.
macro_rules! counted_in_each {
    ($($name:ident),* $(,)?) => {
        /// In the database, on both backends.
        mod in_database {
            $(
                fn $name(db: &crate::common::TestDb) {
                    super::$name(&super::InDb(db.pool.clone()));
                }
            )*
            crate::on_both_backends!(TestDb: $($name),*);
            use crate::common::TestDb;
        }
        /// In Redis.
        mod in_redis {
            $(
                #[test]
                fn $name() {
                    if let Some(r) = super::redis() {
                        super::$name(&r);
                    }
                }
            )*
        }
    };
}

counted_in_each!(
    back_off_doubles_up_to_the_cap_and_then_forgets,
    a_success_takes_its_attempt_back,
    requests_per_minute_slide,
    racing_attempts_get_exactly_the_free_ones,
    racing_requests_get_exactly_the_limit,
);

crate::on_both_backends!(TestDb: expired_rows_are_swept);
