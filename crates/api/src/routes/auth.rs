//! `/api/v1/auth`: signing in, and who the caller is.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use jiekun_store::audit::{self, Actor, NewEvent};
use jiekun_store::users;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{password, rate_limited, Access, Principal, RequestMeta};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiJson;
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(token).service(me);
}

/// Username and password. 用户名和密码。
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "xixiang.admin", "password": "Jiekun-demo-2026"}))]
pub struct TokenRequest {
    #[schema(example = "xixiang.admin")]
    pub username: String,
    pub password: String,
}

/// An access token. 访问令牌。
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`. 以 Bearer 方式携带。
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until it expires. 有效秒数。
    #[schema(example = 900)]
    pub expires_in: u64,
}

/// The caller. 当前调用方。
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// `user` or `api_key`.
    #[schema(example = "user")]
    pub kind: &'static str,
    pub id: String,
    /// Username, or the key's name. 用户名或密钥名称。
    pub name: String,
    /// The user's organisation. 用户所属组织。
    pub organisation_id: Option<String>,
    /// The key's department. 密钥所属部门。
    pub department_id: Option<String>,
    /// Region the caller's scope covers. 可见范围的行政区划。
    pub region_code: String,
    /// A user's roles. 用户角色。
    pub roles: Vec<String>,
    /// A key's scopes. 密钥权限范围。
    pub scopes: Vec<String>,
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidCredentials,
        "wrong username or password",
        "用户名或密码错误",
    )
}

/// Sign in · 登录
///
/// Exchanges a username and password for a short-lived access token. Failed attempts are
/// throttled per user and per address (429 with `Retry-After`); a locked or disabled account
/// cannot sign in. Every attempt is audited.
///
/// 用户名和密码换取短期访问令牌。登录失败按用户和来源地址限流（429，附 Retry-After）；锁定或停用的账号不能登录。每次尝试均记入审计日志。
#[utoipa::path(
    operation_id = "sign_in",
    tag = "auth",
    request_body = TokenRequest,
    responses((status = 200, description = "Signed in. 登录成功。", body = TokenResponse)),
    security(())
)]
#[post("/auth/token")]
async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiJson(body): ApiJson<TokenRequest>,
) -> ApiResult<HttpResponse> {
    let meta = RequestMeta::of(&req, state.auth.trust_forwarded);
    let address = meta.source_address.clone().unwrap_or_default();
    let username = body.username.trim().to_lowercase();
    let limits = &state.auth;
    limits
        .login_failures_per_user
        .check(&username)
        .map_err(rate_limited)?;
    limits
        .login_failures_per_address
        .check(&address)
        .map_err(rate_limited)?;

    let lookup = username.clone();
    let found = db::run(&state.db, move |c| Ok(users::find_by_username(c, &lookup)?)).await?;
    let dummy = state.auth.dummy_hash.clone();
    let candidate = found.clone();
    let password = body.password;
    // Argon2 is slow on purpose: verify off the async workers, and against a dummy hash when the
    // user does not exist so that timing does not tell which usernames exist.
    let matches = web::block(move || match &candidate {
        Some(u) => password::verify(&password, &u.user.password_hash),
        None => {
            password::verify(&password, &dummy);
            false
        }
    })
    .await
    .map_err(ApiError::internal)?;

    if !matches {
        limits.login_failures_per_user.fail(&username);
        limits.login_failures_per_address.fail(&address);
        let mut event = meta.anonymous_event(
            "auth.login",
            "user",
            "failure",
            Some(serde_json::json!({ "username": username })),
        );
        // An attempt on an existing account belongs to that account's organisation, so that its
        // auditors see it.
        if let Some(target) = &found {
            event.resource_id = Some(target.user.id.clone());
            event.actor.organisation_id = Some(target.user.organisation_id.clone());
            event.actor.organisation_path = Some(target.organisation_path.clone());
        }
        db::write(&state.db, move |c| Ok(audit::append(c, event)?)).await?;
        return Err(invalid_credentials());
    }
    let Some(found) = found else {
        return Err(invalid_credentials());
    };
    if found.user.status != "active" {
        let event = login_event(&meta, &found, "denied");
        db::write(&state.db, move |c| Ok(audit::append(c, event)?)).await?;
        return Err(ApiError::new(
            ErrorCode::AccountUnavailable,
            format!("the account is {}", found.user.status),
            "账号已锁定或停用，请联系管理员",
        ));
    }
    limits.login_failures_per_user.reset(&username);
    let now = chrono::Utc::now().timestamp();
    let (access_token, _) = state
        .auth
        .tokens
        .issue(&found.user.id, found.user.token_version, now)
        .map_err(ApiError::internal)?;
    let event = login_event(&meta, &found, "success");
    let id = found.user.id.clone();
    db::write(&state.db, move |c| {
        users::record_login(c, &id)?;
        audit::append(c, event)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: state.auth.tokens.ttl.as_secs(),
        }))
}

fn login_event(meta: &RequestMeta, found: &users::UserWithOrg, outcome: &'static str) -> NewEvent {
    NewEvent {
        actor: Actor {
            kind: "user",
            id: Some(found.user.id.clone()),
            name: Some(found.user.username.clone()),
            organisation_id: Some(found.user.organisation_id.clone()),
            organisation_path: Some(found.organisation_path.clone()),
        },
        action: "auth.login".into(),
        resource_type: "user".into(),
        resource_id: Some(found.user.id.clone()),
        outcome,
        request_id: meta.request_id.clone(),
        source_address: meta.source_address.clone(),
        changes: None,
    }
}

/// Who am I · 当前身份
///
/// The signed-in user (organisation and roles) or the API key (department and scopes).
///
/// 返回当前登录用户（组织、角色）或 API 密钥（部门、权限范围）。
#[utoipa::path(
    operation_id = "who_am_i",
    tag = "auth",
    responses((status = 200, description = "The caller. 当前调用方。", body = Me))
)]
#[get("/auth/me")]
async fn me(access: Access) -> ApiResult<web::Json<Me>> {
    Ok(web::Json(match access.principal {
        Principal::User(u) => Me {
            kind: "user",
            id: u.id,
            name: u.username,
            organisation_id: Some(u.organisation_id),
            department_id: None,
            region_code: u.region.to_string(),
            roles: u.roles.iter().map(ToString::to_string).collect(),
            scopes: Vec::new(),
        },
        Principal::Key(k) => Me {
            kind: "api_key",
            id: k.id,
            name: k.name,
            organisation_id: None,
            department_id: Some(k.department_id),
            region_code: k.region.to_string(),
            roles: Vec::new(),
            scopes: k.scopes.iter().map(ToString::to_string).collect(),
        },
    }))
}
