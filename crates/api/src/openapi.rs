//! The OpenAPI document: what the routes declare, plus what every route shares (the error answers,
//! by status, with an example for each code). Finished here so that no route can forget them.

use std::collections::BTreeMap;

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{ContentBuilder, OpenApi as Spec, Ref, RefOr, Response, ResponseBuilder};
use utoipa::OpenApi;

use crate::error::{ApiError, ErrorCode, FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "jiekun 解困 API",
        description = "",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "organisations", description = "The union hierarchy: city federation → county federation → grassroots unions. 工会组织体系：市总工会 → 县总工会 → 基层工会。"),
        (name = "departments", description = "Partner government departments that lead measures and share data. 牵头落实帮扶措施、共享数据的合作部门。"),
        (name = "enterprises", description = "Employers, with their unified social credit codes. 企业及其统一社会信用代码。"),
        (name = "operations", description = "Liveness and readiness probes. 存活与就绪探针。"),
    ),
    components(schemas(Problem, FieldError, ErrorCode)),
)]
struct ApiDoc;

const INTRO: &str = "\
Backend of the urban hardship-worker relief programme (城市困难职工解困脱困): identifying hardship \
households, filing them, delivering the measures of partner departments and tracking exit.\n\n\
城市困难职工解困脱困工作系统后端：精准识别、建档立卡、精准施策、精准退出。\n\n\
**Conventions 约定** — JSON in snake_case; opaque ids; lists are paged with `limit` and `cursor` \
(follow `next_cursor`); every change takes `If-Match` with the `ETag` last read (412 when stale, \
428 when missing); every response carries `x-request-id`; errors are RFC 9457 \
`application/problem+json` with a stable `code`, an English `detail`, a Chinese `detail_zh` and \
per-field `errors`.\n\n\
JSON 字段使用 snake_case；标识不透明；列表以 `limit` 和 `cursor` 分页；修改须携带 If-Match；\
每个响应带 `x-request-id`；错误采用 RFC 9457 格式，含稳定错误代码、中英文说明和字段级错误。";

/// The starting document the routes are added to.
pub fn base() -> Spec {
    let mut spec = ApiDoc::openapi();
    spec.info.description = Some(format!("{INTRO}\n\n{}", error_table()));
    spec
}

fn error_table() -> String {
    let mut t = String::from(
        "**Error codes 错误代码**\n\n| code | status | meaning | 含义 |\n|---|---|---|---|\n",
    );
    for &c in ErrorCode::ALL {
        t.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            c.as_str(),
            c.status().as_u16(),
            c.title(),
            c.title_zh()
        ));
    }
    t
}

/// Which shared error codes an operation can answer with.
fn codes_for(method: &str, path: &str, op: &Operation) -> Vec<ErrorCode> {
    let mut codes = vec![ErrorCode::InternalError, ErrorCode::ServiceUnavailable];
    if path == "/healthz" {
        return vec![ErrorCode::InternalError];
    }
    let has_query = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter()
            .any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query))
    });
    if has_query {
        codes.push(ErrorCode::InvalidParameter);
    }
    if path.contains('{') {
        codes.push(ErrorCode::NotFound);
    }
    if op.request_body.is_some() {
        codes.extend([
            ErrorCode::MalformedJson,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::ValidationFailed,
        ]);
    }
    if matches!(method, "post" | "patch") {
        codes.push(ErrorCode::AlreadyExists);
    }
    if method == "patch" {
        codes.extend([
            ErrorCode::InvalidParameter,
            ErrorCode::PreconditionFailed,
            ErrorCode::PreconditionRequired,
        ]);
    }
    codes.sort_by_key(|c| (c.status().as_u16(), c.as_str()));
    codes.dedup();
    codes
}

fn error_response(codes: &[ErrorCode]) -> Response {
    let names: Vec<String> = codes.iter().map(|c| format!("`{}`", c.as_str())).collect();
    let en: Vec<&str> = codes.iter().map(|c| c.title()).collect();
    let zh: Vec<&str> = codes.iter().map(|c| c.title_zh()).collect();
    let mut content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem")));
    let mut examples = BTreeMap::new();
    for &c in codes {
        let problem = ApiError::bare(c).problem(
            Some("/api/v1/…".into()),
            Some("7f3c2a9e-4b1d-4e8a-9c6f-2d5b8a1e0f34".into()),
        );
        let example = utoipa::openapi::example::ExampleBuilder::new()
            .summary(c.title())
            .value(serde_json::to_value(problem).ok())
            .build();
        examples.insert(c.as_str().to_owned(), example);
    }
    content = content.examples_from_iter(examples);
    ResponseBuilder::new()
        .description(format!(
            "{}: {}. {}。",
            names.join(", "),
            en.join("; "),
            zh.join("；")
        ))
        .content("application/problem+json", content.build())
        .build()
}

/// Adds the shared error answers to every operation and orders everything deterministically.
pub fn finish(mut spec: Spec) -> Spec {
    for (path, item) in spec.paths.paths.iter_mut() {
        for (method, op) in operations(item) {
            let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
            for c in codes_for(method, path, op) {
                by_status.entry(c.status().as_u16()).or_default().push(c);
            }
            for (status, codes) in by_status {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| RefOr::T(error_response(&codes)));
            }
        }
    }
    spec
}

/// The operations of a path item with their lower-case method names.
pub fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("patch", item.patch.as_mut()),
        ("head", item.head.as_mut()),
        ("options", item.options.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|o| (m, o)))
    .collect()
}
