//! Throttles kept in the database, so that every server process on it counts together: failed
//! attempts with exponential back-off, and requests per minute. Each check-and-count is one
//! `INSERT … ON CONFLICT … DO UPDATE … RETURNING` statement, atomic on SQLite and PostgreSQL
//! alike however many processes and threads race on the same subject.
//!
//! Times are milliseconds since 1970 passed in by the caller (the servers' clocks); rows whose
//! `expires_ms` has passed mean nothing any more and [`sweep_failures`] / [`sweep_requests`]
//! delete them. [`redis`] keeps the same throttles in Redis instead.

pub mod redis;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::schema::{throttle_failures as tf, throttle_requests as tr};
use crate::{DbConnection, StoreResult};

/// How failed attempts slow down the next ones: the first `free` failures cost nothing; after
/// that the next attempt must wait `unit_ms` × 2^k after the last failure (k = failures beyond
/// the free ones, from 0), never more than `max_wait_ms`. A subject with no failure for twice
/// `max_wait_ms` is forgotten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub free: u32,
    pub unit_ms: i64,
    pub max_wait_ms: i64,
}

impl Backoff {
    /// Milliseconds the next attempt waits after `failures` failures.
    pub fn wait_after(&self, failures: i64) -> i64 {
        let beyond = failures - i64::from(self.free);
        if beyond < 0 {
            return 0;
        }
        if beyond >= 30 {
            return self.max_wait_ms;
        }
        self.unit_ms
            .saturating_mul(1 << beyond)
            .min(self.max_wait_ms)
    }

    /// After this long without a failure, a subject is forgotten.
    pub fn forget_after_ms(&self) -> i64 {
        self.max_wait_ms.saturating_mul(2)
    }
}

#[derive(QueryableByName)]
struct AttemptRow {
    #[diesel(sql_type = BigInt)]
    failures: i64,
    #[diesel(sql_type = BigInt)]
    last_ms: i64,
    #[diesel(sql_type = BigInt)]
    refused: i64,
}

/// The wait after `throttle_failures.failures` failures, in SQL (`<<` works on both backends).
const WAIT: &str = "(CASE WHEN throttle_failures.failures < $3 THEN 0 \
     WHEN throttle_failures.failures - $3 >= 30 THEN $5 \
     WHEN ($4 << CAST(throttle_failures.failures - $3 AS INTEGER)) > $5 THEN $5 \
     ELSE ($4 << CAST(throttle_failures.failures - $3 AS INTEGER)) END)";

/// Parameters: $1 subject, $2 now, $3 free, $4 unit, $5 max wait, $6 forget after.
fn attempt_sql() -> String {
    let live = "($2 - throttle_failures.last_ms < $6)";
    let refused = format!("({live} AND $2 < throttle_failures.last_ms + {WAIT})");
    format!(
        "INSERT INTO throttle_failures (subject, failures, last_ms, refused, expires_ms) \
         VALUES ($1, 1, $2, 0, $2 + $6) \
         ON CONFLICT (subject) DO UPDATE SET \
         failures = CASE WHEN {refused} THEN throttle_failures.failures \
             WHEN {live} THEN throttle_failures.failures + 1 ELSE 1 END, \
         last_ms = CASE WHEN {refused} THEN throttle_failures.last_ms ELSE $2 END, \
         expires_ms = CASE WHEN {refused} THEN throttle_failures.expires_ms ELSE $2 + $6 END, \
         refused = CASE WHEN {refused} THEN 1 ELSE 0 END \
         RETURNING failures, last_ms, refused"
    )
}

/// SQLite numbers its parameters `?N`, PostgreSQL `$N`.
fn for_backend(conn: &DbConnection, sql: &str) -> String {
    match conn {
        DbConnection::Sqlite(_) => sql.replace('$', "?"),
        DbConnection::Postgres(_) => sql.to_owned(),
    }
}

/// Starts an attempt of `subject`: `Some(wait_ms)` while it must wait (nothing counted);
/// otherwise `None`, and the attempt is counted as a failure until [`succeeded`] or [`reset`]
/// takes it back — so that attempts racing each other see each other.
pub fn attempt(
    conn: &mut DbConnection,
    subject: &str,
    now_ms: i64,
    backoff: &Backoff,
) -> StoreResult<Option<i64>> {
    let sql = for_backend(conn, &attempt_sql());
    let row: AttemptRow = diesel::sql_query(sql)
        .bind::<Text, _>(subject)
        .bind::<BigInt, _>(now_ms)
        .bind::<BigInt, _>(i64::from(backoff.free))
        .bind::<BigInt, _>(backoff.unit_ms)
        .bind::<BigInt, _>(backoff.max_wait_ms)
        .bind::<BigInt, _>(backoff.forget_after_ms())
        .get_result(conn)?;
    if row.refused == 0 {
        return Ok(None);
    }
    let until = row.last_ms.saturating_add(backoff.wait_after(row.failures));
    Ok(Some((until - now_ms).max(1)))
}

/// `Some(wait_ms)` while `subject` must wait, without counting anything.
pub fn check(
    conn: &mut DbConnection,
    subject: &str,
    now_ms: i64,
    backoff: &Backoff,
) -> StoreResult<Option<i64>> {
    let found: Option<(i64, i64)> = tf::table
        .filter(tf::subject.eq(subject))
        .select((tf::failures, tf::last_ms))
        .first(conn)
        .optional()?;
    Ok(found.and_then(|(failures, last_ms)| {
        let live = now_ms.saturating_sub(last_ms) < backoff.forget_after_ms();
        let until = last_ms.saturating_add(backoff.wait_after(failures));
        (live && now_ms < until).then_some(until - now_ms)
    }))
}

