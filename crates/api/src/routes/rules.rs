//! The rules through the API: the policy book, assessments of a household (stored with their
//! snapshot, replayable), exit candidates and what-if simulations.

use std::collections::BTreeMap;

use actix_web::{delete, get, post, put, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use jiekun_domain::access::Action;
use jiekun_domain::rules::{
    assess_exit, identify, Decision, ExitDecision, ExitPolicy, ExitVerdict, ParamKey, ParamValue,
    Parameter, PolicyBook, Snapshot, Verdict,
};
use jiekun_domain::RegionCode;
use jiekun_store::rules::{self as store, AssessmentRow, ParameterRow, Stored};
use jiekun_store::{audit, Scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{not_found, query_error, utc};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiJson, ApiQuery};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_parameters)
        .service(add_parameter)
        .service(resolve_policy)
        .service(assess)
        .service(list_assessments)
        .service(replay)
        .service(exit_candidates)
        .service(return_watch)
        .service(get_accident)
        .service(set_accident)
        .service(delete_accident)
        .service(simulate);
}

/// A version of a policy parameter. 政策参数的一个版本。
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyParameter {
    /// Version id (`default-…` for built-in defaults). 版本标识。
    pub id: String,
    #[schema(example = "dibao_standard_fen")]
    pub key: String,
    /// 参数名称。
    pub name_zh: String,
    /// GB/T 2260 prefix it applies under (`""` everywhere). 适用区划前缀。
    #[schema(example = "610724")]
    pub region_prefix: String,
    pub effective_from: NaiveDate,
    /// Exclusive; absent while in force. 失效日期（不含）。
    pub effective_to: Option<NaiveDate>,
    /// Integer, boolean, `le`/`lt`, or a list. 取值。
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
    /// The document that set it. 依据文件。
    pub document: String,
}

impl From<&Parameter> for PolicyParameter {
    fn from(p: &Parameter) -> Self {
        PolicyParameter {
            id: p.id.clone(),
            key: p.key.as_str().into(),
            name_zh: p.key.name_zh().into(),
            region_prefix: p.region_prefix.clone(),
            effective_from: p.effective_from,
            effective_to: p.effective_to,
            value: serde_json::to_value(&p.value).unwrap_or_default(),
            document: p.document.clone(),
        }
    }
}

/// A new version of a parameter. 新增参数版本。
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"key": "notice_days", "region_code": "610724", "effective_from": "2099-01-01", "value": 7, "document": "西工发〔2026〕12号"}))]
pub struct NewParameter {
    #[schema(example = "dibao_standard_fen")]
    pub key: String,
    /// A GB/T 2260 code inside your region (`610724`, or `6107` written as `610700`). 适用区划。
    #[schema(example = "610724")]
    pub region_code: String,
    /// Today or later: the past is never rewritten. 生效日期（不早于今天）。
    pub effective_from: NaiveDate,
    #[schema(value_type = Object, example = 72000)]
    pub value: serde_json::Value,
    /// 依据文件（文号）。
    #[schema(example = "西民发〔2026〕12号")]
    pub document: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParameterQuery {
    /// Versions that apply to this region. 适用于该区划的版本。
    pub region_code: Option<String>,
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
async fn list_parameters(
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
/// sets it. It takes effect on `effective_from` (today or later) and ends the version before it.
/// Audited.
///
/// 为本辖区内的区划录入参数的新版本及依据文件，自生效日期（不早于今天）起替代前一版本。记入审计。
#[utoipa::path(operation_id = "add_policy_parameter", tag = "policy", request_body = NewParameter,
    responses((status = 201, description = "Added. 已新增。", body = PolicyParameter)))]
#[post("/policy/parameters")]
async fn add_parameter(
    state: web::Data<AppState>,
    access: Access,
    ApiJson(body): ApiJson<NewParameter>,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::PolicyWrite)?;
    let created_by = user.username.clone();
    let mut errors = Vec::new();
    let key = ParamKey::parse(&body.key);
    if key.is_none() {
        errors.push(FieldError::new(
            "key",
            "invalid_value",
            "not a policy parameter",
            "不是政策参数",
        ));
    }
    let region = crate::fields::region("region_code", &body.region_code)
        .map_err(|e| errors.push(e))
        .ok();
    if body.effective_from < state.clock.today() {
        errors.push(FieldError::new(
            "effective_from",
            "in_the_past",
            "the past is never rewritten: today or later",
            "不得追溯：生效日期不能早于今天",
        ));
    }
    let document = crate::fields::name("document", &body.document, 200)
        .map_err(|e| errors.push(e))
        .ok();
    let value: Option<ParamValue> = key.and_then(|k| match check_value(k, &body.value) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(e);
            None
        }
    });
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (Some(key), Some(region), Some(document), Some(value)) = (key, region, document, value)
    else {
        return Err(ApiError::internal("field parsing lost a value"));
    };
    if !scope.covers_region(&region) {
        return Err(super::outside_region());
    }
    let recorded = serde_json::to_value(&body).unwrap_or_default();
    let row = ParameterRow {
        id: jiekun_store::new_id(),
        key: key.as_str().into(),
        region_prefix: region.prefix().into(),
        effective_from: body.effective_from,
        value: serde_json::to_string(&value).unwrap_or_default(),
        document,
        created_by,
        created_at: jiekun_store::now(),
    };
    let id = row.id.clone();
    let book = db::write(&state.db, move |c| {
        store::add_parameter(c, &row)?;
        audit::append(
            c,
            access.event(
                "policy.parameter_add",
                "policy_parameter",
                &row.id,
                recorded,
            ),
        )?;
        Ok(store::policy_book(c)?)
    })
    .await?;
    let added = book
        .parameters
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| ApiError::internal("added parameter missing"))?;
    Ok(HttpResponse::Created().json(PolicyParameter::from(added)))
}

