//! Information sharing (信息共享, 《实施方案》三(一)1): the county union asks departments to verify a
//! household's data, with every member's signed consent; each department's key answers the tasks
//! of its own kind and region with dated facts, seeing only the people it must find. Consents live
//! under the household (`consents.rs`), differences from the declared file under
//! `/discrepancies` (`discrepancies.rs`).

pub mod consents;
pub mod discrepancies;
pub mod dto;

use actix_web::http::StatusCode;
use actix_web::web;
use actix_web::{get, post, HttpResponse};
use chrono::NaiveDate;
use jiekun_domain::access::Action;
use jiekun_domain::national_id::mask_name;
use jiekun_store::audit::Caller;
use jiekun_store::crypto::FieldCipher;
use jiekun_store::measures::Doer;
use jiekun_store::sharing::answers;
use jiekun_store::sharing::verifications::{
    self as store, NewVerification, Subject, TaskFilter, VerificationFilter,
};
use jiekun_store::sharing::{FactRow, TaskRow, Viewer};
use jiekun_store::DbConnection;
use utoipa_actix_web::service_config::ServiceConfig;

use self::dto::{
    AnswerBody, AnswerResult, NewVerificationBody, TaskQuery, TaskSubject, Verification,
    VerificationQuery, VerificationTask, VerifiedFact,
};
use super::measures::{doer, measure_error};
use crate::auth::Access;
use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::extract::Idempotent;
use crate::idempotency::{self, Answer};
use crate::pagination::{page_of, total_if, PageOf, Paged};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    // The task routes come first: `/verifications/tasks` is not a request id.
    cfg.service(list_tasks)
        .service(get_task)
        .service(answer_task)
        .service(open)
        .service(list)
        .service(get_one);
    consents::configure(cfg);
    discrepancies::configure(cfg);
}

fn text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The tasks as the viewer sees them: a department sees each person's name and full identity
/// number (read and audited here), staff see them masked, with the household and the facts.
fn shown(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    caller: &Caller,
    viewer: &Viewer,
    rows: Vec<TaskRow>,
    today: NaiveDate,
) -> ApiResult<Vec<VerificationTask>> {
    let staff = matches!(viewer, Viewer::Staff(_));
    let people = store::subjects(c, cipher, caller, viewer, &rows).map_err(measure_error)?;
    let mut out = Vec::with_capacity(rows.len());
    for (t, subjects) in rows.into_iter().zip(people) {
        let members = subjects
            .into_iter()
            .map(|s: Subject| TaskSubject {
                name: if staff { mask_name(&s.name) } else { s.name },
                national_id: s.national_id,
                member_id: s.member_id,
                relation: s.relation,
            })
            .collect();
        let facts = if staff {
            Some(facts_of(c, &t.id)?)
        } else {
            None
        };
        out.push(VerificationTask::of(t, members, staff, facts, today));
    }
    Ok(out)
}

fn facts_of(c: &mut DbConnection, task_id: &str) -> ApiResult<Vec<VerifiedFact>> {
    let rows: Vec<FactRow> = jiekun_store::sharing::facts_of_task(c, task_id)?;
    Ok(rows.into_iter().map(VerifiedFact::from).collect())
}

/// Open a verification · 发起数据核对
///
/// Asks departments to verify a household's data: one task per data domain, for the department
/// kind that answers for it, due in `verification_due_working_days` working days of the policy
/// book. Refused with 409 `consent_missing`, naming each member and the domains, unless every
/// member checked has a standing signed consent covering every domain asked. County reviewers and
/// administrators; not open to department keys.
///
/// 向部门发起家庭数据核对：每个数据类别生成一项任务，交由对应部门，期限为政策参数 verification_due_working_days 个工作日。被核对成员的有效授权书须覆盖全部所请求的数据类别，否则返回 409 consent_missing，并列明缺少授权的成员和类别。限县总工会审核人、管理员，部门密钥不可调用。
#[utoipa::path(operation_id = "open_verification", tag = "verifications",
    request_body = NewVerificationBody,
    responses((status = 201, description = "Opened, with its tasks. 已发起，含核对任务。", body = Verification,
        headers(("Location" = String, description = "URL of the request. 核对请求地址。")))))]
#[post("/verifications")]
async fn open(state: web::Data<AppState>, access: Access, body: Body) -> ApiResult<HttpResponse> {
    let doer = doer(&access, Action::VerificationOpen)?;
    let b: NewVerificationBody = body.parse()?;
    let input = NewVerification {
        domains: b.domains,
        member_ids: b.member_ids.unwrap_or_default(),
        reason: text(b.reason),
    };
    let (at, today, cipher) = (
        state.clock.stored_now(),
        state.clock.today(),
        state.cipher.clone(),
    );
    let out = db::write(&state.db, move |c| {
        let (row, made) =
            store::open(c, &doer, (at, today), &b.household_id, &input).map_err(measure_error)?;
        let tasks = shown(
            c,
            &cipher,
            &doer.caller,
            &Viewer::Staff(doer.scope.clone()),
            made,
            today,
        )?;
        Ok(Verification::of(row, tasks))
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/verifications/{}", out.id)))
        .json(out))
}

/// List verifications · 查询数据核对请求
///
/// The verification requests of households in the caller's subtree. Union staff only.
///
/// 查询本组织及下级家庭的数据核对请求。限工会用户。
#[utoipa::path(operation_id = "list_verifications", tag = "verifications",
    params(VerificationQuery, crate::pagination::PageQuery),
    responses((status = 200, description = "A page of requests. 一页核对请求。", body = PageOf<Verification>)))]
