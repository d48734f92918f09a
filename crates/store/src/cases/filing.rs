//! Filing (plan §二(一)): the grassroots union applies, the county union reviews and publishes
//! notice, the city union approves and the household is filed.

use chrono::Datelike;
use jiekun_domain::access::Role;
use jiekun_domain::household::HouseholdStatus;
use jiekun_domain::workflow::{file_number, Filing, FilingAction, FilingState};
use serde_json::json;

use super::{
    already_open, assessment_of, claim, end_notice, found, household_in_scope, invalid, policy,
    publish_notice, record, withdraw_running, wrong_state, Actor, Entry, Published, StepError,
    StepInput, StepResult, When,
};
use crate::conn::DbConnection;
use crate::households::{self as hstore, HouseholdRow};
use crate::workflows::{self as store, ApplicationChange, ApplicationRow, LifecycleRow};
use crate::Scope;

/// Opens a filing application, in `draft`, for a household of the actor's.
pub fn open_application(
    c: &mut DbConnection,
    actor: &Actor,
    when: When,
    household_id: &str,
    assessment_id: Option<&str>,
    opinion: Option<&str>,
) -> StepResult<ApplicationRow> {
    let h = household_in_scope(c, &actor.scope, household_id)?;
    let status: HouseholdStatus = h
        .status
        .parse()
        .map_err(|_| StepError::Policy(format!("unknown household status {}", h.status)))?;
    if status == HouseholdStatus::Filed {
        return Err(wrong_state(
            "the household is already filed",
            "该家庭已建档",
        ));
    }
    if let Some(open) = store::open_application_of(c, &h.id)? {
        return Err(StepError::AlreadyOpen {
            kind: "application",
            id: open.id,
        });
    }
    if let Some(id) = assessment_id {
        assessment_of(c, &actor.scope, id, &h.id, "identify")?;
    }
    if !status.is_active() {
        hstore::reclaim_persons(c, &actor.scope, &h.id)?;
    }
    let returning = matches!(
        status,
        HouseholdStatus::Monitoring | HouseholdStatus::Closed
    );
    if status != HouseholdStatus::Draft && status != HouseholdStatus::Monitoring {
        hstore::set_status(
            c,
            &h.id,
            HouseholdStatus::Draft.as_str(),
            None,
            None,
            when.at,
        )?;
    }
    let row = ApplicationRow {
        id: crate::new_id(),
        household_id: h.id.clone(),
        organisation_path: h.organisation_path.clone(),
        region_code: h.region_code.clone(),
        state: FilingState::Draft.as_str().into(),
        category: None,
        assessment_id: assessment_id.map(Into::into),
        notice_id: None,
        previous_file_number: returning.then(|| h.file_number.clone()).flatten(),
        file_number: None,
        opened_by: actor.username.clone(),
        state_since: when.at,
        version: 1,
        created_at: when.at,
        updated_at: when.at,
    };
    store::insert_application(c, &row).map_err(already_open("application"))?;
    let entry = Entry {
        subject_kind: "application",
        subject_id: &row.id,
        household_id: &h.id,
        action: "open",
        from: None,
        to: Some("draft"),
        role: Some(Role::GrassrootsOfficer),
        opinion,
        assessment_id,
    };
    let changes =
        json!({"household_id": row.household_id, "returning_file": row.previous_file_number});
    record(
        c,
        actor,
        when,
        entry,
        ("application.open", "application", &row.id, changes),
    )?;
    Ok(row)
}

/// Takes a step on an application: the county review relies on an eligible identification
/// assessment, the notice is published and ended here, and city approval files the household
/// with its file number.
pub fn act_on_application(
    c: &mut DbConnection,
    actor: &Actor,
    when: When,
    id: &str,
    expected: i64,
    action: FilingAction,
    input: &StepInput,
) -> StepResult<ApplicationRow> {
    let app = found(store::application(c, &actor.scope, id)?, "application")?;
    let step = claim::<Filing>(
        c,
        actor,
        when,
        &app.state,
        app.notice_id.as_deref(),
        (app.version, expected),
        action,
        input,
        false,
    )?;
    let h = hstore::get(c, &Scope::All, &app.household_id)?;
    let (change, relied_on) = relied_on(c, actor, &app, &h, action, input)?;
    if action == FilingAction::StartNotice {
        verified_or_overridden(c, &app, input)?;
    }
    let change = ApplicationChange {
        state: Some(step.to.as_str().into()),
        ..change
    };
    // Claim the step first: of two conflicting steps, the second waits here and then finds the
    // version moved on, before it has done anything.
    let mut row = store::update_application(c, &app.id, expected, &change, when.at)?;
    let mut links = ApplicationChange::default();
    match action {
        FilingAction::StartNotice => {
            let published = Published {
                subject_kind: "application",
                subject_id: &app.id,
                category: app.category.clone(),
                grounds: None,
                starts_on: input.notice_starts_on.unwrap_or(when.today),
            };
            links.notice_id = Some(publish_notice(c, actor, &h, published, when.at)?.id);
        }
        FilingAction::EndNotice => end_notice(c, &step.notice)?,
        FilingAction::CityApprove => links.file_number = Some(file(c, &app, &h, when)?),
        FilingAction::Return | FilingAction::Reject => {
            withdraw_running(c, &step.notice)?;
            if action == FilingAction::Reject {
                end_first_application(c, &h, HouseholdStatus::Rejected, when.at)?;
            }
        }
        FilingAction::Withdraw => {
            end_first_application(c, &h, HouseholdStatus::Withdrawn, when.at)?
        }
        FilingAction::StartReview => {
            let doer = crate::measures::Doer {
                name: actor.username.clone(),
                role: step.role,
                unit: crate::measures::Unit::Organisation {
                    id: actor.organisation_id.clone(),
                },
                scope: Scope::All,
                caller: actor.caller.clone(),
            };
            crate::sharing::verifications::open_on_review(c, &doer, (when.at, when.today), &h)
                .map_err(|e| StepError::Policy(e.to_string()))?;
        }
        FilingAction::Submit | FilingAction::ApproveReview => {}
    }
    if links.notice_id.is_some() || links.file_number.is_some() {
        row = store::link_application(c, &row.id, &links)?;
    }
    let entry = Entry {
        subject_kind: "application",
        subject_id: &row.id,
        household_id: &h.id,
        action: action.as_str(),
        from: Some(step.from.as_str()),
        to: Some(step.to.as_str()),
        role: step.role,
        opinion: input.opinion.as_deref(),
        assessment_id: relied_on.as_deref(),
    };
    let changes = json!({"from": step.from, "to": step.to, "household_id": row.household_id,
        "file_number": row.file_number, "assessment_id": relied_on,
        "verification_override": input.verification_override});
    let audited = format!("application.{}", action.as_str());
    record(
        c,
        actor,
        when,
        entry,
        (&audited, "application", &row.id, changes),
    )?;
    Ok(row)
}

