//! Workflow steps as units of work: each reads the case, asks the domain's state machine whether
//! the caller may take the step, claims the case's version, then stores what follows — the notice
//! it publishes, the file number it gives, the household's new standing — with its timeline entry
//! and its audit event. Run inside [`crate::write`], so that the whole step is one transaction and
//! no caller can leave the audit event out.

mod exit;
mod filing;
mod objections;
mod review;

pub use exit::{act_on_exit_case, close_monitoring, open_exit_case};
pub use filing::{act_on_application, open_application};
pub use objections::{raise_objection, resolve_objection, NewObjection};
pub use review::record_review;

use chrono::{Months, NaiveDate, NaiveDateTime};
use jiekun_domain::access::Role;
use jiekun_domain::calendar::notice_over;
use jiekun_domain::closed::ClosedList;
use jiekun_domain::household::HouseholdStatus;
use jiekun_domain::national_id::mask_name;
use jiekun_domain::workflow::{acting_role, transition_for, Facts, Machine, Refusal};

use crate::audit::{self, Caller};
use crate::conn::DbConnection;
use crate::households::{self as hstore, FileError, HouseholdRow};
use crate::rules::AssessmentRow;
use crate::workflows::{self as store, EventRow, Located, NoticeRow};
use crate::{Scope, StoreError};

/// Who takes a step: as the timeline records them, the scope they act in, and the caller the
/// audit log names.
#[derive(Debug, Clone)]
pub struct Actor {
    pub username: String,
    pub roles: Vec<Role>,
    pub organisation_id: String,
    pub scope: Scope,
    pub caller: Caller,
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
    Refused { refusal: Refusal, step: RefusedStep },
    #[error("the notice runs until {ends_on}")]
    NoticeRunning { ends_on: NaiveDate },
    /// An objection arrived outside the notice's dates, or after it was closed.
    #[error("objections are received from {starts_on} to {ends_on}")]
    NoticeClosed {
        starts_on: NaiveDate,
        ends_on: NaiveDate,
    },
    #[error("monitoring runs until {until}")]
    MonitoringRunning { until: NaiveDate },
    /// Notice would start while verification tasks are unanswered (or none was asked), and no
    /// override was given.
    #[error("{open} verification tasks are unanswered")]
    VerificationPending { open: i64, requested: bool },
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

pub type StepResult<T> = Result<T, StepError>;

/// The step a state machine refused: the kind of case, its state and the action, each by its
/// code and its Chinese name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedStep {
    pub case: (&'static str, &'static str),
    pub state: (&'static str, &'static str),
    pub action: (&'static str, &'static str),
}

/// A code and its Chinese name.
fn named<T: ClosedList>(v: T) -> (&'static str, &'static str) {
    (v.code(), v.meaning_zh())
}

/// A household that is not in the status a step needs: says which it is, in both languages.
fn household_not(h: &HouseholdRow, en: &str, zh: &str) -> StepError {
    let status_zh = HouseholdStatus::from_code(&h.status).map_or("未知", |s| s.meaning_zh());
    wrong_state(
        format!("{en}; this household is `{}`", h.status),
        format!("{zh}，该家庭档案状态为“{status_zh}”"),
    )
}

/// What comes with a step besides its action.
#[derive(Debug, Clone, Default)]
pub struct StepInput {
    pub opinion: Option<String>,
    pub assessment_id: Option<String>,
    pub notice_starts_on: Option<NaiveDate>,
    /// Why the notice starts before every verification task is answered.
    pub verification_override: Option<String>,
}

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

/// A record read by id, or `NotFound(what)`.
fn found_by<T>(r: Result<T, StoreError>, what: &'static str) -> StepResult<T> {
    r.map_err(|e| match e {
        StoreError::NotFound => StepError::NotFound(what),
        e => e.into(),
    })
}

fn household_in_scope(c: &mut DbConnection, scope: &Scope, id: &str) -> StepResult<HouseholdRow> {
    found_by(hstore::get(c, scope, id), "household")
}

/// The first of the actor's roles that is one of `allowed`, or a refusal saying who acts.
fn role_among(actor: &Actor, allowed: &[Role], en: &str, zh: &str) -> StepResult<Role> {
    actor
        .roles
        .iter()
        .copied()
        .find(|r| allowed.contains(r))
        .ok_or_else(|| wrong_role(en, zh))
}

