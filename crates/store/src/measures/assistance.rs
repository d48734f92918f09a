//! The assistance ledger (帮扶台账): every piece of help actually given. Append-only: a correction
//! is a reversing entry. The yearly caps of the policy book hold per household across every
//! delivering unit, and two writers for one household are serialised so that they cannot both
//! slip under a cap.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::assistance::{AssistanceKind, UnitKind};
use jiekun_domain::closed::ClosedList;
use jiekun_domain::household::HouseholdStatus;
use serde_json::json;

use super::plans::lead_department;
use super::{
    found, invalid, measure_policy, record, wrong_state, AssistanceRow, Doer, MeasureError,
    MeasureResult, Record, Unit,
};
use crate::conn::DbConnection;
use crate::households::{self as hstore, HouseholdRow};
use crate::page::{Page, PageRequest};
use crate::schema::{assistance_records as a, households, referrals};
use crate::workflows::within;
use crate::{Scope, StoreError};

/// The earliest delivery date the ledger takes.
pub const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// A piece of help to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAssistance {
    pub household_id: String,
    pub member_id: Option<String>,
    pub measure: i64,
    pub referral_id: Option<String>,
    pub delivered_on: NaiveDate,
    pub kind: AssistanceKind,
    pub amount_fen: i64,
    pub fund_source: Option<String>,
    pub evidence: Option<String>,
    pub note: Option<String>,
}

/// Who is looking at the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerViewer {
    /// Union staff: the entries of households in their subtree.
    Staff(Scope),
    /// A department: the entries it recorded itself.
    Department { id: String },
}

impl LedgerViewer {
    pub fn of(doer: &Doer) -> LedgerViewer {
        match &doer.unit {
            Unit::Department { id, .. } => LedgerViewer::Department { id: id.clone() },
            Unit::Organisation { .. } => LedgerViewer::Staff(doer.scope.clone()),
        }
    }

    fn sees(&self, r: &AssistanceRow) -> bool {
        match self {
            LedgerViewer::Staff(scope) => scope.covers_path(&r.organisation_path),
            LedgerViewer::Department { id } => r.unit_kind == "department" && &r.unit_id == id,
        }
    }
}

/// Filters of the ledger.
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    pub household_id: Option<String>,
    pub measure: Option<i64>,
    pub year: Option<i64>,
}

macro_rules! filtered {
    ($c:expr, $viewer:expr, $f:expr) => {{
        let mut q = a::table.into_boxed();
        match $viewer {
            LedgerViewer::Staff(scope) => q = within!(q, a::organisation_path, scope, $c),
            LedgerViewer::Department { id } => {
                q = q
                    .filter(a::unit_kind.eq("department"))
                    .filter(a::unit_id.eq(id.clone()))
            }
        }
        if let Some(h) = &$f.household_id {
            q = q.filter(a::household_id.eq(h.clone()));
        }
        if let Some(m) = $f.measure {
            q = q.filter(a::measure_number.eq(m));
        }
        if let Some(y) = $f.year {
            q = q.filter(a::year.eq(y));
        }
        q
    }};
}

pub fn list(
    c: &mut DbConnection,
    viewer: &LedgerViewer,
    filter: &LedgerFilter,
    page: &PageRequest,
) -> MeasureResult<Page<AssistanceRow>> {
    let mut q = filtered!(c, viewer, filter);
    if let Some(after) = &page.after {
        q = q.filter(a::id.gt(after.clone()));
    }
    let rows = q
        .order(a::id.asc())
        .limit(page.fetch_limit())
        .select(AssistanceRow::as_select())
        .load(c)?;
    Ok(page.finish(rows, |r| &r.id))
}

pub fn count(
    c: &mut DbConnection,
    viewer: &LedgerViewer,
    filter: &LedgerFilter,
) -> MeasureResult<u64> {
    let n: i64 = filtered!(c, viewer, filter).count().get_result(c)?;
    Ok(n as u64)
}

