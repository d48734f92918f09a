//! Request and response shapes of the household file. Shape limits (lengths, ranges, item
//! counts) are checked by `validator` and stated in the schema; what values mean (identity
//! numbers, months, causes) is checked by the domain when the body is parsed.

use chrono::{DateTime, NaiveDate, Utc};
use jiekun_domain::household::HousingType;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::members::{Member, MemberIn};
use super::money_dto::{ExpenditureIn, IncomeIn};
use crate::fields::double_option;
use crate::schema;

/// Assets and exclusion facts (家庭财产及排除情形). 财产与排除情形。
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct Assets {
    /// Homes the household owns, 0–1000. 自有住房套数。
    #[validate(range(min = 0, max = 1000, code = "out_of_range"))]
    #[schema(minimum = 0, maximum = 1000)]
    pub homes_count: i64,
    /// Total floor area of the homes, m², at most two decimals. 住房总面积（平方米，最多两位小数）。
    #[validate(range(min = 0.0, max = 100000.0, code = "out_of_range"))]
    #[schema(minimum = 0, maximum = 100000, multiple_of = 0.01)]
    pub homes_area_m2: f64,
    /// Motor vehicles, 0–1000. 机动车数量。
    #[validate(range(min = 0, max = 1000, code = "out_of_range"))]
    #[schema(minimum = 0, maximum = 1000)]
    pub vehicles_count: i64,
    /// A vehicle kept for a disabled member's mobility; needs a vehicle and a member whose health
    /// is `disabled`. 残疾人代步车（须有车辆且有残疾成员）。
    pub vehicle_disability_exempt: bool,
    /// A member controls a company. 家庭成员为企业控股股东。
    pub controlling_shareholder: bool,
    /// A child at a high-fee private school. 子女就读高收费私立学校。
    pub high_fee_schooling: bool,
    /// The household refuses to cooperate with checks. 拒不配合核查。
    pub refuses_cooperation: bool,
}

/// A new household file. 新建困难职工家庭档案。
#[derive(Debug, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!(crate::examples::create_household()))]
pub struct CreateHousehold {
    /// The grassroots union that keeps the file (in your scope). 建档的基层工会。
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub organisation_id: String,
    /// GB/T 2260 code of where the household lives, inside the union's region. 居住地行政区划。
    #[schema(example = "610724", pattern = "^[0-9]{6}$")]
    pub region_code: String,
    #[validate(length(max = 200, code = "too_long"))]
    #[schema(example = "西乡县城关镇东大街12号", max_length = 200)]
    pub address: String,
    /// The worker's employer. 职工所在企业。
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub enterprise_id: Option<String>,
    #[schema(value_type = schema::HousingType)]
    pub housing_type: HousingType,
    /// m², at most two decimals. 住房面积（平方米，最多两位小数）。
    #[validate(range(min = 0.0, max = 100000.0, code = "out_of_range"))]
    #[schema(minimum = 0, maximum = 100000, multiple_of = 0.01)]
    pub housing_area_m2: Option<f64>,
    #[validate(length(max = 100, code = "too_long"))]
    #[schema(max_length = 100)]
    pub bank_name: Option<String>,
    /// 8–32 digits (spaces and dashes ignored); stored encrypted, masked in answers.
    /// 银行账号（8–32 位数字，加密存储）。
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(example = "6228480000000000012", max_length = 64)]
    pub bank_account: Option<String>,
    #[schema(value_type = schema::HardshipCause)]
    pub main_cause: u8,
    /// Up to three, distinct, not the main cause. 次要致困原因（最多三项）。
    #[serde(default)]
    #[validate(length(max = 3, code = "too_many"))]
    #[schema(value_type = Vec<schema::HardshipCause>, max_items = 3)]
    pub secondary_causes: Vec<u8>,
    #[serde(default)]
    pub single_parent: bool,
    #[serde(default)]
    pub disability_household: bool,
    #[serde(default)]
    pub zero_employment: bool,
    /// A legal dispute (labour or other) of the household is on file, for legal aid
    /// (《实施方案》三(七)13); default false. 家庭有在办的法律纠纷（劳动争议等），可申请法律援助。
    #[serde(default)]
    pub legal_dispute: bool,
    #[serde(default)]
    #[validate(nested)]
    pub assets: Assets,
    /// 1–30 members, exactly one `worker`. 家庭成员 1–30 人，有且仅有一名职工本人。
    #[validate(length(max = 30, code = "too_many"), nested)]
    #[schema(min_items = 1, max_items = 30)]
    pub members: Vec<MemberIn>,
    /// Income records (at most 500); `member_index` points into `members`. 收入记录。
    #[serde(default)]
    #[validate(length(max = 500, code = "too_many"), nested)]
    #[schema(max_items = 500)]
    pub incomes: Vec<IncomeIn>,
    /// Rigid expenditure (at most 200); `member_index` points into `members`. 刚性支出。
    #[serde(default)]
    #[validate(length(max = 200, code = "too_many"), nested)]
    #[schema(max_items = 200)]
    pub expenditures: Vec<ExpenditureIn>,
}

