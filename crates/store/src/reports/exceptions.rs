//! Exceptions: what needs an auditor's attention at a moment, counted by kind.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};

use super::{at_scope, with_scope};
use crate::conn::DbConnection;
use crate::{Scope, StoreResult};

/// How many exceptions of a kind stood at `as_of`, and in how many households.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct ExceptionRow {
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = BigInt)]
    pub items: i64,
    #[diesel(sql_type = BigInt)]
    pub households: i64,
}

/// The exceptions standing at `as_of` among the households in `scope` as it stood then:
/// - discrepancies flagged by then and not resolved by then;
/// - objections raised by then and not resolved by then;
/// - households filed at `as_of` whose last identification assessment made by then found them
///   not eligible;
/// - identity numbers held by members (added by then) of two or more households active at
///   `as_of` (a member removed since is not seen; the active-person index refuses such a
///   second file when it is made, so this is a check that it holds). Only numbers held in two
///   households at all are looked up, one by one, in the history, so the check costs one pass
///   over the identity index (which holds the household and the time, so the table is not
///   read); a join there let PostgreSQL join every member to the history first.
pub fn exceptions(
    conn: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
) -> StoreResult<Vec<ExceptionRow>> {
    let (d, n, m, s) = (
        at_scope("d.household_id"),
        at_scope("n.household_id"),
        at_scope("m.household_id"),
        at_scope("s.household_id"),
    );
    let sql = format!(
        "SELECT 'open_discrepancy' AS kind, COUNT(*) AS items, \
           COUNT(DISTINCT d.household_id) AS households \
         FROM discrepancies d {d}\
         WHERE d.created_at <= $1 AND (d.resolved_at IS NULL OR d.resolved_at > $1) \
         UNION ALL \
         SELECT 'open_objection', COUNT(*), COUNT(DISTINCT n.household_id) \
         FROM objections o JOIN public_notices n ON n.id = o.notice_id \
         {n}\
         WHERE o.created_at <= $1 AND (o.resolved_at IS NULL OR o.resolved_at > $1) \
         UNION ALL \
         SELECT 'no_longer_eligible', COUNT(*), COUNT(DISTINCT s.household_id) \
         FROM assessments s {s}\
         WHERE s.kind = 'identify' AND s.verdict = 'not_eligible' AND s.created_at <= $1 \
           AND a.status = 'filed' AND NOT EXISTS (SELECT 1 FROM assessments y \
             WHERE y.household_id = s.household_id AND y.kind = 'identify' AND y.created_at <= $1 \
               AND (y.created_at > s.created_at OR (y.created_at = s.created_at AND y.id > s.id))) \
         UNION ALL \
         SELECT 'person_in_two_files', COUNT(*), CAST(COALESCE(SUM(x.files), 0) AS BIGINT) FROM ( \
           SELECT (SELECT COUNT(DISTINCT m.household_id) FROM household_members m {m}\
               WHERE m.national_id_index = d.national_id_index AND m.created_at <= $1 \
                 AND a.status NOT IN ('closed', 'withdrawn', 'rejected')) AS files \
           FROM (SELECT national_id_index FROM household_members \
             WHERE created_at <= $1 GROUP BY national_id_index \
             HAVING MIN(household_id) <> MAX(household_id)) d) x \
         WHERE x.files > 1"
    );
    Ok(with_scope(sql, as_of, scope).load(conn)?)
}

/// One household's standing help (entries less reversals recorded by `as_of`) in one calendar
/// year under one measure, with where and when the last of it was delivered.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct YearSum {
    #[diesel(sql_type = Text)]
    pub household_id: String,
    #[diesel(sql_type = Text)]
    pub region_code: String,
    #[diesel(sql_type = BigInt)]
    pub year: i64,
    #[diesel(sql_type = BigInt)]
    pub measure_number: i64,
    #[diesel(sql_type = BigInt)]
    pub amount_fen: i64,
    #[diesel(sql_type = Date)]
    pub last_delivered_on: NaiveDate,
}

/// The yearly sums, by measure, of the household-years in `scope` (by the entries' own union
/// and region) where a measure's sum is above `measure_floor` or the year's total above
/// `total_floor`: the only ones that can break a cap when every cap is at least its floor.
pub fn year_sums_over(
    conn: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
    measure_floor: i64,
    total_floor: i64,
) -> StoreResult<Vec<YearSum>> {
    let sql = "WITH led AS ( \
           SELECT o.household_id, o.region_code, o.year, o.measure_number, r.amount_fen, \
             o.delivered_on FROM assistance_records r \
           JOIN assistance_records o ON o.id = COALESCE(r.reverses_id, r.id) \
           WHERE r.created_at <= $1 \
             AND (CAST($2 AS TEXT) IS NULL OR o.organisation_path LIKE $2) \
             AND (CAST($3 AS TEXT) IS NULL OR o.region_code LIKE $3)), \
         heavy AS ( \
           SELECT household_id, year FROM led GROUP BY household_id, year, measure_number \
             HAVING SUM(amount_fen) > $4 \
           UNION SELECT household_id, year FROM led GROUP BY household_id, year \
             HAVING SUM(amount_fen) > $5) \
         SELECT l.household_id, MAX(l.region_code) AS region_code, l.year, l.measure_number, \
           CAST(SUM(l.amount_fen) AS BIGINT) AS amount_fen, \
           MAX(l.delivered_on) AS last_delivered_on \
         FROM led l JOIN heavy v ON v.household_id = l.household_id AND v.year = l.year \
         GROUP BY l.household_id, l.year, l.measure_number \
         ORDER BY l.household_id, l.year, l.measure_number";
    Ok(with_scope(sql.to_owned(), as_of, scope)
        .bind::<BigInt, _>(measure_floor)
        .bind::<BigInt, _>(total_floor)
        .load(conn)?)
}
