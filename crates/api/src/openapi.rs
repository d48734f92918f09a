//! The OpenAPI document: what the routes declare, plus what every route shares (the error answers,
//! by status, with an example for each code). Finished here so that no route can forget them.

use std::collections::BTreeMap;

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{ContentBuilder, OpenApi as Spec, Ref, RefOr, Response, ResponseBuilder};
use utoipa::OpenApi;

use jiekun_domain::access::{key_scope_for, role_allows, Action, Role};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};

use crate::error::{ApiError, ErrorCode, FieldError, Problem};

/// Who may call an operation.
#[derive(Debug, Clone, Copy)]
pub enum Who {
    /// Anyone (probes, signing in).
    Public,
    /// Signed-in users whose roles allow the action.
    Users(Action),
    /// Users whose roles allow the action, and API keys with the action's scope.
    UsersOrKeys(Action),
    /// Any signed-in user or API key.
    Anyone,
}

/// Every operation and who may call it. The handlers enforce it; the authorisation test checks
/// every cell of it against the running server, and the document publishes it.
pub const ACCESS: &[(&str, Who)] = &[
    ("healthz", Who::Public),
    ("readyz", Who::Public),
    ("sign_in", Who::Public),
    ("who_am_i", Who::Anyone),
    (
        "list_organisations",
        Who::UsersOrKeys(Action::DirectoryRead),
    ),
    ("get_organisation", Who::UsersOrKeys(Action::DirectoryRead)),
    ("create_organisation", Who::Users(Action::OrganisationWrite)),
    ("update_organisation", Who::Users(Action::OrganisationWrite)),
    ("list_departments", Who::UsersOrKeys(Action::DirectoryRead)),
    ("get_department", Who::UsersOrKeys(Action::DirectoryRead)),
    ("create_department", Who::Users(Action::DepartmentWrite)),
    ("update_department", Who::Users(Action::DepartmentWrite)),
    ("list_enterprises", Who::UsersOrKeys(Action::DirectoryRead)),
    ("get_enterprise", Who::UsersOrKeys(Action::DirectoryRead)),
    ("create_enterprise", Who::Users(Action::EnterpriseWrite)),
    ("update_enterprise", Who::Users(Action::EnterpriseWrite)),
    ("list_users", Who::Users(Action::UserRead)),
    ("get_user", Who::Users(Action::UserRead)),
    ("create_user", Who::Users(Action::UserWrite)),
    ("update_user", Who::Users(Action::UserWrite)),
    // Also allowed to every user for their own password (with the current one).
    ("change_password", Who::Users(Action::UserWrite)),
    ("list_api_keys", Who::Users(Action::ApiKeyRead)),
    ("get_api_key", Who::Users(Action::ApiKeyRead)),
    ("create_api_key", Who::Users(Action::ApiKeyWrite)),
    ("revoke_api_key", Who::Users(Action::ApiKeyWrite)),
    ("list_households", Who::Users(Action::HouseholdRead)),
    ("get_household", Who::Users(Action::HouseholdRead)),
    ("search_households", Who::Users(Action::HouseholdRead)),
    ("list_household_incomes", Who::Users(Action::HouseholdRead)),
    (
        "list_household_expenditures",
        Who::Users(Action::HouseholdRead),
    ),
    ("create_household", Who::Users(Action::HouseholdWrite)),
    ("update_household", Who::Users(Action::HouseholdWrite)),
    ("add_household_member", Who::Users(Action::HouseholdWrite)),
    (
        "update_household_member",
        Who::Users(Action::HouseholdWrite),
    ),
    (
        "remove_household_member",
        Who::Users(Action::HouseholdWrite),
    ),
    ("add_household_incomes", Who::Users(Action::HouseholdWrite)),
    (
        "update_household_income",
        Who::Users(Action::HouseholdWrite),
    ),
    (
        "delete_household_income",
        Who::Users(Action::HouseholdWrite),
    ),
    (
        "add_household_expenditures",
        Who::Users(Action::HouseholdWrite),
    ),
    (
        "update_household_expenditure",
        Who::Users(Action::HouseholdWrite),
    ),
    (
        "delete_household_expenditure",
        Who::Users(Action::HouseholdWrite),
    ),
    ("list_policy_parameters", Who::Users(Action::PolicyRead)),
    ("resolve_policy", Who::Users(Action::PolicyRead)),
    ("add_policy_parameter", Who::Users(Action::PolicyWrite)),
    ("simulate_policy", Who::Users(Action::HouseholdAssess)),
    ("assess_household", Who::Users(Action::HouseholdAssess)),
    (
        "list_household_assessments",
        Who::Users(Action::HouseholdRead),
    ),
    ("replay_assessment", Who::Users(Action::HouseholdRead)),
    ("list_exit_candidates", Who::Users(Action::HouseholdRead)),
    ("list_return_warnings", Who::Users(Action::HouseholdRead)),
    ("get_household_accident", Who::Users(Action::HouseholdRead)),
    ("set_household_accident", Who::Users(Action::HouseholdWrite)),
    (
        "delete_household_accident",
        Who::Users(Action::HouseholdWrite),
    ),
    ("open_application", Who::Users(Action::ApplicationOpen)),
    ("list_applications", Who::Users(Action::HouseholdRead)),
    ("get_application", Who::Users(Action::HouseholdRead)),
    ("act_on_application", Who::Users(Action::WorkflowAct)),
    ("open_exit_case", Who::Users(Action::ExitOpen)),
    ("list_exit_cases", Who::Users(Action::HouseholdRead)),
    ("get_exit_case", Who::Users(Action::HouseholdRead)),
    ("act_on_exit_case", Who::Users(Action::WorkflowAct)),
    ("get_household_timeline", Who::Users(Action::HouseholdRead)),
    ("close_monitoring", Who::Users(Action::WorkflowAct)),
    ("record_annual_review", Who::Users(Action::WorkflowAct)),
    ("list_annual_reviews", Who::Users(Action::HouseholdRead)),
    ("list_reviews_due", Who::Users(Action::HouseholdRead)),
    ("get_queue", Who::Users(Action::HouseholdRead)),
    ("list_public_notices", Who::Users(Action::HouseholdRead)),
    ("get_public_notice", Who::Public),
    ("raise_objection", Who::Users(Action::ObjectionRaise)),
    ("list_objections", Who::Users(Action::HouseholdRead)),
    ("resolve_objection", Who::Users(Action::WorkflowAct)),
    ("list_calendar_days", Who::Users(Action::PolicyRead)),
    ("put_calendar_day", Who::Users(Action::CalendarWrite)),
    ("delete_calendar_day", Who::Users(Action::CalendarWrite)),
    ("list_measures", Who::Anyone),
    ("get_household_plan", Who::Users(Action::PlanRead)),
    ("propose_household_plan", Who::Users(Action::PlanWrite)),
    ("accept_plan_measure", Who::Users(Action::PlanWrite)),
    ("drop_plan_measure", Who::Users(Action::PlanWrite)),
    ("add_plan_measure", Who::Users(Action::PlanWrite)),
    ("list_referrals", Who::UsersOrKeys(Action::ReferralRead)),
    ("get_referral", Who::UsersOrKeys(Action::ReferralRead)),
    (
        "acknowledge_referral",
        Who::UsersOrKeys(Action::ReferralAnswer),
    ),
    ("decline_referral", Who::UsersOrKeys(Action::ReferralAnswer)),
    ("deliver_referral", Who::UsersOrKeys(Action::ReferralAnswer)),
    ("list_assistance", Who::UsersOrKeys(Action::AssistanceRead)),
    ("get_assistance", Who::UsersOrKeys(Action::AssistanceRead)),
    (
        "create_assistance",
        Who::UsersOrKeys(Action::AssistanceWrite),
    ),
    (
        "reverse_assistance",
        Who::UsersOrKeys(Action::AssistanceWrite),
    ),
    ("list_consents", Who::Users(Action::HouseholdRead)),
    ("record_consent", Who::Users(Action::ConsentWrite)),
    ("revoke_consent", Who::Users(Action::ConsentWrite)),
    ("open_verification", Who::Users(Action::VerificationOpen)),
    ("list_verifications", Who::Users(Action::VerificationRead)),
    ("get_verification", Who::Users(Action::VerificationRead)),
    (
        "list_verification_tasks",
        Who::UsersOrKeys(Action::VerificationRead),
    ),
    (
        "get_verification_task",
        Who::UsersOrKeys(Action::VerificationRead),
    ),
    (
        "answer_verification_task",
        Who::UsersOrKeys(Action::VerificationRespond),
    ),
    ("list_discrepancies", Who::Users(Action::HouseholdRead)),
    (
        "resolve_discrepancy",
        Who::Users(Action::DiscrepancyResolve),
    ),
    ("issue_exchange_secret", Who::Users(Action::DepartmentWrite)),
    ("export_exchange_batch", Who::Users(Action::ExchangeRun)),
    ("get_exchange_batch", Who::Users(Action::ExchangeRun)),
    ("import_exchange_batch", Who::Users(Action::ExchangeRun)),
    ("create_campaign", Who::Users(Action::CampaignWrite)),
    ("list_campaigns", Who::Users(Action::CampaignRead)),
    ("get_campaign", Who::Users(Action::CampaignRead)),
    ("set_campaign_quota", Who::Users(Action::CampaignQuotaWrite)),
    ("list_campaign_eligible", Who::Users(Action::CampaignRead)),
    ("get_campaign_progress", Who::Users(Action::CampaignRead)),
    (
        "create_campaign_payment",
        Who::Users(Action::CampaignPaymentWrite),
    ),
    ("create_contact", Who::Users(Action::ContactWrite)),
    ("list_contacts", Who::Users(Action::ContactRead)),
    ("get_contact", Who::Users(Action::ContactRead)),
    ("end_contact", Who::Users(Action::ContactWrite)),
    (
        "create_contact_visit",
        Who::Users(Action::ContactVisitWrite),
    ),
    ("list_contact_visits", Who::Users(Action::ContactRead)),
    ("list_contact_gaps", Who::Users(Action::ContactRead)),
    ("list_reports", Who::UsersOrKeys(Action::ReportRead)),
    ("get_report", Who::UsersOrKeys(Action::ReportRead)),
    ("list_audit_events", Who::Users(Action::AuditRead)),
    ("verify_audit_chain", Who::Users(Action::AuditRead)),
];

