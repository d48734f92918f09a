//! Workflow steps as units of work (DESIGN §4): each reads the case, asks the domain's state
//! machine whether the caller may take the step, claims the case's version, then stores what
//! follows — the notice it publishes, the file number it gives, the household's new standing —
//! and the timeline entry. Run inside [`crate::write`] with the caller's audit event, so that the
//! whole step is one transaction.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use jiekun_domain::access::Role;
use jiekun_domain::calendar::notice_over;
use jiekun_domain::closed::ClosedList;
use jiekun_domain::household::HouseholdStatus;
use jiekun_domain::national_id::mask_name;
use jiekun_domain::workflow::{
    exit_transition, exit_transition_for, file_number, filing_transition, filing_transition_for,
    ExitAction, ExitGrounds, ExitState, Facts, FilingAction, FilingState, Refusal,
};

use crate::conn::DbConnection;
use crate::households::{self as hstore, FileError, HouseholdRow};
use crate::rules::AssessmentRow;
use crate::workflows::{
    self as store, ApplicationChange, ApplicationRow, EventRow, ExitCaseChange, ExitCaseRow,
    LifecycleRow, Located, NoticeRow, ReviewRow,
};
use crate::{Scope, StoreError};

/// Who takes a step, as the timeline records them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub username: String,
    pub roles: Vec<Role>,
    pub organisation_id: String,
    pub scope: Scope,
}

/// When a step is taken: the local date rules follow and the stored instant.
#[derive(Debug, Clone, Copy)]
pub struct When {
    pub today: NaiveDate,
    pub at: NaiveDateTime,
}

