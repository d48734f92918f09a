//! Filing and exit as workflows across the union hierarchy (DESIGN §4; seed §2(1), §2(2)):
//! applications, exit cases, their timelines and the step each caller may take next. Every step
//! checks role and scope, takes the case's `If-Match`, and writes the case, its timeline entry and
//! its audit event in one transaction.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use jiekun_domain::access::{Action, Role};
use jiekun_domain::closed::ClosedList;
use jiekun_domain::national_id::mask_name;
use jiekun_domain::workflow::{
    exit_actions, filing_actions, ExitAction, ExitGrounds, ExitState, FilingAction, FilingState,
    Refusal,
};
use jiekun_store::cases::{self, Actor, StepError, StepInput, When};
use jiekun_store::households::{self as hstore, HouseholdRow};
use jiekun_store::workflows::{
    self as store, ApplicationRow, CaseFilter, EventRow, ExitCaseRow, Located,
};
use jiekun_store::{audit, DbConnection, Scope, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::households::file_error;
use super::{not_found, query_error, utc};
use crate::auth::{Access, UserPrincipal};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::extract::{etag, ApiJson, ApiQuery, IfMatch};
use crate::pagination::{page_of, page_request, PageOf};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(open_application)
        .service(list_applications)
        .service(get_application)
        .service(act_on_application)
        .service(open_exit_case)
        .service(list_exit_cases)
        .service(get_exit_case)
        .service(act_on_exit_case)
        .service(household_timeline)
        .service(record_review)
        .service(list_reviews)
        .service(reviews_due)
        .service(queue)
        .service(close_monitoring);
}

// ---- shared --------------------------------------------------------------------------------

/// One entry of a case's timeline. 办理记录。
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    /// What was done (`open`, `submit`, `return`, …). 操作。
    #[schema(example = "submit")]
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    /// Who did it (username). 办理人。
    pub actor: String,
    /// The role they acted in. 办理角色。
    #[schema(example = "grassroots_officer")]
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
    /// `running`, `ended`, `withdrawn`.
    pub status: String,
    /// Objections still open. 未处理的异议数。
    pub open_objections: i64,
}

fn actor(user: &UserPrincipal, scope: Scope) -> Actor {
    Actor {
        username: user.username.clone(),
        roles: user.roles.clone(),
        organisation_id: user.organisation_id.clone(),
        scope,
    }
}

fn when(state: &AppState) -> When {
    When {
        today: state.clock.today(),
        at: state.clock.stored_now(),
    }
}

/// A step that did not happen, as the API answers it.
pub(crate) fn step_error(e: StepError) -> ApiError {
    match e {
        StepError::NotFound(what) => ApiError::not_found(what, case_zh(what)),
        StepError::OutOfScope(what) => out_of_scope(what, case_zh(what)),
        StepError::Refused {
            refusal,
            state,
            action,
        } => refusal_error(refusal, &state, &action),
        StepError::NoticeRunning { ends_on } => {
            let next = ends_on.succ_opt().unwrap_or(ends_on);
            ApiError::new(
                ErrorCode::NoticeRunning,
                format!("the public notice runs until {ends_on} inclusive: it can be closed from {next}"),
                format!("公示期至 {ends_on}（含），{next} 起方可结束公示"),
            )
        }
        StepError::MonitoringRunning { until } => ApiError::new(
            ErrorCode::MonitoringRunning,
            format!("monitoring runs until {until} inclusive"),
            format!("监测期至 {until}（含）"),
        ),
        StepError::Stale { expected, actual } => {
            StoreError::VersionMismatch { expected, actual }.into()
        }
        StepError::Invalid {
            field,
            code,
            message,
            message_zh,
        } => ApiError::validation(vec![FieldError::new(field, code, message, message_zh)]),
        StepError::WrongState {
            message,
            message_zh,
        } => ApiError::new(ErrorCode::WrongState, message, message_zh),
        StepError::WrongRole {
            message,
            message_zh,
        } => ApiError::new(ErrorCode::WrongRole, message, message_zh),
        StepError::AlreadyOpen { kind, id } => {
            let (en, zh) = if kind == "exit_case" {
                ("an exit case", "退出事项")
            } else {
                ("an application", "建档申请")
            };
            ApiError::new(
                ErrorCode::AlreadyExists,
                format!("the household already has {en} on its way {id}")
                    .trim_end()
                    .to_owned(),
                format!("该家庭已有在办的{zh} {id}").trim_end().to_owned(),
            )
            .with_field(FieldError::new(
                "household_id",
                "case_open",
                format!("{en} is on its way"),
                format!("已有在办的{zh}"),
            ))
        }
        StepError::Policy(m) => ApiError::internal(m),
        StepError::File(f) => file_error(f, "members"),
        StepError::Store(s) => s.into(),
    }
}

/// The Chinese name of what a step is about.
fn case_zh(what: &str) -> &'static str {
    match what {
        "household" => "档案",
        "exit case" => "退出事项",
        _ => "建档申请",
    }
}

/// A refusal of the state machine, as the API answers it.
pub(crate) fn refusal_error(r: Refusal, state: &str, action: &str) -> ApiError {
    match r {
        Refusal::WrongState => ApiError::new(
            ErrorCode::WrongState,
            format!("the case is {state}: `{action}` is not possible now"),
            format!("该事项当前状态为 {state}，不能执行 {action}"),
        ),
        Refusal::WrongRole => ApiError::new(
            ErrorCode::WrongRole,
            format!("`{action}` in state {state} belongs to another role"),
            format!("当前状态（{state}）下的 {action} 应由其他角色办理"),
        ),
        Refusal::NoticeRunning => ApiError::bare(ErrorCode::NoticeRunning),
        Refusal::OpenObjection => ApiError::new(
            ErrorCode::OpenObjection,
            "an objection to the notice is still open: resolve it first",
            "公示期间的异议尚未处理，请先处理异议",
        ),
        Refusal::ReasonRequired => ApiError::validation(vec![FieldError::new(
            "opinion",
            "required",
            "a reason or opinion is required for this step",
            "此操作须填写理由或意见",
        )]),
        Refusal::NotFastPath => ApiError::bare(ErrorCode::NotFastPath),
    }
}

