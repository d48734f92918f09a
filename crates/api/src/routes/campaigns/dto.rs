//! Request and response shapes of campaigns.

use chrono::{DateTime, NaiveDate, Utc};
use jiekun_domain::campaign::{AmountRule, CampaignKind, Eligibility, EligibilityRule};
use jiekun_domain::closed::ClosedList;
use jiekun_domain::household::Category;
use jiekun_domain::measure::Measure;
use jiekun_store::campaigns::eligible::{EligibleHousehold, Standing};
use jiekun_store::campaigns::payments::PaymentRow;
use jiekun_store::campaigns::quotas::QuotaRow;
use jiekun_store::campaigns::{CampaignRow, NewCampaign};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::error::{ApiError, ApiResult, FieldError};
use crate::schema;

/// Amounts by category, in fen. 按困难类别确定的金额（分）。
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct AmountsByCategory {
    /// 深度困难。
    #[validate(range(min = 1, max = 100_000_000))]
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub deep: i64,
    /// 相对困难。
    #[validate(range(min = 1, max = 100_000_000))]
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub relative: i64,
    /// 意外致困。
    #[validate(range(min = 1, max = 100_000_000))]
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub accident: i64,
}

/// Which filed households a campaign is for. 活动对象条件。
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct EligibilityIn {
    #[schema(value_type = schema::EligibilityRule)]
    pub rule: EligibilityRule,
    /// Only households of these categories (required for `filed_category`; empty: any).
    /// 仅限这些困难类别（filed_category 必填；为空则不限）。
    #[serde(default)]
    #[validate(length(max = 3, code = "too_many"))]
    #[schema(value_type = Vec<schema::Category>, max_items = 3)]
    pub categories: Vec<Category>,
}

/// A campaign to launch. 发起帮扶活动。
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "golden_autumn", "name": "2026年金秋助学",
    "starts_on": "2026-08-01", "ends_on": "2026-12-31", "budget_fen": 50000000,
    "amounts_by_category": {"deep": 300000, "relative": 200000, "accident": 200000},
    "eligibility": {"rule": "new_student"}}))]
pub struct CreateCampaign {
    #[schema(value_type = schema::CampaignKind)]
    pub kind: CampaignKind,
    /// 活动名称。
    #[validate(length(max = 100, code = "too_long"))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// First day payments may be dated. 活动开始日期。
    pub starts_on: NaiveDate,
    /// Last day payments may be dated. 活动结束日期。
    pub ends_on: NaiveDate,
    /// The whole budget in fen, at most 10 million yuan. 活动总预算（分）。
    #[validate(range(min = 1, max = 1_000_000_000))]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub budget_fen: i64,
    /// One amount for every household (fen); give this or `amounts_by_category`.
    /// 每户统一金额（分），与 amounts_by_category 二选一。
    #[validate(range(min = 1, max = 100_000_000))]
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub amount_fen: Option<i64>,
    /// An amount per category (fen). 按困难类别确定的金额（分）。
    #[validate(nested)]
    pub amounts_by_category: Option<AmountsByCategory>,
    #[validate(nested)]
    pub eligibility: EligibilityIn,
}

impl CreateCampaign {
    /// The campaign in domain terms, or every problem with its fields.
    pub fn parsed(self) -> ApiResult<NewCampaign> {
        let mut errors = Vec::new();
        let name = crate::fields::name("name", &self.name, 100)
            .map_err(|e| errors.push(e))
            .ok();
        if self.ends_on < self.starts_on {
            errors.push(FieldError::new(
                "ends_on",
                "before_start",
                "the campaign cannot end before it starts",
                "活动结束日期不能早于开始日期",
            ));
        }
        let amount = match (self.amount_fen, self.amounts_by_category) {
            (Some(v), None) => AmountRule::fixed(v).ok(),
            (None, Some(a)) => AmountRule::by_category(a.deep, a.relative, a.accident).ok(),
            (Some(_), Some(_)) => {
                errors.push(FieldError::new(
                    "amount_fen",
                    "one_of",
                    "give amount_fen or amounts_by_category, not both",
                    "amount_fen 与 amounts_by_category 只能填写一项",
                ));
                None
            }
            (None, None) => {
                errors.push(FieldError::new(
                    "amount_fen",
                    "required",
                    "give amount_fen or amounts_by_category",
                    "须填写 amount_fen 或 amounts_by_category",
                ));
                None
            }
        };
        let eligibility = match Eligibility::new(self.eligibility.rule, self.eligibility.categories)
        {
            Ok(e) => Some(e),
            Err(jiekun_domain::campaign::CampaignRuleError::RepeatedCategory) => {
                errors.push(FieldError::new(
                    "eligibility.categories",
                    "repeated",
                    "a category is named twice",
                    "困难类别重复",
                ));
                None
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "eligibility.categories",
                    "required",
                    "the filed_category rule names at least one category",
                    "按困难类别确定对象时至少须指定一个类别",
                ));
                None
            }
        };
        match (name, amount, eligibility) {
            (Some(name), Some(amount), Some(eligibility)) if errors.is_empty() => Ok(NewCampaign {
                kind: self.kind,
                name,
                starts_on: self.starts_on,
                ends_on: self.ends_on,
                budget_fen: self.budget_fen,
                eligibility,
                amount,
            }),
            _ => Err(ApiError::validation(errors)),
        }
    }
}

