//! Errors as RFC 9457 `application/problem+json`, each with a stable snake_case `code`.
//!
//! One table (`ErrorCode::status`) maps codes to statuses; the OpenAPI document lists every code.
//! 5xx answers say nothing about internals: the cause goes to the log with the request id.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use jiekun_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:ident, $en:literal, $zh:literal;)*) => {
        /// Stable machine-readable error codes. 稳定的错误代码。
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode { $($variant,)* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::$status,)* }
            }

            /// Short English title (the problem's `title`).
            pub fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $en,)* }
            }

            /// Short Chinese title.
            pub fn title_zh(self) -> &'static str {
                match self { $(ErrorCode::$variant => $zh,)* }
            }
        }
    };
}

error_codes! {
    MalformedJson = "malformed_json", BAD_REQUEST, "The body is not well-formed JSON", "请求体不是合法的 JSON";
    InvalidParameter = "invalid_parameter", BAD_REQUEST, "A path, query or header parameter is invalid", "路径、查询或请求头参数无效";
    Unauthenticated = "unauthenticated", UNAUTHORIZED, "Credentials are missing or invalid", "缺少身份凭证或凭证无效";
    InvalidCredentials = "invalid_credentials", UNAUTHORIZED, "Wrong username or password", "用户名或密码错误";
    Forbidden = "forbidden", FORBIDDEN, "Not allowed for this caller", "当前调用方无权执行此操作";
    AccountUnavailable = "account_unavailable", FORBIDDEN, "The account is locked or disabled", "账号已锁定或停用";
    NotFound = "not_found", NOT_FOUND, "The resource does not exist", "资源不存在";
    RouteNotFound = "route_not_found", NOT_FOUND, "No such endpoint", "接口不存在";
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED, "Method not allowed on this endpoint", "该接口不支持此请求方法";
    AlreadyExists = "already_exists", CONFLICT, "A record with the same identity already exists", "已存在相同标识的记录";
    PolicyVersionExists = "policy_version_exists", CONFLICT, "This parameter already has a version for this region from this date", "该参数在该区划已有自该日期起生效的版本";
    PreconditionFailed = "precondition_failed", PRECONDITION_FAILED, "The resource changed since you read it", "资源已被修改，请重新读取后再提交";
    PayloadTooLarge = "payload_too_large", PAYLOAD_TOO_LARGE, "The body is too large", "请求体过大";
    UriTooLong = "uri_too_long", URI_TOO_LONG, "The URL is too long", "请求网址过长";
    HeadersTooLarge = "headers_too_large", REQUEST_HEADER_FIELDS_TOO_LARGE, "The request headers are too many or too large", "请求头过多或过大";
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "The body must be application/json", "请求体必须为 application/json";
    WrongState = "wrong_state", CONFLICT, "This step cannot be taken in the case's current state", "当前状态下不能执行此操作";
    WrongRole = "wrong_role", FORBIDDEN, "This step belongs to another role", "此操作应由其他角色执行";
    OutOfScope = "out_of_scope", FORBIDDEN, "The case lies outside your organisation's scope", "该事项不在您所在组织的管辖范围内";
    NoticeRunning = "notice_running", CONFLICT, "The public notice is still running", "公示期尚未结束";
    OpenObjection = "open_objection", CONFLICT, "An objection to the notice is still open", "公示异议尚未处理完毕";
    NotFastPath = "not_fast_path", CONFLICT, "Only death or transfer exits without notice", "仅死亡或迁出可不经公示直接退出";
    NoticeClosed = "notice_closed", CONFLICT, "The public notice is not running", "公示不在进行中";
    MonitoringRunning = "monitoring_running", CONFLICT, "The monitoring period has not ended", "监测期尚未结束";
    HouseholdNotFiled = "household_not_filed", CONFLICT, "Exit is assessed only for a filed household", "仅已建档立卡的家庭可进行退出评估";
    VerificationPending = "verification_pending", CONFLICT, "Departments have not answered every verification task", "部门尚未答复全部数据核对任务";
    ConsentMissing = "consent_missing", CONFLICT, "The members' consents do not cover the data asked for", "家庭成员的授权未覆盖所请求核对的数据";
    ChecksumMismatch = "checksum_mismatch", UNPROCESSABLE_ENTITY, "The file's SHA-256 is not the manifest's", "文件的 SHA-256 与清单不符";
    SignatureInvalid = "signature_invalid", UNPROCESSABLE_ENTITY, "The signature does not verify with the department's exchange secret", "签名无法用该部门的交换密钥验证";
    RowsInvalid = "rows_invalid", UNPROCESSABLE_ENTITY, "Some rows of the file are wrong: nothing was applied", "文件中部分行有误，未导入任何数据";
    BatchAnswered = "batch_answered", CONFLICT, "Another answer file of this batch was imported already", "该批次已导入另一份答复文件";
    AlreadyEnded = "already_ended", CONFLICT, "The dual-contact assignment has ended already", "该双包联系已结束";
    AlreadyPaid = "already_paid", CONFLICT, "The household has been paid by this campaign already", "该家庭已领取本次活动的帮扶金";
    OverQuota = "over_quota", CONFLICT, "The payment would exceed an organisation's quota", "该发放将超出组织的活动额度";
    QuotaOutOfBounds = "quota_out_of_bounds", CONFLICT, "The quota exceeds what the parent leaves, or falls below what is committed", "额度超出上级可分配额度，或低于已分配、已发放金额";
    OverCap = "over_cap", UNPROCESSABLE_ENTITY, "The entry would exceed a yearly cap on assistance", "该记录将超过帮扶金额年度上限";
    IdempotencyKeyReused = "idempotency_key_reused", UNPROCESSABLE_ENTITY, "The Idempotency-Key was used for another request", "该 Idempotency-Key 已用于另一个请求";
    ValidationFailed = "validation_failed", UNPROCESSABLE_ENTITY, "Some fields are invalid", "部分字段校验未通过";
    PreconditionRequired = "precondition_required", PRECONDITION_REQUIRED, "If-Match is required for this change", "修改操作必须携带 If-Match 请求头";
    RateLimited = "rate_limited", TOO_MANY_REQUESTS, "Too many requests; see Retry-After", "请求过于频繁，请按 Retry-After 稍后重试";
    ServiceUnavailable = "service_unavailable", SERVICE_UNAVAILABLE, "The service is temporarily unavailable", "服务暂时不可用";
    InternalError = "internal_error", INTERNAL_SERVER_ERROR, "Internal error", "服务器内部错误";
}

