//! `/api/v1/households`: the household file (建档立卡) — households, members, income and rigid
//! expenditure. Personal data is masked in every answer unless the caller's role may see it and the
//! request asks for it (`reveal=`), and every such read is audited.

use actix_web::http::header::ETag;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use jiekun_domain::access::{roles_allow, Action};
use jiekun_domain::household::{
    check_causes, check_fen, check_member, CauseError, DisabilityType, ExpenditureKind,
    HealthStatus, HousingType, IncomeKind, MemberFacts, Month, MonthError, Relation,
    SchoolingLevel, WorkStatus,
};
use jiekun_domain::national_id::mask_name;
use jiekun_domain::{DepartmentCode, NationalId, NationalIdError, Sex};
use jiekun_store::audit;
use jiekun_store::households::{
    self as store, ExpenditureChanges, ExpenditureInput, ExpenditureRow, FileError,
    HouseholdChanges, HouseholdFilter, HouseholdInput, HouseholdRow, IncomeChanges, IncomeInput,
    IncomeRow, MemberChanges, MemberInput, MemberRow,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{not_found, query_error, utc};
use crate::auth::{forbidden, Access};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::extract::{etag, ApiJson, ApiQuery, IfMatch};
use crate::fields::{double_option, Fields};
use crate::pagination::{next_cursor, page_request, PageOf};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(search)
        .service(get_one)
        .service(update)
        .service(add_member)
        .service(update_member)
        .service(remove_member)
        .service(list_incomes)
        .service(add_incomes)
        .service(update_income)
        .service(delete_income)
        .service(list_expenditures)
        .service(add_expenditures)
        .service(update_expenditure)
        .service(delete_expenditure);
}

/// Today in China Standard Time: months and birth dates are judged by the local calendar.
pub fn today() -> NaiveDate {
    (Utc::now() + chrono::TimeDelta::hours(8)).date_naive()
}

// ---------------------------------------------------------------------------------------------
// Shapes

/// Health details (sensitive: stored encrypted, shown only on request). 健康状况（加密存储）。
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    #[schema(value_type = String, example = "serious_illness")]
    pub status: HealthStatus,
    /// Diagnosis in words. 疾病名称。
    pub illness: Option<String>,
    #[schema(value_type = Option<String>, example = "physical")]
    pub disability_type: Option<DisabilityType>,
    /// 1–4 (一级–四级). 残疾等级。
    pub disability_grade: Option<u8>,
}

/// Schooling of a member. 就学情况。
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schooling {
    #[schema(value_type = String, example = "undergraduate")]
    pub level: SchoolingLevel,
    pub school: Option<String>,
    /// Year of study. 年级。
    pub year: Option<i64>,
}

/// A member as sent. 家庭成员（提交）。
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberIn {
    /// Exactly one `worker` per household. 每户有且仅有一名职工本人。
    #[schema(value_type = String, example = "worker")]
    pub relation: Relation,
    #[schema(example = "张三")]
    pub name: String,
    /// 18 characters, GB 11643 (lower-case x accepted). 公民身份号码。
    #[schema(example = "610724198001011236")]
    pub national_id: String,
    /// Must agree with the identity number when given. 须与身份号码一致。
    #[schema(value_type = Option<String>, example = "male")]
    pub sex: Option<String>,
    /// Must agree with the identity number when given. 须与身份号码一致。
    pub birth_date: Option<NaiveDate>,
    pub health: Option<Health>,
    #[schema(value_type = String, example = "employed")]
    pub work_status: WorkStatus,
    pub schooling: Option<Schooling>,
    /// Counted in the household (default true); a reason is required when not. 是否计入家庭人口。
    #[serde(default = "yes")]
    pub included: bool,
    pub exclusion_reason: Option<String>,
}

fn yes() -> bool {
    true
}

/// A member as answered; personal data masked unless revealed. 家庭成员（默认脱敏）。
#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    pub id: String,
    #[schema(value_type = String)]
    pub relation: String,
    /// `张*` unless revealed. 姓名。
    pub name: String,
    /// `6107**********123X` unless revealed. 身份号码。
    pub national_id: String,
    #[schema(value_type = String)]
    pub sex: String,
    /// `1980-**-**` unless the identity number is revealed. 出生日期。
    pub birth_date: String,
    /// Present only when `health` is revealed. 仅在显式请求时返回。
    pub health: Option<Health>,
    #[schema(value_type = String)]
    pub work_status: String,
    pub schooling: Option<Schooling>,
    pub included: bool,
    pub exclusion_reason: Option<String>,
}

/// Assets and exclusion facts (家庭财产及排除情形). 财产与排除情形。
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Assets {
    pub homes_count: i64,
    /// Total floor area of the homes, m² (two decimals). 住房总面积。
    pub homes_area_m2: f64,
    pub vehicles_count: i64,
    /// A vehicle kept for a disabled member's mobility. 残疾人代步车。
    pub vehicle_disability_exempt: bool,
    /// A member controls a company. 家庭成员为企业控股股东。
    pub controlling_shareholder: bool,
    /// A child at a high-fee private school. 子女就读高收费私立学校。
    pub high_fee_schooling: bool,
    /// The household refuses to cooperate with checks. 拒不配合核查。
    pub refuses_cooperation: bool,
}

/// A new household file. 新建困难职工家庭档案。
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHousehold {
    /// The grassroots union that keeps the file (in your scope). 建档的基层工会。
    pub organisation_id: String,
    /// GB/T 2260 code of where the household lives, inside the union's region. 居住地行政区划。
    #[schema(example = "610724")]
    pub region_code: String,
    #[schema(example = "西乡县城关镇东大街12号")]
    pub address: String,
    /// The worker's employer. 职工所在企业。
    pub enterprise_id: Option<String>,
    #[schema(value_type = String, example = "private_rental")]
    pub housing_type: HousingType,
    /// m², two decimals. 住房面积（平方米）。
    pub housing_area_m2: Option<f64>,
    pub bank_name: Option<String>,
    /// Stored encrypted; masked in answers. 银行账号（加密存储）。
    pub bank_account: Option<String>,
    /// 1–10 from the national list. 主要致困原因。
    #[schema(example = 6)]
    pub main_cause: u8,
    /// Up to three, distinct, not the main cause. 次要致困原因（最多三项）。
    #[serde(default)]
    pub secondary_causes: Vec<u8>,
    #[serde(default)]
    pub single_parent: bool,
    #[serde(default)]
    pub disability_household: bool,
    #[serde(default)]
    pub zero_employment: bool,
    #[serde(default)]
    pub assets: Assets,
    pub members: Vec<MemberIn>,
    /// Income records; `member_index` points into `members`. 收入记录。
    #[serde(default)]
    pub incomes: Vec<IncomeIn>,
    /// Rigid expenditure; `member_index` points into `members`. 刚性支出。
    #[serde(default)]
    pub expenditures: Vec<ExpenditureIn>,
}

/// Changes to household-level fields; absent fields stay, `null` clears optional ones. 修改档案。
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateHousehold {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub enterprise_id: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub housing_type: Option<HousingType>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<f64>)]
    pub housing_area_m2: Option<Option<f64>>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub bank_name: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub bank_account: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_cause: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_causes: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_parent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disability_household: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zero_employment: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assets: Option<Assets>,
    /// Causes now resolved (each must be the main or a secondary cause); exit needs all of them.
    /// 已消除的致困原因（须为主要或次要原因）；退出须全部消除。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_causes: Option<Vec<u8>>,
}

