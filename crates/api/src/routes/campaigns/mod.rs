//! Campaigns (帮扶活动): 金秋助学 (《实施方案》三(五)10) and 送温暖 (三(七)14 “四送”), launched by a
//! county or city union, the budget split down the tree as quotas, eligible households listed
//! with the reason, each payment an entry of the assistance ledger. Payments honour
//! `Idempotency-Key`.

pub mod dto;

use actix_web::http::header::ETag;
use actix_web::http::StatusCode;
use actix_web::{get, post, put, web, HttpResponse};
use jiekun_domain::access::Action;
use jiekun_store::campaigns::payments::NewPayment;
use jiekun_store::campaigns::{self as store, eligible, payments, quotas, CampaignError};
use utoipa_actix_web::service_config::ServiceConfig;

use self::dto::{
    Campaign, CampaignQuery, CreateCampaign, CreatePayment, EligibleOut, EligibleQuery, Payment,
    Progress, Quota, SetQuota,
};
use super::measures::{doer, measure_error};
use crate::auth::Access;
use crate::body::Body;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::extract::{etag, Change, Idempotent};
use crate::idempotency::{self, Answer};
use crate::pagination::{page_of, page_of_try, total_if, PageOf, Paged};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(set_quota)
        .service(list_eligible)
        .service(progress)
        .service(pay);
}

/// A campaign step that did not happen, as the API answers it.
pub(crate) fn campaign_error(e: CampaignError) -> ApiError {
    match e {
        CampaignError::NotFound(what) => {
            let zh = match what {
                "campaign" => "帮扶活动",
                "household" => "档案",
                _ => "组织",
            };
            ApiError::not_found(what, zh)
        }
        CampaignError::Invalid {
            field,
            code,
            message,
            message_zh,
        } => ApiError::validation(vec![FieldError::new(field, code, message, message_zh)]),
        CampaignError::Forbidden {
            message,
            message_zh,
        } => crate::auth::forbidden(message, message_zh),
        CampaignError::Stale { expected, actual } => {
            jiekun_store::StoreError::VersionMismatch { expected, actual }.into()
        }
        CampaignError::AlreadyPaid => ApiError::new(
            ErrorCode::AlreadyPaid,
            "the household has been paid by this campaign already: a household is paid once per campaign",
            "该家庭已领取本次活动的帮扶金：每户每次活动只发放一次",
        )
        .with_field(FieldError::new(
            "household_id",
            "already_paid",
            "paid by this campaign already",
            "已领取本次活动的帮扶金",
        )),
        CampaignError::OverQuota {
            organisation_id,
            organisation_name,
            quota_fen,
            spent_fen,
            amount_fen,
        } => ApiError::new(
            ErrorCode::OverQuota,
            format!(
                "paying {amount_fen} fen would take {organisation_name} past its quota: {spent_fen} of {quota_fen} fen paid already; nothing was written"
            ),
            format!(
                "发放 {amount_fen} 分将超出{organisation_name}的额度：额度 {quota_fen} 分，已发放 {spent_fen} 分；未写入任何数据"
            ),
        )
        .with_field(FieldError::new(
            format!("organisations.{organisation_id}"),
            "over_quota",
            format!("{spent_fen} of {quota_fen} fen paid already"),
            format!("额度 {quota_fen} 分，已发放 {spent_fen} 分"),
        )),
        CampaignError::QuotaOutOfBounds {
            message,
            message_zh,
        } => ApiError::new(ErrorCode::QuotaOutOfBounds, &message, &message_zh).with_field(
            FieldError::new("quota_fen", "out_of_bounds", message, message_zh),
        ),
        CampaignError::Ledger(m) => measure_error(m),
        CampaignError::Store(s) => s.into(),
    }
}