/// Checks a value has the type its parameter takes.
fn check_value(key: ParamKey, v: &serde_json::Value) -> Result<ParamValue, FieldError> {
    use ParamKey as K;
    let wrong = |what: &str, zh: &str| {
        FieldError::new(
            "value",
            "invalid_type",
            format!("{} takes {what}", key.as_str()),
            zh.to_owned(),
        )
    };
    match key {
        K::DeepComparator | K::RelativeComparator => serde_json::from_value(v.clone())
            .map(ParamValue::Comparator)
            .map_err(|_| wrong("\"le\" or \"lt\"", "取值应为 le 或 lt")),
        K::ExcludedIncomeKinds => serde_json::from_value(v.clone())
            .map(ParamValue::Kinds)
            .map_err(|_| wrong("a list of income kinds", "取值应为收入类别列表")),
        K::RelativeCauses => match serde_json::from_value::<Vec<u8>>(v.clone()) {
            Ok(c) if c.iter().all(|c| (1..=10).contains(c)) => Ok(ParamValue::Causes(c)),
            _ => Err(wrong(
                "a list of cause codes 1–10",
                "取值应为致困原因代码（1–10）列表",
            )),
        },
        K::ImputeUnemployed
        | K::ExcludeVehicles
        | K::ExcludeControllingShareholder
        | K::ExcludeHighFeeSchooling
        | K::ExcludeRefusal
        | K::NoticeWorkingDays => v
            .as_bool()
            .map(ParamValue::Bool)
            .ok_or_else(|| wrong("true or false", "取值应为 true 或 false")),
        _ => match v.as_i64() {
            Some(n) if n >= 0 => Ok(ParamValue::Int(n)),
            _ => Err(wrong("a whole number, not negative", "取值应为非负整数")),
        },
    }
}

/// One resolved parameter. 生效参数。
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolvedParameter {
    pub key: String,
    pub name_zh: String,
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
    pub version: String,
    pub region_prefix: String,
    pub effective_from: NaiveDate,
    pub document: String,
}

/// Parameters in force · 生效参数
///
/// The version of every parameter in force for a region on a date (the most specific region
/// prefix wins).
///
/// 某区划在某日生效的全部参数（区划前缀最具体者优先）。
#[utoipa::path(operation_id = "resolve_policy", tag = "policy", params(ResolvedQuery),
    responses((status = 200, description = "Parameters in force. 生效参数。", body = Vec<ResolvedParameter>)))]
#[get("/policy/resolved")]
async fn resolve_policy(
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
        .map(|p| ResolvedParameter {
            key: p.key.as_str().into(),
            name_zh: p.key.name_zh().into(),
            value: serde_json::to_value(&p.value).unwrap_or_default(),
            version: p.id.clone(),
            region_prefix: p.region_prefix.clone(),
            effective_from: p.effective_from,
            document: p.document.clone(),
        })
        .collect();
    Ok(web::Json(out))
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
#[derive(Debug, Deserialize, ToSchema)]
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
    /// `deep`, `relative`, `accident`, `not_eligible`; or `out_of_hardship`, `safety_net`, `stay`.
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
#[derive(Debug, Serialize, ToSchema)]
pub struct Explanation {
    pub zh: Vec<String>,
    pub en: Vec<String>,
}

fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.abs() / 100, fen.abs() % 100)
}

