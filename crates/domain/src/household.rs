//! The household file (建档立卡): members, income, rigid expenditure, assets and
//! hardship causes, with the rules a file must satisfy whatever its category.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

crate::closed_list! {
    /// How a member is related to the worker (the worker is the head of the file).
    Relation ("Relation to the worker", "与职工本人的关系") {
        Worker = "worker" ("the worker (head of the file)", "职工本人"),
        Spouse = "spouse" ("spouse", "配偶"),
        Child = "child" ("child", "子女"),
        Parent = "parent" ("parent", "父母"),
        Sibling = "sibling" ("brother or sister", "兄弟姐妹"),
        Grandchild = "grandchild" ("grandchild", "孙子女、外孙子女"),
        OtherDependant = "other_dependant" ("another person the worker legally supports", "职工依法负有赡养、扶养或抚养义务的其他人员"),
    }
}

crate::closed_list! {
    WorkStatus ("Work status", "就业状况") {
        Employed = "employed" ("employed", "在职"),
        SelfEmployed = "self_employed" ("self-employed", "自主经营"),
        Unemployed = "unemployed" ("unemployed", "失业、未就业"),
        Retired = "retired" ("retired", "退休"),
        UnableToWork = "unable_to_work" ("unable to work", "无劳动能力"),
        Student = "student" ("in school or university", "在校学生"),
        Preschool = "preschool" ("child below school age", "学龄前儿童"),
    }
}

crate::closed_list! {
    /// Health (sensitive; stored encrypted).
    HealthStatus ("Health status", "健康状况") {
        Healthy = "healthy" ("healthy", "健康"),
        ChronicIllness = "chronic_illness" ("chronic illness", "患慢性病"),
        SeriousIllness = "serious_illness" ("serious or major illness", "患重特大疾病"),
        Disabled = "disabled" ("disabled", "残疾"),
    }
}

crate::closed_list! {
    /// Disability type as the disability certificate (残疾人证) records it.
    DisabilityType ("Disability type, as on the disability certificate", "残疾类别（以残疾人证为准）") {
        Visual = "visual" ("visual", "视力残疾"),
        Hearing = "hearing" ("hearing", "听力残疾"),
        Speech = "speech" ("speech", "言语残疾"),
        Physical = "physical" ("physical", "肢体残疾"),
        Intellectual = "intellectual" ("intellectual", "智力残疾"),
        Mental = "mental" ("mental", "精神残疾"),
        Multiple = "multiple" ("multiple", "多重残疾"),
    }
}

crate::closed_list! {
    SchoolingLevel ("Level of schooling", "就学阶段") {
        Preschool = "preschool" ("preschool", "学前教育"),
        Primary = "primary" ("primary school (compulsory)", "小学（义务教育）"),
        JuniorSecondary = "junior_secondary" ("junior secondary school (compulsory)", "初中（义务教育）"),
        SeniorSecondary = "senior_secondary" ("senior secondary school", "普通高中"),
        Vocational = "vocational" ("vocational school or college", "中职、高职院校"),
        Undergraduate = "undergraduate" ("undergraduate", "本科"),
        Postgraduate = "postgraduate" ("postgraduate", "研究生"),
    }
}

crate::closed_list! {
    HousingType ("Housing of the household", "住房类型") {
        Owned = "owned" ("a home the household owns", "自有住房"),
        PublicRental = "public_rental" ("public rental housing", "公租房、廉租房"),
        PrivateRental = "private_rental" ("rented on the market", "市场租房"),
        Employer = "employer" ("housing provided by the employer", "单位提供住房"),
        Relatives = "relatives" ("living with relatives", "借住亲友住房"),
        None = "none" ("no fixed home", "无固定住所"),
    }
}

