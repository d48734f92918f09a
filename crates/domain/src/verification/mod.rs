//! Information sharing (信息共享, 《实施方案》三(一)1): the data domains partner departments
//! verify, the consent that must cover them, the dated facts departments answer with, what a
//! verified fact changes in the rules, and the differences from the declared file to flag.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::department::DepartmentCode;
use crate::household::{IncomeKind, Month};
use crate::rules::identify::age_on;
use crate::rules::snapshot::AssetsSnap;

crate::closed_list! {
    /// A data domain a partner department verifies (《实施方案》三(一)1).
    DataDomain ("Data domain a department verifies", "部门核对的数据类别") {
        Vehicles = "vehicles" ("motor vehicles registered to the person (public security)", "名下机动车（公安）"),
        RealEstate = "real_estate" ("homes owned and their floor area (housing)", "名下房产及面积（住建）"),
        SocialInsurance = "social_insurance" ("social insurance status and pension (human resources and social security)", "社会保险参保及养老金（人社）"),
        SocialAssistance = "social_assistance" ("minimum living allowance (低保) or special-hardship support (civil affairs)", "最低生活保障或特困供养（民政）"),
        Business = "business" ("business registrations as controlling shareholder (market regulation)", "作为控股股东的市场主体登记（市场监管）"),
        Tax = "tax" ("taxable income by month (tax)", "按月纳税收入（税务）"),
    }
}

impl DataDomain {
    /// The department kind that answers for the domain.
    pub fn department(self) -> DepartmentCode {
        match self {
            DataDomain::Vehicles => DepartmentCode::PublicSecurity,
            DataDomain::RealEstate => DepartmentCode::Housing,
            DataDomain::SocialInsurance => DepartmentCode::Hrss,
            DataDomain::SocialAssistance => DepartmentCode::CivilAffairs,
            DataDomain::Business => DepartmentCode::MarketRegulation,
            DataDomain::Tax => DepartmentCode::Tax,
        }
    }

    /// The domains a department kind answers for.
    pub fn of_department(code: DepartmentCode) -> Vec<DataDomain> {
        DataDomain::ALL
            .iter()
            .copied()
            .filter(|d| d.department() == code)
            .collect()
    }
}

crate::closed_list! {
    /// Social-insurance status as the human-resources department reports it.
    InsuranceStatus ("Social-insurance status", "社会保险状态") {
        Insured = "insured" ("insured and contributing", "参保缴费"),
        NotInsured = "not_insured" ("not insured", "未参保"),
        Retired = "retired" ("retired, drawing a pension", "已退休领取养老金"),
    }
}

crate::closed_list! {
    /// Government assistance status as the civil-affairs department reports it.
    AssistanceStatus ("Government assistance status", "社会救助状态") {
        Dibao = "dibao" ("receives the minimum living allowance (低保)", "享受最低生活保障"),
        SpecialHardship = "special_hardship" ("receives special-hardship support (特困供养)", "享受特困人员救助供养"),
        None = "none" ("receives neither", "均未享受"),
    }
}

crate::closed_list! {
    /// How a difference between the declared file and a verified fact was settled.
    Resolution ("How a discrepancy was settled", "差异处理结果") {
        AcceptVerified = "accept_verified" ("the verified figure is right: the file is corrected to it", "以核实数为准，更正档案"),
        KeepDeclared = "keep_declared" ("the declared figure stands: the verified fact is set aside", "维持申报数，核实信息不予采用"),
    }
}

crate::closed_list! {
    /// A figure of the file that a verified fact can contradict.
    CheckedField ("Figure of the file a verified fact can contradict", "可与核实信息比对的档案项目") {
        VehiclesCount = "vehicles_count" ("number of motor vehicles", "机动车数量"),
        HomesCount = "homes_count" ("number of homes owned", "房产套数"),
        HomesArea = "homes_area" ("floor area of the homes owned, in hundredths of a square metre", "房产总面积（0.01 平方米）"),
        ControllingShareholder = "controlling_shareholder" ("controlling shareholder of a business (1 yes, 0 no)", "是否为企业控股股东（1 是，0 否）"),
        Income = "income" ("a member's income of one kind in one month, in fen", "成员某月某类收入（分）"),
    }
}

