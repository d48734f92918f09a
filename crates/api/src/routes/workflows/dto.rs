//! What the workflow endpoints take and answer, and how stored records become answers.

use chrono::{DateTime, NaiveDate, Utc};
use jiekun_domain::household::{Category, HouseholdStatus};
use jiekun_domain::rules::Verdict;
use jiekun_domain::workflow::{
    CaseOrigin, ExitAction, ExitGrounds, ExitState, FilingAction, FilingState, NoticeStatus,
    QueueKind, ReviewOutcome, TimelineSubject,
};
use jiekun_store::workflows::{ApplicationRow, EventRow, ExitCaseRow, ReviewRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::super::closed::{closed, closed_array, closed_or_null};
use super::super::utc;

/// One entry of a case's timeline. 办理记录。
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    /// What was done: a step of filing or exit, or `open`, `propose`, `review`,
    /// `close_monitoring`. 操作。
    #[schema(example = "submit")]
    #[schema(schema_with = crate::routes::closed::timeline_action)]
    pub action: String,
    /// The state before: of filing or exit. 办理前状态。
    #[schema(schema_with = crate::routes::closed::case_state_or_null)]
    pub from_state: Option<String>,
    /// The state after: of filing or exit, or a review's outcome. 办理后状态。
    #[schema(schema_with = crate::routes::closed::timeline_to_state)]
    pub to_state: Option<String>,
    /// Who did it (username). 办理人。
    pub actor: String,
    /// The role they acted in. 办理角色。
    #[schema(example = "grassroots_officer")]
    #[schema(schema_with = closed_or_null::<jiekun_domain::access::Role>)]
    pub role: Option<String>,
    pub organisation_id: Option<String>,
    /// 办理单位。
    pub organisation_name: Option<String>,
    /// Their opinion or reason. 意见或理由。
    pub opinion: Option<String>,
    /// The stored assessment the step relied on. 所依据的评估。
    pub assessment_id: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<EventRow> for TimelineEntry {
    fn from(e: EventRow) -> Self {
        TimelineEntry {
            action: e.action,
            from_state: e.from_state,
            to_state: e.to_state,
            actor: e.actor,
            role: e.actor_role,
            organisation_id: e.organisation_id,
            organisation_name: e.organisation_name,
            opinion: e.opinion,
            assessment_id: e.assessment_id,
            at: utc(e.at),
        }
    }
}

/// The notice of a case, in short. 公示概要。
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeSummary {
    pub id: String,
    pub starts_on: NaiveDate,
    /// Last day of the notice (inclusive). 公示截止日（含）。
    pub ends_on: NaiveDate,
    #[schema(schema_with = closed::<NoticeStatus>)]
    pub status: String,
    /// Objections still open. 未处理的异议数。
    pub open_objections: i64,
}

macro_rules! step_body {
    ($(#[$m:meta])* $name:ident, $action:ty, $example:expr) => {
        $(#[$m])*
        #[derive(Debug, Deserialize, ToSchema, validator::Validate)]
        #[schema(example = $example)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The step to take. 操作。
            #[schema(schema_with = closed::<$action>)]
            pub action: $action,
            /// Opinion or reason, at most 2000 characters; required to return, reject or cancel.
            /// 意见或理由（退回、不予通过、撤销时必填）。
            #[validate(length(max = 2000, code = "too_long"))]
            #[schema(max_length = 2000)]
            pub opinion: Option<String>,
            /// A stored assessment of the household this step relies on (`identify` for
            /// applications, `exit` for exit cases). 本步骤所依据的评估记录。
            #[validate(length(max = 64, code = "too_long"))]
            #[schema(max_length = 64)]
            pub assessment_id: Option<String>,
            /// First day of the public notice (`start_notice`; today to 30 days ahead, default
            /// today). 公示开始日期（今天起 30 天内，默认今天）。
            pub notice_starts_on: Option<NaiveDate>,
            /// Applications' `start_notice` only: why the notice starts although a department
            /// has not answered its verification task, or none was asked (up to 500
            /// characters; audited). 仅用于建档申请开始公示：部门核对任务未全部答复（或未发起核对）即开始公示的理由（不超过 500 字，记入审计）。
            #[validate(length(min = 1, max = 500))]
            #[schema(min_length = 1, max_length = 500)]
            pub verification_override: Option<String>,
        }

        impl $name {
            /// The action, and what comes with it.
            pub(super) fn split(self) -> ($action, super::StepFields) {
                let fields = super::StepFields {
                    opinion: self.opinion,
                    assessment_id: self.assessment_id,
                    notice_starts_on: self.notice_starts_on,
                    verification_override: self.verification_override,
                };
                (self.action, fields)
            }
        }
    };
}

step_body!(
    /// A step on an application. 建档申请办理操作。
    ApplicationStep, FilingAction,
    json!({"action": "submit", "opinion": "材料齐全，申报建档。"})
);
step_body!(
    /// A step on an exit case. 退出事项办理操作。
    ExitStep, ExitAction,
    json!({"action": "start_recheck", "opinion": "受理复核。"})
);

/// `verification_override` belongs to an application's `start_notice` only.
fn no_override(o: &Option<String>) -> crate::error::ApiResult<()> {
    match o {
        None => Ok(()),
        Some(_) => Err(crate::error::ApiError::validation(vec![
            crate::error::FieldError::new(
                "verification_override",
                "not_allowed",
                "only an application's start_notice takes a verification override",
                "仅建档申请开始公示时可填写核对例外理由",
            ),
        ])),
    }
}

impl ApplicationStep {
    pub(super) fn check_override(&self) -> crate::error::ApiResult<()> {
        if self.action == FilingAction::StartNotice {
            Ok(())
        } else {
            no_override(&self.verification_override)
        }
    }
}

impl ExitStep {
    pub(super) fn check_override(&self) -> crate::error::ApiResult<()> {
        no_override(&self.verification_override)
    }
}

/// A filing application (建档申请) with its timeline. 建档申请及办理记录。
#[derive(Debug, Serialize, ToSchema)]
pub struct Application {
    pub id: String,
    pub household_id: String,
    /// The worker's name, masked. 职工姓名（脱敏）。
    #[schema(example = "张*")]
    pub worker_name: String,
    #[schema(schema_with = closed::<FilingState>)]
    pub state: String,
    /// Since when it is in this state. 进入当前状态的时间。
    pub state_since: DateTime<Utc>,
    /// The category the county review settled on. 县总工会审核认定的困难类别。
    #[schema(schema_with = closed_or_null::<Category>)]
    pub category: Option<String>,
    /// The identification assessment the review relied on. 审核所依据的识别评估。
    pub assessment_id: Option<String>,
    /// Once filed: region code, year, sequence. 建档编号。
    #[schema(example = "610724-2026-00017")]
    pub file_number: Option<String>,
    /// The file this household had before it left and came back. 返贫重新建档前的原档案编号。
    pub previous_file_number: Option<String>,
    pub notice: Option<NoticeSummary>,
    /// Steps the caller may take now (the facts may still refuse one). 当前用户可执行的操作。
    #[schema(schema_with = closed_array::<FilingAction>)]
    pub allowed_actions: Vec<FilingAction>,
    pub timeline: Vec<TimelineEntry>,
    pub opened_by: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new application. 新建建档申请。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"household_id": crate::examples::HOUSEHOLD_ID, "opinion": "职工患病致困，申请建档。"}))]