#[get("/verifications")]
async fn list(
    state: web::Data<AppState>,
    access: Access,
    q: Paged<VerificationQuery>,
) -> ApiResult<web::Json<PageOf<Verification>>> {
    let (_, scope) = access.require_user(Action::VerificationRead)?;
    let page = q.page.page_request()?;
    let filter = VerificationFilter {
        household_id: q.filter.household_id,
        status: q.filter.status.map(|s| s.as_str().to_owned()),
    };
    let (count, cipher, caller, today) = (
        q.page.count,
        state.cipher.clone(),
        access.caller(),
        state.clock.today(),
    );
    let (items, next, total) = db::write(&state.db, move |c| {
        let total = total_if(count, || store::count(c, &scope, &filter)).map_err(measure_error)?;
        let p = store::list(c, &scope, &filter, &page).map_err(measure_error)?;
        let mut items = Vec::with_capacity(p.items.len());
        for row in p.items {
            let (row, made) = store::get(c, &scope, &row.id).map_err(measure_error)?;
            let tasks = shown(
                c,
                &cipher,
                &caller,
                &Viewer::Staff(scope.clone()),
                made,
                today,
            )?;
            items.push(Verification::of(row, tasks));
        }
        Ok((items, p.next_after, total))
    })
    .await?;
    let page = jiekun_store::Page {
        items,
        next_after: next,
    };
    Ok(web::Json(page_of(page, |v| v).with_total(total)))
}

/// Get a verification · 查看数据核对请求
///
/// One request with its tasks and the facts each department reported. Union staff only.
///
/// 查看核对请求、各项任务及部门报告的核实信息。限工会用户。
#[utoipa::path(operation_id = "get_verification", tag = "verifications",
    params(("id" = String, Path, description = "Request id. 核对请求标识。")),
    responses((status = 200, description = "The request. 核对请求。", body = Verification)))]
#[get("/verifications/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<Verification>> {
    let (_, scope) = access.require_user(Action::VerificationRead)?;
    let (id, cipher, caller, today) = (
        id.into_inner(),
        state.cipher.clone(),
        access.caller(),
        state.clock.today(),
    );
    let out = db::write(&state.db, move |c| {
        let (row, made) = store::get(c, &scope, &id).map_err(measure_error)?;
        let tasks = shown(
            c,
            &cipher,
            &caller,
            &Viewer::Staff(scope.clone()),
            made,
            today,
        )?;
        Ok(Verification::of(row, tasks))
    })
    .await?;
    Ok(web::Json(out))
}

fn task_filter(q: TaskQuery, today: NaiveDate) -> TaskFilter {
    TaskFilter {
        status: q.status.map(|s| s.as_str().to_owned()),
        domain: q.domain.map(|d| d.as_str().to_owned()),
        household_id: q.household_id,
        overdue_on: q.overdue.filter(|o| *o).map(|_| today),
    }
}

/// List verification tasks · 查询核对任务
///
/// A department key (scope `verification:respond`): the tasks of its own department kind in its
/// region, each with only what the department needs to find the people — their names, identity
/// numbers and relation to the worker — and nothing else of the file; every such read is written
/// to the audit log as a disclosure (who received which members' data, for which request). Union
/// staff: the tasks of their subtree, with names and numbers masked and the facts reported.
///
/// 部门密钥（verification:respond）：仅查询本部门、本辖区的核对任务，只含查找当事人所需的姓名、身份证号及与职工关系，不含档案其他信息；每次读取均作为信息披露记入审计日志（披露对象、成员及核对请求）。工会用户：查询本组织及下级的任务（姓名、证件号脱敏），含部门报告的核实信息。
#[utoipa::path(operation_id = "list_verification_tasks", tag = "verifications",
    params(TaskQuery, crate::pagination::PageQuery),
    responses((status = 200, description = "A page of tasks. 一页核对任务。", body = PageOf<VerificationTask>)))]
#[get("/verifications/tasks")]
async fn list_tasks(
    state: web::Data<AppState>,
    access: Access,
    q: Paged<TaskQuery>,
) -> ApiResult<web::Json<PageOf<VerificationTask>>> {
    let doer = doer(&access, Action::VerificationRead)?;
    let page = q.page.page_request()?;
    let today = state.clock.today();
    let filter = task_filter(q.filter, today);
    let (viewer, count, cipher) = (Viewer::of(&doer), q.page.count, state.cipher.clone());
    let (items, next, total) = db::write(&state.db, move |c| {
        let total =
            total_if(count, || store::count_tasks(c, &viewer, &filter)).map_err(measure_error)?;
        let p = store::tasks(c, &viewer, &filter, &page).map_err(measure_error)?;
        let items = shown(c, &cipher, &doer.caller, &viewer, p.items, today)?;
        Ok((items, p.next_after, total))
    })
    .await?;
    let page = jiekun_store::Page {
        items,
        next_after: next,
    };
    Ok(web::Json(page_of(page, |t| t).with_total(total)))
}

