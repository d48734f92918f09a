//! Information sharing (信息共享, 《实施方案》三(一)1): the household's consents, verification
//! requests and the task each department answers, the facts departments report, and the
//! differences from the declared file that staff resolve. Every change is a unit of work that
//! takes the [`Doer`] and appends its audit event in the same transaction; a department's read of
//! the people it is asked about is audited as a disclosure.

pub mod answers;
pub mod consents;
pub mod discrepancies;
pub mod exchange;
pub mod verifications;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::verification::DataDomain;

use crate::schema::{
    consents as consent_t, discrepancies as discrepancy_t, verification_tasks,
    verifications as verification_t, verified_facts,
};

pub use crate::measures::referrals::Viewer;
pub use crate::measures::{Doer, MeasureError, MeasureResult, Unit};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = consent_t, treat_none_as_default_value = false)]
pub struct ConsentRow {
    pub id: String,
    pub household_id: String,
    pub member_id: String,
    pub signed_by_member_id: String,
    pub number: String,
    pub signed_on: NaiveDate,
    pub domains: String,
    pub evidence: String,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoke_reason: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = verification_t, treat_none_as_default_value = false)]
pub struct VerificationRow {
    pub id: String,
    pub household_id: String,
    pub organisation_path: String,
    pub region_code: String,
    pub domains: String,
    pub member_ids: String,
    pub status: String,
    pub reason: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = verification_tasks, treat_none_as_default_value = false)]
pub struct TaskRow {
    pub id: String,
    pub verification_id: String,
    pub household_id: String,
    pub organisation_path: String,
    pub region_code: String,
    pub domain: String,
    pub department_code: String,
    pub member_ids: String,
    pub status: String,
    pub due_on: NaiveDate,
    pub answered_at: Option<NaiveDateTime>,
    pub answered_by: Option<String>,
    pub answered_via: Option<String>,
    pub batch_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = verified_facts, treat_none_as_default_value = false)]
pub struct FactRow {
    pub id: String,
    pub task_id: String,
    pub household_id: String,
    pub member_id: String,
    pub domain: String,
    pub source: String,
    pub as_of: NaiveDate,
    pub count: Option<i64>,
    pub area_dm2: Option<i64>,
    pub status: Option<String>,
    pub month: Option<i64>,
    pub amount_fen: Option<i64>,
    pub set_aside: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = discrepancy_t, treat_none_as_default_value = false)]
pub struct DiscrepancyRow {
    pub id: String,
    pub household_id: String,
    pub organisation_path: String,
    pub task_id: String,
    pub field: String,
    pub member_id: Option<String>,
    pub month: Option<i64>,
    pub kind: Option<String>,
    pub declared: i64,
    pub verified: i64,
    pub status: String,
    pub resolution: Option<String>,
    pub note: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// Parses a stored list of domains (written by this crate, so never wrong).
pub fn domains_of(s: &str) -> Vec<DataDomain> {
    jiekun_domain::access::parse_list(s).unwrap_or_default()
}

/// The facts of a household the rules use (assets and assistance status; monthly amounts reach
/// the rules as income records, through [`with_verified_income`]), not set aside, as snapshots.
pub fn verified_snaps(rows: &[FactRow]) -> Vec<jiekun_domain::verification::VerifiedSnap> {
    rows.iter()
        .filter(|f| !f.set_aside)
        .filter_map(|f| {
            let domain: DataDomain = f.domain.parse().ok()?;
            matches!(
                domain,
                DataDomain::Vehicles
                    | DataDomain::RealEstate
                    | DataDomain::Business
                    | DataDomain::SocialAssistance
            )
            .then(|| jiekun_domain::verification::VerifiedSnap {
                task_id: f.task_id.clone(),
                source: f.source.clone(),
                member_id: f.member_id.clone(),
                domain,
                as_of: f.as_of,
                count: f.count,
                area_dm2: f.area_dm2,
                status: f.status.clone(),
            })
        })
        .collect()
}

/// The facts of households whose ids lie between `first` and `last`, in household and fact order,
/// those set aside included.
pub fn facts_between(
    c: &mut crate::DbConnection,
    first: &str,
    last: &str,
) -> Result<Vec<FactRow>, crate::StoreError> {
    Ok(verified_facts::table
        .filter(verified_facts::household_id.ge(first))
        .filter(verified_facts::household_id.le(last))
        .order((
            verified_facts::household_id.asc(),
            verified_facts::as_of.asc(),
            verified_facts::id.asc(),
        ))
        .select(FactRow::as_select())
        .load(c)?)
}

/// The assets the household's file declares, as the rules read them.
pub fn assets_of(h: &crate::households::HouseholdRow) -> jiekun_domain::rules::AssetsSnap {
    crate::rules::HouseholdFacts::from(h.clone()).assets()
}

/// The facts reported for one task, in the order given.
pub fn facts_of_task(
    c: &mut crate::DbConnection,
    task_id: &str,
) -> Result<Vec<FactRow>, crate::StoreError> {
    Ok(verified_facts::table
        .filter(verified_facts::task_id.eq(task_id))
        .order(verified_facts::id.asc())
        .select(FactRow::as_select())
        .load(c)?)
}

/// The fact as the domain reads it.
fn fact_of_row(f: &FactRow) -> jiekun_domain::verification::Fact {
    jiekun_domain::verification::Fact {
        member_id: f.member_id.clone(),
        domain: f.domain.parse().ok(),
        as_of: Some(f.as_of),
        count: f.count,
        area_dm2: f.area_dm2,
        status: f.status.clone(),
        month: f.month.and_then(|m| i32::try_from(m).ok()),
        amount_fen: f.amount_fen,
    }
}

/// A monthly amount a fact proves (taxable income, a pension, 低保 or special-hardship support),
/// read by the rules as the department's verified income record.
#[derive(Debug, Clone, Copy)]
pub struct ProvenIncome<'a> {
    pub fact: &'a FactRow,
    pub kind: jiekun_domain::household::IncomeKind,
    /// YYYYMM.
    pub month: i64,
    pub amount_fen: i64,
}