pub(crate) fn out_of_scope(what: &str, what_zh: &str) -> ApiError {
    ApiError::new(
        ErrorCode::OutOfScope,
        format!("this {what} lies outside your organisation's scope"),
        format!("该{what_zh}不在您所在组织的管辖范围内"),
    )
}

/// Reads (outside scope answers 404, as for every read).
fn visible<T>(l: Located<T>, what: &str, what_zh: &str) -> ApiResult<T> {
    match l {
        Located::Found(t) => Ok(t),
        _ => Err(ApiError::not_found(what, what_zh)),
    }
}

fn opinion_of(o: &Option<String>) -> ApiResult<Option<String>> {
    match o.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > 2000 => Err(ApiError::validation(vec![FieldError::new(
            "opinion",
            "too_long",
            "at most 2000 characters",
            "不超过 2000 个字符",
        )])),
        Some(t) => Ok(Some(t.to_owned())),
    }
}

/// The opinion and notice date of a step, checked.
fn step_input(
    opinion: &Option<String>,
    assessment_id: &Option<String>,
    notice_starts_on: Option<NaiveDate>,
    today: NaiveDate,
) -> ApiResult<StepInput> {
    if notice_starts_on.is_some_and(|d| d < today) {
        return Err(ApiError::validation(vec![FieldError::new(
            "notice_starts_on",
            "in_the_past",
            "a notice starts today or later",
            "公示开始日期不能早于今天",
        )]));
    }
    if notice_starts_on.is_some_and(|d| d > today + chrono::TimeDelta::days(30)) {
        return Err(ApiError::validation(vec![FieldError::new(
            "notice_starts_on",
            "too_far",
            "a notice starts within 30 days",
            "公示开始日期应在 30 天以内",
        )]));
    }
    Ok(StepInput {
        opinion: opinion_of(opinion)?,
        assessment_id: assessment_id.clone(),
        notice_starts_on,
    })
}

fn notice_summary(c: &mut DbConnection, id: Option<&str>) -> ApiResult<Option<NoticeSummary>> {
    let Some(id) = id else { return Ok(None) };
    let n = store::notice(c, id)?;
    let open = store::open_objections(c, id)?;
    Ok(Some(NoticeSummary {
        id: n.id,
        starts_on: n.starts_on,
        ends_on: n.ends_on,
        status: n.status,
        open_objections: open,
    }))
}

macro_rules! step_body {
    ($(#[$m:meta])* $name:ident, $action:ty, $schema:ty, $example:expr) => {
        $(#[$m])*
        #[derive(Debug, Deserialize, ToSchema)]
        #[schema(example = $example)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The step to take. 操作。
            #[schema(value_type = $schema)]
            pub action: $action,
            /// Opinion or reason; required to return, reject or cancel.
            /// 意见或理由（退回、不予通过、撤销时必填）。
            pub opinion: Option<String>,
            /// A stored assessment of the household this step relies on (`identify` for
            /// applications, `exit` for exit cases). 本步骤所依据的评估记录。
            pub assessment_id: Option<String>,
            /// First day of the public notice (`start_notice`; today to 30 days ahead, default
            /// today). 公示开始日期（今天起 30 天内，默认今天）。
            pub notice_starts_on: Option<NaiveDate>,
        }
    };
}

step_body!(
    /// A step on an application. 建档申请办理操作。
    ApplicationStep, FilingAction, FilingActionName,
    json!({"action": "submit", "opinion": "材料齐全，申报建档。"})
);
step_body!(
    /// A step on an exit case. 退出事项办理操作。
    ExitStep, ExitAction, ExitActionName,
    json!({"action": "start_recheck", "opinion": "受理复核。"})
);

/// Steps on an application (schema of [`FilingAction`]). 建档申请操作。
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilingActionName {
    /// 基层工会申报
    Submit,
    /// 县总工会受理审核
    StartReview,
    /// 县总工会审核通过，进入核查
    ApproveReview,
    /// 开始公示
    StartNotice,
    /// 公示期满且无未处理异议，报市总工会
    EndNotice,
    /// 市总工会审批通过，建档立卡
    CityApprove,
    /// 退回基层工会补正（须写理由）
    Return,
    /// 不予通过（须写意见）
    Reject,
    /// 撤回申请
    Withdraw,
}

/// Steps on an exit case (schema of [`ExitAction`]). 退出事项操作。
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExitActionName {
    /// 县总工会受理复核
    StartRecheck,
    /// 复核确认，报市总工会
    ConfirmRecheck,
    /// 市总工会审核并公示
    StartNotice,
    /// 公示期满且无未处理异议，退出
    CompleteExit,
    /// 死亡或迁出，免公示直接退出
    FastExit,
    /// 撤销退出事项（须写理由）
    Cancel,
}

/// Why a household exits (schema of [`ExitGrounds`]). 退出类型。
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExitGroundsName {
    /// 脱困
    OutOfHardship,
    /// 解困
    SafetyNet,
    /// 死亡
    Death,
    /// 迁出或转出
    Transfer,
}

// ---- applications --------------------------------------------------------------------------

/// A filing application (建档申请) with its timeline. 建档申请及办理记录。
#[derive(Debug, Serialize, ToSchema)]
pub struct Application {
    pub id: String,
    pub household_id: String,
    /// The worker's name, masked. 职工姓名（脱敏）。
    #[schema(example = "张*")]
    pub worker_name: String,
    /// `draft`, `submitted`, `county_review`, `verification`, `public_notice`, `city_approval`,
    /// `filed`, `returned`, `rejected`, `withdrawn`.
    #[schema(example = "county_review")]
    pub state: String,
    /// Since when it is in this state. 进入当前状态的时间。
    pub state_since: DateTime<Utc>,
    /// The category the county review settled on. 县总工会审核认定的困难类别。
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
    #[schema(value_type = Vec<FilingActionName>)]
    pub allowed_actions: Vec<FilingAction>,
    pub timeline: Vec<TimelineEntry>,
    pub opened_by: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn application_view(
    c: &mut DbConnection,
    row: ApplicationRow,
    roles: &[Role],
) -> ApiResult<Application> {
    let h = hstore::get(c, &Scope::All, &row.household_id)?;
    let state = FilingState::from_code(&row.state).ok_or_else(|| ApiError::internal("state"))?;
    Ok(Application {
        worker_name: mask_name(&h.worker_name),
        state: row.state,
        state_since: utc(row.state_since),
        category: row.category,
        assessment_id: row.assessment_id,
        file_number: row.file_number,
        previous_file_number: row.previous_file_number,
        notice: notice_summary(c, row.notice_id.as_deref())?,
        allowed_actions: filing_actions(state, roles),
        timeline: store::timeline(c, &row.id)?
            .into_iter()
            .map(TimelineEntry::from)
            .collect(),
        household_id: row.household_id,
        opened_by: row.opened_by,
        version: row.version,
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
        id: row.id,
    })
}

fn tagged<T: Serialize>(
    status: actix_web::http::StatusCode,
    version: i64,
    body: T,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(actix_web::http::header::ETag(etag(version)))
        .json(body)
}

/// A new application. 新建建档申请。
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"household_id": crate::examples::HOUSEHOLD_ID, "opinion": "职工患病致困，申请建档。"}))]
pub struct NewApplication {
    pub household_id: String,
    /// An `identify` assessment to attach now (optional). 可附上的识别评估。
    pub assessment_id: Option<String>,
    pub opinion: Option<String>,
}

