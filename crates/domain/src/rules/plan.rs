//! One plan per household (一户一策: plan §二 “因地制宜落实援助措施”, §四(二) “精准施策”): the
//! measures of plan §三 the facts of a filed household call for, each with the members it is for
//! and the reasons, so that staff start from a proposal and refer it to the lead departments.
//!
//! Only members counted in the household (`included`) are looked at, and nothing is proposed for
//! a household that is not filed. A proposal is a starting point: staff add measures the rules
//! cannot see and drop those a household does not want.
//!
//! | no | measure (plan §三) | lead | proposed when |
//! |---|---|---|---|
//! | 1 | 建立信息共享机制 information sharing | union | never: data exchange with the departments, not help for one household |
//! | 2 | 加大就业援助力度 employment assistance | hrss | a member able to work, of working age, is unemployed |
//! | 3 | 支持自主创业 business start-up | hrss | a member able to work, of working age, has a business plan |
//! | 4 | 最低生活保障 dibao | civil_affairs | income per member below the dibao standard and no dibao |
//! | 5 | 特困人员救助供养 special hardship | civil_affairs | the conditions of special hardship are met and it is not received |
//! | 6 | 职工医疗互助保障 mutual medical insurance | union | a member is seriously ill |
//! | 7 | 长期护理保险 long-term care insurance | medical_insurance | a member is disabled (status or grade) or needs long-term care |
//! | 8 | 慈善资助、医疗救助 charity and medical aid | civil_affairs | a member is seriously ill |
//! | 9 | 各类资助政策 student financial aid | education | a child at school at any level, or admitted to higher or vocational education |
//! | 10 | 金秋助学 Golden Autumn aid | union | a child at or admitted to higher or vocational education |
//! | 11 | 养老保险补贴 pension contribution subsidy | hrss | a member pays residents' basic pension contributions |
//! | 12 | 社保待遇落实 social insurance continuity | hrss | a member was laid off, or the worker's enterprise is in difficulty |
//! | 13 | 法律援助 legal aid | justice | a legal dispute is on file |
//! | 14 | 双包联系 dual contact | union | every filed household |
//! | 15 | 心理疏导关怀 psychological care | union | every filed household (offered; 根据需要) |
//! | 16 | 评选自立自强家庭 self-reliant families | civilization_office | never: a selection judges the family's conduct, staff nominate |
//! | 17 | 技能培训 skills training | hrss | a member able to work, of working age, is unemployed |
//! | 18 | 保障基本工资收入 wage guarantee | hrss | a member was laid off, or the worker's enterprise is in difficulty |
//! | 19 | 多种方式提高收入 income growth | hrss | never: general encouragement to towns, departments and enterprises |
//!
//! Choices the plan leaves open, and why:
//! - *Able to work* (有劳动能力): not seriously ill, not disabled (status or grade), not needing
//!   long-term care and not recorded as unable to work — the test identification uses, widened by
//!   the facts a plan has. Chronic illness does not by itself take the ability away.
//! - *Working age*: one range for everyone, 16 to 59 inclusive by default ([`PlanPolicy`]). The
//!   facts of a plan do not carry a member's sex, and statutory retirement ages are being raised
//!   step by step by birth cohort, so a per-sex bound written here would soon be wrong.
//! - *Business start-up* (3): the plan supports members “有创业需求和能力” — need and ability, not
//!   unemployment — so an able member of working age with a plan is proposed whatever their work.
//! - *Children* (子女): members other than the worker, the spouse and parents, that is children,
//!   grandchildren, siblings and dependants the worker raises. Measure 9 covers “在各级各类学校
//!   就读” — every level, preschool to postgraduate, as national student aid does. Measure 10 sets
//!   no level in the plan; it is proposed for higher and vocational education, the autumn intake
//!   the campaign is named after, and staff may add it for others.
//! - Household facts (income, special hardship, legal dispute, filing) name no member: the
//!   measure is for the household as a whole. An enterprise in difficulty names the worker.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::identify::age_on;
use crate::household::{HealthStatus, Relation, SchoolingLevel, WorkStatus};
use crate::measure::Measure;

