//! The assistance ledger (帮扶台账, 《实施方案》三): every piece of help actually given, written by
//! union staff or by the lead department's key, capped per household and year by the policy book,
//! corrected only by reversing entries. POSTs honour `Idempotency-Key`.

use actix_web::http::StatusCode;
use actix_web::web;
use actix_web::{get, post, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use jiekun_domain::access::Action;
use jiekun_domain::assistance::{AssistanceKind, UnitKind};
use jiekun_domain::closed::ClosedList;
use jiekun_domain::measure::Measure;
use jiekun_store::measures::assistance::{
    self as store, LedgerFilter, LedgerViewer, NewAssistance,
};
use jiekun_store::measures::AssistanceRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::measures::dto::measure_of;
use super::measures::{doer, measure_error};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use crate::extract::Idempotent;
use crate::idempotency::{self, Answer};
use crate::pagination::{page_of_try, total_if, PageOf, Paged};
use crate::schema::closed;
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(reverse);
}

/// A piece of help to record. 登记一条帮扶记录。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"household_id": crate::examples::HOUSEHOLD_ID, "measure": 10,
    "delivered_on": "2026-09-01", "kind": "cash", "amount_fen": 200000,
    "fund_source": "县总工会金秋助学资金", "evidence": "西工助〔2026〕15号"}))]