/// Open an application · 新建建档申请
///
/// The grassroots union opens a filing application for a household of its own, in `draft`. A
/// household has at most one application on its way (409 `already_exists`); a filed household
/// needs none (409 `wrong_state`). A household that left (monitoring or closed) and returns to
/// hardship is filed again this way: the application carries its old file number. A withdrawn,
/// rejected or closed household claims its members again (409 when one has joined another
/// active household meanwhile).
///
/// 基层工会为本单位困难职工家庭新建建档申请（草稿）。每户同时只能有一个在办申请；已建档家庭不能再申请。已退出（监测中或已关闭）的家庭返贫后以此重新建档，申请记录原档案编号。
#[utoipa::path(operation_id = "open_application", tag = "workflows", request_body = NewApplication,
    responses((status = 201, description = "Opened. 已新建。", body = Application, headers(("ETag" = String, description = "Version. 版本。")))))]
#[post("/applications")]
async fn open_application(
    state: web::Data<AppState>,
    access: Access,
    ApiJson(body): ApiJson<NewApplication>,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::ApplicationOpen)?;
    let actor = actor(user, scope);
    let opinion = opinion_of(&body.opinion)?;
    let when = when(&state);
    let view = db::write(&state.db, move |c| {
        let row = cases::open_application(
            c,
            &actor,
            when,
            &body.household_id,
            body.assessment_id.as_deref(),
            opinion.as_deref(),
        )
        .map_err(step_error)?;
        audit::append(
            c,
            access.event(
                "application.open",
                "application",
                &row.id,
                serde_json::json!({"household_id": row.household_id, "returning_file": row.previous_file_number}),
            ),
        )?;
        application_view(c, row, &actor.roles)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/applications/{}", view.id)))
        .insert_header(actix_web::http::header::ETag(etag(view.version)))
        .json(view))
}

/// Filters for case lists. 事项列表筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// Comma-separated states. 状态（逗号分隔）。
    #[param(example = "submitted,county_review")]
    pub state: Option<String>,
    pub household_id: Option<String>,
    /// Page size, 1–200 (default 50). 每页条数。
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page. 上一页返回的游标。
    pub cursor: Option<String>,
}

fn case_filter(q: &CaseQuery, known: &[&str]) -> ApiResult<CaseFilter> {
    let mut states = Vec::new();
    for s in q.state.iter().flat_map(|s| s.split(',')).map(str::trim) {
        if s.is_empty() {
            continue;
        }
        if !known.contains(&s) {
            return Err(query_error(FieldError::new(
                "state",
                "invalid_value",
                format!("states are {}", known.join(", ")),
                "状态取值无效",
            )));
        }
        states.push(s.to_owned());
    }
    Ok(CaseFilter {
        states,
        household_id: q.household_id.clone(),
    })
}

/// Application in a list. 申请列表项。
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationItem {
    pub id: String,
    pub household_id: String,
    pub state: String,
    pub state_since: DateTime<Utc>,
    pub category: Option<String>,
    pub file_number: Option<String>,
    pub previous_file_number: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

/// List applications · 查询建档申请
///
/// Applications of the households in the caller's scope, in creation order, filtered by state or
/// household.
///
/// 按创建顺序列出本辖区家庭的建档申请，可按状态、家庭筛选。
#[utoipa::path(operation_id = "list_applications", tag = "workflows", params(CaseQuery),
    responses((status = 200, description = "A page of applications. 一页申请。", body = PageOf<ApplicationItem>)))]
#[get("/applications")]
async fn list_applications(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> ApiResult<web::Json<PageOf<ApplicationItem>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let known: Vec<&str> = FilingState::ALL.iter().map(|s| s.as_str()).collect();
    let filter = case_filter(&q, &known)?;
    let rows = db::run(&state.db, move |c| {
        Ok(store::list_applications(c, &scope, &filter, &page)?)
    })
    .await?;
    Ok(web::Json(page_of(rows, |r| ApplicationItem {
        id: r.id,
        household_id: r.household_id,
        state: r.state,
        state_since: utc(r.state_since),
        category: r.category,
        file_number: r.file_number,
        previous_file_number: r.previous_file_number,
        version: r.version,
        created_at: utc(r.created_at),
    })))
}

/// Get an application · 查看建档申请
///
/// The application with its notice, its full timeline and the steps the caller may take now.
///
/// 查看建档申请、公示情况、完整办理记录以及当前用户可执行的操作。
#[utoipa::path(operation_id = "get_application", tag = "workflows",
    params(("id" = String, Path, description = "Application id. 申请标识。")),
    responses((status = 200, description = "The application. 建档申请。", body = Application, headers(("ETag" = String, description = "Version. 版本。")))))]
#[get("/applications/{id}")]
async fn get_application(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::HouseholdRead)?;
    let roles = user.roles.clone();
    let id = id.into_inner();
    let view = db::run(&state.db, move |c| {
        let row = visible(
            store::application(c, &scope, &id)?,
            "application",
            "建档申请",
        )?;
        application_view(c, row, &roles)
    })
    .await?;
    Ok(tagged(actix_web::http::StatusCode::OK, view.version, view))
}