pub const BEARER: &str = "bearer_auth";
pub const API_KEY: &str = "api_key";

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
        (name = "households", description = "The household file: households, members, income, rigid expenditure; personal data masked by default. 困难职工家庭档案：户、成员、收入、刚性支出；个人信息默认脱敏。"),
        (name = "policy", description = "The policy book: effective-dated, region-scoped parameters; what-if simulations. 政策参数（按区划、生效日期管理）与调整模拟。"),
        (name = "assessments", description = "Identification and exit decisions, stored with their snapshot and replayable; exit candidates. 识别与退出评估（保存快照，可复算）；可退出家庭。"),
        (name = "workflows", description = "Filing, public notice, objections, approval, exit, annual review and work queues across the union hierarchy. 建档、公示、异议、审批、退出、年度复核与待办，贯穿各级工会。"),
        (name = "measures", description = "The 19 measures of 《实施方案》三 and each filed household's plan of measures (一户一策). 《实施方案》三的 19 项帮扶措施及已建档家庭的帮扶措施计划。"),
        (name = "referrals", description = "Accepted measures sent to their lead departments, which acknowledge, decline or deliver them. 转介牵头部门的帮扶措施及其受理、落实情况。"),
        (name = "assistance", description = "The assistance ledger: help actually given, capped per household and year, corrected by reversing entries. 帮扶台账：实际给予的帮扶，按户按年设上限，以冲正方式更正。"),
        (name = "campaigns", description = "Campaigns of the union (金秋助学 《实施方案》三(五)10, 送温暖 三(七)14): the budget split down the tree as quotas, the households each rule picks, payments recorded in the assistance ledger, progress by organisation. 工会帮扶活动（金秋助学、送温暖）：额度逐级分配、符合条件的家庭、发放记入帮扶台账、各组织发放进度。"),
        (name = "contacts", description = "Dual contact (双包联系, 《实施方案》三(七)14): the county union with 1–3 difficult enterprises, each leadership member with 2–3 households, cadres with workers; visits logged with the county's activity types; gaps against these bounds. 双包联系：县总工会联系1-3家困难企业，班子成员每人联系2-3户，干部联系困难职工；按本县活动类型登记走访；列出缺口。"),
        (name = "verifications", description = "Information sharing with departments (《实施方案》三(一)1): members' signed consents, verification requests and the tasks departments answer with dated facts, and the discrepancies found. 信息共享：成员授权书、数据核对请求及部门以注明日期的核实信息答复的任务、核对差异。"),
        (name = "exchange", description = "Offline exchange with departments that have no network link: signed batch files of open tasks out, signed answer files in. 与无网络连接部门的离线交换：导出签名的待答复任务批次文件，导入签名的答复文件。"),
        (name = "reports", description = "Reports for supervision (督查问效, 《实施方案》四(三)): JSON or CSV, for the caller's scope, as of any past moment, reproducible to the hash. 督查报表：JSON 或 CSV，按调用者范围，可取任一过去时点，同一时点结果及摘要不变。"),
        (name = "auth", description = "Signing in and who the caller is. 登录与当前身份。"),
        (name = "users", description = "People who sign in, their roles and passwords. 用户、角色与密码。"),
        (name = "api-keys", description = "Keys for partner departments' systems. 部门系统的 API 密钥。"),
        (name = "audit", description = "The tamper-evident audit log. 防篡改审计日志。"),
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
    let components = spec.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "Access token from `POST /api/v1/auth/token` (HS256, short-lived). \
                     用户登录后获得的访问令牌。",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        API_KEY,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Api-Key",
            "A partner department's key; `Authorization: ApiKey <key>` works too. \
             部门系统的 API 密钥，也可用 Authorization: ApiKey <密钥>。",
        ))),
    );
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

