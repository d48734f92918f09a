//! A household's plan (一户一策): the measures the rules propose from its facts, and what union
//! staff decide — accept (a referral goes to the lead unit), drop with a reason, or add a measure
//! the rules did not propose. The plan's version is bumped by every change.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::assistance::{PlanItemOrigin, PlanItemStatus, ReferralStatus};
use jiekun_domain::closed::ClosedList;
use jiekun_domain::household::HouseholdStatus;
use jiekun_domain::DepartmentCode;
use serde_json::json;

use super::{
    fresh, invalid, measure_policy, record, wrong_state, Doer, MeasureError, MeasureResult,
    PlanItemRow, PlanRow, Record, ReferralRow,
};
use crate::conn::DbConnection;
use crate::households::{self as hstore, HouseholdRow};
use crate::schema::{household_plans, measures, plan_items, plan_proposals, referrals};
use crate::{Scope, StoreError};

/// A plan with its items and the referrals of its accepted items.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanView {
    pub plan: PlanRow,
    pub items: Vec<PlanItemRow>,
    pub referrals: Vec<ReferralRow>,
}

/// One measure the rules propose.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub measure: i64,
    pub member_ids: Vec<String>,
    /// JSON array of the reasons, as the rules gave them.
    pub reasons: serde_json::Value,
}

/// The household's plan, if it has one (inside `scope`).
pub fn plan(c: &mut DbConnection, scope: &Scope, household_id: &str) -> MeasureResult<PlanView> {
    let h = household(c, scope, household_id)?;
    view(c, &h.id)?.ok_or(MeasureError::NotFound("plan"))
}

pub(crate) fn household(
    c: &mut DbConnection,
    scope: &Scope,
    id: &str,
) -> MeasureResult<HouseholdRow> {
    super::found(hstore::get(c, scope, id), "household")
}

fn view(c: &mut DbConnection, household_id: &str) -> MeasureResult<Option<PlanView>> {
    let plan: Option<PlanRow> = household_plans::table
        .find(household_id)
        .select(PlanRow::as_select())
        .first(c)
        .optional()?;
    let Some(plan) = plan else { return Ok(None) };
    let items = plan_items::table
        .filter(plan_items::household_id.eq(household_id))
        .order(plan_items::measure_number.asc())
        .select(PlanItemRow::as_select())
        .load(c)?;
    let refs = referrals::table
        .filter(referrals::household_id.eq(household_id))
        .order(referrals::measure_number.asc())
        .select(ReferralRow::as_select())
        .load(c)?;
    Ok(Some(PlanView {
        plan,
        items,
        referrals: refs,
    }))
}

fn filed(h: &HouseholdRow) -> MeasureResult<()> {
    if h.status == HouseholdStatus::Filed.as_str() {
        return Ok(());
    }
    let zh = HouseholdStatus::from_code(&h.status).map_or("未知", |s| s.meaning_zh());
    Err(wrong_state(
        format!(
            "only a filed household has a plan of measures (《实施方案》三); this household is `{}`",
            h.status
        ),
        format!("只有已建档立卡的家庭才制定帮扶措施计划（《实施方案》三），该家庭档案状态为“{zh}”"),
    ))
}

/// Claims the plan's version (the caller read `expected`), bumping it.
fn claim(
    c: &mut DbConnection,
    plan: &PlanRow,
    expected: i64,
    at: NaiveDateTime,
) -> MeasureResult<i64> {
    fresh(plan.version, expected)?;
    let n = diesel::update(
        household_plans::table
            .filter(household_plans::household_id.eq(&plan.household_id))
            .filter(household_plans::version.eq(expected)),
    )
    .set((
        household_plans::version.eq(expected + 1),
        household_plans::updated_at.eq(at),
    ))
    .execute(c)?;
    if n == 0 {
        return Err(MeasureError::Stale {
            expected,
            actual: expected + 1,
        });
    }
    Ok(expected + 1)
}