pub struct CreateAssistance {
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub household_id: String,
    /// The member it helped, when it helped one. 受助成员。
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub member_id: Option<String>,
    /// The measure, 1–19. 措施序号。
    #[validate(range(min = 1, max = 19))]
    #[schema(minimum = 1, maximum = 19)]
    pub measure: i64,
    /// The referral it answers, if any. 对应的转介。
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub referral_id: Option<String>,
    /// When it was given: from 2000-01-01, never in the future. 帮扶日期（2000-01-01 起，不晚于今天）。
    pub delivered_on: NaiveDate,
    #[schema(schema_with = closed::<AssistanceKind>)]
    pub kind: AssistanceKind,
    /// Amount in fen (0 for a service or an enrolment), at most 100,000,000. 金额（分）。
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub amount_fen: i64,
    /// Where the money came from. 资金来源。
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub fund_source: Option<String>,
    /// A reference to the evidence (document number, receipt). 凭证编号。
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    pub evidence: Option<String>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// Reversing an entry. 冲正帮扶记录。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "金额登记错误，应为 1500 元。"}))]
pub struct ReverseAssistance {
    /// Why it is reversed. 冲正理由。
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// An entry of the assistance ledger. 帮扶记录。
#[derive(Debug, Serialize, ToSchema)]
pub struct Assistance {
    pub id: String,
    pub household_id: String,
    pub member_id: Option<String>,
    #[schema(minimum = 1, maximum = 19, example = 10)]
    pub measure: i64,
    #[schema(schema_with = closed::<Measure>)]
    pub measure_code: String,
    pub measure_name_zh: String,
    pub referral_id: Option<String>,
    #[schema(schema_with = closed::<UnitKind>)]
    pub unit_kind: String,
    /// The union organisation or department that delivered it. 实施单位。
    pub unit_id: String,
    pub unit_name: String,
    pub delivered_on: NaiveDate,
    /// The calendar year the caps count it in. 计入上限的年度。
    pub year: i64,
    #[schema(schema_with = closed::<AssistanceKind>)]
    pub kind: String,
    /// Fen; negative on a reversing entry. 金额（分），冲正记录为负数。
    pub amount_fen: i64,
    pub fund_source: Option<String>,
    pub evidence: Option<String>,
    pub note: Option<String>,
    /// The entry this one reverses. 被冲正的记录。
    pub reverses_id: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn shown(r: AssistanceRow) -> ApiResult<Assistance> {
    let m = measure_of(r.measure_number)?;
    Ok(Assistance {
        measure_code: m.as_str().to_owned(),
        measure_name_zh: m.meaning_zh().to_owned(),
        id: r.id,
        household_id: r.household_id,
        member_id: r.member_id,
        measure: r.measure_number,
        referral_id: r.referral_id,
        unit_kind: r.unit_kind,
        unit_id: r.unit_id,
        unit_name: r.unit_name,
        delivered_on: r.delivered_on,
        year: r.year,
        kind: r.kind,
        amount_fen: r.amount_fen,
        fund_source: r.fund_source,
        evidence: r.evidence,
        note: r.note,
        reverses_id: r.reverses_id,
        created_by: r.created_by,
        created_at: r.created_at.and_utc(),
    })
}

/// The entries of a household delivered in the twelve months up to `to` (what an exit case or an
/// annual review looks back on), oldest first.
pub(crate) fn of_year_before(
    c: &mut jiekun_store::DbConnection,
    household_id: &str,
    to: NaiveDate,
) -> ApiResult<Vec<Assistance>> {
    let from = to - chrono::TimeDelta::days(365);
    store::of_period(c, household_id, from, to)
        .map_err(measure_error)?
        .into_iter()
        .map(shown)
        .collect()
}

fn stored(status: StatusCode, r: AssistanceRow) -> ApiResult<Answer> {
    let location = format!("/api/v1/assistance/{}", r.id);
    Ok(Answer {
        status,
        location: Some(location),
        etag: None,
        body: serde_json::to_value(shown(r)?).map_err(ApiError::internal)?,
    })
}

fn text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Record assistance · 登记帮扶
///
/// Records help actually given. Union staff record for households of their subtree; a department
/// key (scope `assistance:write`) records for the measures its department leads, for households
/// referred to it. The yearly caps of the policy book (per measure, and in total, across every
/// unit) hold: an entry over a cap is refused with 422 `over_cap` and nothing is written. Honours
/// `Idempotency-Key`: the same key with the same body answers as the first time, without
/// recording twice (also when the retries race); with another body, 422 `idempotency_key_reused`.
///
/// 登记实际给予的帮扶。工会用户为本组织及下级家庭登记；部门密钥（assistance:write）为本部门牵头的措施、转介给本部门的家庭登记。每户每年按措施及合计的金额上限对所有单位共同适用，超限返回 422 over_cap，不写入任何数据。支持 Idempotency-Key：同一键同一请求体返回首次结果、不重复登记（并发重试亦然）；请求体不同返回 422 idempotency_key_reused。
#[utoipa::path(operation_id = "create_assistance", tag = "assistance",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: 1–255 visible ASCII characters. 幂等键：1–255 个可见 ASCII 字符。")),
    request_body = CreateAssistance,
    responses((status = 201, description = "Recorded. 已登记。", body = Assistance,
        headers(("Location" = String, description = "URL of the entry. 记录地址。")))))]
#[post("/assistance")]
async fn create(
    state: web::Data<AppState>,
    access: Access,
    posted: Idempotent,
) -> ApiResult<HttpResponse> {
    let doer = doer(&access, Action::AssistanceWrite)?;
    let (key, body) = posted.key_and_body()?;
    let b: CreateAssistance = body.parse()?;
    let input = NewAssistance {
        household_id: b.household_id,
        member_id: b.member_id,
        measure: b.measure,
        referral_id: b.referral_id,
        delivered_on: b.delivered_on,
        kind: b.kind,
        amount_fen: b.amount_fen,
        fund_source: text(b.fund_source),
        evidence: text(b.evidence),
        note: text(b.note),
    };
    let (at, today) = (state.clock.stored_now(), state.clock.today());
    idempotency::run(
        &state,
        &access,
        key,
        "create_assistance",
        body.bytes(),
        move |c| {
            let row =
                store::record_assistance(c, &doer, at, today, &input).map_err(measure_error)?;
            stored(StatusCode::CREATED, row)
        },
    )
    .await
}

/// Reverse an entry · 冲正帮扶记录
///
/// A correction is a reversing entry (the opposite amount, naming the entry), never an edit. Only
/// the unit that recorded an entry reverses it, once. Honours `Idempotency-Key`.
///
/// 更正通过冲正记录完成（金额相反并指向原记录），不修改原记录。只有登记单位可以冲正，且只能冲正一次。支持 Idempotency-Key。
#[utoipa::path(operation_id = "reverse_assistance", tag = "assistance",
    params(("id" = String, Path, description = "Entry id. 记录标识。"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe. 幂等键，重试安全。")),
    request_body = ReverseAssistance,
    responses((status = 201, description = "The reversing entry. 冲正记录。", body = Assistance,
        headers(("Location" = String, description = "URL of the reversing entry. 冲正记录地址。")))))]
#[post("/assistance/{id}/reverse")]
async fn reverse(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    posted: Idempotent,
) -> ApiResult<HttpResponse> {
    let doer = doer(&access, Action::AssistanceWrite)?;
    let (key, body) = posted.key_and_body()?;
    let b: ReverseAssistance = body.parse()?;
    let reason =
        crate::fields::name("reason", &b.reason, 500).map_err(|e| ApiError::validation(vec![e]))?;
    let (at, id) = (state.clock.stored_now(), id.into_inner());
    idempotency::run(
        &state,
        &access,
        key,
        "reverse_assistance",
        body.bytes(),
        move |c| {
            let row = store::reverse(c, &doer, at, &id, &reason).map_err(measure_error)?;
            stored(StatusCode::CREATED, row)
        },
    )
    .await
}

/// Filters of the ledger. 帮扶台账筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssistanceQuery {
    pub household_id: Option<String>,
    /// 1–19. 措施序号。
    #[param(minimum = 1, maximum = 19)]
    pub measure: Option<i64>,
    /// Calendar year. 年度。
    #[param(minimum = 2000, maximum = 2100)]
    pub year: Option<i64>,
}

