//! Exit (plan §二(二)): the grassroots union (or the county, from the exit candidates) proposes,
//! the county union re-checks, the city union reviews and publishes notice, and the household
//! exits — into monitoring after 脱困 or 解困, closed after death or transfer.

use jiekun_domain::access::{role_allows, Action, Role};
use jiekun_domain::closed::ClosedList;
use jiekun_domain::household::HouseholdStatus;
use jiekun_domain::rules::ExitVerdict;
use jiekun_domain::workflow::{Exit, ExitAction, ExitGrounds, ExitState};
use serde_json::json;

use super::{
    already_open, assessment_of, claim, end_notice, found, fresh, household_in_scope,
    household_not, invalid, policy, publish_notice, record, role_among, withdraw_running, Actor,
    Entry, Published, StepError, StepInput, StepResult, When,
};
use crate::conn::DbConnection;
use crate::households::{self as hstore, HouseholdRow};
use crate::workflows::{self as store, ExitCaseChange, ExitCaseRow, LifecycleRow};
use crate::Scope;

/// Proposes the exit of a filed household. `origin` is `grassroots` (reported by the union) or
/// `candidate` (opened by the county from the system's exit candidates).
#[allow(clippy::too_many_arguments)]
pub fn open_exit_case(
    c: &mut DbConnection,
    actor: &Actor,
    when: When,
    household_id: &str,
    grounds: ExitGrounds,
    origin: &str,
    assessment_id: Option<&str>,
    opinion: Option<&str>,
) -> StepResult<ExitCaseRow> {
    if grounds.is_fast_path() && opinion.is_none() {
        return Err(invalid(
            "opinion",
            "required",
            "death and transfer need a written report",
            "死亡、迁出须写明情况",
        ));
    }
    let h = household_in_scope(c, &actor.scope, household_id)?;
    if h.status != HouseholdStatus::Filed.as_str() {
        return Err(household_not(
            &h,
            "only a filed household can exit",
            "只有已建档家庭才能退出",
        ));
    }
    if let Some(open) = store::open_exit_case_of(c, &h.id)? {
        return Err(StepError::AlreadyOpen {
            kind: "exit_case",
            id: open.id,
        });
    }
    match assessment_id {
        Some(a) => matching_assessment(c, actor, &h, a, grounds)?,
        None if !grounds.is_fast_path() => {
            return Err(invalid(
                "assessment_id",
                "required",
                "out_of_hardship (脱困) and safety_net (解困) rely on a stored exit assessment",
                "脱困、解困须依据已保存的精准退出评估",
            ))
        }
        None => {}
    }
    let row = ExitCaseRow {
        id: crate::new_id(),
        household_id: h.id.clone(),
        organisation_path: h.organisation_path.clone(),
        region_code: h.region_code.clone(),
        state: ExitState::Proposed.as_str().into(),
        grounds: grounds.as_str().into(),
        origin: origin.into(),
        assessment_id: assessment_id.map(Into::into),
        notice_id: None,
        opened_by: actor.username.clone(),
        state_since: when.at,
        version: 1,
        created_at: when.at,
        updated_at: when.at,
    };
    store::insert_exit_case(c, &row).map_err(already_open("exit_case"))?;
    let entry = Entry {
        subject_kind: "exit_case",
        subject_id: &row.id,
        household_id: &h.id,
        action: "propose",
        from: None,
        to: Some("proposed"),
        role: actor
            .roles
            .iter()
            .copied()
            .find(|&r| role_allows(r, Action::ExitOpen)),
        opinion,
        assessment_id,
    };
    let changes =
        json!({"household_id": row.household_id, "grounds": row.grounds, "origin": row.origin});
    record(
        c,
        actor,
        when,
        entry,
        ("exit_case.propose", "exit_case", &row.id, changes),
    )?;
    Ok(row)
}

/// An exit assessment of the household whose verdict is the grounds (death and transfer take
/// any).
fn matching_assessment(
    c: &mut DbConnection,
    actor: &Actor,
    h: &HouseholdRow,
    id: &str,
    grounds: ExitGrounds,
) -> StepResult<()> {
    let row = assessment_of(c, &actor.scope, id, &h.id, "exit")?;
    if grounds.is_fast_path() || row.verdict == grounds.as_str() {
        return Ok(());
    }
    let verdict_zh = ExitVerdict::from_code(&row.verdict).map_or("未知", |v| v.meaning_zh());
    Err(invalid(
        "assessment_id",
        "verdict_mismatch",
        format!(
            "the assessment's verdict is `{}`, not `{}`",
            row.verdict,
            grounds.as_str()
        ),
        format!(
            "评估结论为“{verdict_zh}”（{}），与退出类型“{}”（{}）不符",
            row.verdict,
            grounds.meaning_zh(),
            grounds.as_str()
        ),
    ))
}