/// Working days a lead department has, by default, to act on a referral (a setting of the
/// programme, not of the plan).
pub const DEFAULT_REFERRAL_DUE_WORKING_DAYS: u32 = 20;

crate::closed_list! {
    /// Why a measure is proposed: the fact the rules found (stable codes).
    ReasonCode ("Why a measure is proposed", "提出帮扶措施的依据") {
        UnemployedAbleBodied = "unemployed_able_bodied" ("a member of working age who is able to work is unemployed", "有劳动能力的劳动年龄家庭成员失业或未就业"),
        BusinessPlan = "business_plan" ("a member of working age who is able to work plans to start a business", "有劳动能力的劳动年龄家庭成员有自主创业意愿"),
        IncomeBelowDibao = "income_below_dibao" ("income per member is below the local dibao standard and the household receives no dibao", "家庭人均收入低于当地低保标准且未享受低保"),
        MeetsSpecialHardship = "meets_special_hardship" ("the conditions of special-hardship support are met and it is not received", "符合特困人员救助供养条件但尚未纳入"),
        SeriousIllness = "serious_illness" ("a member has a serious or major illness", "家庭成员患重特大疾病"),
        DisabilityOrDependency = "disability_or_dependency" ("a member is disabled or needs long-term care", "家庭成员残疾或需要长期护理"),
        CompulsorySchooling = "compulsory_schooling" ("a child is in compulsory schooling (primary or junior secondary)", "子女在义务教育阶段（小学、初中）就读"),
        NonCompulsorySchooling = "non_compulsory_schooling" ("a child is in preschool or senior secondary school", "子女在学前教育或普通高中阶段就读"),
        HigherOrVocationalEducation = "higher_or_vocational_education" ("a child studies at a vocational school, college or university", "子女在中职、高职院校或高等学校就读"),
        HigherEducationAdmission = "higher_education_admission" ("a child has been admitted to a college, university or vocational school", "子女被高等学校或职业院校录取"),
        ResidentsPension = "residents_pension" ("a member pays urban and rural residents' basic pension contributions", "家庭成员自主缴纳城乡居民基本养老保险费"),
        EnterpriseInDifficulty = "enterprise_in_difficulty" ("the worker's enterprise is in difficulty", "职工所在企业生产经营困难"),
        LaidOff = "laid_off" ("a member has been laid off", "家庭成员下岗失业"),
        LegalDispute = "legal_dispute" ("the household has a legal dispute on file", "家庭有在案的法律纠纷"),
        EveryFiledHousehold = "every_filed_household" ("the household is filed (建档立卡)", "家庭已建档立卡"),
    }
}

/// Every reason code, in the order reasons are listed.
pub const REASON_CODES: &[&str] = &[
    "unemployed_able_bodied",
    "business_plan",
    "income_below_dibao",
    "meets_special_hardship",
    "serious_illness",
    "disability_or_dependency",
    "compulsory_schooling",
    "non_compulsory_schooling",
    "higher_or_vocational_education",
    "higher_education_admission",
    "residents_pension",
    "enterprise_in_difficulty",
    "laid_off",
    "legal_dispute",
    "every_filed_household",
];

impl ReasonCode {
    /// The measures the fact calls for.
    pub fn measures(self) -> &'static [Measure] {
        use Measure as M;
        use ReasonCode as R;
        match self {
            R::UnemployedAbleBodied => &[M::EmploymentAssistance, M::SkillsTraining],
            R::BusinessPlan => &[M::Entrepreneurship],
            R::IncomeBelowDibao => &[M::DibaoInclusion],
            R::MeetsSpecialHardship => &[M::SpecialHardshipSupport],
            R::SeriousIllness => &[M::MutualMedicalInsurance, M::CharityAndMedicalAid],
            R::DisabilityOrDependency => &[M::LongTermCareInsurance],
            R::CompulsorySchooling | R::NonCompulsorySchooling => &[M::StudentFinancialAid],
            R::HigherOrVocationalEducation | R::HigherEducationAdmission => {
                &[M::StudentFinancialAid, M::GoldenAutumnAid]
            }
            R::ResidentsPension => &[M::PensionContributionSubsidy],
            R::EnterpriseInDifficulty | R::LaidOff => {
                &[M::SocialInsuranceContinuity, M::WageGuarantee]
            }
            R::LegalDispute => &[M::LegalAid],
            R::EveryFiledHousehold => &[M::DualContact, M::PsychologicalCare],
        }
    }
}