/// Net income per person per month, rounded down to the fen — shown to readers, never used to decide.
fn per_capita_month(f: &jiekun_domain::rules::Figures) -> i64 {
    let divisor = f.members_counted.max(1) * f.window_months.max(1);
    f.net_income_fen.div_euclid(divisor)
}

fn explain_identify(d: &Decision) -> Explanation {
    let f = &d.figures;
    let window = format!("{}–{}", month_text(f.window_from), month_text(f.window_to));
    let mut zh = vec![
        format!("计算期间 {window}（{} 个月），计入家庭人口 {} 人。", f.window_months, f.members_counted),
        format!(
            "计入收入 {} 元（不计入类别 {} 元，被核实数替代的申报数 {} 元），按最低工资推定收入 {} 元（{} 人）。",
            yuan(f.income_counted_fen), yuan(f.income_excluded_fen), yuan(f.income_replaced_fen), yuan(f.income_imputed_fen), f.members_imputed
        ),
        format!("扣除已核实刚性支出 {} 元（未核实 {} 元不扣除），家庭净收入 {} 元。", yuan(f.expenditure_fen), yuan(f.expenditure_unverified_fen), yuan(f.net_income_fen)),
        format!("低保标准 {} 元/人/月。", yuan(f.standard_fen)),
        format!(
            "人均月净收入约 {} 元（仅供阅读；认定按下列整数交叉相乘比较，不做除法）。",
            yuan(per_capita_month(f))
        ),
    ];
    let mut en = vec![
        format!("Window {window} ({} months), {} members counted.", f.window_months, f.members_counted),
        format!(
            "Income counted {} yuan (excluded kinds {}, declared figures replaced by verified ones {}), minimum wage imputed {} yuan ({} members).",
            yuan(f.income_counted_fen), yuan(f.income_excluded_fen), yuan(f.income_replaced_fen), yuan(f.income_imputed_fen), f.members_imputed
        ),
        format!("Verified rigid expenditure deducted {} yuan (unverified {} not deducted); net household income {} yuan.", yuan(f.expenditure_fen), yuan(f.expenditure_unverified_fen), yuan(f.net_income_fen)),
        format!("Dibao standard {} yuan per person per month.", yuan(f.standard_fen)),
        format!(
            "Net income per person per month about {} yuan (for reading only; the tests below compare whole numbers by cross-multiplication).",
            yuan(per_capita_month(f))
        ),
    ];
    for t in &d.tests {
        let mark_zh = if t.passed { "通过" } else { "未通过" };
        let mark_en = if t.passed { "passed" } else { "failed" };
        zh.push(format!(
            "【{mark_zh}】{}（{} 对 {}）——{}",
            t.rule.describe_zh(),
            t.lhs,
            t.rhs,
            t.rule.clause()
        ));
        en.push(format!(
            "[{mark_en}] {} ({} against {}) — {}",
            t.rule.describe_en(),
            t.lhs,
            t.rhs,
            t.rule.clause()
        ));
    }
    let (vz, ve) = match d.verdict {
        Verdict::Deep => ("结论：深度困难。", "Verdict: deep hardship."),
        Verdict::Relative => ("结论：相对困难。", "Verdict: relative hardship."),
        Verdict::Accident => ("结论：意外致困。", "Verdict: accident-caused hardship."),
        Verdict::NotEligible => ("结论：不符合困难职工认定条件。", "Verdict: not eligible."),
    };
    zh.push(vz.into());
    en.push(ve.into());
    Explanation { zh, en }
}

fn explain_exit(d: &ExitDecision) -> Explanation {
    let mut zh = Vec::new();
    let mut en = Vec::new();
    for m in &d.months {
        zh.push(format!(
            "{}：收入 {} 元，{} 人 × 标准 {} 元 = {} 元，{}（标准版本 {}）",
            m.month,
            yuan(m.income_fen),
            m.members,
            yuan(m.standard_fen),
            yuan(m.standard_fen * m.members),
            if m.above { "超过" } else { "未超过" },
            m.standard_version
        ));
        en.push(format!(
            "{}: income {} yuan against {} members × standard {} = {} yuan: {} (standard version {})",
            m.month, yuan(m.income_fen), m.members, yuan(m.standard_fen), yuan(m.standard_fen * m.members),
            if m.above { "above" } else { "not above" }, m.standard_version
        ));
    }
    zh.push(format!(
        "连续超过标准 {} 个月；未消除的致困原因：{:?}。",
        d.consecutive_months_above, d.unresolved_causes
    ));
    en.push(format!(
        "{} consecutive months above the standard; causes not resolved: {:?}.",
        d.consecutive_months_above, d.unresolved_causes
    ));
    let (vz, ve) = match d.verdict {
        ExitVerdict::OutOfHardship => (
            "结论：脱困（seed §2(2)：连续6个月超过低保标准且致困因素消除）。",
            "Verdict: out of hardship (seed §2(2)).",
        ),
        ExitVerdict::SafetyNet => (
            "结论：解困（纳入政府救助体系并获工会帮扶，生活水平达到低保标准）。",
            "Verdict: safety-net exit (解困, seed §2(2)).",
        ),
        ExitVerdict::Stay => (
            "结论：暂不退出，继续帮扶。",
            "Verdict: stays in the programme.",
        ),
    };
    zh.push(vz.into());
    en.push(ve.into());
    Explanation { zh, en }
}