crate::closed_list! {
    /// Where a verification request or task stands.
    TaskStatus ("Status of a verification request or task", "核对请求或任务状态") {
        Open = "open" ("waiting for the department's answer", "待部门答复"),
        Answered = "answered" ("answered", "已答复"),
    }
}

crate::closed_list! {
    /// How a department's answer arrived.
    AnswerChannel ("How a department's answer arrived", "部门答复方式") {
        Api = "api" ("through the API, with the department's key", "通过接口（部门密钥）答复"),
        Exchange = "exchange" ("in a signed answer file of an offline exchange", "通过离线交换的签名答复文件"),
    }
}

crate::closed_list! {
    /// Where a discrepancy stands.
    DiscrepancyStatus ("Status of a discrepancy", "核对差异状态") {
        Open = "open" ("waiting for staff to settle it", "待处理"),
        Resolved = "resolved" ("settled by staff", "已处理"),
    }
}

/// Whether a person born on `birth` is an adult (18 or older) on `on`.
pub fn is_adult(birth: NaiveDate, on: NaiveDate) -> bool {
    age_on(birth, on) >= 18
}

/// Why a consent cannot be recorded as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    /// An adult signs their own consent.
    #[error("an adult member signs their own consent")]
    AdultSignsForSelf,
    /// A minor's consent is signed by an adult member of the household as guardian.
    #[error("a minor's consent is signed by an adult member of the household as guardian")]
    GuardianNotAdult,
}

/// Checks who signed a member's consent on `signed_on`: an adult for themselves; for a minor, an
/// adult member of the same household as guardian.
pub fn check_signer(
    member_birth: NaiveDate,
    signer_is_member: bool,
    signer_birth: NaiveDate,
    signed_on: NaiveDate,
) -> Result<(), SignerError> {
    if is_adult(member_birth, signed_on) {
        return if signer_is_member {
            Ok(())
        } else {
            Err(SignerError::AdultSignsForSelf)
        };
    }
    if signer_is_member || !is_adult(signer_birth, signed_on) {
        return Err(SignerError::GuardianNotAdult);
    }
    Ok(())
}

/// What one member's standing consents cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover<'a> {
    pub member_id: &'a str,
    pub domains: Vec<DataDomain>,
}

/// A member whose consent does not cover some of the domains asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Uncovered {
    pub member_id: String,
    pub domains: Vec<DataDomain>,
}

/// The members (in the order given) whose standing consents leave some of `wanted` uncovered.
pub fn uncovered(members: &[&str], covers: &[Cover<'_>], wanted: &[DataDomain]) -> Vec<Uncovered> {
    members
        .iter()
        .filter_map(|m| {
            let missing: Vec<DataDomain> = wanted
                .iter()
                .copied()
                .filter(|d| {
                    !covers
                        .iter()
                        .any(|c| c.member_id == *m && c.domains.contains(d))
                })
                .collect();
            (!missing.is_empty()).then(|| Uncovered {
                member_id: (*m).to_owned(),
                domains: missing,
            })
        })
        .collect()
}

/// A dated fact a department reports about one member, as received: which fields it needs depends
/// on its domain (see [`Fact::check`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub member_id: String,
    pub domain: Option<DataDomain>,
    pub as_of: Option<NaiveDate>,
    /// Vehicles, homes, or businesses controlled.
    pub count: Option<i64>,
    /// Floor area of the homes, in hundredths of a square metre.
    pub area_dm2: Option<i64>,
    pub status: Option<String>,
    /// YYYYMM of the monthly amount.
    pub month: Option<i32>,
    pub amount_fen: Option<i64>,
}

/// What is wrong with one field of a fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactProblem {
    pub field: &'static str,
    pub code: &'static str,
    pub en: String,
    pub zh: String,
}

fn problem(field: &'static str, code: &'static str, en: &str, zh: &str) -> FactProblem {
    FactProblem {
        field,
        code,
        en: en.to_owned(),
        zh: zh.to_owned(),
    }
}

/// The earliest date a fact may be dated.
pub const EARLIEST_FACT: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// The most a count may be (vehicles, homes, businesses of one person).
pub const MAX_COUNT: i64 = 999;
/// The most a monthly amount may be, in fen (10 million yuan).
pub const MAX_MONTHLY_FEN: i64 = 1_000_000_000;
/// The most a floor area may be, in hundredths of a square metre (100,000 m²).
pub const MAX_AREA_DM2: i64 = 10_000_000;

