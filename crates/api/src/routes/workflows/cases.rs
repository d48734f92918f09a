//! The endpoints of both kinds of case, filing applications (建档申请) and exit cases (退出):
//! open, list, read and take a step. Both do these alike; each kind says where its records are
//! and how it is shown, and its handlers hand over to one implementation.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use jiekun_domain::access::{Action, Role};
use jiekun_domain::closed::ClosedList;
use jiekun_domain::workflow::{Exit, Filing, Machine};
use jiekun_store::cases::{self, Actor, StepInput, StepResult, When};
use jiekun_store::workflows::{self as store, ApplicationRow, CaseFilter, ExitCaseRow, Located};
use jiekun_store::{DbConnection, Page, PageRequest, Scope, StoreResult};
use serde::Serialize;
use utoipa::ToSchema;

use super::dto::{
    Application, ApplicationItem, ApplicationStep, CaseQuery, ExitCase, ExitCaseItem, ExitStep,
    NewApplication, NewExitCase,
};
use super::{case_filter, opened, opinion_of, staff, step_error, tagged, views};
use crate::auth::Access;
use crate::body::Body;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiQuery, Change};
use crate::pagination::{page_of, page_request, total_if, PageOf};
use crate::{db, AppState};

/// A kind of case as its endpoints see it.
pub(super) trait CaseKind: Machine<Action: Send> + 'static {
    type Row: Send + 'static;
    /// The case in full, as read and as answered after a step.
    type View: Serialize + Send + 'static;
    /// The case in a list.
    type Item: Serialize + ToSchema + From<Self::Row>;
    fn find(c: &mut DbConnection, scope: &Scope, id: &str) -> StoreResult<Located<Self::Row>>;
    fn list(
        c: &mut DbConnection,
        scope: &Scope,
        filter: &CaseFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Self::Row>>;
    fn count(c: &mut DbConnection, scope: &Scope, filter: &CaseFilter) -> StoreResult<u64>;
    /// The store's unit of work for a step.
    fn act(
        c: &mut DbConnection,
        actor: &Actor,
        when: When,
        id: &str,
        expected: i64,
        action: Self::Action,
        input: &StepInput,
    ) -> StepResult<Self::Row>;
    fn view(c: &mut DbConnection, row: Self::Row, roles: &[Role]) -> ApiResult<Self::View>;
    /// Where the cases of this kind are, under `/api/v1`.
    const PATH: &'static str;
    fn id(view: &Self::View) -> &str;
    fn version(view: &Self::View) -> i64;
}

/// Where a kind of case is kept and how it is shown.
macro_rules! case_kind {
    ($machine:ty, $row:ty, $view:ty, $item:ty,
     path: $path:literal, find: $find:path, list: $list:path, count: $count:path,
     act: $act:path, view: $show:path) => {
        impl CaseKind for $machine {
            type Row = $row;
            type View = $view;
            type Item = $item;
            fn find(c: &mut DbConnection, scope: &Scope, id: &str) -> StoreResult<Located<$row>> {
                $find(c, scope, id)
            }
            fn list(
                c: &mut DbConnection,
                scope: &Scope,
                filter: &CaseFilter,
                page: &PageRequest,
            ) -> StoreResult<Page<$row>> {
                $list(c, scope, filter, page)
            }
            fn count(c: &mut DbConnection, scope: &Scope, filter: &CaseFilter) -> StoreResult<u64> {
                $count(c, scope, filter)
            }
            fn act(
                c: &mut DbConnection,
                actor: &Actor,
                when: When,
                id: &str,
                expected: i64,
                action: <$machine as Machine>::Action,
                input: &StepInput,
            ) -> StepResult<$row> {
                $act(c, actor, when, id, expected, action, input)
            }
            fn view(c: &mut DbConnection, row: $row, roles: &[Role]) -> ApiResult<$view> {
                $show(c, row, roles)
            }
            const PATH: &'static str = $path;
            fn id(view: &$view) -> &str {
                &view.id
            }
            fn version(view: &$view) -> i64 {
                view.version
            }
        }
    };
}

case_kind!(Filing, ApplicationRow, Application, ApplicationItem, path: "applications",
    find: store::application, list: store::list_applications, count: store::count_applications,
    act: cases::act_on_application, view: views::application_view);

case_kind!(Exit, ExitCaseRow, ExitCase, ExitCaseItem, path: "exit-cases",
    find: store::exit_case, list: store::list_exit_cases, count: store::count_exit_cases,
    act: cases::act_on_exit_case, view: views::exit_view);

