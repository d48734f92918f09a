//! Timeliness: how long cases spent in each workflow step, from the timeline.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use super::{at_scope, with_scope};
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
