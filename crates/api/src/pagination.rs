//! Cursor pagination: `limit` and an opaque `cursor`; answers carry `next_cursor`, and `total`
//! when the request asks `count=true`.
//!
//! A list handler takes its filters and the paging parameters together as
//! `Paged<FilterQuery>`: the filters keep refusing unknown parameters, and the operation lists
//! `params(FilterQuery, PageQuery)`. [`document`] (run over the whole OpenAPI document) gives
//! every `limit` and `cursor` parameter the limits the server enforces, whichever struct
//! declares it.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jiekun_store::{Page, PageRequest};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorCode, FieldError};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;
/// Longest cursor this API hands out (sequence cursors are shorter).
pub const MAX_CURSOR_LEN: usize = 64;
/// What every cursor looks like: unpadded URL-safe base64.
pub const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

/// A page of results. 一页结果。
#[derive(Debug, Serialize, ToSchema)]
pub struct PageOf<T: ToSchema> {
    /// The items of this page, in a stable order.
    pub items: Vec<T>,
    /// Pass as `cursor` to read the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// How many items match the filters in all pages; present only when the request asks
    /// `count=true`. 符合条件的总条数，仅在请求 count=true 时返回。
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub total: Option<u64>,
}

impl<T: ToSchema> PageOf<T> {
    /// The page with the total count of matching items (when the request asked for it).
    pub fn with_total(mut self, total: Option<u64>) -> Self {
        self.total = total;
        self
    }
}

/// The number of items matching a list's filters, counted only when the request asks
/// `count=true` (in the same read as the page).
pub fn total_if<E>(
    count: Option<bool>,
    counter: impl FnOnce() -> Result<u64, E>,
) -> Result<Option<u64>, E> {
    match count {
        Some(true) => counter().map(Some),
        _ => Ok(None),
    }
}

/// Paging parameters of every list. 分页参数。
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50). 每页条数（1–200，默认 50）。
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page. 上一页返回的游标。
    #[param(max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub cursor: Option<String>,
    /// `true` to have the answer carry `total`, the number of matching items in all pages.
    /// 为 true 时返回符合条件的总条数 total。
    pub count: Option<bool>,
}

impl PageQuery {
    /// The names this struct reads from a query string.
    pub const NAMES: [&'static str; 3] = ["limit", "cursor", "count"];

    /// Checks `limit` and `cursor` and turns them into a store page request.
    pub fn page_request(&self) -> Result<PageRequest, ApiError> {
        page_request(self.limit, self.cursor.as_deref())
    }

    /// Whether the answer should carry `total`.
    pub fn wants_total(&self) -> bool {
        self.count == Some(true)
    }
}

/// A list's filters `T` and its paging parameters, from one query string. Unknown parameters are
/// still refused by `T` (declare it with `deny_unknown_fields`).
#[derive(Debug)]
pub struct Paged<T> {
    pub filter: T,
    pub page: PageQuery,
}

impl<T: DeserializeOwned> FromRequest for Paged<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(split_query(req.query_string()))
    }
}