/// Take a step on an application · 办理建档申请
///
/// Moves the application along the filing chain of seed §2(1). Steps, who takes them, and from
/// which state:
///
/// | action | role | from |
/// |---|---|---|
/// | `submit` | grassroots_officer | draft, returned |
/// | `start_review` | county_reviewer, county_admin | submitted |
/// | `approve_review` (needs an eligible `identify` assessment) | county | county_review |
/// | `start_notice` | county | verification |
/// | `end_notice` (notice over, no open objection) | county | public_notice |
/// | `city_approve` (files the household, gives the file number) | city_approver | city_approval |
/// | `return` (reason) | county; city at city_approval | submitted … city_approval |
/// | `reject` (opinion) | county; city at city_approval | county_review … city_approval |
/// | `withdraw` | grassroots_officer | draft, submitted, returned |
///
/// Requires the application's `If-Match`. Refusals say why: `wrong_state` (409), `wrong_role`
/// (403), `out_of_scope` (403), `notice_running` (409), `open_objection` (409), stale version
/// `precondition_failed` (412), a missing reason `validation_failed` (422).
///
/// 按《实施方案》二（一）的流程办理：基层工会申报 → 县总工会审核 → 核查 → 公示 → 市总工会审批。须携带申请的 If-Match。被拒绝时说明原因：状态不符、角色不符、超出管辖范围、公示未结束、存在未处理异议、版本已变更、缺少理由。
#[utoipa::path(operation_id = "act_on_application", tag = "workflows",
    params(("id" = String, Path, description = "Application id. 申请标识。"), ("If-Match" = String, Header, description = "The application's ETag. 申请 ETag。")),
    request_body = ApplicationStep,
    responses((status = 200, description = "Done. 已办理。", body = Application, headers(("ETag" = String, description = "New version. 新版本。")))))]
#[post("/applications/{id}/actions")]
async fn act_on_application(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<ApplicationStep>,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::WorkflowAct)?;
    let actor = actor(user, scope);
    let when = when(&state);
    let input = step_input(
        &body.opinion,
        &body.assessment_id,
        body.notice_starts_on,
        when.today,
    )?;
    let id = id.into_inner();
    let view = db::write(&state.db, move |c| {
        let action = body.action;
        let done = cases::act_on_application(c, &actor, when, &id, version, action, &input)
            .map_err(step_error)?;
        audit::append(
            c,
            access.event(
                &format!("application.{}", action.as_str()),
                "application",
                &done.row.id,
                serde_json::json!({"from": done.from, "to": done.to, "household_id": done.row.household_id,
                    "file_number": done.row.file_number, "assessment_id": done.relied_on}),
            ),
        )?;
        application_view(c, done.row, &actor.roles)
    })
    .await?;
    Ok(tagged(actix_web::http::StatusCode::OK, view.version, view))
}

// ---- exit cases ----------------------------------------------------------------------------

/// An exit case (退出) with its timeline. 退出事项及办理记录。
#[derive(Debug, Serialize, ToSchema)]
pub struct ExitCase {
    pub id: String,
    pub household_id: String,
    #[schema(example = "张*")]
    pub worker_name: String,
    pub file_number: Option<String>,
    /// `proposed`, `county_recheck`, `city_review`, `public_notice`, `exited`, `cancelled`.
    pub state: String,
    pub state_since: DateTime<Utc>,
    /// `out_of_hardship` (脱困), `safety_net` (解困), `death`, `transfer`.
    #[schema(value_type = ExitGroundsName)]
    pub grounds: ExitGrounds,
    /// `grassroots` (reported by the union) or `candidate` (opened by the county from the
    /// system's exit candidates). 来源：基层工会上报或系统退出候选。
    pub origin: String,
    /// The exit assessment it relies on. 所依据的退出评估。
    pub assessment_id: Option<String>,
    pub notice: Option<NoticeSummary>,
    #[schema(value_type = Vec<ExitActionName>)]
    pub allowed_actions: Vec<ExitAction>,
    pub timeline: Vec<TimelineEntry>,
    pub opened_by: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn exit_view(c: &mut DbConnection, row: ExitCaseRow, roles: &[Role]) -> ApiResult<ExitCase> {
    let h = hstore::get(c, &Scope::All, &row.household_id)?;
    let state = ExitState::from_code(&row.state).ok_or_else(|| ApiError::internal("state"))?;
    let grounds =
        ExitGrounds::from_code(&row.grounds).ok_or_else(|| ApiError::internal("grounds"))?;
    Ok(ExitCase {
        worker_name: mask_name(&h.worker_name),
        file_number: h.file_number,
        state: row.state,
        state_since: utc(row.state_since),
        grounds,
        origin: row.origin,
        assessment_id: row.assessment_id,
        notice: notice_summary(c, row.notice_id.as_deref())?,
        allowed_actions: exit_actions(state, roles),
        timeline: store::timeline(c, &row.id)?
            .into_iter()
            .map(TimelineEntry::from)
            .collect(),
        household_id: row.household_id,
        opened_by: row.opened_by,
        version: row.version,
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
        id: row.id,
    })
}

/// A new exit case. 新建退出事项。
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"household_id": crate::examples::HOUSEHOLD_ID, "grounds": "death", "opinion": "职工本人已于2026年10月病故，家属书面报告。"}))]
pub struct NewExitCase {
    pub household_id: String,
    #[schema(value_type = ExitGroundsName)]
    pub grounds: ExitGrounds,
    /// Required for `out_of_hardship` and `safety_net`: a stored `exit` assessment of the
    /// household with that verdict. 脱困、解困须附相应结论的退出评估。
    pub assessment_id: Option<String>,
    /// The report; required for death and transfer (what happened, the evidence).
    /// 说明；死亡、迁出须写明情况及证明材料。
    pub opinion: Option<String>,
}