/// Launch a campaign · 发起帮扶活动
///
/// A county or city union launches a campaign of its own: 金秋助学 (《实施方案》三(五)10, paid
/// under measure 10), 送温暖 or another drive (recorded as union help under measure 14, whose
/// “四送” activities 送温暖 is one of, 《实施方案》三(七)14). It states its period, its budget,
/// the amount each household gets (one amount, or one per category) and which filed households
/// it is for, from a closed list of rules. The campaign's union holds the whole budget as its
/// quota. Department keys cannot launch campaigns: they are the union's own drives.
///
/// 县、市总工会发起本级帮扶活动：金秋助学（《实施方案》三(五)10，记入第10项措施）、送温暖或其他活动（记为工会帮扶，计入第14项措施，送温暖为《实施方案》三(七)14“四送”活动之一）。须写明活动期间、总预算、每户金额（统一金额或按困难类别）以及活动对象条件（从固定条件中选择）。发起工会的额度即总预算。部门密钥不能发起活动，帮扶活动由工会组织。
#[utoipa::path(operation_id = "create_campaign", tag = "campaigns", request_body = CreateCampaign,
    responses((status = 201, description = "Launched. 已发起。", body = Campaign,
        headers(("ETag" = String, description = "Version. 版本标签。"), ("Location" = String, description = "URL of the campaign. 活动地址。")))))]
#[post("/campaigns")]
async fn create(state: web::Data<AppState>, access: Access, body: Body) -> ApiResult<HttpResponse> {
    let (user, _) = access.require_user(Action::CampaignWrite)?;
    let new = body.parse::<CreateCampaign>()?.parsed()?;
    let (caller, by, org) = (
        access.caller(),
        user.username.clone(),
        user.organisation_id.clone(),
    );
    let at = state.clock.stored_now();
    let row = db::write(&state.db, move |c| {
        store::create(c, &caller, &by, &org, at, &new).map_err(campaign_error)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/campaigns/{}", row.id)))
        .insert_header(ETag(etag(row.version)))
        .json(dto::campaign(row)?))
}

/// List campaigns · 查询帮扶活动
///
/// The campaigns of your union's subtree and of the unions above it, oldest first. Department
/// keys are refused.
///
/// 查询本组织及下级工会发起的活动，以及上级工会发起的活动。部门密钥不可调用。
#[utoipa::path(operation_id = "list_campaigns", tag = "campaigns",
    params(CampaignQuery, crate::pagination::PageQuery),
    responses((status = 200, description = "A page of campaigns. 一页帮扶活动。", body = PageOf<Campaign>)))]
#[get("/campaigns")]
async fn list(
    state: web::Data<AppState>,
    access: Access,
    q: Paged<CampaignQuery>,
) -> ApiResult<web::Json<PageOf<Campaign>>> {
    let (_, scope) = access.require_user(Action::CampaignRead)?;
    let page = q.page.page_request()?;
    let filter = store::CampaignFilter {
        kind: q.filter.kind,
    };
    let count = q.page.count;
    let (rows, total) = db::run(&state.db, move |c| {
        let total = total_if(count, || store::count(c, &scope, &filter)).map_err(campaign_error)?;
        Ok((
            store::list(c, &scope, &filter, &page).map_err(campaign_error)?,
            total,
        ))
    })
    .await?;
    Ok(web::Json(
        page_of_try(rows.items, rows.next_after, dto::campaign)?.with_total(total),
    ))
}

/// Get a campaign · 查看帮扶活动
///
/// One campaign, with its version as the `ETag` (what a quota change sends as `If-Match`).
///
/// 查看单个帮扶活动，ETag 为其版本（调整额度时作为 If-Match 提交）。
#[utoipa::path(operation_id = "get_campaign", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id. 活动标识。")),
    responses((status = 200, description = "The campaign. 帮扶活动。", body = Campaign,
        headers(("ETag" = String, description = "Version. 版本标签。")))))]
#[get("/campaigns/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::CampaignRead)?;
    let id = id.into_inner();
    let row = db::run(&state.db, move |c| {
        store::get(c, &scope, &id).map_err(campaign_error)
    })
    .await?;
    Ok(crate::routes::ok_with_etag(
        row.version,
        dto::campaign(row)?,
    ))
}