fn month_text(k: i32) -> String {
    jiekun_domain::household::Month::from_key(k)
        .map(|m| m.to_string())
        .unwrap_or_default()
}

fn policy_error(e: jiekun_domain::rules::PolicyError) -> ApiError {
    ApiError::validation(vec![FieldError::new(
        "date",
        "no_policy",
        e.to_string(),
        "该日期该地区缺少政策参数",
    )])
}

fn stored_kind(kind: AssessmentKind) -> store::AssessmentKind {
    match kind {
        AssessmentKind::Identify => store::AssessmentKind::Identify,
        AssessmentKind::Exit => store::AssessmentKind::Exit,
    }
}

fn kind_of(s: &str) -> AssessmentKind {
    if s == "exit" {
        AssessmentKind::Exit
    } else {
        AssessmentKind::Identify
    }
}

fn answer(row: AssessmentRow, stored: &Stored) -> ApiResult<Assessment> {
    let kind = kind_of(&row.kind);
    let decision: serde_json::Value =
        serde_json::from_str(&row.decision).map_err(ApiError::internal)?;
    let explanation = match kind {
        AssessmentKind::Identify => {
            explain_identify(&serde_json::from_value(decision.clone()).map_err(ApiError::internal)?)
        }
        AssessmentKind::Exit => {
            explain_exit(&serde_json::from_value(decision.clone()).map_err(ApiError::internal)?)
        }
    };
    let used = used_parameters(stored);
    Ok(Assessment {
        id: row.id,
        household_id: row.household_id,
        kind,
        assessment_date: row.assessment_date,
        verdict: row.verdict,
        decision,
        explanation,
        parameters: used,
        hash: row.hash,
        created_by: row.created_by,
        created_at: utc(row.created_at),
    })
}

/// The versions in force on the assessment date among those stored with it.
fn used_parameters(stored: &Stored) -> Vec<PolicyParameter> {
    let book = PolicyBook {
        parameters: stored.parameters.clone(),
    };
    ParamKey::ALL
        .iter()
        .filter_map(|k| {
            book.lookup(
                *k,
                &stored.snapshot.region_code,
                stored.snapshot.assessment_date,
            )
            .ok()
        })
        .map(PolicyParameter::from)
        .collect()
}

fn open_stored(
    cipher: &jiekun_store::crypto::FieldCipher,
    row: &AssessmentRow,
) -> ApiResult<(String, Stored)> {
    let json = cipher
        .decrypt(&store::snapshot_context(&row.id), &row.snapshot_enc)
        .map_err(ApiError::internal)?;
    let stored: Stored = serde_json::from_str(&json).map_err(ApiError::internal)?;
    Ok((json, stored))
}

/// Assess a household · 评估家庭
///
/// Runs identification (category) or exit on the household as it is now, under the policy in
/// force for its region on the date, and stores the decision with its full input snapshot
/// (encrypted) and a hash of both, so that it can be replayed and must give the same answer.
///
/// 对当前档案按该地区评估日期生效的政策进行精准识别（困难类别）或退出评估，并保存结论、完整输入快照（加密）及其哈希，以便日后复算且结论必须一致。
#[utoipa::path(operation_id = "assess_household", tag = "assessments",
    params(("id" = String, Path, description = "Household id. 档案标识。")),
    request_body = NewAssessment,
    responses((status = 201, description = "Assessed. 已评估。", body = Assessment)))]
