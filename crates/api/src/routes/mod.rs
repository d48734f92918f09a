//! One module per resource, each with its own `configure`.

pub mod api_keys;
pub mod assistance;
pub mod audit;
pub mod auth;
pub mod campaigns;
pub(crate) mod closed;
pub mod contacts;
pub mod departments;
pub(crate) mod directory;
pub mod enterprises;
pub mod exchange;
pub mod health;
pub mod households;
pub mod measures;
pub mod notices;
pub mod organisations;
pub mod referrals;
pub mod reports;
pub mod rules;
pub mod users;
pub mod verifications;
pub mod workflows;

use actix_web::HttpResponse;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use crate::error::{ApiError, ErrorCode, FieldError};
use crate::extract::etag;
use crate::fields::Fields;

/// Stored UTC timestamps as RFC 3339.
/// A region code a change sets, checked; `None` where the body leaves it (or it is wrong, and
/// `f` says so).
pub(crate) fn changed_region(f: &mut Fields, field: &str, value: Option<&str>) -> Option<String> {
    value
        .and_then(|r| f.region(field, r))
        .map(|r| r.to_string())
}

pub(crate) fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A bad query value, as 400 `invalid_parameter` naming the parameter.
pub(crate) fn query_error(e: FieldError) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidParameter,
        format!("query parameter {}: {}", e.field, e.message),
        format!("查询参数 {} 无效：{}", e.field, e.message_zh),
    )
    .with_field(e)
}

/// Names the resource in a bare `not_found`.
pub(crate) fn not_found(e: ApiError, what: &str, what_zh: &str) -> ApiError {
    if e.code == ErrorCode::NotFound && e.detail == e.code.title() {
        ApiError::not_found(what, what_zh)
    } else {
        e
    }
}

pub(crate) fn ok_with_etag<T: Serialize>(version: i64, body: T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(actix_web::http::header::ETag(etag(version)))
        .json(body)
}

/// A record placed in a region outside the caller's.
pub(crate) fn outside_region() -> ApiError {
    crate::auth::forbidden(
        "the region lies outside your organisation's region",
        "该行政区划不在您所在组织的辖区内",
    )
    .with_field(FieldError::new(
        "region_code",
        "outside_scope",
        "outside your organisation's region",
        "不在您所在组织的辖区内",
    ))
}
