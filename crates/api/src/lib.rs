//! The jiekun HTTP API. [`app`] builds the one application that both the `jiekun` binary and the
//! black-box tests serve; [`openapi`] is the contract generated from the same routes.

pub mod auth;
pub mod body;
pub mod clock;
pub mod db;
pub mod error;
pub mod examples;
pub mod extract;
pub mod fields;
pub mod idempotency;
pub mod limits;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod routes;
pub mod schema;
pub mod timestamp;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse};
use std::sync::Arc;

use jiekun_store::crypto::FieldCipher;
use jiekun_store::Pool;
use utoipa_actix_web::{scope, AppExt, UtoipaApp};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::auth::{AuthLimits, AuthState, KeptIn, SharedLimits, SharedStore, TokenConfig};
use crate::error::{ApiError, ErrorCode};
use crate::extract::BodyLimit;
use crate::middleware::RouteTable;
use jiekun_store::throttle::redis::RedisThrottle;

pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";
pub const DOCS_PATH: &str = "/docs/";

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: db::Db,
    pub auth: Arc<AuthState>,
    /// Encrypts, decrypts and indexes personal data.
    pub cipher: Arc<FieldCipher>,
    pub body_limit: usize,
    pub clock: clock::Clock,
    /// Origins allowed to call from a browser (see [`AppConfig::cors_origins`]).
    pub cors_origins: Arc<Vec<String>>,
}

impl AppState {
    /// State for one server: the throttles live here, shared by every worker.
    pub fn new(pool: Pool, config: &AppConfig) -> Self {
        let db = db::Db::new(pool);
        let kept_in = config
            .shared_limits
            .kept_in(db.pool.backend(), config.redis.is_some());
        let shared = match (kept_in, &config.redis) {
            (Ok(KeptIn::Redis), Some(redis)) => {
                Some(SharedStore::in_redis(db.clone(), redis.clone()))
            }
            (Ok(KeptIn::Database), _) => Some(SharedStore::new(db.clone())),
            _ => None,
        };
        AppState {
            auth: Arc::new(AuthState::new(
                config.tokens.clone(),
                &config.limits,
                config.trust_forwarded,
                shared,
            )),
            db,
            cipher: config.cipher.clone(),
            body_limit: config.body_limit,
            clock: config.clock.clone(),
            cors_origins: Arc::new(config.cors_origins.clone()),
        }
    }
}

/// Settings of the HTTP layer.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// How access tokens are signed and for how long they last.
    pub tokens: TokenConfig,
    /// Sign-in throttles.
    pub limits: AuthLimits,
    /// Where the sign-in throttles and API-key rate limits are kept.
    pub shared_limits: SharedLimits,
    /// The Redis they are kept in when `shared_limits` picks it (`JIEKUN_REDIS_URL`).
    pub redis: Option<Arc<RedisThrottle>>,
    /// Take the client address from `Forwarded` / `X-Forwarded-For` (behind a trusted proxy only).
    pub trust_forwarded: bool,
    /// The personal-data key.
    pub cipher: Arc<FieldCipher>,
    /// The clock dates are taken from.
    pub clock: clock::Clock,
    /// Origins (`https://host[:port]`) whose browser pages may call the API; none by default.
    pub cors_origins: Vec<String>,
}

impl AppConfig {
    pub fn new(tokens: TokenConfig, cipher: FieldCipher) -> Self {
        AppConfig {
            body_limit: 256 * 1024,
            cipher: Arc::new(cipher),
            tokens,
            limits: AuthLimits::default(),
            shared_limits: SharedLimits::default(),
            redis: None,
            trust_forwarded: false,
            clock: clock::Clock::default(),
            cors_origins: Vec::new(),
        }
    }
}

/// Every route, registered so that it also enters the OpenAPI document.
fn routed<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.openapi(openapi::base())
        .configure(routes::health::configure)
        .service(
            scope::scope("/api/v1")
                .configure(routes::auth::configure)
                .configure(routes::users::configure)
                .configure(routes::organisations::configure)
                .configure(routes::departments::configure)
                .configure(routes::enterprises::configure)
                .configure(routes::households::configure)
                .configure(routes::rules::configure)
                .configure(routes::workflows::configure)
                .configure(routes::notices::configure)
                .configure(routes::measures::configure)
                .configure(routes::referrals::configure)
                .configure(routes::assistance::configure)
                .configure(routes::campaigns::configure)
                .configure(routes::contacts::configure)
                .configure(routes::verifications::configure)
                .configure(routes::exchange::configure)
                .configure(routes::reports::configure)
                .configure(routes::api_keys::configure)
                .configure(routes::audit::configure),
        )
}

