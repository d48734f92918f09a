//! Campaigns (帮扶活动: 金秋助学, 送温暖): a drive of a county or city union, its budget split down
//! the union tree as quotas (`quotas`), the households its rule picks (`eligible`), and the
//! payments, each an entry of the assistance ledger (`payments`).
//!
//! A campaign is seen by the people of its union's subtree and of the unions above it; each sees
//! the part of its tree that lies in their own subtree. Quota changes and payments lock the
//! campaign's row (PostgreSQL; SQLite's write transactions are serialised already), so that two
//! of them are checked against the quotas one after the other.

pub mod eligible;
pub mod payments;
pub mod quotas;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::campaign::{AmountRule, CampaignKind, Eligibility};
use serde_json::json;

use crate::audit::{self, Caller};
use crate::conn::DbConnection;
use crate::measures::MeasureError;
use crate::page::{Page, PageRequest};
use crate::schema::campaigns as cp;
use crate::{Scope, StoreError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = cp, treat_none_as_default_value = false)]
pub struct CampaignRow {
    pub id: String,
    pub organisation_id: String,
    pub organisation_path: String,
    pub region_code: String,
    pub kind: String,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub budget_fen: i64,
    pub measure_number: i64,
    /// JSON of [`Eligibility`].
    pub eligibility: String,
    /// JSON of [`AmountRule`].
    pub amount: String,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl CampaignRow {
    pub fn kind(&self) -> CampaignResult<CampaignKind> {
        self.kind
            .parse()
            .map_err(|_| StoreError::Config(format!("stored campaign kind {}", self.kind)).into())
    }

    pub fn eligibility(&self) -> CampaignResult<Eligibility> {
        serde_json::from_str(&self.eligibility)
            .map_err(|e| StoreError::Config(format!("stored campaign rule: {e}")).into())
    }

    pub fn amount(&self) -> CampaignResult<AmountRule> {
        serde_json::from_str(&self.amount)
            .map_err(|e| StoreError::Config(format!("stored campaign amount: {e}")).into())
    }
}

/// A campaign to launch, parsed.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub kind: CampaignKind,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub budget_fen: i64,
    pub eligibility: Eligibility,
    pub amount: AmountRule,
}

/// Why a campaign step did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        code: &'static str,
        message: String,
        message_zh: String,
    },
    #[error("{message}")]
    Forbidden { message: String, message_zh: String },
    #[error("version {expected} expected but {actual} stored")]
    Stale { expected: i64, actual: i64 },
    /// The household has been paid by this campaign already.
    #[error("the household has been paid by this campaign already")]
    AlreadyPaid,
    /// The payment would take an organisation past its quota.
    #[error("over the quota of {organisation_name}")]
    OverQuota {
        organisation_id: String,
        organisation_name: String,
        quota_fen: i64,
        spent_fen: i64,
        amount_fen: i64,
    },
    /// A quota outside what its parent leaves, or below what its subtree holds already.
    #[error("{message}")]
    QuotaOutOfBounds { message: String, message_zh: String },
    /// The ledger refused the entry (a cap, the household's state, the date).
    #[error(transparent)]
    Ledger(#[from] MeasureError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for CampaignError {
    fn from(e: diesel::result::Error) -> Self {
        CampaignError::Store(e.into())
    }
}

pub type CampaignResult<T> = Result<T, CampaignError>;

pub(crate) fn invalid(
    field: &'static str,
    code: &'static str,
    en: impl Into<String>,
    zh: impl Into<String>,
) -> CampaignError {
    CampaignError::Invalid {
        field,
        code,
        message: en.into(),
        message_zh: zh.into(),
    }
}

/// The ancestors of a materialised path and the path itself: `/a/b/` gives `/a/` and `/a/b/`.
fn with_ancestors(path: &str) -> Vec<String> {
    path.char_indices()
        .skip(1)
        .filter(|(_, ch)| *ch == '/')
        .map(|(i, _)| path[..=i].to_owned())
        .collect()
}

/// The part of a campaign's tree a scope sees, as a path prefix: the deeper of the campaign's
/// union and the caller's; `None` when the two subtrees do not meet.
pub fn reach(scope: &Scope, campaign_path: &str) -> Option<String> {
    match scope {
        Scope::All => Some(campaign_path.to_owned()),
        Scope::Region(_) => None,
        Scope::Subtree { path, .. } if campaign_path.starts_with(path.as_str()) => {
            Some(campaign_path.to_owned())
        }
        Scope::Subtree { path, .. } if path.starts_with(campaign_path) => Some(path.clone()),
        Scope::Subtree { .. } => None,
    }
}

