//! What the policy, assessment and simulation endpoints take and answer.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use jiekun_domain::closed::ClosedList;
use jiekun_domain::household::IncomeKind;
use jiekun_domain::rules::{ExitVerdict, ParamKey, Parameter, ValueKind, Verdict};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, ToSchema};

use super::super::closed::closed;

/// A version of a policy parameter. 政策参数的一个版本。
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyParameter {
    /// Version id (`default-…` for built-in defaults). 版本标识。
    pub id: String,
    #[schema(schema_with = closed::<ParamKey>)]
    pub key: String,
    /// 参数名称。
    pub name_zh: String,
    /// GB/T 2260 prefix it applies under (`""` everywhere). 适用区划前缀。
    #[schema(example = "610724")]
    pub region_prefix: String,
    pub effective_from: NaiveDate,
    /// Exclusive; absent while in force. 失效日期（不含）。
    pub effective_to: Option<NaiveDate>,
    /// The value, of the type its parameter takes. 取值（类型随参数而定）。
    #[schema(schema_with = parameter_value)]
    pub value: serde_json::Value,
    /// The document that set it. 依据文件。
    pub document: String,
}

impl From<&Parameter> for PolicyParameter {
    fn from(p: &Parameter) -> Self {
        PolicyParameter {
            id: p.id.clone(),
            key: p.key.as_str().into(),
            name_zh: p.key.meaning_zh().into(),
            region_prefix: p.region_prefix.clone(),
            effective_from: p.effective_from,
            effective_to: p.effective_to,
            value: serde_json::to_value(&p.value).unwrap_or_default(),
            document: p.document.clone(),
        }
    }
}

/// The schema of a parameter's value: the types parameters take, each parameter's named.
fn parameter_value() -> RefOr<Schema> {
    use utoipa::openapi::schema::{
        AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type,
    };
    let listed = |kind: ValueKind| {
        let keys: Vec<&str> = ParamKey::ALL
            .iter()
            .filter(|k| k.value_kind() == kind)
            .map(|k| k.as_str())
            .collect();
        let (en, zh) = super::policy::value_kind_names(kind);
        format!("{en} ({zh}): {}", keys.join(", "))
    };
    let typed = |t: Type, kind: ValueKind| {
        ObjectBuilder::new()
            .schema_type(t)
            .description(Some(listed(kind)))
    };
    // anyOf, not oneOf: a list of income kinds is also a list of codes.
    let any_of = AnyOfBuilder::new()
        .item(
            typed(Type::Integer, ValueKind::Int)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(0)),
        )
        .item(typed(Type::Boolean, ValueKind::Bool))
        .item(typed(Type::String, ValueKind::Comparator).enum_values(Some(["le", "lt"])))
        .item(
            ArrayBuilder::new()
                .items(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(IncomeKind::codes())))
                .max_items(super::policy::list_max(ValueKind::IncomeKinds))
                .description(Some(listed(ValueKind::IncomeKinds))),
        )
        .item(
            ArrayBuilder::new()
                .items(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(10)))
                .max_items(super::policy::list_max(ValueKind::Causes))
                .description(Some(listed(ValueKind::Causes))),
        )
        .item(
            ArrayBuilder::new()
                .items(ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[a-z][a-z0-9_]{0,39}$")))
                .min_items(Some(1))
                .max_items(super::policy::list_max(ValueKind::Codes))
                .description(Some(listed(ValueKind::Codes))),
        )
        .description(Some(
            "The value's type depends on the parameter: a whole number, true or false, a comparator, or a list. 取值类型随参数而定：非负整数、true/false、比较方式或列表。",
        ))
        .build();
    RefOr::T(Schema::AnyOf(any_of))
}

/// Parameter values by key, each of the type its parameter takes.
fn parameter_values() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Object)
        .additional_properties(Some(AdditionalProperties::RefOr(parameter_value())))
        .property_names(Some(
            utoipa::openapi::schema::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .enum_values(Some(ParamKey::ALL.iter().map(|k| k.as_str()))),
        ))
        .build()
}

