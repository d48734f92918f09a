//! Assistance: the ledger's entries recorded by a time, by month delivered, measure, delivering
//! unit and fund source. The ledger is append-only (a correction is a reversing entry), so the
//! entries recorded by `as_of` are the ledger as it stood then.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::{month_of_date_sql, scope_patterns};
use crate::conn::DbConnection;
use crate::{Scope, StoreResult};

/// One line: what a unit delivered under a measure from a fund source in a month.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct AssistanceRow {
    #[diesel(sql_type = Text)]
    pub month: String,
    #[diesel(sql_type = BigInt)]
    pub measure_number: i64,
    #[diesel(sql_type = Text)]
    pub unit_kind: String,
    #[diesel(sql_type = Text)]
    pub unit_id: String,
    #[diesel(sql_type = Text)]
    pub unit_name: String,
    #[diesel(sql_type = Text)]
    pub fund_source: String,
    /// Entries recorded (reversals not counted).
    #[diesel(sql_type = BigInt)]
    pub entries: i64,
    /// Of those, reversed by `as_of`.
    #[diesel(sql_type = BigInt)]
    pub reversed: i64,
    /// Households with an entry standing (not reversed) at `as_of`.
    #[diesel(sql_type = BigInt)]
    pub households: i64,
    /// The net amount: entries less their reversals.
    #[diesel(sql_type = BigInt)]
    pub amount_fen: i64,
}

/// The ledger recorded by `as_of` inside `scope`, for deliveries in the months `from`–`to`
/// (`YYYY-MM`, inclusive); a reversal counts in its entry's month.
pub fn assistance(
    conn: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
    from: &str,
    to: &str,
) -> StoreResult<Vec<AssistanceRow>> {
    use diesel::sql_types::{Nullable, Timestamp};
    let month = month_of_date_sql(conn, "o.delivered_on");
    let sql = format!(
        "SELECT {month} AS month, o.measure_number, o.unit_kind, o.unit_id, o.unit_name, \
           COALESCE(o.fund_source, '') AS fund_source, \
           SUM(CASE WHEN r.id = o.id THEN 1 ELSE 0 END) AS entries, \
           SUM(CASE WHEN r.id = o.id THEN 0 ELSE 1 END) AS reversed, \
           COUNT(DISTINCT CASE WHEN r.id = o.id AND NOT EXISTS (SELECT 1 FROM assistance_records v \
               WHERE v.reverses_id = o.id AND v.created_at <= $1) THEN o.household_id END) AS households, \
           CAST(SUM(r.amount_fen) AS BIGINT) AS amount_fen \
         FROM assistance_records r \
         JOIN assistance_records o ON o.id = COALESCE(r.reverses_id, r.id) \
         WHERE r.created_at <= $1 \
           AND (CAST($2 AS TEXT) IS NULL OR o.organisation_path LIKE $2) \
           AND (CAST($3 AS TEXT) IS NULL OR o.region_code LIKE $3) \
           AND {month} >= $4 AND {month} <= $5 \
         GROUP BY {month}, o.measure_number, o.unit_kind, o.unit_id, o.unit_name, o.fund_source \
         ORDER BY 1, 2, 3, 4, 6"
    );
    debug_assert!(
        super::params_in_order(&sql),
        "parameters out of order: {sql}"
    );
    let (path, region) = scope_patterns(scope);
    Ok(diesel::sql_query(sql)
        .into_boxed()
        .bind::<Timestamp, _>(as_of)
        .bind::<Nullable<Text>, _>(path)
        .bind::<Nullable<Text>, _>(region)
        .bind::<Text, _>(from.to_owned())
        .bind::<Text, _>(to.to_owned())
        .load(conn)?)
}
