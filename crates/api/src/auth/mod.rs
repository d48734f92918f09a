//! Authentication and authorisation: people with JWTs, departments with API keys.
//!
//! [`Access`] authenticates a request (401 when it cannot); its `require*` methods check the
//! permission table of `jiekun_domain::access` (403) and hand back the [`Scope`] every query of the
//! handler must be restricted to, so that records outside it answer 404.

pub mod keys;
pub mod limits;
pub mod password;
pub mod shared;
pub mod token;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use jiekun_domain::access::{key_scope_for, parse_list, roles_allow, Action, KeyScope, Role};
use jiekun_domain::RegionCode;
use jiekun_store::audit::{Actor, Caller, NewEvent};
use jiekun_store::{Scope, StoreError};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::middleware::RequestId;
use crate::{db, AppState};

pub use limits::{FailureLimiter, KeyLimiter};
pub use shared::{Failures, KeptIn, KeyRequests, SharedLimits, SharedStore};
pub use token::TokenConfig;

/// Authentication settings and throttles, shared by every worker.
pub struct AuthState {
    pub tokens: TokenConfig,
    /// Failed sign-ins per username at an address, and per address; in the database when the
    /// limits are shared, so that every process on it counts them together.
    pub login_failures_per_user: Failures,
    pub login_failures_per_address: Failures,
    /// Requests per minute per API key, shared like the sign-in throttles.
    pub key_requests: KeyRequests,
    /// Refusals because a person is already in another active household, per caller: each tells
    /// that an identity number is filed somewhere, so they are throttled like failed sign-ins
    /// (and shared like them).
    pub person_refusals: Failures,
    /// Use `X-Forwarded-For` / `Forwarded` for the client address (only behind a trusted proxy).
    pub trust_forwarded: bool,
    /// A hash to verify against when the user does not exist, so that timing does not tell.
    pub dummy_hash: String,
    /// Signed-in users recently looked up, so that a burst of requests costs one query. Entries
    /// live [`USER_CACHE_TTL`] and are dropped at once when this server changes the user.
    users: std::sync::RwLock<std::collections::HashMap<String, CachedUser>>,
}

/// How long a looked-up user is trusted before the database is asked again, counted from before
/// the lookup started. A change made by another server process (a password, a role, a lock)
/// takes at most this long to apply here; a busy user costs one query a second per process.
pub const USER_CACHE_TTL: Duration = Duration::from_secs(1);

#[derive(Clone)]
struct CachedUser {
    at: std::time::Instant,
    token_version: i64,
    active: bool,
    principal: UserPrincipal,
}

/// Throttle settings.
#[derive(Clone, Debug)]
pub struct AuthLimits {
    pub login_failures_per_user: u32,
    pub login_failures_per_address: u32,
    pub login_window: Duration,
    /// Refusals of a person filed elsewhere a caller may get before each further check waits.
    pub person_refusals: u32,
}

impl Default for AuthLimits {
    fn default() -> Self {
        AuthLimits {
            login_failures_per_user: 5,
            login_failures_per_address: 20,
            login_window: Duration::from_secs(15 * 60),
            person_refusals: 10,
        }
    }
}

impl AuthState {
    /// Throttles in this process's memory, or in `shared`'s database when given.
    pub fn new(
        tokens: TokenConfig,
        limits: &AuthLimits,
        trust_forwarded: bool,
        shared: Option<std::sync::Arc<SharedStore>>,
    ) -> Self {
        AuthState {
            tokens,
            login_failures_per_user: Failures::new(
                "login-user",
                limits.login_failures_per_user,
                limits.login_window,
                shared.clone(),
            ),
            login_failures_per_address: Failures::new(
                "login-address",
                limits.login_failures_per_address,
                limits.login_window,
                shared.clone(),
            ),
            person_refusals: Failures::new(
                "person-refusal",
                limits.person_refusals,
                limits.login_window,
                shared.clone(),
            ),
            key_requests: KeyRequests::new(shared),
            trust_forwarded,
            dummy_hash: password::hash("not-a-real-password-0").unwrap_or_default(),
            users: Default::default(),
        }
    }

    /// Forgets what is cached of a user (after their password, roles or status changed).
    pub fn forget_user(&self, id: &str) {
        if let Ok(mut users) = self.users.write() {
            users.remove(id);
        }
    }

    fn cached_user(&self, id: &str) -> Option<CachedUser> {
        let users = self.users.read().ok()?;
        users
            .get(id)
            .filter(|c| c.at.elapsed() < USER_CACHE_TTL)
            .cloned()
    }