/// Stores the rules' proposals for a filed household: a first plan, or a fresh proposal on an
/// existing one (whose version the caller must have read). Items already accepted or dropped stay
/// as they are; proposals no longer made are withdrawn when still undecided.
pub fn propose(
    c: &mut DbConnection,
    doer: &Doer,
    at: NaiveDateTime,
    today: NaiveDate,
    household_id: &str,
    expected: Option<i64>,
    proposals: &[Proposal],
) -> MeasureResult<PlanView> {
    let h = household(c, &doer.scope, household_id)?;
    filed(&h)?;
    match view(c, &h.id)? {
        None => {
            diesel::insert_into(household_plans::table)
                .values(&PlanRow {
                    household_id: h.id.clone(),
                    organisation_path: h.organisation_path.clone(),
                    region_code: h.region_code.clone(),
                    proposed_on: today,
                    version: 1,
                    created_by: doer.name.clone(),
                    created_at: at,
                    updated_at: at,
                })
                .execute(c)
                .map_err(|e| match StoreError::from(e) {
                    // Two first proposals raced: the second must read the plan and retry.
                    StoreError::Conflict { .. } => MeasureError::Stale {
                        expected: 0,
                        actual: 1,
                    },
                    e => e.into(),
                })?;
        }
        Some(v) => {
            let Some(expected) = expected else {
                return Err(MeasureError::Stale {
                    expected: 0,
                    actual: v.plan.version,
                });
            };
            claim(c, &v.plan, expected, at)?;
            diesel::update(household_plans::table.find(&h.id))
                .set(household_plans::proposed_on.eq(today))
                .execute(c)?;
        }
    }
    let existing: Vec<PlanItemRow> = plan_items::table
        .filter(plan_items::household_id.eq(&h.id))
        .select(PlanItemRow::as_select())
        .load(c)?;
    let proposed = PlanItemStatus::Proposed.as_str();
    for old in &existing {
        let still = proposals.iter().any(|p| p.measure == old.measure_number);
        if !still && old.status == proposed {
            diesel::delete(plan_items::table.find(&old.id)).execute(c)?;
        }
    }
    for p in proposals {
        let members = p.member_ids.join(",");
        let reasons = p.reasons.to_string();
        match existing.iter().find(|o| o.measure_number == p.measure) {
            Some(old) if old.status == proposed => {
                diesel::update(plan_items::table.find(&old.id))
                    .set((
                        plan_items::member_ids.eq(members),
                        plan_items::reasons.eq(reasons),
                        plan_items::updated_at.eq(at),
                    ))
                    .execute(c)?;
            }
            Some(_) => {}
            None => {
                diesel::insert_into(plan_items::table)
                    .values(&PlanItemRow {
                        id: crate::new_id(),
                        household_id: h.id.clone(),
                        measure_number: p.measure,
                        origin: PlanItemOrigin::Rule.as_str().into(),
                        status: proposed.into(),
                        member_ids: members,
                        reasons,
                        note: None,
                        drop_reason: None,
                        decided_by: None,
                        decided_at: None,
                        created_at: at,
                        updated_at: at,
                    })
                    .execute(c)?;
            }
        }
    }
    let numbers: Vec<i64> = proposals.iter().map(|p| p.measure).collect();
    // The rules' verdict, kept as history for the coverage report.
    for n in &numbers {
        diesel::insert_into(plan_proposals::table)
            .values((
                plan_proposals::household_id.eq(&h.id),
                plan_proposals::proposed_at.eq(at),
                plan_proposals::measure_number.eq(n),
            ))
            .execute(c)?;
    }
    let opinion = numbers
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    record(
        c,
        doer,
        at,
        Record {
            subject_kind: "plan",
            subject_id: &h.id,
            household_id: &h.id,
            action: "propose_plan",
            from: None,
            to: None,
            opinion: Some(&opinion),
            audit_action: "plan.propose",
            changes: json!({"measures": numbers}),
        },
    )?;
    view(c, &h.id)?.ok_or(MeasureError::NotFound("plan"))
}

/// What staff decide about one measure of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Accept a proposed measure: a referral goes to its lead unit.
    Accept { note: Option<String> },
    /// Drop a proposed measure, with a reason.
    Drop { reason: String },
    /// Add a measure the rules did not propose (accepted at once, with its referral).
    Add {
        member_ids: Vec<String>,
        note: Option<String>,
    },
}