#[post("/households/{id}/assessments")]
async fn assess(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    ApiJson(body): ApiJson<NewAssessment>,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::HouseholdAssess)?;
    let created_by = user.username.clone();
    let date = body.date.unwrap_or_else(|| state.clock.today());
    if date > state.clock.today() {
        return Err(ApiError::validation(vec![FieldError::new(
            "date",
            "in_the_future",
            "not in the future",
            "评估日期不能晚于今天",
        )]));
    }
    let cipher = state.cipher.clone();
    let id = id.into_inner();
    let kind = body.kind;
    let (row, stored) = db::write(&state.db, move |c| {
        let (row, stored) = store::assess(c, &cipher, &scope, &id, stored_kind(kind), date, &created_by)
            .map_err(|e| match e {
                store::AssessError::Policy(p) => policy_error(p),
                store::AssessError::Store(s) => s.into(),
            })?;
        audit::append(c, access.event("household.assess", "household", &id, serde_json::json!({"assessment_id": row.id, "kind": row.kind, "verdict": row.verdict, "date": date})))?;
        Ok((row, stored))
    })
    .await
    .map_err(|e| not_found(e, "household", "档案"))?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/assessments/{}/replay", row.id)))
        .json(answer(row, &stored)?))
}

/// List assessments · 查询评估记录
///
/// Every stored assessment of a household, newest first, with its explanation.
///
/// 按时间倒序列出某户的全部评估及其说明。
#[utoipa::path(operation_id = "list_household_assessments", tag = "assessments",
    params(("id" = String, Path, description = "Household id. 档案标识。")),
    responses((status = 200, description = "Assessments. 评估记录。", body = Vec<Assessment>)))]
#[get("/households/{id}/assessments")]
async fn list_assessments(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<Assessment>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let id = id.into_inner();
    let rows = db::run(&state.db, move |c| {
        jiekun_store::households::get(c, &scope, &id)?;
        Ok(store::assessments_of(c, &id)?)
    })
    .await
    .map_err(|e| not_found(e, "household", "档案"))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (_, stored) = open_stored(&state.cipher, &row)?;
        out.push(answer(row, &stored)?);
    }
    Ok(web::Json(out))
}

/// The result of a replay. 复算结果。
#[derive(Debug, Serialize, ToSchema)]
pub struct Replay {
    pub assessment_id: String,
    /// The stored hash matches the stored snapshot and decision. 存储哈希与快照、结论一致。
    pub hash_matches: bool,
    /// Running the rules again on the stored snapshot gives the stored decision. 复算结论一致。
    pub identical: bool,
    pub stored_verdict: String,
    pub replayed_verdict: String,
}

/// Replay an assessment · 复算评估
///
/// Runs the rules again on the stored snapshot and parameter versions, and checks both the hash
/// and that the decision comes out identical.
///
/// 用保存的快照和参数版本重新运行规则，核对哈希并确认结论完全一致。
#[utoipa::path(operation_id = "replay_assessment", tag = "assessments",
    params(("id" = String, Path, description = "Assessment id. 评估标识。")),
    responses((status = 200, description = "Replayed. 已复算。", body = Replay)))]
#[get("/assessments/{id}/replay")]
async fn replay(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<Replay>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let id = id.into_inner();
    let row = db::run(&state.db, move |c| Ok(store::assessment(c, &scope, &id)?))
        .await
        .map_err(|e| not_found(e, "assessment", "评估记录"))?;
    let (json, stored) = open_stored(&state.cipher, &row)?;
    let book = PolicyBook {
        parameters: stored.parameters.clone(),
    };
    let (verdict, decision) = store::decide(
        store::AssessmentKind::of(&row.kind),
        &stored.snapshot,
        &book,
    )
    .map_err(policy_error)?;
    Ok(web::Json(Replay {
        hash_matches: store::assessment_hash(&json, &row.decision) == row.hash,
        identical: serde_json::from_str::<serde_json::Value>(&row.decision)
            .is_ok_and(|stored| stored == decision),
        assessment_id: row.id,
        stored_verdict: row.verdict,
        replayed_verdict: verdict,
    }))
}

/// Runs `f` over snapshots of the households of `scope` with one of `statuses`, a batch at a
/// time (500 households, four queries a batch): the registry is never held in memory at once.
fn for_each_batch(
    c: &mut jiekun_store::DbConnection,
    cipher: &jiekun_store::crypto::FieldCipher,
    scope: &Scope,
    statuses: &[&str],
    date: NaiveDate,
    mut f: impl FnMut(Vec<Snapshot>),
) -> ApiResult<()> {
    let mut after: Option<String> = None;
    loop {
        let rows = store::household_batch(c, scope, statuses, after.as_deref(), 500)?;
        let Some(last) = rows.last().map(|h| h.id.clone()) else {
            break;
        };
        f(store::snapshots_of(c, cipher, rows, date)?);
        after = Some(last);
    }
    Ok(())
}

/// A monitored household that looks like hardship again. 疑似返困的家庭。
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnWarning {
    pub household_id: String,
    /// What identification finds now: `deep`, `relative` or `accident`. 当前识别结果。
    pub verdict: String,
    pub net_income_fen: i64,
    pub members_counted: i64,
}