/// Why a step did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("the {0} lies outside the caller's scope")]
    OutOfScope(&'static str),
    /// The state machine said no.
    #[error("{refusal}")]
    Refused {
        refusal: Refusal,
        state: String,
        action: String,
    },
    #[error("the notice runs until {ends_on}")]
    NoticeRunning { ends_on: NaiveDate },
    #[error("monitoring runs until {until}")]
    MonitoringRunning { until: NaiveDate },
    #[error("version {expected} expected but {actual} stored")]
    Stale { expected: i64, actual: i64 },
    /// A field of the request does not hold.
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
    WrongRole { message: String, message_zh: String },
    /// A case of this kind is already on its way for the household.
    #[error("{kind} {id} is on its way")]
    AlreadyOpen { kind: &'static str, id: String },
    #[error("policy: {0}")]
    Policy(String),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for StepError {
    fn from(e: diesel::result::Error) -> Self {
        StepError::Store(e.into())
    }
}

type StepResult<T> = Result<T, StepError>;

fn invalid(
    field: &'static str,
    code: &'static str,
    en: impl Into<String>,
    zh: impl Into<String>,
) -> StepError {
    StepError::Invalid {
        field,
        code,
        message: en.into(),
        message_zh: zh.into(),
    }
}

fn wrong_state(en: impl Into<String>, zh: impl Into<String>) -> StepError {
    StepError::WrongState {
        message: en.into(),
        message_zh: zh.into(),
    }
}

fn wrong_role(en: &str, zh: &str) -> StepError {
    StepError::WrongRole {
        message: en.into(),
        message_zh: zh.into(),
    }
}

fn found<T>(l: Located<T>, what: &'static str) -> StepResult<T> {
    match l {
        Located::Found(t) => Ok(t),
        Located::OutOfScope => Err(StepError::OutOfScope(what)),
        Located::Missing => Err(StepError::NotFound(what)),
    }
}

fn household_in_scope(c: &mut DbConnection, scope: &Scope, id: &str) -> StepResult<HouseholdRow> {
    hstore::get(c, scope, id).map_err(|e| match e {
        StoreError::NotFound => StepError::NotFound("household"),
        e => e.into(),
    })
}

/// What a step records on the timeline, less what the actor and clock supply.
struct Entry<'a> {
    subject_kind: &'static str,
    subject_id: &'a str,
    household_id: &'a str,
    action: &'a str,
    from: Option<&'a str>,
    to: Option<&'a str>,
    role: Option<Role>,
    opinion: Option<&'a str>,
    assessment_id: Option<&'a str>,
}

fn record(c: &mut DbConnection, actor: &Actor, when: When, e: Entry) -> StepResult<()> {
    let org = crate::organisations::get(c, &Scope::All, &actor.organisation_id).ok();
    store::record(
        c,
        &EventRow {
            id: crate::new_id(),
            subject_kind: e.subject_kind.into(),
            subject_id: e.subject_id.into(),
            household_id: e.household_id.into(),
            action: e.action.into(),
            from_state: e.from.map(Into::into),
            to_state: e.to.map(Into::into),
            actor: actor.username.clone(),
            actor_role: e.role.map(|r| r.as_str().to_owned()),
            organisation_id: Some(actor.organisation_id.clone()),
            organisation_name: org.map(|o| o.name),
            opinion: e.opinion.map(Into::into),
            assessment_id: e.assessment_id.map(Into::into),
            at: when.at,
        },
    )?;
    Ok(())
}

/// The stored assessment `id` of `household` of `kind`, or why it cannot be relied on.
fn assessment_of(
    c: &mut DbConnection,
    scope: &Scope,
    id: &str,
    household: &str,
    kind: &str,
) -> StepResult<AssessmentRow> {
    let row = crate::rules::assessment(c, scope, id).map_err(|e| match e {
        StoreError::NotFound => invalid(
            "assessment_id",
            "unknown",
            "no such assessment",
            "评估记录不存在",
        ),
        e => e.into(),
    })?;
    if row.household_id != household {
        return Err(invalid(
            "assessment_id",
            "other_household",
            "the assessment is of another household",
            "该评估属于其他家庭",
        ));
    }
    if row.kind != kind {
        return Err(invalid(
            "assessment_id",
            "wrong_kind",
            format!("an assessment of kind `{kind}` is needed"),
            format!("需要类型为 {kind} 的评估"),
        ));
    }
    Ok(row)
}

/// The facts a step depends on, read from the case's notice.
fn notice_facts(
    c: &mut DbConnection,
    notice_id: Option<&str>,
    today: NaiveDate,
    reason_given: bool,
) -> StepResult<(Facts, Option<NoticeRow>)> {
    let mut facts = Facts {
        reason_given,
        ..Facts::default()
    };
    let notice = match notice_id {
        Some(id) => Some(store::notice(c, id)?),
        None => None,
    };
    if let Some(n) = &notice {
        facts.notice_ended = notice_over(n.ends_on, today);
        facts.open_objections = u32::try_from(store::open_objections(c, &n.id)?).unwrap_or(1);
    }
    Ok((facts, notice))
}

fn refused(r: Refusal, notice: &Option<NoticeRow>, state: &str, action: &str) -> StepError {
    match (r, notice) {
        (Refusal::NoticeRunning, Some(n)) => StepError::NoticeRunning { ends_on: n.ends_on },
        (refusal, _) => StepError::Refused {
            refusal,
            state: state.into(),
            action: action.into(),
        },
    }
}

fn policy(
    c: &mut DbConnection,
    region: &str,
    date: NaiveDate,
) -> StepResult<jiekun_domain::rules::WorkflowPolicy> {
    crate::rules::policy_book(c)?
        .workflow(region, date)
        .map_err(|e| StepError::Policy(e.to_string()))
}

pub fn add_months(d: NaiveDate, months: i64) -> NaiveDate {
    d.checked_add_months(Months::new(u32::try_from(months.max(0)).unwrap_or(0)))
        .unwrap_or(d)
}

/// Publishes a notice for a case: masked name, unit, category or grounds, dates counted by the
/// policy and the holiday calendar, and the union that receives objections (the actor's).
#[allow(clippy::too_many_arguments)]
fn publish_notice(
    c: &mut DbConnection,
    actor: &Actor,
    subject_kind: &str,
    subject_id: &str,
    h: &HouseholdRow,
    category: Option<String>,
    grounds: Option<String>,
    starts_on: NaiveDate,
    at: NaiveDateTime,
) -> StepResult<NoticeRow> {
    let policy = policy(c, &h.region_code, starts_on)?;
    let calendar = store::calendar_from(c, starts_on)?;
    let ends_on =
        calendar.notice_ends_on(starts_on, policy.notice_days, policy.notice_working_days);
    let unit = match &h.enterprise_id {
        Some(e) => crate::enterprises::get(c, &Scope::All, e)
            .map(|e| e.name)
            .ok(),
        None => None,
    };
    let union = crate::organisations::get(c, &Scope::All, &h.organisation_id)?;
    let contact = crate::organisations::get(c, &Scope::All, &actor.organisation_id)?;
    let row = NoticeRow {
        id: crate::new_id(),
        subject_kind: subject_kind.into(),
        subject_id: subject_id.into(),
        household_id: h.id.clone(),
        organisation_path: h.organisation_path.clone(),
        region_code: h.region_code.clone(),
        masked_name: mask_name(&h.worker_name),
        unit: unit.unwrap_or(union.name),
        category,
        grounds,
        starts_on,
        ends_on,
        days: policy.notice_days.max(1),
        working_days: policy.notice_working_days,
        contact_organisation: contact.name,
        contact_address: contact.address,
        status: "running".into(),
        created_at: at,
    };
    store::insert_notice(c, &row)?;
    Ok(row)
}

/// A step taken: the case as it now is, where it came from, and the assessment relied on.
#[derive(Debug)]
pub struct Stepped<R> {
    pub row: R,
    pub from: &'static str,
    pub to: &'static str,
    pub relied_on: Option<String>,
}

// ---- filing --------------------------------------------------------------------------------

/// Opens a filing application for a household of the actor's (DESIGN §4: draft).
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
        hstore::set_status(c, &h.id, HouseholdStatus::Draft.as_str(), None, None)?;
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
        previous_file_number: if returning {
            h.file_number.clone()
        } else {
            None
        },
        file_number: None,
        opened_by: actor.username.clone(),
        state_since: when.at,
        version: 1,
        created_at: when.at,
        updated_at: when.at,
    };
    store::insert_application(c, &row).map_err(|e| match e {
        // Another transaction opened one between our read and our insert.
        StoreError::Conflict { .. } => StepError::AlreadyOpen {
            kind: "application",
            id: String::new(),
        },
        e => e.into(),
    })?;
    record(
        c,
        actor,
        when,
        Entry {
            subject_kind: "application",
            subject_id: &row.id,
            household_id: &h.id,
            action: "open",
            from: None,
            to: Some("draft"),
            role: Some(Role::GrassrootsOfficer),
            opinion,
            assessment_id,
        },
    )?;
    Ok(row)
}

