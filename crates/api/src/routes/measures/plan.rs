//! A household's plan of measures (一户一策): proposed by the rules, decided by union staff.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use jiekun_domain::access::Action;
use jiekun_store::measures::plans::{self as store, Decision};

use super::dto::{AcceptMeasure, AddMeasure, DropMeasure, Plan};
use super::{doer, measure_error};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use crate::extract::{etag, Change};
use crate::{db, AppState};

fn answer(status: StatusCode, plan: Plan) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(actix_web::http::header::ETag(etag(plan.version)))
        .json(plan)
}

/// The If-Match of a request that may come without one (a first proposal).
fn optional_version(req: &HttpRequest) -> ApiResult<Option<i64>> {
    if req.headers().contains_key("If-Match") {
        Ok(Some(crate::extract::if_match(req)?))
    } else {
        Ok(None)
    }
}

/// A household's plan · 查看家庭帮扶计划
///
/// The measures proposed for the household and what staff decided, each accepted measure with its
/// referral. 404 until measures are first proposed.
///
/// 家庭的帮扶措施计划：系统建议的措施、工作人员的决定，以及已采纳措施的转介。尚未生成建议时返回 404。
#[utoipa::path(operation_id = "get_household_plan", tag = "measures",
    params(("id" = String, Path, description = "Household id. 档案标识。")),
    responses((status = 200, description = "The plan. 帮扶计划。", body = Plan,
        headers(("ETag" = String, description = "The plan's version. 计划版本。")))))]
#[get("/households/{id}/plan")]
pub(super) async fn get_plan(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::PlanRead)?;
    let id = id.into_inner();
    let view = db::run(&state.db, move |c| {
        store::plan(c, &scope, &id).map_err(measure_error)
    })
    .await?;
    Ok(answer(StatusCode::OK, Plan::try_from(view)?))
}

/// Propose measures · 生成帮扶措施建议
///
/// Runs the rules of 《实施方案》三 over the filed household's facts and stores what they propose,
/// each measure with its reasons and clause. On a household that has a plan, send the plan's
/// `If-Match`: measures already accepted or dropped stay as they are, undecided proposals are
/// refreshed. A household that is not filed: 409 `wrong_state`.
///
/// 根据《实施方案》三的规则和已建档家庭的情况生成措施建议，每项附理由和条款。已有计划的须携带计划的 If-Match：已采纳或已放弃的措施保持不变，未决定的建议随之更新。未建档家庭返回 409 wrong_state。
#[utoipa::path(operation_id = "propose_household_plan", tag = "measures",
    params(("id" = String, Path, description = "Household id. 档案标识。"),
        ("If-Match" = Option<String>, Header, description = "The plan's ETag, when it has one. 已有计划时为计划的 ETag。")),
    responses((status = 201, description = "The plan with its proposals. 含建议措施的计划。", body = Plan,
        headers(("ETag" = String, description = "The plan's version. 计划版本。")))))]
#[post("/households/{id}/plan")]
pub(super) async fn propose(
    state: web::Data<AppState>,
    access: Access,
    req: HttpRequest,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let doer = doer(&access, Action::PlanWrite)?;
    access.require_user(Action::PlanWrite)?;
    let expected = optional_version(&req)?;
    let (cipher, id) = (state.cipher.clone(), id.into_inner());
    let (at, today) = (state.clock.stored_now(), state.clock.today());
    let view = db::write(&state.db, move |c| {
        jiekun_store::measures::facts::propose_from_facts(
            c, &doer, &cipher, at, today, &id, expected,
        )
        .map_err(measure_error)
    })
    .await?;
    Ok(answer(StatusCode::CREATED, Plan::try_from(view)?))
}

async fn decide(
    state: web::Data<AppState>,
    access: Access,
    path: (String, i64),
    version: i64,
    decision: Decision,
) -> ApiResult<HttpResponse> {
    let doer = doer(&access, Action::PlanWrite)?;
    let (at, today) = (state.clock.stored_now(), state.clock.today());
    let (id, measure) = path;
    let view = db::write(&state.db, move |c| {
        store::decide(c, &doer, at, today, &id, measure, version, decision).map_err(measure_error)
    })
    .await?;
    Ok(answer(StatusCode::OK, Plan::try_from(view)?))
}