impl Fact {
    /// Checks the fact against its domain, dated no later than `today`: each domain needs its own
    /// fields and takes no others. Every problem is reported, by field.
    pub fn check(&self, today: NaiveDate) -> Vec<FactProblem> {
        let mut out = Vec::new();
        match self.as_of {
            None => out.push(problem(
                "as_of",
                "required",
                "the date the department's data holds on is required",
                "须填写核实信息的截止日期",
            )),
            Some(d) if d > today => out.push(problem(
                "as_of",
                "in_future",
                "the date cannot be in the future",
                "日期不能晚于今天",
            )),
            Some(d) if d < EARLIEST_FACT => out.push(problem(
                "as_of",
                "too_early",
                "the date cannot be before 2000-01-01",
                "日期不能早于 2000-01-01",
            )),
            Some(_) => {}
        }
        let Some(domain) = self.domain else {
            out.push(problem(
                "domain",
                "required",
                "the data domain is required",
                "须填写数据类别",
            ));
            return out;
        };
        use DataDomain as D;
        let needs: &[&'static str] = match domain {
            D::Vehicles | D::Business => &["count"],
            D::RealEstate => &["count", "area_m2"],
            D::SocialInsurance | D::SocialAssistance => &["status"],
            D::Tax => &["month", "amount_fen"],
        };
        let takes: &[&'static str] = match domain {
            D::Vehicles | D::Business => &["count"],
            D::RealEstate => &["count", "area_m2"],
            D::SocialInsurance | D::SocialAssistance => &["status", "month", "amount_fen"],
            D::Tax => &["month", "amount_fen"],
        };
        let given = [
            ("count", self.count.is_some()),
            ("area_m2", self.area_dm2.is_some()),
            ("status", self.status.is_some()),
            ("month", self.month.is_some()),
            ("amount_fen", self.amount_fen.is_some()),
        ];
        for (field, present) in given {
            if present && !takes.contains(&field) {
                out.push(FactProblem {
                    field,
                    code: "not_allowed",
                    en: format!("a `{}` fact takes no `{field}`", domain.as_str()),
                    zh: format!(
                        "“{}”类核实信息不填写 {field}",
                        crate::closed::ClosedList::meaning_zh(domain)
                    ),
                });
            } else if !present && needs.contains(&field) {
                out.push(FactProblem {
                    field,
                    code: "required",
                    en: format!("a `{}` fact needs `{field}`", domain.as_str()),
                    zh: format!(
                        "“{}”类核实信息须填写 {field}",
                        crate::closed::ClosedList::meaning_zh(domain)
                    ),
                });
            }
        }
        if let Some(n) = self.count {
            if !(0..=MAX_COUNT).contains(&n) {
                out.push(problem(
                    "count",
                    "out_of_range",
                    "a count runs from 0 to 999",
                    "数量应在 0 至 999 之间",
                ));
            }
        }
        if let Some(a) = self.area_dm2 {
            if !(0..=MAX_AREA_DM2).contains(&a) {
                out.push(problem(
                    "area_m2",
                    "out_of_range",
                    "an area runs from 0 to 100000 square metres",
                    "面积应在 0 至 100000 平方米之间",
                ));
            }
            if self.count == Some(0) && a > 0 {
                out.push(problem(
                    "area_m2",
                    "inconsistent",
                    "no homes cannot have a floor area",
                    "房产套数为 0 时面积应为 0",
                ));
            }
        }
        if let Some(a) = self.amount_fen {
            if !(0..=MAX_MONTHLY_FEN).contains(&a) {
                out.push(problem(
                    "amount_fen",
                    "out_of_range",
                    "a monthly amount runs from 0 to 1000000000 fen",
                    "月金额应在 0 至 1000000000 分之间",
                ));
            }
        }
        if let Some(m) = self.month {
            let valid = Month::from_key(m).filter(|m| m.year >= 2000);
            match (valid, self.as_of) {
                (None, _) => out.push(problem(
                    "month",
                    "invalid",
                    "a month is written YYYY-MM, from 2000-01",
                    "月份格式为 YYYY-MM，且不早于 2000-01",
                )),
                (Some(m), Some(d)) if m > Month::of(d) => out.push(problem(
                    "month",
                    "after_as_of",
                    "the month cannot be after the date the data holds on",
                    "月份不能晚于核实信息的截止日期",
                )),
                _ => {}
            }
        }
        if self.month.is_some() != self.amount_fen.is_some()
            && takes.contains(&"month")
            && !needs.contains(&"month")
        {
            let field = if self.month.is_none() {
                "month"
            } else {
                "amount_fen"
            };
            out.push(problem(
                field,
                "required",
                "a monthly amount comes with its month, and a month with its amount",
                "月份与月金额须同时填写",
            ));
        }
        if let Some(s) = &self.status {
            let (known, paid) = match domain {
                D::SocialInsurance => (
                    s.parse::<InsuranceStatus>()
                        .ok()
                        .map(|v| v == InsuranceStatus::Retired),
                    true,
                ),
                D::SocialAssistance => (
                    s.parse::<AssistanceStatus>()
                        .ok()
                        .map(|v| v != AssistanceStatus::None),
                    true,
                ),
                _ => (Some(false), false),
            };
            match known {
                None if paid => {
                    let values = match domain {
                        D::SocialInsurance => {
                            <InsuranceStatus as crate::closed::ClosedList>::codes().join(", ")
                        }
                        _ => <AssistanceStatus as crate::closed::ClosedList>::codes().join(", "),
                    };
                    out.push(FactProblem {
                        field: "status",
                        code: "invalid_value",
                        en: format!("the status is one of: {values}"),
                        zh: format!("状态取值应为以下之一：{values}"),
                    });
                }
                Some(false) if self.amount_fen.is_some() => out.push(problem(
                    "amount_fen",
                    "not_allowed",
                    "only a pension, 低保 or special-hardship status comes with a monthly amount",
                    "仅领取养老金、低保或特困供养时填写月金额",
                )),
                _ => {}
            }
        }
        out
    }

