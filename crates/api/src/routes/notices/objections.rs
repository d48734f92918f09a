//! Objections to a public notice (公示异议).

use actix_web::{get, post, web, HttpResponse};
use jiekun_domain::access::{roles_allow, Action};
use jiekun_domain::workflow::ObjectionChannel;
use jiekun_store::cases;
use jiekun_store::workflows as store;

use super::dto::{NewObjection, Objection, ObjectionQuery, Resolution};
use super::notice;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiQuery, Posted};
use crate::fields::Fields;
use crate::pagination::{page_of, page_request, total_if, PageOf};
use crate::routes::workflows::{staff, step_error};
use crate::{db, AppState};

/// Object to a notice · 对公示提出异议
///
/// Any signed-in user may object while the notice runs (its first to its last day); case staff
/// (grassroots, county, city) also record objections received by telephone, letter or visit,
/// naming the objector. An open objection blocks the decision until it is resolved. Outside the
/// notice's dates: 409 `notice_closed`.
///
/// 公示期内任何登录用户均可提出异议；经办人员可登记电话、来信、来访反映的异议。存在未处理异议时不能作出决定。公示期外提出返回 409 notice_closed。
#[utoipa::path(operation_id = "raise_objection", tag = "workflows",
    params(("id" = String, Path, description = "Notice id. 公示标识。")),
    request_body = NewObjection,
    responses((status = 201, description = "Recorded. 已登记。", body = Objection)))]
#[post("/public-notices/{id}/objections")]
pub(super) async fn raise_objection(
    state: web::Data<AppState>,
    access: Access,
    Posted { id, body }: Posted,
) -> ApiResult<HttpResponse> {
    let (actor, when) = staff(&state, &access, Action::ObjectionRaise)?;
    let body: NewObjection = body.parse()?;
    let new = objection_of(body, roles_allow(&actor.roles, Action::WorkflowAct))?;
    let row = db::write(&state.db, move |c| {
        cases::raise_objection(c, &actor, when, &id, new).map_err(step_error)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/public-notices/{}/objections", row.notice_id),
        ))
        .json(Objection::from(row)))
}

/// An objection's fields, checked: other channels than `online` are recorded by case staff.
fn objection_of(body: NewObjection, staff: bool) -> ApiResult<cases::NewObjection> {
    let mut errors = Fields::default();
    let channel = body.channel.unwrap_or(ObjectionChannel::Online);
    let content = errors.name("content", &body.content, 2000);
    if channel != ObjectionChannel::Online && !staff {
        errors.push(FieldError::new(
            "channel",
            "staff_only",
            "only case staff record objections received by other channels",
            "仅经办人员可登记其他渠道的异议",
        ));
    }
    let objector = errors.optional_text("objector", body.objector.as_deref(), 100);
    errors.finish()?;
    Ok(cases::NewObjection {
        channel: channel.as_str().into(),
        content: content.unwrap_or_default(),
        objector: objector.flatten(),
    })
}

/// List objections to a notice · 查询公示异议
///
/// The objections to the notice, oldest first, a page at a time: for case staff and auditors
/// whose scope holds the household.
///
/// 按时间顺序分页列出对该公示的异议，供辖区内经办、审核人员及审计人员查看。
#[utoipa::path(operation_id = "list_objections", tag = "workflows",
    params(("id" = String, Path, description = "Notice id. 公示标识。"), ObjectionQuery),
    responses((status = 200, description = "A page of objections. 一页异议。", body = PageOf<Objection>)))]
#[get("/public-notices/{id}/objections")]
pub(super) async fn list_objections(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    ApiQuery(q): ApiQuery<ObjectionQuery>,
) -> ApiResult<web::Json<PageOf<Objection>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let (id, count) = (id.into_inner(), q.count);
    let (rows, total) = db::run(&state.db, move |c| {
        let n = notice(c, &id)?;
        if !scope.covers_path(&n.organisation_path) {
            return Err(ApiError::not_found("public notice", "公示"));
        }
        let total = total_if(count, || store::count_objections(c, &id))?;
        Ok((store::objections_of(c, &id, &page)?, total))
    })
    .await?;
    Ok(web::Json(page_of(rows, Objection::from).with_total(total)))
}

/// Resolve an objection · 处理公示异议
///
/// The union that holds the case decides: the county union for filing notices, the city union
/// for exit notices (other roles: 403 `wrong_role`; outside scope: 403 `out_of_scope`). An
/// objection is resolved once (409 `wrong_state` after). When upheld, the case is then returned
/// or rejected; when dismissed, the notice may close once its time is over.
///
/// 由办理单位核实处理：建档公示由县总工会、退出公示由市总工会处理。异议成立的，应退回或不予通过；不成立的，公示期满后可继续办理。
#[utoipa::path(operation_id = "resolve_objection", tag = "workflows",
    params(("id" = String, Path, description = "Objection id. 异议标识。")),
    request_body = Resolution,
    responses((status = 200, description = "Resolved. 已处理。", body = Objection)))]
#[post("/objections/{id}/resolution")]
pub(super) async fn resolve_objection(
    state: web::Data<AppState>,
    access: Access,
    Posted { id, body }: Posted,
) -> ApiResult<web::Json<Objection>> {
    let (actor, when) = staff(&state, &access, Action::WorkflowAct)?;
    let body: Resolution = body.parse()?;
    let text = crate::fields::name("resolution", &body.resolution, 2000)
        .map_err(|e| ApiError::validation(vec![e]))?;
    let row = db::write(&state.db, move |c| {
        cases::resolve_objection(c, &actor, when, &id, body.outcome.as_str(), &text)
            .map_err(step_error)
    })
    .await?;
    Ok(web::Json(Objection::from(row)))
}
