//! Extractors that turn every kind of bad input into our problem+json, with the field named.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode, FieldError};

mod idempotent;
pub mod screen;
mod strict;
mod versioned;

pub use idempotent::Idempotent;
pub use versioned::{Change, Posted, Versioned};

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

/// Deserialises a JSON body. Syntax errors, anything but whitespace after the value and nesting
/// deeper than 128 levels are 400 `malformed_json`; strings carrying control or invisible
/// formatting characters, and values of the wrong shape (an array where an object is expected
/// included) are 422 `validation_failed`, each with its field path.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    // serde_json's recursion limit (128) holds here; `end` refuses anything after the value.
    let strict::UniqueValue(value) = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => malformed(&inner),
            Category::Data => ApiError::validation(vec![shape_error(&path, &inner.to_string())]),
        }
    })?;
    de.end().map_err(|e| malformed(&e))?;
    let bad = screen::json_strings(&value);
    if !bad.is_empty() {
        return Err(ApiError::validation(bad));
    }
    serde_path_to_error::deserialize(strict::Strict(value)).map_err(|e| {
        let path = e.path().to_string();
        ApiError::validation(vec![shape_error(&path, &e.into_inner().to_string())])
    })
}

fn malformed(e: &serde_json::Error) -> ApiError {
    let (en, zh) = syntax_message(e);
    ApiError::new(ErrorCode::MalformedJson, en, zh)
}

/// What is wrong with a body that is not JSON, in both languages.
fn syntax_message(e: &serde_json::Error) -> (String, String) {
    let (line, column) = (e.line(), e.column());
    let message = e.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m);
    let what_zh = match message {
        "EOF while parsing a value"
        | "EOF while parsing a string"
        | "EOF while parsing a list"
        | "EOF while parsing an object" => "内容不完整",
        "trailing characters" => "JSON 值之后还有多余的内容",
        "recursion limit exceeded" => "嵌套层数超过 128 层",
        "number out of range" => "数值超出范围",
        "control character (\\u0000-\\u001F) found while parsing a string" => {
            "字符串中有未转义的控制字符"
        }
        "key must be a string" => "对象的键必须是字符串",
        "invalid escape" | "invalid unicode code point" => "字符串中有无效的转义",
        "lone leading surrogate in hex escape" | "unexpected end of hex escape" => {
            "字符串中有无效的 Unicode 转义"
        }
        _ => "语法错误",
    };
    if line == 0 {
        (
            format!("the body is not valid JSON: {message}"),
            format!("请求体不是合法的 JSON：{what_zh}"),
        )
    } else {
        (
            format!("the body is not valid JSON: {message} at line {line} column {column}"),
            format!("请求体不是合法的 JSON：{what_zh}（第 {line} 行第 {column} 列）"),
        )
    }
}

/// Longest echo of the caller's input kept in a message.
const MAX_MESSAGE: usize = 200;

fn shorten(message: &str) -> String {
    if message.chars().count() <= MAX_MESSAGE {
        message.to_owned()
    } else {
        let mut s: String = message.chars().take(MAX_MESSAGE).collect();
        s.push('…');
        s
    }
}

/// The names between backticks in a serde message, in order.
fn quoted_names(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

/// `a`、`b`、`c`
fn zh_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join("、")
}

/// serde's name of what it found (an integer, a string, a sequence…), in Chinese.
fn unexpected_zh(what: &str) -> String {
    const KINDS: &[(&str, &str)] = &[
        ("boolean ", "布尔值 "),
        ("integer ", "整数 "),
        ("floating point ", "小数 "),
        ("string ", "字符串 "),
        ("character ", "字符 "),
    ];
    for (en, zh) in KINDS {
        if let Some(rest) = what.strip_prefix(en) {
            return format!("{zh}{rest}");
        }
    }
    match what {
        "unit value" | "null" => "null".into(),
        "sequence" => "数组".into(),
        "map" => "对象".into(),
        "Option value" => "可选值".into(),
        "unit variant" => "无内容的枚举值".into(),
        "enum" => "枚举值".into(),
        "newtype struct" | "newtype variant" => "包装值".into(),
        "byte array" => "字节数组".into(),
        other => format!("`{other}`"),
    }
}