crate::closed_list! {
    /// Kinds of income. Which kinds count towards assessment income is policy (issue of the rules).
    IncomeKind ("Kind of income", "收入类别") {
        Wage = "wage" ("wages and salary", "工资性收入"),
        Business = "business" ("business income", "经营净收入"),
        Property = "property" ("property income (rent, interest)", "财产净收入"),
        Transfer = "transfer" ("transfers (alimony, support from relatives)", "转移净收入（赡养费、抚养费等）"),
        Pension = "pension" ("retirement pension", "养老金"),
        ResidentsBasicPension = "residents_basic_pension" ("residents' basic pension", "城乡居民基础养老金"),
        UnemploymentBenefit = "unemployment_benefit" ("unemployment benefit", "失业保险金"),
        Dibao = "dibao" ("minimum living allowance (低保)", "最低生活保障金"),
        SpecialHardship = "special_hardship" ("special-hardship support", "特困人员救助供养金"),
        Award = "award" ("awards and prizes", "奖励性收入"),
        Scholarship = "scholarship" ("scholarships and grants", "奖学金、助学金"),
        Other = "other" ("other income", "其他收入"),
    }
}

crate::closed_list! {
    /// Rigid expenditure (刚性支出).
    ExpenditureKind ("Kind of rigid expenditure", "刚性支出类别") {
        Medical = "medical" ("medical costs not reimbursed", "自付医疗费用"),
        Disability = "disability" ("disability-related costs", "残疾康复、辅具等支出"),
        Schooling = "schooling" ("non-compulsory schooling costs", "非义务教育阶段就学支出"),
        Housing = "housing" ("housing costs", "住房支出"),
        JobSeeking = "job_seeking" ("job-seeking costs", "求职支出"),
        LongTermCare = "long_term_care" ("long-term care", "长期护理支出"),
        Other = "other" ("other rigid expenditure", "其他刚性支出"),
    }
}

crate::closed_list! {
    HouseholdStatus ("Status of a household file", "档案状态") {
        Draft = "draft" ("being filed (not yet approved)", "建档中（尚未审批）"),
        Filed = "filed" ("filed (建档立卡)", "已建档立卡"),
        Monitoring = "monitoring" ("exited and watched against a return to hardship", "已退出，处于返困监测期"),
        Closed = "closed" ("closed", "已销档"),
        Withdrawn = "withdrawn" ("application withdrawn", "申请已撤回"),
        Rejected = "rejected" ("application rejected", "申请未获批准"),
    }
}

crate::closed_list! {
    Category ("Hardship category", "困难类别") {
        Deep = "deep" ("deep hardship (深度困难)", "深度困难"),
        Relative = "relative" ("relative hardship (相对困难)", "相对困难"),
        Accident = "accident" ("hardship caused by an accident or sudden event (意外致困)", "意外致困"),
    }
}

impl HouseholdStatus {
    /// Whether the household still holds its members (one active household per person).
    pub fn is_active(self) -> bool {
        !matches!(
            self,
            HouseholdStatus::Closed | HouseholdStatus::Withdrawn | HouseholdStatus::Rejected
        )
    }

    /// Whether the household is on file (建档立卡) or has left the file by exit (monitored or
    /// closed) — the households exit (《实施方案》二(二)) is about. One being filed (also when
    /// filed again after it left), withdrawn or rejected is not.
    pub fn is_on_file(self) -> bool {
        matches!(
            self,
            HouseholdStatus::Filed | HouseholdStatus::Monitoring | HouseholdStatus::Closed
        )
    }
}

/// The national list of hardship causes (致困原因).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct HardshipCause(u8);

impl HardshipCause {
    pub const NAMES: [(&'static str, &'static str); 10] = [
        ("无劳动能力", "no capacity to work"),
        ("有劳动能力未就业", "able to work but not employed"),
        ("下岗失业", "laid off or unemployed"),
        ("未参加社会保险", "not covered by social insurance"),
        ("社保待遇未落实", "social-insurance benefits not delivered"),
        ("患重特大疾病", "serious or major illness"),
        ("自然灾害", "natural disaster"),
        ("意外事故", "accident"),
        ("子女上学", "children's schooling"),
        ("其他", "other"),
    ];

    pub fn new(code: u8) -> Option<Self> {
        (1..=10).contains(&code).then_some(HardshipCause(code))
    }

    pub fn code(self) -> u8 {
        self.0
    }

    pub fn name_zh(self) -> &'static str {
        Self::NAMES[usize::from(self.0 - 1)].0
    }

    pub fn name_en(self) -> &'static str {
        Self::NAMES[usize::from(self.0 - 1)].1
    }
}

