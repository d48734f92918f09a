//! A department's answer to a task: dated facts, each kept with its source, date and task. Monthly
//! amounts (taxable income, a pension, 低保 or special-hardship support) read as the department's
//! verified income records, which replace declared ones in the rules; asset facts replace declared
//! assets there.
//! Every difference from the declared file is flagged on the household with both figures.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::closed::ClosedList;
use jiekun_domain::verification::{
    differences, CheckedField, DataDomain, DeclaredIncome, Difference, Fact,
};
use serde_json::json;

use super::verifications::task as find_task;
use super::{
    facts_between, verified_snaps, DiscrepancyRow, Doer, FactRow, MeasureError, MeasureResult,
    TaskRow, Viewer,
};
use crate::conn::DbConnection;
use crate::households::{self as hstore, IncomeRow};
use crate::measures::{record, split_ids, wrong_state, Record};
use crate::schema::{
    discrepancies, income_records, verification_tasks as tasks, verifications, verified_facts,
};
use crate::Scope;

/// How an answer arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via<'a> {
    /// The department's key, through the API.
    Api,
    /// An answer file of an offline exchange batch.
    Exchange { batch_id: &'a str },
}

/// What applying an answer wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub task: TaskRow,
    pub facts: Vec<FactRow>,
    pub discrepancies: Vec<DiscrepancyRow>,
}

/// Checks facts against the task they answer: each of the task's domain, about a member it asks
/// about, and at least one about each of them. Problems are (field, code, English, Chinese).
pub fn check_against(
    task: &TaskRow,
    facts: &[Fact],
) -> Vec<(String, &'static str, String, String)> {
    let mut out = Vec::new();
    let members = split_ids(&task.member_ids);
    if facts.is_empty() {
        out.push((
            "facts".to_owned(),
            "required",
            "an answer holds at least one fact".to_owned(),
            "答复至少包含一条核实信息".to_owned(),
        ));
        return out;
    }
    for (i, f) in facts.iter().enumerate() {
        if f.domain.is_some_and(|d| d.as_str() != task.domain) {
            out.push((
                format!("facts[{i}].domain"),
                "wrong_domain",
                format!("this task asks about `{}` only", task.domain),
                format!(
                    "该任务仅核对“{}”",
                    task.domain
                        .parse::<DataDomain>()
                        .map_or("", |d| d.meaning_zh())
                ),
            ));
        }
        if !members.contains(&f.member_id) {
            out.push((
                format!("facts[{i}].member_id"),
                "not_asked",
                "this task does not ask about this member".to_owned(),
                "该任务未要求核对此成员".to_owned(),
            ));
        }
    }
    for m in &members {
        if !facts.iter().any(|f| &f.member_id == m) {
            out.push((
                "facts".to_owned(),
                "member_unanswered",
                format!("no fact answers for member {m}"),
                format!("缺少成员 {m} 的核实信息"),
            ));
        }
    }
    out
}

/// Answers a task through the API: the department's key answers its own open tasks only.
pub fn answer(
    c: &mut DbConnection,
    doer: &Doer,
    (at, today): (NaiveDateTime, NaiveDate),
    task_id: &str,
    facts: &[Fact],
) -> MeasureResult<Applied> {
    let t = find_task(c, &Viewer::of(doer), task_id)?;
    if t.department_code != doer.department_code() {
        return Err(MeasureError::Forbidden {
            message: format!(
                "this task is for the `{}` department; only that department's key answers it",
                t.department_code
            ),
            message_zh: "该核对任务只能由对应部门的密钥答复".into(),
        });
    }
    let applied = apply(c, &doer.name, at, &t, facts, Via::Api)?;
    let _ = today;
    record(
        c,
        doer,
        at,
        Record {
            subject_kind: "verification",
            subject_id: &t.verification_id,
            household_id: &t.household_id,
            action: "answer",
            from: Some("open"),
            to: Some("answered"),
            opinion: None,
            audit_action: "verification.answer",
            changes: json!({"task_id": t.id, "domain": t.domain, "facts": applied.facts.len(),
                "discrepancies": applied.discrepancies.iter().map(|d| &d.id).collect::<Vec<_>>(), "via": "api"}),
        },
    )?;
    Ok(applied)
}