impl ProvenIncome<'_> {
    /// Whether the amount counts (it was not set aside).
    pub fn counts(&self) -> bool {
        !self.fact.set_aside
    }

    /// Whether this amount stands in for a record of this department, member, month and kind.
    pub fn replaces(&self, source: &str, member_id: Option<&str>, month: i64, kind: &str) -> bool {
        self.month == month
            && self.fact.source == source
            && member_id == Some(self.fact.member_id.as_str())
            && self.kind.as_str() == kind
    }

    /// The amount as an income record whose id is the fact's.
    pub fn record(&self) -> crate::households::IncomeRow {
        let f = self.fact;
        crate::households::IncomeRow {
            id: f.id.clone(),
            household_id: f.household_id.clone(),
            member_id: Some(f.member_id.clone()),
            month: self.month,
            kind: self.kind.as_str().into(),
            source: f.source.clone(),
            amount_fen: self.amount_fen,
            verified: true,
            note: Some(format!("核对任务 {} (verification task)", f.task_id)),
            created_at: f.created_at,
            updated_at: f.created_at,
        }
    }
}

/// The monthly amounts of a household's facts that have the last word: for each department,
/// member, month and kind, the department's latest answer, with all it said of them. An earlier
/// answer gives way, as does any income record of the same department, member, month and kind
/// (see [`ProvenIncome::replaces`]). An amount set aside (the declared figure stood) still has
/// the last word, but no amount: see [`ProvenIncome::counts`].
pub fn proven_income<'a>(facts: impl IntoIterator<Item = &'a FactRow>) -> Vec<ProvenIncome<'a>> {
    use std::collections::HashMap;
    let proven: Vec<ProvenIncome<'a>> = facts
        .into_iter()
        .filter_map(|f| {
            let (kind, month, amount_fen) = fact_of_row(f).income()?;
            Some(ProvenIncome {
                fact: f,
                kind,
                month: i64::from(month),
                amount_fen,
            })
        })
        .collect();
    if proven.is_empty() {
        return proven;
    }
    // The latest answer of each key is the task of its latest fact.
    let mut latest: HashMap<(&str, &str, i64, &str), &FactRow> = HashMap::new();
    for p in &proven {
        let key = (
            p.fact.source.as_str(),
            p.fact.member_id.as_str(),
            p.month,
            p.kind.as_str(),
        );
        let stands = latest
            .get(&key)
            .is_none_or(|l| (l.created_at, &l.id) < (p.fact.created_at, &p.fact.id));
        if stands {
            latest.insert(key, p.fact);
        }
    }
    proven
        .iter()
        .filter(|p| {
            let key = (
                p.fact.source.as_str(),
                p.fact.member_id.as_str(),
                p.month,
                p.kind.as_str(),
            );
            latest
                .get(&key)
                .is_some_and(|l| l.task_id == p.fact.task_id)
        })
        .copied()
        .collect()
}

/// A household's income records with the amounts its facts prove, as [`proven_income`] has them.
pub fn with_verified_income<'a>(
    mut records: Vec<crate::households::IncomeRow>,
    facts: impl IntoIterator<Item = &'a FactRow>,
) -> Vec<crate::households::IncomeRow> {
    let proven = proven_income(facts);
    records.retain(|r| {
        !proven
            .iter()
            .any(|p| p.replaces(&r.source, r.member_id.as_deref(), r.month, &r.kind))
    });
    records.extend(
        proven
            .iter()
            .filter(|p| p.counts())
            .map(ProvenIncome::record),
    );
    records
}
