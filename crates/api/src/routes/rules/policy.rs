//! The policy book (政策参数): its versions, the ones in force, and new versions.

use actix_web::{get, post, web, HttpResponse};
use jiekun_domain::access::Action;
use jiekun_domain::closed::ClosedList;
use jiekun_domain::rules::{ParamKey, ParamValue, ValueKind};
use jiekun_domain::RegionCode;
use jiekun_store::rules::{self as store, ParameterRow};
use jiekun_store::StoreError;

use super::dto::{NewParameter, ParameterQuery, PolicyParameter, ResolvedParameter, ResolvedQuery};
use crate::auth::Access;
use crate::body::Body;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::extract::ApiQuery;
use crate::fields::Fields;
use crate::routes::{outside_region, query_error};
use crate::{db, AppState};

fn region_query(v: &str) -> ApiResult<RegionCode> {
    crate::fields::region("region_code", v).map_err(query_error)
}

/// List policy parameters · 查询政策参数
///
/// Every version of every parameter (built-in defaults and versions entered since), optionally
/// only those that apply to a region. Nothing is ever rewritten: a change is a new dated version.
///
/// 列出政策参数的全部版本（内置默认值及后续录入的版本），可只看适用于某区划的版本。参数从不改写，变更即新增带生效日期的版本。
#[utoipa::path(operation_id = "list_policy_parameters", tag = "policy", params(ParameterQuery),
    responses((status = 200, description = "Parameter versions. 参数版本。", body = Vec<PolicyParameter>)))]
#[get("/policy/parameters")]
pub(super) async fn list_parameters(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<ParameterQuery>,
) -> ApiResult<web::Json<Vec<PolicyParameter>>> {
    access.require_user(Action::PolicyRead)?;
    let region = q.region_code.as_deref().map(region_query).transpose()?;
    let book = db::run(&state.db, |c| Ok(store::policy_book(c)?)).await?;
    Ok(web::Json(
        book.parameters
            .iter()
            .filter(|p| region.is_none_or(|r| p.applies_to(r.as_str())))
            .filter(|p| q.key.as_deref().is_none_or(|k| p.key.as_str() == k))
            .map(PolicyParameter::from)
            .collect(),
    ))
}

/// Add a parameter version · 新增参数版本
///
/// Enters a new dated version of a parameter for a region inside yours, with the document that
/// sets it. It takes effect on `effective_from` (today or later) and ends the version before it
/// for the same region, whose `effective_to` becomes this `effective_from`; when a later version
/// was entered already, this one ends where that one begins. A parameter has one version per
/// region and start date: a second is refused (409 `policy_version_exists`) and nothing is
/// written. Audited.
///
/// 为本辖区内的区划录入参数的新版本及依据文件，自生效日期（不早于今天）起替代该区划的前一版本（前一版本的失效日期即为本版本的生效日期）；若已录入更晚的版本，本版本至该版本生效时失效。同一参数在同一区划、同一生效日期只能有一个版本，重复录入将被拒绝（409），不做任何修改。记入审计。
#[utoipa::path(operation_id = "add_policy_parameter", tag = "policy", request_body = NewParameter,
    responses((status = 201, description = "Added. 已新增。", body = PolicyParameter)))]
#[post("/policy/parameters")]
pub(super) async fn add_parameter(
    state: web::Data<AppState>,
    access: Access,
    body: Body,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::PolicyWrite)?;
    let body: NewParameter = body.parse()?;
    let (row, region) = parameter_of(&body, &state.clock, &user.username)?;
    if !scope.covers_region(&region) {
        return Err(outside_region());
    }
    let request = serde_json::to_value(&body).unwrap_or_default();
    let caller = access.caller();
    let id = row.id.clone();
    let book = db::write(&state.db, move |c| {
        store::add_parameter(c, &caller, &row, request).map_err(|e| match e {
            StoreError::Conflict { constraint } if constraint == store::POLICY_VERSION => {
                version_exists(&body)
            }
            e => e.into(),
        })
    })
    .await?;
    let added = book
        .parameters
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| ApiError::internal("added parameter missing"))?;
    Ok(HttpResponse::Created().json(PolicyParameter::from(added)))
}

/// A second version of a parameter for the same region and start date.
fn version_exists(body: &NewParameter) -> ApiError {
    let name_zh = ParamKey::from_code(&body.key).map_or("", |k| k.meaning_zh());
    let (key, region, from) = (&body.key, &body.region_code, body.effective_from);
    let en = format!(
        "{key} already has a version for {region} from {from}: a change is a new version with \
         another start date"
    );
    let zh = format!(
        "区划 {region} 的政策参数“{name_zh}”（{key}）已有自 {from} 起生效的版本，不能重复录入；如需调整，请以其他生效日期录入新版本"
    );
    ApiError::new(ErrorCode::PolicyVersionExists, en.clone(), zh.clone())
        .with_field(FieldError::new("effective_from", "duplicate", en, zh))
}