fn fresh(stored: i64, expected: i64) -> StepResult<()> {
    if stored == expected {
        Ok(())
    } else {
        Err(StepError::Stale {
            expected,
            actual: stored,
        })
    }
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

/// The last writes of every step: its timeline entry and its audit event (`action` on
/// `resource_type`/`resource_id`, with `changes`).
fn record(
    c: &mut DbConnection,
    actor: &Actor,
    when: When,
    e: Entry,
    event: (&str, &str, &str, serde_json::Value),
) -> StepResult<()> {
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
    let (action, resource_type, resource_id, changes) = event;
    audit::append(
        c,
        actor
            .caller
            .event(action, resource_type, resource_id, changes),
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
        let kind_zh = if kind == "exit" {
            "精准退出"
        } else {
            "精准识别"
        };
        return Err(invalid(
            "assessment_id",
            "wrong_kind",
            format!("an assessment of kind `{kind}` is needed"),
            format!("需要{kind_zh}评估（类型 {kind}）"),
        ));
    }
    Ok(row)
}

/// A step the state machine allows and the case's version admits.
struct Claim<M: Machine> {
    from: M::State,
    to: M::State,
    /// The role the actor takes it in.
    role: Option<Role>,
    /// The case's notice, if it has one.
    notice: Option<NoticeRow>,
}

/// Asks the machine whether the actor may take `action` on a case in `state` (with its notice
/// and the facts), then checks the version the caller read: a refusal says why before anything
/// is written.
#[allow(clippy::too_many_arguments)]
fn claim<M: Machine>(
    c: &mut DbConnection,
    actor: &Actor,
    when: When,
    state: &str,
    notice_id: Option<&str>,
    versions: (i64, i64),
    action: M::Action,
    input: &StepInput,
    death_or_transfer: bool,
) -> StepResult<Claim<M>> {
    let from = M::State::from_code(state)
        .ok_or_else(|| StepError::Policy(format!("unknown state {state}")))?;
    let notice = match notice_id {
        Some(id) => Some(store::notice(c, id)?),
        None => None,
    };
    let mut facts = Facts {
        reason_given: input.opinion.is_some(),
        death_or_transfer,
        ..Facts::default()
    };
    if let Some(n) = &notice {
        facts.notice_ended = notice_over(n.ends_on, when.today);
        facts.open_objections = u32::try_from(store::open_objections(c, &n.id)?).unwrap_or(1);
    }
    let to =
        transition_for::<M>(from, action, &actor.roles, facts).map_err(|r| match (r, &notice) {
            (Refusal::NoticeRunning, Some(n)) => StepError::NoticeRunning { ends_on: n.ends_on },
            (refusal, _) => StepError::Refused {
                refusal,
                step: RefusedStep {
                    case: M::CASE,
                    state: named(from),
                    action: named(action),
                },
            },
        })?;
    fresh(versions.0, versions.1)?;
    Ok(Claim {
        from,
        to,
        role: acting_role::<M>(from, action, &actor.roles, facts),
        notice,
    })
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

/// What a notice publishes about its case besides the household: category or exit grounds.
struct Published<'a> {
    subject_kind: &'static str,
    subject_id: &'a str,
    category: Option<String>,
    grounds: Option<String>,
    starts_on: NaiveDate,
}

/// Publishes a notice for a case: masked name, unit, category or grounds, dates counted by the
/// policy and the holiday calendar, and the union that receives objections (the actor's).
fn publish_notice(
    c: &mut DbConnection,
    actor: &Actor,
    h: &HouseholdRow,
    p: Published,
    at: NaiveDateTime,
) -> StepResult<NoticeRow> {
    let policy = policy(c, &h.region_code, p.starts_on)?;
    let calendar = store::calendar_from(c, p.starts_on)?;
    let ends_on =
        calendar.notice_ends_on(p.starts_on, policy.notice_days, policy.notice_working_days);
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
        subject_kind: p.subject_kind.into(),
        subject_id: p.subject_id.into(),
        household_id: h.id.clone(),
        organisation_path: h.organisation_path.clone(),
        region_code: h.region_code.clone(),
        masked_name: mask_name(&h.worker_name),
        unit: unit.unwrap_or(union.name),
        category: p.category,
        grounds: p.grounds,
        starts_on: p.starts_on,
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

/// A notice that is still running is withdrawn with its case.
fn withdraw_running(c: &mut DbConnection, notice: &Option<NoticeRow>) -> StepResult<()> {
    if let Some(n) = notice.as_ref().filter(|n| n.status == "running") {
        store::set_notice_status(c, &n.id, "withdrawn")?;
    }
    Ok(())
}

/// The notice of a case that has been decided ends.
fn end_notice(c: &mut DbConnection, notice: &Option<NoticeRow>) -> StepResult<()> {
    if let Some(n) = notice {
        store::set_notice_status(c, &n.id, "ended")?;
    }
    Ok(())
}

/// A second case opened between our read and our insert: the database refuses it.
fn already_open(kind: &'static str) -> impl Fn(StoreError) -> StepError {
    move |e| match e {
        StoreError::Conflict { .. } => StepError::AlreadyOpen {
            kind,
            id: String::new(),
        },
        e => e.into(),
    }
}
