//! `/api/v1/households/{id}/consents`: the members' signed consents (授权书) to check their data
//! with departments.

use actix_web::web;
use actix_web::{get, post, HttpResponse};
use jiekun_domain::access::Action;
use jiekun_store::sharing::consents::{self as store, NewConsent};
use utoipa_actix_web::service_config::ServiceConfig;

use super::dto::{Consent, NewConsentBody, RevokeConsentBody};
use crate::auth::Access;
use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::extract::Posted;
use crate::routes::measures::{doer, measure_error};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list).service(record).service(revoke);
}

/// List consents · 查询授权书
///
/// Every consent recorded for the household's members, standing and revoked. Union staff only.
///
/// 查询家庭成员的全部授权书（含已撤销）。限工会用户。
#[utoipa::path(operation_id = "list_consents", tag = "verifications",
    params(("id" = String, Path, description = "Household id. 家庭标识。")),
    responses((status = 200, description = "The consents. 授权书。", body = Vec<Consent>)))]
#[get("/households/{id}/consents")]
async fn list(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<Consent>>> {
    let doer = doer(&access, Action::HouseholdRead)?;
    let id = id.into_inner();
    let rows = db::run(&state.db, move |c| {
        store::list(c, &doer, &id).map_err(measure_error)
    })
    .await?;
    Ok(web::Json(rows.into_iter().map(Consent::from).collect()))
}

/// Record a consent · 登记授权书
///
/// Records a member's signed authorisation to check the data domains it names with departments
/// (《实施方案》三(一)1: strict protection of personal information). An adult signs for
/// themselves; a minor's consent is signed by an adult member of the household as guardian.
/// Grassroots officers, county reviewers and administrators; not open to department keys.
///
/// 登记家庭成员授权向部门核对其数据的授权书（《实施方案》三(一)1，严格保护个人信息）。成年人本人签署；未成年人由家庭中的成年成员作为监护人签署。限基层工会经办人、县总工会审核人和管理员，部门密钥不可调用。
#[utoipa::path(operation_id = "record_consent", tag = "verifications",
    params(("id" = String, Path, description = "Household id. 家庭标识。")),
    request_body = NewConsentBody,
    responses((status = 201, description = "Recorded. 已登记。", body = Consent)))]
#[post("/households/{id}/consents")]
async fn record(
    state: web::Data<AppState>,
    access: Access,
    Posted { id, body }: Posted,
) -> ApiResult<HttpResponse> {
    let doer = doer(&access, Action::ConsentWrite)?;
    let b: NewConsentBody = body.parse()?;
    let input = NewConsent {
        member_id: b.member_id,
        signed_by_member_id: b.signed_by_member_id,
        number: crate::fields::name("number", &b.number, 64)
            .map_err(|e| ApiError::validation(vec![e]))?,
        signed_on: b.signed_on,
        domains: b.domains,
        evidence: crate::fields::name("evidence", &b.evidence, 200)
            .map_err(|e| ApiError::validation(vec![e]))?,
    };
    let (when, id) = ((state.clock.stored_now(), state.clock.today()), id);
    let row = db::write(&state.db, move |c| {
        store::record_consent(c, &doer, when, &id, &input).map_err(measure_error)
    })
    .await?;
    Ok(HttpResponse::Created().json(Consent::from(row)))
}

/// Revoke a consent · 撤销授权书
///
/// A revoked consent covers nothing: later verification requests need a new one. Tasks already
/// sent are not recalled.
///
/// 撤销后的授权书不再覆盖任何数据类别，此后发起核对须重新登记授权；已发出的核对任务不撤回。
#[utoipa::path(operation_id = "revoke_consent", tag = "verifications",
    params(("id" = String, Path, description = "Household id. 家庭标识。"),
        ("consent_id" = String, Path, description = "Consent id. 授权书标识。")),
    request_body = RevokeConsentBody,
    responses((status = 200, description = "Revoked. 已撤销。", body = Consent)))]
#[post("/households/{id}/consents/{consent_id}/revoke")]
async fn revoke(
    state: web::Data<AppState>,
    access: Access,
    path: web::Path<(String, String)>,
    body: Body,
) -> ApiResult<web::Json<Consent>> {
    let doer = doer(&access, Action::ConsentWrite)?;
    let b: RevokeConsentBody = body.parse()?;
    let reason =
        crate::fields::name("reason", &b.reason, 500).map_err(|e| ApiError::validation(vec![e]))?;
    let ((id, consent), at) = (path.into_inner(), state.clock.stored_now());
    let row = db::write(&state.db, move |c| {
        store::revoke(c, &doer, at, &id, &consent, &reason).map_err(measure_error)
    })
    .await?;
    Ok(web::Json(Consent::from(row)))
}