/// Who may call the operation with this id.
pub fn who(operation_id: &str) -> Option<Who> {
    ACCESS
        .iter()
        .find(|(id, _)| *id == operation_id)
        .map(|(_, w)| *w)
}

/// Refusals particular to one operation (by its id), besides those its shape implies.
const OWN_CODES: &[(&str, &[ErrorCode])] = &[
    // The last disabled member of a household whose vehicle is exempted for them stays (422).
    ("remove_household_member", &[ErrorCode::ValidationFailed]),
    // Exit is assessed only for a household on file.
    ("assess_household", &[ErrorCode::HouseholdNotFiled]),
    // One version per parameter, region and start date.
    ("add_policy_parameter", &[ErrorCode::PolicyVersionExists]),
    // The household may not exist; caps, a reused key, a household not on file.
    (
        "create_assistance",
        &[
            ErrorCode::NotFound,
            ErrorCode::OverCap,
            ErrorCode::IdempotencyKeyReused,
            ErrorCode::WrongState,
        ],
    ),
    // A reused key; a step the referral's or entry's state does not allow.
    (
        "reverse_assistance",
        &[ErrorCode::IdempotencyKeyReused, ErrorCode::WrongState],
    ),
    (
        "acknowledge_referral",
        &[ErrorCode::IdempotencyKeyReused, ErrorCode::WrongState],
    ),
    (
        "decline_referral",
        &[ErrorCode::IdempotencyKeyReused, ErrorCode::WrongState],
    ),
    (
        "deliver_referral",
        &[ErrorCode::IdempotencyKeyReused, ErrorCode::WrongState],
    ),
    // The notice waits for the departments' answers unless overridden.
    ("act_on_application", &[ErrorCode::VerificationPending]),
    (
        "open_verification",
        &[ErrorCode::NotFound, ErrorCode::ConsentMissing],
    ),
    ("record_consent", &[ErrorCode::NotFound]),
    ("revoke_consent", &[ErrorCode::WrongState]),
    (
        "answer_verification_task",
        &[ErrorCode::IdempotencyKeyReused, ErrorCode::WrongState],
    ),
    ("resolve_discrepancy", &[ErrorCode::WrongState]),
    ("issue_exchange_secret", &[ErrorCode::NotFound]),
    ("export_exchange_batch", &[ErrorCode::WrongState]),
    (
        "import_exchange_batch",
        &[
            ErrorCode::NotFound,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::PayloadTooLarge,
            ErrorCode::ChecksumMismatch,
            ErrorCode::SignatureInvalid,
            ErrorCode::RowsInvalid,
            ErrorCode::BatchAnswered,
            ErrorCode::WrongState,
        ],
    ),
    // An organisation outside the campaign; a quota over its parent's or under its commitments.
    (
        "set_campaign_quota",
        &[ErrorCode::NotFound, ErrorCode::QuotaOutOfBounds],
    ),
    // The household may not exist or be paid already; quotas, caps, a reused key, a household
    // not on file.
    (
        "create_campaign_payment",
        &[
            ErrorCode::NotFound,
            ErrorCode::AlreadyPaid,
            ErrorCode::OverQuota,
            ErrorCode::OverCap,
            ErrorCode::IdempotencyKeyReused,
            ErrorCode::WrongState,
        ],
    ),
    // The same contact with the same household or enterprise in an overlapping period.
    ("create_contact", &[ErrorCode::AlreadyExists]),
    // An assignment outside the scope, or ended already.
    (
        "end_contact",
        &[ErrorCode::NotFound, ErrorCode::AlreadyEnded],
    ),
    // A household not filed; a measure decided already or in the plan already.
    ("propose_household_plan", &[ErrorCode::WrongState]),
    ("accept_plan_measure", &[ErrorCode::WrongState]),
    ("drop_plan_measure", &[ErrorCode::WrongState]),
    ("add_plan_measure", &[ErrorCode::WrongState]),
];

