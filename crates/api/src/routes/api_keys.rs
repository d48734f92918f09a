//! `/api/v1/api-keys`: keys for partner departments' systems.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use jiekun_domain::access::{join_list, Action, KeyScope};
use jiekun_domain::RegionCode;
use jiekun_store::api_keys::{self as store, ApiKeyFilter, KeyWithDepartment, NewApiKey};
use jiekun_store::{audit, departments, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{not_found, utc};
use crate::auth::{keys, Access};
use crate::body::Body;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{etag, ApiQuery};
use crate::fields::Fields;
use crate::pagination::{page_of, page_request, total_if, PageOf};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(revoke);
}

/// What a key may do. 密钥权限范围：directory:read 读取组织/部门/企业目录,
/// verification:respond 答复核对请求, referrals:read 读取转介, referrals:write 办理转介,
/// assistance:write 登记帮扶记录, reports:read 调取督查报表.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ScopeName {
    #[serde(rename = "directory:read")]
    DirectoryRead,
    #[serde(rename = "verification:respond")]
    VerificationRespond,
    #[serde(rename = "referrals:read")]
    ReferralsRead,
    #[serde(rename = "referrals:write")]
    ReferralsWrite,
    #[serde(rename = "assistance:write")]
    AssistanceWrite,
    #[serde(rename = "reports:read")]
    ReportsRead,
}

impl From<ScopeName> for KeyScope {
    fn from(s: ScopeName) -> KeyScope {
        match s {
            ScopeName::DirectoryRead => KeyScope::DirectoryRead,
            ScopeName::VerificationRespond => KeyScope::VerificationRespond,
            ScopeName::ReferralsRead => KeyScope::ReferralsRead,
            ScopeName::ReferralsWrite => KeyScope::ReferralsWrite,
            ScopeName::AssistanceWrite => KeyScope::AssistanceWrite,
            ScopeName::ReportsRead => KeyScope::ReportsRead,
        }
    }
}

/// An API key (never its secret). API 密钥（不含密钥原文）。
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub department_id: String,
    #[schema(value_type = super::departments::DepartmentKind)]
    pub department_code: String,
    #[schema(example = "人社局社保核对接口")]
    pub name: String,
    /// The public start of the key, to recognise it. 密钥公开前缀，便于识别。
    #[schema(example = "jk_3f9a1c0b7e21")]
    pub prefix: String,
    #[schema(value_type = Vec<ScopeName>)]
    pub scopes: Vec<String>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    /// Addresses or CIDR blocks allowed; empty means any. 允许的来源地址，空表示不限。
    pub allowed_addresses: Vec<String>,
    pub rate_limit_per_minute: i64,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

impl From<KeyWithDepartment> for ApiKey {
    fn from(k: KeyWithDepartment) -> Self {
        let r = k.key;
        let split = |s: &str| -> Vec<String> {
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        };
        ApiKey {
            id: r.id,
            department_id: r.department_id,
            department_code: k.department_code,
            name: r.name,
            prefix: format!("jk_{}", r.prefix),
            scopes: split(&r.scopes),
            valid_from: utc(r.valid_from),
            valid_until: r.valid_until.map(utc),
            allowed_addresses: r
                .allowed_addresses
                .as_deref()
                .map(split)
                .unwrap_or_default(),
            rate_limit_per_minute: r.rate_limit_per_minute,
            revoked_at: r.revoked_at.map(utc),
            last_used_at: r.last_used_at.map(utc),
            created_by: r.created_by,
            version: r.version,
            created_at: utc(r.created_at),
        }
    }
}

