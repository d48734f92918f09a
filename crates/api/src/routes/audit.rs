//! `/api/v1/audit`: reading the audit log and checking that nobody changed it.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use jiekun_domain::access::Action;
use jiekun_store::audit::{self as store, AuditEventRow, EventFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{query_error, utc};
use crate::auth::Access;
use crate::error::{ApiResult, FieldError};
use crate::pagination::{seq_cursor, seq_page_request, PageOf};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(events).service(verify);
}

/// One audited action. 一条审计事件。
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    /// Position in the chain, from 1. 链中序号。
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    /// `user`, `api_key`, `system` or `anonymous`. 操作者类型。
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub organisation_id: Option<String>,
    /// What was done, e.g. `organisation.update`, `auth.login`. 操作。
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    #[schema(schema_with = crate::routes::closed::closed::<crate::routes::closed::AuditOutcome>)]
    pub outcome: String,
    pub request_id: Option<String>,
    pub source_address: Option<String>,
    /// Changed fields, personal data redacted. 变更字段（个人信息已脱敏）。
    pub changes: Option<serde_json::Value>,
    /// Hash of the previous event. 前一事件哈希。
    pub prev_hash: String,
    /// SHA-256 of this event. 本事件哈希。
    pub hash: String,
}

impl From<AuditEventRow> for AuditEvent {
    fn from(r: AuditEventRow) -> Self {
        AuditEvent {
            seq: r.seq,
            occurred_at: utc(r.occurred_at),
            actor_type: r.actor_type,
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            organisation_id: r.organisation_id,
            action: r.action,
            resource_type: r.resource_type,
            resource_id: r.resource_id,
            outcome: r.outcome,
            request_id: r.request_id,
            source_address: r.source_address,
            changes: r.changes.and_then(|c| serde_json::from_str(&c).ok()),
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// Filters for audit events. 审计事件筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    pub actor_id: Option<String>,
    /// e.g. `auth.login`. 操作。
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    #[param(schema_with = crate::routes::closed::closed::<crate::routes::closed::AuditOutcome>)]
    pub outcome: Option<String>,
    /// From this time (inclusive), RFC 3339. 起始时间（含）。
    pub from: Option<DateTime<Utc>>,
    /// Before this time, RFC 3339. 截止时间（不含）。
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1–200 (default 50). 每页条数。
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page. 上一页返回的游标。
    pub cursor: Option<String>,
    /// `true` to have the answer carry `total`, the number of matching events in all pages.
    /// 为 true 时返回符合条件的事件总数 total。
    pub count: Option<bool>,
}

/// Result of checking the chain. 审计链校验结果。
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyReport {
    /// True when every link holds. 是否完整。
    pub intact: bool,
    /// Events checked before the first break (all of them when intact). 已校验事件数。
    pub checked: i64,
    /// Sequence number of the recorded head. 链头序号。
    pub head_seq: i64,
    /// Where the chain first breaks. 首个断点。
    pub first_broken: Option<BrokenLink>,
}

/// A break in the chain. 断点。
#[derive(Debug, Serialize, ToSchema)]
pub struct BrokenLink {
    pub seq: i64,
    /// `hash_mismatch` (the event was edited), `prev_hash_mismatch` (the event before it was
    /// replaced), `missing` (events were deleted), `head_mismatch` (the end was cut off).
    /// 断点原因。
    pub reason: String,
}

/// Audit events · 审计事件
///
/// Events of your organisation's subtree, newest first: who did what, when, from where, with
/// what outcome and which fields changed (personal data redacted). The log cannot be changed
/// through the API.
///
/// 按时间倒序列出本组织及下级组织的审计事件：谁、何时、从何处、做了什么、结果如何、改了哪些字段（个人信息已脱敏）。接口不提供修改或删除审计事件的方法。
#[utoipa::path(
    operation_id = "list_audit_events",tag = "audit", params(EventQuery),
    responses((status = 200, description = "A page of events. 一页事件。", body = PageOf<AuditEvent>)))]
#[get("/audit/events")]
async fn events(
    state: web::Data<AppState>,
    access: Access,
    q: crate::extract::ApiQuery<EventQuery>,
) -> ApiResult<web::Json<PageOf<AuditEvent>>> {
    let (_, scope) = access.require_user(Action::AuditRead)?;
    let q = q.0;
    let (before, limit) = seq_page_request(q.limit, q.cursor.as_deref())?;
    if let Some(o) = &q.outcome {
        if !["success", "denied", "failure"].contains(&o.as_str()) {
            return Err(query_error(FieldError::new(
                "outcome",
                "invalid_value",
                "one of success, denied, failure",
                "取值应为 success、denied 或 failure",
            )));
        }
    }
    let filter = EventFilter {
        actor_id: q.actor_id,
        action: q.action,
        resource_type: q.resource_type,
        resource_id: q.resource_id,
        outcome: q.outcome,
        from: q.from.map(|t| t.naive_utc()),
        to: q.to.map(|t| t.naive_utc()),
    };
    let count = q.count;
    let (rows, next, total) = db::run(&state.db, move |c| {
        let total = crate::pagination::total_if(count, || store::count(c, &scope, &filter))?;
        let (rows, next) = store::list(c, &scope, &filter, before, limit)?;
        Ok((rows, next, total))
    })
    .await?;
    Ok(web::Json(PageOf {
        items: rows.into_iter().map(AuditEvent::from).collect(),
        next_cursor: next.map(seq_cursor),
        total,
    }))
}

/// Verify the audit chain · 校验审计链
///
/// Recomputes every event's hash and link, in batches, and names the first event where the chain
/// breaks. The same check runs as `jiekun audit verify`.
///
/// 逐批重算每个事件的哈希和链接，指出首个断点。命令行 `jiekun audit verify` 执行同样的校验。
#[utoipa::path(
    operation_id = "verify_audit_chain",tag = "audit",
    responses((status = 200, description = "The report. 校验报告。", body = VerifyReport)))]
#[get("/audit/verify")]
async fn verify(state: web::Data<AppState>, access: Access) -> ApiResult<web::Json<VerifyReport>> {
    access.require_user(Action::AuditRead)?;
    let v = db::run_blocking(&state.db, |c| Ok(store::verify(c)?)).await?;
    Ok(web::Json(VerifyReport {
        intact: v.first_broken.is_none(),
        checked: v.checked,
        head_seq: v.head_seq,
        first_broken: v.first_broken.map(|b| BrokenLink {
            seq: b.seq,
            reason: b.reason.to_owned(),
        }),
    }))
}
