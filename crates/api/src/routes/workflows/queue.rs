//! The work queue: what waits on the caller's organisation and role.

use actix_web::{get, web};
use chrono::{NaiveDateTime, TimeDelta};
use jiekun_domain::access::{Action, Role};
use jiekun_domain::closed::ClosedList;
use jiekun_domain::workflow::{actions, Exit, Filing, Machine};
use jiekun_store::workflows as store;

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
fn local_midnight(d: chrono::NaiveDate) -> NaiveDateTime {
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
    let fetch = i64::from(limit) + 1;
    let mut items = db::run_blocking(&state.db, move |c| {
        let waits = |r: &[Role]| r.iter().any(|x| roles.contains(x));
        let county = waits(&[Role::CountyReviewer, Role::CountyAdmin]);
        let city = waits(&[Role::CityApprover]);
        let mut items: Vec<QueueItem> = Vec::new();
        let mut item = |kind: &str,
                        id: &str,
                        household: &str,
                        state: &str,
                        actions: Vec<String>,
                        since: NaiveDateTime,
                        href: String| {
            let waited = now - since;
            items.push(QueueItem {
                kind: kind.into(),
                id: id.into(),
                household_id: household.into(),
                state: state.into(),
                actions,
                waiting_since: utc(since),
                waited_days: waited.num_days(),
                waited_seconds: waited.num_seconds(),
                href,
            });
        };
        let filing = waiting_states::<Filing>(&roles);
        for a in store::waiting_applications(c, &scope, &filing, fetch)? {
            let href = format!("/api/v1/applications/{}", a.id);
            let next = next_steps::<Filing>(&a.state, &roles);
            item(
                "application",
                &a.id,
                &a.household_id,
                &a.state,
                next,
                a.state_since,
                href,
            );
        }
        let exits = waiting_states::<Exit>(&roles);
        for x in store::waiting_exit_cases(c, &scope, &exits, fetch)? {
            let href = format!("/api/v1/exit-cases/{}", x.id);
            let next = next_steps::<Exit>(&x.state, &roles);
            item(
                "exit_case",
                &x.id,
                &x.household_id,
                &x.state,
                next,
                x.state_since,
                href,
            );
        }
        let mut objection_kinds = Vec::new();
        if county {
            objection_kinds.push("application");
        }
        if city {
            objection_kinds.push("exit_case");
        }
        for kind in objection_kinds {
            for o in store::waiting_objections(c, &scope, kind, fetch)? {
                let n = store::notice(c, &o.notice_id)?;
                let href = format!("/api/v1/public-notices/{}/objections", o.notice_id);
                let next = vec!["resolve".into()];
                item(
                    "objection",
                    &o.id,
                    &n.household_id,
                    "open",
                    next,
                    o.created_at,
                    href,
                );
            }
        }
        if waits(&[Role::GrassrootsOfficer]) {
            let until = today + TimeDelta::days(REVIEW_NOTICE_DAYS);
            for r in store::reviews_due(c, &scope, until, None, fetch)? {
                let since = local_midnight(r.due_on - TimeDelta::days(REVIEW_NOTICE_DAYS));
                let state = if r.due_on < today { "overdue" } else { "due" };
                let href = format!("/api/v1/households/{}/annual-reviews", r.household_id);
                let next = vec!["review".into()];
                let h = &r.household_id;
                item("annual_review", h, h, state, next, since, href);
            }
        }
        if county {
            for r in store::monitoring_over(c, &scope, today, fetch)? {
                let since = local_midnight(r.due_on + TimeDelta::days(1));
                let href = format!("/api/v1/households/{}/timeline", r.household_id);
                let next = vec!["close_monitoring".into()];
                let h = &r.household_id;
                item("monitoring_over", h, h, "monitoring", next, since, href);
            }
        }
        Ok(items)
    })
    .await?;
    items.sort_by(|a, b| {
        a.waiting_since
            .cmp(&b.waiting_since)
            .then_with(|| a.id.cmp(&b.id))
    });
    let truncated = items.len() > limit as usize;
    items.truncate(limit as usize);
    Ok(web::Json(Queue { items, truncated }))
}
