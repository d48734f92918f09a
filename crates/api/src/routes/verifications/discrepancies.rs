//! `/api/v1/discrepancies`: differences between the declared file and what departments verified,
//! each with both figures; only union staff settle them.

use actix_web::web;
use actix_web::{get, post};
use jiekun_domain::access::Action;
use jiekun_store::sharing::discrepancies::{self as store, DiscrepancyFilter};
use utoipa_actix_web::service_config::ServiceConfig;

use super::dto::{Discrepancy, DiscrepancyQuery, ResolveBody};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use crate::extract::Posted;
use crate::pagination::{page_of, total_if, PageOf, Paged};
use crate::routes::measures::{doer, measure_error};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list).service(resolve);
}

/// List discrepancies · 查询核对差异
///
/// The differences found between households' declared files and verified facts, in the caller's
/// subtree, each with the declared and the verified figure. Union staff only.
///
/// 查询本组织及下级家庭申报档案与核实信息之间的差异，列明申报数和核实数。限工会用户。
#[utoipa::path(operation_id = "list_discrepancies", tag = "verifications",
    params(DiscrepancyQuery, crate::pagination::PageQuery),
    responses((status = 200, description = "A page of discrepancies. 一页差异。", body = PageOf<Discrepancy>)))]
#[get("/discrepancies")]
async fn list(
    state: web::Data<AppState>,
    access: Access,
    q: Paged<DiscrepancyQuery>,
) -> ApiResult<web::Json<PageOf<Discrepancy>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let page = q.page.page_request()?;
    let filter = DiscrepancyFilter {
        household_id: q.filter.household_id,
        status: q.filter.status.map(|s| s.as_str().to_owned()),
    };
    let count = q.page.count;
    let (p, total) = db::run(&state.db, move |c| {
        let total = total_if(count, || store::count(c, &scope, &filter)).map_err(measure_error)?;
        Ok((
            store::list(c, &scope, &filter, &page).map_err(measure_error)?,
            total,
        ))
    })
    .await?;
    Ok(web::Json(page_of(p, Discrepancy::from).with_total(total)))
}

/// Resolve a discrepancy · 处理核对差异
///
/// `accept_verified`: the verified figure is right and the file is corrected to it (vehicles,
/// homes, floor area, controlling shareholder; a verified income already counts). `keep_declared`:
/// the declared figure stands and the verified fact behind the difference is set aside (a verified
/// income is taken out of the income records; the audit log keeps it). County reviewers and
/// administrators; a discrepancy already resolved: 409 `wrong_state`.
///
/// accept_verified：以核实数为准并更正档案（车辆、房产套数、面积、控股股东；核实收入已计入）。keep_declared：维持申报数，相应核实信息不予采用（核实收入从收入记录中移除，审计日志留存）。限县总工会审核人和管理员；已处理的差异返回 409 wrong_state。
#[utoipa::path(operation_id = "resolve_discrepancy", tag = "verifications",
    params(("id" = String, Path, description = "Discrepancy id. 差异标识。")),
    request_body = ResolveBody,
    responses((status = 200, description = "Resolved. 已处理。", body = Discrepancy)))]
#[post("/discrepancies/{id}/resolve")]
async fn resolve(
    state: web::Data<AppState>,
    access: Access,
    Posted { id, body }: Posted,
) -> ApiResult<web::Json<Discrepancy>> {
    let doer = doer(&access, Action::DiscrepancyResolve)?;
    let b: ResolveBody = body.parse()?;
    let note =
        crate::fields::name("note", &b.note, 500).map_err(|e| ApiError::validation(vec![e]))?;
    let at = state.clock.stored_now();
    let row = db::write(&state.db, move |c| {
        store::resolve(c, &doer, at, &id, b.resolution, &note).map_err(measure_error)
    })
    .await?;
    Ok(web::Json(Discrepancy::from(row)))
}
