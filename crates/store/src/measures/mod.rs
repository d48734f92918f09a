//! Precise measures (精准施策, 《实施方案》三): the catalogue, each household's plan, the referrals
//! to lead units and the assistance ledger. Every change is a unit of work that takes the
//! [`Doer`], writes the household's timeline entry and appends its audit event in the same
//! transaction.

pub mod assistance;
pub mod facts;
pub mod plans;
pub mod referrals;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::access::Role;
use jiekun_domain::assistance::CapBreach;
use jiekun_domain::RegionCode;

use crate::audit::{self, Caller};
use crate::conn::DbConnection;
use crate::schema::{assistance_records, household_plans, measures, plan_items};
use crate::workflows::{self as wstore, EventRow};
use crate::{Scope, StoreError};

/// One measure of the catalogue, as the migration loaded it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = measures)]
pub struct MeasureRow {
    pub number: i64,
    pub code: String,
    pub mechanism_number: i64,
    pub mechanism_code: String,
    pub name_zh: String,
    /// Comma-separated unit codes.
    pub lead_units: String,
    pub responsible_units: String,
    pub gist: String,
}

/// The whole catalogue, in measure order.
pub fn catalogue(c: &mut DbConnection) -> Result<Vec<MeasureRow>, StoreError> {
    Ok(measures::table
        .order(measures::number.asc())
        .select(MeasureRow::as_select())
        .load(c)?)
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = household_plans, treat_none_as_default_value = false)]
pub struct PlanRow {
    pub household_id: String,
    pub organisation_path: String,
    pub region_code: String,
    pub proposed_on: NaiveDate,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = plan_items, treat_none_as_default_value = false)]
pub struct PlanItemRow {
    pub id: String,
    pub household_id: String,
    pub measure_number: i64,
    pub origin: String,
    pub status: String,
    /// Comma-separated member ids.
    pub member_ids: String,
    /// JSON array of reasons.
    pub reasons: String,
    pub note: Option<String>,
    pub drop_reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::schema::referrals, treat_none_as_default_value = false)]
pub struct ReferralRow {
    pub id: String,
    pub household_id: String,
    pub plan_item_id: String,
    pub measure_number: i64,
    pub department_code: String,
    pub organisation_path: String,
    pub region_code: String,
    pub member_ids: String,
    pub status: String,
    pub due_on: NaiveDate,
    pub note: Option<String>,
    pub decline_reason: Option<String>,
    pub delivered_on: Option<NaiveDate>,
    pub delivery_note: Option<String>,
    pub answered_by: Option<String>,
    pub created_by: String,
    pub state_since: NaiveDateTime,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = assistance_records, treat_none_as_default_value = false)]
pub struct AssistanceRow {
    pub id: String,
    pub household_id: String,
    pub member_id: Option<String>,
    pub measure_number: i64,
    pub referral_id: Option<String>,
    pub organisation_path: String,
    pub region_code: String,
    pub unit_kind: String,
    pub unit_id: String,
    pub unit_name: String,
    pub delivered_on: NaiveDate,
    pub year: i64,
    pub kind: String,
    pub amount_fen: i64,
    pub fund_source: Option<String>,
    pub evidence: Option<String>,
    pub note: Option<String>,
    pub reverses_id: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

/// The unit a doer acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// A union organisation (a person signed in).
    Organisation { id: String },
    /// A partner department (its API key).
    Department {
        id: String,
        code: String,
        region: RegionCode,
    },
}

/// Who acts on measures: a union officer or a department's system.
#[derive(Debug, Clone)]
pub struct Doer {
    /// The username, or the key's name.
    pub name: String,
    pub role: Option<Role>,
    pub unit: Unit,
    /// What the doer may see of the registry (a person's subtree; keys see what reaches them).
    pub scope: Scope,
    pub caller: Caller,
}

impl Doer {
    /// The department code the doer answers for: its own for a key, `union` for union staff.
    pub fn department_code(&self) -> &str {
        match &self.unit {
            Unit::Department { code, .. } => code,
            Unit::Organisation { .. } => "union",
        }
    }
}

