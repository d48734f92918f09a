//! A household's life after filing: its timeline, and the end of its monitoring.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use jiekun_domain::access::Action;
use jiekun_store::cases;
use jiekun_store::households::{self as hstore, HouseholdRow};
use jiekun_store::workflows as store;
use jiekun_store::DbConnection;

use super::dto::{CloseMonitoring, HouseholdTimeline, TimelineEntryOf};
use super::{opinion_of, staff, step_error, tagged};
use crate::auth::Access;
use crate::error::ApiResult;
use crate::extract::Change;
use crate::routes::not_found;
use crate::{db, AppState};

fn timeline_view(c: &mut DbConnection, h: HouseholdRow) -> ApiResult<HouseholdTimeline> {
    let life = store::lifecycle(c, &h.id)?.unwrap_or_default();
    let events = store::household_timeline(c, &h.id)?;
    Ok(HouseholdTimeline {
        household_id: h.id,
        status: h.status,
        file_number: h.file_number,
        previous_file_number: life.previous_file_number,
        filed_on: life.filed_on,
        next_review_due: life.next_review_due,
        exited_on: life.exited_on,
        exit_grounds: life.exit_grounds,
        monitoring_until: life.monitoring_until,
        closed_on: life.closed_on,
        timeline: events.into_iter().map(TimelineEntryOf::from).collect(),
    })
}

/// A household's timeline · 家庭办理记录
///
/// The household's status after filing (file numbers, next review, exit, monitoring) and every
/// workflow step taken on it, oldest first.
///
/// 家庭建档后的状态（档案编号、下次复核、退出、监测）及全部办理记录。
#[utoipa::path(operation_id = "get_household_timeline", tag = "workflows",
    params(("id" = String, Path, description = "Household id. 档案标识。")),
    responses((status = 200, description = "The timeline. 办理记录。", body = HouseholdTimeline)))]
#[get("/households/{id}/timeline")]
pub(super) async fn household_timeline(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<HouseholdTimeline>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let id = id.into_inner();
    let view = db::run(&state.db, move |c| {
        let h =
            hstore::get(c, &scope, &id).map_err(|e| not_found(e.into(), "household", "档案"))?;
        timeline_view(c, h)
    })
    .await?;
    Ok(web::Json(view))
}

/// End monitoring · 监测期满关闭档案
///
/// After the monitoring period, the county union closes the file of a household that left by
/// 脱困 or 解困: its members are freed. Before the period ends: 409 `monitoring_running`; a
/// household not monitored: 409 `wrong_state`. Requires the household's `If-Match`.
///
/// 监测期满后，县总工会关闭脱困、解困家庭的档案，成员不再占用。监测期未满返回 409 monitoring_running。须携带户档案 If-Match。
#[utoipa::path(operation_id = "close_monitoring", tag = "workflows",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    request_body = CloseMonitoring,
    responses((status = 200, description = "Closed. 已关闭。", body = HouseholdTimeline, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[post("/households/{id}/close-monitoring")]
pub(super) async fn close_monitoring(
    state: web::Data<AppState>,
    access: Access,
    Change { id, version, body }: Change,
) -> ApiResult<HttpResponse> {
    let (actor, when) = staff(&state, &access, Action::WorkflowAct)?;
    let body: CloseMonitoring = body.parse()?;
    let opinion = opinion_of(&body.opinion)?;
    let (v, view) = db::write(&state.db, move |c| {
        let h = cases::close_monitoring(c, &actor, when, &id, version, opinion.as_deref())
            .map_err(step_error)?;
        Ok((h.version, timeline_view(c, h)?))
    })
    .await?;
    Ok(tagged(StatusCode::OK, v, view))
}
