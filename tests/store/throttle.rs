//! The throttles kept in the database: back-off and requests per minute, and that racing
//! threads on their own connections get exactly the allowed number between them.

use std::sync::{Arc, Barrier};

use jiekun_store::throttle::{self, Backoff};

use crate::common::TestDb;

const BACKOFF: Backoff = Backoff {
    free: 3,
    unit_ms: 5_000,
    max_wait_ms: 60_000,
};

const S: i64 = 1_000;

fn back_off_doubles_up_to_the_cap_and_then_forgets(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let t0 = 1_800_000_000_000;
    for _ in 0..3 {
        assert_eq!(throttle::attempt(&mut c, "u", t0, &BACKOFF).unwrap(), None);
    }
    assert_eq!(
        throttle::attempt(&mut c, "u", t0, &BACKOFF).unwrap(),
        Some(5 * S)
    );
    assert_eq!(
        throttle::check(&mut c, "u", t0 + 2 * S, &BACKOFF).unwrap(),
        Some(3 * S)
    );
    assert_eq!(throttle::check(&mut c, "v", t0, &BACKOFF).unwrap(), None);
    // Each further failure doubles the wait: 10 s, 20 s, 40 s, then the cap of 60 s.
    let mut t = t0 + 5 * S;
    for expected in [10, 20, 40, 60, 60] {
        assert_eq!(throttle::attempt(&mut c, "u", t, &BACKOFF).unwrap(), None);
        assert_eq!(
            throttle::check(&mut c, "u", t, &BACKOFF).unwrap(),
            Some(expected * S)
        );
        t += expected * S;
    }
    // Refused attempts count nothing.
    assert_eq!(
        throttle::attempt(&mut c, "u", t - 1, &BACKOFF).unwrap(),
        Some(1)
    );
    assert_eq!(
        throttle::check(&mut c, "u", t - S, &BACKOFF).unwrap(),
        Some(S)
    );
    // Two minutes without failures: forgotten, free failures again.
    t += 120 * S;
    for _ in 0..3 {
        assert_eq!(throttle::attempt(&mut c, "u", t, &BACKOFF).unwrap(), None);
    }
    assert!(throttle::attempt(&mut c, "u", t, &BACKOFF)
        .unwrap()
        .is_some());
    throttle::reset(&mut c, "u").unwrap();
    assert_eq!(throttle::check(&mut c, "u", t, &BACKOFF).unwrap(), None);
}

fn a_success_takes_its_attempt_back(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let b = Backoff { free: 2, ..BACKOFF };
    let t = 1_800_000_000_000;
    assert_eq!(throttle::attempt(&mut c, "a", t, &b).unwrap(), None);
    throttle::succeeded(&mut c, "a").unwrap();
    assert_eq!(throttle::attempt(&mut c, "a", t, &b).unwrap(), None);
    assert_eq!(throttle::attempt(&mut c, "a", t, &b).unwrap(), None);
    assert!(throttle::attempt(&mut c, "a", t, &b).unwrap().is_some());
    throttle::succeeded(&mut c, "a").unwrap();
    assert_eq!(
        throttle::attempt(&mut c, "a", t, &b).unwrap(),
        None,
        "one failure taken back"
    );
}

fn requests_per_minute_slide(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let minute = 30_000_000 * 60_000;
    for _ in 0..5 {
        assert_eq!(
            throttle::request(&mut c, "k", minute + 1_000, 5).unwrap(),
            None
        );
    }
    assert_eq!(
        throttle::request(&mut c, "k", minute + 2_000, 5).unwrap(),
        Some(58_000 + 12_000),
        "the next minute, until a fifth of it has passed"
    );
    assert_eq!(throttle::request(&mut c, "other", minute, 5).unwrap(), None);
    // Halfway into the next minute the previous five weigh 2.5: two more fit, not three.
    let half = minute + 90_000;
    assert_eq!(throttle::request(&mut c, "k", half, 5).unwrap(), None);
    assert_eq!(throttle::request(&mut c, "k", half, 5).unwrap(), None);
    assert!(throttle::request(&mut c, "k", half, 5).unwrap().is_some());
    // Two quiet minutes later the key has its whole quota again.
    let later = minute + 240_000;
    for _ in 0..5 {
        assert_eq!(throttle::request(&mut c, "k", later, 5).unwrap(), None);
    }
    assert!(throttle::request(&mut c, "k", later, 5).unwrap().is_some());
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

/// Runs `per_thread` calls of `f` on each of `threads` threads at once, each thread on its own
/// connection; returns how many were let through.
fn race(
    db: &TestDb,
    threads: usize,
    per_thread: usize,
    f: impl Fn(&mut jiekun_store::DbConnection) -> bool + Send + Sync + 'static,
) -> usize {
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (pool, f, barrier) = (db.pool.clone(), f.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut c = pool.get().unwrap();
                barrier.wait();
                (0..per_thread).filter(|_| f(&mut c)).count()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

fn racing_attempts_get_exactly_the_free_ones(db: &TestDb) {
    let t = 1_800_000_000_000;
    let let_through = race(db, 4, 10, move |c| {
        throttle::attempt(c, "raced", t, &BACKOFF)
            .unwrap()
            .is_none()
    });
    assert_eq!(let_through, 3, "three free failures and no more");
    let mut c = db.pool.get().unwrap();
    assert_eq!(
        throttle::check(&mut c, "raced", t, &BACKOFF).unwrap(),
        Some(5 * S)
    );
}

fn racing_requests_get_exactly_the_limit(db: &TestDb) {
    let t = 30_000_000 * 60_000 + 10_000;
    let let_through = race(db, 4, 15, move |c| {
        throttle::request(c, "raced-key", t, 25).unwrap().is_none()
    });
    assert_eq!(let_through, 25);
}

crate::on_both_backends!(TestDb:
    back_off_doubles_up_to_the_cap_and_then_forgets,
    a_success_takes_its_attempt_back,
    requests_per_minute_slide,
    expired_rows_are_swept,
    racing_attempts_get_exactly_the_free_ones,
    racing_requests_get_exactly_the_limit,
);
