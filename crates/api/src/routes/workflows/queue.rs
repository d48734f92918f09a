//! The work queue: what waits on the caller's organisation and role.

use actix_web::{get, web};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use jiekun_domain::access::{Action, Role};
use jiekun_domain::assistance::{ReferralAction, ReferralStatus};
use jiekun_domain::closed::ClosedList;
use jiekun_domain::national_id::mask_name;
use jiekun_domain::workflow::{actions, Exit, Filing, Machine};
use jiekun_store::measures::referrals::{self, ReferralFilter, Viewer};
use jiekun_store::workflows::{self as store, DueReview, Waiting};
use jiekun_store::{DbConnection, Scope};

use super::annual_reviews::REVIEW_NOTICE_DAYS;
use super::dto::{Queue, QueueItem, QueueQuery};
use crate::auth::Access;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::pagination::page_request;
use crate::routes::utc;
use crate::{db, AppState};

/// The states of machine `M` in which a case waits on one of `roles`.
fn waiting_states<M: Machine>(roles: &[Role]) -> Vec<&'static str> {
    M::State::values()
        .iter()
        .filter(|&&s| M::waits_on(s).iter().any(|r| roles.contains(r)))
        .map(|s| s.code())
        .collect()
}

/// What the caller may do next on a case of machine `M` in `state`.
fn next_steps<M: Machine>(state: &str, roles: &[Role]) -> Vec<String> {
    M::State::from_code(state)
        .map(|s| {
            actions::<M>(s, roles)
                .iter()
                .map(|a| a.code().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Midnight (UTC+8) of a day, as a stored UTC instant.
fn local_midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).unwrap_or_default() - TimeDelta::hours(8)
}

/// My work queue · 我的待办
///
/// What waits on the caller's organisation and role, oldest first, with how long each has
/// waited: for grassroots officers, applications in draft or returned and annual reviews due;
/// for county staff, applications from submission to the end of their notice, exit cases to
/// re-check, open objections to filing notices and monitored households whose period is over;
/// for city approvers, applications to approve, exit cases to review or close, and open
/// objections to exit notices.
///
/// 列出等待当前用户所在组织和角色办理的事项，按等待时间从长到短排列：基层工会为草稿、退回的申请及到期复核；县总工会为待审核、核查、公示中的申请，待复核的退出事项，建档公示的异议及监测期满的家庭；市总工会为待审批的申请、待审核或公示中的退出事项及退出公示的异议。
#[utoipa::path(operation_id = "get_queue", tag = "workflows", params(QueueQuery),
    responses((status = 200, description = "The queue. 待办。", body = Queue)))]
