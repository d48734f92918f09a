//! Reads for the supervision reports (督查问效, 《实施方案》四(三)). Each report reads history —
//! the register's history (`household_history`, kept by triggers), the workflow timeline — as of
//! a time, never only the current state, so that the same report with the same `as_of` gives the
//! same figures after later changes. The queries are one SQL text for both backends (`$n`
//! parameters), apart from a month's expression. SQLite takes `$n` as a named parameter and
//! numbers it in the order of first appearance, so every query's text first uses `$1`, then
//! `$2`, and so on ([`params_in_order`], checked on every query in debug builds and tests).

use chrono::NaiveDateTime;

use crate::conn::DbConnection;
use crate::Scope;

mod accountability;
mod assistance;
mod campaigns;
mod coverage;
mod exceptions;
mod flows;
mod roster;
mod timeliness;

pub use accountability::{contacts_at, referrals_at, tasks_at, ContactAt, ReferralAt, TaskAt};
pub use assistance::{assistance, AssistanceRow};
pub use campaigns::{campaigns_at, QuotaAt};
pub use coverage::{coverage, CoverageRow};
pub use exceptions::{exceptions, year_sums_over, ExceptionRow, YearSum};
pub use flows::{flows, FlowRow};
pub use roster::{roster, RosterRow};
pub use timeliness::{
    notices_at, reviews_done, reviews_due_at, steps_at, NoticeAt, ReviewDue, StepAt,
};

/// The `LIKE` patterns of a scope: the organisation path (people) and the region (keys).
pub(crate) fn scope_patterns(scope: &Scope) -> (Option<String>, Option<String>) {
    match scope {
        Scope::Subtree { path, .. } => (Some(crate::like_prefix(path)), None),
        Scope::Region(region) => (None, Some(crate::like_prefix(region.prefix()))),
        Scope::All => (None, None),
    }
}

/// Each household's last history row from before `$1`, inside the scope of `$2` (path pattern)
/// and `$3` (region pattern): the register as it stood, as a common table expression `asof`.
pub(crate) const AS_OF: &str = "WITH asof AS ( \
    SELECT h.* FROM household_history h \
    JOIN (SELECT household_id, MAX(seq) AS seq FROM household_history \
          WHERE valid_from <= $1 GROUP BY household_id) l ON l.seq = h.seq \
    WHERE (CAST($2 AS TEXT) IS NULL OR h.organisation_path LIKE $2) \
      AND (CAST($3 AS TEXT) IS NULL OR h.region_code LIKE $3)) ";

/// Joins, as `a`, the history row of the household `household_column` as it stood at `$1`, and
/// keeps it only inside the scope of `$2` (path pattern) and `$3` (region pattern): for reports
/// driven by a few rows (events, tasks) a lookup per row through the (household, seq) index,
/// where the `asof` table would be built for every household.
pub(crate) fn at_scope(household_column: &str) -> String {
    format!(
        "JOIN household_history a ON a.seq = (SELECT MAX(x.seq) FROM household_history x \
           WHERE x.household_id = {household_column} AND x.valid_from <= $1) \
         AND (CAST($2 AS TEXT) IS NULL OR a.organisation_path LIKE $2) \
         AND (CAST($3 AS TEXT) IS NULL OR a.region_code LIKE $3) "
    )
}

/// The local (UTC+8) month of a timestamp column, as `YYYY-MM`, in the connection's dialect.
pub(crate) fn local_month_sql(conn: &DbConnection, column: &str) -> String {
    match conn {
        DbConnection::Sqlite(_) => format!("strftime('%Y-%m', {column}, '+8 hours')"),
        DbConnection::Postgres(_) => {
            format!("to_char({column} + interval '8 hours', 'YYYY-MM')")
        }
    }
}

/// The local (UTC+8) day of a timestamp column, as a date, in the connection's dialect.
pub(crate) fn local_date_sql(conn: &DbConnection, column: &str) -> String {
    match conn {
        DbConnection::Sqlite(_) => format!("date({column}, '+8 hours')"),
        DbConnection::Postgres(_) => format!("CAST({column} + interval '8 hours' AS DATE)"),
    }
}

/// The month of a date column, as `YYYY-MM`, in the connection's dialect.
pub(crate) fn month_of_date_sql(conn: &DbConnection, column: &str) -> String {
    match conn {
        DbConnection::Sqlite(_) => format!("substr({column}, 1, 7)"),
        DbConnection::Postgres(_) => format!("to_char({column}, 'YYYY-MM')"),
    }
}

/// Whether the `$n` parameters of `sql` first appear in the order 1, 2, 3, …, as SQLite numbers
/// them by first appearance where PostgreSQL numbers them by `n`.
pub(crate) fn params_in_order(sql: &str) -> bool {
    let mut seen: Vec<u32> = Vec::new();
    let mut rest = sql;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<u32>() {
            if !seen.contains(&n) {
                if n as usize != seen.len() + 1 {
                    return false;
                }
                seen.push(n);
            }
        }
    }
    true
}

/// Binds `as_of` and the scope's patterns as `$1`–`$3` of `sql`.
pub(crate) fn with_scope(
    sql: String,
    as_of: NaiveDateTime,
    scope: &Scope,
) -> diesel::query_builder::BoxedSqlQuery<
    'static,
    <DbConnection as diesel::Connection>::Backend,
    diesel::query_builder::SqlQuery,
> {
    use diesel::sql_types::{Nullable, Text, Timestamp};
    debug_assert!(params_in_order(&sql), "parameters out of order: {sql}");
    let (path, region) = scope_patterns(scope);
    diesel::sql_query(sql)
        .into_boxed()
        .bind::<Timestamp, _>(as_of)
        .bind::<Nullable<Text>, _>(path)
        .bind::<Nullable<Text>, _>(region)
}

#[cfg(test)]
mod tests {
    use super::params_in_order;

    #[test]
    fn parameters_must_first_appear_in_order() {
        assert!(params_in_order("SELECT 1"));
        assert!(params_in_order(
            "WHERE a = $1 AND b = $2 AND c = $1 AND d = $3"
        ));
        assert!(!params_in_order("WHERE a <= $1 AND $10 IS NULL"));
        assert!(!params_in_order("WHERE a = $2 AND b = $1"));
        assert!(!params_in_order(
            "SELECT (SELECT 1 WHERE x <= $4) WHERE $1 AND $2 AND $3"
        ));
        assert!(params_in_order(
            "WHERE a = $1 AND b = $2 AND c = $3 AND d = $4 AND e = $4"
        ));
    }
}