/// The OpenAPI document of exactly the routes [`app`] serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, spec) = routed(App::new().into_utoipa_app()).split_for_parts();
    let mut spec = openapi::finish(spec);
    pagination::document(&mut spec);
    comma_separated_lists(&mut spec);
    spec
}

/// A query parameter that takes several values takes them comma-separated (`state=a,b`): say
/// so, as OpenAPI's `style: form, explode: false`.
fn comma_separated_lists(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{ParameterIn, ParameterStyle};
    use utoipa::openapi::{RefOr, Schema};
    for item in spec.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in ops.into_iter().flatten() {
            for p in op.parameters.iter_mut().flatten() {
                let is_array = matches!(&p.schema, Some(RefOr::T(Schema::Array(_))));
                if matches!(p.parameter_in, ParameterIn::Query) && is_array {
                    p.style = Some(ParameterStyle::Form);
                    p.explode = Some(false);
                }
            }
        }
    }
}

/// The OpenAPI document as the pretty JSON checked in at `openapi/openapi.json`.
pub fn openapi_json() -> String {
    openapi_json_of(&openapi())
}

fn openapi_json_of(spec: &utoipa::openapi::OpenApi) -> String {
    let mut s = spec.to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}

async fn no_route(req: HttpRequest, table: web::Data<RouteTable>) -> HttpResponse {
    // The error stays attached so that the middleware renders it with the request id.
    HttpResponse::from_error(match table.allowed(req.path()) {
        Some(methods) => middleware::method_not_allowed(req.method().as_str(), &methods),
        None => ApiError::new(
            ErrorCode::RouteNotFound,
            format!("no endpoint at {}", req.path()),
            format!("接口 {} 不存在", req.path()),
        ),
    })
}

/// The application: routes, docs, error handling and request ids.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    // The document is generated from the same `routed` function that builds the app below. It is
    // served from a route registered before the `/api/v1` scope, which would otherwise claim it.
    let mut spec = openapi();
    let table = RouteTable::from_spec(&mut spec);
    let spec_json = web::Bytes::from(openapi_json_of(&spec));
    let body_limit = state.body_limit;
    let cors = cors(&state.cors_origins);
    let app = App::new()
        .app_data(web::Data::new(state))
        .app_data(web::Data::new(table))
        .app_data(BodyLimit(body_limit))
        .app_data(web::PayloadConfig::new(body_limit))
        .route(
            OPENAPI_PATH,
            web::get().to(move || {
                let body = spec_json.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(body)
                }
            }),
        )
        .service(SwaggerUi::new("/docs/{_:.*}").config(Config::new([OPENAPI_PATH])))
        .route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header((header::LOCATION, DOCS_PATH))
                    .finish()
            }),
        );
    routed(app.into_utoipa_app())
        .into_app()
        .default_service(web::to(no_route))
        .wrap(cors)
        .wrap(tracing_actix_web::TracingLogger::<middleware::RequestSpans>::new())
        .wrap(actix_web::middleware::from_fn(middleware::request_context))
}

/// Cross-origin access for browser pages: only the configured origins, none by default. A request
/// from another origin is still answered (a server-side caller sends no `Origin` worth trusting),
/// but without the headers a browser needs to let the page read it; its preflight is refused.
fn cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::Method;
    let mut c = actix_cors::Cors::default()
        .block_on_origin_mismatch(false)
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::ACCEPT,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("x-api-key"),
            header::HeaderName::from_static("x-exchange-batch"),
            header::HeaderName::from_static("x-exchange-rows"),
            header::HeaderName::from_static("x-exchange-sha256"),
            header::HeaderName::from_static("x-exchange-signature"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::CONTENT_DISPOSITION,
            middleware::REQUEST_ID,
            header::HeaderName::from_static("x-report-as-of"),
            header::HeaderName::from_static("x-report-rows"),
            header::HeaderName::from_static("x-report-sha256"),
        ])
        .max_age(3600);
    for o in origins {
        c = c.allowed_origin(o);
    }
    c
}