/// A household file; personal data masked unless revealed. 困难职工家庭档案（默认脱敏）。
#[derive(Debug, Serialize, ToSchema)]
pub struct Household {
    pub id: String,
    /// Given when the file is approved. 档案编号（审批后生成）。
    pub file_number: Option<String>,
    pub organisation_id: String,
    pub region_code: String,
    pub address: String,
    pub enterprise_id: Option<String>,
    /// The worker's name, masked unless revealed. 职工姓名。
    pub worker_name: String,
    #[schema(value_type = String)]
    pub housing_type: String,
    pub housing_area_m2: Option<f64>,
    pub bank_name: Option<String>,
    /// Masked unless revealed. 银行账号。
    pub bank_account: Option<String>,
    pub main_cause: i64,
    pub secondary_causes: Vec<i64>,
    /// Causes marked resolved. 已消除的致困原因。
    pub resolved_causes: Vec<i64>,
    pub single_parent: bool,
    pub disability_household: bool,
    pub zero_employment: bool,
    pub assets: Assets,
    /// `deep`, `relative` or `accident` once assessed. 困难类别。
    pub category: Option<String>,
    /// `draft`, `filed`, `monitoring`, `closed`, `withdrawn`. 档案状态。
    pub status: String,
    pub members_count: i64,
    /// Present on single reads, absent in lists. 家庭成员（列表中不含）。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<Member>>,
    /// Which personal data this answer shows in full. 本次返回中未脱敏的字段。
    pub revealed: Vec<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An income record as sent. 收入记录（提交）。
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncomeIn {
    /// When creating a household: the member's position in `members`. 新建档案时指向成员序号。
    pub member_index: Option<usize>,
    /// On an existing household: the member's id; absent for household income. 成员标识。
    pub member_id: Option<String>,
    /// `YYYY-MM`, not in the future. 月份。
    #[schema(example = "2026-10")]
    pub month: String,
    #[schema(value_type = String, example = "wage")]
    pub kind: IncomeKind,
    /// `declared` (default) or the code of the department that reported it. 来源。
    pub source: Option<String>,
    /// Fen (分), never negative. 金额（分）。
    #[schema(example = 180000)]
    pub amount_fen: i64,
    #[serde(default)]
    pub verified: bool,
    pub note: Option<String>,
}

/// An income record. 收入记录。
#[derive(Debug, Serialize, ToSchema)]
pub struct Income {
    pub id: String,
    pub member_id: Option<String>,
    pub month: String,
    #[schema(value_type = String)]
    pub kind: String,
    pub source: String,
    pub amount_fen: i64,
    pub verified: bool,
    pub note: Option<String>,
}

/// Changes to an income record. 修改收入记录。
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIncome {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub kind: Option<IncomeKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_fen: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub note: Option<Option<String>>,
}

/// Several income records, added together or not at all. 批量新增收入记录。
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddIncomes {
    pub records: Vec<IncomeIn>,
}

/// A rigid expenditure item as sent. 刚性支出（提交）。
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpenditureIn {
    pub member_index: Option<usize>,
    pub member_id: Option<String>,
    #[schema(value_type = String, example = "medical")]
    pub kind: ExpenditureKind,
    /// Fen over the whole period. 期间合计金额（分）。
    pub amount_fen: i64,
    /// `YYYY-MM`. 起始月份。
    pub start_month: String,
    /// `YYYY-MM`, not before the start. 截止月份。
    pub end_month: String,
    pub description: Option<String>,
    /// Where the evidence is (receipt number, file reference). 凭证。
    pub evidence: Option<String>,
    #[serde(default)]
    pub verified: bool,
}

/// A rigid expenditure item. 刚性支出。
#[derive(Debug, Serialize, ToSchema)]
pub struct Expenditure {
    pub id: String,
    pub member_id: Option<String>,
    #[schema(value_type = String)]
    pub kind: String,
    pub amount_fen: i64,
    pub start_month: String,
    pub end_month: String,
    pub description: Option<String>,
    pub evidence: Option<String>,
    pub verified: bool,
}

/// Several expenditure items, added together or not at all. 批量新增刚性支出。
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddExpenditures {
    pub items: Vec<ExpenditureIn>,
}

/// Changes to an expenditure item. 修改刚性支出。
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateExpenditure {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub kind: Option<ExpenditureKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_fen: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_month: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_month: Option<String>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub evidence: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// Changes to a member. The identity number cannot change: remove the member and add them again.
/// 修改家庭成员（身份号码不可修改）。
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub relation: Option<Relation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub health: Option<Option<Health>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub work_status: Option<WorkStatus>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub schooling: Option<Option<Schooling>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub included: Option<bool>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub exclusion_reason: Option<Option<String>>,
}

/// Find households by identity number (sent in the body, so that it stays out of URLs and logs).
/// 按身份号码查找（放在请求体中，避免出现在网址和日志里）。
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchHouseholds {
    pub national_id: String,
}

/// Filters for the household list. 档案列表筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HouseholdQuery {
    /// Inside this GB/T 2260 division. 所属行政区划（含下级）。
    pub region_code: Option<String>,
    /// Households of this organisation and those below it. 所属组织（含下级）。
    pub organisation_id: Option<String>,
    /// `deep`, `relative`, `accident`.
    pub category: Option<String>,
    /// `draft`, `filed`, `monitoring`, `closed`, `withdrawn`, `rejected`.
    pub status: Option<String>,
    /// 1–10.
    pub main_cause: Option<u8>,
    pub single_parent: Option<bool>,
    pub disability_household: Option<bool>,
    pub zero_employment: Option<bool>,
    /// Page size, 1–200 (default 50). 每页条数。
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page. 上一页返回的游标。
    pub cursor: Option<String>,
}

/// Personal data to show in full: any of `name`, `national_id`, `bank_account`, `health`, or
/// `all`. Only roles that handle cases may ask; every such read is audited.
/// 需完整显示的个人信息；仅经办、审核、审批角色可请求，且每次读取均记入审计。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RevealQuery {
    #[param(example = "national_id,health")]
    pub reveal: Option<String>,
}

/// Filters for income records. 收入记录筛选。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IncomeQuery {
    /// From this month (`YYYY-MM`). 起始月份。
    pub from: Option<String>,
    /// Up to this month (`YYYY-MM`). 截止月份。
    pub to: Option<String>,
    pub member_id: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Parsing

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reveal {
    name: bool,
    national_id: bool,
    bank_account: bool,
    health: bool,
}

impl Reveal {
    fn any(&self) -> bool {
        self.name || self.national_id || self.bank_account || self.health
    }

    fn names(&self) -> Vec<String> {
        [
            (self.name, "name"),
            (self.national_id, "national_id"),
            (self.bank_account, "bank_account"),
            (self.health, "health"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| n.to_owned())
        .collect()
    }

    fn parse(q: Option<&str>) -> ApiResult<Reveal> {
        let mut r = Reveal::default();
        for part in q
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match part {
                "name" => r.name = true,
                "national_id" => r.national_id = true,
                "bank_account" => r.bank_account = true,
                "health" => r.health = true,
                "all" => {
                    r = Reveal {
                        name: true,
                        national_id: true,
                        bank_account: true,
                        health: true,
                    }
                }
                other => {
                    return Err(query_error(FieldError::new(
                        "reveal",
                        "invalid_value",
                        format!(
                            "{other} is not one of name, national_id, bank_account, health, all"
                        ),
                        "取值应为 name、national_id、bank_account、health 或 all",
                    )))
                }
            }
        }
        Ok(r)
    }
}

fn id_error(field: &str, e: NationalIdError) -> FieldError {
    let (code, zh) = match e {
        NationalIdError::Length => ("invalid_length", "公民身份号码应为 18 位".to_owned()),
        NationalIdError::Character => (
            "invalid_character",
            "前 17 位应为数字，末位为数字或 X".to_owned(),
        ),
        NationalIdError::Region => ("invalid_region", "前两位不是有效的省级代码".to_owned()),
        NationalIdError::BirthDate => (
            "invalid_birth_date",
            "第 7–14 位不是有效的出生日期".to_owned(),
        ),
        NationalIdError::FutureBirthDate => {
            ("future_birth_date", "出生日期不能晚于今天".to_owned())
        }
        NationalIdError::CheckCharacter { expected } => (
            "invalid_check_character",
            format!("校验码错误（ISO 7064 MOD 11-2），应为 {expected}"),
        ),
    };
    FieldError::new(field, code, e.to_string(), zh)
}

fn month_field(f: &mut Fields, field: &str, value: &str, today: NaiveDate) -> Option<Month> {
    f.check(Month::parse(value, today).map_err(|e| match e {
        MonthError::Format => FieldError::new(
            field,
            "invalid_format",
            "write the month as YYYY-MM",
            "月份格式应为 YYYY-MM",
        ),
        MonthError::Future => FieldError::new(
            field,
            "future_month",
            "the month is in the future",
            "月份不能晚于本月",
        ),
    }))
}

fn fen_field(f: &mut Fields, field: &str, amount: i64) -> Option<i64> {
    f.check(
        check_fen(amount)
            .map_err(|m| FieldError::new(field, "out_of_range", m, "金额以分为单位，不能为负数")),
    )
}

fn area_field(f: &mut Fields, field: &str, m2: f64) -> Option<i64> {
    if !(0.0..=100_000.0).contains(&m2) || !m2.is_finite() {
        f.push(FieldError::new(
            field,
            "out_of_range",
            "between 0 and 100000 m²",
            "面积应在 0 到 100000 平方米之间",
        ));
        return None;
    }
    Some((m2 * 100.0).round() as i64)
}

fn count_field(f: &mut Fields, field: &str, n: i64) -> Option<i64> {
    if !(0..=1000).contains(&n) {
        f.push(FieldError::new(
            field,
            "out_of_range",
            "between 0 and 1000",
            "应在 0 到 1000 之间",
        ));
        return None;
    }
    Some(n)
}