impl TryFrom<u8> for HardshipCause {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        HardshipCause::new(v).ok_or_else(|| format!("{v} is not a hardship cause (1–10)"))
    }
}

impl From<HardshipCause> for u8 {
    fn from(c: HardshipCause) -> u8 {
        c.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CauseError {
    #[error("{0} is not a hardship cause (1–10)")]
    Unknown(u8),
    #[error("at most three secondary causes")]
    TooMany,
    #[error("a secondary cause repeats the main cause or another secondary cause")]
    Repeated,
}

/// Checks one main and up to three distinct secondary causes.
pub fn check_causes(
    main: u8,
    secondary: &[u8],
) -> Result<(HardshipCause, Vec<HardshipCause>), CauseError> {
    let main = HardshipCause::new(main).ok_or(CauseError::Unknown(main))?;
    if secondary.len() > 3 {
        return Err(CauseError::TooMany);
    }
    let mut out = Vec::with_capacity(secondary.len());
    for &s in secondary {
        let c = HardshipCause::new(s).ok_or(CauseError::Unknown(s))?;
        if c == main || out.contains(&c) {
            return Err(CauseError::Repeated);
        }
        out.push(c);
    }
    Ok((main, out))
}

/// Why causes cannot be marked resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResolvedCauseError {
    #[error("{0} is not one of this household's causes")]
    NotACause(u8),
}

/// The causes to mark resolved: each must be the household's main or a secondary cause (an exit
/// needs every cause resolved, 《实施方案》二(二)). Sorted, without repeats.
pub fn check_resolved_causes(
    main: HardshipCause,
    secondary: &[HardshipCause],
    resolved: &[u8],
) -> Result<Vec<HardshipCause>, ResolvedCauseError> {
    let mut out = Vec::with_capacity(resolved.len());
    for &r in resolved {
        let c = HardshipCause::new(r)
            .filter(|c| *c == main || secondary.contains(c))
            .ok_or(ResolvedCauseError::NotACause(r))?;
        out.push(c);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Why the assets of a file are inconsistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AssetRuleError {
    #[error("the vehicle exemption is only for a vehicle kept for a disabled member's mobility")]
    ExemptionWithoutDisabledMember,
    #[error("the vehicle exemption needs a vehicle")]
    ExemptionWithoutVehicle,
}

/// A vehicle is disregarded only when it is kept for a disabled member's mobility: the exemption
/// needs a vehicle and a member whose health is `disabled`.
pub fn check_vehicle_exemption(
    exempt: bool,
    vehicles: i64,
    any_member_disabled: bool,
) -> Result<(), AssetRuleError> {
    match (exempt, vehicles > 0, any_member_disabled) {
        (false, _, _) | (true, true, true) => Ok(()),
        (true, false, _) => Err(AssetRuleError::ExemptionWithoutVehicle),
        (true, true, false) => Err(AssetRuleError::ExemptionWithoutDisabledMember),
    }
}

/// Why a floor area is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AreaError {
    #[error("between 0 and 100000 m²")]
    OutOfRange,
    #[error("at most two decimals")]
    Precision,
}

/// A floor area in m² as whole hundredths (dm² × 100 = m² × 100), never rounded: more than two
/// decimals is refused rather than silently changed.
pub fn area_hundredths(m2: f64) -> Result<i64, AreaError> {
    if !m2.is_finite() || !(0.0..=100_000.0).contains(&m2) {
        return Err(AreaError::OutOfRange);
    }
    let scaled = m2 * 100.0;
    let whole = scaled.round();
    if (scaled - whole).abs() > 1e-6 {
        return Err(AreaError::Precision);
    }
    Ok(whole as i64)
}

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MonthError {
    #[error("a month is written YYYY-MM")]
    Format,
    #[error("the month is in the future")]
    Future,
}

impl Month {
    pub fn parse(s: &str, today: NaiveDate) -> Result<Month, MonthError> {
        let (y, m) = s.split_once('-').ok_or(MonthError::Format)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(MonthError::Format);
        }
        let year: i32 = y.parse().map_err(|_| MonthError::Format)?;
        let month: u32 = m.parse().map_err(|_| MonthError::Format)?;
        if !(1..=12).contains(&month) || year < 1990 {
            return Err(MonthError::Format);
        }
        let parsed = Month { year, month };
        if parsed > Month::of(today) {
            return Err(MonthError::Future);
        }
        Ok(parsed)
    }

    pub fn of(d: NaiveDate) -> Month {
        Month {
            year: d.year(),
            month: d.month(),
        }
    }

    /// `YYYYMM` as an integer, the stored form (sorts and compares like the month).
    pub fn key(self) -> i32 {
        self.year * 100 + self.month as i32
    }

    pub fn from_key(k: i32) -> Option<Month> {
        let m = Month {
            year: k / 100,
            month: (k % 100) as u32,
        };
        (1..=12).contains(&m.month).then_some(m)
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Amounts of money in fen (分): integers, never negative.
pub fn check_fen(amount: i64) -> Result<i64, &'static str> {
    if amount < 0 {
        Err("amounts are never negative")
    } else if amount > 100_000_000_000 {
        Err("at most 100,000,000,000 fen (one billion yuan)")
    } else {
        Ok(amount)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemberRuleError {
    #[error("a household has exactly one worker")]
    WorkerCount,
    #[error("a member left out of the household needs a reason")]
    ExclusionReason,
    #[error("disability type and grade go with the disabled health status")]
    Disability,
    #[error("disability grades are 1 to 4")]
    DisabilityGrade,
}

/// The facts of one member that the member rules look at.
#[derive(Debug, Clone, Copy)]
pub struct MemberFacts {
    pub relation: Relation,
    pub included: bool,
    pub has_exclusion_reason: bool,
    pub health: Option<HealthStatus>,
    pub disability_type: bool,
    pub disability_grade: Option<u8>,
}

/// Rules of one member on their own.
pub fn check_member(m: &MemberFacts) -> Result<(), MemberRuleError> {
    if !m.included && !m.has_exclusion_reason {
        return Err(MemberRuleError::ExclusionReason);
    }
    if let Some(g) = m.disability_grade {
        if !(1..=4).contains(&g) {
            return Err(MemberRuleError::DisabilityGrade);
        }
    }
    let disabled = m.health == Some(HealthStatus::Disabled);
    if !disabled && (m.disability_type || m.disability_grade.is_some()) {
        return Err(MemberRuleError::Disability);
    }
    Ok(())
}

/// Rules across the members of one household: exactly one worker.
pub fn check_members(relations: &[Relation]) -> Result<(), MemberRuleError> {
    if relations.iter().filter(|r| **r == Relation::Worker).count() != 1 {
        return Err(MemberRuleError::WorkerCount);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes() {
        assert!(check_causes(6, &[9, 2]).is_ok());
        assert_eq!(check_causes(11, &[]), Err(CauseError::Unknown(11)));
        assert_eq!(check_causes(0, &[]), Err(CauseError::Unknown(0)));
        assert_eq!(check_causes(6, &[1, 2, 3, 4]), Err(CauseError::TooMany));
        assert_eq!(check_causes(6, &[6]), Err(CauseError::Repeated));
        assert_eq!(check_causes(6, &[2, 2]), Err(CauseError::Repeated));
        assert_eq!(HardshipCause::new(9).unwrap().name_zh(), "子女上学");
    }

    #[test]
    fn resolved_causes_are_the_households_own() {
        let c = |n| HardshipCause::new(n).unwrap();
        type Case<'a> = (u8, &'a [u8], &'a [u8], Result<Vec<u8>, ResolvedCauseError>);
        let table: &[Case] = &[
            (6, &[9], &[6], Ok(vec![6])),
            (6, &[9], &[9, 6, 9], Ok(vec![6, 9])),
            (6, &[9], &[], Ok(vec![])),
            (6, &[9], &[2], Err(ResolvedCauseError::NotACause(2))),
            (6, &[], &[11], Err(ResolvedCauseError::NotACause(11))),
            (6, &[], &[0], Err(ResolvedCauseError::NotACause(0))),
        ];
        for (main, secondary, resolved, want) in table {
            let secondary: Vec<_> = secondary.iter().map(|s| c(*s)).collect();
            let got = check_resolved_causes(c(*main), &secondary, resolved)
                .map(|v| v.iter().map(|c| c.code()).collect::<Vec<_>>());
            assert_eq!(&got, want, "{main} {secondary:?} {resolved:?}");
        }
    }

    #[test]
    fn vehicle_exemption_needs_a_vehicle_and_a_disabled_member() {
        use AssetRuleError::*;
        let table = [
            (false, 0, false, Ok(())),
            (false, 2, false, Ok(())),
            (true, 1, true, Ok(())),
            (true, 1, false, Err(ExemptionWithoutDisabledMember)),
            (true, 0, true, Err(ExemptionWithoutVehicle)),
            (true, 0, false, Err(ExemptionWithoutVehicle)),
        ];
        for (exempt, vehicles, disabled, want) in table {
            assert_eq!(check_vehicle_exemption(exempt, vehicles, disabled), want);
        }
    }

    #[test]
    fn areas_keep_two_decimals_and_never_round() {
        let table = [
            (0.0, Ok(0)),
            (12.34, Ok(1234)),
            (85.5, Ok(8550)),
            (100_000.0, Ok(10_000_000)),
            (0.001, Err(AreaError::Precision)),
            (12.345, Err(AreaError::Precision)),
            (-1.0, Err(AreaError::OutOfRange)),
            (100_000.01, Err(AreaError::OutOfRange)),
            (f64::NAN, Err(AreaError::OutOfRange)),
        ];
        for (m2, want) in table {
            assert_eq!(area_hundredths(m2), want, "{m2}");
        }
    }

    #[test]
    fn months() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert_eq!(Month::parse("2026-11", today).unwrap().key(), 202611);
        assert_eq!(Month::parse("2026-12", today), Err(MonthError::Future));
        assert_eq!(Month::parse("2026-13", today), Err(MonthError::Format));
        assert_eq!(Month::parse("26-01", today), Err(MonthError::Format));
        assert_eq!(
            Month::from_key(202601).unwrap().prev().to_string(),
            "2025-12"
        );
    }

    #[test]
    fn member_rules() {
        use Relation::*;
        assert!(check_members(&[Worker, Spouse, Child]).is_ok());
        assert_eq!(check_members(&[Spouse]), Err(MemberRuleError::WorkerCount));
        assert_eq!(
            check_members(&[Worker, Worker]),
            Err(MemberRuleError::WorkerCount)
        );
        let base = MemberFacts {
            relation: Child,
            included: true,
            has_exclusion_reason: false,
            health: None,
            disability_type: false,
            disability_grade: None,
        };
        assert!(check_member(&base).is_ok());
        assert_eq!(
            check_member(&MemberFacts {
                included: false,
                ..base
            }),
            Err(MemberRuleError::ExclusionReason)
        );
        assert_eq!(
            check_member(&MemberFacts {
                disability_grade: Some(2),
                ..base
            }),
            Err(MemberRuleError::Disability)
        );
        assert_eq!(
            check_member(&MemberFacts {
                health: Some(HealthStatus::Disabled),
                disability_grade: Some(5),
                ..base
            }),
            Err(MemberRuleError::DisabilityGrade)
        );
        assert_eq!(check_fen(-1), Err("amounts are never negative"));
    }
}

#[cfg(test)]
mod closed_lists {
    use super::*;
    use crate::closed::{check, ClosedList};

    #[test]
    fn every_list_has_unique_codes_and_meanings() {
        check::<Relation>().unwrap();
        check::<WorkStatus>().unwrap();
        check::<HealthStatus>().unwrap();
        check::<DisabilityType>().unwrap();
        check::<SchoolingLevel>().unwrap();
        check::<HousingType>().unwrap();
        check::<IncomeKind>().unwrap();
        check::<ExpenditureKind>().unwrap();
        check::<HouseholdStatus>().unwrap();
        check::<Category>().unwrap();
        assert_eq!(HousingType::from_code("owned"), Some(HousingType::Owned));
        assert_eq!(HouseholdStatus::codes().len(), 6);
        let on_file: Vec<&str> = HouseholdStatus::ALL
            .iter()
            .filter(|s| s.is_on_file())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(on_file, ["filed", "monitoring", "closed"]);
    }
}
