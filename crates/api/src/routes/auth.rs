//! `/api/v1/auth`: signing in, and who the caller is.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use jiekun_store::audit::{self, Actor, NewEvent};
use jiekun_store::users;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{password, Access, Principal, RequestMeta};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiJson;
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(token).service(me);
}

/// Username and password. 用户名和密码。
#[derive(Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "xixiang.admin", "password": "Jiekun-demo-2026"}))]
pub struct TokenRequest {
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(example = "xixiang.admin", max_length = 64)]
    pub username: String,
    #[validate(length(max = 128, code = "too_long"))]
    #[schema(max_length = 128)]
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
    #[schema(schema_with = crate::routes::closed::closed::<crate::routes::closed::CallerKind>)]
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
    #[schema(schema_with = crate::routes::closed::closed_array::<jiekun_domain::access::Role>)]
    pub roles: Vec<String>,
    /// A key's scopes. 密钥权限范围。
    #[schema(schema_with = crate::routes::closed::closed_array::<jiekun_domain::access::KeyScope>)]
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
/// Exchanges a username and password for a short-lived access token. Every attempt is audited;
/// a locked or disabled account cannot sign in.
///
/// Failed attempts slow down, they never lock an account. They are counted per username at one
/// client address, and per address over every username (a body that is not a valid sign-in
/// counts for its address too). Past 5 failures for one username from one address, or 20 from
/// one address, each further attempt from there must wait 5 s after the last failure, then
/// 10 s, 20 s and so on, at most 15 minutes: until then the answer is 429 `rate_limited` with
/// `Retry-After`, even for the right password. The same username from another address is not
/// slowed down by them. Failures are forgotten 30 minutes after the last one; signing in takes
/// back that username's failures from that address.
///
/// 用户名和密码换取短期访问令牌。每次尝试均记入审计日志；锁定或停用的账号不能登录。
///
/// 登录失败只会让后续尝试变慢，不会锁定账号。失败次数按“用户名 + 来源地址”和“来源地址”（不论用户名）分别统计，格式不合法的登录请求也计入其来源地址。同一来源地址对同一用户名失败 5 次以上，或同一来源地址累计失败 20 次以上后，此后每次尝试须在上次失败后等待 5 秒，再失败则依次等待 10 秒、20 秒……最长 15 分钟；等待期内即使密码正确也返回 429 `rate_limited`，并附 Retry-After。来自其他地址的同一用户名不受影响。最后一次失败 30 分钟后清零；登录成功即清除该用户名在该地址的失败记录。
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
    body: Result<ApiJson<TokenRequest>, ApiError>,
) -> ApiResult<HttpResponse> {
    let meta = RequestMeta::of(&req, state.auth.trust_forwarded);
    let address = meta.source_address.clone().unwrap_or_default();
    let limits = &state.auth;
    let now_ms = state.clock.now().timestamp_millis();
    // A body that cannot be a sign-in is a failure of its address.
    let body = match body.and_then(|ApiJson(b)| crate::body::validated(b)) {
        Ok(body) => body,
        Err(e) => {
            limits
                .login_failures_per_address
                .attempt(&address, now_ms)
                .await?;
            return Err(e);
        }
    };
    let username = body.username.trim().to_lowercase();
    // Neither an address nor a username may carry NUL (refused above), so this key is unique.
    let pair = format!("{address}\u{0}{username}");
    limits
        .login_failures_per_user
        .attempt(&pair, now_ms)
        .await?;
    if let Err(e) = limits
        .login_failures_per_address
        .attempt(&address, now_ms)
        .await
    {
        limits.login_failures_per_user.succeeded(&pair).await?;
        return Err(e);
    }

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
        // Both failures were counted when the attempt started.
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
    // The right password: this attempt was no failure.
    limits.login_failures_per_user.reset(&pair).await?;
    limits
        .login_failures_per_address
        .succeeded(&address)
        .await?;
    if found.user.status != "active" {
        let event = login_event(&meta, &found, "denied");
        db::write(&state.db, move |c| Ok(audit::append(c, event)?)).await?;
        return Err(ApiError::new(
            ErrorCode::AccountUnavailable,
            format!("the account is {}", found.user.status),
            "账号已锁定或停用，请联系管理员",
        ));
    }
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