/// Opens a case with the store's unit of work `open`: 201 with where to read the case.
async fn open_case<K: CaseKind>(
    state: web::Data<AppState>,
    access: Access,
    allowed: Action,
    opinion: &Option<String>,
    open: impl FnOnce(&mut DbConnection, &Actor, When, Option<String>) -> StepResult<K::Row>
        + Send
        + 'static,
) -> ApiResult<HttpResponse> {
    let (actor, when) = staff(&state, &access, allowed)?;
    let opinion = opinion_of(opinion)?;
    let view = db::write(&state.db, move |c| {
        let row = open(c, &actor, when, opinion).map_err(step_error)?;
        K::view(c, row, &actor.roles)
    })
    .await?;
    let location = format!("/api/v1/{}/{}", K::PATH, K::id(&view));
    Ok(opened(location, K::version(&view), view))
}

/// The cases in the caller's scope, filtered by state or household.
async fn list_cases<K: CaseKind>(
    state: web::Data<AppState>,
    access: Access,
    q: CaseQuery,
) -> ApiResult<web::Json<PageOf<K::Item>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let filter = case_filter(&q, &K::State::codes())?;
    let count = q.count;
    let (rows, total) = db::run(&state.db, move |c| {
        let total = total_if(count, || K::count(c, &scope, &filter))?;
        Ok((K::list(c, &scope, &filter, &page)?, total))
    })
    .await?;
    Ok(web::Json(page_of(rows, K::Item::from).with_total(total)))
}

/// A case in the caller's scope, with its `ETag`.
async fn get_case<K: CaseKind>(
    state: web::Data<AppState>,
    access: Access,
    id: String,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::HouseholdRead)?;
    let roles = user.roles.clone();
    let view = db::run(&state.db, move |c| match K::find(c, &scope, &id)? {
        Located::Found(row) => K::view(c, row, &roles),
        _ => Err(ApiError::not_found(K::CASE.0, K::CASE.1)),
    })
    .await?;
    Ok(tagged(StatusCode::OK, K::version(&view), view))
}

/// A step on a case, as one unit of work of the store; the case as it now is.
async fn act_on_case<K: CaseKind>(
    state: web::Data<AppState>,
    access: Access,
    id: String,
    version: i64,
    step: (K::Action, super::StepFields),
) -> ApiResult<HttpResponse> {
    let (actor, when) = staff(&state, &access, Action::WorkflowAct)?;
    let (action, fields) = step;
    let input = fields.check(when.today)?;
    let view = db::write(&state.db, move |c| {
        let row = K::act(c, &actor, when, &id, version, action, &input).map_err(step_error)?;
        K::view(c, row, &actor.roles)
    })
    .await?;
    Ok(tagged(StatusCode::OK, K::version(&view), view))
}