/// One problem with one field. 单个字段的问题。
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Path of the field (`credit_code`, `members[1].national_id`, or a header/query name).
    #[schema(example = "credit_code")]
    pub field: String,
    /// Stable code of the problem with this field.
    #[schema(example = "invalid_check_character")]
    pub code: String,
    /// English message.
    pub message: String,
    /// 中文说明。
    pub message_zh: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: &str,
        message: impl Into<String>,
        message_zh: impl Into<String>,
    ) -> Self {
        FieldError {
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
            message_zh: message_zh.into(),
        }
    }

    pub fn required(field: &str) -> Self {
        FieldError::new(field, "required", "is required", "必填")
    }
}

/// RFC 9457 problem details. 错误详情（RFC 9457）。
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:jiekun:problem:<code>`.
    #[serde(rename = "type")]
    #[schema(example = "urn:jiekun:problem:validation_failed")]
    pub problem_type: String,
    /// English title of the problem type.
    pub title: String,
    /// HTTP status.
    #[schema(example = 422)]
    pub status: u16,
    /// Stable error code.
    pub code: ErrorCode,
    /// What happened, in English.
    pub detail: String,
    /// 问题说明（中文）。
    pub detail_zh: String,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The `x-request-id` of the request, to quote when asking for help.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Field-level problems, when the problem is with the input.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// An error the API answers with.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    pub detail_zh: String,
    pub errors: Vec<FieldError>,
    /// Internal cause, logged for 5xx and never sent.
    pub cause: Option<Box<str>>,
    /// Headers the answer carries (`Retry-After`, `WWW-Authenticate`).
    pub headers: Vec<(actix_web::http::header::HeaderName, String)>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)?;
        if let Some(cause) = &self.cause {
            write!(f, " (cause: {cause})")?;
        }
        Ok(())
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>, detail_zh: impl Into<String>) -> Self {
        ApiError {
            code,
            detail: detail.into(),
            detail_zh: detail_zh.into(),
            errors: Vec::new(),
            cause: None,
            headers: Vec::new(),
        }
    }

    /// The code's own titles as the detail.
    pub fn bare(code: ErrorCode) -> Self {
        ApiError::new(code, code.title(), code.title_zh())
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        ApiError {
            errors,
            ..ApiError::bare(ErrorCode::ValidationFailed)
        }
    }

    pub fn not_found(what: &str, what_zh: &str) -> Self {
        ApiError::new(
            ErrorCode::NotFound,
            format!("{what} not found"),
            format!("{what_zh}不存在"),
        )
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError {
            cause: Some(cause.to_string().into()),
            ..ApiError::bare(ErrorCode::InternalError)
        }
    }

    pub fn with_field(mut self, e: FieldError) -> Self {
        self.errors.push(e);
        self
    }

    pub fn problem(&self, instance: Option<String>, request_id: Option<String>) -> Problem {
        Problem {
            problem_type: format!("urn:jiekun:problem:{}", self.code.as_str()),
            title: self.code.title().to_owned(),
            status: self.code.status().as_u16(),
            code: self.code,
            detail: self.detail.clone(),
            detail_zh: self.detail_zh.clone(),
            instance,
            request_id,
            errors: self.errors.clone(),
        }
    }

    pub fn response(&self, instance: Option<String>, request_id: Option<String>) -> HttpResponse {
        let mut res = HttpResponse::build(self.code.status());
        for (name, value) in &self.headers {
            res.insert_header((name.clone(), value.as_str()));
        }
        res.content_type("application/problem+json")
            .json(self.problem(instance, request_id))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        // The request-id middleware renders it again with the request id and path.
        self.response(None, None)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::bare(ErrorCode::NotFound),
            StoreError::Conflict { constraint } => conflict(constraint),
            StoreError::VersionMismatch { actual, .. } => ApiError::new(
                ErrorCode::PreconditionFailed,
                format!("the resource is now at version {actual}; read it again and retry"),
                format!("资源当前版本为 {actual}，请重新读取后再提交"),
            ),
            StoreError::Busy | StoreError::Unavailable(_) => ApiError {
                cause: Some(e.to_string().into()),
                ..ApiError::bare(ErrorCode::ServiceUnavailable)
            },
            StoreError::Config(_) | StoreError::Db(_) => ApiError::internal(e),
        }
    }
}

/// A unique-constraint hit, told as the field that collides.
fn conflict(constraint: &str) -> ApiError {
    if constraint == jiekun_store::rules::POLICY_VERSION {
        let (en, zh) = (
            "this parameter already has a version for this region from this date: a change is a new version with another start date",
            "该参数在该区划已有自该日期起生效的版本，不能重复录入；如需调整，请以其他生效日期录入新版本",
        );
        return ApiError::new(ErrorCode::PolicyVersionExists, en, zh).with_field(FieldError::new(
            "effective_from",
            "duplicate",
            en,
            zh,
        ));
    }
    let (field, en, zh) = match constraint {
        "enterprises.credit_code" => (
            "credit_code",
            "an enterprise with this unified social credit code is already registered",
            "该统一社会信用代码的企业已登记",
        ),
        "organisations.name" => (
            "name",
            "the parent organisation already has a child of this name",
            "上级组织下已有同名组织",
        ),
        "departments.code_region" => (
            "code",
            "this region already has a department of this kind",
            "该地区已登记同类部门",
        ),
        _ => (
            "",
            "a record with the same identity already exists",
            "已存在相同标识的记录",
        ),
    };
    let err = ApiError::new(ErrorCode::AlreadyExists, en, zh);
    if field.is_empty() {
        err
    } else {
        err.with_field(FieldError::new(field, "duplicate", en, zh))
    }
}

impl From<jiekun_store::DbError> for ApiError {
    fn from(e: jiekun_store::DbError) -> Self {
        StoreError::from(e).into()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_serialise_as_themselves() {
        let mut seen = std::collections::HashSet::new();
        for &c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {}", c.as_str());
            assert!(c
                .as_str()
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch == '_'));
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::Value::String(c.as_str().into())
            );
            assert!(c.status().is_client_error() || c.status().is_server_error());
        }
    }

    #[test]
    fn problem_has_the_rfc_9457_members() {
        let p = ApiError::validation(vec![FieldError::required("name")])
            .problem(Some("/x".into()), Some("r1".into()));
        let v = serde_json::to_value(p).unwrap();
        assert_eq!(v["type"], "urn:jiekun:problem:validation_failed");
        assert_eq!(v["status"], 422);
        assert_eq!(v["code"], "validation_failed");
        assert_eq!(v["errors"][0]["field"], "name");
        assert_eq!(v["request_id"], "r1");
    }

    #[test]
    fn a_second_policy_version_of_one_start_is_a_conflict_of_its_own() {
        let e = ApiError::from(StoreError::Conflict {
            constraint: jiekun_store::rules::POLICY_VERSION,
        });
        assert_eq!(e.code, ErrorCode::PolicyVersionExists);
        assert_eq!(e.code.status(), StatusCode::CONFLICT);
        assert_eq!(e.errors[0].field, "effective_from");
        assert_eq!(e.errors[0].code, "duplicate");
    }

    #[test]
    fn server_errors_hide_their_cause() {
        let e = ApiError::internal("password=hunter2 at db.rs:12");
        let body = serde_json::to_string(&e.problem(None, None)).unwrap();
        assert!(!body.contains("hunter2"));
        assert!(e.to_string().contains("hunter2"));
    }
}