/// The measures the rules can propose, in the plan's order: every measure some fact calls for
/// (1, 16 and 19 never are; see the table above).
pub fn proposable() -> Vec<Measure> {
    let mut out: Vec<Measure> = ReasonCode::ALL
        .iter()
        .flat_map(|r| r.measures().iter().copied())
        .collect();
    out.sort_by_key(|m| m.number());
    out.dedup();
    out
}

/// What the clause of a measure provides, in English and Chinese (its words, shortened).
fn provision(m: Measure) -> (&'static str, &'static str) {
    use Measure as M;
    match m {
        M::InformationSharing => (
            "the basic information of hardship workers is shared with the departments concerned",
            "城市困难职工基本信息与有关部门共享",
        ),
        M::EmploymentAssistance => (
            "eligible hardship workers and their family members receive priority employment assistance",
            "将符合条件的城市困难职工及其家庭成员纳入就业援助范围，优先扶持、重点帮助",
        ),
        M::Entrepreneurship => (
            "hardship workers and their family members who start a business get project advice, start-up guidance and guaranteed start-up loans",
            "为自主创业的城市困难职工及其家庭成员提供项目推介、创业指导和创业担保贷款等支持",
        ),
        M::DibaoInclusion => (
            "every eligible hardship worker is brought into urban dibao without delay",
            "及时将符合条件的城市困难职工全部纳入城市最低生活保障范围",
        ),
        M::SpecialHardshipSupport => (
            "eligible family members are brought into urban special-hardship support without delay",
            "城市困难职工家庭成员符合条件的，及时纳入城市特困人员救助供养范围",
        ),
        M::MutualMedicalInsurance => (
            "workers are encouraged to join the workers' mutual insurance of the national federation of trade unions",
            "鼓励组织职工参加全国总工会建立的职工互助保险",
        ),
        M::LongTermCareInsurance => (
            "the worker is encouraged to join long-term care insurance voluntarily",
            "鼓励其自愿加入长期护理保险",
        ),
        M::CharityAndMedicalAid => (
            "eligible households are brought into medical assistance, linked with temporary assistance and charity",
            "将符合条件的困难职工家庭纳入医疗救助制度保障范围，衔接临时救助和慈善资助",
        ),
        M::StudentFinancialAid => (
            "children of hardship households at school at any level receive student financial aid",
            "对在各级各类学校就读的困难职工家庭子女给予资助",
        ),
        M::GoldenAutumnAid => (
            "the Golden Autumn campaign helps children of hardship households complete their studies",
            "通过“金秋助学”为困难职工家庭子女提供助学服务，确保其顺利完成学业",
        ),
        M::PensionContributionSubsidy => (
            "members who pay residents' basic pension contributions receive the contribution subsidy",
            "城市困难职工家庭成员自主缴纳城乡居民基本养老保险费时，按规定享受缴费补贴",
        ),
        M::SocialInsuranceContinuity => (
            "social insurance is continued, transferred and paid as due",
            "做好社会保险接续、转移和待遇落实工作",
        ),
        M::LegalAid => (
            "legal aid and free legal services are provided",
            "提供法律援助和免费法律服务",
        ),
        M::DualContact => (
            "a union leader or cadre keeps in touch with the household and helps solve its problems",
            "由县总工会班子成员或工会干部联系帮扶，帮助解决实际困难和问题",
        ),
        M::PsychologicalCare => (
            "psychological counselling and care are offered as needed",
            "根据需要进行心理辅导和关怀",
        ),
        M::SelfReliantFamily => (
            "selections of model families favour hardship households",
            "各类评选活动向城市困难职工家庭倾斜",
        ),
        M::SkillsTraining => (
            "vocational skills training is given, with a training subsidy and a living allowance during training",
            "开展职业技能培训，按规定给予职业培训补贴和培训期间生活费补贴",
        ),
        M::WageGuarantee => (
            "wages are paid in full, and enterprises in difficulty keep jobs rather than lay workers off",
            "保障工资支付、杜绝拖欠，指导困难企业稳岗、减少裁员",
        ),
        M::IncomeGrowth => (
            "the income of hardship workers is raised in many ways",
            "多种方式增加困难职工收入",
        ),
    }
}