fn split_query<T: DeserializeOwned>(query: &str) -> Result<Paged<T>, ApiError> {
    let mut page = form_urlencoded::Serializer::new(String::new());
    let mut filter = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if PageQuery::NAMES.contains(&name.as_ref()) {
            page.append_pair(&name, &value);
        } else {
            filter.append_pair(&name, &value);
        }
    }
    // Both halves are read before answering, so that a bad filter and a bad page are both named.
    let filter = crate::extract::query_from_str::<T>(&filter.finish());
    let page = crate::extract::query_from_str::<PageQuery>(&page.finish());
    match (filter, page) {
        (Ok(filter), Ok(page)) => Ok(Paged { filter, page }),
        (Err(mut a), Err(b)) => {
            a.errors.extend(b.errors);
            Err(a)
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// Gives every `limit` and `cursor` query parameter of the document the limits the server
/// enforces (1–200, default 50; the cursor's length and alphabet), whichever struct declares it.
pub fn document(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    use utoipa::openapi::{RefOr, Schema};
    for item in spec.paths.paths.values_mut() {
        for (_, op) in crate::openapi::operations(item) {
            for p in op.parameters.iter_mut().flatten() {
                if !matches!(p.parameter_in, ParameterIn::Query) {
                    continue;
                }
                let (schema, description) = match p.name.as_str() {
                    "limit" => (
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                            .minimum(Some(1))
                            .maximum(Some(MAX_LIMIT))
                            .default(Some(DEFAULT_LIMIT.into()))
                            .build(),
                        "Page size, 1–200 (default 50). 每页条数（1–200，默认 50）。",
                    ),
                    "cursor" => (
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .max_length(Some(MAX_CURSOR_LEN))
                            .pattern(Some(CURSOR_PATTERN))
                            .build(),
                        "`next_cursor` of the previous page. 上一页返回的游标。",
                    ),
                    _ => continue,
                };
                p.schema = Some(RefOr::T(Schema::Object(schema)));
                if p.description.as_deref().is_none_or(str::is_empty) {
                    p.description = Some(description.to_owned());
                }
            }
        }
    }
}

fn encode(after: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{after}"))
}

fn decode(cursor: &str) -> Option<String> {
    if cursor.len() > MAX_CURSOR_LEN {
        return None;
    }
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
        let seq = Some(c)
            .filter(|c| c.len() <= MAX_CURSOR_LEN)
            .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
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
        total: None,
    }
}

/// Like [`page_of`], for items whose presentation can fail.
pub fn page_of_try<R, T: ToSchema>(
    items: Vec<R>,
    next_after: Option<String>,
    map: impl Fn(R) -> Result<T, ApiError>,
) -> Result<PageOf<T>, ApiError> {
    Ok(PageOf {
        items: items.into_iter().map(map).collect::<Result<_, _>>()?,
        next_cursor: next_cursor(next_after.as_deref()),
        total: None,
    })
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
        assert!(page_request(None, Some(&"A".repeat(MAX_CURSOR_LEN + 1))).is_err());
        assert!(seq_page_request(None, Some(&"A".repeat(MAX_CURSOR_LEN + 1))).is_err());
        let longest = encode("01900000-0000-7000-8000-000000000000");
        assert!(longest.len() <= MAX_CURSOR_LEN);
        assert!(longest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert!(seq_cursor(i64::MIN).len() <= MAX_CURSOR_LEN);
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Filter {
        status: Option<String>,
        main_cause: Option<u8>,
    }

    #[test]
    fn paged_queries_split_filters_from_paging() {
        let p: Paged<Filter> = split_query("status=filed&limit=5&cursor=abc&count=true").unwrap();
        assert_eq!(p.filter.status.as_deref(), Some("filed"));
        assert_eq!(p.filter.main_cause, None);
        assert_eq!(p.page.limit, Some(5));
        assert_eq!(p.page.cursor.as_deref(), Some("abc"));
        assert!(p.page.wants_total());
        let p: Paged<Filter> = split_query("").unwrap();
        assert!(!p.page.wants_total());
        assert_eq!(p.page.page_request().unwrap().limit, DEFAULT_LIMIT);
        // Unknown names are still refused, and bad values on both sides are all named.
        let e = split_query::<Filter>("statsu=filed").unwrap_err();
        assert_eq!(e.errors[0].field, "statsu");
        let e = split_query::<Filter>("main_cause=x&limit=y").unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["main_cause", "limit"]);
        let e = split_query::<Filter>("count=maybe").unwrap_err();
        assert_eq!(e.errors[0].field, "count");
        let e = Paged::<Filter> {
            filter: Filter {
                status: None,
                main_cause: None,
            },
            page: PageQuery {
                limit: Some(0),
                ..PageQuery::default()
            },
        }
        .page
        .page_request()
        .unwrap_err();
        assert_eq!(e.errors[0].field, "limit");
    }

    #[test]
    fn total_is_present_only_when_asked() {
        let page = || PageOf::<String> {
            items: vec!["a".into()],
            next_cursor: None,
            total: None,
        };
        let v = serde_json::to_value(page()).unwrap();
        assert!(v.get("total").is_none());
        let v = serde_json::to_value(page().with_total(Some(7))).unwrap();
        assert_eq!(v["total"], 7);
    }
}