/// List assistance · 查询帮扶台账
///
/// Union staff: the entries of households in their subtree. A department key (scope
/// `assistance:write`): the entries its department recorded.
///
/// 工会用户查询本组织及下级家庭的帮扶记录；部门密钥（assistance:write）查询本部门登记的记录。
#[utoipa::path(operation_id = "list_assistance", tag = "assistance",
    params(AssistanceQuery, crate::pagination::PageQuery),
    responses((status = 200, description = "A page of entries. 一页帮扶记录。", body = PageOf<Assistance>)))]
#[get("/assistance")]
async fn list(
    state: web::Data<AppState>,
    access: Access,
    q: Paged<AssistanceQuery>,
) -> ApiResult<web::Json<PageOf<Assistance>>> {
    let doer = doer(&access, Action::AssistanceRead)?;
    let page = q.page.page_request()?;
    let filter = LedgerFilter {
        household_id: q.filter.household_id,
        measure: q.filter.measure,
        year: q.filter.year,
    };
    let (viewer, count) = (LedgerViewer::of(&doer), q.page.count);
    let (rows, total) = db::run(&state.db, move |c| {
        let total = total_if(count, || store::count(c, &viewer, &filter)).map_err(measure_error)?;
        Ok((
            store::list(c, &viewer, &filter, &page).map_err(measure_error)?,
            total,
        ))
    })
    .await?;
    Ok(web::Json(
        page_of_try(rows.items, rows.next_after, shown)?.with_total(total),
    ))
}

/// Get an entry · 查看帮扶记录
///
/// One entry of the ledger, seen as the list sees it.
///
/// 查看单条帮扶记录。
#[utoipa::path(operation_id = "get_assistance", tag = "assistance",
    params(("id" = String, Path, description = "Entry id. 记录标识。")),
    responses((status = 200, description = "The entry. 帮扶记录。", body = Assistance)))]
#[get("/assistance/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<Assistance>> {
    let doer = doer(&access, Action::AssistanceRead)?;
    let (viewer, id) = (LedgerViewer::of(&doer), id.into_inner());
    let row = db::run(&state.db, move |c| {
        store::get(c, &viewer, &id).map_err(measure_error)
    })
    .await?;
    Ok(web::Json(shown(row)?))
}
