//! Referrals (转介): accepted measures sent to their lead units. A department's key lists the
//! referrals of its own kind in its region, with only the household facts the measure needs, and
//! acknowledges, declines or delivers them; union staff follow those of their subtree and answer
//! the ones the union leads.

pub mod dto;

use actix_web::http::StatusCode;
use actix_web::web;
use actix_web::{get, post, HttpRequest, HttpResponse};
use jiekun_domain::access::Action;
use jiekun_domain::assistance::ReferralAction;
use jiekun_store::audit::{self, Caller};
use jiekun_store::measures::referrals::{self as store, Answer, ReferralFilter, Viewer};
use jiekun_store::measures::{Doer, ReferralRow};
use jiekun_store::{households as hstore, DbConnection, Scope};
use utoipa_actix_web::service_config::ServiceConfig;

use self::dto::{
    AcknowledgeReferral, Audience, DeclineReferral, DeliverReferral, Referral, ReferralFacts,
    ReferralQuery,
};
use super::measures::{doer, measure_error};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use crate::extract::Change;
use crate::idempotency::{self, Answer as Stored};
use crate::pagination::{page_of_try, total_if, PageOf, Paged};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(get_one)
        .service(acknowledge)
        .service(decline)
        .service(deliver);
}

fn audience(doer: &Doer) -> Audience {
    match Viewer::of(doer) {
        Viewer::Staff(_) => Audience::Staff,
        Viewer::Department { .. } => Audience::LeadUnit,
    }
}

/// Reads what it takes to show `rows`; a lead unit's read of full ID numbers is audited in the
/// same transaction.
fn facts(
    c: &mut DbConnection,
    rows: Vec<ReferralRow>,
    audience: Audience,
    caller: &Caller,
) -> ApiResult<Vec<ReferralFacts>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let household = hstore::get(c, &Scope::All, &row.household_id)?;
        let members = hstore::members(c, &household.id)?;
        let organisation_name =
            jiekun_store::organisations::get(c, &Scope::All, &household.organisation_id)
                .map(|o| o.name)
                .unwrap_or_default();
        out.push(ReferralFacts {
            row,
            household,
            members,
            organisation_name,
        });
    }
    let revealed: Vec<&str> = out
        .iter()
        .filter(|f| f.reveals(audience).unwrap_or(false))
        .map(|f| f.row.id.as_str())
        .collect();
    if !revealed.is_empty() {
        let event = caller.event(
            "referral.reveal",
            "referral",
            revealed[0],
            serde_json::json!({ "referrals": revealed, "fields": ["national_id", "name"] }),
        );
        audit::append(c, event)?;
    }
    Ok(out)
}

/// List referrals · 查询转介
///
/// Union staff: the referrals of households in their subtree (`overdue=true` is the queue of
/// referrals past their due date). A department key (scope `referrals:read`): the referrals of its
/// own department kind in its region, with the worker's name, the members the measure concerns
/// (full ID numbers only where the measure needs them, and that read is audited), the address and
/// the grassroots union to contact.
///
/// 工会用户查询本组织及下级家庭的转介（overdue=true 为逾期转介）；部门密钥（referrals:read）仅查询转介给本部门、本辖区的事项，只含措施所需的家庭信息（仅在措施需要时提供完整身份证号，并记入审计）。
#[utoipa::path(operation_id = "list_referrals", tag = "referrals",
    params(ReferralQuery, crate::pagination::PageQuery),
    responses((status = 200, description = "A page of referrals. 一页转介。", body = PageOf<Referral>)))]
#[get("/referrals")]
async fn list(
    state: web::Data<AppState>,
    access: Access,
    q: Paged<ReferralQuery>,
) -> ApiResult<web::Json<PageOf<Referral>>> {
    let doer = doer(&access, Action::ReferralRead)?;
    let page = q.page.page_request()?;
    let today = state.clock.today();
    let f = q.filter;
    let filter = ReferralFilter {
        status: f.status.map(|s| s.as_str().to_owned()),
        household_id: f.household_id,
        measure: f.measure,
        department_code: f.department_code.map(|d| d.as_str().to_owned()),
        overdue_on: f.overdue.filter(|o| *o).map(|_| today),
    };
    let (viewer, audience, caller, count) = (
        Viewer::of(&doer),
        audience(&doer),
        doer.caller.clone(),
        q.page.count,
    );
    let (rows, next, total) = db::write(&state.db, move |c| {
        let total = total_if(count, || store::count(c, &viewer, &filter)).map_err(measure_error)?;
        let p = store::list(c, &viewer, &filter, &page).map_err(measure_error)?;
        Ok((facts(c, p.items, audience, &caller)?, p.next_after, total))
    })
    .await?;
    let cipher = state.cipher.clone();
    let page = page_of_try(rows, next, |f| f.show(audience, &cipher, today))?;
    Ok(web::Json(page.with_total(total)))
}

/// Get a referral · 查看转介
///
/// One referral, as the list shows it. Another department's referral: 404.
///
/// 查看单个转介。其他部门的转介返回 404。
#[utoipa::path(operation_id = "get_referral", tag = "referrals",
    params(("id" = String, Path, description = "Referral id. 转介标识。")),
    responses((status = 200, description = "The referral. 转介。", body = Referral,
        headers(("ETag" = String, description = "Version. 版本标签。")))))]