pub struct NewApplication {
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub household_id: String,
    /// An `identify` assessment to attach now (optional). 可附上的识别评估。
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub assessment_id: Option<String>,
    /// At most 2000 characters. 申请意见（不超过 2000 字）。
    #[validate(length(max = 2000, code = "too_long"))]
    #[schema(max_length = 2000)]
    pub opinion: Option<String>,
}

/// Filters for case lists. 事项列表筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// Comma-separated states. 状态（逗号分隔）。
    #[param(example = "submitted,county_review")]
    #[param(schema_with = crate::routes::closed::case_states, style = Form, explode = false)]
    pub state: Option<String>,
    pub household_id: Option<String>,
    /// Page size, 1–200 (default 50). 每页条数。
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page. 上一页返回的游标。
    pub cursor: Option<String>,
    /// `true` to have the answer carry `total`, the number of matching records in all pages.
    /// 为 true 时返回符合条件的总条数 total。
    pub count: Option<bool>,
}

/// Application in a list. 申请列表项。
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationItem {
    pub id: String,
    pub household_id: String,
    #[schema(schema_with = closed::<FilingState>)]
    pub state: String,
    pub state_since: DateTime<Utc>,
    #[schema(schema_with = closed_or_null::<Category>)]
    pub category: Option<String>,
    pub file_number: Option<String>,
    pub previous_file_number: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

impl From<ApplicationRow> for ApplicationItem {
    fn from(r: ApplicationRow) -> Self {
        ApplicationItem {
            id: r.id,
            household_id: r.household_id,
            state: r.state,
            state_since: utc(r.state_since),
            category: r.category,
            file_number: r.file_number,
            previous_file_number: r.previous_file_number,
            version: r.version,
            created_at: utc(r.created_at),
        }
    }
}

/// An exit case (退出) with its timeline. 退出事项及办理记录。
#[derive(Debug, Serialize, ToSchema)]
pub struct ExitCase {
    pub id: String,
    pub household_id: String,
    #[schema(example = "张*")]
    pub worker_name: String,
    pub file_number: Option<String>,
    #[schema(schema_with = closed::<ExitState>)]
    pub state: String,
    pub state_since: DateTime<Utc>,
    #[schema(schema_with = closed::<ExitGrounds>)]
    pub grounds: ExitGrounds,
    #[schema(schema_with = closed::<CaseOrigin>)]
    pub origin: String,
    /// The exit assessment it relies on. 所依据的退出评估。
    pub assessment_id: Option<String>,
    pub notice: Option<NoticeSummary>,
    #[schema(schema_with = closed_array::<ExitAction>)]
    pub allowed_actions: Vec<ExitAction>,
    pub timeline: Vec<TimelineEntry>,
    /// The help the household received in the twelve months before the case was opened, and
    /// since (the assistance ledger, reversing entries included). 开启前十二个月以来的帮扶记录。
    pub assistance: Vec<crate::routes::assistance::Assistance>,
    pub opened_by: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new exit case. 新建退出事项。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"household_id": crate::examples::HOUSEHOLD_ID, "grounds": "death", "opinion": "职工本人已于2026年10月病故，家属书面报告。"}))]
