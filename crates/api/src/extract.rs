//! Extractors that turn every kind of bad input into our problem+json, with the field named.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode, FieldError};

/// A JSON body: `application/json` (or `+json`), at most the configured size, deserialised with the
/// path of a failing field reported.
pub struct ApiJson<T>(pub T);

/// Largest accepted body, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_body(req, payload);
        Box::pin(async move { parse_json(&body.await?).map(ApiJson) })
    }
}

/// The bytes of a JSON body: `application/json` (or `+json`), at most the configured size.
pub fn json_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<web::Bytes, ApiError>> {
    let content_type_ok = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            m.type_() == mime::APPLICATION
                && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
        });
    let limit = req
        .app_data::<BodyLimit>()
        .copied()
        .unwrap_or(BodyLimit(256 * 1024));
    let body = web::Bytes::from_request(req, payload);
    async move {
        if !content_type_ok {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as Content-Type: application/json",
                "请以 Content-Type: application/json 发送请求体",
            ));
        }
        let bytes = body.await.map_err(|e| payload_error(e, limit.0))?;
        if bytes.len() > limit.0 {
            return Err(too_large(limit.0));
        }
        Ok(bytes)
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the body may be at most {limit} bytes"),
        format!("请求体不得超过 {limit} 字节"),
    )
}

fn payload_error(e: actix_web::Error, limit: usize) -> ApiError {
    use actix_web::error::PayloadError;
    match e.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => too_large(limit),
        _ => ApiError::new(
            ErrorCode::MalformedJson,
            "the body could not be read",
            "无法读取请求体",
        ),
    }
}

/// Deserialises JSON, telling syntax errors (400) from shape errors (422, with the field).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::new(
                ErrorCode::MalformedJson,
                format!("the body is not valid JSON: {inner}"),
                format!(
                    "请求体不是合法的 JSON：第 {} 行第 {} 列",
                    inner.line(),
                    inner.column()
                ),
            ),
            Category::Data => ApiError::validation(vec![shape_error(&path, &inner.to_string())]),
        }
    })
}

/// Turns a serde message into a field error with a stable code.
fn shape_error(path: &str, message: &str) -> FieldError {
    // serde puts " at line L column C" after the message; the field path says more.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message, |(m, _)| m)
        .to_owned();
    // serde_path_to_error's path ends at the struct for a missing field, and at the field itself
    // for an unknown one.
    let join = |name: &str| {
        if path.is_empty() || path == "." {
            name.to_owned()
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = |m: &str| m.split('`').nth(1).unwrap_or_default().to_owned();
    let field_path = if path == "." {
        String::new()
    } else {
        path.to_owned()
    };
    if message.starts_with("missing field") {
        FieldError::new(join(&quoted(&message)), "required", message, "必填字段缺失")
    } else if message.starts_with("unknown field") {
        FieldError::new(
            join(&quoted(&message)),
            "unknown_field",
            message,
            "不认识的字段，请检查拼写",
        )
    } else if message.starts_with("unknown variant") {
        FieldError::new(field_path, "invalid_value", message, "取值不在允许范围内")
    } else if message.starts_with("invalid type") {
        FieldError::new(field_path, "invalid_type", message, "字段类型不正确")
    } else {
        FieldError::new(field_path, "invalid_value", message, "字段取值无效")
    }
}

/// Query parameters, with unknown parameters refused and bad values named.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = form_urlencoded_de(req.query_string()).map(ApiQuery);
        std::future::ready(parsed)
    }
}

fn form_urlencoded_de<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let mut fe = shape_error(&path, &e.into_inner().to_string());
        if fe.code == "invalid_value" && fe.message.contains("digit") {
            fe.message = "must be a whole number".into();
            fe.message_zh = "必须为整数".into();
        }
        ApiError::new(
            ErrorCode::InvalidParameter,
            format!("query parameter {}: {}", fe.field, fe.message),
            format!("查询参数 {} 无效", fe.field),
        )
        .with_field(fe)
    })
}

/// The version named by `If-Match: "N"`; required on every change.
pub struct IfMatch(pub i64);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_if_match(req))
    }
}

fn parse_if_match(req: &HttpRequest) -> Result<IfMatch, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Err(ApiError::new(
            ErrorCode::PreconditionRequired,
            "send If-Match with the ETag you last read, so that concurrent changes are not lost",
            "请在 If-Match 请求头中携带最近一次读取到的 ETag，以免覆盖他人的修改",
        ));
    };
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.trim()
                .strip_prefix('"')?
                .strip_suffix('"')?
                .parse::<i64>()
                .ok()
        })
        .filter(|v| *v > 0)
        .map(IfMatch)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidParameter,
                "If-Match must be one strong ETag as returned by this API, e.g. \"3\"",
                "If-Match 必须是本接口返回的强 ETag，例如 \"3\"",
            )
            .with_field(FieldError::new(
                "If-Match",
                "invalid_format",
                "not an ETag of this API",
                "不是本接口返回的 ETag",
            ))
        })
}

/// The `ETag` for a stored version.
pub fn etag(version: i64) -> header::EntityTag {
    header::EntityTag::new_strong(version.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    #[test]
    fn json_errors_name_their_field() {
        let cases: &[(&str, ErrorCode, &str, &str)] = &[
            (r#"{"name": "a""#, ErrorCode::MalformedJson, "", ""),
            (r#"{}"#, ErrorCode::ValidationFailed, "name", "required"),
            (
                r#"{"name": 5}"#,
                ErrorCode::ValidationFailed,
                "name",
                "invalid_type",
            ),
            (
                r#"{"name": "a", "nmae": 1}"#,
                ErrorCode::ValidationFailed,
                "nmae",
                "unknown_field",
            ),
            (
                r#"{"name": "a", "inner": {"count": -1}}"#,
                ErrorCode::ValidationFailed,
                "inner.count",
                "invalid_value",
            ),
            (
                r#"{"name": "a", "inner": {}}"#,
                ErrorCode::ValidationFailed,
                "inner.count",
                "required",
            ),
        ];
        for (body, code, field, field_code) in cases {
            let e = parse_json::<Body>(body.as_bytes()).unwrap_err();
            assert_eq!(e.code, *code, "{body}");
            if !field.is_empty() {
                assert_eq!(e.errors[0].field, *field, "{body}");
                assert_eq!(e.errors[0].code, *field_code, "{body}");
            }
        }
    }
}
