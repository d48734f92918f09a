//! Flows: households filed, returned to hardship and exited, per local month.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::{at_scope, local_month_sql, with_scope};
use crate::conn::DbConnection;
use crate::{Scope, StoreResult};

/// How many households moved one way in a month: `kind` is `filed`, `returned` or `exited`, and
/// `grounds` the exit's grounds (empty otherwise).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct FlowRow {
    #[diesel(sql_type = Text)]
    pub month: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub grounds: String,
    #[diesel(sql_type = BigInt)]
    pub households: i64,
}

/// The movements up to `as_of` in the local months `from`–`to` (`YYYY-MM`, inclusive) of the
/// households in `scope` as it stood at `as_of`: filings (a return to hardship when the household
/// had exited before) and exits by grounds, from the workflow timeline.
pub fn flows(
    conn: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
    from: &str,
    to: &str,
) -> StoreResult<Vec<FlowRow>> {
    use diesel::sql_types::Text as T;
    let month = local_month_sql(conn, "e.at");
    let scoped = at_scope("e.household_id");
    let sql = format!(
        "WITH moves AS ( \
         SELECT {month} AS month, \
           CASE WHEN e.subject_kind = 'exit_case' THEN 'exited' \
                WHEN EXISTS (SELECT 1 FROM workflow_events x \
                     WHERE x.household_id = e.household_id AND x.subject_kind = 'exit_case' \
                       AND x.to_state = 'exited' AND x.at < e.at) THEN 'returned' \
                ELSE 'filed' END AS kind, \
           CASE WHEN e.subject_kind = 'exit_case' THEN c.grounds ELSE '' END AS grounds \
         FROM workflow_events e \
         {scoped}\
         LEFT JOIN exit_cases c ON c.id = e.subject_id AND e.subject_kind = 'exit_case' \
         WHERE e.at <= $1 \
           AND ((e.subject_kind = 'application' AND e.to_state = 'filed') \
             OR (e.subject_kind = 'exit_case' AND e.to_state = 'exited'))) \
         SELECT month, kind, grounds, COUNT(*) AS households FROM moves \
         WHERE month >= $4 AND month <= $5 \
         GROUP BY month, kind, grounds ORDER BY month, kind, grounds"
    );
    Ok(with_scope(sql, as_of, scope)
        .bind::<T, _>(from.to_owned())
        .bind::<T, _>(to.to_owned())
        .load(conn)?)
}
