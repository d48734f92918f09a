//! Reports for supervision (督查问效, 《实施方案》四(三)): `GET /reports/{name}` for the caller's
//! scope, as JSON or CSV, as of any past moment, reproducible to the hash.

pub mod dto;
mod registry;

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use jiekun_domain::access::Action;
use jiekun_domain::report::ReportName;
use utoipa_actix_web::service_config::ServiceConfig;

use self::dto::{Built, ReportCatalogue, ReportOut, ReportQuery, ReportScope};
use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::ApiQuery;
use crate::routes::query_error;
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(catalogue).service(get_report);
}

/// List the reports · 报表目录
///
/// The reports there are, with what each counts, the parameters it takes and its columns.
/// Auditors, county reviewers and administrators, and city approvers; department keys with the
/// scope `reports:read`.
///
/// 列出全部报表及其统计内容、适用参数和列。限审计人员、县总工会审核人和管理员、市总工会审批人；持 reports:read 权限范围的部门密钥可调用。
#[utoipa::path(operation_id = "list_reports", tag = "reports",
    responses((status = 200, description = "The catalogue. 报表目录。", body = ReportCatalogue)))]
#[get("/reports")]
async fn catalogue(access: Access) -> ApiResult<web::Json<ReportCatalogue>> {
    access.require(Action::ReportRead)?;
    Ok(web::Json(ReportCatalogue {
        items: ReportName::ALL.iter().map(|n| registry::info(*n)).collect(),
    }))
}

/// Pull a report · 调取报表
///
/// The report `name` for the caller's scope (a person's union and its subtree; a department
/// key's region) as it stood at `as_of`: JSON by default, CSV with `?format=csv` or
/// `Accept: text/csv` (UTF-8 with a byte-order mark, a row of Chinese column names, then a row
/// of the keys). Reports read the register's history and the workflow timeline, so the same
/// request with the same `as_of` gives the same figures and the same `sha256` later. The CSV
/// answer carries `as_of`, the row count and the hash in `X-Report-As-Of`, `X-Report-Rows` and
/// `X-Report-Sha256`. Auditors, county reviewers and administrators, and city approvers;
/// department keys with the scope `reports:read`.
///
/// 按调用者范围（用户为所在工会及其下级，部门密钥为其所在地区）调取报表在 as_of 时点的数据：默认 JSON，?format=csv 或 Accept: text/csv 时为 CSV（UTF-8 带 BOM，首行中文列名，次行键名）。报表读取档案历史和流程记录，同一时点的同一报表日后重取，数字和 sha256 不变。CSV 的时点、行数和摘要在 X-Report-As-Of、X-Report-Rows、X-Report-Sha256 响应头中。限审计人员、县总工会审核人和管理员、市总工会审批人；持 reports:read 权限范围的部门密钥可调用。
#[utoipa::path(operation_id = "get_report", tag = "reports",
    params(("name" = String, Path, description = "The report: `roster`, `flows`, `assistance`, `accountability`, `campaigns`, `timeliness`, `coverage` or `exceptions` (see `GET /reports`). 报表名称（见报表目录）。"), ReportQuery),
    responses((status = 200, description = "The report. 报表。", body = ReportOut,
        content((ReportOut = "application/json"), (String = "text/csv")),
        headers(("X-Report-As-Of" = String, description = "The moment described (CSV). 报表时点（CSV）。"),
            ("X-Report-Rows" = i64, description = "Data rows (CSV). 数据行数（CSV）。"),
            ("X-Report-Sha256" = String, description = "The report's hash, as in JSON (CSV). 报表摘要（CSV）。")))))]
#[get("/reports/{name}")]
async fn get_report(
    state: web::Data<AppState>,
    access: Access,
    req: HttpRequest,
    name: web::Path<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<HttpResponse> {
    let scope = access.require(Action::ReportRead)?;
    let name: ReportName = name
        .parse()
        .map_err(|_| ApiError::not_found("report", "报表"))?;
    let csv = wants_csv(&q, &req)?;
    let as_of = as_of(&q, state.clock.stored_now())?;
    let params = registry::Params::parse(name, &q, as_of)?;
    let shown_scope = match &access.principal {
        Principal::User(u) => ReportScope {
            organisation_id: Some(u.organisation_id.clone()),
            region_code: None,
        },
        Principal::Key(k) => ReportScope {
            organisation_id: None,
            region_code: Some(k.region.to_string()),
        },
    };
    // One snapshot: the rows, totals and policy versions of a report agree even while writes go on.
    // A report reads the whole register, for up to seconds: on a blocking thread, never inline on
    // the worker that serves the other requests (where, on SQLite, it held them all up).
    let built: Built = db::run_blocking(&state.db, move |c| {
        jiekun_store::conn::snapshot(c, |c| {
            registry::build(c, &scope, shown_scope, name, as_of, params)
        })
    })
    .await?;
    Ok(present(built, csv))
}

/// CSV when `format=csv`, or when no format is named and `Accept` asks for `text/csv` first.
fn wants_csv(q: &ReportQuery, req: &HttpRequest) -> ApiResult<bool> {
    match q.format.as_deref() {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(query_error(FieldError::new(
            "format",
            "invalid_value",
            "json or csv",
            "取值为 json 或 csv",
        ))),
        None => Ok(req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| {
                a.split(',')
                    .next()
                    .is_some_and(|first| first.trim().starts_with("text/csv"))
            })),
    }
}

/// The moment asked for: RFC 3339, not in the future; now when absent.
fn as_of(q: &ReportQuery, now: NaiveDateTime) -> ApiResult<NaiveDateTime> {
    let Some(text) = q.as_of.as_deref() else {
        return Ok(now);
    };
    let bad = |m: &str, zh: &str| query_error(FieldError::new("as_of", "invalid_value", m, zh));
    let t = DateTime::parse_from_rfc3339(text)
        .map_err(|_| {
            bad(
                "a time in RFC 3339, such as 2026-11-30T16:00:00Z",
                "应为 RFC 3339 格式的时间，如 2026-11-30T16:00:00Z",
            )
        })?
        .with_timezone(&Utc)
        .naive_utc();
    let t =
        chrono::DurationRound::duration_trunc(t, chrono::TimeDelta::microseconds(1)).unwrap_or(t);
    if t > now {
        return Err(bad(
            "cannot be in the future: a report describes what has happened",
            "不得晚于当前时间：报表只反映已发生的情况",
        ));
    }
    Ok(t)
}

fn present(built: Built, csv: bool) -> HttpResponse {
    if !csv {
        return HttpResponse::Ok().json(built.json());
    }
    let as_of = built
        .as_of
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let (rows, sha) = (built.rows.len(), built.sha256());
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.csv\"", built.report.as_str()),
        ))
        .insert_header(("X-Report-As-Of", as_of))
        .insert_header(("X-Report-Rows", rows.to_string()))
        .insert_header(("X-Report-Sha256", sha))
        .body(built.csv())
}