#[get("/referrals/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let doer = doer(&access, Action::ReferralRead)?;
    let (viewer, audience, caller, id) = (
        Viewer::of(&doer),
        audience(&doer),
        doer.caller.clone(),
        id.into_inner(),
    );
    let mut found = db::write(&state.db, move |c| {
        let row = store::get(c, &viewer, &id).map_err(measure_error)?;
        facts(c, vec![row], audience, &caller)
    })
    .await?;
    let f = found
        .pop()
        .ok_or_else(|| ApiError::not_found("referral", "转介"))?;
    let r = f.show(audience, &state.cipher, state.clock.today())?;
    Ok(crate::routes::ok_with_etag(r.version, r))
}

async fn answer(
    state: web::Data<AppState>,
    access: Access,
    req: HttpRequest,
    (id, version): (String, i64),
    (action, input): (ReferralAction, Answer),
    body: &[u8],
) -> ApiResult<HttpResponse> {
    let doer = doer(&access, Action::ReferralAnswer)?;
    let key = idempotency::key_of(&req)?;
    let (at, today) = (state.clock.stored_now(), state.clock.today());
    let (audience, caller, cipher) = (audience(&doer), doer.caller.clone(), state.cipher.clone());
    let operation = match action {
        ReferralAction::Acknowledge => "acknowledge_referral",
        ReferralAction::Decline => "decline_referral",
        ReferralAction::Deliver => "deliver_referral",
    };
    idempotency::run(&state, &access, key, operation, body, move |c| {
        let row = store::answer(c, &doer, (at, today), &id, version, action, &input)
            .map_err(measure_error)?;
        let f = facts(c, vec![row], audience, &caller)?
            .pop()
            .ok_or_else(|| ApiError::internal("referral vanished"))?;
        let r = f.show(audience, &cipher, today)?;
        Ok(Stored {
            status: StatusCode::OK,
            location: None,
            etag: Some(r.version),
            body: serde_json::to_value(r).map_err(ApiError::internal)?,
        })
    })
    .await
}

/// A documented answer to a referral: `$input` makes the store's answer of the parsed body `$b`.
/// The three answers differ only in their body and what it says; who may answer, the version,
/// `Idempotency-Key` and the answer itself are one implementation.
macro_rules! answer_operation {
    (
        $(#[doc = $doc:literal])*
        $name:ident: ($op:literal, $path:literal, $action:ident, $body:ident),
        |$b:ident| $input:expr
    ) => {
        $(#[doc = $doc])*
        #[utoipa::path(operation_id = $op, tag = "referrals",
            params(("id" = String, Path, description = "Referral id. 转介标识。"),
                ("If-Match" = String, Header, description = "The referral's ETag. 转介的 ETag。"),
                ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe. 幂等键，重试安全。")),
            request_body = $body,
            responses((status = 200, description = "The referral. 转介。", body = Referral,
                headers(("ETag" = String, description = "New version. 新版本。")))))]
        #[post($path)]
        async fn $name(
            state: web::Data<AppState>,
            access: Access,
            req: HttpRequest,
            Change { id, version, body }: Change,
        ) -> ApiResult<HttpResponse> {
            access.require(Action::ReferralAnswer)?;
            let $b: $body = body.parse()?;
            let input: Answer = $input;
            let action = ReferralAction::$action;
            answer(state, access, req, (id, version), (action, input), body.bytes()).await
        }
    };
}

answer_operation! {
    /// Acknowledge a referral · 受理转介
    ///
    /// The lead unit takes the referral up. A department key with scope `referrals:write` answers the
    /// referrals of its own kind in its region; union staff answer those the union leads. Requires the
    /// referral's `If-Match`; honours `Idempotency-Key`.
    ///
    /// 牵头单位受理转介。具有 referrals:write 的部门密钥办理转介给本部门的事项；工会用户办理由工会牵头的事项。须携带 If-Match，支持 Idempotency-Key。
    acknowledge: ("acknowledge_referral", "/referrals/{id}/acknowledge", Acknowledge, AcknowledgeReferral),
    |b| Answer {
        note: b.note.filter(|n| !n.trim().is_empty()),
        ..Answer::default()
    }
}

answer_operation! {
    /// Decline a referral · 不予受理转介
    ///
    /// The lead unit declines the referral, with a reason. Who may: as for acknowledging. Requires the
    /// referral's `If-Match`; honours `Idempotency-Key`.
    ///
    /// 牵头单位不予受理，须说明理由。须携带 If-Match，支持 Idempotency-Key。
    decline: ("decline_referral", "/referrals/{id}/decline", Decline, DeclineReferral),
    |b| Answer {
        reason: Some(
            crate::fields::name("reason", &b.reason, 500)
                .map_err(|e| ApiError::validation(vec![e]))?,
        ),
        ..Answer::default()
    }
}

answer_operation! {
    /// Record a delivery · 登记转介已落实
    ///
    /// The lead unit records that the measure was delivered (the help itself goes into the assistance
    /// ledger). Who may: as for acknowledging. Requires the referral's `If-Match`; honours
    /// `Idempotency-Key`.
    ///
    /// 牵头单位登记措施已落实（具体帮扶另行登记到帮扶台账）。须携带 If-Match，支持 Idempotency-Key。
    deliver: ("deliver_referral", "/referrals/{id}/deliver", Deliver, DeliverReferral),
    |b| Answer {
        delivered_on: b.delivered_on,
        note: b.note.filter(|n| !n.trim().is_empty()),
        ..Answer::default()
    }
}