/// Watch for return to hardship · 返困监测
///
/// Exited households still in their monitoring period whose identification today finds hardship
/// again, so that the union can reopen their file in time. Computed in batches.
///
/// 退出后仍在监测期的家庭中，按今日识别规则再次符合困难条件者，便于及时重新纳入帮扶。分批计算。
#[utoipa::path(operation_id = "list_return_warnings", tag = "assessments",
    responses((status = 200, description = "Warnings. 返困预警。", body = Vec<ReturnWarning>)))]
#[get("/return-to-hardship")]
async fn return_watch(
    state: web::Data<AppState>,
    access: Access,
) -> ApiResult<web::Json<Vec<ReturnWarning>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let cipher = state.cipher.clone();
    let date = state.clock.today();
    let found = db::run_blocking(&state.db, move |c| {
        let book = store::policy_book(c)?;
        let mut resolved = BTreeMap::new();
        let mut out = Vec::new();
        for_each_batch(c, &cipher, &scope, &["monitoring"], date, |batch| {
            for s in batch {
                if !resolved.contains_key(&s.region_code) {
                    let Ok(p) = book.resolve(&s.region_code, date) else {
                        continue;
                    };
                    resolved.insert(s.region_code.clone(), p);
                }
                let Some(p) = resolved.get(&s.region_code) else {
                    continue;
                };
                let d = identify(&s, p);
                if d.verdict != Verdict::NotEligible {
                    out.push(ReturnWarning {
                        household_id: s.household_id.clone(),
                        verdict: d.verdict.as_str().into(),
                        net_income_fen: d.figures.net_income_fen,
                        members_counted: d.figures.members_counted,
                    });
                }
            }
        })?;
        Ok(out)
    })
    .await?;
    Ok(web::Json(found))
}

/// A household that may exit. 可退出的家庭。
#[derive(Debug, Serialize, ToSchema)]
pub struct ExitCandidate {
    pub household_id: String,
    /// `out_of_hardship` (脱困) or `safety_net` (解困).
    pub verdict: String,
    pub consecutive_months_above: i64,
}

/// Exit candidates · 可退出家庭
///
/// Filed households of your scope that the exit rule finds ready to leave today: six months
/// above the standard with every cause resolved (脱困), or covered by the safety net (解困).
/// Computed in batches; never loads the registry at once.
///
/// 本范围内已建档家庭中，按今日退出规则可退出者：连续6个月超过低保标准且致困原因全部消除（脱困），或纳入兜底保障（解困）。分批计算，不一次载入全部档案。
#[utoipa::path(operation_id = "list_exit_candidates", tag = "assessments",
    responses((status = 200, description = "Candidates. 可退出家庭。", body = Vec<ExitCandidate>)))]
#[get("/exit-candidates")]
async fn exit_candidates(
    state: web::Data<AppState>,
    access: Access,
) -> ApiResult<web::Json<Vec<ExitCandidate>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let cipher = state.cipher.clone();
    let date = state.clock.today();
    let found = db::run_blocking(&state.db, move |c| {
        let book = store::policy_book(c)?;
        let mut policies: BTreeMap<String, ExitPolicy> = BTreeMap::new();
        let mut out = Vec::new();
        for_each_batch(c, &cipher, &scope, &["filed"], date, |batch| {
            for s in batch {
                if !policies.contains_key(&s.region_code) {
                    match ExitPolicy::resolve(&book, &s.region_code, date) {
                        Ok(p) => {
                            policies.insert(s.region_code.clone(), p);
                        }
                        Err(_) => continue,
                    }
                }
                let Some(p) = policies.get(&s.region_code) else {
                    continue;
                };
                let d = assess_exit(&s, p);
                if d.verdict != ExitVerdict::Stay {
                    out.push(ExitCandidate {
                        household_id: s.household_id.clone(),
                        verdict: serde_json::to_value(d.verdict)
                            .unwrap_or_default()
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        consecutive_months_above: d.consecutive_months_above,
                    });
                }
            }
        })?;
        Ok(out)
    })
    .await?;
    Ok(web::Json(found))
}

/// A proposed change to the policy. 拟议的政策调整。
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"parameters": {"dibao_standard_fen": 80000}}))]
pub struct Simulation {
    /// Parameter values to try, by key, e.g. `{"dibao_standard_fen": 80000}`. 拟调整的参数值。
    #[schema(value_type = Object)]
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Default today. 默认今天。
    pub date: Option<NaiveDate>,
    /// How many changed households to list (default 100, at most 1000). 列出的变化户数上限。
    pub sample: Option<usize>,
}

