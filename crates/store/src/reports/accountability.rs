//! Accountability (督查问效): what each lead unit was asked and what it did, as of a time, from
//! the referrals' timeline and the verification tasks.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text, Timestamp};

use super::{at_scope, with_scope};
use crate::conn::DbConnection;
use crate::{Scope, StoreResult};

/// A referral as it stood at a time.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct ReferralAt {
    #[diesel(sql_type = Text)]
    pub department_code: String,
    #[diesel(sql_type = Timestamp)]
    pub created_at: NaiveDateTime,
    #[diesel(sql_type = Date)]
    pub due_on: NaiveDate,
    /// The state its timeline had reached (`None`: still as sent, `open`).
    #[diesel(sql_type = Nullable<Text>)]
    pub state: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub delivered_at: Option<NaiveDateTime>,
}

/// A verification task as it stood at a time.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct TaskAt {
    #[diesel(sql_type = Text)]
    pub department_code: String,
    #[diesel(sql_type = Date)]
    pub due_on: NaiveDate,
    /// When it was answered, if it was by then.
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub answered_at: Option<NaiveDateTime>,
}

/// The referrals sent by `as_of` for households in `scope` (as it stood then), each with the
/// state its timeline had reached and when it was delivered.
pub fn referrals_at(
    conn: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
) -> StoreResult<Vec<ReferralAt>> {
    let scoped = at_scope("r.household_id");
    let sql = format!(
        "SELECT r.department_code, r.created_at, r.due_on, \
           (SELECT e.to_state FROM workflow_events e WHERE e.subject_id = r.id \
              AND e.subject_kind = 'referral' AND e.at <= $1 \
              ORDER BY e.at DESC, e.id DESC LIMIT 1) AS state, \
           (SELECT MIN(e.at) FROM workflow_events e WHERE e.subject_id = r.id \
              AND e.subject_kind = 'referral' AND e.to_state = 'delivered' AND e.at <= $1) \
              AS delivered_at \
         FROM referrals r {scoped}\
         WHERE r.created_at <= $1 \
         ORDER BY r.department_code, r.id"
    );
    Ok(with_scope(sql, as_of, scope).load(conn)?)
}

/// The verification tasks made by `as_of` for households in `scope` (as it stood then), with
/// their answer time when they were answered by then.
pub fn tasks_at(
    conn: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
) -> StoreResult<Vec<TaskAt>> {
    let scoped = at_scope("t.household_id");
    let sql = format!(
        "SELECT t.department_code, t.due_on, \
           CASE WHEN t.answered_at <= $1 THEN t.answered_at END AS answered_at \
         FROM verification_tasks t {scoped}\
         WHERE t.created_at <= $1 \
         ORDER BY t.department_code, t.id"
    );
    Ok(with_scope(sql, as_of, scope).load(conn)?)
}

/// A dual-contact assignment (《实施方案》三(七)14) standing on a day, with its visits by then.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct ContactAt {
    #[diesel(sql_type = Text)]
    pub region_code: String,
    #[diesel(sql_type = Date)]
    pub valid_from: NaiveDate,
    /// Visits recorded by `as_of`, made on or before the day.
    #[diesel(sql_type = BigInt)]
    pub visits: i64,
    #[diesel(sql_type = Nullable<Date>)]
    pub last_visit: Option<NaiveDate>,
}

/// The dual-contact assignments in `scope` (by their own union and region) recorded by `as_of`
/// and valid on `day` (the day of `as_of`), with their visits.
pub fn contacts_at(
    conn: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
    day: NaiveDate,
) -> StoreResult<Vec<ContactAt>> {
    // SQLite numbers `$n` parameters in the order they first appear: $1 to $4 in that order.
    let visits = "FROM contact_visits v WHERE v.assignment_id = k.id AND v.created_at <= $1 \
        AND v.visited_on <= $4";
    let sql = format!(
        "WITH k AS (SELECT * FROM contact_assignments \
           WHERE created_at <= $1 \
             AND (CAST($2 AS TEXT) IS NULL OR organisation_path LIKE $2) \
             AND (CAST($3 AS TEXT) IS NULL OR region_code LIKE $3) \
             AND valid_from <= $4 AND (valid_until IS NULL OR valid_until >= $4)) \
         SELECT k.region_code, k.valid_from, (SELECT COUNT(*) {visits}) AS visits, \
           (SELECT MAX(v.visited_on) {visits}) AS last_visit \
         FROM k ORDER BY k.id"
    );
    Ok(with_scope(sql, as_of, scope)
        .bind::<Date, _>(day)
        .load(conn)?)
}