/// One reason for a proposal: the fact found and the clause of the measure it calls for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: ReasonCode,
    pub en: String,
    pub zh: String,
    /// `Implementation Plan 三(三)4`.
    pub clause_en: String,
    /// `《实施方案》三(三)4`.
    pub clause_zh: String,
}

impl Reason {
    /// The reason `code` gives for `measure`.
    pub fn new(code: ReasonCode, measure: Measure) -> Reason {
        use crate::closed::ClosedList;
        let (clause_en, clause_zh) = (measure.clause_en(), measure.clause_zh());
        let (provides_en, provides_zh) = provision(measure);
        let fact_en = code.meaning_en();
        let mut first = fact_en.chars();
        let fact_en: String = first
            .next()
            .map(|c| c.to_uppercase().chain(first).collect())
            .unwrap_or_default();
        Reason {
            code,
            en: format!("{fact_en}: under {clause_en}, {provides_en}."),
            zh: format!("{}：依据{clause_zh}，{provides_zh}。", code.meaning_zh()),
            clause_en,
            clause_zh,
        }
    }
}

/// A measure proposed for a household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub measure: Measure,
    /// The members it is for, sorted; empty when it is for the household as a whole.
    pub member_ids: Vec<String>,
    /// Why, in reason-code order, each once.
    pub reasons: Vec<Reason>,
}

/// The settings of the plan rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPolicy {
    /// Working age in whole years, both ends included.
    pub working_age: (u8, u8),
}

impl Default for PlanPolicy {
    fn default() -> Self {
        PlanPolicy {
            working_age: (16, 59),
        }
    }
}

/// What the plan rules look at in a household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFacts {
    /// Ages are taken on this day.
    pub assessment_date: NaiveDate,
    /// The household is filed (建档立卡).
    pub filed: bool,
    pub per_capita_below_dibao: bool,
    pub receives_dibao: bool,
    pub receives_special_hardship: bool,
    pub meets_special_hardship: bool,
    /// The worker's enterprise is in difficulty (困难企业).
    pub enterprise_in_difficulty: bool,
    pub legal_dispute: bool,
    pub members: Vec<PlanMember>,
}

/// What the plan rules look at in a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanMember {
    pub id: String,
    pub relation: Relation,
    /// Counted in the household; a member left out is not looked at.
    pub included: bool,
    pub birth_date: NaiveDate,
    pub work_status: WorkStatus,
    pub health: Option<HealthStatus>,
    /// 1–4 (一–四级).
    pub disability_grade: Option<u8>,
    pub long_term_care: bool,
    pub schooling_level: Option<SchoolingLevel>,
    pub admitted_higher_education: bool,
    pub has_business_plan: bool,
    pub pays_residents_pension: bool,
    pub laid_off: bool,
}

/// Why no plan is proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotPlannable {
    #[error("only a filed household has a plan")]
    NotFiled,
}

/// Whether a plan can be proposed for the household: it must be filed.
pub fn plannable(f: &PlanFacts) -> Result<(), NotPlannable> {
    if f.filed {
        Ok(())
    } else {
        Err(NotPlannable::NotFiled)
    }
}

/// The measures proposed for a household under the default settings.
pub fn propose(f: &PlanFacts) -> Vec<Proposal> {
    propose_with(f, &PlanPolicy::default())
}