/// Set a quota · 分配额度
///
/// Sets the share of the budget an organisation below the campaign's union may pay out, with its
/// subtree. The quota is entered by the organisation's parent (an admin of the parent, or of a
/// union above it); the parent must have a quota itself (the campaign's union holds the budget).
/// The quotas of a parent's children never add up to more than the parent's, and a quota never
/// falls below its own children's quotas or what its subtree has paid: otherwise 409
/// `quota_out_of_bounds` and nothing changes. Every change is audited. Takes the campaign's
/// `If-Match` and bumps its version. Department keys are refused.
///
/// 为活动发起工会以下的组织分配额度（含其下级）。额度由上级组织（上级或更上级工会的管理员）分配，上级须已有额度（发起工会的额度为总预算）。同一上级的下级额度合计不得超过上级额度，额度不得低于其下级额度合计及已发放金额，否则返回 409 quota_out_of_bounds，不作修改。每次调整均记入审计。须携带活动的 If-Match，调整后活动版本递增。部门密钥不可调用。
#[utoipa::path(operation_id = "set_campaign_quota", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id. 活动标识。"),
        ("organisation_id" = String, Path, description = "The organisation given the quota. 分配额度的组织。"),
        ("If-Match" = String, Header, description = "The campaign's ETag. 活动的 ETag。")),
    request_body = SetQuota,
    responses((status = 200, description = "The quota; the `ETag` is the campaign's new version. 额度；ETag 为活动的新版本。", body = Quota,
        headers(("ETag" = String, description = "The campaign's version. 活动版本标签。")))))]
#[put("/campaigns/{id}/quotas/{organisation_id}")]
async fn set_quota(
    state: web::Data<AppState>,
    access: Access,
    Change { id, version, body }: Change<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::CampaignQuotaWrite)?;
    let b: SetQuota = body.parse()?;
    let (caller, by, at) = (
        access.caller(),
        user.username.clone(),
        state.clock.stored_now(),
    );
    let (campaign, row) = db::write(&state.db, move |c| {
        quotas::set(
            c,
            &caller,
            &by,
            &scope,
            at,
            (&id.0, &id.1),
            version,
            b.quota_fen,
        )
        .map_err(campaign_error)
    })
    .await?;
    Ok(crate::routes::ok_with_etag(
        campaign.version,
        dto::quota(row),
    ))
}

/// Eligible households · 符合条件的家庭
///
/// The filed households of your scope the campaign's rule picks, each with the reason in both
/// languages, the amount it is due and whether it has been paid, in a stable order. The reason
/// names no member and no illness. Department keys are refused.
///
/// 本人权限范围内符合活动对象条件的建档立卡家庭，附中英文理由、应发金额及是否已发放，顺序固定。理由不指明具体成员或病情。部门密钥不可调用。
#[utoipa::path(operation_id = "list_campaign_eligible", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id. 活动标识。"), EligibleQuery, crate::pagination::PageQuery),
    responses((status = 200, description = "A page of eligible households. 一页符合条件的家庭。", body = PageOf<EligibleOut>)))]
#[get("/campaigns/{id}/eligible")]
async fn list_eligible(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    q: Paged<EligibleQuery>,
) -> ApiResult<web::Json<PageOf<EligibleOut>>> {
    let (_, scope) = access.require_user(Action::CampaignRead)?;
    let page = q.page.page_request()?;
    let (paid, count, id) = (q.filter.paid, q.page.count, id.into_inner());
    let cipher = state.cipher.clone();
    let (rows, total) = db::run_blocking(&state.db, move |c| {
        let (_, rows) =
            eligible::page(c, &cipher, &scope, &id, paid, &page).map_err(campaign_error)?;
        let total = total_if(count, || {
            eligible::count(c, &cipher, &scope, &id, paid).map(|n| n as u64)
        })
        .map_err(campaign_error)?;
        Ok((rows, total))
    })
    .await?;
    Ok(web::Json(page_of(rows, dto::eligible).with_total(total)))
}

