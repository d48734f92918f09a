//! The roster: households on the register (filed, or exited and monitored) as of a time.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::{with_scope, AS_OF};
use crate::conn::DbConnection;
use crate::{Scope, StoreResult};

/// One line of the roster: the households of a region, union, category, main cause and status,
/// with how many of them carry each flag.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct RosterRow {
    #[diesel(sql_type = Text)]
    pub region_code: String,
    #[diesel(sql_type = Text)]
    pub organisation_id: String,
    #[diesel(sql_type = Text)]
    pub organisation_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub category: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub main_cause: i64,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub households: i64,
    #[diesel(sql_type = BigInt)]
    pub single_parent: i64,
    #[diesel(sql_type = BigInt)]
    pub disability_household: i64,
    #[diesel(sql_type = BigInt)]
    pub zero_employment: i64,
}

const ROSTER: &str = "SELECT a.region_code, a.organisation_id, o.name AS organisation_name, \
    a.category, a.main_cause, a.status, COUNT(*) AS households, \
    SUM(CASE WHEN a.single_parent THEN 1 ELSE 0 END) AS single_parent, \
    SUM(CASE WHEN a.disability_household THEN 1 ELSE 0 END) AS disability_household, \
    SUM(CASE WHEN a.zero_employment THEN 1 ELSE 0 END) AS zero_employment \
    FROM asof a JOIN organisations o ON o.id = a.organisation_id \
    WHERE a.status IN ('filed', 'monitoring') \
    GROUP BY a.region_code, a.organisation_id, o.name, a.category, a.main_cause, a.status \
    ORDER BY a.region_code, a.organisation_id, a.category, a.main_cause, a.status";

/// The roster as of `as_of` inside `scope`, one row per region, union, category, main cause and
/// status, in that order.
pub fn roster(
    conn: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
) -> StoreResult<Vec<RosterRow>> {
    Ok(with_scope(format!("{AS_OF}{ROSTER}"), as_of, scope).load(conn)?)
}
