//! The accident on file for a household (意外事件), which the accident-caused category looks at.

use actix_web::{delete, get, put, web, HttpResponse};
use chrono::NaiveDate;
use jiekun_domain::access::Action;
use jiekun_store::rules::{self as store, AccidentRow};

use super::dto::Accident;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{etag, Change, Versioned};
use crate::fields::Fields;
use crate::routes::{not_found, ok_with_etag};
use crate::{db, AppState};

impl From<AccidentRow> for Accident {
    fn from(row: AccidentRow) -> Self {
        Accident {
            description: row.description,
            occurred_on: row.occurred_on,
            costs_fen: row.costs_fen,
        }
    }
}

/// The accident on file · 查看意外事件
///
/// The sudden event recorded for the household, which the accident-caused category looks at.
///
/// 查看该户登记的意外事件，意外致困类别据此认定。
#[utoipa::path(operation_id = "get_household_accident", tag = "assessments",
    params(("id" = String, Path, description = "Household id. 档案标识。")),
    responses((status = 200, description = "The accident. 意外事件。", body = Accident)))]
#[get("/households/{id}/accident")]
pub(super) async fn get_accident(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<Accident>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let id = id.into_inner();
    let row = db::run(&state.db, move |c| {
        jiekun_store::households::get(c, &scope, &id)
            .map_err(|e| not_found(e.into(), "household", "档案"))?;
        store::accident(c, &id)?.ok_or_else(|| ApiError::not_found("accident", "意外事件"))
    })
    .await?;
    Ok(web::Json(Accident::from(row)))
}

/// The accident as the store keeps it, every field checked.
fn accident_of(household_id: &str, body: Accident, today: NaiveDate) -> ApiResult<AccidentRow> {
    let mut fields = Fields::default();
    let description = fields.name("description", &body.description, 500);
    if body.occurred_on > today {
        fields.push(FieldError::new(
            "occurred_on",
            "in_the_future",
            "the accident did not happen in the future",
            "发生日期不能晚于今天",
        ));
    }
    if body.costs_fen < 0 {
        fields.push(FieldError::new(
            "costs_fen",
            "out_of_range",
            "amounts are never negative",
            "金额不能为负数",
        ));
    }
    fields.finish()?;
    Ok(AccidentRow {
        household_id: household_id.into(),
        description: description.unwrap_or_default(),
        occurred_on: body.occurred_on,
        costs_fen: body.costs_fen,
        updated_at: jiekun_store::now(),
    })
}

/// Record the accident · 登记意外事件
///
/// Records or replaces the household's sudden event and its net cost. Requires the household's
/// `If-Match`; audited.
///
/// 登记或更新该户的意外事件及净支出，须携带户档案的 If-Match，记入审计。
#[utoipa::path(operation_id = "set_household_accident", tag = "assessments",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    request_body = Accident,
    responses((status = 200, description = "Recorded. 已登记。", body = Accident, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[put("/households/{id}/accident")]
pub(super) async fn set_accident(
    state: web::Data<AppState>,
    access: Access,
    Change { id, version, body }: Change,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let body: Accident = body.parse()?;
    let row = accident_of(&id, body, state.clock.today())?;
    let caller = access.caller();
    let (h, row) = db::write(&state.db, move |c| {
        let h = store::record_accident(c, &caller, &scope, &id, version, Some(&row))
            .map_err(|e| not_found(e.into(), "household", "档案"))?;
        Ok((h, row))
    })
    .await?;
    Ok(ok_with_etag(h.version, Accident::from(row)))
}

/// Clear the accident · 删除意外事件
///
/// Removes the household's accident record. Requires the household's `If-Match`; audited.
///
/// 删除该户的意外事件记录，须携带户档案的 If-Match，记入审计。
#[utoipa::path(operation_id = "delete_household_accident", tag = "assessments",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    responses((status = 204, description = "Removed. 已删除。", headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[delete("/households/{id}/accident")]
pub(super) async fn delete_accident(
    state: web::Data<AppState>,
    access: Access,
    Versioned { id, version }: Versioned,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let caller = access.caller();
    let h = db::write(&state.db, move |c| {
        store::record_accident(c, &caller, &scope, &id, version, None)
            .map_err(|e| not_found(e.into(), "household", "档案"))
    })
    .await?;
    Ok(HttpResponse::NoContent()
        .insert_header(actix_web::http::header::ETag(etag(h.version)))
        .finish())
}