fn causes_field(f: &mut Fields, main: u8, secondary: &[u8]) -> Option<String> {
    match check_causes(main, secondary) {
        Ok((_, s)) => Some(
            s.iter()
                .map(|c| c.code().to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        Err(e) => {
            let (field, code, zh) = match e {
                CauseError::Unknown(c) if c == main => (
                    "main_cause",
                    "unknown_cause",
                    "致困原因应为全国统一代码 1–10",
                ),
                CauseError::Unknown(_) => (
                    "secondary_causes",
                    "unknown_cause",
                    "致困原因应为全国统一代码 1–10",
                ),
                CauseError::TooMany => ("secondary_causes", "too_many", "次要致困原因最多三项"),
                CauseError::Repeated => (
                    "secondary_causes",
                    "repeated",
                    "次要致困原因不能重复，也不能与主要原因相同",
                ),
            };
            f.push(FieldError::new(field, code, e.to_string(), zh));
            None
        }
    }
}

fn source_field(f: &mut Fields, field: &str, s: Option<&str>) -> Option<String> {
    match s.unwrap_or("declared") {
        "declared" => Some("declared".into()),
        other if other.parse::<DepartmentCode>().is_ok() => Some(other.to_owned()),
        other => {
            f.push(FieldError::new(
                field,
                "invalid_value",
                format!("{other} is neither `declared` nor a department code"),
                "来源应为 declared 或部门代码",
            ));
            None
        }
    }
}

fn health_json(h: &Health) -> String {
    serde_json::to_string(h).unwrap_or_default()
}

fn check_health(
    f: &mut Fields,
    at: &str,
    h: Option<&Health>,
    relation: Relation,
    included: bool,
    has_reason: bool,
) {
    let facts = MemberFacts {
        relation,
        included,
        has_exclusion_reason: has_reason,
        health: h.map(|h| h.status),
        disability_type: h.is_some_and(|h| h.disability_type.is_some()),
        disability_grade: h.and_then(|h| h.disability_grade),
    };
    if let Err(e) = check_member(&facts) {
        use jiekun_domain::household::MemberRuleError as M;
        let (field, code, zh) = match e {
            M::ExclusionReason => ("exclusion_reason", "required", "不计入家庭人口时须说明原因"),
            M::Disability => (
                "health.disability_type",
                "not_allowed",
                "仅残疾人填写残疾类别和等级",
            ),
            M::DisabilityGrade => (
                "health.disability_grade",
                "out_of_range",
                "残疾等级为 1–4 级",
            ),
            M::WorkerCount => ("relation", "one_worker", "每户有且仅有一名职工本人"),
        };
        f.push(FieldError::new(
            format!("{at}.{field}"),
            code,
            e.to_string(),
            zh,
        ));
    }
}

fn parse_member(f: &mut Fields, at: &str, m: &MemberIn, today: NaiveDate) -> Option<MemberInput> {
    let name = f.name(&format!("{at}.name"), &m.name, 50);
    let id = f.check(
        NationalId::parse(&m.national_id, today)
            .map_err(|e| id_error(&format!("{at}.national_id"), e)),
    );
    if let Some(id) = &id {
        if let Some(sex) = &m.sex {
            match Sex::parse(sex) {
                Some(s) if s == id.sex() => {}
                Some(_) => f.push(FieldError::new(
                    format!("{at}.sex"),
                    "inconsistent",
                    "does not agree with the identity number",
                    "与身份号码中的性别不一致",
                )),
                None => f.push(FieldError::new(
                    format!("{at}.sex"),
                    "invalid_value",
                    "male or female",
                    "应为 male 或 female",
                )),
            }
        }
        if let Some(b) = m.birth_date {
            if b != id.birth_date() {
                f.push(FieldError::new(
                    format!("{at}.birth_date"),
                    "inconsistent",
                    "does not agree with the identity number",
                    "与身份号码中的出生日期不一致",
                ));
            }
        }
    }
    let reason = f.optional_text(
        &format!("{at}.exclusion_reason"),
        m.exclusion_reason.as_deref(),
        200,
    );
    check_health(
        f,
        at,
        m.health.as_ref(),
        m.relation,
        m.included,
        reason.as_ref().is_some_and(|r| r.is_some()),
    );
    let id = id?;
    Some(MemberInput {
        relation: m.relation,
        name: name?,
        national_id_masked: id.masked(),
        sex: id.sex().as_str().to_owned(),
        birth_date: id.birth_date(),
        national_id: id.as_str().to_owned(),
        health: m.health.as_ref().map(health_json),
        work_status: m.work_status.as_str().to_owned(),
        schooling_level: m.schooling.as_ref().map(|s| s.level.as_str().to_owned()),
        school: m.schooling.as_ref().and_then(|s| s.school.clone()),
        school_year: m.schooling.as_ref().and_then(|s| s.year),
        included: m.included,
        exclusion_reason: reason?,
    })
}

fn parse_income(f: &mut Fields, at: &str, i: &IncomeIn, today: NaiveDate) -> Option<IncomeInput> {
    let month = month_field(f, &format!("{at}.month"), &i.month, today);
    let amount = fen_field(f, &format!("{at}.amount_fen"), i.amount_fen);
    let source = source_field(f, &format!("{at}.source"), i.source.as_deref());
    let note = f.optional_text(&format!("{at}.note"), i.note.as_deref(), 200);
    Some(IncomeInput {
        member_id: i.member_id.clone(),
        month: i64::from(month?.key()),
        kind: i.kind.as_str().to_owned(),
        source: source?,
        amount_fen: amount?,
        verified: i.verified,
        note: note?,
    })
}

fn parse_expenditure(
    f: &mut Fields,
    at: &str,
    e: &ExpenditureIn,
    today: NaiveDate,
) -> Option<ExpenditureInput> {
    let start = month_field(f, &format!("{at}.start_month"), &e.start_month, today);
    // The end of a period may be later this year (a school year, a treatment plan).
    let end = month_field(
        f,
        &format!("{at}.end_month"),
        &e.end_month,
        today + chrono::TimeDelta::days(366),
    );
    if let (Some(s), Some(en)) = (start, end) {
        if en < s {
            f.push(FieldError::new(
                format!("{at}.end_month"),
                "out_of_range",
                "not before start_month",
                "截止月份不能早于起始月份",
            ));
        }
    }
    let amount = fen_field(f, &format!("{at}.amount_fen"), e.amount_fen);
    let description = f.optional_text(&format!("{at}.description"), e.description.as_deref(), 200);
    let evidence = f.optional_text(&format!("{at}.evidence"), e.evidence.as_deref(), 200);
    Some(ExpenditureInput {
        member_id: e.member_id.clone(),
        kind: e.kind.as_str().to_owned(),
        amount_fen: amount?,
        start_month: i64::from(start?.key()),
        end_month: i64::from(end?.key()),
        description: description?,
        evidence: evidence?,
        verified: e.verified,
    })
}

type ParsedFile = (
    HouseholdInput,
    Vec<MemberInput>,
    Vec<(Option<usize>, IncomeInput)>,
    Vec<(Option<usize>, ExpenditureInput)>,
);

impl CreateHousehold {
    fn parse(&self, today: NaiveDate) -> ApiResult<ParsedFile> {
        let mut f = Fields::default();
        let region = f.region("region_code", &self.region_code);
        let address = f.name("address", &self.address, 200);
        let area = self
            .housing_area_m2
            .map(|a| area_field(&mut f, "housing_area_m2", a));
        let bank_name = f.optional_text("bank_name", self.bank_name.as_deref(), 100);
        let bank_account = bank_account_field(&mut f, self.bank_account.as_deref());
        let causes = causes_field(&mut f, self.main_cause, &self.secondary_causes);
        let assets = assets_fields(&mut f, &self.assets);
        if self.members.is_empty() {
            f.push(FieldError::new(
                "members",
                "required",
                "a household has at least the worker",
                "至少包含职工本人",
            ));
        } else if self
            .members
            .iter()
            .filter(|m| m.relation == Relation::Worker)
            .count()
            != 1
        {
            f.push(FieldError::new(
                "members",
                "one_worker",
                "a household has exactly one worker",
                "每户有且仅有一名职工本人",
            ));
        }
        if self.members.len() > 30 {
            f.push(FieldError::new(
                "members",
                "too_many",
                "at most 30 members",
                "家庭成员最多 30 人",
            ));
        }
        let members: Vec<Option<MemberInput>> = self
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| parse_member(&mut f, &format!("members[{i}]"), m, today))
            .collect();
        let mut incomes = Vec::new();
        for (i, r) in self.incomes.iter().enumerate() {
            let at = format!("incomes[{i}]");
            if r.member_id.is_some() {
                f.push(FieldError::new(
                    format!("{at}.member_id"),
                    "not_allowed",
                    "use member_index when creating a household",
                    "新建档案时请用 member_index",
                ));
            }
            if r.member_index.is_some_and(|m| m >= self.members.len()) {
                f.push(FieldError::new(
                    format!("{at}.member_index"),
                    "unknown_reference",
                    "no member at this position",
                    "该序号没有对应成员",
                ));
            }
            incomes.push(parse_income(&mut f, &at, r, today).map(|p| (r.member_index, p)));
        }
        let mut spending = Vec::new();
        for (i, e) in self.expenditures.iter().enumerate() {
            let at = format!("expenditures[{i}]");
            if e.member_index.is_some_and(|m| m >= self.members.len()) {
                f.push(FieldError::new(
                    format!("{at}.member_index"),
                    "unknown_reference",
                    "no member at this position",
                    "该序号没有对应成员",
                ));
            }
            spending.push(parse_expenditure(&mut f, &at, e, today).map(|p| (e.member_index, p)));
        }
        f.finish()?;
        let lost = || ApiError::internal("field parsing lost a value");
        let assets = assets.ok_or_else(lost)?;
        let input = HouseholdInput {
            organisation_id: self.organisation_id.clone(),
            region_code: region.ok_or_else(lost)?.to_string(),
            address: address.ok_or_else(lost)?,
            enterprise_id: self.enterprise_id.clone(),
            housing_type: self.housing_type.as_str().to_owned(),
            housing_area_dm2: area.flatten(),
            bank_name: bank_name.ok_or_else(lost)?,
            bank_account: bank_account.ok_or_else(lost)?,
            main_cause: i64::from(self.main_cause),
            secondary_causes: causes.ok_or_else(lost)?,
            single_parent: self.single_parent,
            disability_household: self.disability_household,
            zero_employment: self.zero_employment,
            homes_count: assets.0,
            homes_area_dm2: assets.1,
            vehicles_count: assets.2,
            vehicle_disability_exempt: self.assets.vehicle_disability_exempt,
            controlling_shareholder: self.assets.controlling_shareholder,
            high_fee_schooling: self.assets.high_fee_schooling,
            refuses_cooperation: self.assets.refuses_cooperation,
        };
        Ok((
            input,
            members
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .ok_or_else(lost)?,
            incomes
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .ok_or_else(lost)?,
            spending
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .ok_or_else(lost)?,
        ))
    }
}

fn bank_account_field(f: &mut Fields, v: Option<&str>) -> Option<Option<String>> {
    match v.map(|s| s.replace([' ', '-'], "")) {
        None => Some(None),
        Some(a) if (8..=32).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_digit()) => {
            Some(Some(a))
        }
        Some(_) => {
            f.push(FieldError::new(
                "bank_account",
                "invalid_format",
                "8–32 digits",
                "银行账号应为 8–32 位数字",
            ));
            None
        }
    }
}