/// What comes with a step besides its action.
#[derive(Debug, Clone, Default)]
pub struct StepInput {
    pub opinion: Option<String>,
    pub assessment_id: Option<String>,
    pub notice_starts_on: Option<NaiveDate>,
}

/// Takes a step on an application (seed §2(1)).
pub fn act_on_application(
    c: &mut DbConnection,
    actor: &Actor,
    when: When,
    id: &str,
    expected: i64,
    action: FilingAction,
    input: &StepInput,
) -> StepResult<Stepped<ApplicationRow>> {
    let today = when.today;
    let app = found(store::application(c, &actor.scope, id)?, "application")?;
    let from = FilingState::from_code(&app.state)
        .ok_or_else(|| StepError::Policy(format!("unknown state {}", app.state)))?;
    let (facts, notice) =
        notice_facts(c, app.notice_id.as_deref(), today, input.opinion.is_some())?;
    let to = filing_transition_for(from, action, &actor.roles, facts)
        .map_err(|r| refused(r, &notice, from.as_str(), action.as_str()))?;
    if app.version != expected {
        return Err(StepError::Stale {
            expected,
            actual: app.version,
        });
    }
    let role = actor
        .roles
        .iter()
        .copied()
        .find(|&r| filing_transition(from, action, r, facts).is_ok());
    let h = hstore::get(c, &Scope::All, &app.household_id)?;
    let mut change = ApplicationChange {
        state: to.as_str().into(),
        ..ApplicationChange::default()
    };
    let mut relied_on = input.assessment_id.clone();
    if let Some(a) = &input.assessment_id {
        assessment_of(c, &actor.scope, a, &h.id, "identify")?;
        change.assessment_id = Some(a.clone());
    }
    if action == FilingAction::ApproveReview {
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
        relied_on = Some(a);
    }
    // Claim the step first: of two conflicting steps, the second waits here and then finds the
    // version moved on, before it has done anything.
    let mut row = store::update_application(c, &app.id, expected, &change, when.at)?;
    let (mut notice_id, mut number) = (None, None);
    match action {
        FilingAction::StartNotice => {
            let n = publish_notice(
                c,
                actor,
                "application",
                &app.id,
                &h,
                app.category.clone(),
                None,
                input.notice_starts_on.unwrap_or(today),
                when.at,
            )?;
            notice_id = Some(n.id);
        }
        FilingAction::EndNotice => {
            if let Some(n) = &notice {
                store::set_notice_status(c, &n.id, "ended")?;
            }
        }
        FilingAction::CityApprove => {
            let year = today.year();
            let seq = store::next_file_sequence(c, &h.region_code, year)?;
            let file = file_number(&h.region_code, year, seq);
            hstore::set_status(
                c,
                &h.id,
                HouseholdStatus::Filed.as_str(),
                app.category.as_deref(),
                Some(&file),
            )?;
            let policy = policy(c, &h.region_code, today)?;
            let before = store::lifecycle(c, &h.id)?.unwrap_or_default();
            store::save_lifecycle(
                c,
                &LifecycleRow {
                    household_id: h.id.clone(),
                    filed_on: Some(today),
                    next_review_due: Some(add_months(today, policy.review_interval_months)),
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
            number = Some(file);
        }
        FilingAction::Return | FilingAction::Reject => {
            if let Some(n) = notice.as_ref().filter(|n| n.status == "running") {
                store::set_notice_status(c, &n.id, "withdrawn")?;
            }
            if action == FilingAction::Reject {
                end_first_application(c, &h, HouseholdStatus::Rejected)?;
            }
        }
        FilingAction::Withdraw => end_first_application(c, &h, HouseholdStatus::Withdrawn)?,
        FilingAction::Submit | FilingAction::StartReview | FilingAction::ApproveReview => {}
    }
    if notice_id.is_some() || number.is_some() {
        row = store::link_application(c, &row.id, notice_id.as_deref(), number.as_deref())?;
    }
    record(
        c,
        actor,
        when,
        Entry {
            subject_kind: "application",
            subject_id: &row.id,
            household_id: &h.id,
            action: action.as_str(),
            from: Some(from.as_str()),
            to: Some(to.as_str()),
            role,
            opinion: input.opinion.as_deref(),
            assessment_id: relied_on.as_deref(),
        },
    )?;
    Ok(Stepped {
        row,
        from: from.as_str(),
        to: to.as_str(),
        relied_on,
    })
}

/// A household whose first application ends without filing frees its members; one that was
/// filed before (monitoring) keeps its standing.
fn end_first_application(
    c: &mut DbConnection,
    h: &HouseholdRow,
    to: HouseholdStatus,
) -> StepResult<()> {
    if h.status == HouseholdStatus::Draft.as_str() {
        hstore::set_status(c, &h.id, to.as_str(), None, None)?;
        hstore::release_persons(c, &h.id)?;
    }
    Ok(())
}

// ---- exit ----------------------------------------------------------------------------------

/// Proposes the exit of a filed household (seed §2(2)). `origin` is `grassroots` (reported by
/// the union) or `candidate` (opened by the county from the system's exit candidates).
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
        return Err(wrong_state(
            format!("only a filed household can exit; this one is {}", h.status),
            format!("只有已建档家庭才能退出，该家庭状态为 {}", h.status),
        ));
    }
    if let Some(open) = store::open_exit_case_of(c, &h.id)? {
        return Err(StepError::AlreadyOpen {
            kind: "exit_case",
            id: open.id,
        });
    }
    match assessment_id {
        Some(a) => {
            let row = assessment_of(c, &actor.scope, a, &h.id, "exit")?;
            if !grounds.is_fast_path() && row.verdict != grounds.as_str() {
                return Err(verdict_mismatch(&row.verdict, grounds));
            }
        }
        None if !grounds.is_fast_path() => {
            return Err(invalid(
                "assessment_id",
                "required",
                "脱困 and 解困 rely on a stored exit assessment",
                "脱困、解困须依据已保存的退出评估",
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
    store::insert_exit_case(c, &row).map_err(|e| match e {
        StoreError::Conflict { .. } => StepError::AlreadyOpen {
            kind: "exit_case",
            id: String::new(),
        },
        e => e.into(),
    })?;
    let role =
        actor.roles.iter().copied().find(|&r| {
            jiekun_domain::access::role_allows(r, jiekun_domain::access::Action::ExitOpen)
        });
    record(
        c,
        actor,
        when,
        Entry {
            subject_kind: "exit_case",
            subject_id: &row.id,
            household_id: &h.id,
            action: "propose",
            from: None,
            to: Some("proposed"),
            role,
            opinion,
            assessment_id,
        },
    )?;
    Ok(row)
}

fn verdict_mismatch(verdict: &str, grounds: ExitGrounds) -> StepError {
    invalid(
        "assessment_id",
        "verdict_mismatch",
        format!(
            "the assessment's verdict is `{verdict}`, not `{}`",
            grounds.as_str()
        ),
        format!("评估结论为 {verdict}，与退出类型不符"),
    )
}

/// Takes a step on an exit case (seed §2(2)).
pub fn act_on_exit_case(
    c: &mut DbConnection,
    actor: &Actor,
    when: When,
    id: &str,
    expected: i64,
    action: ExitAction,
    input: &StepInput,
) -> StepResult<Stepped<ExitCaseRow>> {
    let case = found(store::exit_case(c, &actor.scope, id)?, "exit case")?;
    let from = ExitState::from_code(&case.state)
        .ok_or_else(|| StepError::Policy(format!("unknown state {}", case.state)))?;
    let grounds = ExitGrounds::from_code(&case.grounds)
        .ok_or_else(|| StepError::Policy(format!("unknown grounds {}", case.grounds)))?;
    let (mut facts, notice) = notice_facts(
        c,
        case.notice_id.as_deref(),
        when.today,
        input.opinion.is_some(),
    )?;
    facts.death_or_transfer = grounds.is_fast_path();
    let to = exit_transition_for(from, action, &actor.roles, facts)
        .map_err(|r| refused(r, &notice, from.as_str(), action.as_str()))?;
    if case.version != expected {
        return Err(StepError::Stale {
            expected,
            actual: case.version,
        });
    }
    let role = actor
        .roles
        .iter()
        .copied()
        .find(|&r| exit_transition(from, action, r, facts).is_ok());
    let h = hstore::get(c, &Scope::All, &case.household_id)?;
    let mut change = ExitCaseChange {
        state: to.as_str().into(),
        ..ExitCaseChange::default()
    };
    if let Some(a) = &input.assessment_id {
        let row = assessment_of(c, &actor.scope, a, &h.id, "exit")?;
        if !grounds.is_fast_path() && row.verdict != grounds.as_str() {
            return Err(verdict_mismatch(&row.verdict, grounds));
        }
        change.assessment_id = Some(a.clone());
    }
    let mut row = store::update_exit_case(c, &case.id, expected, &change, when.at)?;
    match action {
        ExitAction::StartNotice => {
            let n = publish_notice(
                c,
                actor,
                "exit_case",
                &case.id,
                &h,
                h.category.clone(),
                Some(grounds.as_str().into()),
                input.notice_starts_on.unwrap_or(when.today),
                when.at,
            )?;
            row = store::link_exit_case(c, &row.id, &n.id)?;
        }
        ExitAction::CompleteExit | ExitAction::FastExit => {
            if let Some(n) = &notice {
                store::set_notice_status(c, &n.id, "ended")?;
            }
            exit_household(c, &h, grounds, when)?;
        }
        ExitAction::Cancel => {
            if let Some(n) = notice.as_ref().filter(|n| n.status == "running") {
                store::set_notice_status(c, &n.id, "withdrawn")?;
            }
        }
        ExitAction::StartRecheck | ExitAction::ConfirmRecheck => {}
    }
    record(
        c,
        actor,
        when,
        Entry {
            subject_kind: "exit_case",
            subject_id: &row.id,
            household_id: &h.id,
            action: action.as_str(),
            from: Some(from.as_str()),
            to: Some(to.as_str()),
            role,
            opinion: input.opinion.as_deref(),
            assessment_id: input.assessment_id.as_deref(),
        },
    )?;
    Ok(Stepped {
        row,
        from: from.as_str(),
        to: to.as_str(),
        relied_on: input.assessment_id.clone(),
    })
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
        hstore::set_status(c, &h.id, HouseholdStatus::Closed.as_str(), None, None)?;
        hstore::release_persons(c, &h.id)?;
    } else {
        let policy = policy(c, &h.region_code, when.today)?;
        life.monitoring_until = Some(add_months(when.today, policy.monitoring_months));
        hstore::set_status(c, &h.id, HouseholdStatus::Monitoring.as_str(), None, None)?;
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
        return Err(wrong_state(
            format!("the household is {}, not monitoring", h.status),
            format!("该家庭状态为 {}，不在监测期", h.status),
        ));
    }
    let county = [Role::CountyReviewer, Role::CountyAdmin];
    let Some(role) = actor.roles.iter().copied().find(|r| county.contains(r)) else {
        return Err(wrong_role(
            "the county union closes monitored files",
            "监测期满关闭档案由县总工会办理",
        ));
    };
    let mut life = store::lifecycle(c, &h.id)?.unwrap_or_default();
    if let Some(until) = life.monitoring_until.filter(|u| when.today <= *u) {
        return Err(StepError::MonitoringRunning { until });
    }
    if h.version != expected {
        return Err(StepError::Stale {
            expected,
            actual: h.version,
        });
    }
    let closed = hstore::set_status(c, &h.id, HouseholdStatus::Closed.as_str(), None, None)?;
    hstore::release_persons(c, &h.id)?;
    life.household_id = h.id.clone();
    life.closed_on = Some(when.today);
    life.updated_at = when.at;
    store::save_lifecycle(c, &life)?;
    record(
        c,
        actor,
        when,
        Entry {
            subject_kind: "household",
            subject_id: &h.id,
            household_id: &h.id,
            action: "close_monitoring",
            from: Some("monitoring"),
            to: Some("closed"),
            role: Some(role),
            opinion,
            assessment_id: None,
        },
    )?;
    Ok(closed)
}

// ---- annual review -------------------------------------------------------------------------

/// Records the annual review of a filed household (grassroots or county union), relying on an
/// identification assessment: still eligible, it continues with the assessment's category; not,
/// the outcome says so. The next review falls due one review interval later.
pub fn record_review(
    c: &mut DbConnection,
    actor: &Actor,
    when: When,
    household_id: &str,
    expected: i64,
    assessment_id: &str,
    opinion: Option<&str>,
) -> StepResult<(ReviewRow, HouseholdRow)> {
    let h = household_in_scope(c, &actor.scope, household_id)?;
    if h.status != HouseholdStatus::Filed.as_str() {
        return Err(wrong_state(
            format!(
                "only filed households are reviewed; this one is {}",
                h.status
            ),
            format!("只有已建档家庭需要年度复核，该家庭状态为 {}", h.status),
        ));
    }
    let reviewers = [
        Role::GrassrootsOfficer,
        Role::CountyReviewer,
        Role::CountyAdmin,
    ];
    let Some(role) = actor.roles.iter().copied().find(|r| reviewers.contains(r)) else {
        return Err(wrong_role(
            "annual reviews are done by the grassroots and county unions",
            "年度复核由基层工会、县总工会办理",
        ));
    };
    if h.version != expected {
        return Err(StepError::Stale {
            expected,
            actual: h.version,
        });
    }
    let a = assessment_of(c, &actor.scope, assessment_id, &h.id, "identify")?;
    let eligible = a.verdict != "not_eligible";
    let policy = policy(c, &h.region_code, when.today)?;
    let mut life = store::lifecycle(c, &h.id)?.unwrap_or_else(|| LifecycleRow {
        household_id: h.id.clone(),
        ..LifecycleRow::default()
    });
    let next_due = add_months(when.today, policy.review_interval_months);
    let row = ReviewRow {
        id: crate::new_id(),
        household_id: h.id.clone(),
        organisation_path: h.organisation_path.clone(),
        due_on: life.next_review_due,
        reviewed_on: when.today,
        assessment_id: a.id.clone(),
        verdict: a.verdict.clone(),
        outcome: if eligible {
            "continues"
        } else {
            "no_longer_eligible"
        }
        .into(),
        opinion: opinion.map(Into::into),
        reviewed_by: actor.username.clone(),
        next_due,
        created_at: when.at,
    };
    store::insert_review(c, &row)?;
    life.next_review_due = Some(next_due);
    life.updated_at = when.at;
    store::save_lifecycle(c, &life)?;
    let category = eligible.then_some(a.verdict.as_str());
    let after = hstore::set_status(c, &h.id, HouseholdStatus::Filed.as_str(), category, None)?;
    record(
        c,
        actor,
        when,
        Entry {
            subject_kind: "annual_review",
            subject_id: &row.id,
            household_id: &h.id,
            action: "review",
            from: None,
            to: Some(&row.outcome),
            role: Some(role),
            opinion,
            assessment_id: Some(&a.id),
        },
    )?;
    Ok((row, after))
}