#[get("/queue")]
pub(super) async fn queue(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<web::Json<Queue>> {
    let (user, scope) = access.require_user(Action::HouseholdRead)?;
    let roles = user.roles.clone();
    let limit = page_request(q.limit, None)?.limit;
    let now = state.clock.now().naive_utc();
    let today = state.clock.today();
    let mut items = db::run_blocking(&state.db, move |c| {
        waiting(c, &scope, &roles, today, i64::from(limit) + 1)
    })
    .await?;
    items.sort_by(|a, b| a.1.since.cmp(&b.1.since).then_with(|| a.1.id.cmp(&b.1.id)));
    let truncated = items.len() > limit as usize;
    items.truncate(limit as usize);
    let items = items
        .into_iter()
        .map(|(kind, w, actions)| queue_item(kind, w, actions, now))
        .collect();
    Ok(web::Json(Queue { items, truncated }))
}

/// Everything that waits on a caller with `roles` in `scope`, each kind at most `fetch`: its
/// kind, the record with its household, and what the caller may do next.
fn waiting(
    c: &mut DbConnection,
    scope: &Scope,
    roles: &[Role],
    today: NaiveDate,
    fetch: i64,
) -> ApiResult<Vec<(&'static str, Waiting, Vec<String>)>> {
    let waits = |r: &[Role]| r.iter().any(|x| roles.contains(x));
    let county = waits(&[Role::CountyReviewer, Role::CountyAdmin]);
    let mut out = Vec::new();
    let filing = waiting_states::<Filing>(roles);
    for a in store::waiting_applications(c, scope, &filing, fetch)? {
        let next = next_steps::<Filing>(&a.state, roles);
        out.push(("application", a, next));
    }
    let exits = waiting_states::<Exit>(roles);
    for x in store::waiting_exit_cases(c, scope, &exits, fetch)? {
        let next = next_steps::<Exit>(&x.state, roles);
        out.push(("exit_case", x, next));
    }
    // Objections wait on the union that holds the case: the county for filing, the city for exit.
    let objections = [
        (county, "application"),
        (waits(&[Role::CityApprover]), "exit_case"),
    ];
    for (_, subject) in objections.into_iter().filter(|(holds, _)| *holds) {
        for o in store::waiting_objections(c, scope, subject, fetch)? {
            out.push(("objection", o, vec!["resolve".into()]));
        }
    }
    if waits(&[Role::GrassrootsOfficer]) {
        let until = today + TimeDelta::days(REVIEW_NOTICE_DAYS);
        for r in store::reviews_due(c, scope, until, None, fetch)? {
            let since = local_midnight(r.due_on - TimeDelta::days(REVIEW_NOTICE_DAYS));
            let state = if r.due_on < today { "overdue" } else { "due" };
            out.push((
                "annual_review",
                household_waiting(r, state, since),
                vec!["review".into()],
            ));
        }
    }
    // Referrals past their due date wait on the unions that plan measures: to follow up, or to
    // answer those the union leads itself.
    if waits(&[
        Role::GrassrootsOfficer,
        Role::CountyReviewer,
        Role::CountyAdmin,
    ]) {
        let viewer = Viewer::Staff(scope.clone());
        let filter = ReferralFilter {
            overdue_on: Some(today),
            ..ReferralFilter::default()
        };
        let page = jiekun_store::PageRequest {
            after: None,
            limit: u32::try_from(fetch).unwrap_or(200),
        };
        let rows = referrals::list(c, &viewer, &filter, &page)
            .map_err(crate::routes::measures::measure_error)?
            .items;
        for r in rows {
            let h = jiekun_store::households::get(c, &Scope::All, &r.household_id)?;
            let organisation_name =
                jiekun_store::organisations::get(c, &Scope::All, &h.organisation_id)
                    .map(|o| o.name)
                    .unwrap_or_default();
            let next = match ReferralStatus::from_code(&r.status) {
                Some(s) if r.department_code == "union" => [
                    ReferralAction::Acknowledge,
                    ReferralAction::Decline,
                    ReferralAction::Deliver,
                ]
                .into_iter()
                .filter(|a| s.after(*a).is_some())
                .map(|a| a.as_str().to_owned())
                .collect(),
                _ => Vec::new(),
            };
            let since = local_midnight(r.due_on + TimeDelta::days(1));
            let w = Waiting {
                id: r.id,
                household_id: h.id,
                state: "overdue".into(),
                since,
                notice_id: None,
                worker_name: h.worker_name,
                file_number: h.file_number,
                organisation_id: h.organisation_id,
                organisation_name,
            };
            out.push(("referral", w, next));
        }
    }
    if county {
        for r in store::monitoring_over(c, scope, today, fetch)? {
            let since = local_midnight(r.due_on + TimeDelta::days(1));
            let next = vec!["close_monitoring".into()];
            out.push((
                "monitoring_over",
                household_waiting(r, "monitoring", since),
                next,
            ));
        }
    }
    Ok(out)
}

/// A household whose review or end of monitoring is due, as something waiting since `since`.
fn household_waiting(r: DueReview, state: &str, since: NaiveDateTime) -> Waiting {
    Waiting {
        id: r.household_id.clone(),
        household_id: r.household_id,
        state: state.into(),
        since,
        notice_id: None,
        worker_name: r.worker_name,
        file_number: r.file_number,
        organisation_id: r.organisation_id,
        organisation_name: r.organisation_name,
    }
}

/// What the queue shows of something waiting: the worker's name masked, how long it has
/// waited, and where to read it.
fn queue_item(kind: &str, w: Waiting, actions: Vec<String>, now: NaiveDateTime) -> QueueItem {
    let href = match kind {
        "application" => format!("/api/v1/applications/{}", w.id),
        "exit_case" => format!("/api/v1/exit-cases/{}", w.id),
        "objection" => format!(
            "/api/v1/public-notices/{}/objections",
            w.notice_id.as_deref().unwrap_or_default()
        ),
        "annual_review" => format!("/api/v1/households/{}/annual-reviews", w.household_id),
        "referral" => format!("/api/v1/referrals/{}", w.id),
        _ => format!("/api/v1/households/{}/timeline", w.household_id),
    };
    let waited = now - w.since;
    QueueItem {
        kind: kind.into(),
        worker_name: mask_name(&w.worker_name),
        file_number: w.file_number,
        organisation_id: w.organisation_id,
        organisation_name: w.organisation_name,
        id: w.id,
        household_id: w.household_id,
        state: w.state,
        actions,
        waiting_since: utc(w.since),
        waited_days: waited.num_days(),
        waited_seconds: waited.num_seconds(),
        href,
    }
}
