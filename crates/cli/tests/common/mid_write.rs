//! Catching a process in the middle of a write transaction, to kill it there.
//!
//! - **PostgreSQL.** The test takes the audit chain's head row (`SELECT … FOR UPDATE`) before the
//!   kill. Every write transaction appends its audit event last, so the writers block there with
//!   everything else written and not committed. [`hold`] waits until a backend of the process
//!   under test (found by its `application_name`) waits on that lock inside a transaction that
//!   has an id; the test kills the process, then [`Held::release`] lets go. The dead client never
//!   sends `COMMIT`, so PostgreSQL rolls the transaction back.
//! - **SQLite.** Nothing can stop a writer half-way from outside: [`hold`] probes with
//!   `BEGIN IMMEDIATE` (no busy wait) until the write lock is taken by somebody else, which is the
//!   process under test in its write transaction, and returns at once for the kill.

use std::process::Child;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

/// The lock taken on PostgreSQL, released after the kill.
pub enum Held {
    Postgres(PgConnection),
    Nothing,
}

impl Held {
    pub fn release(self) {
        if let Held::Postgres(mut c) = self {
            c.batch_execute("ROLLBACK").expect("release the audit head");
        }
    }
}

/// `url` with the `application_name` the process under test's connections will carry
/// (PostgreSQL; SQLite URLs are returned as they are).
pub fn named(url: &str, app: &str) -> String {
    if url.starts_with("sqlite:") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={app}")
}

/// On PostgreSQL: takes the audit head row before the process writes (call [`hold`] after).
pub fn lock_head(url: &str) -> Held {
    if url.starts_with("sqlite:") {
        return Held::Nothing;
    }
    let mut c = PgConnection::establish(url).expect("connect");
    c.batch_execute("BEGIN; SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
        .expect("lock the audit head");
    Held::Postgres(c)
}

#[derive(QueryableByName)]
struct Waiting {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Returns once `child` is inside a write transaction (see the module's notes): on PostgreSQL
/// when one of its backends (`app`) waits on the held audit head with a transaction id, on
/// SQLite when the write lock is taken. Panics when `child` ends first or after 60 s.
pub fn wait_mid_write(url: &str, app: &str, held: &Held, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut sqlite = url
        .strip_prefix("sqlite://")
        .map(|path| SqliteConnection::establish(path).expect("open the database"));
    if let Some(c) = sqlite.as_mut() {
        c.batch_execute("PRAGMA busy_timeout = 0")
            .expect("busy timeout");
    }
    // pg_stat_activity is read once per transaction: watch from a connection of its own.
    let mut watch = match held {
        Held::Postgres(_) => Some(PgConnection::establish(url).expect("connect")),
        Held::Nothing => None,
    };
    loop {
        assert!(
            child.try_wait().expect("child").is_none(),
            "the process ended before it was caught writing"
        );
        assert!(Instant::now() < deadline, "no write transaction in 60 s");
        let caught = match (&mut sqlite, &mut watch) {
            (Some(c), _) => match c.batch_execute("BEGIN IMMEDIATE") {
                Ok(()) => {
                    c.batch_execute("ROLLBACK").expect("rollback");
                    false
                }
                Err(e) => {
                    assert!(e.to_string().contains("locked"), "{e}");
                    true
                }
            },
            (None, Some(c)) => {
                diesel::sql_query(
                    "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE application_name = $1 \
                     AND wait_event_type = 'Lock' AND backend_xid IS NOT NULL",
                )
                .bind::<Text, _>(app)
                .get_result::<Waiting>(c)
                .expect("pg_stat_activity")
                .n > 0
            }
            (None, None) => panic!("on PostgreSQL, lock_head first"),
        };
        if caught {
            return;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}