/// The assessment a step relies on: one given with the step (of the household, `identify`), and
/// for the county review the one given or attached before, which must find the household
/// eligible and settles its category.
fn relied_on(
    c: &mut DbConnection,
    actor: &Actor,
    app: &ApplicationRow,
    h: &HouseholdRow,
    action: FilingAction,
    input: &StepInput,
) -> StepResult<(ApplicationChange, Option<String>)> {
    let mut change = ApplicationChange::default();
    if let Some(a) = &input.assessment_id {
        assessment_of(c, &actor.scope, a, &h.id, "identify")?;
        change.assessment_id = Some(a.clone());
    }
    if action != FilingAction::ApproveReview {
        return Ok((change, input.assessment_id.clone()));
    }
    let Some(a) = input.assessment_id.clone().or(app.assessment_id.clone()) else {
        return Err(invalid(
            "assessment_id",
            "required",
            "the county review relies on a stored identification assessment",
            "县总工会审核须依据已保存的精准识别评估",
        ));
    };
    let row = assessment_of(c, &actor.scope, &a, &h.id, "identify")?;
    if row.verdict == "not_eligible" {
        return Err(invalid(
            "assessment_id",
            "not_eligible",
            "the assessment finds the household not eligible: reject or return instead",
            "评估结论为不符合条件，应不予通过或退回",
        ));
    }
    change.category = Some(row.verdict);
    change.assessment_id = Some(a.clone());
    Ok((change, Some(a)))
}

/// Files the household (建档立卡): the next file number of its region and year, its category,
/// and its first annual review one review interval from today.
fn file(
    c: &mut DbConnection,
    app: &ApplicationRow,
    h: &HouseholdRow,
    when: When,
) -> StepResult<String> {
    let year = when.today.year();
    let seq = store::next_file_sequence(c, &h.region_code, year)?;
    let number = file_number(&h.region_code, year, seq);
    hstore::set_status(
        c,
        &h.id,
        HouseholdStatus::Filed.as_str(),
        app.category.as_deref(),
        Some(&number),
        when.at,
    )?;
    let policy = policy(c, &h.region_code, when.today)?;
    let before = store::lifecycle(c, &h.id)?.unwrap_or_default();
    store::save_lifecycle(
        c,
        &LifecycleRow {
            household_id: h.id.clone(),
            filed_on: Some(when.today),
            next_review_due: Some(super::add_months(when.today, policy.review_interval_months)),
            exited_on: None,
            exit_grounds: None,
            monitoring_until: None,
            closed_on: None,
            previous_file_number: app
                .previous_file_number
                .clone()
                .or(before.previous_file_number),
            updated_at: when.at,
        },
    )?;
    Ok(number)
}

/// A household whose first application ends without filing frees its members; one that was
/// filed before (monitoring) keeps its standing.
fn end_first_application(
    c: &mut DbConnection,
    h: &HouseholdRow,
    to: HouseholdStatus,
    at: chrono::NaiveDateTime,
) -> StepResult<()> {
    if h.status == HouseholdStatus::Draft.as_str() {
        hstore::set_status(c, &h.id, to.as_str(), None, None, at)?;
        hstore::release_persons(c, &h.id)?;
    }
    Ok(())
}

/// The notice starts only once every verification task of the household is answered and at
/// least one verification was asked since the application opened, unless the step gives an
/// override with its reason.
fn verified_or_overridden(
    c: &mut DbConnection,
    app: &ApplicationRow,
    input: &StepInput,
) -> StepResult<()> {
    let (open, requested) =
        crate::sharing::verifications::pending_for(c, &app.household_id, app.created_at)?;
    if (open == 0 && requested) || input.verification_override.is_some() {
        return Ok(());
    }
    Err(StepError::VerificationPending { open, requested })
}