/// The measures proposed for a household: one proposal per measure, in measure order; nothing
/// when the household is not filed.
pub fn propose_with(f: &PlanFacts, p: &PlanPolicy) -> Vec<Proposal> {
    if plannable(f).is_err() {
        return Vec::new();
    }
    let mut found: Vec<(ReasonCode, Option<&str>)> = Vec::new();
    let mut household = |code| found.push((code, None));
    household(ReasonCode::EveryFiledHousehold);
    if f.per_capita_below_dibao && !f.receives_dibao {
        household(ReasonCode::IncomeBelowDibao);
    }
    if f.meets_special_hardship && !f.receives_special_hardship {
        household(ReasonCode::MeetsSpecialHardship);
    }
    if f.legal_dispute {
        household(ReasonCode::LegalDispute);
    }
    for m in f.members.iter().filter(|m| m.included) {
        for code in member_reasons(m, f, p) {
            found.push((code, Some(m.id.as_str())));
        }
    }

    let mut by_measure: BTreeMap<Measure, (BTreeSet<&str>, BTreeSet<ReasonCode>)> = BTreeMap::new();
    for (code, member) in found {
        for &measure in code.measures() {
            let (members, codes) = by_measure.entry(measure).or_default();
            members.extend(member);
            codes.insert(code);
        }
    }
    by_measure
        .into_iter()
        .map(|(measure, (members, codes))| Proposal {
            measure,
            member_ids: members.into_iter().map(str::to_owned).collect(),
            reasons: codes.into_iter().map(|c| Reason::new(c, measure)).collect(),
        })
        .collect()
}

