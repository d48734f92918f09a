//! A JSON request body that is read by the extractor but parsed only when the handler asks, after
//! it has authorised the caller: a caller without the right gets 403, never field errors about a
//! body it may not send. Parsing runs the shape checks (`validator`) and reports every failing
//! field as our problem+json `errors[]`.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{json_body, parse_json};

/// The raw JSON body (content type and size already checked).
pub struct Body(web::Bytes);

impl FromRequest for Body {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_body(req, payload);
        Box::pin(async move { body.await.map(Body) })
    }
}

impl Body {
    /// The body as received.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The body as `T`, shape-checked: 400 for bad JSON, 422 with every failing field.
    pub fn parse<T: DeserializeOwned + Validate>(&self) -> ApiResult<T> {
        let value: T = parse_json(&self.0)?;
        validated(value)
    }
}

/// Runs the shape checks of `T`.
pub fn validated<T: Validate>(value: T) -> ApiResult<T> {
    match value.validate() {
        Ok(()) => Ok(value),
        Err(e) => Err(ApiError::validation(field_errors(&e))),
    }
}

/// Every failing field, with its path (`members[1].name`) and a bilingual message.
pub fn field_errors(e: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    walk(e, "", &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn walk(e: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (field, kind) in e.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(errors) => {
                out.extend(errors.iter().map(|v| one(&path, v)));
            }
            ValidationErrorsKind::Struct(inner) => walk(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    walk(inner, &format!("{path}[{i}]"), out);
                }
            }
        }
    }
}

fn param(v: &validator::ValidationError, name: &str) -> String {
    v.params
        .get(name)
        .map(|p| p.to_string().trim_matches('"').to_owned())
        .unwrap_or_default()
}

/// One failing check. The code names what is wrong; the message gives the limit.
fn one(path: &str, v: &validator::ValidationError) -> FieldError {
    let (min, max) = (param(v, "min"), param(v, "max"));
    let (en, zh): (String, String) = match v.code.as_ref() {
        "too_long" => (
            format!("must be at most {max} characters"),
            format!("不能超过 {max} 个字符"),
        ),
        "too_many" => (format!("at most {max} items"), format!("最多 {max} 项")),
        "out_of_range" if !min.is_empty() && !max.is_empty() => (
            format!("between {min} and {max}"),
            format!("应在 {min} 到 {max} 之间"),
        ),
        "out_of_range" if !max.is_empty() => (format!("at most {max}"), format!("不能大于 {max}")),
        "out_of_range" => (format!("at least {min}"), format!("不能小于 {min}")),
        _ => (
            v.message
                .clone()
                .unwrap_or(Cow::Borrowed("invalid value"))
                .into_owned(),
            "字段取值无效".to_owned(),
        ),
    };
    FieldError::new(path, &v.code, en, zh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Validate)]
    #[allow(dead_code)]
    struct Outer {
        #[validate(length(max = 3, code = "too_long"))]
        name: String,
        #[validate(range(min = 1, max = 10, code = "out_of_range"))]
        cause: u8,
        #[validate(length(max = 2, code = "too_many"), nested)]
        items: Vec<Inner>,
    }

    #[derive(Debug, Deserialize, serde::Serialize, Validate)]
    #[allow(dead_code)]
    struct Inner {
        #[validate(range(min = 0, code = "out_of_range"))]
        amount: i64,
    }

    #[test]
    fn failures_name_their_field_in_both_languages() {
        let v: Outer = serde_json::from_str(
            r#"{"name":"四个字符","cause":11,"items":[{"amount":1},{"amount":-1}]}"#,
        )
        .unwrap();
        let errors = field_errors(&v.validate().unwrap_err());
        let got: Vec<(&str, &str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str(), e.message_zh.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("cause", "out_of_range", "应在 1 到 10 之间"),
                ("items[1].amount", "out_of_range", "不能小于 0"),
                ("name", "too_long", "不能超过 3 个字符"),
            ]
        );
        for e in &errors {
            assert!(!e.message.is_empty() && !e.message_zh.is_empty());
        }
        let v: Outer = serde_json::from_str(
            r#"{"name":"a","cause":1,"items":[{"amount":1},{"amount":1},{"amount":1}]}"#,
        )
        .unwrap();
        let errors = field_errors(&v.validate().unwrap_err());
        assert_eq!(errors.len(), 1);
        assert_eq!(
            (errors[0].field.as_str(), errors[0].code.as_str()),
            ("items", "too_many")
        );
        assert_eq!(errors[0].message, "at most 2 items");
    }
}