    /// The monthly income the fact proves, if it is one: taxable income counts as wages, a
    /// pension as a pension, 低保 and special-hardship support as those kinds.
    pub fn income(&self) -> Option<(IncomeKind, i32, i64)> {
        let (month, amount) = (self.month?, self.amount_fen?);
        let kind = match self.domain? {
            DataDomain::Tax => IncomeKind::Wage,
            DataDomain::SocialInsurance => IncomeKind::Pension,
            DataDomain::SocialAssistance => match self.status.as_deref()?.parse().ok()? {
                AssistanceStatus::Dibao => IncomeKind::Dibao,
                AssistanceStatus::SpecialHardship => IncomeKind::SpecialHardship,
                AssistanceStatus::None => return None,
            },
            _ => return None,
        };
        Some((kind, month, amount))
    }
}

/// A verified fact as the rules see it: stored with each assessment's snapshot so that the
/// assessment can be replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedSnap {
    pub task_id: String,
    /// The department code that reported it.
    pub source: String,
    pub member_id: String,
    pub domain: DataDomain,
    pub as_of: NaiveDate,
    #[serde(default)]
    pub count: Option<i64>,
    #[serde(default)]
    pub area_dm2: Option<i64>,
    #[serde(default)]
    pub status: Option<String>,
}

/// Where a verified figure came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactRef {
    pub task_id: String,
    pub source: String,
    pub member_id: String,
    pub as_of: NaiveDate,
}

/// A declared asset figure that verified facts replaced in the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub field: CheckedField,
    pub declared: i64,
    pub verified: i64,
    pub facts: Vec<FactRef>,
}

/// The latest fact of each member in `domain` (by date, the later one given winning a tie).
fn latest(facts: &[VerifiedSnap], domain: DataDomain) -> Vec<&VerifiedSnap> {
    let mut out: Vec<&VerifiedSnap> = Vec::new();
    for f in facts.iter().filter(|f| f.domain == domain) {
        match out.iter_mut().find(|o| o.member_id == f.member_id) {
            Some(o) if f.as_of >= o.as_of => *o = f,
            Some(_) => {}
            None => out.push(f),
        }
    }
    out
}

fn refs(facts: &[&VerifiedSnap]) -> Vec<FactRef> {
    facts
        .iter()
        .map(|f| FactRef {
            task_id: f.task_id.clone(),
            source: f.source.clone(),
            member_id: f.member_id.clone(),
            as_of: f.as_of,
        })
        .collect()
}