/// Applies checked facts to an open task: writes the facts and the differences,
/// and marks the task (and its request, when it was the last) answered. Writes no audit event:
/// the caller does, once for the answer or once for an exchange batch.
pub fn apply(
    c: &mut DbConnection,
    by: &str,
    at: NaiveDateTime,
    t: &TaskRow,
    facts: &[Fact],
    via: Via<'_>,
) -> MeasureResult<Applied> {
    if t.status != "open" {
        return Err(wrong_state(
            "this task is already answered",
            "该核对任务已答复",
        ));
    }
    let problems = check_against(t, facts);
    if !problems.is_empty() {
        return Err(MeasureError::Problems(problems));
    }
    let (via_name, batch) = match via {
        Via::Api => ("api", None),
        Via::Exchange { batch_id } => ("exchange", Some(batch_id.to_owned())),
    };
    let n = diesel::update(tasks::table.find(&t.id).filter(tasks::status.eq("open")))
        .set((
            tasks::status.eq("answered"),
            tasks::answered_at.eq(Some(at)),
            tasks::answered_by.eq(Some(by)),
            tasks::answered_via.eq(Some(via_name)),
            tasks::batch_id.eq(batch.clone()),
            tasks::updated_at.eq(at),
        ))
        .execute(c)?;
    if n == 0 {
        return Err(wrong_state(
            "this task is already answered",
            "该核对任务已答复",
        ));
    }
    let rows: Vec<FactRow> = facts
        .iter()
        .map(|f| FactRow {
            id: crate::new_id(),
            task_id: t.id.clone(),
            household_id: t.household_id.clone(),
            member_id: f.member_id.clone(),
            domain: t.domain.clone(),
            source: t.department_code.clone(),
            as_of: f.as_of.unwrap_or(at.date()),
            count: f.count,
            area_dm2: f.area_dm2,
            status: f.status.clone(),
            month: f.month.map(i64::from),
            amount_fen: f.amount_fen,
            set_aside: false,
            created_at: at,
        })
        .collect();
    crate::insert_all!(c, verified_facts::table, &rows, 14)?;
    let h = hstore::get(c, &Scope::All, &t.household_id)?;
    let incomes = declared_incomes(c, t, facts)?;
    let declared: Vec<DeclaredIncome<'_>> = incomes
        .iter()
        .filter(|i| i.source == "declared")
        .filter_map(|i| {
            Some(DeclaredIncome {
                member_id: i.member_id.as_deref(),
                month: i.month as i32,
                kind: i.kind.parse().ok()?,
                amount_fen: i.amount_fen,
            })
        })
        .collect();
    let all = facts_between(c, &h.id, &h.id)?;
    let domain: DataDomain = t
        .domain
        .parse()
        .map_err(|_| MeasureError::Policy(format!("unknown domain {}", t.domain)))?;
    let found: Vec<Difference> = differences(
        &super::assets_of(&h),
        &declared,
        &verified_snaps(&all),
        facts,
    )
    .into_iter()
    .filter(|d| concerns(domain, d.field))
    .collect();
    let flagged: Vec<DiscrepancyRow> = found
        .iter()
        .map(|d| DiscrepancyRow {
            id: crate::new_id(),
            household_id: h.id.clone(),
            organisation_path: h.organisation_path.clone(),
            task_id: t.id.clone(),
            field: d.field.as_str().into(),
            member_id: d.member_id.clone(),
            month: d.month.map(i64::from),
            kind: d.kind.map(|k| k.as_str().to_owned()),
            declared: d.declared,
            verified: d.verified,
            status: "open".into(),
            resolution: None,
            note: None,
            resolved_by: None,
            resolved_at: None,
            created_at: at,
        })
        .collect();
    if !flagged.is_empty() {
        crate::insert_all!(c, discrepancies::table, &flagged, 16)?;
    }
    let open_left: i64 = tasks::table
        .filter(tasks::verification_id.eq(&t.verification_id))
        .filter(tasks::status.eq("open"))
        .count()
        .get_result(c)?;
    if open_left == 0 {
        diesel::update(verifications::table.find(&t.verification_id))
            .set((
                verifications::status.eq("answered"),
                verifications::updated_at.eq(at),
            ))
            .execute(c)?;
    }
    let task = TaskRow {
        status: "answered".into(),
        answered_at: Some(at),
        answered_by: Some(by.to_owned()),
        answered_via: Some(via_name.into()),
        batch_id: batch,
        updated_at: at,
        ..t.clone()
    };
    Ok(Applied {
        task,
        facts: rows,
        discrepancies: flagged,
    })
}

/// Whether a difference in `field` belongs to an answer in `domain`.
pub(crate) fn concerns(domain: DataDomain, field: CheckedField) -> bool {
    use CheckedField as F;
    match domain {
        DataDomain::Vehicles => field == F::VehiclesCount,
        DataDomain::RealEstate => matches!(field, F::HomesCount | F::HomesArea),
        DataDomain::Business => field == F::ControllingShareholder,
        DataDomain::SocialInsurance | DataDomain::SocialAssistance | DataDomain::Tax => {
            field == F::Income
        }
    }
}

/// The household's declared income records of the months whose amounts the facts prove (the
/// proven amounts themselves are the facts: the rules read them through
/// `sharing::with_verified_income`).
fn declared_incomes(
    c: &mut DbConnection,
    t: &TaskRow,
    facts: &[Fact],
) -> MeasureResult<Vec<IncomeRow>> {
    let months: Vec<i64> = facts
        .iter()
        .filter_map(|f| f.income().map(|(_, m, _)| i64::from(m)))
        .collect();
    if months.is_empty() {
        return Ok(Vec::new());
    }
    Ok(income_records::table
        .filter(income_records::household_id.eq(&t.household_id))
        .filter(income_records::source.eq("declared"))
        .filter(income_records::month.eq_any(months))
        .select(IncomeRow::as_select())
        .load(c)?)
}