/// A campaign's rule, as stored. 活动对象条件。
#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityOut {
    #[schema(value_type = schema::EligibilityRule)]
    pub rule: String,
    pub rule_meaning: String,
    pub rule_meaning_zh: String,
    #[schema(value_type = Vec<schema::Category>)]
    pub categories: Vec<String>,
}

/// A campaign. 帮扶活动。
#[derive(Debug, Serialize, ToSchema)]
pub struct Campaign {
    pub id: String,
    /// The union that runs it. 发起活动的工会。
    pub organisation_id: String,
    #[schema(value_type = schema::CampaignKind)]
    pub kind: String,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub budget_fen: i64,
    /// The measure its payments are recorded under in the assistance ledger. 发放记入帮扶台账的措施序号。
    #[schema(minimum = 1, maximum = 19, example = 10)]
    pub measure: i64,
    /// The clause of the implementation plan. 《实施方案》条款。
    pub clause_zh: String,
    pub eligibility: EligibilityOut,
    /// One amount for every household (fen), when the campaign pays one. 每户统一金额（分）。
    pub amount_fen: Option<i64>,
    /// Amounts by category (fen), when the campaign pays by category. 按困难类别的金额（分）。
    pub amounts_by_category: Option<AmountsByCategory>,
    /// Bumped by every change to the quotas. 版本（每次调整额度递增）。
    pub version: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub fn campaign(r: CampaignRow) -> ApiResult<Campaign> {
    let e = r.eligibility().map_err(ApiError::internal)?;
    let amount = r.amount().map_err(ApiError::internal)?;
    let (amount_fen, amounts_by_category) = match amount {
        AmountRule::Fixed(v) => (Some(v), None),
        AmountRule::ByCategory {
            deep,
            relative,
            accident,
        } => (
            None,
            Some(AmountsByCategory {
                deep,
                relative,
                accident,
            }),
        ),
    };
    let clause_zh = u8::try_from(r.measure_number)
        .ok()
        .and_then(Measure::from_number)
        .map(Measure::clause_zh)
        .unwrap_or_default();
    Ok(Campaign {
        id: r.id,
        organisation_id: r.organisation_id,
        kind: r.kind,
        name: r.name,
        starts_on: r.starts_on,
        ends_on: r.ends_on,
        budget_fen: r.budget_fen,
        measure: r.measure_number,
        clause_zh,
        eligibility: EligibilityOut {
            rule: e.rule.as_str().into(),
            rule_meaning: e.rule.meaning_en().into(),
            rule_meaning_zh: e.rule.meaning_zh().into(),
            categories: e.categories.iter().map(|c| c.as_str().into()).collect(),
        },
        amount_fen,
        amounts_by_category,
        version: r.version,
        created_by: r.created_by,
        created_at: r.created_at.and_utc(),
    })
}

/// Filters of the list of campaigns. 帮扶活动筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CampaignQuery {
    #[param(value_type = Option<schema::CampaignKind>)]
    pub kind: Option<CampaignKind>,
}

/// A quota to set. 分配额度。
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"quota_fen": 100000}))]
pub struct SetQuota {
    /// The organisation's share of the budget, with its subtree (fen). 该组织（含下级）的额度（分）。
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub quota_fen: i64,
}

/// An organisation's quota. 组织额度。
#[derive(Debug, Serialize, ToSchema)]
pub struct Quota {
    pub campaign_id: String,
    pub organisation_id: String,
    /// The parent that entered it. 分配额度的上级组织。
    pub parent_id: String,
    pub quota_fen: i64,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

pub fn quota(r: QuotaRow) -> Quota {
    Quota {
        campaign_id: r.campaign_id,
        organisation_id: r.organisation_id,
        parent_id: r.parent_id,
        quota_fen: r.quota_fen,
        updated_by: r.updated_by,
        updated_at: r.updated_at.and_utc(),
    }
}

/// Filters of the eligible households. 符合条件家庭筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EligibleQuery {
    /// `true`: only those paid; `false`: only those not yet paid. 是否已发放。
    pub paid: Option<bool>,
}