/// Launches a campaign run by `organisation_id` (the caller's union), and audits it.
pub fn create(
    c: &mut DbConnection,
    caller: &Caller,
    by: &str,
    organisation_id: &str,
    at: NaiveDateTime,
    new: &NewCampaign,
) -> CampaignResult<CampaignRow> {
    let org = crate::organisations::get(c, &Scope::All, organisation_id).map_err(|e| match e {
        StoreError::NotFound => CampaignError::NotFound("organisation"),
        e => e.into(),
    })?;
    let row = CampaignRow {
        id: crate::new_id(),
        organisation_id: org.id,
        organisation_path: org.path,
        region_code: org.region_code,
        kind: new.kind.as_str().into(),
        name: new.name.clone(),
        starts_on: new.starts_on,
        ends_on: new.ends_on,
        budget_fen: new.budget_fen,
        measure_number: i64::from(new.kind.measure().number()),
        eligibility: serde_json::to_string(&new.eligibility)
            .map_err(|e| StoreError::Config(e.to_string()))?,
        amount: serde_json::to_string(&new.amount)
            .map_err(|e| StoreError::Config(e.to_string()))?,
        version: 1,
        created_by: by.to_owned(),
        created_at: at,
        updated_at: at,
    };
    diesel::insert_into(cp::table).values(&row).execute(c)?;
    audit::append(
        c,
        caller.event(
            "campaign.create",
            "campaign",
            &row.id,
            json!({"kind": row.kind, "name": row.name, "starts_on": row.starts_on,
                "ends_on": row.ends_on, "budget_fen": row.budget_fen,
                "measure": row.measure_number, "eligibility": new.eligibility,
                "amount": new.amount}),
        ),
    )?;
    Ok(row)
}

/// A campaign the scope sees, or `NotFound`.
pub fn get(c: &mut DbConnection, scope: &Scope, id: &str) -> CampaignResult<CampaignRow> {
    let row: Option<CampaignRow> = cp::table
        .find(id)
        .select(CampaignRow::as_select())
        .first(c)
        .optional()?;
    match row {
        Some(r) if reach(scope, &r.organisation_path).is_some() => Ok(r),
        _ => Err(CampaignError::NotFound("campaign")),
    }
}

/// Reads a campaign the scope sees and locks its row until the transaction ends (PostgreSQL).
pub(crate) fn get_locked(
    c: &mut DbConnection,
    scope: &Scope,
    id: &str,
) -> CampaignResult<CampaignRow> {
    if let DbConnection::Postgres(pg) = c {
        cp::table
            .find(id)
            .select(cp::id)
            .for_update()
            .first::<String>(pg)
            .optional()?;
    }
    get(c, scope, id)
}

/// Filters of the list of campaigns.
#[derive(Debug, Clone, Default)]
pub struct CampaignFilter {
    pub kind: Option<CampaignKind>,
}

macro_rules! visible {
    ($scope:expr, $f:expr) => {{
        let mut q = cp::table.into_boxed();
        match $scope {
            Scope::All => {}
            Scope::Region(_) => q = q.filter(cp::id.eq("\u{0}")),
            Scope::Subtree { path, .. } => {
                q = q.filter(
                    cp::organisation_path
                        .like(crate::like_prefix(path))
                        .or(cp::organisation_path.eq_any(with_ancestors(path))),
                )
            }
        }
        if let Some(k) = $f.kind {
            q = q.filter(cp::kind.eq(k.as_str()));
        }
        q
    }};
}

/// The campaigns the scope sees: those of its subtree and of the unions above it.
pub fn list(
    c: &mut DbConnection,
    scope: &Scope,
    filter: &CampaignFilter,
    page: &PageRequest,
) -> CampaignResult<Page<CampaignRow>> {
    let mut q = visible!(scope, filter);
    if let Some(after) = &page.after {
        q = q.filter(cp::id.gt(after.clone()));
    }
    let rows = q
        .order(cp::id.asc())
        .limit(page.fetch_limit())
        .select(CampaignRow::as_select())
        .load(c)?;
    Ok(page.finish(rows, |r| &r.id))
}

pub fn count(c: &mut DbConnection, scope: &Scope, filter: &CampaignFilter) -> CampaignResult<u64> {
    let n: i64 = visible!(scope, filter).count().get_result(c)?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiekun_domain::RegionCode;

    #[test]
    fn ancestors_of_a_path() {
        assert_eq!(with_ancestors("/a/b/"), vec!["/a/", "/a/b/"]);
        assert_eq!(with_ancestors("/a/"), vec!["/a/"]);
    }

    #[test]
    fn reach_is_the_deeper_subtree() {
        let region = RegionCode::parse("610724").unwrap();
        let at = |p: &str| Scope::Subtree {
            path: p.into(),
            region,
        };
        assert_eq!(reach(&at("/a/"), "/a/b/"), Some("/a/b/".into()));
        assert_eq!(reach(&at("/a/b/c/"), "/a/b/"), Some("/a/b/c/".into()));
        assert_eq!(reach(&at("/a/d/"), "/a/b/"), None);
        assert_eq!(reach(&Scope::Region(region), "/a/"), None);
    }
}