/// A new key. 新建密钥。
#[derive(Debug, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"department_id": crate::examples::DEPARTMENT_ID, "name": "民政局低保核对接口", "scopes": ["referrals:read", "referrals:write", "assistance:write"]}))]
pub struct CreateApiKey {
    /// A department in your region. 本辖区内的部门。
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub department_id: String,
    /// 1–100 characters. 名称。
    #[validate(length(max = 100, code = "too_long"))]
    #[schema(example = "人社局社保核对接口", max_length = 100)]
    pub name: String,
    /// At least one. 至少一项。
    #[validate(length(max = 5, code = "too_many"))]
    #[schema(max_items = 5)]
    pub scopes: Vec<ScopeName>,
    /// Default: now. 默认立即生效。
    pub valid_from: Option<DateTime<Utc>>,
    /// Default: one year after `valid_from`. 默认一年后失效。
    pub valid_until: Option<DateTime<Utc>>,
    #[serde(default)]
    #[validate(
        length(max = 50, code = "too_many"),
        custom(function = "crate::limits::addresses")
    )]
    #[schema(schema_with = crate::limits::addresses_schema)]
    pub allowed_addresses: Vec<String>,
    /// 1–6000, default 120. 每分钟请求上限。
    #[schema(minimum = 1, maximum = 6000)]
    pub rate_limit_per_minute: Option<u32>,
}

/// The new key: its secret is shown here once and never again. 新密钥：原文仅此一次显示。
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The full key: send as `Authorization: ApiKey <key>` or `X-Api-Key: <key>`.
    pub key: String,
    pub api_key: ApiKey,
}

/// Filters for the key list. 密钥列表筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApiKeyQuery {
    pub department_id: Option<String>,
    /// true: not revoked; false: revoked. 是否未吊销。
    pub active: Option<bool>,
    /// Page size, 1–200 (default 50). 每页条数。
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page. 上一页返回的游标。
    pub cursor: Option<String>,
    /// `true` to have the answer carry `total`, the number of matching keys in all pages.
    /// 为 true 时返回符合条件的密钥总数 total。
    pub count: Option<bool>,
}

/// List API keys · 查询 API 密钥
///
/// Keys of departments in your region, without their secrets.
///
/// 列出本辖区部门的 API 密钥（不含密钥原文）。
#[utoipa::path(
    operation_id = "list_api_keys",tag = "api-keys", params(ApiKeyQuery),
    responses((status = 200, description = "A page of keys. 一页密钥。", body = PageOf<ApiKey>)))]
#[get("/api-keys")]
async fn list(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<ApiKeyQuery>,
) -> ApiResult<web::Json<PageOf<ApiKey>>> {
    let (_, scope) = access.require_user(Action::ApiKeyRead)?;
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let filter = ApiKeyFilter {
        department_id: q.department_id,
        active: q.active,
    };
    let count = q.count;
    let (rows, total) = db::run(&state.db, move |c| {
        let total = total_if(count, || store::count(c, &scope, &filter))?;
        Ok((store::list(c, &scope, &filter, &page)?, total))
    })
    .await?;
    Ok(web::Json(page_of(rows, ApiKey::from).with_total(total)))
}

/// Create an API key · 新建 API 密钥
///
/// Issues a key for a department's system, with scopes, a validity window, an optional address
/// allow-list and a rate limit. The key is in this answer only: it is stored as a hash.
///
/// 为部门系统签发密钥，可设权限范围、有效期、来源地址白名单和限流。密钥原文只在本次响应中返回，系统仅保存其哈希。
#[utoipa::path(
    operation_id = "create_api_key",tag = "api-keys", request_body = CreateApiKey,
    responses((status = 201, description = "Created. 已创建。", body = CreatedApiKey,
        headers(("Location" = String, description = "URL of the new key. 新资源地址。")))))]