/// What serde expected (`u32`, `a string`, `struct X`…), in Chinese.
fn expected_zh(what: &str) -> String {
    let what = what.trim();
    match what {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => format!("非负整数（{what}）"),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => format!("整数（{what}）"),
        "f32" | "f64" => "数字".into(),
        "a string" | "string" | "a borrowed string" | "a char" | "char" => "字符串".into(),
        "a boolean" | "bool" => "布尔值（true 或 false）".into(),
        "a sequence" | "sequence" | "an array" => "数组".into(),
        "a map" | "map" | "string or map" => {
            if what == "string or map" {
                "字符串或对象".into()
            } else {
                "对象".into()
            }
        }
        "unit" => "null".into(),
        "option" => "可选值".into(),
        w if w.starts_with("struct ") || w.starts_with("struct variant") => "对象".into(),
        w if w.starts_with("tuple") || w.contains("element") => format!("数组（{w}）"),
        w => format!("`{w}`"),
    }
}

/// Turns a serde message into a field error with a stable code, saying the same in both
/// languages.
fn shape_error(path: &str, message: &str) -> FieldError {
    // serde puts " at line L column C" after the message; the field path says more.
    let message = message.rsplit_once(" at line ").map_or(message, |(m, _)| m);
    let message = shorten(message);
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
    let names = quoted_names(&message);
    let first = names.first().copied().unwrap_or_default();
    let rest = names.get(1..).unwrap_or_default();
    let field_path = if path == "." {
        String::new()
    } else {
        path.to_owned()
    };
    if message.starts_with("missing field") {
        let zh = format!("缺少必填字段 `{first}`");
        FieldError::new(join(first), "required", message, zh)
    } else if message.starts_with("unknown field") {
        let zh = if rest.is_empty() {
            format!("不认识的字段 `{first}`，此处不接受任何字段")
        } else {
            format!(
                "不认识的字段 `{first}`，请检查拼写；允许的字段：{}",
                zh_list(rest)
            )
        };
        FieldError::new(join(first), "unknown_field", message, zh)
    } else if message.starts_with("duplicate field") {
        let zh = format!("字段 `{first}` 重复出现");
        FieldError::new(join(first), "duplicate", message, zh)
    } else if message.starts_with("unknown variant") {
        let zh = if rest.is_empty() {
            format!("取值 `{first}` 不在允许范围内")
        } else {
            format!(
                "取值 `{first}` 不在允许范围内，允许的取值：{}",
                zh_list(rest)
            )
        };
        FieldError::new(field_path, "invalid_value", message, zh)
    } else if let Some(body) = message.strip_prefix("invalid type: ") {
        let zh = match body.rsplit_once(", expected ") {
            Some((got, want)) => format!(
                "类型不正确：应为{}，实际为{}",
                expected_zh(want),
                unexpected_zh(got)
            ),
            None => format!("类型不正确：{body}"),
        };
        FieldError::new(field_path, "invalid_type", message, zh)
    } else if let Some(body) = message.strip_prefix("invalid value: ") {
        let zh = match body.rsplit_once(", expected ") {
            Some((got, want)) => format!(
                "取值无效：{}，应为{}",
                unexpected_zh(got),
                expected_zh(want)
            ),
            None => format!("取值无效：{body}"),
        };
        FieldError::new(field_path, "invalid_value", message, zh)
    } else if let Some(body) = message.strip_prefix("invalid length ") {
        let zh = match body.split_once(", expected ") {
            Some((n, want)) => format!("长度无效：{n}，应为 {want}"),
            None => format!("长度无效：{body}"),
        };
        FieldError::new(field_path, "invalid_length", message, zh)
    } else {
        let zh = format!("字段取值无效：{message}");
        FieldError::new(field_path, "invalid_value", message, zh)
    }
}

/// Query parameters, with unknown parameters refused and bad values named.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = query_from_str(req.query_string()).map(ApiQuery);
        std::future::ready(parsed)
    }
}

/// Reads a query string into `T`, naming the parameter at fault.
pub(crate) fn query_from_str<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
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
            format!("查询参数 {}：{}", fe.field, fe.message_zh),
        )
        .with_field(fe)
    })
}

/// The version named by `If-Match: "N"`; required on every change. The tag must be written as
/// this API writes it: the version in plain decimal, no sign, no leading zero, no spaces inside
/// the quotes. `"01"` or `"+1"` is not the ETag of version 1 but a malformed one (400), so that
/// tags compare as the strings they are.
pub struct IfMatch(pub i64);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_if_match(req))
    }
}