fn measure_in_path(n: i64) -> ApiResult<i64> {
    if (1..=19).contains(&n) {
        Ok(n)
    } else {
        Err(ApiError::not_found("measure", "措施"))
    }
}

/// A documented decision on a proposed measure (`/households/{id}/plan/measures/{measure}/…`):
/// `$decision` makes the store's decision of the parsed body `$b`. Accepting and dropping differ
/// only in their body and what it says.
macro_rules! measure_decision {
    (
        $(#[doc = $doc:literal])*
        $name:ident: ($op:literal, $path:literal, $body:ident),
        |$b:ident| $decision:expr
    ) => {
        $(#[doc = $doc])*
        #[utoipa::path(operation_id = $op, tag = "measures",
            params(("id" = String, Path, description = "Household id. 档案标识。"),
                ("measure" = i64, Path, minimum = 1, maximum = 19, description = "Measure number, 1–19. 措施序号。"),
                ("If-Match" = String, Header, description = "The plan's ETag. 计划的 ETag。")),
            request_body = $body,
            responses((status = 200, description = "The plan. 帮扶计划。", body = Plan,
                headers(("ETag" = String, description = "The plan's new version. 计划新版本。")))))]
        #[post($path)]
        pub(super) async fn $name(
            state: web::Data<AppState>,
            access: Access,
            Change { id, version, body }: Change<(String, i64)>,
        ) -> ApiResult<HttpResponse> {
            access.require_user(Action::PlanWrite)?;
            let $b: $body = body.parse()?;
            let (id, measure) = id;
            let decision: Decision = $decision;
            decide(state, access, (id, measure_in_path(measure)?), version, decision).await
        }
    };
}

measure_decision! {
    /// Accept a proposed measure · 采纳建议措施
    ///
    /// Accepts measure `measure` of the plan: a referral goes to its lead unit, due in the working days
    /// the policy book sets (default 20). Requires the plan's `If-Match`.
    ///
    /// 采纳计划中的一项建议措施，并转介牵头单位，办理期限按政策参数（默认 20 个工作日）。须携带计划的 If-Match。
    accept: ("accept_plan_measure", "/households/{id}/plan/measures/{measure}/accept", AcceptMeasure),
    |body| Decision::Accept {
        note: body.note.filter(|n| !n.trim().is_empty()),
    }
}

measure_decision! {
    /// Drop a proposed measure · 放弃建议措施
    ///
    /// Drops measure `measure` of the plan, with a reason. Requires the plan's `If-Match`.
    ///
    /// 放弃计划中的一项建议措施，须说明理由，并携带计划的 If-Match。
    drop_measure: ("drop_plan_measure", "/households/{id}/plan/measures/{measure}/drop", DropMeasure),
    |body| Decision::Drop {
        reason: crate::fields::name("reason", &body.reason, 500)
            .map_err(|e| ApiError::validation(vec![e]))?,
    }
}

/// Add a measure · 添加措施
///
/// Adds a measure the rules did not propose; it is accepted at once and referred to its lead unit.
/// Requires the plan's `If-Match`. A measure already in the plan: 409 `wrong_state`.
///
/// 添加系统未建议的措施，添加即采纳并转介牵头单位。须携带计划的 If-Match。措施已在计划中返回 409 wrong_state。
#[utoipa::path(operation_id = "add_plan_measure", tag = "measures",
    params(("id" = String, Path, description = "Household id. 档案标识。"),
        ("If-Match" = String, Header, description = "The plan's ETag. 计划的 ETag。")),
    request_body = AddMeasure,
    responses((status = 200, description = "The plan. 帮扶计划。", body = Plan,
        headers(("ETag" = String, description = "The plan's new version. 计划新版本。")))))]
#[post("/households/{id}/plan/measures")]
pub(super) async fn add(
    state: web::Data<AppState>,
    access: Access,
    Change { id, version, body }: Change,
) -> ApiResult<HttpResponse> {
    access.require_user(Action::PlanWrite)?;
    let body: AddMeasure = body.parse()?;
    let decision = Decision::Add {
        member_ids: body.member_ids,
        note: body.note.filter(|n| !n.trim().is_empty()),
    };
    decide(state, access, (id, body.measure), version, decision).await
}
