//! Campaigns (送温暖、金秋助学 and others): what each quota holder paid against its quota.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::with_scope;
use crate::conn::DbConnection;
use crate::{Scope, StoreResult};

/// A campaign's quota holder as it stood at a moment — the campaign's union with the budget, or
/// an organisation below with its quota — and what its subtree had paid by then.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct QuotaAt {
    #[diesel(sql_type = Text)]
    pub campaign_id: String,
    #[diesel(sql_type = Text)]
    pub campaign_name: String,
    #[diesel(sql_type = Text)]
    pub campaign_kind: String,
    #[diesel(sql_type = Text)]
    pub organisation_id: String,
    #[diesel(sql_type = Text)]
    pub organisation_name: String,
    /// `budget` (the campaign's union) or `quota`.
    #[diesel(sql_type = Text)]
    pub level: String,
    #[diesel(sql_type = BigInt)]
    pub quota_fen: i64,
    #[diesel(sql_type = BigInt)]
    pub payments: i64,
    #[diesel(sql_type = BigInt)]
    pub paid_fen: i64,
}

/// The quota holders of the campaigns made by `as_of`, with their quota as it stood then (from
/// the quotas' history) and their subtree's payments recorded by then. A person's scope keeps
/// the holders in their subtree; a key's region keeps the campaigns of its region.
pub fn campaigns_at(
    conn: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
) -> StoreResult<Vec<QuotaAt>> {
    let paid = "FROM campaign_payments p WHERE p.campaign_id = x.campaign_id \
        AND p.organisation_path LIKE (x.organisation_path || '%') AND p.created_at <= $1";
    let sql = format!(
        "WITH holders AS ( \
           SELECT c.id AS campaign_id, c.organisation_id, c.organisation_path, \
             c.budget_fen AS quota_fen, 'budget' AS level \
           FROM campaigns c WHERE c.created_at <= $1 \
           UNION ALL \
           SELECT h.campaign_id, h.organisation_id, h.organisation_path, h.quota_fen, 'quota' \
           FROM campaign_quota_history h \
           JOIN (SELECT MAX(seq) AS seq FROM campaign_quota_history WHERE valid_from <= $1 \
                 GROUP BY campaign_id, organisation_id) l ON l.seq = h.seq) \
         SELECT x.campaign_id, c.name AS campaign_name, c.kind AS campaign_kind, \
           x.organisation_id, o.name AS organisation_name, x.level, x.quota_fen, \
           (SELECT COUNT(*) {paid}) AS payments, \
           CAST((SELECT COALESCE(SUM(p.amount_fen), 0) {paid}) AS BIGINT) AS paid_fen \
         FROM holders x JOIN campaigns c ON c.id = x.campaign_id \
         JOIN organisations o ON o.id = x.organisation_id \
         WHERE (CAST($2 AS TEXT) IS NULL OR x.organisation_path LIKE $2) \
           AND (CAST($3 AS TEXT) IS NULL OR c.region_code LIKE $3) \
         ORDER BY c.starts_on, c.id, x.organisation_path"
    );
    Ok(with_scope(sql, as_of, scope).load(conn)?)
}