pub fn get(c: &mut DbConnection, viewer: &LedgerViewer, id: &str) -> MeasureResult<AssistanceRow> {
    let row: Option<AssistanceRow> = a::table
        .find(id)
        .select(AssistanceRow::as_select())
        .first(c)
        .optional()?;
    match row {
        Some(r) if viewer.sees(&r) => Ok(r),
        _ => Err(MeasureError::NotFound("assistance record")),
    }
}

/// The entries of a household delivered in `[from, to]`, oldest first (for exit cases and annual
/// reviews).
pub fn of_period(
    c: &mut DbConnection,
    household_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> MeasureResult<Vec<AssistanceRow>> {
    Ok(a::table
        .filter(a::household_id.eq(household_id))
        .filter(a::delivered_on.between(from, to))
        .order((a::delivered_on.asc(), a::id.asc()))
        .select(AssistanceRow::as_select())
        .load(c)?)
}

/// Locks the household row until the transaction ends (PostgreSQL; SQLite's write transactions
/// are serialised already), so that two entries for one household are checked against the caps
/// one after the other.
fn lock_household(c: &mut DbConnection, id: &str) -> MeasureResult<()> {
    if let DbConnection::Postgres(pg) = c {
        households::table
            .find(id)
            .select(households::id)
            .for_update()
            .first::<String>(pg)
            .optional()?;
    }
    Ok(())
}

/// The household a doer may record help for: union staff, a household of their subtree; a
/// department, a household with a referral of the measure to that department.
fn reachable(
    c: &mut DbConnection,
    doer: &Doer,
    household_id: &str,
    measure: i64,
) -> MeasureResult<HouseholdRow> {
    match &doer.unit {
        Unit::Organisation { .. } => found(hstore::get(c, &doer.scope, household_id), "household"),
        Unit::Department { code, region, .. } => {
            let lead = lead_department(c, measure)?;
            if lead.as_str() != code {
                return Err(MeasureError::Forbidden {
                    message: format!(
                        "measure {measure} is led by the `{}` department; a department records help only for the measures it leads",
                        lead.as_str()
                    ),
                    message_zh: format!(
                        "第{measure}项措施的牵头部门为“{}”，部门只能登记本部门牵头措施的帮扶",
                        lead.name_zh()
                    ),
                });
            }
            let referred: Option<String> = referrals::table
                .filter(referrals::household_id.eq(household_id))
                .filter(referrals::measure_number.eq(measure))
                .filter(referrals::department_code.eq(code.clone()))
                .filter(referrals::region_code.like(crate::like_prefix(region.prefix())))
                .select(referrals::id)
                .first(c)
                .optional()?;
            if referred.is_none() {
                // Households never referred to the department are as good as absent to it.
                return Err(MeasureError::NotFound("household"));
            }
            found(hstore::get(c, &Scope::All, household_id), "household")
        }
    }
}

/// Records a piece of help, refused with nothing written when it breaks a rule or a cap.
pub fn record_assistance(
    c: &mut DbConnection,
    doer: &Doer,
    at: NaiveDateTime,
    today: NaiveDate,
    input: &NewAssistance,
) -> MeasureResult<AssistanceRow> {
    let h = reachable(c, doer, &input.household_id, input.measure)?;
    if !matches!(
        HouseholdStatus::from_code(&h.status),
        Some(HouseholdStatus::Filed | HouseholdStatus::Monitoring)
    ) {
        return Err(wrong_state(
            format!(
                "help is recorded for filed or monitored households; this household is `{}`",
                h.status
            ),
            "只能为已建档或监测期内的家庭登记帮扶",
        ));
    }
    if let Some(m) = &input.member_id {
        if !hstore::members(c, &h.id)?.iter().any(|x| &x.id == m) {
            return Err(invalid(
                "member_id",
                "unknown_member",
                format!("{m} is not a member of this household"),
                format!("{m} 不是该家庭的成员"),
            ));
        }
    }
    if input.delivered_on > today {
        return Err(invalid(
            "delivered_on",
            "in_future",
            "the delivery date cannot be in the future",
            "帮扶日期不能晚于今天",
        ));
    }
    if input.delivered_on < EARLIEST {
        return Err(invalid(
            "delivered_on",
            "too_early",
            format!("the delivery date cannot be before {EARLIEST}"),
            format!("帮扶日期不能早于 {EARLIEST}"),
        ));
    }
    if let Some(rid) = &input.referral_id {
        let ok: Option<i64> = referrals::table
            .filter(referrals::id.eq(rid))
            .filter(referrals::household_id.eq(&h.id))
            .select(referrals::measure_number)
            .first(c)
            .optional()?;
        if ok != Some(input.measure) {
            return Err(invalid(
                "referral_id",
                "other_referral",
                "the referral is not of this household and measure",
                "该转介不属于此家庭和措施",
            ));
        }
    }
    lock_household(c, &h.id)?;
    let year = i64::from(input.delivered_on.year());
    let (measure_sum, total_sum) = sums(c, &h.id, year, input.measure)?;
    // A date the policy book has no caps for is a date the ledger does not take.
    let policy = measure_policy(c, &h.region_code, input.delivered_on).map_err(|e| match e {
        MeasureError::Policy(_) => invalid(
            "delivered_on",
            "no_policy",
            "the policy book sets no caps for this date",
            "政策参数中没有该日期适用的帮扶上限",
        ),
        e => e,
    })?;
    policy
        .caps
        .check(measure_sum, total_sum, input.amount_fen)
        .map_err(|breach| MeasureError::OverCap {
            breach,
            measure: input.measure,
            year,
        })?;
    let (unit_kind, unit_id, unit_name) = unit_of(c, doer);
    let row = AssistanceRow {
        id: crate::new_id(),
        household_id: h.id.clone(),
        member_id: input.member_id.clone(),
        measure_number: input.measure,
        referral_id: input.referral_id.clone(),
        organisation_path: h.organisation_path.clone(),
        region_code: h.region_code.clone(),
        unit_kind,
        unit_id,
        unit_name,
        delivered_on: input.delivered_on,
        year,
        kind: input.kind.as_str().into(),
        amount_fen: input.amount_fen,
        fund_source: input.fund_source.clone(),
        evidence: input.evidence.clone(),
        note: input.note.clone(),
        reverses_id: None,
        created_by: doer.name.clone(),
        created_at: at,
    };
    diesel::insert_into(a::table).values(&row).execute(c)?;
    let opinion = format!("{} · {} fen", input.kind.meaning_zh(), input.amount_fen);
    record(
        c,
        doer,
        at,
        Record {
            subject_kind: "assistance",
            subject_id: &row.id,
            household_id: &h.id,
            action: "record_assistance",
            from: None,
            to: None,
            opinion: Some(&opinion),
            audit_action: "assistance.record",
            changes: json!({"measure": row.measure_number, "kind": row.kind,
                "amount_fen": row.amount_fen, "delivered_on": row.delivered_on,
                "member_id": row.member_id, "referral_id": row.referral_id}),
        },
    )?;
    Ok(row)
}

fn unit_of(c: &mut DbConnection, doer: &Doer) -> (String, String, String) {
    let name = super::unit_name(c, &doer.unit);
    match &doer.unit {
        Unit::Organisation { id } => (UnitKind::Organisation.as_str().into(), id.clone(), name),
        Unit::Department { id, .. } => (UnitKind::Department.as_str().into(), id.clone(), name),
    }
}

/// What a household's ledger holds for `year`: for the measure, and in total (fen).
fn sums(
    c: &mut DbConnection,
    household_id: &str,
    year: i64,
    measure: i64,
) -> MeasureResult<(i64, i64)> {
    let rows: Vec<(i64, i64)> = a::table
        .filter(a::household_id.eq(household_id))
        .filter(a::year.eq(year))
        .select((a::measure_number, a::amount_fen))
        .load(c)?;
    let total = rows.iter().fold(0i64, |s, (_, v)| s.saturating_add(*v));
    let of_measure = rows
        .iter()
        .filter(|(m, _)| *m == measure)
        .fold(0i64, |s, (_, v)| s.saturating_add(*v));
    Ok((of_measure, total))
}

/// Reverses an entry: a new entry of the opposite amount that names it. Only the unit that
/// recorded an entry reverses it (union staff: an entry of a union in their subtree); an entry is
/// reversed at most once, and a reversal is never reversed.
pub fn reverse(
    c: &mut DbConnection,
    doer: &Doer,
    at: NaiveDateTime,
    id: &str,
    reason: &str,
) -> MeasureResult<AssistanceRow> {
    let orig = get(c, &LedgerViewer::of(doer), id)?;
    if orig.reverses_id.is_some() {
        return Err(wrong_state(
            "a reversing entry is not reversed; record the help again instead",
            "冲正记录不能再冲正，请重新登记帮扶",
        ));
    }
    let (unit_kind, unit_id, _) = unit_of(c, doer);
    let own = match &doer.unit {
        Unit::Organisation { .. } => orig.unit_kind == unit_kind,
        Unit::Department { .. } => orig.unit_id == unit_id,
    };
    if !own {
        return Err(MeasureError::Forbidden {
            message: "only the unit that recorded an entry reverses it".into(),
            message_zh: "只有登记该帮扶记录的单位才能冲正".into(),
        });
    }
    lock_household(c, &orig.household_id)?;
    let (_, _, unit_name) = unit_of(c, doer);
    let row = AssistanceRow {
        id: crate::new_id(),
        amount_fen: -orig.amount_fen,
        reverses_id: Some(orig.id.clone()),
        unit_kind,
        unit_id,
        unit_name,
        note: Some(reason.to_owned()),
        created_by: doer.name.clone(),
        created_at: at,
        evidence: None,
        ..orig.clone()
    };
    diesel::insert_into(a::table)
        .values(&row)
        .execute(c)
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict { .. } => {
                wrong_state("this entry has been reversed already", "该帮扶记录已冲正")
            }
            e => e.into(),
        })?;
    record(
        c,
        doer,
        at,
        Record {
            subject_kind: "assistance",
            subject_id: &row.id,
            household_id: &row.household_id,
            action: "reverse_assistance",
            from: None,
            to: None,
            opinion: Some(reason),
            audit_action: "assistance.reverse",
            changes: json!({"reverses_id": orig.id, "amount_fen": row.amount_fen}),
        },
    )?;
    Ok(row)
}