/// The household's assets as the rules use them: a figure verified for any member replaces the
/// declared one (the household's figure is the sum over the members verified), and each
/// replacement is listed with the facts behind it, whether or not it changed the figure.
pub fn effective_assets(
    declared: &AssetsSnap,
    facts: &[VerifiedSnap],
) -> (AssetsSnap, Vec<Override>) {
    let mut assets = declared.clone();
    let mut used = Vec::new();
    let sum = |v: &[&VerifiedSnap], f: fn(&VerifiedSnap) -> Option<i64>| -> i64 {
        v.iter()
            .filter_map(|x| f(x))
            .fold(0i64, |a, b| a.saturating_add(b))
    };
    let vehicles = latest(facts, DataDomain::Vehicles);
    if !vehicles.is_empty() {
        let n = sum(&vehicles, |f| f.count);
        used.push(Override {
            field: CheckedField::VehiclesCount,
            declared: declared.vehicles_count,
            verified: n,
            facts: refs(&vehicles),
        });
        assets.vehicles_count = n;
    }
    let homes = latest(facts, DataDomain::RealEstate);
    if !homes.is_empty() {
        let (n, area) = (sum(&homes, |f| f.count), sum(&homes, |f| f.area_dm2));
        used.push(Override {
            field: CheckedField::HomesCount,
            declared: declared.homes_count,
            verified: n,
            facts: refs(&homes),
        });
        used.push(Override {
            field: CheckedField::HomesArea,
            declared: declared.homes_area_dm2,
            verified: area,
            facts: refs(&homes),
        });
        assets.homes_count = n;
        assets.homes_area_dm2 = area;
    }
    let business = latest(facts, DataDomain::Business);
    if !business.is_empty() {
        let controls = sum(&business, |f| f.count) > 0;
        used.push(Override {
            field: CheckedField::ControllingShareholder,
            declared: i64::from(declared.controlling_shareholder),
            verified: i64::from(controls),
            facts: refs(&business),
        });
        assets.controlling_shareholder = controls;
    }
    (assets, used)
}

/// Whether the latest verified social-assistance facts show 低保 or special-hardship support.
pub fn verified_assistance(facts: &[VerifiedSnap]) -> (bool, bool) {
    let latest = latest(facts, DataDomain::SocialAssistance);
    let has = |s: AssistanceStatus| {
        latest
            .iter()
            .any(|f| f.status.as_deref() == Some(s.as_str()))
    };
    (
        has(AssistanceStatus::Dibao),
        has(AssistanceStatus::SpecialHardship),
    )
}

/// A difference between the declared file and a verified figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub field: CheckedField,
    /// For income: whose, which month (YYYYMM) and which kind.
    pub member_id: Option<String>,
    pub month: Option<i32>,
    pub kind: Option<IncomeKind>,
    pub declared: i64,
    pub verified: i64,
}

/// A declared income record, as the comparison needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredIncome<'a> {
    pub member_id: Option<&'a str>,
    pub month: i32,
    pub kind: IncomeKind,
    pub amount_fen: i64,
}

/// The differences between the declared file and the facts just verified: asset figures the
/// facts replace with another value, and monthly incomes whose declared amount (0 when none was
/// declared) is not the verified one.
pub fn differences(
    declared: &AssetsSnap,
    incomes: &[DeclaredIncome<'_>],
    facts: &[VerifiedSnap],
    answered: &[Fact],
) -> Vec<Difference> {
    let (_, used) = effective_assets(declared, facts);
    let mut out: Vec<Difference> = used
        .into_iter()
        .filter(|o| o.declared != o.verified)
        .map(|o| Difference {
            field: o.field,
            member_id: None,
            month: None,
            kind: None,
            declared: o.declared,
            verified: o.verified,
        })
        .collect();
    for f in answered {
        let Some((kind, month, verified)) = f.income() else {
            continue;
        };
        let declared: i64 = incomes
            .iter()
            .filter(|i| {
                i.member_id == Some(f.member_id.as_str()) && i.month == month && i.kind == kind
            })
            .map(|i| i.amount_fen)
            .sum();
        if declared != verified {
            out.push(Difference {
                field: CheckedField::Income,
                member_id: Some(f.member_id.clone()),
                month: Some(month),
                kind: Some(kind),
                declared,
                verified,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;
