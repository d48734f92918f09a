//! Annual reviews (年度复核): recording them, and the households whose review falls due.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{NaiveDate, TimeDelta};
use jiekun_domain::access::Action;
use jiekun_domain::national_id::mask_name;
use jiekun_store::cases;
use jiekun_store::households as hstore;
use jiekun_store::workflows as store;

use super::dto::{AnnualReview, DueQuery, DueReview, NewAnnualReview};
use super::{opinion_of, staff, step_error, tagged};
use crate::auth::Access;
use crate::error::{ApiResult, FieldError};
use crate::extract::{ApiQuery, Change};
use crate::pagination::{page_request, total_if, PageOf};
use crate::routes::assistance::of_year_before;
use crate::routes::{not_found, query_error};
use crate::{db, AppState};

/// Days before its due date that a review enters the queue. 复核提前进入待办的天数。
pub const REVIEW_NOTICE_DAYS: i64 = 30;

/// Record an annual review · 登记年度复核
///
/// Every filed household is reviewed at least once per review interval (policy
/// `review_interval_months`, 12 by default). The review relies on a fresh identification
/// assessment: still in hardship, the household continues (its category follows the
/// assessment); no longer eligible, the outcome says so and an exit case should follow. The next
/// review falls due one interval later. Grassroots officers and county staff; requires the
/// household's `If-Match`.
///
/// 已建档家庭每个复核周期（默认 12 个月）至少复核一次，依据新的识别评估：仍符合条件的继续帮扶（困难类别随评估调整）；不再符合的记录结论，随后应办理退出。须携带户档案 If-Match。
#[utoipa::path(operation_id = "record_annual_review", tag = "workflows",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    request_body = NewAnnualReview,
    responses((status = 201, description = "Recorded. 已登记。", body = AnnualReview, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[post("/households/{id}/annual-reviews")]
pub(super) async fn record_review(
    state: web::Data<AppState>,
    access: Access,
    Change { id, version, body }: Change,
) -> ApiResult<HttpResponse> {
    let (actor, when) = staff(&state, &access, Action::WorkflowAct)?;
    let body: NewAnnualReview = body.parse()?;
    let opinion = opinion_of(&body.opinion)?;
    let (review, h) = db::write(&state.db, move |c| {
        cases::record_review(
            c,
            &actor,
            when,
            &id,
            version,
            &body.assessment_id,
            opinion.as_deref(),
        )
        .map_err(step_error)
        .and_then(|(review, h)| {
            let mut out = AnnualReview::from(review);
            out.assistance = of_year_before(c, &out.household_id, out.reviewed_on)?;
            Ok((out, h))
        })
    })
    .await?;
    Ok(tagged(StatusCode::CREATED, h.version, review))
}

/// List a household's annual reviews · 查询年度复核记录
///
/// Newest first.
///
/// 按时间倒序列出该户的年度复核记录。
#[utoipa::path(operation_id = "list_annual_reviews", tag = "workflows",
    params(("id" = String, Path, description = "Household id. 档案标识。")),
    responses((status = 200, description = "The reviews. 复核记录。", body = Vec<AnnualReview>)))]
#[get("/households/{id}/annual-reviews")]
pub(super) async fn list_reviews(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<AnnualReview>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let id = id.into_inner();
    let rows = db::run(&state.db, move |c| {
        hstore::get(c, &scope, &id).map_err(|e| not_found(e.into(), "household", "档案"))?;
        store::reviews_of(c, &id)?
            .into_iter()
            .map(|r| {
                let mut out = AnnualReview::from(r);
                out.assistance = of_year_before(c, &out.household_id, out.reviewed_on)?;
                Ok(out)
            })
            .collect::<ApiResult<Vec<_>>>()
    })
    .await?;
    Ok(web::Json(rows))
}

fn encode_due_cursor(due: NaiveDate, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("r1:{due}:{id}"))
}

/// Where a page of reviews due resumes: after `(due date, household id)`.
fn decode_due_cursor(c: &str) -> ApiResult<(NaiveDate, String)> {
    let after = || {
        let raw = URL_SAFE_NO_PAD.decode(c).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (d, id) = text.strip_prefix("r1:")?.split_once(':')?;
        Some((d.parse().ok()?, id.to_owned()))
    };
    after().ok_or_else(|| {
        query_error(FieldError::new(
            "cursor",
            "invalid_cursor",
            "not a cursor this endpoint gave out",
            "不是本接口返回的游标",
        ))
    })
}

/// The last due date a page of `status` reaches: 30 days ahead for `due`, yesterday for
/// `overdue`.
fn due_until(status: Option<&str>, today: NaiveDate) -> ApiResult<NaiveDate> {
    match status {
        None | Some("due") => Ok(today + TimeDelta::days(REVIEW_NOTICE_DAYS)),
        Some("overdue") => Ok(today - TimeDelta::days(1)),
        Some(_) => Err(query_error(FieldError::new(
            "status",
            "invalid_value",
            "`due` (due within 30 days or overdue) or `overdue` (past due only)",
            "取值应为 due（30 天内到期及已逾期）或 overdue（已逾期）",
        ))),
    }
}

/// Reviews due and overdue · 待复核家庭
///
/// Filed households in the caller's scope whose annual review is due within 30 days or overdue,
/// earliest due first.
///
/// 本辖区 30 天内到期及已逾期未复核的已建档家庭，按到期日排序。
#[utoipa::path(operation_id = "list_reviews_due", tag = "workflows", params(DueQuery),
    responses((status = 200, description = "A page of reviews due. 一页待复核家庭。", body = PageOf<DueReview>)))]
#[get("/annual-reviews/due")]
pub(super) async fn reviews_due(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<DueQuery>,
) -> ApiResult<web::Json<PageOf<DueReview>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let limit = page_request(q.limit, None)?.limit;
    let after = q.cursor.as_deref().map(decode_due_cursor).transpose()?;
    let today = state.clock.today();
    let until = due_until(q.status.as_deref(), today)?;
    let (fetch, count) = (i64::from(limit) + 1, q.count);
    let (mut rows, total) = db::run(&state.db, move |c| {
        let total = total_if(count, || store::count_reviews_due(c, &scope, until))?;
        Ok((store::reviews_due(c, &scope, until, after, fetch)?, total))
    })
    .await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| encode_due_cursor(r.due_on, &r.household_id))
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|r| DueReview {
            worker_name: mask_name(&r.worker_name),
            overdue: r.due_on < today,
            days_overdue: (today - r.due_on).num_days(),
            household_id: r.household_id,
            file_number: r.file_number,
            organisation_id: r.organisation_id,
            organisation_name: r.organisation_name,
            category: r.category,
            due_on: r.due_on,
        })
        .collect();
    Ok(web::Json(PageOf {
        items,
        next_cursor,
        total,
    }))
}
