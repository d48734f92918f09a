//! Filing and exit as workflows across the union hierarchy (plan §二(一), §二(二)):
//! applications, exit cases, their timelines, annual reviews and the work queue. Every step
//! checks role and scope, takes the case's `If-Match`, and is one unit of work of the store that
//! writes the case, its timeline entry and its audit event in one transaction.

mod annual_reviews;
mod cases;
pub mod dto;
mod errors;
mod queue;
mod timeline;
mod views;

use actix_web::http::header::ETag;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use chrono::NaiveDate;
use jiekun_domain::access::Action;
use jiekun_store::cases::{Actor, StepInput, When};
use jiekun_store::workflows as store;
use serde::Serialize;
use utoipa_actix_web::service_config::ServiceConfig;

pub(crate) use errors::step_error;

use self::dto::CaseQuery;
use super::query_error;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::etag;
use crate::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(cases::open_application)
        .service(cases::list_applications)
        .service(cases::get_application)
        .service(cases::act_on_application)
        .service(cases::open_exit_case)
        .service(cases::list_exit_cases)
        .service(cases::get_exit_case)
        .service(cases::act_on_exit_case)
        .service(timeline::household_timeline)
        .service(annual_reviews::record_review)
        .service(annual_reviews::list_reviews)
        .service(annual_reviews::reviews_due)
        .service(queue::queue)
        .service(timeline::close_monitoring);
}

/// The signed-in caller allowed `action`, as the store's units of work take them, and the
/// clock's today and now.
pub(crate) fn staff(state: &AppState, access: &Access, action: Action) -> ApiResult<(Actor, When)> {
    let (user, scope) = access.require_user(action)?;
    let actor = Actor {
        username: user.username.clone(),
        roles: user.roles.clone(),
        organisation_id: user.organisation_id.clone(),
        scope,
        caller: access.caller(),
    };
    let when = When {
        today: state.clock.today(),
        at: state.clock.stored_now(),
    };
    Ok((actor, when))
}

/// An opinion or reason: trimmed, absent when empty, at most 2000 characters.
fn opinion_of(o: &Option<String>) -> ApiResult<Option<String>> {
    match o.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > 2000 => Err(ApiError::validation(vec![FieldError::new(
            "opinion",
            "too_long",
            "at most 2000 characters",
            "不超过 2000 个字符",
        )])),
        Some(t) => Ok(Some(t.to_owned())),
    }
}

/// What a step carries besides its action, as sent.
pub(super) struct StepFields {
    pub opinion: Option<String>,
    pub assessment_id: Option<String>,
    pub notice_starts_on: Option<NaiveDate>,
    pub verification_override: Option<String>,
}

impl StepFields {
    /// The opinion and the notice's first day, checked: a notice starts today or within 30 days.
    fn check(self, today: NaiveDate) -> ApiResult<StepInput> {
        let field = |code, en, zh| {
            ApiError::validation(vec![FieldError::new("notice_starts_on", code, en, zh)])
        };
        match self.notice_starts_on {
            Some(d) if d < today => Err(field(
                "in_the_past",
                "a notice starts today or later",
                "公示开始日期不能早于今天",
            )),
            Some(d) if d > today + chrono::TimeDelta::days(30) => Err(field(
                "too_far",
                "a notice starts within 30 days",
                "公示开始日期应在 30 天以内",
            )),
            _ => Ok(StepInput {
                opinion: opinion_of(&self.opinion)?,
                assessment_id: self.assessment_id,
                notice_starts_on: self.notice_starts_on,
                verification_override: self
                    .verification_override
                    .map(|r| r.trim().to_owned())
                    .filter(|r| !r.is_empty()),
            }),
        }
    }
}

/// The states a case list is filtered by, each one of `known`.
fn case_filter(q: &CaseQuery, known: &[&str]) -> ApiResult<store::CaseFilter> {
    let mut states = Vec::new();
    for s in q.state.iter().flat_map(|s| s.split(',')).map(str::trim) {
        if s.is_empty() {
            continue;
        }
        if !known.contains(&s) {
            return Err(query_error(FieldError::new(
                "state",
                "invalid_value",
                format!("states are {}", known.join(", ")),
                format!("状态取值应为 {} 之一", known.join("、")),
            )));
        }
        states.push(s.to_owned());
    }
    Ok(store::CaseFilter {
        states,
        household_id: q.household_id.clone(),
    })
}

/// An answer with the `ETag` of the version it shows.
fn tagged<T: Serialize>(status: StatusCode, version: i64, body: T) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(ETag(etag(version)))
        .json(body)
}

/// A case just opened: 201 with where to read it and its version.
fn opened<T: Serialize>(location: String, version: i64, body: T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header(("Location", location))
        .insert_header(ETag(etag(version)))
        .json(body)
}