fn assets_fields(f: &mut Fields, a: &Assets) -> Option<(i64, i64, i64)> {
    let homes = count_field(f, "assets.homes_count", a.homes_count);
    let area = area_field(f, "assets.homes_area_m2", a.homes_area_m2);
    let vehicles = count_field(f, "assets.vehicles_count", a.vehicles_count);
    Some((homes?, area?, vehicles?))
}

// ---------------------------------------------------------------------------------------------
// Answers

fn causes_of(s: &str) -> Vec<i64> {
    s.split(',').filter_map(|c| c.parse().ok()).collect()
}

struct Shown<'a> {
    reveal: Reveal,
    cipher: &'a jiekun_store::crypto::FieldCipher,
}

impl Shown<'_> {
    fn household(&self, h: HouseholdRow, members: Option<Vec<MemberRow>>) -> ApiResult<Household> {
        let bank_account = if self.reveal.bank_account {
            match &h.bank_account_enc {
                Some(enc) => Some(
                    self.cipher
                        .decrypt(&store::bank_context(&h.id), enc)
                        .map_err(ApiError::internal)?,
                ),
                None => None,
            }
        } else {
            h.bank_account_masked.clone()
        };
        let members = match members {
            Some(ms) => Some(
                ms.into_iter()
                    .map(|m| self.member(m))
                    .collect::<ApiResult<Vec<_>>>()?,
            ),
            None => None,
        };
        Ok(Household {
            worker_name: if self.reveal.name {
                h.worker_name.clone()
            } else {
                mask_name(&h.worker_name)
            },
            bank_account,
            housing_area_m2: h.housing_area_dm2.map(|a| a as f64 / 100.0),
            secondary_causes: causes_of(&h.secondary_causes),
            resolved_causes: causes_of(&h.resolved_causes),
            assets: Assets {
                homes_count: h.homes_count,
                homes_area_m2: h.homes_area_dm2 as f64 / 100.0,
                vehicles_count: h.vehicles_count,
                vehicle_disability_exempt: h.vehicle_disability_exempt,
                controlling_shareholder: h.controlling_shareholder,
                high_fee_schooling: h.high_fee_schooling,
                refuses_cooperation: h.refuses_cooperation,
            },
            members,
            revealed: self.reveal.names(),
            id: h.id,
            file_number: h.file_number,
            organisation_id: h.organisation_id,
            region_code: h.region_code,
            address: h.address,
            enterprise_id: h.enterprise_id,
            housing_type: h.housing_type,
            bank_name: h.bank_name,
            main_cause: h.main_cause,
            single_parent: h.single_parent,
            disability_household: h.disability_household,
            zero_employment: h.zero_employment,
            category: h.category,
            status: h.status,
            members_count: h.members_count,
            version: h.version,
            created_at: utc(h.created_at),
            updated_at: utc(h.updated_at),
        })
    }

    fn member(&self, m: MemberRow) -> ApiResult<Member> {
        let national_id = if self.reveal.national_id {
            self.cipher
                .decrypt(&store::member_context(&m.id), &m.national_id_enc)
                .map_err(ApiError::internal)?
        } else {
            m.national_id_masked.clone()
        };
        let health = match (&m.health_enc, self.reveal.health) {
            (Some(enc), true) => {
                let text = self
                    .cipher
                    .decrypt(&store::health_context(&m.id), enc)
                    .map_err(ApiError::internal)?;
                Some(serde_json::from_str(&text).map_err(ApiError::internal)?)
            }
            _ => None,
        };
        let schooling = m
            .schooling_level
            .as_deref()
            .and_then(|l| l.parse().ok())
            .map(|level| Schooling {
                level,
                school: m.school.clone(),
                year: m.school_year,
            });
        Ok(Member {
            name: if self.reveal.name {
                m.name.clone()
            } else {
                mask_name(&m.name)
            },
            birth_date: if self.reveal.national_id {
                m.birth_date.to_string()
            } else {
                m.birth_date.format("%Y-**-**").to_string()
            },
            national_id,
            health,
            schooling,
            id: m.id,
            relation: m.relation,
            sex: m.sex,
            work_status: m.work_status,
            included: m.included,
            exclusion_reason: m.exclusion_reason,
        })
    }
}

fn month_text(k: i64) -> String {
    Month::from_key(k as i32)
        .map(|m| m.to_string())
        .unwrap_or_default()
}

impl From<IncomeRow> for Income {
    fn from(r: IncomeRow) -> Self {
        Income {
            month: month_text(r.month),
            id: r.id,
            member_id: r.member_id,
            kind: r.kind,
            source: r.source,
            amount_fen: r.amount_fen,
            verified: r.verified,
            note: r.note,
        }
    }
}

impl From<ExpenditureRow> for Expenditure {
    fn from(r: ExpenditureRow) -> Self {
        Expenditure {
            start_month: month_text(r.start_month),
            end_month: month_text(r.end_month),
            id: r.id,
            member_id: r.member_id,
            kind: r.kind,
            amount_fen: r.amount_fen,
            description: r.description,
            evidence: r.evidence,
            verified: r.verified,
        }
    }
}