/// Counts of one region. 某区划的统计。
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct RegionCounts {
    /// Households by category now. 现行政策下各类别户数。
    pub current: BTreeMap<String, u64>,
    /// Households by category under the proposal. 拟议政策下各类别户数。
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
    pub current: String,
    pub proposed: String,
}

/// What the proposal would do. 模拟结果。
#[derive(Debug, Serialize, ToSchema)]
pub struct SimulationResult {
    pub households: u64,
    pub by_region: BTreeMap<String, RegionCounts>,
    pub changes: Vec<SimulatedChange>,
}

/// Simulate a policy change · 政策调整模拟
///
/// Identifies every active household of your scope under the current policy and under the
/// proposed parameter values, and reports who would enter, leave or change category, with counts
/// by region and category. Works through the registry in batches; changes nothing.
///
/// 对本范围内全部有效档案分别按现行政策和拟议参数进行识别，统计新纳入、退出和类别变化的家庭，并按区划、类别汇总。分批处理，不做任何修改。
#[utoipa::path(operation_id = "simulate_policy", tag = "policy", request_body = Simulation,
    responses((status = 200, description = "The result. 模拟结果。", body = SimulationResult)))]
#[post("/policy/simulations")]
async fn simulate(
    state: web::Data<AppState>,
    access: Access,
    ApiJson(body): ApiJson<Simulation>,
) -> ApiResult<web::Json<SimulationResult>> {
    let (_, scope) = access.require_user(Action::HouseholdAssess)?;
    let mut overrides = Vec::new();
    let mut errors = Vec::new();
    for (k, v) in &body.parameters {
        match ParamKey::parse(k) {
            Some(key) => match check_value(key, v) {
                Ok(value) => overrides.push((key, value)),
                Err(mut e) => {
                    e.field = format!("parameters.{k}");
                    errors.push(e)
                }
            },
            None => errors.push(FieldError::new(
                format!("parameters.{k}"),
                "invalid_value",
                "not a policy parameter",
                "不是政策参数",
            )),
        }
    }
    if body.parameters.is_empty() {
        errors.push(FieldError::required("parameters"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let date = body.date.unwrap_or_else(|| state.clock.today());
    let sample = body.sample.unwrap_or(100).min(1000);
    let cipher = state.cipher.clone();
    let result = db::run_blocking(&state.db, move |c| {
        let current = store::policy_book(c)?;
        let mut proposed = current.clone();
        for (key, value) in &overrides {
            // The proposal replaces every version of the key in force on the date.
            for p in proposed
                .parameters
                .iter_mut()
                .filter(|p| p.key == *key && p.in_force(date))
            {
                p.value = value.clone();
            }
        }
        let mut result = SimulationResult {
            households: 0,
            by_region: BTreeMap::new(),
            changes: Vec::new(),
        };
        let mut resolved = BTreeMap::new();
        for_each_batch(
            c,
            &cipher,
            &scope,
            &["draft", "filed", "monitoring"],
            date,
            |batch| {
                for s in batch {
                    if !resolved.contains_key(&s.region_code) {
                        let (Ok(a), Ok(b)) = (
                            current.resolve(&s.region_code, date),
                            proposed.resolve(&s.region_code, date),
                        ) else {
                            continue;
                        };
                        resolved.insert(s.region_code.clone(), (a, b));
                    }
                    let Some((now_p, then_p)) = resolved.get(&s.region_code) else {
                        continue;
                    };
                    let (now, then) = (identify(&s, now_p).verdict, identify(&s, then_p).verdict);
                    result.households += 1;
                    let r = result.by_region.entry(s.region_code.clone()).or_default();
                    *r.current.entry(now.as_str().into()).or_default() += 1;
                    *r.proposed.entry(then.as_str().into()).or_default() += 1;
                    if now != then {
                        match (now, then) {
                            (Verdict::NotEligible, _) => r.would_enter += 1,
                            (_, Verdict::NotEligible) => r.would_leave += 1,
                            _ => r.would_change_category += 1,
                        }
                        if result.changes.len() < sample {
                            result.changes.push(SimulatedChange {
                                household_id: s.household_id.clone(),
                                region_code: s.region_code.clone(),
                                current: now.as_str().into(),
                                proposed: then.as_str().into(),
                            });
                        }
                    }
                }
            },
        )?;
        Ok(result)
    })
    .await?;
    Ok(web::Json(result))
}

/// A sudden event and its cost to the household. 意外事件及其造成的支出或损失。
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"description": "家中失火，房屋受损", "occurred_on": "2026-03-12", "costs_fen": 3500000}))]
pub struct Accident {
    /// What happened. 事件经过。
    #[schema(example = "2026年7月洪灾，住房受损")]
    pub description: String,
    /// Not in the future. 发生日期。
    pub occurred_on: NaiveDate,
    /// Costs or losses left after compensation, insurance and relief, in fen. 扣除赔偿、保险、救助后的支出或损失（分）。
    pub costs_fen: i64,
}

