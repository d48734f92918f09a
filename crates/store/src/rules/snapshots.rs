//! Household snapshots for the rules, a batch at a time: members, incomes and expenditures from
//! the tables or from the households' digests (`digest`), the sparse tables (accidents, the
//! assistance ledger, verified facts) by one range scan each over the ids of the batch, reading
//! only the columns the rules look at.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use jiekun_domain::household::{IncomeKind, Month};
use jiekun_domain::rules::{AccidentSnap, AssistanceSnap, IncomeSnap, Snapshot};

use super::digest::Digest;
use super::AccidentRow;
use crate::crypto::FieldCipher;
use crate::error::{StoreError, StoreResult};
use crate::households;
use crate::measures::AssistanceRow;
use crate::schema::{
    assistance_records, expenditures, household_accidents, households as households_t,
    income_records,
};
use crate::DbConnection;

/// What the rules read of a household: a registry scan reads these columns of each household,
/// not the whole file.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = households_t)]
pub struct HouseholdFacts {
    pub id: String,
    pub region_code: String,
    pub main_cause: i64,
    pub secondary_causes: String,
    pub resolved_causes: String,
    pub single_parent: bool,
    pub disability_household: bool,
    pub homes_count: i64,
    pub homes_area_dm2: i64,
    pub vehicles_count: i64,
    pub vehicle_disability_exempt: bool,
    pub controlling_shareholder: bool,
    pub high_fee_schooling: bool,
    pub refuses_cooperation: bool,
}

impl HouseholdFacts {
    /// The assets the rules weigh (declared; verified facts are weighed beside them).
    pub fn assets(&self) -> jiekun_domain::rules::AssetsSnap {
        jiekun_domain::rules::AssetsSnap {
            homes_count: self.homes_count,
            homes_area_dm2: self.homes_area_dm2,
            vehicles_count: self.vehicles_count,
            vehicle_disability_exempt: self.vehicle_disability_exempt,
            controlling_shareholder: self.controlling_shareholder,
            high_fee_schooling: self.high_fee_schooling,
            refuses_cooperation: self.refuses_cooperation,
        }
    }
}

impl From<households::HouseholdRow> for HouseholdFacts {
    fn from(h: households::HouseholdRow) -> Self {
        HouseholdFacts {
            id: h.id,
            region_code: h.region_code,
            main_cause: h.main_cause,
            secondary_causes: h.secondary_causes,
            resolved_causes: h.resolved_causes,
            single_parent: h.single_parent,
            disability_household: h.disability_household,
            homes_count: h.homes_count,
            homes_area_dm2: h.homes_area_dm2,
            vehicles_count: h.vehicles_count,
            vehicle_disability_exempt: h.vehicle_disability_exempt,
            controlling_shareholder: h.controlling_shareholder,
            high_fee_schooling: h.high_fee_schooling,
            refuses_cooperation: h.refuses_cooperation,
        }
    }
}

/// What the rules read of a month's income.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = income_records)]
pub(super) struct IncomeFacts {
    pub household_id: String,
    pub member_id: Option<String>,
    pub month: i64,
    pub kind: String,
    pub source: String,
    pub amount_fen: i64,
    pub verified: bool,
}

impl IncomeFacts {
    /// The order of a household's incomes in its snapshot, the same on both backends: by month,
    /// then by every other field, so that records which compare equal are alike in all the rules
    /// read.
    pub(super) fn order(a: &IncomeFacts, b: &IncomeFacts) -> std::cmp::Ordering {
        (
            a.month,
            &a.member_id,
            &a.kind,
            &a.source,
            a.amount_fen,
            a.verified,
        )
            .cmp(&(
                b.month,
                &b.member_id,
                &b.kind,
                &b.source,
                b.amount_fen,
                b.verified,
            ))
    }
}

/// What the rules read of an expenditure.
#[derive(Queryable, Selectable)]
#[diesel(table_name = expenditures)]
pub(super) struct SpentFacts {
    pub household_id: String,
    pub kind: String,
    pub amount_fen: i64,
    pub start_month: i64,
    pub end_month: i64,
    pub verified: bool,
}

/// Rows grouped by household, in the order read. The queries read a household's rows together,
/// so a household's id is hashed once for each run of its rows, not once for each row.
pub(super) fn by_household<T>(rows: Vec<T>, id: impl Fn(&T) -> &str) -> HashMap<String, Vec<T>> {
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    let mut run: Vec<T> = Vec::new();
    let mut flush = |run: &mut Vec<T>| {
        if let Some(first) = run.first() {
            let key = id(first).to_owned();
            out.entry(key).or_default().append(run);
        }
    };
    for r in rows {
        if run.last().is_some_and(|last| id(last) != id(&r)) {
            flush(&mut run);
        }
        run.push(r);
    }
    flush(&mut run);
    out
}

/// Snapshots of households given in id order, built from the tables: one query per table over
/// the batch (members, incomes and expenditures by id, the sparse tables by a range scan over the
/// ids of the batch). Income and expenditure are read for the 24 months before the date; health
/// is decrypted in memory only.
pub fn snapshots_of(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    rows: Vec<HouseholdFacts>,
    date: NaiveDate,
) -> StoreResult<Vec<Snapshot>> {
    snapshots_with(conn, rows, date, |conn, ids, _| {
        super::digest::build(conn, cipher, ids)
    })
}

/// The same snapshots as [`snapshots_of`], for a registry scan: members, incomes and
/// expenditures come from each household's stored digest, built and stored first where a write
/// has emptied it (`digest`).
pub fn scan_snapshots(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    rows: Vec<HouseholdFacts>,
    date: NaiveDate,
) -> StoreResult<Vec<Snapshot>> {
    snapshots_with(conn, rows, date, |conn, ids, range| {
        super::digest::cached(conn, cipher, ids, range)
    })
}