/// Campaign progress · 活动进度
///
/// For each organisation of the campaign's tree in your scope (parents first): its quota (the
/// budget for the campaign's union), what it and its subtree have paid and to how many
/// households, what its quota leaves, and how many eligible households of its subtree are not
/// yet paid. A parent's figures include its descendants'. Department keys are refused.
///
/// 本人权限范围内活动所涉各组织（上级在前）：额度（发起工会为总预算）、本级及下级已发放金额和户数、剩余额度、尚未发放的符合条件家庭数。上级数据包含全部下级。部门密钥不可调用。
#[utoipa::path(operation_id = "get_campaign_progress", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id. 活动标识。")),
    responses((status = 200, description = "The progress. 发放进度。", body = Progress)))]
#[get("/campaigns/{id}/progress")]
async fn progress(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<Progress>> {
    let (_, scope) = access.require_user(Action::CampaignRead)?;
    let (id, cipher) = (id.into_inner(), state.cipher.clone());
    let (campaign, standings) = db::run_blocking(&state.db, move |c| {
        eligible::progress(c, &cipher, &scope, &id).map_err(campaign_error)
    })
    .await?;
    Ok(web::Json(Progress {
        campaign_id: campaign.id,
        budget_fen: campaign.budget_fen,
        organisations: standings.into_iter().map(dto::standing).collect(),
    }))
}

/// Pay a household · 发放帮扶金
///
/// Pays an eligible household of the campaign the amount its rule gives and records it in the
/// assistance ledger (cash, under the campaign's measure, the campaign's name as the fund
/// source), in one transaction with the audit event. A household is paid once per campaign: a
/// second payment, even one racing the first, gets 409 `already_paid`. A payment that would take
/// any organisation from the household's union up to the campaign's union past its quota gets
/// 409 `over_quota`; one over the ledger's yearly caps 422 `over_cap`; a household the rule does
/// not pick 422 `not_eligible` (field `household_id`); in each case nothing is written. Paid by
/// the union staff who record assistance, for households of their subtree; department keys are
/// refused. Honours `Idempotency-Key`.
///
/// 向符合活动条件的家庭发放按规则确定的金额，并在同一事务中记入帮扶台账（现金，计入活动对应措施，资金来源为活动名称）和审计日志。每户每次活动只发放一次：重复发放（包括并发请求）返回 409 already_paid。超出家庭所在基层工会至发起工会之间任一组织的额度返回 409 over_quota；超出帮扶年度上限返回 422 over_cap；不符合对象条件返回 422 not_eligible（字段 household_id）；以上情形均不写入任何数据。由登记帮扶的工会工作人员为本组织及下级家庭发放；部门密钥不可调用。支持 Idempotency-Key。
#[utoipa::path(operation_id = "create_campaign_payment", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id. 活动标识。"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: 1–255 visible ASCII characters. 幂等键：1–255 个可见 ASCII 字符。")),
    request_body = CreatePayment,
    responses((status = 201, description = "Paid. 已发放。", body = Payment)))]
#[post("/campaigns/{id}/payments")]
async fn pay(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    posted: Idempotent,
) -> ApiResult<HttpResponse> {
    let doer = doer(&access, Action::CampaignPaymentWrite)?;
    let (key, body) = posted.key_and_body()?;
    let b: CreatePayment = body.parse()?;
    let text = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let input = NewPayment {
        household_id: b.household_id,
        paid_on: b.paid_on,
        evidence: text(b.evidence),
        note: text(b.note),
    };
    let (at, today) = (state.clock.stored_now(), state.clock.today());
    let (cipher, id) = (state.cipher.clone(), id.into_inner());
    idempotency::run(
        &state,
        &access,
        key,
        "create_campaign_payment",
        body.bytes(),
        move |c| {
            let row = payments::pay(c, &doer, &cipher, (at, today), &id, &input)
                .map_err(campaign_error)?;
            Ok(Answer {
                status: StatusCode::CREATED,
                location: None,
                etag: None,
                body: serde_json::to_value(dto::payment(row)).map_err(ApiError::internal)?,
            })
        },
    )
    .await
}
