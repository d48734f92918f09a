//! The holiday calendar (节假日与调休) that notices counted in working days follow.

use actix_web::{delete, get, put, web, HttpResponse};
use chrono::{Datelike, NaiveDate};
use jiekun_domain::access::Action;
use jiekun_domain::calendar::DayKind;
use jiekun_domain::closed::ClosedList;
use jiekun_store::workflows::{self as store, CalendarDayRow};

use super::dto::{CalendarDay, CalendarDayIn, CalendarQuery};
use crate::auth::Access;
use crate::body::Body;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Problem};
use crate::extract::ApiQuery;
use crate::fields::Fields;
use crate::routes::{not_found, query_error};
use crate::{db, AppState};

/// List holidays and swapped working days · 查询节假日与调休
///
/// The exceptions to the Monday-to-Friday week that notices counted in working days follow.
///
/// 列出按工作日计算公示期时所依据的节假日和调休工作日。
#[utoipa::path(operation_id = "list_calendar_days", tag = "workflows", params(CalendarQuery),
    responses((status = 200, description = "The days. 日期列表。", body = Vec<CalendarDay>)))]
#[get("/calendar")]
pub(super) async fn list_calendar(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<CalendarQuery>,
) -> ApiResult<web::Json<Vec<CalendarDay>>> {
    access.require_user(Action::PolicyRead)?;
    let today = state.clock.today();
    let from = q
        .from
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today));
    let to =
        q.to.unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year() + 1, 12, 31).unwrap_or(today));
    if to < from || (to - from).num_days() > 3 * 366 {
        return Err(query_error(FieldError::new(
            "to",
            "out_of_range",
            "`to` is on or after `from`, at most three years later",
            "结束日期须不早于开始日期，且跨度不超过三年",
        )));
    }
    let rows = db::run(&state.db, move |c| {
        Ok(store::calendar_between(c, from, to)?)
    })
    .await?;
    Ok(web::Json(rows.into_iter().map(CalendarDay::from).collect()))
}

/// The `{date}` of a calendar path, or 400 naming it.
fn day_of(s: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidParameter,
            format!("path parameter date: `{s}` is not a date (YYYY-MM-DD)"),
            format!("路径参数 date 不是有效日期（YYYY-MM-DD）：{s}"),
        )
        .with_field(FieldError::new(
            "date",
            "invalid_date",
            "a date as YYYY-MM-DD",
            "日期格式应为 YYYY-MM-DD",
        ))
    })
}

/// The day as the store keeps it, its kind and name checked.
fn calendar_day_of(day: NaiveDate, body: &CalendarDayIn, by: &str) -> ApiResult<CalendarDayRow> {
    let mut fields = Fields::default();
    let kind = DayKind::from_code(&body.kind);
    if kind.is_none() {
        fields.push(FieldError::new(
            "kind",
            "invalid_value",
            "`holiday` or `workday`",
            "取值应为 holiday（节假日）或 workday（调休工作日）",
        ));
    }
    let name = fields.name("name", &body.name, 50);
    fields.finish()?;
    Ok(CalendarDayRow {
        day,
        kind: kind.map(DayKind::as_str).unwrap_or_default().into(),
        name: name.unwrap_or_default(),
        updated_by: by.into(),
        updated_at: Default::default(),
    })
}

/// Set a holiday or working day · 设置节假日或调休
///
/// Marks a date as a public holiday or as a weekend day worked in exchange (调休). Notices
/// already published keep their dates. System and county admins; audited.
///
/// 将某日设为法定节假日或调休工作日。已发布公示的日期不变。系统管理员和县级管理员可设置，记入审计。
#[utoipa::path(operation_id = "put_calendar_day", tag = "workflows",
    params(("date" = NaiveDate, Path, description = "The date. 日期。")),
    request_body = CalendarDayIn,
    responses((status = 200, description = "Set. 已设置。", body = CalendarDay)))]
#[put("/calendar/{date}")]
pub(super) async fn put_calendar_day(
    state: web::Data<AppState>,
    access: Access,
    date: web::Path<String>,
    body: Body,
) -> ApiResult<web::Json<CalendarDay>> {
    let (user, _) = access.require_user(Action::CalendarWrite)?;
    let body: CalendarDayIn = body.parse()?;
    let row = calendar_day_of(day_of(&date)?, &body, &user.username)?;
    let row = CalendarDayRow {
        updated_at: state.clock.stored_now(),
        ..row
    };
    let caller = access.caller();
    let row = db::write(&state.db, move |c| {
        store::set_calendar_day(c, &caller, &row)?;
        Ok(row)
    })
    .await?;
    Ok(web::Json(CalendarDay::from(row)))
}

/// Clear a calendar day · 删除节假日设置
///
/// The date follows its weekday again. System and county admins; audited.
///
/// 删除某日的节假日或调休设置，恢复按星期计算。记入审计。
#[utoipa::path(operation_id = "delete_calendar_day", tag = "workflows",
    params(("date" = NaiveDate, Path, description = "The date. 日期。")),
    responses((status = 204, description = "Cleared. 已删除。"),
        (status = 400, description = "`invalid_parameter`: the date in the path is not a date (YYYY-MM-DD). 路径中的日期无效（应为 YYYY-MM-DD）。", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:jiekun:problem:invalid_parameter", "title": "A path, query or header parameter is invalid", "status": 400, "code": "invalid_parameter",
                "detail": "path parameter date: `2026-02-30` is not a date (YYYY-MM-DD)", "detail_zh": "路径参数 date 不是有效日期（YYYY-MM-DD）：2026-02-30",
                "errors": [{"field": "date", "code": "invalid_date", "message": "a date as YYYY-MM-DD", "message_zh": "日期格式应为 YYYY-MM-DD"}]}))))]
#[delete("/calendar/{date}")]
pub(super) async fn delete_calendar_day(
    state: web::Data<AppState>,
    access: Access,
    date: web::Path<String>,
) -> ApiResult<HttpResponse> {
    access.require_user(Action::CalendarWrite)?;
    let day = day_of(&date)?;
    let caller = access.caller();
    db::write(&state.db, move |c| {
        store::clear_calendar_day(c, &caller, day)
            .map_err(|e| not_found(e.into(), "calendar day", "日期设置"))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