/// Propose an exit · 提出退出
///
/// A grassroots officer reports that a filed household of theirs should exit (origin
/// `grassroots`); county staff open one from the system's exit candidates (origin `candidate`).
/// 脱困 and 解困 rely on a stored exit assessment whose verdict matches; death and transfer need
/// a written report and may later skip the notice. One exit case at a time per household.
///
/// 基层工会上报已建档家庭退出（来源 grassroots），或县总工会根据系统退出候选发起（来源 candidate）。脱困、解困须依据结论相符的退出评估；死亡、迁出须写明情况，可免公示。每户同时只能有一个在办退出事项。
#[utoipa::path(operation_id = "open_exit_case", tag = "workflows", request_body = NewExitCase,
    responses((status = 201, description = "Proposed. 已提出。", body = ExitCase, headers(("ETag" = String, description = "Version. 版本。")))))]
#[post("/exit-cases")]
async fn open_exit_case(
    state: web::Data<AppState>,
    access: Access,
    ApiJson(body): ApiJson<NewExitCase>,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::ExitOpen)?;
    let actor = actor(user, scope);
    let opinion = opinion_of(&body.opinion)?;
    let when = when(&state);
    let origin = if actor.roles.contains(&Role::GrassrootsOfficer) {
        "grassroots"
    } else {
        "candidate"
    };
    let view = db::write(&state.db, move |c| {
        let row = cases::open_exit_case(
            c,
            &actor,
            when,
            &body.household_id,
            body.grounds,
            origin,
            body.assessment_id.as_deref(),
            opinion.as_deref(),
        )
        .map_err(step_error)?;
        audit::append(
            c,
            access.event(
                "exit_case.propose",
                "exit_case",
                &row.id,
                serde_json::json!({"household_id": row.household_id, "grounds": row.grounds, "origin": row.origin}),
            ),
        )?;
        exit_view(c, row, &actor.roles)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/exit-cases/{}", view.id)))
        .insert_header(actix_web::http::header::ETag(etag(view.version)))
        .json(view))
}

/// Exit case in a list. 退出事项列表项。
#[derive(Debug, Serialize, ToSchema)]
pub struct ExitCaseItem {
    pub id: String,
    pub household_id: String,
    pub state: String,
    pub state_since: DateTime<Utc>,
    pub grounds: String,
    pub origin: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

/// List exit cases · 查询退出事项
///
/// Exit cases of the households in the caller's scope, in creation order.
///
/// 按创建顺序列出本辖区家庭的退出事项。
#[utoipa::path(operation_id = "list_exit_cases", tag = "workflows", params(CaseQuery),
    responses((status = 200, description = "A page of exit cases. 一页退出事项。", body = PageOf<ExitCaseItem>)))]
#[get("/exit-cases")]
async fn list_exit_cases(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> ApiResult<web::Json<PageOf<ExitCaseItem>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let known: Vec<&str> = ExitState::ALL.iter().map(|s| s.as_str()).collect();
    let filter = case_filter(&q, &known)?;
    let rows = db::run(&state.db, move |c| {
        Ok(store::list_exit_cases(c, &scope, &filter, &page)?)
    })
    .await?;
    Ok(web::Json(page_of(rows, |r| ExitCaseItem {
        id: r.id,
        household_id: r.household_id,
        state: r.state,
        state_since: utc(r.state_since),
        grounds: r.grounds,
        origin: r.origin,
        version: r.version,
        created_at: utc(r.created_at),
    })))
}

/// Get an exit case · 查看退出事项
///
/// The exit case with its notice, its timeline and the steps the caller may take now.
///
/// 查看退出事项、公示情况、办理记录及当前用户可执行的操作。
#[utoipa::path(operation_id = "get_exit_case", tag = "workflows",
    params(("id" = String, Path, description = "Exit case id. 退出事项标识。")),
    responses((status = 200, description = "The exit case. 退出事项。", body = ExitCase, headers(("ETag" = String, description = "Version. 版本。")))))]
#[get("/exit-cases/{id}")]
async fn get_exit_case(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::HouseholdRead)?;
    let roles = user.roles.clone();
    let id = id.into_inner();
    let view = db::run(&state.db, move |c| {
        let row = visible(store::exit_case(c, &scope, &id)?, "exit case", "退出事项")?;
        exit_view(c, row, &roles)
    })
    .await?;
    Ok(tagged(actix_web::http::StatusCode::OK, view.version, view))
}

/// Take a step on an exit case · 办理退出事项
///
/// Moves the exit case along the chain of seed §2(2):
///
/// | action | role | from |
/// |---|---|---|
/// | `start_recheck` | county_reviewer, county_admin | proposed |
/// | `confirm_recheck` (may attach a newer exit assessment) | county | county_recheck |
/// | `start_notice` | city_approver | city_review |
/// | `complete_exit` (notice over, no open objection) | city_approver | public_notice |
/// | `fast_exit` (death or transfer only, no notice) | city_approver | city_review |
/// | `cancel` (reason) | whoever holds it | any open state |
///
/// On exit by 脱困 or 解困 the household is `monitoring` for the policy's monitoring period; by
/// death or transfer it is `closed` and its members are freed. Requires the case's `If-Match`;
/// refusals as for applications, plus `not_fast_path` (409).
///
/// 按《实施方案》二（二）的流程办理：基层工会上报 → 县总工会复核 → 市总工会审核并公示 → 退出。死亡、迁出可免公示直接退出。脱困、解困退出后进入监测期。须携带 If-Match。
#[utoipa::path(operation_id = "act_on_exit_case", tag = "workflows",
    params(("id" = String, Path, description = "Exit case id. 退出事项标识。"), ("If-Match" = String, Header, description = "The exit case's ETag. 退出事项 ETag。")),
    request_body = ExitStep,
    responses((status = 200, description = "Done. 已办理。", body = ExitCase, headers(("ETag" = String, description = "New version. 新版本。")))))]
#[post("/exit-cases/{id}/actions")]
async fn act_on_exit_case(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<ExitStep>,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::WorkflowAct)?;
    let actor = actor(user, scope);
    let when = when(&state);
    let input = step_input(
        &body.opinion,
        &body.assessment_id,
        body.notice_starts_on,
        when.today,
    )?;
    let id = id.into_inner();
    let view = db::write(&state.db, move |c| {
        let action = body.action;
        let done = cases::act_on_exit_case(c, &actor, when, &id, version, action, &input)
            .map_err(step_error)?;
        audit::append(
            c,
            access.event(
                &format!("exit_case.{}", action.as_str()),
                "exit_case",
                &done.row.id,
                serde_json::json!({"from": done.from, "to": done.to, "household_id": done.row.household_id,
                    "grounds": done.row.grounds, "assessment_id": done.relied_on}),
            ),
        )?;
        exit_view(c, done.row, &actor.roles)
    })
    .await?;
    Ok(tagged(actix_web::http::StatusCode::OK, view.version, view))
}