/// The documented list, read and step operations of a kind of case: the same answers for both
/// kinds, each with its own paths, operation ids, shapes and words.
macro_rules! case_operations {
    (
        kind: $kind:ident, out: $out:ident, item: $item:ident, step: $step:ident,
        id: $id_doc:literal, if_match: $etag_doc:literal,
        $(#[doc = $list_doc:literal])*
        list: ($list_fn:ident, $list_op:literal, $collection:literal, $page:literal),
        $(#[doc = $get_doc:literal])*
        get: ($get_fn:ident, $get_op:literal, $one:literal, $found:literal),
        $(#[doc = $act_doc:literal])*
        act: ($act_fn:ident, $act_op:literal, $actions:literal),
    ) => {
        $(#[doc = $list_doc])*
        #[utoipa::path(operation_id = $list_op, tag = "workflows", params(CaseQuery),
            responses((status = 200, description = $page, body = PageOf<$item>)))]
        #[get($collection)]
        pub(super) async fn $list_fn(
            state: web::Data<AppState>,
            access: Access,
            ApiQuery(q): ApiQuery<CaseQuery>,
        ) -> ApiResult<web::Json<PageOf<$item>>> {
            list_cases::<$kind>(state, access, q).await
        }

        $(#[doc = $get_doc])*
        #[utoipa::path(operation_id = $get_op, tag = "workflows",
            params(("id" = String, Path, description = $id_doc)),
            responses((status = 200, description = $found, body = $out, headers(("ETag" = String, description = "Version. 版本。")))))]
        #[get($one)]
        pub(super) async fn $get_fn(
            state: web::Data<AppState>,
            access: Access,
            id: web::Path<String>,
        ) -> ApiResult<HttpResponse> {
            get_case::<$kind>(state, access, id.into_inner()).await
        }

        $(#[doc = $act_doc])*
        #[utoipa::path(operation_id = $act_op, tag = "workflows",
            params(("id" = String, Path, description = $id_doc), ("If-Match" = String, Header, description = $etag_doc)),
            request_body = $step,
            responses((status = 200, description = "Done. 已办理。", body = $out, headers(("ETag" = String, description = "New version. 新版本。")))))]
        #[post($actions)]
        pub(super) async fn $act_fn(
            state: web::Data<AppState>,
            access: Access,
            Change { id, version, body }: Change,
        ) -> ApiResult<HttpResponse> {
            access.require_user(Action::WorkflowAct)?;
            let body: $step = body.parse()?;
            body.check_override()?;
            act_on_case::<$kind>(state, access, id, version, body.split()).await
        }
    };
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
    responses((status = 201, description = "Opened. 已新建。", body = Application, headers(("ETag" = String, description = "Version. 版本。"))),
        (status = 404, description = "`not_found`: no such household in your scope. 您的范围内没有该档案。", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:jiekun:problem:not_found", "title": "The resource does not exist", "status": 404, "code": "not_found", "detail": "household not found", "detail_zh": "档案不存在"}))))]
#[post("/applications")]
pub(super) async fn open_application(
    state: web::Data<AppState>,
    access: Access,
    body: Body,
) -> ApiResult<HttpResponse> {
    access.require_user(Action::ApplicationOpen)?;
    let body: NewApplication = body.parse()?;
    let opinion = body.opinion.clone();
    open_case::<Filing>(
        state,
        access,
        Action::ApplicationOpen,
        &opinion,
        move |c, actor, when, opinion| {
            let assessment = body.assessment_id.as_deref();
            cases::open_application(
                c,
                actor,
                when,
                &body.household_id,
                assessment,
                opinion.as_deref(),
            )
        },
    )
    .await
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
    responses((status = 201, description = "Proposed. 已提出。", body = ExitCase, headers(("ETag" = String, description = "Version. 版本。"))),
        (status = 404, description = "`not_found`: no such household in your scope. 您的范围内没有该档案。", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:jiekun:problem:not_found", "title": "The resource does not exist", "status": 404, "code": "not_found", "detail": "household not found", "detail_zh": "档案不存在"}))))]
#[post("/exit-cases")]
pub(super) async fn open_exit_case(
    state: web::Data<AppState>,
    access: Access,
    body: Body,
) -> ApiResult<HttpResponse> {
    access.require_user(Action::ExitOpen)?;
    let body: NewExitCase = body.parse()?;
    let opinion = body.opinion.clone();
    open_case::<Exit>(
        state,
        access,
        Action::ExitOpen,
        &opinion,
        move |c, actor, when, opinion| {
            // Grassroots officers report; county staff open from the exit candidates.
            let origin = if actor.roles.contains(&Role::GrassrootsOfficer) {
                "grassroots"
            } else {
                "candidate"
            };
            let assessment = body.assessment_id.as_deref();
            let (household, grounds, opinion) =
                (&body.household_id, body.grounds, opinion.as_deref());
            cases::open_exit_case(
                c, actor, when, household, grounds, origin, assessment, opinion,
            )
        },
    )
    .await
}

case_operations! {
    kind: Filing, out: Application, item: ApplicationItem, step: ApplicationStep,
    id: "Application id. 申请标识。", if_match: "The application's ETag. 申请 ETag。",
    /// List applications · 查询建档申请
    ///
    /// Applications of the households in the caller's scope, in creation order, filtered by state or
    /// household.
    ///
    /// 按创建顺序列出本辖区家庭的建档申请，可按状态、家庭筛选。
    list: (list_applications, "list_applications", "/applications", "A page of applications. 一页申请。"),
    /// Get an application · 查看建档申请
    ///
    /// The application with its notice, its full timeline and the steps the caller may take now.
    ///
    /// 查看建档申请、公示情况、完整办理记录以及当前用户可执行的操作。
    get: (get_application, "get_application", "/applications/{id}", "The application. 建档申请。"),
    /// Take a step on an application · 办理建档申请
    ///
    /// Moves the application along the filing procedure of 《实施方案》二(一) (《城市困难职工解困脱困工作长效机制实施方案》).
    /// Steps, who takes them, and from which state:
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
    act: (act_on_application, "act_on_application", "/applications/{id}/actions"),
}

case_operations! {
    kind: Exit, out: ExitCase, item: ExitCaseItem, step: ExitStep,
    id: "Exit case id. 退出事项标识。", if_match: "The exit case's ETag. 退出事项 ETag。",
    /// List exit cases · 查询退出事项
    ///
    /// Exit cases of the households in the caller's scope, in creation order.
    ///
    /// 按创建顺序列出本辖区家庭的退出事项。
    list: (list_exit_cases, "list_exit_cases", "/exit-cases", "A page of exit cases. 一页退出事项。"),
    /// Get an exit case · 查看退出事项
    ///
    /// The exit case with its notice, its timeline and the steps the caller may take now.
    ///
    /// 查看退出事项、公示情况、办理记录及当前用户可执行的操作。
    get: (get_exit_case, "get_exit_case", "/exit-cases/{id}", "The exit case. 退出事项。"),
    /// Take a step on an exit case · 办理退出事项
    ///
    /// Moves the exit case along the exit procedure of 《实施方案》二(二)
    /// (《城市困难职工解困脱困工作长效机制实施方案》):
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
    act: (act_on_exit_case, "act_on_exit_case", "/exit-cases/{id}/actions"),
}