#[post("/api-keys")]
async fn create(state: web::Data<AppState>, access: Access, body: Body) -> ApiResult<HttpResponse> {
    let (actor, scope) = access.require_user(Action::ApiKeyWrite)?;
    let body: CreateApiKey = body.parse()?;
    let created_by = actor.username.clone();
    let mut f = Fields::default();
    let name = f.name("name", &body.name, 100);
    if body.scopes.is_empty() {
        f.push(FieldError::new(
            "scopes",
            "required",
            "at least one scope",
            "至少一项权限范围",
        ));
    }
    let now = Utc::now();
    let valid_from = body.valid_from.unwrap_or(now);
    let valid_until = body
        .valid_until
        .unwrap_or(valid_from + chrono::TimeDelta::days(365));
    if valid_until <= valid_from {
        f.push(FieldError::new(
            "valid_until",
            "out_of_range",
            "must be after valid_from",
            "须晚于生效时间",
        ));
    }
    let allow = body.allowed_addresses.join(",");
    if let Err(e) = keys::parse_allow_list(&allow) {
        f.push(FieldError::new(
            "allowed_addresses",
            "invalid_format",
            e,
            "地址或网段格式错误",
        ));
    }
    let rate = body.rate_limit_per_minute.unwrap_or(120);
    if !(1..=6000).contains(&rate) {
        f.push(FieldError::new(
            "rate_limit_per_minute",
            "out_of_range",
            "between 1 and 6000",
            "须在 1 到 6000 之间",
        ));
    }
    f.finish()?;
    let Some(name) = name else {
        return Err(ApiError::internal("field parsing lost a value"));
    };
    let scopes: Vec<KeyScope> = body.scopes.iter().copied().map(KeyScope::from).collect();
    let minted = keys::mint();
    let full_key = minted.full.clone();
    let recorded = serde_json::to_value(&body).unwrap_or_default();
    let department_id = body.department_id;
    let created = db::write(&state.db, move |c| {
        let dept = departments::get(c, &scope, &department_id).map_err(|e| match e {
            StoreError::NotFound => ApiError::validation(vec![FieldError::new(
                "department_id",
                "unknown_reference",
                "no such department in your region",
                "本辖区内无此部门",
            )]),
            e => e.into(),
        })?;
        let region = RegionCode::parse(&dept.region_code).map_err(ApiError::internal)?;
        if !scope.covers_region(&region) {
            return Err(super::outside_region());
        }
        let row = store::create(
            c,
            &NewApiKey {
                department_id,
                name,
                prefix: minted.prefix,
                secret_hash: minted.secret_hash,
                scopes: join_list(&scopes),
                valid_from: valid_from.naive_utc(),
                valid_until: Some(valid_until.naive_utc()),
                allowed_addresses: (!allow.is_empty()).then_some(allow),
                rate_limit_per_minute: i64::from(rate),
                created_by,
            },
        )?;
        audit::append(
            c,
            access.event("api_key.create", "api_key", &row.id, recorded),
        )?;
        Ok(store::get(c, &jiekun_store::Scope::All, &row.id)?)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/api-keys/{}", created.key.id)))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(actix_web::http::header::ETag(etag(created.key.version)))
        .json(CreatedApiKey {
            key: full_key,
            api_key: ApiKey::from(created),
        }))
}

/// Get an API key · 查看 API 密钥
///
/// One key, with its last use, without its secret.
///
/// 查看一个密钥及其最近使用时间（不含密钥原文）。
#[utoipa::path(
    operation_id = "get_api_key",tag = "api-keys",
    params(("id" = String, Path, description = "Key id. 密钥标识。")),
    responses((status = 200, description = "The key. 密钥。", body = ApiKey)))]
#[get("/api-keys/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<ApiKey>> {
    let (_, scope) = access.require_user(Action::ApiKeyRead)?;
    let id = id.into_inner();
    let found = db::run(&state.db, move |c| Ok(store::get(c, &scope, &id)?))
        .await
        .map_err(|e| not_found(e, "API key", "API 密钥"))?;
    Ok(web::Json(ApiKey::from(found)))
}

/// Revoke an API key · 吊销 API 密钥
///
/// Stops the key at once; its next request is refused. Revoking twice changes nothing.
///
/// 立即吊销密钥，之后的请求一律拒绝。重复吊销不产生变化。
#[utoipa::path(
    operation_id = "revoke_api_key",tag = "api-keys",
    params(("id" = String, Path, description = "Key id. 密钥标识。")),
    responses((status = 200, description = "Revoked. 已吊销。", body = ApiKey)))]
#[post("/api-keys/{id}/revoke")]
async fn revoke(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<ApiKey>> {
    let (_, scope) = access.require_user(Action::ApiKeyWrite)?;
    let id = id.into_inner();
    let found = db::write(&state.db, move |c| {
        let before = store::get(c, &scope, &id)?;
        if before.key.revoked_at.is_none() {
            store::revoke(c, &id)?;
            audit::append(
                c,
                access.event("api_key.revoke", "api_key", &id, serde_json::json!({})),
            )?;
        }
        Ok(store::get(c, &scope, &id)?)
    })
    .await
    .map_err(|e| not_found(e, "API key", "API 密钥"))?;
    Ok(web::Json(ApiKey::from(found)))
}