// ---- the household's life after filing -----------------------------------------------------

/// Where a household stands after filing, with every workflow step taken on it.
/// 家庭建档后的状态及全部办理记录。
#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdTimeline {
    pub household_id: String,
    /// `draft`, `filed`, `monitoring`, `closed`, `withdrawn`, `rejected`.
    pub status: String,
    pub file_number: Option<String>,
    /// The file it had before it left and came back. 原档案编号。
    pub previous_file_number: Option<String>,
    pub filed_on: Option<NaiveDate>,
    /// The next annual review falls due. 下次年度复核到期日。
    pub next_review_due: Option<NaiveDate>,
    pub exited_on: Option<NaiveDate>,
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
    /// `application`, `exit_case`, `annual_review`, `household`.
    pub subject_kind: String,
    pub subject_id: String,
    #[serde(flatten)]
    pub entry: TimelineEntry,
}

/// A household's timeline · 家庭办理记录
///
/// The household's status after filing (file numbers, next review, exit, monitoring) and every
/// workflow step taken on it, oldest first.
///
/// 家庭建档后的状态（档案编号、下次复核、退出、监测）及全部办理记录。
#[utoipa::path(operation_id = "get_household_timeline", tag = "workflows",
    params(("id" = String, Path, description = "Household id. 档案标识。")),
    responses((status = 200, description = "The timeline. 办理记录。", body = HouseholdTimeline)))]
#[get("/households/{id}/timeline")]
async fn household_timeline(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<HouseholdTimeline>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let id = id.into_inner();
    let view = db::run(&state.db, move |c| {
        let h =
            hstore::get(c, &scope, &id).map_err(|e| not_found(e.into(), "household", "档案"))?;
        timeline_view(c, h)
    })
    .await?;
    Ok(web::Json(view))
}

fn timeline_view(c: &mut DbConnection, h: HouseholdRow) -> ApiResult<HouseholdTimeline> {
    let life = store::lifecycle(c, &h.id)?.unwrap_or_default();
    let events = store::household_timeline(c, &h.id)?;
    Ok(HouseholdTimeline {
        household_id: h.id,
        status: h.status,
        file_number: h.file_number,
        previous_file_number: life.previous_file_number,
        filed_on: life.filed_on,
        next_review_due: life.next_review_due,
        exited_on: life.exited_on,
        exit_grounds: life.exit_grounds,
        monitoring_until: life.monitoring_until,
        closed_on: life.closed_on,
        timeline: events
            .into_iter()
            .map(|e| TimelineEntryOf {
                subject_kind: e.subject_kind.clone(),
                subject_id: e.subject_id.clone(),
                entry: TimelineEntry::from(e),
            })
            .collect(),
    })
}

/// Closing a monitored household. 监测期满关闭。
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"opinion": "监测期满，未返困。"}))]
pub struct CloseMonitoring {
    pub opinion: Option<String>,
}

/// End monitoring · 监测期满关闭档案
///
/// After the monitoring period, the county union closes the file of a household that left by
/// 脱困 or 解困: its members are freed. Before the period ends: 409 `monitoring_running`; a
/// household not monitored: 409 `wrong_state`. Requires the household's `If-Match`.
///
/// 监测期满后，县总工会关闭脱困、解困家庭的档案，成员不再占用。监测期未满返回 409 monitoring_running。须携带户档案 If-Match。
#[utoipa::path(operation_id = "close_monitoring", tag = "workflows",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    request_body = CloseMonitoring,
    responses((status = 200, description = "Closed. 已关闭。", body = HouseholdTimeline, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[post("/households/{id}/close-monitoring")]
async fn close_monitoring(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<CloseMonitoring>,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::WorkflowAct)?;
    let actor = actor(user, scope);
    let opinion = opinion_of(&body.opinion)?;
    let when = when(&state);
    let id = id.into_inner();
    let (v, view) = db::write(&state.db, move |c| {
        let h = cases::close_monitoring(c, &actor, when, &id, version, opinion.as_deref())
            .map_err(step_error)?;
        audit::append(
            c,
            access.event(
                "household.close",
                "household",
                &h.id,
                serde_json::json!({"from": "monitoring", "to": "closed"}),
            ),
        )?;
        Ok((h.version, timeline_view(c, h)?))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(actix_web::http::header::ETag(etag(v)))
        .json(view))
}

// ---- annual review -------------------------------------------------------------------------

/// Days before its due date that a review enters the queue. 复核提前进入待办的天数。
pub const REVIEW_NOTICE_DAYS: i64 = 30;

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
    /// `deep`, `relative`, `accident`, `not_eligible`.
    pub verdict: String,
    /// `continues` (still in hardship; category updated) or `no_longer_eligible` (an exit case
    /// should follow). 复核结论：继续帮扶或不再符合条件。
    pub outcome: String,
    pub opinion: Option<String>,
    pub reviewed_by: String,
    /// The next review falls due. 下次复核到期日。
    pub next_due: NaiveDate,
    pub created_at: DateTime<Utc>,
}

impl From<store::ReviewRow> for AnnualReview {
    fn from(r: store::ReviewRow) -> Self {
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
            created_at: utc(r.created_at),
        }
    }
}

/// A review to record. 登记年度复核。
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"assessment_id": crate::examples::ASSESSMENT_ID, "opinion": "年度复核：仍符合条件。"}))]
pub struct NewAnnualReview {
    /// A stored `identify` assessment of the household, made for this review.
    /// 为本次复核所作的识别评估。
    pub assessment_id: String,
    pub opinion: Option<String>,
}

