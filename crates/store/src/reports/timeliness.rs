//! Timeliness: how long cases spent in each workflow step, from the timeline.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Nullable, Text, Timestamp};

use super::{at_scope, local_date_sql, with_scope, AS_OF};
use crate::conn::DbConnection;
use crate::{Scope, StoreResult};

/// A step of a filing application or an exit case: the state it entered, and when.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct StepAt {
    #[diesel(sql_type = Text)]
    pub subject_kind: String,
    #[diesel(sql_type = Text)]
    pub subject_id: String,
    #[diesel(sql_type = Text)]
    pub to_state: String,
    #[diesel(sql_type = Timestamp)]
    pub at: NaiveDateTime,
}

/// The steps taken by `as_of` on the filing applications and exit cases of the households in
/// `scope` (as it stood then), by case and then in the order they were taken.
pub fn steps_at(
    conn: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
) -> StoreResult<Vec<StepAt>> {
    let scoped = at_scope("e.household_id");
    let sql = format!(
        "SELECT e.subject_kind, e.subject_id, e.to_state, e.at \
         FROM workflow_events e {scoped}\
         WHERE e.at <= $1 AND e.subject_kind IN ('application', 'exit_case') \
           AND e.to_state IS NOT NULL \
         ORDER BY e.subject_kind, e.subject_id, e.at, e.id"
    );
    Ok(with_scope(sql, as_of, scope).load(conn)?)
}

/// A public notice as published: for which kind of case, where, and the period it ran for.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct NoticeAt {
    #[diesel(sql_type = Text)]
    pub subject_kind: String,
    #[diesel(sql_type = Text)]
    pub region_code: String,
    #[diesel(sql_type = Date)]
    pub starts_on: NaiveDate,
    #[diesel(sql_type = Date)]
    pub ends_on: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub days: i64,
    #[diesel(sql_type = Bool)]
    pub working_days: bool,
}

/// The notices published by `as_of` (whatever became of them) for households in `scope` as it
/// stood then.
pub fn notices_at(
    conn: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
) -> StoreResult<Vec<NoticeAt>> {
    let scoped = at_scope("n.household_id");
    let sql = format!(
        "SELECT n.subject_kind, n.region_code, n.starts_on, n.ends_on, n.days, n.working_days \
         FROM public_notices n {scoped}\
         WHERE n.created_at <= $1 \
         ORDER BY n.starts_on, n.id"
    );
    Ok(with_scope(sql, as_of, scope).load(conn)?)
}

/// Households filed at a moment that count their next annual review from the same days: the
/// day (China Standard Time) of their last filing and of their last annual review by then, and
/// the next due date that review set; with how many households share them, so that a million
/// files come back as a few thousand rows.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct ReviewDue {
    #[diesel(sql_type = Text)]
    pub region_code: String,
    #[diesel(sql_type = Nullable<Date>)]
    pub filed_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    pub reviewed_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    pub next_due: Option<NaiveDate>,
    #[diesel(sql_type = BigInt)]
    pub households: i64,
}

/// The households in `scope` filed at `as_of` (as the register stood then), grouped by what
/// their next review counts from. A household filed without a filing step on the timeline (one
/// loaded in bulk) counts from the filing day of its record, when that is not after `as_of`.
pub fn reviews_due_at(
    conn: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
) -> StoreResult<Vec<ReviewDue>> {
    let (filed_on, reviewed_on) = (
        local_date_sql(conn, "g.at"),
        local_date_sql(conn, "r.created_at"),
    );
    let sql = format!(
        "{AS_OF}, \
         filings AS (SELECT household_id, MAX(at) AS at FROM workflow_events \
           WHERE to_state = 'filed' AND subject_kind = 'application' AND at <= $1 \
           GROUP BY household_id), \
         reviews AS (SELECT x.household_id, x.created_at, x.next_due FROM annual_reviews x \
           WHERE x.created_at <= $1 AND NOT EXISTS (SELECT 1 FROM annual_reviews y \
             WHERE y.household_id = x.household_id AND y.created_at <= $1 \
               AND (y.created_at > x.created_at OR (y.created_at = x.created_at AND y.id > x.id)))) \
         SELECT f.region_code, \
           COALESCE({filed_on}, CASE WHEN lc.filed_on <= $4 THEN lc.filed_on END) AS filed_on, \
           {reviewed_on} AS reviewed_on, r.next_due, COUNT(*) AS households \
         FROM asof f \
         LEFT JOIN filings g ON g.household_id = f.household_id \
         LEFT JOIN reviews r ON r.household_id = f.household_id \
         LEFT JOIN household_lifecycle lc ON lc.household_id = f.household_id \
         WHERE f.status = 'filed' \
         GROUP BY f.region_code, \
           COALESCE({filed_on}, CASE WHEN lc.filed_on <= $4 THEN lc.filed_on END), \
           {reviewed_on}, r.next_due"
    );
    let today = (as_of + chrono::TimeDelta::hours(8)).date();
    Ok(with_scope(sql, as_of, scope)
        .bind::<Date, _>(today)
        .load(conn)?)
}

/// The annual reviews recorded by `as_of` for households in `scope` as it stood then.
pub fn reviews_done(
    conn: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
) -> StoreResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let scoped = at_scope("v.household_id");
    let sql =
        format!("SELECT COUNT(*) AS n FROM annual_reviews v {scoped}WHERE v.created_at <= $1");
    Ok(with_scope(sql, as_of, scope).get_result::<Count>(conn)?.n)
}