/// Takes a step on an exit case.
pub fn act_on_exit_case(
    c: &mut DbConnection,
    actor: &Actor,
    when: When,
    id: &str,
    expected: i64,
    action: ExitAction,
    input: &StepInput,
) -> StepResult<ExitCaseRow> {
    let case = found(store::exit_case(c, &actor.scope, id)?, "exit case")?;
    let grounds = ExitGrounds::from_code(&case.grounds)
        .ok_or_else(|| StepError::Policy(format!("unknown grounds {}", case.grounds)))?;
    let step = claim::<Exit>(
        c,
        actor,
        when,
        &case.state,
        case.notice_id.as_deref(),
        (case.version, expected),
        action,
        input,
        grounds.is_fast_path(),
    )?;
    let h = hstore::get(c, &Scope::All, &case.household_id)?;
    if let Some(a) = &input.assessment_id {
        matching_assessment(c, actor, &h, a, grounds)?;
    }
    let change = ExitCaseChange {
        state: Some(step.to.as_str().into()),
        assessment_id: input.assessment_id.clone(),
        notice_id: None,
    };
    let mut row = store::update_exit_case(c, &case.id, expected, &change, when.at)?;
    match action {
        ExitAction::StartNotice => {
            let published = Published {
                subject_kind: "exit_case",
                subject_id: &case.id,
                category: h.category.clone(),
                grounds: Some(grounds.as_str().into()),
                starts_on: input.notice_starts_on.unwrap_or(when.today),
            };
            let n = publish_notice(c, actor, &h, published, when.at)?;
            let links = ExitCaseChange {
                notice_id: Some(n.id),
                ..ExitCaseChange::default()
            };
            row = store::link_exit_case(c, &row.id, &links)?;
        }
        ExitAction::CompleteExit | ExitAction::FastExit => {
            end_notice(c, &step.notice)?;
            exit_household(c, &h, grounds, when)?;
        }
        ExitAction::Cancel => withdraw_running(c, &step.notice)?,
        ExitAction::StartRecheck | ExitAction::ConfirmRecheck => {}
    }
    let entry = Entry {
        subject_kind: "exit_case",
        subject_id: &row.id,
        household_id: &h.id,
        action: action.as_str(),
        from: Some(step.from.as_str()),
        to: Some(step.to.as_str()),
        role: step.role,
        opinion: input.opinion.as_deref(),
        assessment_id: input.assessment_id.as_deref(),
    };
    let changes = json!({"from": step.from, "to": step.to, "household_id": row.household_id,
        "grounds": row.grounds, "assessment_id": input.assessment_id});
    let audited = format!("exit_case.{}", action.as_str());
    record(
        c,
        actor,
        when,
        entry,
        (&audited, "exit_case", &row.id, changes),
    )?;
    Ok(row)
}

/// The household leaves: monitored for the policy's period after 脱困 or 解困; closed, with its
/// members freed, after death or transfer.
fn exit_household(
    c: &mut DbConnection,
    h: &HouseholdRow,
    grounds: ExitGrounds,
    when: When,
) -> StepResult<()> {
    let mut life = store::lifecycle(c, &h.id)?.unwrap_or_else(|| LifecycleRow {
        household_id: h.id.clone(),
        ..LifecycleRow::default()
    });
    life.exited_on = Some(when.today);
    life.exit_grounds = Some(grounds.as_str().into());
    life.next_review_due = None;
    life.updated_at = when.at;
    if grounds.is_fast_path() {
        life.closed_on = Some(when.today);
        life.monitoring_until = None;
        hstore::set_status(
            c,
            &h.id,
            HouseholdStatus::Closed.as_str(),
            None,
            None,
            when.at,
        )?;
        hstore::release_persons(c, &h.id)?;
    } else {
        let policy = policy(c, &h.region_code, when.today)?;
        life.monitoring_until = Some(super::add_months(when.today, policy.monitoring_months));
        hstore::set_status(
            c,
            &h.id,
            HouseholdStatus::Monitoring.as_str(),
            None,
            None,
            when.at,
        )?;
    }
    store::save_lifecycle(c, &life)?;
    Ok(())
}

/// Closes the file of a household whose monitoring period is over (county union); its members
/// are freed.
pub fn close_monitoring(
    c: &mut DbConnection,
    actor: &Actor,
    when: When,
    household_id: &str,
    expected: i64,
    opinion: Option<&str>,
) -> StepResult<HouseholdRow> {
    let h = household_in_scope(c, &actor.scope, household_id)?;
    if h.status != HouseholdStatus::Monitoring.as_str() {
        return Err(household_not(
            &h,
            "only a monitored household is closed at the end of monitoring",
            "只有处于监测期的家庭才能监测期满关闭",
        ));
    }
    let role = role_among(
        actor,
        &[Role::CountyReviewer, Role::CountyAdmin],
        "the county union closes monitored files",
        "监测期满关闭档案由县总工会办理",
    )?;
    let mut life = store::lifecycle(c, &h.id)?.unwrap_or_default();
    if let Some(until) = life.monitoring_until.filter(|u| when.today <= *u) {
        return Err(StepError::MonitoringRunning { until });
    }
    fresh(h.version, expected)?;
    let closed = hstore::set_status(
        c,
        &h.id,
        HouseholdStatus::Closed.as_str(),
        None,
        None,
        when.at,
    )?;
    hstore::release_persons(c, &h.id)?;
    life.household_id = h.id.clone();
    life.closed_on = Some(when.today);
    life.updated_at = when.at;
    store::save_lifecycle(c, &life)?;
    let entry = Entry {
        subject_kind: "household",
        subject_id: &h.id,
        household_id: &h.id,
        action: "close_monitoring",
        from: Some("monitoring"),
        to: Some("closed"),
        role: Some(role),
        opinion,
        assessment_id: None,
    };
    let changes = json!({"from": "monitoring", "to": "closed"});
    record(
        c,
        actor,
        when,
        entry,
        ("household.close", "household", &h.id, changes),
    )?;
    Ok(closed)
}