/// Record an annual review · 登记年度复核
///
/// Every filed household is reviewed at least once per review interval (policy
/// `review_interval_months`, 12 by default). The review relies on a fresh identification
/// assessment: still in hardship, the household continues (its category follows the
/// assessment); no longer eligible, the outcome says so and an exit case should follow. The next
/// review falls due one interval later. Grassroots officers and county staff; requires the
/// household's `If-Match`.
///
/// 已建档家庭每个复核周期（默认 12 个月）至少复核一次，依据新的识别评估：仍符合条件的继续帮扶（困难类别随评估调整）；不再符合的记录结论，随后应办理退出。须携带户档案 If-Match。
#[utoipa::path(operation_id = "record_annual_review", tag = "workflows",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    request_body = NewAnnualReview,
    responses((status = 201, description = "Recorded. 已登记。", body = AnnualReview, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[post("/households/{id}/annual-reviews")]
async fn record_review(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<NewAnnualReview>,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::WorkflowAct)?;
    let actor = actor(user, scope);
    let opinion = opinion_of(&body.opinion)?;
    let when = when(&state);
    let id = id.into_inner();
    let (v, review) = db::write(&state.db, move |c| {
        let (row, h) = cases::record_review(
            c,
            &actor,
            when,
            &id,
            version,
            &body.assessment_id,
            opinion.as_deref(),
        )
        .map_err(step_error)?;
        audit::append(
            c,
            access.event(
                "household.annual_review",
                "household",
                &h.id,
                serde_json::json!({"review_id": row.id, "verdict": row.verdict, "outcome": row.outcome, "next_due": row.next_due}),
            ),
        )?;
        Ok((h.version, row))
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(actix_web::http::header::ETag(etag(v)))
        .json(AnnualReview::from(review)))
}

/// List a household's annual reviews · 查询年度复核记录
///
/// Newest first.
///
/// 按时间倒序列出该户的年度复核记录。
#[utoipa::path(operation_id = "list_annual_reviews", tag = "workflows",
    params(("id" = String, Path, description = "Household id. 档案标识。")),
    responses((status = 200, description = "The reviews. 复核记录。", body = Vec<AnnualReview>)))]
#[get("/households/{id}/annual-reviews")]
async fn list_reviews(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<AnnualReview>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let id = id.into_inner();
    let rows = db::run(&state.db, move |c| {
        hstore::get(c, &scope, &id).map_err(|e| not_found(e.into(), "household", "档案"))?;
        Ok(store::reviews_of(c, &id)?)
    })
    .await?;
    Ok(web::Json(
        rows.into_iter().map(AnnualReview::from).collect(),
    ))
}

/// A review due. 待复核家庭。
#[derive(Debug, Serialize, ToSchema)]
pub struct DueReview {
    pub household_id: String,
    pub file_number: Option<String>,
    #[schema(example = "张*")]
    pub worker_name: String,
    pub organisation_id: String,
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
    pub status: Option<String>,
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page. 上一页返回的游标。
    pub cursor: Option<String>,
}

fn encode_due_cursor(due: NaiveDate, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("r1:{due}:{id}"))
}

fn decode_due_cursor(c: &str) -> Option<(NaiveDate, String)> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let rest = text.strip_prefix("r1:")?;
    let (d, id) = rest.split_once(':')?;
    Some((d.parse().ok()?, id.to_owned()))
}

/// Reviews due and overdue · 待复核家庭
///
/// Filed households in the caller's scope whose annual review is due within 30 days or overdue,
/// earliest due first.
///
/// 本辖区 30 天内到期及已逾期未复核的已建档家庭，按到期日排序。
#[utoipa::path(operation_id = "list_reviews_due", tag = "workflows", params(DueQuery),
    responses((status = 200, description = "A page of reviews due. 一页待复核家庭。", body = PageOf<DueReview>)))]
#[get("/annual-reviews/due")]
async fn reviews_due(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<DueQuery>,
) -> ApiResult<web::Json<PageOf<DueReview>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let limit = page_request(q.limit, None)?.limit;
    let after = match q.cursor.as_deref() {
        Some(c) => Some(decode_due_cursor(c).ok_or_else(|| {
            query_error(FieldError::new(
                "cursor",
                "invalid_cursor",
                "not a cursor this endpoint gave out",
                "游标无效",
            ))
        })?),
        None => None,
    };
    let today = state.clock.today();
    let until = match q.status.as_deref() {
        None | Some("due") => today + chrono::TimeDelta::days(REVIEW_NOTICE_DAYS),
        Some("overdue") => today - chrono::TimeDelta::days(1),
        Some(_) => {
            return Err(query_error(FieldError::new(
                "status",
                "invalid_value",
                "`due` or `overdue`",
                "取值应为 due 或 overdue",
            )))
        }
    };
    let mut rows = db::run(&state.db, move |c| {
        Ok(store::reviews_due(
            c,
            &scope,
            until,
            after,
            i64::from(limit) + 1,
        )?)
    })
    .await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| encode_due_cursor(r.due_on, &r.household_id))
    } else {
        None
    };
    Ok(web::Json(PageOf {
        items: rows
            .into_iter()
            .map(|r| DueReview {
                worker_name: mask_name(&r.worker_name),
                overdue: r.due_on < today,
                days_overdue: (today - r.due_on).num_days(),
                household_id: r.household_id,
                file_number: r.file_number,
                organisation_id: r.organisation_id,
                category: r.category,
                due_on: r.due_on,
            })
            .collect(),
        next_cursor,
        total: None,
    }))
}

// ---- work queue ----------------------------------------------------------------------------

/// Something waiting on the caller. 待办事项。
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItem {
    /// `application`, `exit_case`, `objection`, `annual_review`, `monitoring_over`.
    #[schema(example = "application")]
    pub kind: String,
    /// The application, exit case or objection id; the household id for reviews and monitoring.
    pub id: String,
    pub household_id: String,
    /// The state it waits in (`submitted`, `city_review`, `open`, `due`, …). 当前状态。
    pub state: String,
    /// What the caller may do next. 可执行的操作。
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

/// My work queue · 我的待办
///
/// What waits on the caller's organisation and role, oldest first, with how long each has
/// waited: for grassroots officers, applications in draft or returned and annual reviews due;
/// for county staff, applications from submission to the end of their notice, exit cases to
/// re-check, open objections to filing notices and monitored households whose period is over;
/// for city approvers, applications to approve, exit cases to review or close, and open
/// objections to exit notices.
///
/// 列出等待当前用户所在组织和角色办理的事项，按等待时间从长到短排列：基层工会为草稿、退回的申请及到期复核；县总工会为待审核、核查、公示中的申请，待复核的退出事项，建档公示的异议及监测期满的家庭；市总工会为待审批的申请、待审核或公示中的退出事项及退出公示的异议。
#[utoipa::path(operation_id = "get_queue", tag = "workflows", params(QueueQuery),
    responses((status = 200, description = "The queue. 待办。", body = Queue)))]