/// A new version of a parameter. 新增参数版本。
#[derive(Debug, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"key": "notice_days", "region_code": "610724", "effective_from": "2099-01-01", "value": 7, "document": "西工发〔2026〕12号"}))]
pub struct NewParameter {
    #[schema(schema_with = closed::<ParamKey>)]
    pub key: String,
    /// A GB/T 2260 code inside your region (`610724`, or `6107` written as `610700`). 适用区划。
    #[schema(example = "610724", pattern = "^[0-9]{6}$")]
    pub region_code: String,
    /// Today or later: the past is never rewritten. 生效日期（不早于今天）。
    pub effective_from: NaiveDate,
    /// Of the type the parameter takes. 取值（类型随参数而定）。
    #[schema(schema_with = parameter_value, example = 72000)]
    pub value: serde_json::Value,
    /// The policy document it rests on, 1–200 characters. 依据文件（文号）。
    #[validate(length(max = 200, code = "too_long"))]
    #[schema(example = "西民发〔2026〕12号", max_length = 200)]
    pub document: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParameterQuery {
    /// Versions that apply to this region. 适用于该区划的版本。
    pub region_code: Option<String>,
    #[param(schema_with = closed::<jiekun_domain::rules::ParamKey>)]
    pub key: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResolvedQuery {
    #[param(example = "610724")]
    pub region_code: String,
    /// Default today. 默认今天。
    pub date: Option<NaiveDate>,
}

/// One resolved parameter. 生效参数。
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolvedParameter {
    #[schema(schema_with = closed::<ParamKey>)]
    pub key: String,
    pub name_zh: String,
    /// Of the type the parameter takes. 取值（类型随参数而定）。
    #[schema(schema_with = parameter_value)]
    pub value: serde_json::Value,
    pub version: String,
    pub region_prefix: String,
    pub effective_from: NaiveDate,
    pub document: String,
}

impl From<&Parameter> for ResolvedParameter {
    fn from(p: &Parameter) -> Self {
        ResolvedParameter {
            key: p.key.as_str().into(),
            name_zh: p.key.meaning_zh().into(),
            value: serde_json::to_value(&p.value).unwrap_or_default(),
            version: p.id.clone(),
            region_prefix: p.region_prefix.clone(),
            effective_from: p.effective_from,
            document: p.document.clone(),
        }
    }
}

/// Which assessment to make. 评估类型。
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentKind {
    /// 精准识别：深度、相对、意外致困或不符合。
    Identify,
    /// 精准退出：脱困、解困或继续帮扶。
    Exit,
}

/// Make an assessment. 发起评估。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "identify"}))]
pub struct NewAssessment {
    pub kind: AssessmentKind,
    /// Default today; not in the future. 评估日期，默认今天。
    pub date: Option<NaiveDate>,
}

/// A stored assessment with its explanation. 评估结果及说明。
#[derive(Debug, Serialize, ToSchema)]
pub struct Assessment {
    pub id: String,
    pub household_id: String,
    pub kind: AssessmentKind,
    pub assessment_date: NaiveDate,
    /// What identification finds (`deep`, `relative`, `accident`, `not_eligible`) or what the
    /// exit rule finds (`out_of_hardship`, `safety_net`, `stay`), by `kind`.
    /// 识别结论或退出结论，视评估类型而定。
    #[schema(schema_with = crate::routes::closed::verdict)]
    pub verdict: String,
    /// Figures and tests, as the rules returned them. 规则给出的数字和各项检验。
    #[schema(value_type = Object)]
    pub decision: serde_json::Value,
    /// The explanation for an auditor, in Chinese and English. 供审计阅读的中英文说明。
    pub explanation: Explanation,
    /// The parameter versions used. 所用参数版本。
    pub parameters: Vec<PolicyParameter>,
    /// SHA-256 of the snapshot and the decision. 快照与结论的哈希。
    pub hash: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// Lines of explanation. 说明。
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Explanation {
    pub zh: Vec<String>,
    pub en: Vec<String>,
}

/// The result of a replay. 复算结果。
#[derive(Debug, Serialize, ToSchema)]
pub struct Replay {
    pub assessment_id: String,
    /// The stored hash matches the stored snapshot and decision. 存储哈希与快照、结论一致。
    pub hash_matches: bool,
    /// Running the rules again on the stored snapshot gives the stored decision. 复算结论一致。
    pub identical: bool,
    #[schema(schema_with = crate::routes::closed::verdict)]
    pub stored_verdict: String,
    #[schema(schema_with = crate::routes::closed::verdict)]
    pub replayed_verdict: String,
}

/// A monitored household that looks like hardship again. 疑似返困的家庭。
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnWarning {
    pub household_id: String,
    #[schema(schema_with = closed::<Verdict>)]
    pub verdict: String,
    pub net_income_fen: i64,
    pub members_counted: i64,
}

/// A household that may exit. 可退出的家庭。
#[derive(Debug, Serialize, ToSchema)]
pub struct ExitCandidate {
    pub household_id: String,
    #[schema(schema_with = closed::<ExitVerdict>)]
    pub verdict: String,
    pub consecutive_months_above: i64,
}

/// A proposed change to the policy. 拟议的政策调整。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"parameters": {"dibao_standard_fen": 80000}}))]
pub struct Simulation {
    /// Parameter values to try, by key, e.g. `{"dibao_standard_fen": 80000}`. 拟调整的参数值。
    #[schema(schema_with = parameter_values)]
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Default today. 默认今天。
    pub date: Option<NaiveDate>,
    /// How many changed households to list (default 100, at most 1000). 列出的变化户数上限。
    pub sample: Option<usize>,
}

/// Counts of one region. 某区划的统计。
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct RegionCounts {
    /// Households by verdict now (`deep`, `relative`, `accident`, `not_eligible`).
    /// 现行政策下各识别结论的户数。
    // closed list: Verdict (the keys)
    pub current: BTreeMap<String, u64>,
    /// Households by verdict under the proposal. 拟议政策下各识别结论的户数。
    // closed list: Verdict (the keys)
    pub proposed: BTreeMap<String, u64>,
    /// Would enter (not eligible now, eligible then). 新纳入。
    pub would_enter: u64,
    /// Would leave. 将退出。
    pub would_leave: u64,
    /// Would change category. 类别变化。
    pub would_change_category: u64,
}

/// One changed household. 变化的家庭。
#[derive(Debug, Serialize, ToSchema)]
pub struct SimulatedChange {
    pub household_id: String,
    pub region_code: String,
    #[schema(schema_with = closed::<Verdict>)]
    pub current: String,
    #[schema(schema_with = closed::<Verdict>)]
    pub proposed: String,
}

/// What the proposal would do. 模拟结果。
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct SimulationResult {
    pub households: u64,
    pub by_region: BTreeMap<String, RegionCounts>,
    pub changes: Vec<SimulatedChange>,
}

/// A sudden event and its cost to the household. 意外事件及其造成的支出或损失。
#[derive(Debug, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"description": "家中失火，房屋受损", "occurred_on": "2026-03-12", "costs_fen": 3500000}))]
pub struct Accident {
    /// What happened, 1–500 characters. 事件经过。
    #[validate(length(max = 500, code = "too_long"))]
    #[schema(example = "2026年7月洪灾，住房受损", max_length = 500)]
    pub description: String,
    /// Not in the future. 发生日期。
    pub occurred_on: NaiveDate,
    /// Costs or losses left after compensation, insurance and relief, in fen. 扣除赔偿、保险、救助后的支出或损失（分）。
    #[schema(minimum = 0)]
    pub costs_fen: i64,
}