/// Get a verification task · 查看核对任务
///
/// One task, as the list shows it; another department's task: 404. A department's read is
/// audited as a disclosure.
///
/// 查看单项核对任务；其他部门的任务返回 404。部门读取记入审计。
#[utoipa::path(operation_id = "get_verification_task", tag = "verifications",
    params(("id" = String, Path, description = "Task id. 任务标识。")),
    responses((status = 200, description = "The task. 核对任务。", body = VerificationTask)))]
#[get("/verifications/tasks/{id}")]
async fn get_task(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<VerificationTask>> {
    let doer = doer(&access, Action::VerificationRead)?;
    let (id, cipher, today) = (id.into_inner(), state.cipher.clone(), state.clock.today());
    let out = db::write(&state.db, move |c| {
        let viewer = Viewer::of(&doer);
        let t = store::task(c, &viewer, &id).map_err(measure_error)?;
        shown(c, &cipher, &doer.caller, &viewer, vec![t], today)?
            .pop()
            .ok_or_else(|| ApiError::internal("task vanished"))
    })
    .await?;
    Ok(web::Json(out))
}

/// The department doer, once allowed to answer.
fn responder(access: &Access) -> ApiResult<Doer> {
    doer(access, Action::VerificationRespond)
}

/// Answer a verification task · 答复核对任务
///
/// The department answers an open task of its own kind with dated facts: at least one for each
/// member the task asks about. Each fact is kept with its source, date and task. Monthly amounts
/// (taxable income, a pension, 低保 or special-hardship support) become verified income, which
/// replaces declared income of the same member, month and kind in the rules; vehicles, homes and
/// businesses replace the declared assets. Every difference from the declared file is flagged on
/// the household with both figures (see `/discrepancies`). Department keys with scope
/// `verification:respond` only; a task already answered: 409 `wrong_state`. Honours
/// `Idempotency-Key`.
///
/// 部门以注明日期的核实信息答复本部门的待答复任务，每位核对成员至少一条。每条信息保存来源、日期和任务。按月金额（纳税收入、养老金、低保或特困供养金）记为已核实收入，在认定中替代同一成员、同月、同类的申报收入；车辆、房产、企业信息替代申报的财产情况。与申报档案不一致之处均作为差异标记在家庭档案上，并列出申报数和核实数。限具有 verification:respond 的部门密钥；已答复的任务返回 409 wrong_state。支持 Idempotency-Key。
#[utoipa::path(operation_id = "answer_verification_task", tag = "verifications",
    params(("id" = String, Path, description = "Task id. 任务标识。"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe. 幂等键，重试安全。")),
    request_body = AnswerBody,
    responses((status = 200, description = "Answered: the task with the discrepancies found. 已答复。", body = AnswerResult)))]
#[post("/verifications/tasks/{id}/answer")]
async fn answer_task(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    posted: Idempotent,
) -> ApiResult<HttpResponse> {
    let doer = responder(&access)?;
    let (key, body) = posted.key_and_body()?;
    let b: AnswerBody = body.parse()?;
    let (at, today, id) = (
        state.clock.stored_now(),
        state.clock.today(),
        id.into_inner(),
    );
    idempotency::run(
        &state,
        &access,
        key,
        "answer_verification_task",
        body.bytes(),
        move |c| {
            let task = store::task(c, &Viewer::of(&doer), &id).map_err(measure_error)?;
            if task.status != "open" {
                return Err(ApiError::new(
                    crate::error::ErrorCode::WrongState,
                    "this task is already answered",
                    "该核对任务已答复",
                ));
            }
            let domain = task
                .domain
                .parse()
                .map_err(|_| ApiError::internal("stored domain unreadable"))?;
            let mut facts = Vec::with_capacity(b.facts.len());
            let mut errors = Vec::new();
            for (i, f) in b.facts.into_iter().enumerate() {
                match f.fact(&format!("facts[{i}]"), domain, today) {
                    Ok(fact) => facts.push(fact),
                    Err(e) => errors.extend(e),
                }
            }
            if !errors.is_empty() {
                return Err(ApiError::validation(errors));
            }
            let applied =
                answers::answer(c, &doer, (at, today), &id, &facts).map_err(measure_error)?;
            let out = AnswerResult {
                task: VerificationTask::of(applied.task, Vec::new(), false, None, today),
                facts: applied.facts.into_iter().map(VerifiedFact::from).collect(),
                discrepancies: applied.discrepancies.len(),
            };
            Ok(Answer {
                status: StatusCode::OK,
                location: None,
                etag: None,
                body: serde_json::to_value(out).map_err(ApiError::internal)?,
            })
        },
    )
    .await
}