/// A refused change to a file, told as the field it concerns. `items` says where member
/// references came from: `members` (a new file), `member` (the member in the path), `records` or
/// `items` (a list in the body).
pub(crate) fn file_error(e: FileError, items: &str) -> ApiError {
    let v = |field: String, code: &str, en: String, zh: &str| {
        ApiError::validation(vec![FieldError::new(field, code, en, zh)])
    };
    match e {
        FileError::Store(e) => e.into(),
        FileError::UnknownOrganisation => v(
            "organisation_id".into(),
            "unknown_reference",
            "no such grassroots union in your scope".into(),
            "您的范围内没有该基层工会",
        ),
        FileError::NotAGrassrootsUnion => v(
            "organisation_id".into(),
            "not_a_grassroots_union",
            "households belong to grassroots unions".into(),
            "档案须由基层工会建立",
        ),
        FileError::RegionOutsideUnion => v(
            "region_code".into(),
            "outside_union_region",
            "the region lies outside the union's region".into(),
            "居住地不在该基层工会辖区内",
        ),
        FileError::UnknownEnterprise => v(
            "enterprise_id".into(),
            "unknown_reference",
            "no such enterprise in your region".into(),
            "您的辖区内没有该企业",
        ),
        FileError::UnknownMember { .. } if items == "member" => {
            ApiError::not_found("member", "家庭成员")
        }
        FileError::UnknownMember { index } => {
            let field = if items == "members" {
                format!("members[{index}]")
            } else {
                format!("{items}[{index}].member_id")
            };
            v(
                field,
                "unknown_reference",
                "no such member in this household".into(),
                "该户没有此成员",
            )
        }
        FileError::DuplicatePerson { first, second } => v(
            format!("members[{second}].national_id"),
            "duplicate_in_household",
            format!("the same person as members[{first}]"),
            "同一人在本户中重复出现",
        ),
        FileError::PeriodReversed => v(
            "end_month".into(),
            "out_of_range",
            "not before start_month".into(),
            "截止月份不能早于起始月份",
        ),
        FileError::WorkerCount => v(
            "members".into(),
            "one_worker",
            "a household has exactly one worker".into(),
            "每户有且仅有一名职工本人",
        ),
        FileError::PersonAlreadyFiled { index, existing } => {
            let field = if items == "member" {
                "national_id".to_owned()
            } else {
                format!("members[{index}].national_id")
            };
            let (en, zh) = match &existing {
                Some(id) => (
                    format!("this person is already in the active household {id}"),
                    format!("此人已在有效档案 {id} 中"),
                ),
                None => (
                    "this person is already in an active household elsewhere".to_owned(),
                    "此人已在其他有效档案中".to_owned(),
                ),
            };
            ApiError::new(ErrorCode::AlreadyExists, en.clone(), zh.clone())
                .with_field(FieldError::new(field, "already_filed", en, zh))
        }
    }
}

fn ok_tagged<T: Serialize>(
    status: actix_web::http::StatusCode,
    version: i64,
    body: T,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(ETag(etag(version)))
        .json(body)
}

fn household_not_found(e: ApiError) -> ApiError {
    not_found(e, "household", "档案")
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// List households · 查询档案列表
///
/// Household files of your organisation's subtree, in a stable order, filtered and paged with a
/// cursor. Names and numbers are masked; members are not included.
///
/// 分页列出本组织及下级的困难职工家庭档案，可按行政区划、组织、类别、状态、主要致困原因和标记筛选。姓名、账号均脱敏，不含成员明细。
#[utoipa::path(operation_id = "list_households", tag = "households", params(HouseholdQuery),
    responses((status = 200, description = "A page of households. 一页档案。", body = PageOf<Household>)))]
#[get("/households")]
async fn list(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<HouseholdQuery>,
) -> ApiResult<web::Json<PageOf<Household>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let region = match &q.region_code {
        Some(r) => Some(crate::fields::region("region_code", r).map_err(query_error)?),
        None => None,
    };
    let check = |field: &str, v: &Option<String>, allowed: &[&str]| -> ApiResult<()> {
        match v {
            Some(x) if !allowed.contains(&x.as_str()) => Err(query_error(FieldError::new(
                field,
                "invalid_value",
                format!("one of {}", allowed.join(", ")),
                "取值不在允许范围内",
            ))),
            _ => Ok(()),
        }
    };
    check("category", &q.category, &["deep", "relative", "accident"])?;
    check(
        "status",
        &q.status,
        &[
            "draft",
            "filed",
            "monitoring",
            "closed",
            "withdrawn",
            "rejected",
        ],
    )?;
    if q.main_cause.is_some_and(|c| !(1..=10).contains(&c)) {
        return Err(query_error(FieldError::new(
            "main_cause",
            "out_of_range",
            "1–10",
            "应为 1–10",
        )));
    }
    let filter = HouseholdFilter {
        region,
        organisation_id: q.organisation_id,
        category: q.category,
        status: q.status,
        main_cause: q.main_cause.map(i64::from),
        single_parent: q.single_parent,
        disability_household: q.disability_household,
        zero_employment: q.zero_employment,
    };
    let rows = db::run(&state.db, move |c| {
        Ok(store::list(c, &scope, &filter, &page)?)
    })
    .await?;
    let shown = Shown {
        reveal: Reveal::default(),
        cipher: &state.cipher,
    };
    let items = rows
        .items
        .into_iter()
        .map(|h| shown.household(h, None))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(PageOf {
        items,
        next_cursor: next_cursor(rows.next_after.as_deref()),
        total: None,
    }))
}

/// File a household · 新建档案
///
/// Creates the file of a hardship-worker household in a grassroots union of your scope: the
/// household, its members (exactly one worker), and optionally income and rigid expenditure, all
/// in one transaction. Each identity number is checked (length, check character, date of birth,
/// agreement with sex and birth date); a person already in another active household is refused
/// with 409, naming that household only if you may see it.
///
/// 在本范围内的基层工会新建困难职工家庭档案：户信息、家庭成员（有且仅有一名职工本人）以及可选的收入、刚性支出，在同一事务中写入。逐一校验身份号码；已在其他有效档案中的人员返回 409，仅在您有权查看时指明该档案。
#[utoipa::path(operation_id = "create_household", tag = "households", request_body = CreateHousehold,
    responses((status = 201, description = "Filed. 已建档。", body = Household,
        headers(("ETag" = String, description = "Version. 版本标签。"), ("Location" = String, description = "URL of the file. 档案地址。")))))]
#[post("/households")]
async fn create(
    state: web::Data<AppState>,
    access: Access,
    ApiJson(body): ApiJson<CreateHousehold>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let (input, members, incomes, spending) = body.parse(state.clock.today())?;
    let cipher = state.cipher.clone();
    let (row, ms) = db::write(&state.db, move |c| {
        let row = store::create(c, &cipher, &scope, &input, &members, &incomes, &spending).map_err(|e| file_error(e, "members"))?;
        let recorded = serde_json::json!({
            "organisation_id": row.organisation_id, "region_code": row.region_code, "members": row.members_count,
            "main_cause": row.main_cause, "incomes": incomes.len(), "expenditures": spending.len(),
        });
        audit::append(c, access.event("household.create", "household", &row.id, recorded))?;
        let ms = store::members(c, &row.id)?;
        Ok((row, ms))
    })
    .await?;
    let shown = Shown {
        reveal: Reveal::default(),
        cipher: &state.cipher,
    };
    let id = row.id.clone();
    let version = row.version;
    let body = shown.household(row, Some(ms))?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/households/{id}")))
        .insert_header(ETag(etag(version)))
        .json(body))
}

/// Find households by identity number · 按身份号码查找档案
///
/// Looks the number up through its keyed hash (the number itself is never stored in clear) and
/// returns the households of your scope that hold that person. The search is audited.
///
/// 通过身份号码的密钥哈希（号码本身不以明文存储）查找，返回您范围内包含此人的档案。查找记入审计。
#[utoipa::path(operation_id = "search_households", tag = "households", request_body = SearchHouseholds,
    responses((status = 200, description = "Matching households. 匹配的档案。", body = Vec<Household>)))]
#[post("/households/search")]
async fn search(
    state: web::Data<AppState>,
    access: Access,
    ApiJson(body): ApiJson<SearchHouseholds>,
) -> ApiResult<web::Json<Vec<Household>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let id = NationalId::parse(&body.national_id, state.clock.today())
        .map_err(|e| ApiError::validation(vec![id_error("national_id", e)]))?;
    let cipher = state.cipher.clone();
    let masked = id.masked();
    let rows = db::write(&state.db, move |c| {
        let rows = store::find_by_national_id(c, &cipher, &scope, id.as_str())?;
        let found: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        audit::append(
            c,
            access.event(
                "household.search",
                "household",
                "",
                serde_json::json!({"national_id": masked, "found": found}),
            ),
        )?;
        Ok(rows)
    })
    .await?;
    let shown = Shown {
        reveal: Reveal::default(),
        cipher: &state.cipher,
    };
    Ok(web::Json(
        rows.into_iter()
            .map(|h| shown.household(h, None))
            .collect::<ApiResult<Vec<_>>>()?,
    ))
}

/// Get a household · 查看档案
///
/// One household file with its members. Personal data is masked; with `reveal=` (roles that
/// handle cases only) the named fields are shown in full, and the read is audited.
///
/// 查看一户档案及其成员。个人信息默认脱敏；经办、审核、审批角色可用 reveal 参数查看完整信息，该次读取记入审计。
#[utoipa::path(operation_id = "get_household", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), RevealQuery),
    responses((status = 200, description = "The household. 档案。", body = Household, headers(("ETag" = String, description = "Current version. 当前版本。")))))]