pub struct NewExitCase {
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub household_id: String,
    #[schema(schema_with = closed::<ExitGrounds>)]
    pub grounds: ExitGrounds,
    /// Required for `out_of_hardship` and `safety_net`: a stored `exit` assessment of the
    /// household with that verdict. 脱困、解困须附相应结论的退出评估。
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub assessment_id: Option<String>,
    /// The report, at most 2000 characters; required for death and transfer (what happened,
    /// the evidence). 说明（不超过 2000 字）；死亡、迁出须写明情况及证明材料。
    #[validate(length(max = 2000, code = "too_long"))]
    #[schema(max_length = 2000)]
    pub opinion: Option<String>,
}

/// Exit case in a list. 退出事项列表项。
#[derive(Debug, Serialize, ToSchema)]
pub struct ExitCaseItem {
    pub id: String,
    pub household_id: String,
    #[schema(schema_with = closed::<ExitState>)]
    pub state: String,
    pub state_since: DateTime<Utc>,
    #[schema(schema_with = closed::<ExitGrounds>)]
    pub grounds: String,
    #[schema(schema_with = closed::<CaseOrigin>)]
    pub origin: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

impl From<ExitCaseRow> for ExitCaseItem {
    fn from(r: ExitCaseRow) -> Self {
        ExitCaseItem {
            id: r.id,
            household_id: r.household_id,
            state: r.state,
            state_since: utc(r.state_since),
            grounds: r.grounds,
            origin: r.origin,
            version: r.version,
            created_at: utc(r.created_at),
        }
    }
}

/// Where a household stands after filing, with every workflow step taken on it.
/// 家庭建档后的状态及全部办理记录。
#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdTimeline {
    pub household_id: String,
    #[schema(schema_with = closed::<HouseholdStatus>)]
    pub status: String,
    pub file_number: Option<String>,
    /// The file it had before it left and came back. 原档案编号。
    pub previous_file_number: Option<String>,
    pub filed_on: Option<NaiveDate>,
    /// The next annual review falls due. 下次年度复核到期日。
    pub next_review_due: Option<NaiveDate>,
    pub exited_on: Option<NaiveDate>,
    #[schema(schema_with = closed_or_null::<ExitGrounds>)]
    pub exit_grounds: Option<String>,
    /// Watched until this day after exit. 退出后监测截止日。
    pub monitoring_until: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    /// Every step on its applications, exit cases and reviews, oldest first.
    pub timeline: Vec<TimelineEntryOf>,
}

/// A timeline entry with the case it belongs to. 办理记录（含所属事项）。
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntryOf {
    #[schema(schema_with = closed::<TimelineSubject>)]
    pub subject_kind: String,
    pub subject_id: String,
    #[serde(flatten)]
    pub entry: TimelineEntry,
}

impl From<EventRow> for TimelineEntryOf {
    fn from(e: EventRow) -> Self {
        TimelineEntryOf {
            subject_kind: e.subject_kind.clone(),
            subject_id: e.subject_id.clone(),
            entry: TimelineEntry::from(e),
        }
    }
}

/// Closing a monitored household. 监测期满关闭。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"opinion": "监测期满，未返困。"}))]
pub struct CloseMonitoring {
    /// At most 2000 characters. 意见（不超过 2000 字）。
    #[validate(length(max = 2000, code = "too_long"))]
    #[schema(max_length = 2000)]
    pub opinion: Option<String>,
}