/// Applies a decision to measure `measure` of the plan of `household_id`, whose version the caller
/// read as `expected`.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    c: &mut DbConnection,
    doer: &Doer,
    at: NaiveDateTime,
    today: NaiveDate,
    household_id: &str,
    measure: i64,
    expected: i64,
    decision: Decision,
) -> MeasureResult<PlanView> {
    let h = household(c, &doer.scope, household_id)?;
    filed(&h)?;
    let v = view(c, &h.id)?.ok_or(MeasureError::NotFound("plan"))?;
    let item = v
        .items
        .iter()
        .find(|i| i.measure_number == measure)
        .cloned();
    let lead = lead_department(c, measure)?;
    let (item, action, audit_action, to, opinion) = match (&decision, item) {
        (Decision::Accept { note }, Some(item)) => {
            undecided(&item)?;
            claim(c, &v.plan, expected, at)?;
            set_status(
                c,
                &item,
                PlanItemStatus::Accepted,
                doer,
                at,
                note.clone(),
                None,
            )?;
            (
                item,
                "accept_measure",
                "plan.accept",
                "accepted",
                note.clone(),
            )
        }
        (Decision::Drop { reason }, Some(item)) => {
            undecided(&item)?;
            claim(c, &v.plan, expected, at)?;
            set_status(
                c,
                &item,
                PlanItemStatus::Dropped,
                doer,
                at,
                None,
                Some(reason),
            )?;
            (
                item,
                "drop_measure",
                "plan.drop",
                "dropped",
                Some(reason.clone()),
            )
        }
        (Decision::Add { member_ids, note }, None) => {
            let members = known_members(c, &h.id, member_ids)?;
            claim(c, &v.plan, expected, at)?;
            let item = PlanItemRow {
                id: crate::new_id(),
                household_id: h.id.clone(),
                measure_number: measure,
                origin: PlanItemOrigin::Staff.as_str().into(),
                status: PlanItemStatus::Accepted.as_str().into(),
                member_ids: members.join(","),
                reasons: "[]".into(),
                note: note.clone(),
                drop_reason: None,
                decided_by: Some(doer.name.clone()),
                decided_at: Some(at),
                created_at: at,
                updated_at: at,
            };
            diesel::insert_into(plan_items::table)
                .values(&item)
                .execute(c)?;
            (item, "add_measure", "plan.add", "accepted", note.clone())
        }
        (Decision::Add { .. }, Some(_)) => {
            return Err(MeasureError::WrongState {
                message: format!("measure {measure} is already in the plan"),
                message_zh: format!("第{measure}项措施已在计划中"),
            })
        }
        (_, None) => {
            return Err(invalid(
                "measure",
                "not_in_plan",
                format!("measure {measure} is not in the plan; add it instead"),
                format!("第{measure}项措施不在计划中，请改为添加"),
            ))
        }
    };
    let mut changes = json!({"measure": measure, "status": to});
    if to == "accepted" {
        let policy = measure_policy(c, &h.region_code, today)?;
        let calendar = crate::workflows::calendar_from(c, today)?;
        let due_on = calendar.notice_ends_on(
            today.succ_opt().unwrap_or(today),
            policy.referral_due_working_days,
            true,
        );
        let referral = ReferralRow {
            id: crate::new_id(),
            household_id: h.id.clone(),
            plan_item_id: item.id.clone(),
            measure_number: measure,
            department_code: lead.as_str().into(),
            organisation_path: h.organisation_path.clone(),
            region_code: h.region_code.clone(),
            member_ids: item.member_ids.clone(),
            status: ReferralStatus::Open.as_str().into(),
            due_on,
            note: opinion.clone(),
            decline_reason: None,
            delivered_on: None,
            delivery_note: None,
            answered_by: None,
            created_by: doer.name.clone(),
            state_since: at,
            version: 1,
            created_at: at,
            updated_at: at,
        };
        diesel::insert_into(referrals::table)
            .values(&referral)
            .execute(c)?;
        changes["referral_id"] = json!(referral.id);
        changes["department_code"] = json!(referral.department_code);
        changes["due_on"] = json!(referral.due_on);
    }
    record(
        c,
        doer,
        at,
        Record {
            subject_kind: "plan",
            subject_id: &h.id,
            household_id: &h.id,
            action,
            from: None,
            to: Some(to),
            opinion: opinion.as_deref(),
            audit_action,
            changes,
        },
    )?;
    view(c, &h.id)?.ok_or(MeasureError::NotFound("plan"))
}

fn undecided(item: &PlanItemRow) -> MeasureResult<()> {
    if item.status == PlanItemStatus::Proposed.as_str() {
        return Ok(());
    }
    let zh = PlanItemStatus::from_code(&item.status).map_or("未知", |s| s.meaning_zh());
    Err(wrong_state(
        format!(
            "measure {} has been decided already: it is `{}`",
            item.measure_number, item.status
        ),
        format!("第{}项措施已有决定，当前为“{zh}”", item.measure_number),
    ))
}

fn set_status(
    c: &mut DbConnection,
    item: &PlanItemRow,
    status: PlanItemStatus,
    doer: &Doer,
    at: NaiveDateTime,
    note: Option<String>,
    drop_reason: Option<&String>,
) -> MeasureResult<()> {
    diesel::update(plan_items::table.find(&item.id))
        .set((
            plan_items::status.eq(status.as_str()),
            plan_items::note.eq(note),
            plan_items::drop_reason.eq(drop_reason),
            plan_items::decided_by.eq(Some(doer.name.clone())),
            plan_items::decided_at.eq(Some(at)),
            plan_items::updated_at.eq(at),
        ))
        .execute(c)?;
    Ok(())
}

/// The member ids, each checked to be a member of the household.
fn known_members(
    c: &mut DbConnection,
    household_id: &str,
    ids: &[String],
) -> MeasureResult<Vec<String>> {
    let members = hstore::members(c, household_id)?;
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !members.iter().any(|m| &m.id == id) {
            return Err(invalid(
                "member_ids",
                "unknown_member",
                format!("{id} is not a member of this household"),
                format!("{id} 不是该家庭的成员"),
            ));
        }
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out.sort();
    Ok(out)
}

/// The department a measure's referrals go to: its first lead unit that is a department kind
/// (`union` for the measures the union leads itself).
pub fn lead_department(c: &mut DbConnection, measure: i64) -> MeasureResult<DepartmentCode> {
    let lead: Option<String> = measures::table
        .find(measure)
        .select(measures::lead_units)
        .first(c)
        .optional()?;
    let Some(lead) = lead else {
        return Err(invalid(
            "measure",
            "unknown_measure",
            format!("there is no measure {measure}; the measures are numbered 1 to 19"),
            format!("不存在第{measure}项措施，措施编号为 1 至 19"),
        ));
    };
    lead.split(',')
        .find_map(|u| u.parse::<DepartmentCode>().ok())
        .ok_or_else(|| MeasureError::Policy(format!("measure {measure} has no lead department")))
}