fn snapshots_with(
    conn: &mut DbConnection,
    rows: Vec<HouseholdFacts>,
    date: NaiveDate,
    digests: impl FnOnce(
        &mut DbConnection,
        &[&str],
        (&str, &str),
    ) -> StoreResult<HashMap<String, Digest>>,
) -> StoreResult<Vec<Snapshot>> {
    let (Some(first), Some(last)) = (
        rows.iter().map(|h| h.id.clone()).min(),
        rows.iter().map(|h| h.id.clone()).max(),
    ) else {
        return Ok(Vec::new());
    };
    let mut from = Month::of(date);
    for _ in 0..24 {
        from = from.prev();
    }
    let window = i64::from(from.key());
    let ids: Vec<&str> = rows.iter().map(|h| h.id.as_str()).collect();
    let mut digests = digests(conn, &ids, (&first, &last))?;
    let accidents: Vec<AccidentRow> = household_accidents::table
        .select(AccidentRow::as_select())
        .filter(household_accidents::household_id.between(&first, &last))
        .load(conn)?;
    // The assistance ledger of the twelve months before the date: 低保 or special-hardship
    // enrolment and union help count for the safety-net exit (解困).
    let ledger: Vec<AssistanceRow> = assistance_records::table
        .select(AssistanceRow::as_select())
        .filter(assistance_records::household_id.between(&first, &last))
        .filter(assistance_records::delivered_on.between(date - chrono::TimeDelta::days(366), date))
        .load(conn)?;
    let verified = crate::sharing::facts_between(conn, &first, &last)?;

    let mut accidents = by_household(accidents, |a| &a.household_id);
    let ledger = by_household(ledger, |a| &a.household_id);
    let verified = by_household(verified, |f| &f.household_id);
    let causes = |s: &str| -> Vec<u8> { s.split(',').filter_map(|c| c.parse().ok()).collect() };
    let bad = |what: &str| StoreError::Config(format!("stored {what} unreadable"));
    let latest = Month::of(date).prev().key() as i64;
    let mut out = Vec::with_capacity(rows.len());
    for h in rows {
        let digest = digests.remove(&h.id).unwrap_or_default();
        let member_snaps = digest
            .members()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("household digest"))?;
        let facts_of_h = crate::sharing::verified_snaps(verified.get(&h.id).map_or(&[], |v| v));
        let proven = crate::sharing::proven_income(
            verified
                .get(&h.id)
                .into_iter()
                .flatten()
                .filter(|f| f.month.is_some_and(|m| m >= window)),
        );
        // The digest holds them in the order of `IncomeFacts::order` already.
        let member_ids = digest.member_ids();
        let mut mine = Vec::new();
        for i in digest.incomes(&member_ids) {
            let i = i.ok_or_else(|| bad("household digest"))?;
            if i.month >= window
                && !proven
                    .iter()
                    .any(|p| p.replaces(i.source, i.member_id, i.month, i.kind.as_str()))
            {
                mine.push(i);
            }
        }
        let received = |kind: IncomeKind| {
            mine.iter().any(|i| i.kind == kind && i.month == latest)
                || proven
                    .iter()
                    .any(|p| p.counts() && p.kind == kind && p.month == latest)
        };
        let assistance = {
            let mine: Vec<&AssistanceRow> =
                ledger.get(&h.id).map_or(Vec::new(), |v| v.iter().collect());
            let cover = crate::measures::assistance::coverage_of(&mine);
            let (dibao, special) = jiekun_domain::verification::verified_assistance(&facts_of_h);
            AssistanceSnap {
                dibao: received(IncomeKind::Dibao) || cover.dibao || dibao,
                special_hardship: received(IncomeKind::SpecialHardship)
                    || cover.special_hardship
                    || special,
                union_help: cover.union_help,
            }
        };
        let mut expenditures = Vec::new();
        for e in digest.spent() {
            let e = e.ok_or_else(|| bad("household digest"))?;
            if i64::from(e.end_month) >= window {
                expenditures.push(e);
            }
        }
        out.push(Snapshot {
            household_id: h.id.clone(),
            region_code: h.region_code.clone(),
            assessment_date: date,
            members: member_snaps,
            incomes: mine
                .into_iter()
                .map(|i| IncomeSnap {
                    kind: i.kind,
                    member_id: i.member_id.map(str::to_owned),
                    month: i.month as i32,
                    amount_fen: i.amount_fen,
                    // Figures reported by a department count as verified.
                    verified: i.verified || i.source != "declared",
                })
                .chain(proven.iter().filter(|p| p.counts()).map(|p| IncomeSnap {
                    kind: p.kind,
                    member_id: Some(p.fact.member_id.clone()),
                    month: p.month as i32,
                    amount_fen: p.amount_fen,
                    verified: true,
                }))
                .collect(),
            expenditures,
            assets: h.assets(),
            main_cause: h.main_cause as u8,
            secondary_causes: causes(&h.secondary_causes),
            resolved_causes: causes(&h.resolved_causes),
            single_parent: h.single_parent,
            disability_household: h.disability_household,
            accident: accidents
                .remove(&h.id)
                .and_then(|v| v.into_iter().next())
                .map(|a| AccidentSnap {
                    description: a.description,
                    date: a.occurred_on,
                    costs_fen: a.costs_fen,
                }),
            assistance,
            verified: facts_of_h,
        });
    }
    Ok(out)
}
