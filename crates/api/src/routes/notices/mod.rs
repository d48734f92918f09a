//! Public notices (公示), the objections raised against them, and the holiday calendar that
//! notices are counted by.

mod calendar;
pub mod dto;
mod objections;

use actix_web::{get, web};
use jiekun_domain::access::Action;
use jiekun_store::workflows as store;
use jiekun_store::StoreError;
use utoipa_actix_web::service_config::ServiceConfig;

use self::dto::{NoticeQuery, PublicNotice};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::pagination::{page_of, page_request, total_if, PageOf};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_notices)
        .service(get_notice)
        .service(objections::raise_objection)
        .service(objections::list_objections)
        .service(objections::resolve_objection)
        .service(calendar::list_calendar)
        .service(calendar::put_calendar_day)
        .service(calendar::delete_calendar_day);
}

/// A notice by id, or 404 naming it.
fn notice(c: &mut jiekun_store::DbConnection, id: &str) -> ApiResult<store::NoticeRow> {
    store::notice(c, id).map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("public notice", "公示"),
        e => e.into(),
    })
}

/// List public notices · 查询公示
///
/// Notices about households in the caller's scope, in creation order.
///
/// 按创建顺序列出本辖区的公示。
#[utoipa::path(operation_id = "list_public_notices", tag = "workflows", params(NoticeQuery),
    responses((status = 200, description = "A page of notices. 一页公示。", body = PageOf<PublicNotice>)))]
#[get("/public-notices")]
async fn list_notices(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<NoticeQuery>,
) -> ApiResult<web::Json<PageOf<PublicNotice>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let today = state.clock.today();
    let running = q.running.unwrap_or(false).then_some(today);
    let count = q.count;
    let (rows, total) = db::run(&state.db, move |c| {
        let total = total_if(count, || store::count_notices(c, &scope, running))?;
        Ok((store::list_notices(c, &scope, running, &page)?, total))
    })
    .await?;
    let page = page_of(rows, |n| PublicNotice::of(n, today));
    Ok(web::Json(page.with_total(total)))
}

/// Read a public notice · 查看公示
///
/// What may be published about the case: the masked name, the unit, the category (or exit
/// grounds), the dates and how to object — never identity numbers, income, health or bank data.
/// Public: no credentials needed, so that it can be shown on a notice board or website.
///
/// 公示内容：脱敏姓名、单位、困难类别（或退出类型）、公示起止日期及异议受理方式，不含身份证号、收入、健康、银行账户等信息。无需登录即可查看。
#[utoipa::path(operation_id = "get_public_notice", tag = "workflows",
    params(("id" = String, Path, description = "Notice id. 公示标识。")),
    responses((status = 200, description = "The notice. 公示。", body = PublicNotice)))]
#[get("/public-notices/{id}")]
async fn get_notice(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<web::Json<PublicNotice>> {
    let id = id.into_inner();
    let today = state.clock.today();
    let n = db::run(&state.db, move |c| notice(c, &id)).await?;
    Ok(web::Json(PublicNotice::of(n, today)))
}