/// The accident on file · 查看意外事件
///
/// The sudden event recorded for the household, which the accident-caused category looks at.
///
/// 查看该户登记的意外事件，意外致困类别据此认定。
#[utoipa::path(operation_id = "get_household_accident", tag = "assessments",
    params(("id" = String, Path, description = "Household id. 档案标识。")),
    responses((status = 200, description = "The accident. 意外事件。", body = Accident)))]
#[get("/households/{id}/accident")]
async fn get_accident(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<Accident>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let id = id.into_inner();
    let row = db::run(&state.db, move |c| {
        jiekun_store::households::get(c, &scope, &id)
            .map_err(|e| not_found(e.into(), "household", "档案"))?;
        store::accident(c, &id)?.ok_or_else(|| ApiError::not_found("accident", "意外事件"))
    })
    .await?;
    Ok(web::Json(Accident {
        description: row.description,
        occurred_on: row.occurred_on,
        costs_fen: row.costs_fen,
    }))
}

/// Record the accident · 登记意外事件
///
/// Records or replaces the household's sudden event and its net cost. Requires the household's
/// `If-Match`; audited.
///
/// 登记或更新该户的意外事件及净支出，须携带户档案的 If-Match，记入审计。
#[utoipa::path(operation_id = "set_household_accident", tag = "assessments",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    request_body = Accident,
    responses((status = 200, description = "Recorded. 已登记。", body = Accident, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[put("/households/{id}/accident")]
async fn set_accident(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    crate::extract::IfMatch(version): crate::extract::IfMatch,
    ApiJson(body): ApiJson<Accident>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let mut errors = Vec::new();
    let description = crate::fields::name("description", &body.description, 500)
        .map_err(|e| errors.push(e))
        .ok();
    if body.occurred_on > state.clock.today() {
        errors.push(FieldError::new(
            "occurred_on",
            "in_the_future",
            "not in the future",
            "发生日期不能晚于今天",
        ));
    }
    if body.costs_fen < 0 {
        errors.push(FieldError::new(
            "costs_fen",
            "out_of_range",
            "amounts are never negative",
            "金额不能为负数",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let description = description.ok_or_else(|| ApiError::internal("lost"))?;
    let id = id.into_inner();
    let row = store::AccidentRow {
        household_id: id.clone(),
        description,
        occurred_on: body.occurred_on,
        costs_fen: body.costs_fen,
        updated_at: jiekun_store::now(),
    };
    let answer = Accident {
        description: row.description.clone(),
        occurred_on: row.occurred_on,
        costs_fen: row.costs_fen,
    };
    let v = db::write(&state.db, move |c| {
        let h = jiekun_store::households::touch(c, &scope, &id, version)
            .map_err(|e| not_found(e.into(), "household", "档案"))?;
        store::set_accident(c, &id, Some(&row))?;
        audit::append(
            c,
            access.event(
                "household.accident_set",
                "household",
                &id,
                serde_json::json!({"occurred_on": row.occurred_on, "costs_fen": row.costs_fen}),
            ),
        )?;
        Ok(h.version)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(actix_web::http::header::ETag(crate::extract::etag(v)))
        .json(answer))
}

/// Clear the accident · 删除意外事件
///
/// Removes the household's accident record. Requires the household's `If-Match`; audited.
///
/// 删除该户的意外事件记录，须携带户档案的 If-Match，记入审计。
#[utoipa::path(operation_id = "delete_household_accident", tag = "assessments",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    responses((status = 204, description = "Removed. 已删除。", headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[delete("/households/{id}/accident")]
async fn delete_accident(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    crate::extract::IfMatch(version): crate::extract::IfMatch,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let id = id.into_inner();
    let v = db::write(&state.db, move |c| {
        let h = jiekun_store::households::touch(c, &scope, &id, version)
            .map_err(|e| not_found(e.into(), "household", "档案"))?;
        store::set_accident(c, &id, None)?;
        audit::append(
            c,
            access.event(
                "household.accident_clear",
                "household",
                &id,
                serde_json::json!({}),
            ),
        )?;
        Ok(h.version)
    })
    .await?;
    Ok(HttpResponse::NoContent()
        .insert_header(actix_web::http::header::ETag(crate::extract::etag(v)))
        .finish())
}
