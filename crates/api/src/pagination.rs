//! Cursor pagination: `limit` and an opaque `cursor`; answers carry `next_cursor`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jiekun_store::{Page, PageRequest};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorCode, FieldError};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// A page of results. 一页结果。
#[derive(Debug, Serialize, ToSchema)]
pub struct PageOf<T: ToSchema> {
    /// The items of this page, in a stable order.
    pub items: Vec<T>,
    /// Pass as `cursor` to read the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn encode(after: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{after}"))
}

fn decode(cursor: &str) -> Option<String> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let after = text.strip_prefix("v1:")?;
    uuid::Uuid::parse_str(after).ok()?;
    Some(after.to_owned())
}

/// Checks `limit` and `cursor` and turns them into a store page request.
pub fn page_request(limit: Option<u32>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let mut errors = Vec::new();
    let limit = check_limit(limit, &mut errors);
    let after = match cursor {
        Some(c) => match decode(c) {
            Some(a) => Some(a),
            None => {
                errors.push(bad_cursor());
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(invalid_page(errors));
    }
    Ok(PageRequest { after, limit })
}

fn invalid_page(errors: Vec<FieldError>) -> ApiError {
    let mut e = ApiError::new(
        ErrorCode::InvalidParameter,
        "invalid pagination parameters",
        "分页参数无效",
    );
    e.errors = errors;
    e
}

fn check_limit(limit: Option<u32>, errors: &mut Vec<FieldError>) -> u32 {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            "out_of_range",
            format!("must be between 1 and {MAX_LIMIT}"),
            format!("取值须在 1 到 {MAX_LIMIT} 之间"),
        ));
    }
    limit
}

fn bad_cursor() -> FieldError {
    FieldError::new(
        "cursor",
        "invalid_format",
        "not a cursor returned by this API",
        "不是本接口返回的游标",
    )
}

/// The cursor after a sequence number (lists ordered by a sequence, newest first).
pub fn seq_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("s1:{seq}"))
}

/// Checks `limit` and a sequence `cursor`.
pub fn seq_page_request(
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<(Option<i64>, u32), ApiError> {
    let mut errors = Vec::new();
    let limit = check_limit(limit, &mut errors);
    let before = cursor.and_then(|c| {
        let seq = URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|t| t.strip_prefix("s1:").and_then(|n| n.parse::<i64>().ok()));
        if seq.is_none() {
            errors.push(bad_cursor());
        }
        seq
    });
    if errors.is_empty() {
        Ok((before, limit))
    } else {
        Err(invalid_page(errors))
    }
}

/// The cursor that resumes after `after`.
pub fn next_cursor(after: Option<&str>) -> Option<String> {
    after.map(encode)
}

pub fn page_of<R, T: ToSchema>(page: Page<R>, map: impl Fn(R) -> T) -> PageOf<T> {
    PageOf {
        items: page.items.into_iter().map(map).collect(),
        next_cursor: next_cursor(page.next_after.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_rejects_forgeries() {
        let id = "01900000-0000-7000-8000-000000000000";
        assert_eq!(decode(&encode(id)).as_deref(), Some(id));
        assert_eq!(decode("garbage!"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("v1:' OR 1=1")), None);
        assert!(page_request(Some(0), None).is_err());
        assert!(page_request(Some(201), None).is_err());
        assert_eq!(page_request(None, None).unwrap().limit, DEFAULT_LIMIT);
    }
}