#[get("/households/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    ApiQuery(q): ApiQuery<RevealQuery>,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::HouseholdRead)?;
    let reveal = Reveal::parse(q.reveal.as_deref())?;
    if reveal.any() && !roles_allow(&user.roles, Action::PersonalDataReveal) {
        return Err(forbidden(
            "your roles may not see unmasked personal data",
            "您的角色无权查看未脱敏的个人信息",
        ));
    }
    let id = id.into_inner();
    let fields = reveal.names();
    let read =
        move |c: &mut jiekun_store::DbConnection| -> ApiResult<(HouseholdRow, Vec<MemberRow>)> {
            let h = store::get(c, &scope, &id)?;
            let ms = store::members(c, &h.id)?;
            if reveal.any() {
                audit::append(
                    c,
                    access.event(
                        "household.reveal",
                        "household",
                        &h.id,
                        serde_json::json!({ "fields": fields }),
                    ),
                )?;
            }
            Ok((h, ms))
        };
    // An unmasked read writes its audit event in the same transaction as the read.
    let (h, ms) = if reveal.any() {
        db::write(&state.db, read).await
    } else {
        db::run(&state.db, read).await
    }
    .map_err(household_not_found)?;
    let version = h.version;
    let shown = Shown {
        reveal,
        cipher: &state.cipher,
    };
    Ok(ok_tagged(
        actix_web::http::StatusCode::OK,
        version,
        shown.household(h, Some(ms))?,
    ))
}

/// Update a household · 修改档案
///
/// Changes household-level fields (union, region, address, employer, housing, bank account,
/// causes, flags, assets). Requires `If-Match` with the household's ETag.
///
/// 修改户级信息（所属工会、地区、地址、企业、住房、银行账号、致困原因、标记、财产）。须携带 If-Match。
#[utoipa::path(operation_id = "update_household", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "ETag last read. 最近读取的 ETag。")),
    request_body = UpdateHousehold,
    responses((status = 200, description = "Updated. 已修改。", body = Household, headers(("ETag" = String, description = "New version. 新版本。")))))]
#[patch("/households/{id}")]
async fn update(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<UpdateHousehold>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let recorded = serde_json::to_value(&body).unwrap_or_default();
    let mut f = Fields::default();
    let region = body
        .region_code
        .as_deref()
        .and_then(|r| f.region("region_code", r))
        .map(|r| r.to_string());
    let address = body
        .address
        .as_deref()
        .and_then(|a| f.name("address", a, 200));
    let area = body
        .housing_area_m2
        .map(|a| a.and_then(|a| area_field(&mut f, "housing_area_m2", a)));
    let bank_name = body
        .bank_name
        .as_ref()
        .map(|b| f.optional_text("bank_name", b.as_deref(), 100).flatten());
    let bank_account = body
        .bank_account
        .as_ref()
        .map(|b| bank_account_field(&mut f, b.as_deref()).flatten());
    let causes = match (&body.main_cause, &body.secondary_causes) {
        (None, None) => None,
        (m, s) => {
            // Checked together against what is stored, below, when only one of them is sent.
            Some((*m, s.clone()))
        }
    };
    let assets = body.assets.as_ref().map(|a| assets_fields(&mut f, a));
    f.finish()?;
    let cipher = state.cipher.clone();
    let id = id.into_inner();
    let (row, ms) = db::write(&state.db, move |c| {
        let current = store::get(c, &scope, &id).map_err(|e| household_not_found(e.into()))?;
        let (main, secondary) = match &causes {
            Some((m, s)) => {
                let main = m.unwrap_or(current.main_cause as u8);
                let secondary: Vec<u8> = s.clone().unwrap_or_else(|| {
                    causes_of(&current.secondary_causes)
                        .iter()
                        .map(|c| *c as u8)
                        .collect()
                });
                let mut f = Fields::default();
                let joined = causes_field(&mut f, main, &secondary);
                f.finish()?;
                (Some(i64::from(main)), joined)
            }
            None => (None, None),
        };
        let resolved = match &body.resolved_causes {
            Some(r) => {
                let all: Vec<i64> = std::iter::once(main.unwrap_or(current.main_cause))
                    .chain(causes_of(
                        secondary.as_deref().unwrap_or(&current.secondary_causes),
                    ))
                    .collect();
                if let Some(bad) = r.iter().find(|c| !all.contains(&i64::from(**c))) {
                    return Err(ApiError::validation(vec![FieldError::new(
                        "resolved_causes",
                        "not_a_cause",
                        format!("{bad} is not one of this household's causes"),
                        "只能标记本户的致困原因为已消除",
                    )]));
                }
                let mut r = r.clone();
                r.sort_unstable();
                r.dedup();
                Some(
                    r.iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                )
            }
            None => None,
        };
        let a = body.assets.as_ref();
        let (homes, homes_area, vehicles) = match assets.flatten() {
            Some((h, ar, v)) => (Some(h), Some(ar), Some(v)),
            None => (None, None, None),
        };
        let changes = HouseholdChanges {
            organisation_id: body.organisation_id.clone(),
            region_code: region,
            address,
            enterprise_id: body.enterprise_id.clone(),
            housing_type: body.housing_type.map(|h| h.as_str().to_owned()),
            housing_area_dm2: area,
            bank_name,
            bank_account,
            main_cause: main,
            secondary_causes: secondary,
            single_parent: body.single_parent,
            disability_household: body.disability_household,
            zero_employment: body.zero_employment,
            homes_count: homes,
            homes_area_dm2: homes_area,
            vehicles_count: vehicles,
            vehicle_disability_exempt: a.map(|a| a.vehicle_disability_exempt),
            controlling_shareholder: a.map(|a| a.controlling_shareholder),
            high_fee_schooling: a.map(|a| a.high_fee_schooling),
            refuses_cooperation: a.map(|a| a.refuses_cooperation),
            resolved_causes: resolved,
        };
        let row = store::update(c, &cipher, &scope, &id, version, &changes)
            .map_err(|e| file_error(e, "members"))?;
        audit::append(
            c,
            access.event("household.update", "household", &row.id, recorded),
        )?;
        let ms = store::members(c, &row.id)?;
        Ok((row, ms))
    })
    .await
    .map_err(household_not_found)?;
    let shown = Shown {
        reveal: Reveal::default(),
        cipher: &state.cipher,
    };
    let v = row.version;
    Ok(ok_tagged(
        actix_web::http::StatusCode::OK,
        v,
        shown.household(row, Some(ms))?,
    ))
}