/// Which error codes an operation can answer with.
fn codes_for(method: &str, path: &str, op: &Operation) -> Vec<ErrorCode> {
    // Every request passes the edge: an overlong URL or header section is refused there.
    let edge = [ErrorCode::UriTooLong, ErrorCode::HeadersTooLarge];
    let mut codes = vec![ErrorCode::InternalError, ErrorCode::ServiceUnavailable];
    codes.extend(edge);
    if path == "/healthz" {
        let mut codes = vec![ErrorCode::InternalError];
        codes.extend(edge);
        return codes;
    }
    match op.operation_id.as_deref().and_then(who) {
        Some(Who::Public) | None => {}
        Some(Who::Anyone) => codes.extend([ErrorCode::Unauthenticated, ErrorCode::RateLimited]),
        // A department key is held to its rate before it is told the operation is not for keys.
        Some(Who::Users(_)) => codes.extend([
            ErrorCode::Unauthenticated,
            ErrorCode::Forbidden,
            ErrorCode::RateLimited,
        ]),
        Some(Who::UsersOrKeys(_)) => codes.extend([
            ErrorCode::Unauthenticated,
            ErrorCode::Forbidden,
            ErrorCode::RateLimited,
        ]),
    }
    if matches!(
        op.operation_id.as_deref(),
        Some("create_household" | "add_household_member")
    ) {
        // Refusals of a person filed elsewhere are throttled per caller.
        codes.push(ErrorCode::RateLimited);
    }
    if let Some((_, own)) = OWN_CODES
        .iter()
        .find(|(id, _)| op.operation_id.as_deref() == Some(*id))
    {
        codes.extend_from_slice(own);
    }
    if op.operation_id.as_deref() == Some("sign_in") {
        codes.extend([
            ErrorCode::InvalidCredentials,
            ErrorCode::AccountUnavailable,
            ErrorCode::RateLimited,
        ]);
    }
    let has_query = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter()
            .any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query))
    });
    if has_query {
        codes.push(ErrorCode::InvalidParameter);
    }
    if path.contains('{') {
        // A path parameter with a control or invisible character is refused at the edge.
        codes.extend([ErrorCode::NotFound, ErrorCode::InvalidParameter]);
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
    let takes_if_match = op
        .parameters
        .as_ref()
        .is_some_and(|ps| ps.iter().any(|p| p.name == "If-Match"));
    if matches!(method, "patch" | "put") || takes_if_match {
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

/// The roles allowed an action, as names.
fn roles_for(action: Action) -> Vec<&'static str> {
    Role::ALL
        .iter()
        .filter(|&&r| role_allows(r, action))
        .map(|r| r.as_str())
        .collect()
}

/// Declares the operation's security requirements and states them in both languages, with an
/// `x-jiekun-access` extension machines can read.
fn document_access(op: &mut Operation) {
    let Some(who) = op.operation_id.as_deref().and_then(who) else {
        return;
    };
    let bearer = || SecurityRequirement::new(BEARER, Vec::<String>::new());
    let key = || SecurityRequirement::new(API_KEY, Vec::<String>::new());
    let (security, roles, scope, text) = match who {
        Who::Public => (
            vec![SecurityRequirement::default()],
            Vec::new(),
            None,
            "No credentials needed. 无需身份凭证。".to_owned(),
        ),
        Who::Anyone => (
            vec![bearer(), key()],
            Role::ALL.iter().map(|r| r.as_str()).collect(),
            None,
            "Any signed-in user or API key. 任何登录用户或 API 密钥。".to_owned(),
        ),
        Who::Users(action) => {
            let roles = roles_for(action);
            let text = format!(
                "Users with a role of: {r}; inside their organisation's subtree. API keys are refused. \
                 仅限以下角色的用户，限本组织及下级范围：{r}。API 密钥不可调用。",
                r = roles.join(", ")
            );
            (vec![bearer()], roles, None, text)
        }
        Who::UsersOrKeys(action) => {
            let roles = roles_for(action);
            let scope = key_scope_for(action).map(|s| s.as_str());
            let text = format!(
                "Users with a role of: {r} (their subtree); API keys with the scope `{s}` (their \
                 department's region). 以下角色的用户（本组织及下级范围）：{r}；或具有 `{s}` 权限范围的 API 密钥（本部门辖区）。",
                r = roles.join(", "),
                s = scope.unwrap_or_default()
            );
            (vec![bearer(), key()], roles, scope, text)
        }
    };
    op.security = Some(security);
    let description = op.description.take().unwrap_or_default();
    op.description = Some(format!("{description}\n\n**Access 权限:** {text}"));
    let mut ext = utoipa::openapi::extensions::Extensions::default();
    ext.insert(
        "x-jiekun-access".into(),
        serde_json::json!({
            "public": matches!(who, Who::Public),
            "roles": roles,
            "api_keys": matches!(who, Who::Anyone | Who::UsersOrKeys(_)),
            "api_key_scope": scope,
        }),
    );
    match &mut op.extensions {
        Some(existing) => existing.merge(ext),
        None => op.extensions = Some(ext),
    }
}

/// Adds the shared error answers and access rules to every operation.
pub fn finish(mut spec: Spec) -> Spec {
    for (path, item) in spec.paths.paths.iter_mut() {
        for (method, op) in operations(item) {
            document_access(op);
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