/// The If-Match of a request, as [`IfMatch`] reads it.
pub fn if_match(req: &HttpRequest) -> Result<i64, ApiError> {
    parse_if_match(req).map(|m| m.0)
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
            let tag = v.trim().strip_prefix('"')?.strip_suffix('"')?;
            let canonical = tag.bytes().all(|b| b.is_ascii_digit()) && !tag.starts_with('0');
            if !canonical {
                return None;
            }
            tag.parse::<i64>().ok()
        })
        .filter(|v| *v > 0)
        .map(IfMatch)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidParameter,
                "If-Match must be one strong ETag exactly as returned by this API, e.g. \"3\" (no sign, no leading zero)",
                "If-Match 必须是与本接口返回的完全一致的强 ETag，例如 \"3\"（不带正负号，不以 0 开头）",
            )
            .with_field(FieldError::new(
                "If-Match",
                "invalid_format",
                "not an ETag as this API writes it",
                "不是本接口所写形式的 ETag",
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
            (r#"{"name": "a"} x"#, ErrorCode::MalformedJson, "", ""),
            (r#"{"name": "a"}{}"#, ErrorCode::MalformedJson, "", ""),
            (r#"{"name": 1e400}"#, ErrorCode::MalformedJson, "", ""),
            (
                r#"["a", {"count": 1}]"#,
                ErrorCode::ValidationFailed,
                "",
                "invalid_type",
            ),
            (
                r#"{"name": "a", "inner": [1]}"#,
                ErrorCode::ValidationFailed,
                "inner",
                "invalid_type",
            ),
            (
                r#"{"name": "a", "inner": {"count": 99999999999999999999}}"#,
                ErrorCode::ValidationFailed,
                "inner.count",
                "invalid_type",
            ),
            (
                r#"{"name": "a\u0000"}"#,
                ErrorCode::ValidationFailed,
                "name",
                "invalid_character",
            ),
            (
                r#"{"name": "a", "name": "b"}"#,
                ErrorCode::ValidationFailed,
                "name",
                "duplicate",
            ),
        ];
        for (body, code, field, field_code) in cases {
            let e = parse_json::<Body>(body.as_bytes()).unwrap_err();
            assert_eq!(e.code, *code, "{body}");
            if !field_code.is_empty() {
                assert_eq!(e.errors[0].field, *field, "{body}");
                assert_eq!(e.errors[0].code, *field_code, "{body}");
            }
        }
        // Whitespace around the value is fine; free text keeps its line feeds and tabs.
        let ok = parse_json::<Body>(b" \n{\"name\": \"a\\nb\\tc\"}\r\n\t ").unwrap();
        assert_eq!(ok.name, "a\nb\tc");
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let e = parse_json::<Body>(deep.as_bytes()).unwrap_err();
        assert_eq!(e.code, ErrorCode::MalformedJson);
        assert!(e.detail_zh.contains("128"), "{}", e.detail_zh);
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Typed {
        count: Option<u32>,
        kind: Option<Kind>,
        flag: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Kind {
        Deep,
        Relative,
        Accident,
    }

    /// The Chinese message says what the English one says: the value and what was expected.
    #[test]
    fn shape_errors_say_the_same_in_chinese() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                r#"{"kind": "castle"}"#,
                "invalid_value",
                &["castle", "deep", "relative", "accident"],
            ),
            (
                r#"{"count": "5"}"#,
                "invalid_type",
                &["应为非负整数（u32）", "字符串 \"5\""],
            ),
            (r#"{"count": -1}"#, "invalid_value", &["整数 `-1`", "u32"]),
            (r#"{"count": 1.5}"#, "invalid_type", &["小数 `1.5`"]),
            (r#"{"flag": "yes"}"#, "invalid_type", &["布尔值", "yes"]),
            (r#"{"flag": []}"#, "invalid_type", &["布尔值", "数组"]),
            (
                r#"{"kind": 3}"#,
                "invalid_type",
                &["字符串或对象", "整数 `3`"],
            ),
            (r#"{"kind": {}}"#, "invalid_type", &["字符串或对象", "对象"]),
            (
                r#"{"count": null, "kind": null, "x": 1}"#,
                "unknown_field",
                &["`x`", "`count`", "`flag`"],
            ),
        ];
        for (body, code, words) in cases {
            let e = parse_json::<Typed>(body.as_bytes()).unwrap_err();
            let fe = &e.errors[0];
            assert_eq!(fe.code, *code, "{body}: {fe:?}");
            for w in *words {
                assert!(
                    fe.message_zh.contains(w),
                    "{body}: {w} not in {}",
                    fe.message_zh
                );
            }
        }
        let e = parse_json::<Typed>(br#"{"count": 1"#).unwrap_err();
        assert!(e.detail_zh.contains("不完整"), "{}", e.detail_zh);
        let e = parse_json::<Typed>(br#"{"count": 1} x"#).unwrap_err();
        assert!(e.detail_zh.contains("多余"), "{}", e.detail_zh);
        // A long echo of the input is cut short.
        let long = format!(r#"{{"flag": "{}"}}"#, "x".repeat(100_000));
        let e = parse_json::<Typed>(long.as_bytes()).unwrap_err();
        assert!(e.errors[0].message.chars().count() <= 201);
    }
}