/// An annual review done. 年度复核记录。
#[derive(Debug, Serialize, ToSchema)]
pub struct AnnualReview {
    pub id: String,
    pub household_id: String,
    /// The due date it answered. 对应的到期日。
    pub due_on: Option<NaiveDate>,
    pub reviewed_on: NaiveDate,
    /// The identification assessment it relied on. 所依据的识别评估。
    pub assessment_id: String,
    #[schema(schema_with = closed::<Verdict>)]
    pub verdict: String,
    #[schema(schema_with = closed::<ReviewOutcome>)]
    pub outcome: String,
    pub opinion: Option<String>,
    pub reviewed_by: String,
    /// The next review falls due. 下次复核到期日。
    pub next_due: NaiveDate,
    /// The help the household received in the twelve months up to the review (the assistance
    /// ledger, reversing entries included). 复核前十二个月的帮扶记录。
    pub assistance: Vec<crate::routes::assistance::Assistance>,
    pub created_at: DateTime<Utc>,
}

impl From<ReviewRow> for AnnualReview {
    fn from(r: ReviewRow) -> Self {
        AnnualReview {
            id: r.id,
            household_id: r.household_id,
            due_on: r.due_on,
            reviewed_on: r.reviewed_on,
            assessment_id: r.assessment_id,
            verdict: r.verdict,
            outcome: r.outcome,
            opinion: r.opinion,
            reviewed_by: r.reviewed_by,
            next_due: r.next_due,
            assistance: Vec::new(),
            created_at: utc(r.created_at),
        }
    }
}

/// A review to record. 登记年度复核。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"assessment_id": crate::examples::ASSESSMENT_ID, "opinion": "年度复核：仍符合条件。"}))]
pub struct NewAnnualReview {
    /// A stored `identify` assessment of the household, made for this review.
    /// 为本次复核所作的识别评估。
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub assessment_id: String,
    /// At most 2000 characters. 复核意见（不超过 2000 字）。
    #[validate(length(max = 2000, code = "too_long"))]
    #[schema(max_length = 2000)]
    pub opinion: Option<String>,
}

/// A review due. 待复核家庭。
#[derive(Debug, Serialize, ToSchema)]
pub struct DueReview {
    pub household_id: String,
    pub file_number: Option<String>,
    #[schema(example = "张*")]
    pub worker_name: String,
    pub organisation_id: String,
    /// 所属基层工会名称。
    pub organisation_name: String,
    #[schema(schema_with = closed_or_null::<Category>)]
    pub category: Option<String>,
    pub due_on: NaiveDate,
    /// Past its due date. 是否已逾期。
    pub overdue: bool,
    /// Days past due (negative: days left). 逾期天数（负数为剩余天数）。
    pub days_overdue: i64,
}

/// Which reviews. 复核筛选。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DueQuery {
    /// `due` (due within 30 days or overdue, the default) or `overdue` (past due only).
    /// 默认 due：30 天内到期及已逾期；overdue：仅逾期。
    #[param(schema_with = closed::<crate::routes::closed::DueStatus>)]
    pub status: Option<String>,
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page. 上一页返回的游标。
    pub cursor: Option<String>,
    /// `true` to have the answer carry `total`, the number of matching records in all pages.
    /// 为 true 时返回符合条件的总条数 total。
    pub count: Option<bool>,
}

/// Something waiting on the caller. 待办事项。
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItem {
    #[schema(schema_with = closed::<QueueKind>)]
    pub kind: String,
    /// The application, exit case or objection id; the household id for reviews and monitoring.
    pub id: String,
    pub household_id: String,
    /// The worker's name, masked. 职工姓名（脱敏）。
    #[schema(example = "张*")]
    pub worker_name: String,
    /// The household's file number, once it has one. 档案编号（已建档的）。
    #[schema(example = "610724-2026-00017")]
    pub file_number: Option<String>,
    /// The household's grassroots union. 所属基层工会。
    pub organisation_id: String,
    /// 所属基层工会名称。
    #[schema(example = "城关镇总工会")]
    pub organisation_name: String,
    /// The state it waits in: of filing or exit, `open` for an objection, `due` or `overdue`
    /// for a review, `monitoring`. 当前状态。
    #[schema(schema_with = crate::routes::closed::queue_state)]
    pub state: String,
    /// What the caller may do next: steps of filing or exit, or `resolve`, `review`,
    /// `close_monitoring`. 可执行的操作。
    #[schema(schema_with = crate::routes::closed::queue_actions)]
    pub actions: Vec<String>,
    /// Waiting since. 开始等待的时间。
    pub waiting_since: DateTime<Utc>,
    /// How long it has waited, in whole days and in seconds. 已等待天数及秒数。
    pub waited_days: i64,
    pub waited_seconds: i64,
    /// Where to read it. 查看地址。
    pub href: String,
}

/// The caller's work queue. 我的待办。
#[derive(Debug, Serialize, ToSchema)]
pub struct Queue {
    /// Oldest first. 按等待时间从长到短。
    pub items: Vec<QueueItem>,
    /// More items wait than `limit` shows. 是否还有更多。
    pub truncated: bool,
}

/// Queue size. 待办条数。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// 1–200, default 50.
    pub limit: Option<u32>,
}