#[get("/queue")]
async fn queue(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<web::Json<Queue>> {
    let (user, scope) = access.require_user(Action::HouseholdRead)?;
    let roles = user.roles.clone();
    let limit = page_request(q.limit, None)?.limit;
    let now = state.clock.now();
    let today = state.clock.today();
    let fetch = i64::from(limit) + 1;
    let items = db::run_blocking(&state.db, move |c| {
        let waits = |r: &[Role]| r.iter().any(|x| roles.contains(x));
        let filing: Vec<&str> = FilingState::ALL
            .iter()
            .filter(|s| waits(s.waits_on()))
            .map(|s| s.as_str())
            .collect();
        let exits: Vec<&str> = ExitState::ALL
            .iter()
            .filter(|s| waits(s.waits_on()))
            .map(|s| s.as_str())
            .collect();
        let county = waits(&[Role::CountyReviewer, Role::CountyAdmin]);
        let city = waits(&[Role::CityApprover]);
        let mut items: Vec<(NaiveDateTime, QueueItem)> = Vec::new();
        let item = |kind: &str,
                    id: &str,
                    household: &str,
                    state: &str,
                    actions: Vec<String>,
                    since: NaiveDateTime,
                    href: String| {
            let waited = now.naive_utc() - since;
            (
                since,
                QueueItem {
                    kind: kind.into(),
                    id: id.into(),
                    household_id: household.into(),
                    state: state.into(),
                    actions,
                    waiting_since: utc(since),
                    waited_days: waited.num_days(),
                    waited_seconds: waited.num_seconds(),
                    href,
                },
            )
        };
        for a in store::waiting_applications(c, &scope, &filing, fetch)? {
            let actions = FilingState::from_code(&a.state)
                .map(|s| {
                    filing_actions(s, &roles)
                        .iter()
                        .map(|x| x.as_str().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            items.push(item(
                "application",
                &a.id,
                &a.household_id,
                &a.state,
                actions,
                a.state_since,
                format!("/api/v1/applications/{}", a.id),
            ));
        }
        for x in store::waiting_exit_cases(c, &scope, &exits, fetch)? {
            let actions = ExitState::from_code(&x.state)
                .map(|s| {
                    exit_actions(s, &roles)
                        .iter()
                        .map(|x| x.as_str().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            items.push(item(
                "exit_case",
                &x.id,
                &x.household_id,
                &x.state,
                actions,
                x.state_since,
                format!("/api/v1/exit-cases/{}", x.id),
            ));
        }
        let mut objection_kinds = Vec::new();
        if county {
            objection_kinds.push("application");
        }
        if city {
            objection_kinds.push("exit_case");
        }
        for kind in objection_kinds {
            for o in store::waiting_objections(c, &scope, kind, fetch)? {
                let n = store::notice(c, &o.notice_id)?;
                items.push(item(
                    "objection",
                    &o.id,
                    &n.household_id,
                    "open",
                    vec!["resolve".into()],
                    o.created_at,
                    format!("/api/v1/public-notices/{}/objections", o.notice_id),
                ));
            }
        }
        if waits(&[Role::GrassrootsOfficer]) {
            let until = today + chrono::TimeDelta::days(REVIEW_NOTICE_DAYS);
            for r in store::reviews_due(c, &scope, until, None, fetch)? {
                let since = (r.due_on - chrono::TimeDelta::days(REVIEW_NOTICE_DAYS))
                    .and_hms_opt(0, 0, 0)
                    .unwrap_or_default()
                    - chrono::TimeDelta::hours(8);
                let state = if r.due_on < today { "overdue" } else { "due" };
                items.push(item(
                    "annual_review",
                    &r.household_id,
                    &r.household_id,
                    state,
                    vec!["review".into()],
                    since,
                    format!("/api/v1/households/{}/annual-reviews", r.household_id),
                ));
            }
        }
        if county {
            for r in store::monitoring_over(c, &scope, today, fetch)? {
                let since = (r.due_on + chrono::TimeDelta::days(1))
                    .and_hms_opt(0, 0, 0)
                    .unwrap_or_default()
                    - chrono::TimeDelta::hours(8);
                items.push(item(
                    "monitoring_over",
                    &r.household_id,
                    &r.household_id,
                    "monitoring",
                    vec!["close_monitoring".into()],
                    since,
                    format!("/api/v1/households/{}/timeline", r.household_id),
                ));
            }
        }
        items.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        Ok(items)
    })
    .await?;
    let truncated = items.len() > limit as usize;
    Ok(web::Json(Queue {
        items: items
            .into_iter()
            .take(limit as usize)
            .map(|(_, i)| i)
            .collect(),
        truncated,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names<T: Serialize>(v: &[T]) -> Vec<String> {
        v.iter()
            .map(|x| {
                serde_json::to_value(x)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn the_documented_names_are_the_domains() {
        use ExitActionName as X;
        use FilingActionName as F;
        assert_eq!(
            names(&[
                F::Submit,
                F::StartReview,
                F::ApproveReview,
                F::StartNotice,
                F::EndNotice,
                F::CityApprove,
                F::Return,
                F::Reject,
                F::Withdraw
            ]),
            names(FilingAction::ALL)
        );
        assert_eq!(
            names(&[
                X::StartRecheck,
                X::ConfirmRecheck,
                X::StartNotice,
                X::CompleteExit,
                X::FastExit,
                X::Cancel
            ]),
            names(ExitAction::ALL)
        );
        assert_eq!(
            names(&[
                ExitGroundsName::OutOfHardship,
                ExitGroundsName::SafetyNet,
                ExitGroundsName::Death,
                ExitGroundsName::Transfer
            ]),
            names(ExitGrounds::ALL)
        );
    }
}