/// Takes back the failure counted by the last [`attempt`] of `subject`.
pub fn succeeded(conn: &mut DbConnection, subject: &str) -> StoreResult<()> {
    diesel::update(tf::table.filter(tf::subject.eq(subject).and(tf::failures.gt(0))))
        .set(tf::failures.eq(tf::failures - 1))
        .execute(conn)?;
    Ok(())
}

/// Forgets every failure of `subject`.
pub fn reset(conn: &mut DbConnection, subject: &str) -> StoreResult<()> {
    diesel::delete(tf::table.filter(tf::subject.eq(subject))).execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct RequestRow {
    #[diesel(sql_type = BigInt)]
    hits: i64,
    #[diesel(sql_type = BigInt)]
    previous_hits: i64,
    #[diesel(sql_type = BigInt)]
    refused: i64,
}

const MINUTE_MS: i64 = 60_000;

/// Parameters: $1 subject, $2 this minute, $3 ms into it, $4 limit, $5 expiry.
fn request_sql() -> String {
    let previous = "(CASE WHEN throttle_requests.window_minute = $2 \
         THEN throttle_requests.previous_hits \
         WHEN throttle_requests.window_minute = $2 - 1 THEN throttle_requests.hits ELSE 0 END)";
    let current =
        "(CASE WHEN throttle_requests.window_minute = $2 THEN throttle_requests.hits ELSE 0 END)";
    // The previous minute weighs what is left of it in the sliding minute that ends now.
    let refused = format!("({previous} * (60000 - $3) + ({current} + 1) * 60000 > $4 * 60000)");
    format!(
        "INSERT INTO throttle_requests \
         (subject, window_minute, hits, previous_hits, refused, expires_ms) \
         VALUES ($1, $2, 1, 0, 0, $5) \
         ON CONFLICT (subject) DO UPDATE SET \
         hits = CASE WHEN {refused} THEN {current} ELSE {current} + 1 END, \
         previous_hits = {previous}, \
         refused = CASE WHEN {refused} THEN 1 ELSE 0 END, \
         window_minute = $2, \
         expires_ms = $5 \
         RETURNING hits, previous_hits, refused"
    )
}

/// Counts one request of `subject` against `per_minute` requests in any sliding minute (the
/// previous fixed minute weighted by how much of it the sliding minute still covers): `None`
/// when it may go ahead, or `Some(wait_ms)` when it is refused (refusals count nothing).
pub fn request(
    conn: &mut DbConnection,
    subject: &str,
    now_ms: i64,
    per_minute: u32,
) -> StoreResult<Option<i64>> {
    let limit = i64::from(per_minute.max(1));
    let minute = now_ms.div_euclid(MINUTE_MS);
    let into = now_ms.rem_euclid(MINUTE_MS);
    let sql = for_backend(conn, &request_sql());
    let row: RequestRow = diesel::sql_query(sql)
        .bind::<Text, _>(subject)
        .bind::<BigInt, _>(minute)
        .bind::<BigInt, _>(into)
        .bind::<BigInt, _>(limit)
        .bind::<BigInt, _>((minute + 2) * MINUTE_MS)
        .get_result(conn)?;
    if row.refused == 0 {
        return Ok(None);
    }
    Ok(Some(request_wait(row.previous_hits, row.hits, into, limit)))
}

/// How long until one more request fits: within this minute once enough of the previous one
/// has slid out, or else into the next.
fn request_wait(previous: i64, current: i64, into: i64, limit: i64) -> i64 {
    // previous × (60000 − t) + (current + 1) × 60000 ≤ limit × 60000, solved for t.
    let room = (limit - current - 1) * MINUTE_MS;
    if room >= 0 && previous > 0 {
        let t = MINUTE_MS - room / previous;
        return (t - into).max(1);
    }
    // Next minute, `current` becomes the previous one.
    let to_next = MINUTE_MS - into;
    let room = (limit - 1) * MINUTE_MS;
    let t = if current > 0 {
        (MINUTE_MS - room / current).max(0)
    } else {
        0
    };
    (to_next + t).max(1)
}

/// Deletes failure rows that mean nothing any more at `now_ms`; returns how many.
pub fn sweep_failures(conn: &mut DbConnection, now_ms: i64) -> StoreResult<usize> {
    Ok(diesel::delete(tf::table.filter(tf::expires_ms.lt(now_ms))).execute(conn)?)
}

/// Deletes request counts that mean nothing any more at `now_ms`; returns how many.
pub fn sweep_requests(conn: &mut DbConnection, now_ms: i64) -> StoreResult<usize> {
    Ok(diesel::delete(tr::table.filter(tr::expires_ms.lt(now_ms))).execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let b = Backoff {
            free: 3,
            unit_ms: 5000,
            max_wait_ms: 60_000,
        };
        assert_eq!(b.wait_after(2), 0);
        assert_eq!(b.wait_after(3), 5000);
        assert_eq!(b.wait_after(5), 20_000);
        assert_eq!(b.wait_after(7), 60_000);
        assert_eq!(b.wait_after(i64::MAX), 60_000);
    }

    #[test]
    fn request_waits_are_when_a_request_fits_again() {
        // 10 a minute, 10 used this minute: in the next minute these weigh 10 until a tenth of it
        // has passed.
        assert_eq!(request_wait(0, 10, 15_000, 10), 51_000);
        // 10 in the previous minute, 0 in this one, 0 ms in: the previous weighs 10; one
        // request fits once a tenth of the previous minute has slid out.
        assert_eq!(request_wait(10, 0, 0, 10), 6_000);
    }
}
