//! Shapes of the two money ledgers: income records (收入记录) and rigid expenditure (刚性支出).

use jiekun_domain::household::{ExpenditureKind, IncomeKind};
use jiekun_store::households::{ExpenditureRow, IncomeRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::dto::month_text;
use crate::fields::double_option;
use crate::schema;

/// An income record as sent. 收入记录（提交）。
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct IncomeIn {
    /// When creating a household: the member's position in `members`. 新建档案时指向成员序号。
    #[schema(minimum = 0, maximum = 29)]
    pub member_index: Option<usize>,
    /// On an existing household: the member's id; absent for household income. 成员标识。
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub member_id: Option<String>,
    /// `YYYY-MM`, not in the future. 月份。
    #[schema(example = "2026-10", pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub month: String,
    #[schema(value_type = schema::IncomeKind)]
    pub kind: IncomeKind,
    /// `declared` (default) or the code of the department that reported it. 来源。
    #[schema(example = "declared", max_length = 32)]
    pub source: Option<String>,
    /// Fen (分), 0 – 100,000,000,000. 金额（分）。
    #[validate(range(min = 0, max = 100_000_000_000i64, code = "out_of_range"))]
    #[schema(example = 180000, minimum = 0, maximum = 100_000_000_000i64)]
    pub amount_fen: i64,
    #[serde(default)]
    pub verified: bool,
    #[validate(length(max = 200, code = "too_long"))]
    #[schema(max_length = 200)]
    pub note: Option<String>,
}

/// An income record. 收入记录。
#[derive(Debug, Serialize, ToSchema)]
pub struct Income {
    pub id: String,
    pub member_id: Option<String>,
    pub month: String,
    #[schema(value_type = schema::IncomeKind)]
    pub kind: String,
    pub source: String,
    pub amount_fen: i64,
    pub verified: bool,
    pub note: Option<String>,
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

/// Changes to an income record. 修改收入记录。
#[derive(Debug, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount_fen": 150000, "verified": true}))]
pub struct UpdateIncome {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub month: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<schema::IncomeKind>)]
    pub kind: Option<IncomeKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 32)]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(range(min = 0, max = 100_000_000_000i64, code = "out_of_range"))]
    #[schema(minimum = 0, maximum = 100_000_000_000i64)]
    pub amount_fen: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub note: Option<Option<String>>,
}

/// Several income records (1–500), added together or not at all. 批量新增收入记录。
#[derive(Debug, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"records": [{"month": "2026-10", "kind": "wage", "amount_fen": 180000}]}))]
pub struct AddIncomes {
    #[validate(length(min = 1, max = 500, code = "out_of_range"), nested)]
    #[schema(min_items = 1, max_items = 500)]
    pub records: Vec<IncomeIn>,
}

/// A rigid expenditure item as sent. 刚性支出（提交）。
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ExpenditureIn {
    /// When creating a household: the member's position in `members`. 新建档案时指向成员序号。
    #[schema(minimum = 0, maximum = 29)]
    pub member_index: Option<usize>,
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub member_id: Option<String>,
    #[schema(value_type = schema::ExpenditureKind)]
    pub kind: ExpenditureKind,
    /// Fen over the whole period, 0 – 100,000,000,000. 期间合计金额（分）。
    #[validate(range(min = 0, max = 100_000_000_000i64, code = "out_of_range"))]
    #[schema(example = 360000, minimum = 0, maximum = 100_000_000_000i64)]
    pub amount_fen: i64,
    /// `YYYY-MM`. 起始月份。
    #[schema(example = "2026-01", pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub start_month: String,
    /// `YYYY-MM`, not before the start. 截止月份。
    #[schema(example = "2026-12", pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub end_month: String,
    #[validate(length(max = 200, code = "too_long"))]
    #[schema(max_length = 200)]
    pub description: Option<String>,
    /// Where the evidence is (receipt number, file reference). 凭证。
    #[validate(length(max = 200, code = "too_long"))]
    #[schema(max_length = 200)]
    pub evidence: Option<String>,
    #[serde(default)]
    pub verified: bool,
}

/// A rigid expenditure item. 刚性支出。
#[derive(Debug, Serialize, ToSchema)]
pub struct Expenditure {
    pub id: String,
    pub member_id: Option<String>,
    #[schema(value_type = schema::ExpenditureKind)]
    pub kind: String,
    pub amount_fen: i64,
    pub start_month: String,
    pub end_month: String,
    pub description: Option<String>,
    pub evidence: Option<String>,
    pub verified: bool,
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

/// Several expenditure items (1–200), added together or not at all. 批量新增刚性支出。
#[derive(Debug, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"items": [{"kind": "medical", "amount_fen": 360000, "start_month": "2026-01", "end_month": "2026-06", "evidence": "西乡县人民医院票据 2026-0012"}]}))]
pub struct AddExpenditures {
    #[validate(length(min = 1, max = 200, code = "out_of_range"), nested)]
    #[schema(min_items = 1, max_items = 200)]
    pub items: Vec<ExpenditureIn>,
}

/// Changes to an expenditure item. 修改刚性支出。
#[derive(Debug, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount_fen": 420000, "verified": true}))]
pub struct UpdateExpenditure {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<schema::ExpenditureKind>)]
    pub kind: Option<ExpenditureKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(range(min = 0, max = 100_000_000_000i64, code = "out_of_range"))]
    #[schema(minimum = 0, maximum = 100_000_000_000i64)]
    pub amount_fen: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub start_month: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub end_month: Option<String>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub description: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub evidence: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// Filters and page of a ledger. 收入或支出筛选与分页。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// From this month (`YYYY-MM`; income records only). 起始月份（仅收入）。
    #[param(pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub from: Option<String>,
    /// Up to this month (`YYYY-MM`; income records only). 截止月份（仅收入）。
    #[param(pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub to: Option<String>,
    /// Only this member's items. 仅该成员。
    #[param(max_length = 64)]
    pub member_id: Option<String>,
    /// Page size, 1–200 (default 50). 每页条数。
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page. 上一页返回的游标。
    #[param(max_length = 200)]
    pub cursor: Option<String>,
    /// `true` to have the answer carry `total`, the number of matching items in all pages.
    /// 为 true 时返回符合条件的总条数 total。
    pub count: Option<bool>,
}
