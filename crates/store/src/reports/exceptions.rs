//! Exceptions: what needs an auditor's attention at a moment, counted by kind.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

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
/// - identity numbers held by members (added by then) of two or more households active at
///   `as_of` (a member removed since is not seen; the active-person index refuses such a
///   second file when it is made, so this is a check that it holds). Only numbers held in two
///   households at all are looked up in the history, so the check costs one pass over the
///   members.
pub fn exceptions(
    conn: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
) -> StoreResult<Vec<ExceptionRow>> {
    let (d, n, m) = (
        at_scope("d.household_id"),
        at_scope("n.household_id"),
        at_scope("m.household_id"),
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
         SELECT 'person_in_two_files', COUNT(*), CAST(COALESCE(SUM(x.files), 0) AS BIGINT) FROM ( \
           SELECT m.national_id_index, COUNT(DISTINCT m.household_id) AS files \
           FROM household_members m {m}\
           WHERE m.created_at <= $1 AND a.status NOT IN ('closed', 'withdrawn', 'rejected') \
             AND m.national_id_index IN (SELECT national_id_index FROM household_members \
               WHERE created_at <= $1 GROUP BY national_id_index \
               HAVING COUNT(DISTINCT household_id) > 1) \
           GROUP BY m.national_id_index HAVING COUNT(DISTINCT m.household_id) > 1) x"
    );
    Ok(with_scope(sql, as_of, scope).load(conn)?)
}