/// A household the campaign is for. 符合活动条件的家庭。
#[derive(Debug, Serialize, ToSchema)]
pub struct EligibleOut {
    pub household_id: String,
    pub file_number: Option<String>,
    /// Its grassroots union. 所属基层工会。
    pub organisation_id: String,
    #[schema(value_type = Option<schema::Category>)]
    pub category: Option<String>,
    #[schema(value_type = schema::EligibilityRule)]
    pub rule: String,
    /// Why it is eligible. 符合条件的理由。
    pub reason: String,
    pub reason_zh: String,
    /// What it is due (fen); absent when the amount goes by category and it has none.
    /// 应发金额（分）。
    pub amount_fen: Option<i64>,
    pub paid: bool,
}

pub fn eligible(e: EligibleHousehold) -> EligibleOut {
    EligibleOut {
        household_id: e.household.id,
        file_number: e.household.file_number,
        organisation_id: e.household.organisation_id,
        category: e.household.category,
        rule: e.because.rule.as_str().into(),
        reason: e.because.reason_en,
        reason_zh: e.because.reason_zh,
        amount_fen: e.amount_fen,
        paid: e.paid,
    }
}

/// Where one organisation stands, with its subtree. 组织（含下级）的发放进度。
#[derive(Debug, Serialize, ToSchema)]
pub struct StandingOut {
    pub organisation_id: String,
    pub name: String,
    pub parent_id: Option<String>,
    /// Its quota (the budget for the campaign's union); absent where none has been entered.
    /// 额度（分）；未分配时不返回。
    pub quota_fen: Option<i64>,
    /// Paid by it and its subtree (fen). 本级及下级已发放金额（分）。
    pub spent_fen: i64,
    /// What its quota leaves (fen). 剩余额度（分）。
    pub remaining_fen: Option<i64>,
    pub households_paid: i64,
    /// Eligible households of its subtree not yet paid. 尚未发放的符合条件家庭数。
    pub eligible_unpaid: i64,
}

/// A campaign's progress down the tree. 帮扶活动发放进度。
#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    pub campaign_id: String,
    pub budget_fen: i64,
    /// The organisations of the campaign's tree in your scope, parents before children.
    /// 您权限范围内活动所涉组织，上级在前。
    pub organisations: Vec<StandingOut>,
}

pub fn standing(s: Standing) -> StandingOut {
    StandingOut {
        organisation_id: s.organisation.id,
        name: s.organisation.name,
        parent_id: s.organisation.parent_id,
        quota_fen: s.quota_fen,
        spent_fen: s.spent_fen,
        remaining_fen: s.quota_fen.map(|q| q - s.spent_fen),
        households_paid: s.households_paid,
        eligible_unpaid: s.eligible_unpaid,
    }
}

/// A payment to make. 发放帮扶金。
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"household_id": crate::examples::HOUSEHOLD_ID, "paid_on": "2026-09-01",
    "evidence": "西工助〔2026〕15号"}))]
pub struct CreatePayment {
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub household_id: String,
    /// When it was paid: inside the campaign's period, never in the future. 发放日期（活动期间内，不晚于今天）。
    pub paid_on: NaiveDate,
    /// A reference to the evidence (document number, receipt). 凭证编号。
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    pub evidence: Option<String>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// A household paid by a campaign. 活动发放记录。
#[derive(Debug, Serialize, ToSchema)]
pub struct Payment {
    pub id: String,
    pub campaign_id: String,
    pub household_id: String,
    /// The amount the campaign's rule gives the household (fen). 发放金额（分）。
    pub amount_fen: i64,
    pub paid_on: NaiveDate,
    /// Its entry in the assistance ledger. 对应的帮扶台账记录。
    pub assistance_id: String,
    /// The union of the person who paid. 发放单位。
    pub paid_by_organisation_id: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub fn payment(r: PaymentRow) -> Payment {
    Payment {
        id: r.id,
        campaign_id: r.campaign_id,
        household_id: r.household_id,
        amount_fen: r.amount_fen,
        paid_on: r.paid_on,
        assistance_id: r.assistance_id,
        paid_by_organisation_id: r.paid_by_organisation_id,
        created_by: r.created_by,
        created_at: r.created_at.and_utc(),
    }
}
