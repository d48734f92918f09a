//! Request id, access log and the last word on error bodies: every error leaves as problem+json
//! carrying the request id, whatever produced it.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::HttpMessage;

use crate::error::{ApiError, ErrorCode};

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

    // Handlers' errors arrive as responses carrying the error; an `Err` here could only come from
    // an inner middleware, and there is none.
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    let mut res = if status.is_client_error() || status.is_server_error() {
        render_problem(res, &path, &id)
    } else {
        res
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
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
    Ok(res)
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