/// What the ledger says for the safety-net exit (解困) on `date`, over the twelve months before
/// it: 低保 or special-hardship enrolment (measures 4 and 5) and help from a union, each net of
/// reversals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    pub dibao: bool,
    pub special_hardship: bool,
    pub union_help: bool,
}

pub fn coverage(
    c: &mut DbConnection,
    household_id: &str,
    date: NaiveDate,
) -> MeasureResult<Coverage> {
    let from = date - chrono::TimeDelta::days(366);
    let rows = of_period(c, household_id, from, date)?;
    Ok(coverage_of(&rows.iter().collect::<Vec<_>>()))
}

/// What `rows` (one household's entries of the period) say for the safety-net exit.
pub fn coverage_of(rows: &[&AssistanceRow]) -> Coverage {
    let reversed: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.reverses_id.as_deref())
        .collect();
    let live = |r: &&&AssistanceRow| r.reverses_id.is_none() && !reversed.contains(&r.id.as_str());
    let enrolled = |m: i64| {
        rows.iter()
            .filter(live)
            .any(|r| r.measure_number == m && r.kind == AssistanceKind::Enrolment.as_str())
    };
    Coverage {
        dibao: enrolled(4),
        special_hardship: enrolled(5),
        union_help: rows
            .iter()
            .filter(live)
            .any(|r| r.unit_kind == UnitKind::Organisation.as_str()),
    }
}