/// The facts one counted member brings.
fn member_reasons(m: &PlanMember, f: &PlanFacts, p: &PlanPolicy) -> Vec<ReasonCode> {
    let mut out = Vec::new();
    let ill = m.health == Some(HealthStatus::SeriousIllness);
    let disabled = m.health == Some(HealthStatus::Disabled) || m.disability_grade.is_some();
    if ill {
        out.push(ReasonCode::SeriousIllness);
    }
    if disabled || m.long_term_care {
        out.push(ReasonCode::DisabilityOrDependency);
    }

    // 子女: the young people the worker raises, never the worker, the spouse or a parent.
    let child = !matches!(
        m.relation,
        Relation::Worker | Relation::Spouse | Relation::Parent
    );
    if child {
        match m.schooling_level {
            Some(SchoolingLevel::Primary | SchoolingLevel::JuniorSecondary) => {
                out.push(ReasonCode::CompulsorySchooling)
            }
            Some(SchoolingLevel::Preschool | SchoolingLevel::SeniorSecondary) => {
                out.push(ReasonCode::NonCompulsorySchooling)
            }
            Some(
                SchoolingLevel::Vocational
                | SchoolingLevel::Undergraduate
                | SchoolingLevel::Postgraduate,
            ) => out.push(ReasonCode::HigherOrVocationalEducation),
            None => {}
        }
        if m.admitted_higher_education {
            out.push(ReasonCode::HigherEducationAdmission);
        }
    }

    let able = !ill && !disabled && !m.long_term_care && m.work_status != WorkStatus::UnableToWork;
    let age = age_on(m.birth_date, f.assessment_date);
    let (from, to) = p.working_age;
    let working_age = age >= i64::from(from) && age <= i64::from(to);
    if able && working_age {
        if m.work_status == WorkStatus::Unemployed {
            out.push(ReasonCode::UnemployedAbleBodied);
        }
        if m.has_business_plan {
            out.push(ReasonCode::BusinessPlan);
        }
    }

    if m.pays_residents_pension {
        out.push(ReasonCode::ResidentsPension);
    }
    if m.laid_off {
        out.push(ReasonCode::LaidOff);
    }
    // The file's enterprise is the worker's employer.
    if f.enterprise_in_difficulty && m.relation == Relation::Worker {
        out.push(ReasonCode::EnterpriseInDifficulty);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::closed::{check, ClosedList};

    #[test]
    fn reason_codes_are_a_closed_list() {
        check::<ReasonCode>().unwrap();
        assert_eq!(ReasonCode::codes(), REASON_CODES);
        for code in REASON_CODES {
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }

    #[test]
    fn every_reason_calls_for_measures_in_order() {
        for &code in ReasonCode::ALL {
            let measures = code.measures();
            assert!(!measures.is_empty(), "{code}");
            assert!(measures.windows(2).all(|w| w[0] < w[1]), "{code}");
        }
    }

    #[test]
    fn the_rules_can_propose_every_measure_but_three() {
        let numbers: Vec<u8> = proposable().iter().map(|m| m.number()).collect();
        let expected: Vec<u8> = (1..=19).filter(|n| ![1, 16, 19].contains(n)).collect();
        assert_eq!(numbers, expected);
    }

    #[test]
    fn reasons_cite_the_clause_by_title_and_nothing_internal() {
        for &code in ReasonCode::ALL {
            for &measure in code.measures() {
                let r = Reason::new(code, measure);
                assert!(r.zh.contains(&r.clause_zh), "{}", r.zh);
                assert!(r.en.contains(&r.clause_en), "{}", r.en);
                assert!(r.clause_zh.starts_with("《实施方案》三("));
                assert!(r.clause_en.starts_with("Implementation Plan 三("));
                for text in [&r.en, &r.zh, &r.clause_en, &r.clause_zh] {
                    for internal in ["seed", "DESIGN", "§", "[`", "::", ".rs", "jiekun"] {
                        assert!(!text.contains(internal), "{internal} in {text}");
                    }
                }
                assert!(r.en.starts_with(char::is_uppercase), "{}", r.en);
                assert!(r.en.ends_with('.') && r.zh.ends_with('。'));
            }
        }
        let r = Reason::new(ReasonCode::IncomeBelowDibao, Measure::DibaoInclusion);
        assert_eq!(
            r.zh,
            "家庭人均收入低于当地低保标准且未享受低保：依据《实施方案》三(三)4，及时将符合条件的城市困难职工全部纳入城市最低生活保障范围。"
        );
        assert_eq!(
            r.en,
            "Income per member is below the local dibao standard and the household receives no dibao: under Implementation Plan 三(三)4, every eligible hardship worker is brought into urban dibao without delay."
        );
    }

    #[test]
    fn staff_alone_propose_measures_1_16_and_19() {
        let by_rule: BTreeSet<u8> = ReasonCode::ALL
            .iter()
            .flat_map(|c| c.measures().iter().map(|m| m.number()))
            .collect();
        let by_staff: Vec<u8> = (1..=19).filter(|n| !by_rule.contains(n)).collect();
        assert_eq!(by_staff, [1, 16, 19]);
    }

    #[test]
    fn facts_make_a_json_round_trip() {
        let f = PlanFacts {
            assessment_date: NaiveDate::from_ymd_opt(2026, 11, 15).unwrap(),
            filed: true,
            per_capita_below_dibao: true,
            receives_dibao: false,
            receives_special_hardship: false,
            meets_special_hardship: false,
            enterprise_in_difficulty: false,
            legal_dispute: false,
            members: vec![PlanMember {
                id: "m0".into(),
                relation: Relation::Worker,
                included: true,
                birth_date: NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
                work_status: WorkStatus::Unemployed,
                health: None,
                disability_grade: None,
                long_term_care: false,
                schooling_level: None,
                admitted_higher_education: false,
                has_business_plan: false,
                pays_residents_pension: false,
                laid_off: false,
            }],
        };
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<PlanFacts>(&json).unwrap(), f);
        let proposals = propose(&f);
        let json = serde_json::to_value(&proposals).unwrap();
        assert_eq!(json[0]["measure"], "employment_assistance");
        assert_eq!(json[0]["reasons"][0]["code"], "unemployed_able_bodied");
        let back: Vec<Proposal> = serde_json::from_value(json).unwrap();
        assert_eq!(back, proposals);
    }
}