/// Add a member · 新增家庭成员
///
/// Adds a co-resident member to the file. Requires the household's `If-Match`; the answer's
/// `ETag` is the household's new version.
///
/// 向档案新增一名共同生活的家庭成员。须携带户档案的 If-Match，响应中的 ETag 为户档案新版本。
#[utoipa::path(operation_id = "add_household_member", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    request_body = MemberIn,
    responses((status = 201, description = "Added. 已新增。", body = Member, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[post("/households/{id}/members")]
async fn add_member(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<MemberIn>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    if body.relation == Relation::Worker {
        return Err(ApiError::validation(vec![FieldError::new(
            "relation",
            "one_worker",
            "the household has its worker already",
            "该户已有职工本人",
        )]));
    }
    let mut f = Fields::default();
    let parsed = parse_member(&mut f, "member", &body, state.clock.today());
    f.finish()?;
    let parsed = parsed.ok_or_else(|| ApiError::internal("field parsing lost a value"))?;
    let cipher = state.cipher.clone();
    let id = id.into_inner();
    let (m, v) = db::write(&state.db, move |c| {
        let m = store::add_member(c, &cipher, &scope, &id, version, &parsed)
            .map_err(|e| file_error(e, "member"))?;
        audit::append(
            c,
            access.event(
                "household.member_add",
                "household",
                &id,
                serde_json::json!({"member_id": m.id, "relation": m.relation}),
            ),
        )?;
        Ok((m, store::get(c, &jiekun_store::Scope::All, &id)?.version))
    })
    .await
    .map_err(household_not_found)?;
    let shown = Shown {
        reveal: Reveal::default(),
        cipher: &state.cipher,
    };
    Ok(ok_tagged(
        actix_web::http::StatusCode::CREATED,
        v,
        shown.member(m)?,
    ))
}

/// Update a member · 修改家庭成员
///
/// Changes a member's relation, name, health, work, schooling or inclusion. The identity number
/// cannot change. Requires the household's `If-Match`.
///
/// 修改成员的关系、姓名、健康、就业、就学或是否计入家庭人口；身份号码不可修改。须携带户档案的 If-Match。
#[utoipa::path(operation_id = "update_household_member", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("member_id" = String, Path, description = "Member id. 成员标识。"),
           ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    request_body = UpdateMember,
    responses((status = 200, description = "Updated. 已修改。", body = Member, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[patch("/households/{id}/members/{member_id}")]
async fn update_member(
    state: web::Data<AppState>,
    access: Access,
    path: web::Path<(String, String)>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<UpdateMember>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let recorded = serde_json::to_value(&body).unwrap_or_default();
    let mut f = Fields::default();
    let name = body.name.as_deref().and_then(|n| f.name("name", n, 50));
    let reason = body.exclusion_reason.as_ref().map(|r| {
        f.optional_text("exclusion_reason", r.as_deref(), 200)
            .flatten()
    });
    f.finish()?;
    let (id, member_id) = path.into_inner();
    let cipher = state.cipher.clone();
    let (m, v) = db::write(&state.db, move |c| {
        store::get(c, &scope, &id)?;
        let current = store::member(c, &id, &member_id).map_err(|e| file_error(e, "member"))?;
        // The rules look at the member as it will be.
        let relation = body
            .relation
            .or_else(|| current.relation.parse().ok())
            .unwrap_or(Relation::OtherDependant);
        let included = body.included.unwrap_or(current.included);
        let has_reason = match &reason {
            Some(r) => r.is_some(),
            None => current.exclusion_reason.is_some(),
        };
        if let Some(h) = &body.health {
            let mut f = Fields::default();
            check_health(&mut f, "member", h.as_ref(), relation, included, has_reason);
            f.finish()?;
        } else if !included && !has_reason {
            return Err(ApiError::validation(vec![FieldError::new(
                "exclusion_reason",
                "required",
                "a member left out needs a reason",
                "不计入家庭人口时须说明原因",
            )]));
        }
        let changes = MemberChanges {
            relation: body.relation.map(|r| r.as_str().to_owned()),
            name,
            health_enc: None,
            work_status: body.work_status.map(|w| w.as_str().to_owned()),
            schooling_level: body
                .schooling
                .as_ref()
                .map(|s| s.as_ref().map(|s| s.level.as_str().to_owned())),
            school: body
                .schooling
                .as_ref()
                .map(|s| s.as_ref().and_then(|s| s.school.clone())),
            school_year: body
                .schooling
                .as_ref()
                .map(|s| s.as_ref().and_then(|s| s.year)),
            included: body.included,
            exclusion_reason: reason,
        };
        let health = body.health.as_ref().map(|h| h.as_ref().map(health_json));
        let m = store::update_member(
            c, &cipher, &scope, &id, &member_id, version, changes, health,
        )
        .map_err(|e| file_error(e, "member"))?;
        audit::append(
            c,
            access.event(
                "household.member_update",
                "household",
                &id,
                serde_json::json!({"member_id": member_id, "changes": recorded}),
            ),
        )?;
        Ok((m, store::get(c, &jiekun_store::Scope::All, &id)?.version))
    })
    .await
    .map_err(household_not_found)?;
    let shown = Shown {
        reveal: Reveal::default(),
        cipher: &state.cipher,
    };
    Ok(ok_tagged(
        actix_web::http::StatusCode::OK,
        v,
        shown.member(m)?,
    ))
}

/// Remove a member · 删除家庭成员
///
/// Removes a member (never the worker) and their income records. Requires the household's
/// `If-Match`.
///
/// 删除一名家庭成员（不能删除职工本人）及其收入记录。须携带户档案的 If-Match。
#[utoipa::path(operation_id = "remove_household_member", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("member_id" = String, Path, description = "Member id. 成员标识。"),
           ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    responses((status = 204, description = "Removed. 已删除。", headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[delete("/households/{id}/members/{member_id}")]
async fn remove_member(
    state: web::Data<AppState>,
    access: Access,
    path: web::Path<(String, String)>,
    IfMatch(version): IfMatch,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let (id, member_id) = path.into_inner();
    let v = db::write(&state.db, move |c| {
        store::remove_member(c, &scope, &id, &member_id, version)
            .map_err(|e| file_error(e, "member"))?;
        audit::append(
            c,
            access.event(
                "household.member_remove",
                "household",
                &id,
                serde_json::json!({"member_id": member_id}),
            ),
        )?;
        Ok(store::get(c, &jiekun_store::Scope::All, &id)?.version)
    })
    .await
    .map_err(household_not_found)?;
    Ok(HttpResponse::NoContent()
        .insert_header(ETag(etag(v)))
        .finish())
}

fn parse_month_query(field: &str, v: &Option<String>) -> ApiResult<Option<i64>> {
    match v {
        None => Ok(None),
        Some(s) => {
            let far = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
            Month::parse(s, far)
                .map(|m| Some(i64::from(m.key())))
                .map_err(|_| {
                    query_error(FieldError::new(
                        field,
                        "invalid_format",
                        "YYYY-MM",
                        "月份格式应为 YYYY-MM",
                    ))
                })
        }
    }
}

/// List income records · 查询收入记录
///
/// Monthly income of the household's members, newest month first.
///
/// 按月份倒序列出家庭成员的收入记录。
#[utoipa::path(operation_id = "list_household_incomes", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), IncomeQuery),
    responses((status = 200, description = "Income records. 收入记录。", body = Vec<Income>)))]
#[get("/households/{id}/incomes")]
async fn list_incomes(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    ApiQuery(q): ApiQuery<IncomeQuery>,
) -> ApiResult<web::Json<Vec<Income>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let from = parse_month_query("from", &q.from)?;
    let to = parse_month_query("to", &q.to)?;
    let id = id.into_inner();
    let rows = db::run(&state.db, move |c| {
        store::get(c, &scope, &id)?;
        Ok(store::incomes(c, &id, from, to, q.member_id.as_deref())?)
    })
    .await
    .map_err(household_not_found)?;
    Ok(web::Json(rows.into_iter().map(Income::from).collect()))
}

/// Add income records · 新增收入记录
///
/// Adds one or more monthly income records, all in one transaction (all or none). Amounts are
/// integer fen, never negative; months are not in the future. Requires the household's `If-Match`.
///
/// 批量新增月度收入记录，同一事务，要么全部成功要么全部不写。金额以分为单位且不为负；月份不得晚于本月。须携带户档案的 If-Match。
#[utoipa::path(operation_id = "add_household_incomes", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    request_body = AddIncomes,
    responses((status = 201, description = "Added. 已新增。", body = Vec<Income>, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[post("/households/{id}/incomes")]
async fn add_incomes(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<AddIncomes>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let today = state.clock.today();
    let mut f = Fields::default();
    if body.records.is_empty() || body.records.len() > 500 {
        f.push(FieldError::new(
            "records",
            "out_of_range",
            "1–500 records",
            "每次 1–500 条",
        ));
    }
    let parsed: Vec<Option<IncomeInput>> = body
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if r.member_index.is_some() {
                f.push(FieldError::new(
                    format!("records[{i}].member_index"),
                    "not_allowed",
                    "use member_id on an existing household",
                    "已有档案请用 member_id",
                ));
            }
            parse_income(&mut f, &format!("records[{i}]"), r, today)
        })
        .collect();
    f.finish()?;
    let records: Vec<IncomeInput> = parsed
        .into_iter()
        .collect::<Option<_>>()
        .ok_or_else(|| ApiError::internal("lost"))?;
    let id = id.into_inner();
    let (rows, v) = db::write(&state.db, move |c| {
        let rows = store::add_incomes(c, &scope, &id, version, &records)
            .map_err(|e| file_error(e, "records"))?;
        let total: i64 = rows.iter().map(|r| r.amount_fen).sum();
        audit::append(
            c,
            access.event(
                "household.incomes_add",
                "household",
                &id,
                serde_json::json!({"records": rows.len(), "total_fen": total}),
            ),
        )?;
        Ok((rows, store::get(c, &jiekun_store::Scope::All, &id)?.version))
    })
    .await
    .map_err(household_not_found)?;
    Ok(ok_tagged(
        actix_web::http::StatusCode::CREATED,
        v,
        rows.into_iter().map(Income::from).collect::<Vec<_>>(),
    ))
}

/// Update an income record · 修改收入记录
///
/// Requires the household's `If-Match`.
///
/// 修改一条收入记录，须携带户档案的 If-Match。
#[utoipa::path(operation_id = "update_household_income", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("income_id" = String, Path, description = "Income record id. 收入记录标识。"),
           ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    request_body = UpdateIncome,
    responses((status = 200, description = "Updated. 已修改。", body = Income, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[patch("/households/{id}/incomes/{income_id}")]
async fn update_income(
    state: web::Data<AppState>,
    access: Access,
    path: web::Path<(String, String)>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<UpdateIncome>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let recorded = serde_json::to_value(&body).unwrap_or_default();
    let today = state.clock.today();
    let mut f = Fields::default();
    let month = body
        .month
        .as_deref()
        .and_then(|m| month_field(&mut f, "month", m, today));
    let amount = body
        .amount_fen
        .and_then(|a| fen_field(&mut f, "amount_fen", a));
    let source = body
        .source
        .as_deref()
        .and_then(|s| source_field(&mut f, "source", Some(s)));
    let note = body
        .note
        .as_ref()
        .map(|n| f.optional_text("note", n.as_deref(), 200).flatten());
    f.finish()?;
    let changes = IncomeChanges {
        month: month.map(|m| i64::from(m.key())),
        kind: body.kind.map(|k| k.as_str().to_owned()),
        source,
        amount_fen: amount,
        verified: body.verified,
        note,
    };
    let (id, income_id) = path.into_inner();
    let (row, v) = db::write(&state.db, move |c| {
        let row = store::update_income(c, &scope, &id, &income_id, version, &changes)
            .map_err(|e| file_error(e, "records"))?;
        audit::append(
            c,
            access.event(
                "household.income_update",
                "household",
                &id,
                serde_json::json!({"income_id": income_id, "changes": recorded}),
            ),
        )?;
        Ok((row, store::get(c, &jiekun_store::Scope::All, &id)?.version))
    })
    .await
    .map_err(|e| not_found(e, "income record", "收入记录"))?;
    Ok(ok_tagged(
        actix_web::http::StatusCode::OK,
        v,
        Income::from(row),
    ))
}

/// Delete an income record · 删除收入记录
///
/// Requires the household's `If-Match`.
///
/// 删除一条收入记录，须携带户档案的 If-Match。
#[utoipa::path(operation_id = "delete_household_income", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("income_id" = String, Path, description = "Income record id. 收入记录标识。"),
           ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    responses((status = 204, description = "Deleted. 已删除。", headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[delete("/households/{id}/incomes/{income_id}")]
async fn delete_income(
    state: web::Data<AppState>,
    access: Access,
    path: web::Path<(String, String)>,
    IfMatch(version): IfMatch,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let (id, income_id) = path.into_inner();
    let v = db::write(&state.db, move |c| {
        store::delete_income(c, &scope, &id, &income_id, version)
            .map_err(|e| file_error(e, "records"))?;
        audit::append(
            c,
            access.event(
                "household.income_delete",
                "household",
                &id,
                serde_json::json!({"income_id": income_id}),
            ),
        )?;
        Ok(store::get(c, &jiekun_store::Scope::All, &id)?.version)
    })
    .await
    .map_err(|e| not_found(e, "income record", "收入记录"))?;
    Ok(HttpResponse::NoContent()
        .insert_header(ETag(etag(v)))
        .finish())
}

/// List rigid expenditure · 查询刚性支出
///
/// The household's rigid expenditure items, latest period first.
///
/// 按期间倒序列出该户的刚性支出。
#[utoipa::path(operation_id = "list_household_expenditures", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。")),
    responses((status = 200, description = "Expenditure items. 刚性支出。", body = Vec<Expenditure>)))]
#[get("/households/{id}/expenditures")]
async fn list_expenditures(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<Expenditure>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let id = id.into_inner();
    let rows = db::run(&state.db, move |c| {
        store::get(c, &scope, &id)?;
        Ok(store::expenditure_items(c, &id)?)
    })
    .await
    .map_err(household_not_found)?;
    Ok(web::Json(rows.into_iter().map(Expenditure::from).collect()))
}

/// Add rigid expenditure · 新增刚性支出
///
/// Adds one or more items in one transaction (all or none). Requires the household's `If-Match`.
///
/// 批量新增刚性支出，同一事务。须携带户档案的 If-Match。
#[utoipa::path(operation_id = "add_household_expenditures", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    request_body = AddExpenditures,
    responses((status = 201, description = "Added. 已新增。", body = Vec<Expenditure>, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[post("/households/{id}/expenditures")]
async fn add_expenditures(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<AddExpenditures>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let today = state.clock.today();
    let mut f = Fields::default();
    if body.items.is_empty() || body.items.len() > 200 {
        f.push(FieldError::new(
            "items",
            "out_of_range",
            "1–200 items",
            "每次 1–200 条",
        ));
    }
    let parsed: Vec<Option<ExpenditureInput>> = body
        .items
        .iter()
        .enumerate()
        .map(|(i, e)| parse_expenditure(&mut f, &format!("items[{i}]"), e, today))
        .collect();
    f.finish()?;
    let items: Vec<ExpenditureInput> = parsed
        .into_iter()
        .collect::<Option<_>>()
        .ok_or_else(|| ApiError::internal("lost"))?;
    let id = id.into_inner();
    let (rows, v) = db::write(&state.db, move |c| {
        let rows = store::add_expenditures(c, &scope, &id, version, &items)
            .map_err(|e| file_error(e, "items"))?;
        audit::append(
            c,
            access.event(
                "household.expenditures_add",
                "household",
                &id,
                serde_json::json!({"items": rows.len()}),
            ),
        )?;
        Ok((rows, store::get(c, &jiekun_store::Scope::All, &id)?.version))
    })
    .await
    .map_err(household_not_found)?;
    Ok(ok_tagged(
        actix_web::http::StatusCode::CREATED,
        v,
        rows.into_iter().map(Expenditure::from).collect::<Vec<_>>(),
    ))
}

/// Update a rigid expenditure item · 修改刚性支出
///
/// Requires the household's `If-Match`.
///
/// 修改一条刚性支出，须携带户档案的 If-Match。
#[utoipa::path(operation_id = "update_household_expenditure", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("item_id" = String, Path, description = "Item id. 支出标识。"),
           ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    request_body = UpdateExpenditure,
    responses((status = 200, description = "Updated. 已修改。", body = Expenditure, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[patch("/households/{id}/expenditures/{item_id}")]
async fn update_expenditure(
    state: web::Data<AppState>,
    access: Access,
    path: web::Path<(String, String)>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<UpdateExpenditure>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let recorded = serde_json::to_value(&body).unwrap_or_default();
    let today = state.clock.today() + chrono::TimeDelta::days(366);
    let mut f = Fields::default();
    let start = body
        .start_month
        .as_deref()
        .and_then(|m| month_field(&mut f, "start_month", m, today));
    let end = body
        .end_month
        .as_deref()
        .and_then(|m| month_field(&mut f, "end_month", m, today));
    let amount = body
        .amount_fen
        .and_then(|a| fen_field(&mut f, "amount_fen", a));
    let description = body
        .description
        .as_ref()
        .map(|d| f.optional_text("description", d.as_deref(), 200).flatten());
    let evidence = body
        .evidence
        .as_ref()
        .map(|d| f.optional_text("evidence", d.as_deref(), 200).flatten());
    f.finish()?;
    let changes = ExpenditureChanges {
        kind: body.kind.map(|k| k.as_str().to_owned()),
        amount_fen: amount,
        start_month: start.map(|m| i64::from(m.key())),
        end_month: end.map(|m| i64::from(m.key())),
        description,
        evidence,
        verified: body.verified,
    };
    let (id, item_id) = path.into_inner();
    let (row, v) = db::write(&state.db, move |c| {
        let row = store::update_expenditure(c, &scope, &id, &item_id, version, &changes)
            .map_err(|e| file_error(e, "items"))?;
        audit::append(
            c,
            access.event(
                "household.expenditure_update",
                "household",
                &id,
                serde_json::json!({"item_id": item_id, "changes": recorded}),
            ),
        )?;
        Ok((row, store::get(c, &jiekun_store::Scope::All, &id)?.version))
    })
    .await
    .map_err(|e| not_found(e, "expenditure item", "刚性支出"))?;
    Ok(ok_tagged(
        actix_web::http::StatusCode::OK,
        v,
        Expenditure::from(row),
    ))
}

/// Delete a rigid expenditure item · 删除刚性支出
///
/// Requires the household's `If-Match`.
///
/// 删除一条刚性支出，须携带户档案的 If-Match。
#[utoipa::path(operation_id = "delete_household_expenditure", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("item_id" = String, Path, description = "Item id. 支出标识。"),
           ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    responses((status = 204, description = "Deleted. 已删除。", headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[delete("/households/{id}/expenditures/{item_id}")]
async fn delete_expenditure(
    state: web::Data<AppState>,
    access: Access,
    path: web::Path<(String, String)>,
    IfMatch(version): IfMatch,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let (id, item_id) = path.into_inner();
    let v = db::write(&state.db, move |c| {
        store::delete_expenditure(c, &scope, &id, &item_id, version)
            .map_err(|e| file_error(e, "items"))?;
        audit::append(
            c,
            access.event(
                "household.expenditure_delete",
                "household",
                &id,
                serde_json::json!({"item_id": item_id}),
            ),
        )?;
        Ok(store::get(c, &jiekun_store::Scope::All, &id)?.version)
    })
    .await
    .map_err(|e| not_found(e, "expenditure item", "刚性支出"))?;
    Ok(HttpResponse::NoContent()
        .insert_header(ETag(etag(v)))
        .finish())
}