    fn remember_user(&self, entry: CachedUser) {
        if let Ok(mut users) = self.users.write() {
            if users.len() > 50_000 {
                users.retain(|_, c| c.at.elapsed() < USER_CACHE_TTL);
            }
            users.insert(entry.principal.id.clone(), entry);
        }
    }
}

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct UserPrincipal {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub organisation_id: String,
    pub organisation_path: String,
    pub region: RegionCode,
    pub roles: Vec<Role>,
}

impl UserPrincipal {
    pub fn scope(&self) -> Scope {
        Scope::Subtree {
            path: self.organisation_path.clone(),
            region: self.region,
        }
    }
}

/// A partner department's system.
#[derive(Debug, Clone)]
pub struct KeyPrincipal {
    pub id: String,
    pub name: String,
    pub department_id: String,
    pub department_code: String,
    pub region: RegionCode,
    pub scopes: Vec<KeyScope>,
}

#[derive(Debug, Clone)]
pub enum Principal {
    User(UserPrincipal),
    Key(KeyPrincipal),
}

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub source_address: Option<String>,
}

impl RequestMeta {
    pub fn of(req: &HttpRequest, trust_forwarded: bool) -> Self {
        let source_address = if trust_forwarded {
            req.connection_info().realip_remote_addr().map(strip_port)
        } else {
            req.peer_addr().map(|a| a.ip().to_string())
        };
        RequestMeta {
            request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
            source_address,
        }
    }

    /// An event by nobody in particular (failed sign-ins).
    pub fn anonymous_event(
        &self,
        action: &str,
        resource_type: &str,
        outcome: &'static str,
        changes: Option<serde_json::Value>,
    ) -> NewEvent {
        NewEvent {
            actor: Actor {
                kind: "anonymous",
                ..Actor::default()
            },
            action: action.to_owned(),
            resource_type: resource_type.to_owned(),
            resource_id: None,
            outcome,
            request_id: self.request_id.clone(),
            source_address: self.source_address.clone(),
            changes,
        }
    }
}

fn strip_port(addr: &str) -> String {
    match addr.parse::<std::net::SocketAddr>() {
        Ok(sa) => sa.ip().to_string(),
        Err(_) => addr.to_owned(),
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Access {
    pub principal: Principal,
    pub meta: RequestMeta,
}

pub(crate) fn unauthenticated(detail: &str, detail_zh: &str) -> ApiError {
    let mut e = ApiError::new(ErrorCode::Unauthenticated, detail, detail_zh);
    e.headers.push((
        header::WWW_AUTHENTICATE,
        "Bearer realm=\"jiekun\", ApiKey realm=\"jiekun\"".into(),
    ));
    e
}

pub(crate) fn forbidden(detail: impl Into<String>, detail_zh: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, detail, detail_zh)
}

pub(crate) fn rate_limited(wait: Duration) -> ApiError {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut e = ApiError::new(
        ErrorCode::RateLimited,
        format!("too many requests; retry after {secs} s"),
        format!("请求过于频繁，请 {secs} 秒后重试"),
    );
    e.headers.push((header::RETRY_AFTER, secs.to_string()));
    e
}

enum Credentials {
    Bearer(String),
    ApiKey(String),
}

fn credentials(req: &HttpRequest) -> ApiResult<Credentials> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        let v = v.to_str().unwrap_or_default().trim();
        let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
        let rest = rest.trim();
        return if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
            Ok(Credentials::Bearer(rest.to_owned()))
        } else if scheme.eq_ignore_ascii_case("apikey") && !rest.is_empty() {
            Ok(Credentials::ApiKey(rest.to_owned()))
        } else {
            Err(unauthenticated(
                "use Authorization: Bearer <token> or ApiKey <key>",
                "请使用 Authorization: Bearer <令牌> 或 ApiKey <密钥>",
            ))
        };
    }
    if let Some(v) = req.headers().get("x-api-key") {
        return Ok(Credentials::ApiKey(
            v.to_str().unwrap_or_default().trim().to_owned(),
        ));
    }
    Err(unauthenticated(
        "credentials required: Authorization: Bearer <token>, or an API key",
        "需要身份凭证：Authorization: Bearer <令牌> 或 API 密钥",
    ))
}

fn bad_token() -> ApiError {
    unauthenticated(
        "the token is invalid, expired or no longer valid; sign in again",
        "令牌无效、已过期或已失效，请重新登录",
    )
}

