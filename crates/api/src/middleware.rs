//! Request id, access log, the checks every request passes before it is routed (characters in
//! the path and the query), and the last word on error bodies: every error leaves as
//! problem+json carrying the request id, whatever produced it.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};

use crate::error::{ApiError, ErrorCode, FieldError};
use crate::extract::screen::{self, Refusal};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, also found in request extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.path().to_owned();

    let checked = check_size(&req)
        .and_then(|()| check_method(&req))
        .and_then(|()| screen_request(&req));
    let res = match checked {
        // Built as a response carrying the error, which the renderer below gives the request id.
        Err(e) => ServiceResponse::new(req.into_parts().0, HttpResponse::from_error(e)),
        // Handlers' errors arrive as responses carrying the error, and so do the CORS layer's
        // refusals; an `Err` here would come from an inner middleware's own failure. The
        // request's span is opened inside, by `TracingLogger` (see `RequestSpans`).
        Ok(()) => next.call(req).await?.map_into_boxed_body(),
    };
    let status = res.status();
    let mut res = if status.is_client_error() || status.is_server_error() {
        render_problem(res, &path, &id)
    } else {
        res
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    security_headers(&path, res.headers_mut());
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = res.status().as_u16();
    if status >= 500 {
        let cause = res
            .response()
            .error()
            .map(|e| e.to_string())
            .unwrap_or_default();
        tracing::error!(request_id = %id, %method, %path, status, elapsed_ms, %cause, "request failed");
    } else {
        tracing::info!(request_id = %id, %method, %path, status, elapsed_ms, "request");
    }
    observe(&res, &method, status, started.elapsed().as_secs_f64());
    Ok(res)
}

/// The root span of every request (`tracing-actix-web`'s `TracingLogger`, inside
/// `request_context`): `request{request_id,method,path,status}` with our request id, the path
/// without its query (which may carry personal data), and the status once answered. Whatever the
/// request logs, also on the blocking threads that run its store work (see `db`), says which
/// request it belongs to.
pub struct RequestSpans;

impl tracing_actix_web::RootSpanBuilder for RequestSpans {
    fn on_request_start(req: &ServiceRequest) -> tracing::Span {
        let id = req
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        tracing::info_span!("request", request_id = %id, method = %req.method(),
            path = %req.path(), status = tracing::field::Empty)
    }

    fn on_request_end<B: MessageBody>(
        span: tracing::Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let status = match outcome {
            Ok(res) => res.status(),
            Err(e) => e.as_response_error().status_code(),
        };
        span.record("status", status.as_u16());
    }
}

/// Request metrics by route template (never by path, which holds ids): a count by method, route
/// and status, a latency histogram by method and route, and the refusals of the rate limits.
/// Without an exporter (`JIEKUN_METRICS_BIND` unset) these are no-ops.
fn observe(
    res: &ServiceResponse<BoxBody>,
    method: &actix_web::http::Method,
    status: u16,
    secs: f64,
) {
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method.as_str().to_owned();
    metrics::counter!(
        "http_requests_total",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status.to_string()
    )
    .increment(1);
    if status == 429 {
        metrics::counter!("rate_limit_refusals_total", "route" => route.clone()).increment(1);
    }
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(secs);
}