/// Changes to household-level fields; absent fields stay, `null` clears optional ones. An empty
/// body changes nothing (the version stays). 修改档案；未提供的字段保持不变。
#[derive(Debug, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"address": "西乡县城关镇东大街14号", "zero_employment": true, "legal_dispute": true}))]
pub struct UpdateHousehold {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub organisation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]{6}$")]
    pub region_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 200, code = "too_long"))]
    #[schema(max_length = 200)]
    pub address: Option<String>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, max_length = 64)]
    pub enterprise_id: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<schema::HousingType>)]
    pub housing_type: Option<HousingType>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 100000, multiple_of = 0.01)]
    pub housing_area_m2: Option<Option<f64>>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub bank_name: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, max_length = 64)]
    pub bank_account: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<schema::HardshipCause>)]
    pub main_cause: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 3, code = "too_many"))]
    #[schema(value_type = Option<Vec<schema::HardshipCause>>, max_items = 3)]
    pub secondary_causes: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_parent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disability_household: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zero_employment: Option<bool>,
    /// A legal dispute (labour or other) of the household is on file, for legal aid
    /// (《实施方案》三(七)13). 家庭有在办的法律纠纷（劳动争议等），可申请法律援助。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_dispute: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(nested)]
    pub assets: Option<Assets>,
    /// Causes now resolved (each must be the main or a secondary cause); exit needs all of them.
    /// 已消除的致困原因（须为主要或次要原因）；退出须全部消除。
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 4, code = "too_many"))]
    #[schema(value_type = Option<Vec<schema::HardshipCause>>, max_items = 4)]
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
    #[schema(value_type = schema::HousingType)]
    pub housing_type: String,
    pub housing_area_m2: Option<f64>,
    pub bank_name: Option<String>,
    /// Masked unless revealed. 银行账号。
    pub bank_account: Option<String>,
    #[schema(value_type = schema::HardshipCause)]
    pub main_cause: i64,
    #[schema(value_type = Vec<schema::HardshipCause>)]
    pub secondary_causes: Vec<i64>,
    /// Causes marked resolved. 已消除的致困原因。
    #[schema(value_type = Vec<schema::HardshipCause>)]
    pub resolved_causes: Vec<i64>,
    pub single_parent: bool,
    pub disability_household: bool,
    pub zero_employment: bool,
    /// A legal dispute (labour or other) of the household is on file, for legal aid
    /// (《实施方案》三(七)13). 家庭有在办的法律纠纷（劳动争议等），可申请法律援助。
    pub legal_dispute: bool,
    pub assets: Assets,
    /// Once assessed. 困难类别（认定后）。
    #[schema(value_type = Option<schema::Category>)]
    pub category: Option<String>,
    #[schema(value_type = schema::HouseholdStatus)]
    pub status: String,
    pub members_count: i64,
    /// Present on single reads, absent in lists. 家庭成员（列表中不含）。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<Member>>,
    /// Which personal data this answer shows in full. 本次返回中未脱敏的字段。
    pub revealed: Vec<String>,
    pub version: i64,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// Find households by identity number (sent in the body, so that it stays out of URLs and logs).
/// 按身份号码查找（放在请求体中，避免出现在网址和日志里）。
#[derive(Debug, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"national_id": crate::examples::WORKER_ID}))]
pub struct SearchHouseholds {
    #[validate(length(max = 18, code = "too_long"))]
    #[schema(min_length = 18, max_length = 18, pattern = "^[0-9]{17}[0-9Xx]$")]
    pub national_id: String,
}

/// Filters for the household list. 档案列表筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HouseholdQuery {
    /// Inside this GB/T 2260 division. 所属行政区划（含下级）。
    #[param(pattern = "^[0-9]{6}$")]
    pub region_code: Option<String>,
    /// Households of this organisation and those below it. 所属组织（含下级）。
    #[param(max_length = 64)]
    pub organisation_id: Option<String>,
    #[param(value_type = Option<schema::Category>)]
    pub category: Option<String>,
    #[param(value_type = Option<schema::HouseholdStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<schema::HardshipCause>)]
    pub main_cause: Option<u8>,
    pub single_parent: Option<bool>,
    pub disability_household: Option<bool>,
    pub zero_employment: Option<bool>,
    /// Page size, 1–200 (default 50). 每页条数。
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page. 上一页返回的游标。
    #[param(max_length = 200)]
    pub cursor: Option<String>,
    /// `true` to have the answer carry `total`, the number of matching households in all pages.
    /// 为 true 时返回符合条件的档案总数 total。
    pub count: Option<bool>,
}

/// Personal data to show in full: any of `name`, `national_id`, `bank_account`, `health`, or
/// `all`, comma-separated. Only roles that handle cases may ask; every such read is audited.
/// 需完整显示的个人信息；仅经办、审核、审批角色可请求，且每次读取均记入审计。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RevealQuery {
    #[param(
        example = "national_id,health",
        pattern = "^(name|national_id|bank_account|health|all)(,(name|national_id|bank_account|health|all))*$"
    )]
    pub reveal: Option<String>,
}

/// `YYYY-MM` of a stored month key.
pub fn month_text(k: i64) -> String {
    jiekun_domain::household::Month::from_key(k as i32)
        .map(|m| m.to_string())
        .unwrap_or_default()
}

/// Today in China Standard Time: months and birth dates are judged by the local calendar.
pub fn today() -> NaiveDate {
    (Utc::now() + chrono::TimeDelta::hours(8)).date_naive()
}