async fn authenticate_user(state: &AppState, token: String) -> ApiResult<UserPrincipal> {
    let claims = state.auth.tokens.verify(&token).map_err(|_| bad_token())?;
    if let Some(hit) = state.auth.cached_user(&claims.sub) {
        return if hit.active && hit.token_version == claims.tv {
            Ok(hit.principal)
        } else {
            Err(bad_token())
        };
    }
    let sub = claims.sub.clone();
    // Taken before the lookup: the entry expires no later than USER_CACHE_TTL after any change
    // the lookup may have missed.
    let looked_up = std::time::Instant::now();
    let found = db::run(&state.db, move |c| {
        match jiekun_store::users::get(c, &Scope::All, &sub) {
            Ok(u) => Ok(Some(u)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    })
    .await?
    .ok_or_else(bad_token)?;
    let active = found.user.status == "active";
    let token_version = found.user.token_version;
    let principal = user_principal(found)?;
    state.auth.remember_user(CachedUser {
        at: looked_up,
        token_version,
        active,
        principal: principal.clone(),
    });
    if !active || token_version != claims.tv {
        return Err(bad_token());
    }
    Ok(principal)
}

pub(crate) fn user_principal(found: jiekun_store::users::UserWithOrg) -> ApiResult<UserPrincipal> {
    let roles = parse_list::<Role>(&found.user.roles)
        .map_err(|_| ApiError::internal(format!("stored roles of {} unreadable", found.user.id)))?;
    let region = RegionCode::parse(&found.organisation_region)
        .map_err(|e| ApiError::internal(format!("stored region: {e}")))?;
    Ok(UserPrincipal {
        id: found.user.id,
        username: found.user.username,
        display_name: found.user.display_name,
        organisation_id: found.user.organisation_id,
        organisation_path: found.organisation_path,
        region,
        roles,
    })
}

impl FromRequest for Access {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let creds = credentials(req);
        let meta = state
            .as_ref()
            .map(|s| RequestMeta::of(req, s.auth.trust_forwarded))
            .unwrap_or_default();
        let peer = req.peer_addr().map(|a| a.ip());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let principal = match creds? {
                Credentials::Bearer(token) => {
                    Principal::User(authenticate_user(&state, token).await?)
                }
                Credentials::ApiKey(key) => {
                    Principal::Key(keys::authenticate(&state, key, peer).await?)
                }
            };
            Ok(Access { principal, meta })
        })
    }
}

impl Access {
    /// The scope in which the caller may perform `action`, or 403.
    pub fn require(&self, action: Action) -> ApiResult<Scope> {
        match &self.principal {
            Principal::User(u) => {
                if roles_allow(&u.roles, action) {
                    Ok(u.scope())
                } else {
                    Err(forbidden(
                        format!("your roles do not allow {action}"),
                        format!("您的角色无权执行 {action}"),
                    ))
                }
            }
            Principal::Key(k) => match key_scope_for(action) {
                Some(needed) if k.scopes.contains(&needed) => Ok(Scope::Region(k.region)),
                Some(needed) => Err(forbidden(
                    format!("this API key lacks the scope {needed}"),
                    format!("该 API 密钥缺少权限范围 {needed}"),
                )),
                None => Err(keys_not_allowed()),
            },
        }
    }

    /// Like [`Access::require`] for endpoints only people may use.
    pub fn require_user(&self, action: Action) -> ApiResult<(&UserPrincipal, Scope)> {
        match &self.principal {
            Principal::User(u) => self.require(action).map(|s| (u, s)),
            Principal::Key(_) => Err(keys_not_allowed()),
        }
    }

    /// The caller as the audit log names it.
    pub fn actor(&self) -> Actor {
        match &self.principal {
            Principal::User(u) => Actor {
                kind: "user",
                id: Some(u.id.clone()),
                name: Some(u.username.clone()),
                organisation_id: Some(u.organisation_id.clone()),
                organisation_path: Some(u.organisation_path.clone()),
            },
            Principal::Key(k) => Actor {
                kind: "api_key",
                id: Some(k.id.clone()),
                name: Some(format!("{} ({})", k.name, k.department_code)),
                organisation_id: None,
                organisation_path: None,
            },
        }
    }

    /// Who is calling, as units of work record it in the audit log.
    pub fn caller(&self) -> Caller {
        Caller {
            actor: self.actor(),
            request_id: self.meta.request_id.clone(),
            source_address: self.meta.source_address.clone(),
        }
    }

    /// An audit event of a successful change by this caller.
    pub fn event(
        &self,
        action: &str,
        resource_type: &str,
        resource_id: &str,
        changes: serde_json::Value,
    ) -> NewEvent {
        self.caller()
            .event(action, resource_type, resource_id, changes)
    }
}

pub(crate) fn keys_not_allowed() -> ApiError {
    forbidden(
        "API keys cannot use this endpoint; it is for signed-in users",
        "API 密钥不能调用此接口，仅限登录用户使用",
    )
}

pub use jiekun_store::audit::redact;