/// No answer is sniffed for another content type; answers of the API hold personal data and are
/// never stored by a cache (the OpenAPI document, public, may be).
fn security_headers(path: &str, headers: &mut header::HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if path.starts_with("/api/v1/") && path != crate::OPENAPI_PATH {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// Re-renders an error response as problem+json with the request id and path.
fn render_problem(res: ServiceResponse<BoxBody>, path: &str, id: &str) -> ServiceResponse<BoxBody> {
    let api_error = match res.response().error() {
        Some(e) => match e.as_error::<ApiError>() {
            Some(api) => api.clone(),
            None => from_status(res.status(), Some(e.to_string())),
        },
        None if is_problem(&res) => return res,
        None => from_status(res.status(), None),
    };
    let (req, old) = res.into_parts();
    let mut new = api_error.response(Some(path.to_owned()), Some(id.to_owned()));
    // Keep headers such as Allow or Retry-After that the original answer carried.
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(req, new)
}

fn is_problem(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"))
}

/// A problem for an error that did not come from our own code (actix's own answers).
fn from_status(status: StatusCode, cause: Option<String>) -> ApiError {
    let code = match status {
        StatusCode::NOT_FOUND => ErrorCode::RouteNotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::URI_TOO_LONG => ErrorCode::UriTooLong,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ErrorCode::HeadersTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailable,
        s if s.is_server_error() => ErrorCode::InternalError,
        _ => ErrorCode::InvalidParameter,
    };
    ApiError {
        cause: cause.map(Into::into),
        ..ApiError::bare(code)
    }
}

/// Route templates and their methods, from the OpenAPI document: to name a path parameter before
/// routing, and to tell 405 from 404.
#[derive(Clone)]
pub struct RouteTable(Vec<(Vec<String>, Vec<&'static str>)>);

impl RouteTable {
    pub fn from_spec(spec: &mut utoipa::openapi::OpenApi) -> Self {
        let mut table = Vec::new();
        for (path, item) in spec.paths.paths.iter_mut() {
            let segments = path.split('/').map(str::to_owned).collect();
            let methods = crate::openapi::operations(item)
                .into_iter()
                .map(|(m, _)| m)
                .collect();
            table.push((segments, methods));
        }
        RouteTable(table)
    }

    /// The templates `path` matches, as (segments, methods).
    fn matching(&self, parts: &[&str]) -> Vec<&(Vec<String>, Vec<&'static str>)> {
        self.0
            .iter()
            .filter(|(segments, _)| {
                segments.len() == parts.len()
                    && segments
                        .iter()
                        .zip(parts)
                        .all(|(s, p)| s == p || (is_parameter(s) && !p.is_empty()))
            })
            .collect()
    }

    /// The methods routed for exactly `path`, if it matches a route at all: those of the most
    /// specific template, where a literal segment beats a parameter (`/households/search` is not
    /// `/households/{id}`).
    pub fn allowed(&self, path: &str) -> Option<Vec<&'static str>> {
        let parts: Vec<&str> = path.split('/').collect();
        let mut best: Option<(Vec<bool>, Vec<&'static str>)> = None;
        for (segments, methods) in self.matching(&parts) {
            let literal: Vec<bool> = segments.iter().map(|s| !is_parameter(s)).collect();
            match &mut best {
                Some((key, found)) if *key == literal => {
                    found.extend(
                        methods
                            .iter()
                            .filter(|m| !found.contains(m))
                            .collect::<Vec<_>>(),
                    );
                }
                Some((key, _)) if *key > literal => {}
                _ => best = Some((literal, methods.clone())),
            }
        }
        best.map(|(_, methods)| methods)
    }

    /// The name of the path parameter at segment `index` of `path`, when a route names it.
    fn parameter_name(&self, parts: &[&str], index: usize) -> Option<&str> {
        self.matching(parts).into_iter().find_map(|(segments, _)| {
            let s = segments.get(index)?;
            is_parameter(s).then(|| s.trim_start_matches('{').trim_end_matches('}'))
        })
    }
}

fn is_parameter(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// Longest URL (path and query) served, in bytes.
pub const MAX_URL_BYTES: usize = 8 * 1024;
/// Most header fields in one request.
pub const MAX_HEADER_FIELDS: usize = 64;
/// Largest header section (names, values and their separators), in bytes.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// 414 and 431 as problem+json. The HTTP layer refuses on its own, with an empty answer, what it
/// cannot parse at all (a URL of 64 KiB or more, more than 96 header fields, a request head over
/// 128 KiB); these lower limits make sure that everything short of that is answered here.
fn check_size(req: &ServiceRequest) -> Result<(), ApiError> {
    let url = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if url > MAX_URL_BYTES {
        return Err(ApiError::new(
            ErrorCode::UriTooLong,
            format!("the URL is {url} bytes long; at most {MAX_URL_BYTES} are served"),
            format!("请求网址长 {url} 字节，最多允许 {MAX_URL_BYTES} 字节"),
        ));
    }
    let (fields, bytes) = req.headers().iter().fold((0, 0), |(n, b), (name, value)| {
        (n + 1, b + name.as_str().len() + value.len() + 4)
    });
    if fields > MAX_HEADER_FIELDS || bytes > MAX_HEADER_BYTES {
        return Err(ApiError::new(
            ErrorCode::HeadersTooLarge,
            format!(
                "the request has {fields} header fields in {bytes} bytes; at most {MAX_HEADER_FIELDS} fields in {MAX_HEADER_BYTES} bytes are served"
            ),
            format!(
                "请求头共 {fields} 个字段、{bytes} 字节；最多允许 {MAX_HEADER_FIELDS} 个字段、{MAX_HEADER_BYTES} 字节"
            ),
        ));
    }
    Ok(())
}

/// 405 for a method the path's own route does not have, before routing could hand the request to
/// a neighbouring route (GET `/households/search` is not a household).
fn check_method(req: &ServiceRequest) -> Result<(), ApiError> {
    let path = req.path();
    if path == crate::OPENAPI_PATH || path == "/docs" || path.starts_with(crate::DOCS_PATH) {
        return Ok(());
    }
    // A browser's CORS preflight is answered (or refused) by the CORS layer, not by a route.
    if req.method() == actix_web::http::Method::OPTIONS
        && req
            .headers()
            .contains_key(actix_web::http::header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return Ok(());
    }
    let Some(table) = req.app_data::<web::Data<RouteTable>>() else {
        return Ok(());
    };
    match table.allowed(path) {
        Some(methods)
            if !methods
                .iter()
                .any(|m| m.eq_ignore_ascii_case(req.method().as_str())) =>
        {
            Err(method_not_allowed(req.method().as_str(), &methods))
        }
        _ => Ok(()),
    }
}

/// 405 with the `Allow` header listing `methods`.
pub fn method_not_allowed(method: &str, methods: &[&str]) -> ApiError {
    let allow = methods
        .iter()
        .map(|m| m.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(", ");
    let mut err = ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{method} is not allowed here; allowed: {allow}"),
        format!("此接口不支持 {method}，支持：{allow}"),
    );
    err.headers.push((header::ALLOW, allow));
    err
}

/// Refuses, before routing, a path or query that carries control or invisible formatting
/// characters (percent-encoded or not), or is not UTF-8 once decoded.
fn screen_request(req: &ServiceRequest) -> Result<(), ApiError> {
    let table = req.app_data::<web::Data<RouteTable>>();
    let parts: Vec<&str> = req.path().split('/').collect();
    for (index, raw) in parts.iter().enumerate() {
        if let Err(refusal) = screen::check_component(raw, false) {
            let name = table
                .and_then(|t| t.parameter_name(&parts, index))
                .unwrap_or("path")
                .to_owned();
            return Err(parameter_error(
                "path parameter",
                "路径参数",
                &name,
                refusal,
            ));
        }
    }
    screen_query(req.query_string())
}

/// Checks every name and value of a query string; a name given twice is refused too, as the
/// API never reads a parameter as a list.
pub fn screen_query(query: &str) -> Result<(), ApiError> {
    let mut seen = std::collections::HashSet::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = match screen::check_component(raw_name, true) {
            Ok(name) => name,
            Err(refusal) => {
                let shown = screen::escaped(&String::from_utf8_lossy(&screen::percent_decode(
                    raw_name, true,
                )));
                return Err(parameter_error(
                    "query parameter",
                    "查询参数",
                    &shown,
                    refusal,
                ));
            }
        };
        if let Err(refusal) = screen::check_component(raw_value, true) {
            return Err(parameter_error(
                "query parameter",
                "查询参数",
                &name,
                refusal,
            ));
        }
        if !seen.insert(name.clone()) {
            let detail = format!("query parameter {name} is given more than once");
            let detail_zh = format!("查询参数 {name} 出现了不止一次");
            return Err(
                ApiError::new(ErrorCode::InvalidParameter, &detail, &detail_zh).with_field(
                    FieldError::new(name, "duplicate", "may be given once only", "只能出现一次"),
                ),
            );
        }
    }
    Ok(())
}

fn parameter_error(kind: &str, kind_zh: &str, name: &str, refusal: Refusal) -> ApiError {
    let field = refusal.field_error(name);
    ApiError::new(
        ErrorCode::InvalidParameter,
        format!("{kind} {name} {}", field.message),
        format!("{kind_zh} {name} {}", field.message_zh),
    )
    .with_field(field)
}