/// A new version as the store keeps it, and the region it applies to; every field checked.
fn parameter_of(
    body: &NewParameter,
    clock: &crate::clock::Clock,
    created_by: &str,
) -> ApiResult<(ParameterRow, RegionCode)> {
    let today = clock.today();
    let mut fields = Fields::default();
    let key = ParamKey::from_code(&body.key);
    if key.is_none() {
        fields.push(FieldError::new(
            "key",
            "invalid_value",
            "not a policy parameter",
            "不是政策参数",
        ));
    }
    let region = fields.region("region_code", &body.region_code);
    if body.effective_from < today {
        fields.push(FieldError::new(
            "effective_from",
            "in_the_past",
            "the past is never rewritten: today or later",
            "不得追溯：生效日期不能早于今天",
        ));
    }
    let document = fields.name("document", &body.document, 200);
    let value = key.and_then(|k| fields.check(check_value(k, &body.value)));
    fields.finish()?;
    let (Some(key), Some(region), Some(document), Some(value)) = (key, region, document, value)
    else {
        return Err(ApiError::internal("field parsing lost a value"));
    };
    let row = ParameterRow {
        id: jiekun_store::new_id(),
        key: key.as_str().into(),
        region_prefix: region.prefix().into(),
        effective_from: body.effective_from,
        value: serde_json::to_string(&value).unwrap_or_default(),
        document,
        created_by: created_by.into(),
        created_at: clock.stored_now(),
        // The store sets it from the versions that follow.
        effective_to: None,
    };
    Ok((row, region))
}

/// The most items a list value holds: each income kind, or each cause code, once.
pub(super) fn list_max(kind: ValueKind) -> Option<usize> {
    match kind {
        ValueKind::IncomeKinds => Some(jiekun_domain::household::IncomeKind::values().len()),
        ValueKind::Causes => Some(10),
        ValueKind::Codes => Some(30),
        ValueKind::Int | ValueKind::Bool | ValueKind::Comparator => None,
    }
}

/// Checks a value has the type its parameter takes.
pub(super) fn check_value(key: ParamKey, v: &serde_json::Value) -> Result<ParamValue, FieldError> {
    let (en, zh) = value_kind_names(key.value_kind());
    if let (Some(max), Some(items)) = (list_max(key.value_kind()), v.as_array()) {
        if items.len() > max {
            return Err(FieldError::new(
                "value",
                "too_many",
                format!("at most {max} items"),
                format!("最多 {max} 项"),
            ));
        }
    }
    let wrong = || {
        FieldError::new(
            "value",
            "invalid_type",
            format!("{} takes {en}", key.as_str()),
            format!("{}（{}）的取值应为{zh}", key.as_str(), key.meaning_zh()),
        )
    };
    let value = match key.value_kind() {
        ValueKind::Comparator => serde_json::from_value(v.clone())
            .ok()
            .map(ParamValue::Comparator),
        ValueKind::IncomeKinds => serde_json::from_value(v.clone())
            .ok()
            .map(ParamValue::Kinds),
        ValueKind::Causes => serde_json::from_value::<Vec<u8>>(v.clone())
            .ok()
            .filter(|c| c.iter().all(|c| (1..=10).contains(c)))
            .map(ParamValue::Causes),
        ValueKind::Codes => serde_json::from_value::<Vec<String>>(v.clone())
            .ok()
            .filter(|c| {
                !c.is_empty()
                    && c.iter()
                        .all(|s| jiekun_domain::contact::activity_code_ok(s))
                    && c.iter().enumerate().all(|(i, s)| !c[..i].contains(s))
            })
            .map(ParamValue::Codes),
        ValueKind::Bool => v.as_bool().map(ParamValue::Bool),
        ValueKind::Int => v.as_i64().filter(|n| *n >= 0).map(ParamValue::Int),
    };
    value.ok_or_else(wrong)
}

/// What a type of value is, in English and Chinese.
pub(super) fn value_kind_names(kind: ValueKind) -> (&'static str, &'static str) {
    match kind {
        ValueKind::Int => ("a whole number, not negative", "非负整数"),
        ValueKind::Bool => ("true or false", " true 或 false"),
        ValueKind::Comparator => (
            "\"le\" (at most) or \"lt\" (below)",
            " le（不超过）或 lt（低于）",
        ),
        ValueKind::IncomeKinds => ("a list of income kinds", "收入类别列表"),
        ValueKind::Causes => ("a list of cause codes 1–10", "致困原因代码（1–10）列表"),
        ValueKind::Codes => (
            "a list of 1–30 distinct codes of lower-case letters, digits and _",
            "1–30 个互不重复的代码（小写字母、数字和下划线）列表",
        ),
    }
}

/// Parameters in force · 生效参数
///
/// The version of every parameter in force for a region on a date: the most specific region
/// prefix wins, and of its versions the latest to start on or before the date.
///
/// 某区划在某日生效的全部参数：区划前缀最具体者优先；同一区划取该日或之前最晚生效的版本。
#[utoipa::path(operation_id = "resolve_policy", tag = "policy", params(ResolvedQuery),
    responses((status = 200, description = "Parameters in force. 生效参数。", body = Vec<ResolvedParameter>)))]
#[get("/policy/resolved")]
pub(super) async fn resolve_policy(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<ResolvedQuery>,
) -> ApiResult<web::Json<Vec<ResolvedParameter>>> {
    access.require_user(Action::PolicyRead)?;
    let region = region_query(&q.region_code)?;
    let date = q.date.unwrap_or_else(|| state.clock.today());
    let book = db::run(&state.db, |c| Ok(store::policy_book(c)?)).await?;
    let out = ParamKey::ALL
        .iter()
        .filter_map(|k| book.lookup(*k, region.as_str(), date).ok())
        .map(ResolvedParameter::from)
        .collect();
    Ok(web::Json(out))
}