/// Why a change to a plan, a referral, the ledger or a verification did not happen.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
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
    WrongState { message: String, message_zh: String },
    #[error("{message}")]
    Forbidden { message: String, message_zh: String },
    #[error("version {expected} expected but {actual} stored")]
    Stale { expected: i64, actual: i64 },
    /// The entry would take the household over a yearly cap of the policy book.
    #[error("over the yearly cap")]
    OverCap {
        breach: CapBreach,
        measure: i64,
        year: i64,
    },
    /// A verification asked for data that members' consents do not cover: each member (id and
    /// name) with the domains missing.
    #[error("consent missing")]
    ConsentMissing(Vec<(String, String, Vec<jiekun_domain::verification::DataDomain>)>),
    /// Several fields are wrong at once: (field path, code, English, Chinese).
    #[error("invalid fields")]
    Problems(Vec<(String, &'static str, String, String)>),
    #[error("policy: {0}")]
    Policy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for MeasureError {
    fn from(e: diesel::result::Error) -> Self {
        MeasureError::Store(e.into())
    }
}

pub type MeasureResult<T> = Result<T, MeasureError>;

pub(crate) fn invalid(
    field: &'static str,
    code: &'static str,
    en: impl Into<String>,
    zh: impl Into<String>,
) -> MeasureError {
    MeasureError::Invalid {
        field,
        code,
        message: en.into(),
        message_zh: zh.into(),
    }
}

pub(crate) fn wrong_state(en: impl Into<String>, zh: impl Into<String>) -> MeasureError {
    MeasureError::WrongState {
        message: en.into(),
        message_zh: zh.into(),
    }
}

pub(crate) fn fresh(stored: i64, expected: i64) -> MeasureResult<()> {
    if stored == expected {
        Ok(())
    } else {
        Err(MeasureError::Stale {
            expected,
            actual: stored,
        })
    }
}

/// A record read by id, or `NotFound(what)`.
pub(crate) fn found<T>(r: Result<T, StoreError>, what: &'static str) -> MeasureResult<T> {
    r.map_err(|e| match e {
        StoreError::NotFound => MeasureError::NotFound(what),
        e => e.into(),
    })
}

/// The last writes of every change: the household's timeline entry and the audit event.
pub(crate) struct Record<'a> {
    pub subject_kind: &'static str,
    pub subject_id: &'a str,
    pub household_id: &'a str,
    pub action: &'static str,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub opinion: Option<&'a str>,
    pub audit_action: &'static str,
    pub changes: serde_json::Value,
}

pub(crate) fn record(
    c: &mut DbConnection,
    doer: &Doer,
    at: NaiveDateTime,
    r: Record,
) -> MeasureResult<()> {
    let name = unit_name(c, &doer.unit);
    let organisation_id = match &doer.unit {
        Unit::Organisation { id } => Some(id.clone()),
        Unit::Department { .. } => None,
    };
    wstore::record(
        c,
        &EventRow {
            id: crate::new_id(),
            subject_kind: r.subject_kind.into(),
            subject_id: r.subject_id.into(),
            household_id: r.household_id.into(),
            action: r.action.into(),
            from_state: r.from.map(Into::into),
            to_state: r.to.map(Into::into),
            actor: doer.name.clone(),
            actor_role: doer.role.map(|r| r.as_str().to_owned()),
            organisation_id,
            organisation_name: Some(name),
            opinion: r.opinion.map(Into::into),
            assessment_id: None,
            at,
        },
    )?;
    let resource = if r.subject_kind == "plan" {
        "household"
    } else {
        r.subject_kind
    };
    audit::append(
        c,
        doer.caller
            .event(r.audit_action, resource, r.subject_id, r.changes),
    )?;
    Ok(())
}

/// Splits a stored comma-separated list.
pub fn split_ids(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The policy book's measure parameters for a region on a date.
pub(crate) fn measure_policy(
    c: &mut DbConnection,
    region: &str,
    date: NaiveDate,
) -> MeasureResult<jiekun_domain::rules::MeasurePolicy> {
    crate::rules::policy_book(c)?
        .measures(region, date)
        .map_err(|e| MeasureError::Policy(e.to_string()))
}

/// The name of the unit a doer acts for, as the directory has it.
pub(crate) fn unit_name(c: &mut DbConnection, unit: &Unit) -> String {
    match unit {
        Unit::Organisation { id } => crate::organisations::get(c, &Scope::All, id)
            .map(|o| o.name)
            .unwrap_or_default(),
        Unit::Department { id, .. } => crate::departments::get(c, &Scope::All, id)
            .map(|d| d.name)
            .unwrap_or_default(),
    }
}
