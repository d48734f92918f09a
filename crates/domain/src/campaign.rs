//! Campaigns (帮扶活动): the union's recurring drives — 金秋助学 (plan §三(五)10) and 送温暖, one of
//! the “四送” activities of the dual contacts (plan §三(七)14) — each paying a set amount to the
//! filed households a rule picks, out of a budget split down the union tree.
//!
//! Choices the plan leaves open, and why:
//! - *Which measure the ledger records*: 金秋助学 is measure 10 by name. 送温暖 is one of the
//!   “四送” activities measure 14 gives the union and its cadres; other campaigns of the union are
//!   recorded there too, as union help (帮扶 by a union organisation counts for 解困).
//! - *Admitted this year* (当年考入): the file records a child's level of schooling and year of
//!   study, not an admission date, so a child counted in the household in the first year of a
//!   vocational school or college (中职、高职), or of undergraduate study, stands for one admitted
//!   in the campaign's year. Postgraduates are left out: 金秋助学 is for those entering college.
//! - *Seriously ill*: a counted member whose health is recorded as serious or major illness
//!   (患重特大疾病), the same fact the plan rules read for measures 6 and 8.
//! - Only filed households (建档立卡) are eligible; households watched after exit are not.

use serde::{Deserialize, Serialize};

use crate::household::{Category, HealthStatus, Relation, SchoolingLevel};
use crate::measure::Measure;

crate::closed_list! {
    /// What kind of drive a campaign is.
    CampaignKind ("Kind of campaign", "帮扶活动类型") {
        Warmth = "warmth" ("送温暖: the union's seasonal visits with money or goods (《实施方案》三(七)14)", "送温暖（《实施方案》三(七)14“四送”活动）"),
        GoldenAutumn = "golden_autumn" ("金秋助学: aid to children of hardship households entering college (《实施方案》三(五)10)", "金秋助学（《实施方案》三(五)10）"),
        Other = "other" ("another drive of the union, recorded as union help (《实施方案》三(七)14)", "其他帮扶活动，记为工会帮扶（《实施方案》三(七)14）"),
    }
}

crate::closed_list! {
    /// Which filed households a campaign is for.
    EligibilityRule ("Which households a campaign is for", "活动对象条件") {
        FiledCategory = "filed_category" ("filed households of the categories named", "指定困难类别的建档立卡家庭"),
        NewStudent = "new_student" ("filed households with a child in the first year of a vocational school, college or university (admitted this year)", "子女当年考入中职、高职或本科院校（就读一年级）的建档立卡家庭"),
        SeriousIllness = "serious_illness" ("filed households with a member who has a serious or major illness", "有家庭成员患重特大疾病的建档立卡家庭"),
    }
}

impl CampaignKind {
    /// The measure whose ledger entries the campaign's payments are.
    pub fn measure(self) -> Measure {
        match self {
            CampaignKind::GoldenAutumn => Measure::GoldenAutumnAid,
            CampaignKind::Warmth | CampaignKind::Other => Measure::DualContact,
        }
    }
}

/// A campaign's rule: which households, optionally only of some categories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eligibility {
    pub rule: EligibilityRule,
    /// Only households of these categories; empty: any category. The `filed_category` rule needs
    /// at least one.
    #[serde(default)]
    pub categories: Vec<Category>,
}

/// Why a campaign's rule cannot stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CampaignRuleError {
    #[error("the filed_category rule names at least one category")]
    NoCategory,
    #[error("a category is named twice")]
    RepeatedCategory,
    #[error("an amount must be more than 0 fen")]
    ZeroAmount,
    #[error("the period ends before it starts")]
    PeriodReversed,
}

impl Eligibility {
    pub fn new(
        rule: EligibilityRule,
        categories: Vec<Category>,
    ) -> Result<Eligibility, CampaignRuleError> {
        if rule == EligibilityRule::FiledCategory && categories.is_empty() {
            return Err(CampaignRuleError::NoCategory);
        }
        for (i, c) in categories.iter().enumerate() {
            if categories[..i].contains(c) {
                return Err(CampaignRuleError::RepeatedCategory);
            }
        }
        Ok(Eligibility { rule, categories })
    }
}

/// How much a household is paid: one amount for all, or one per category (deep hardship more than
/// relative, for example).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmountRule {
    Fixed(i64),
    ByCategory {
        deep: i64,
        relative: i64,
        accident: i64,
    },
}

impl AmountRule {
    pub fn fixed(amount_fen: i64) -> Result<AmountRule, CampaignRuleError> {
        if amount_fen <= 0 {
            return Err(CampaignRuleError::ZeroAmount);
        }
        Ok(AmountRule::Fixed(amount_fen))
    }

    pub fn by_category(
        deep: i64,
        relative: i64,
        accident: i64,
    ) -> Result<AmountRule, CampaignRuleError> {
        if deep <= 0 || relative <= 0 || accident <= 0 {
            return Err(CampaignRuleError::ZeroAmount);
        }
        Ok(AmountRule::ByCategory {
            deep,
            relative,
            accident,
        })
    }

    /// The amount (fen) for a household of `category`; `None` when the rule goes by category and
    /// the household has none.
    pub fn amount_for(self, category: Option<Category>) -> Option<i64> {
        match (self, category) {
            (AmountRule::Fixed(v), _) => Some(v),
            (AmountRule::ByCategory { deep, .. }, Some(Category::Deep)) => Some(deep),
            (AmountRule::ByCategory { relative, .. }, Some(Category::Relative)) => Some(relative),
            (AmountRule::ByCategory { accident, .. }, Some(Category::Accident)) => Some(accident),
            (AmountRule::ByCategory { .. }, None) => None,
        }
    }
}

/// What the rules look at in a household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignHousehold {
    pub filed: bool,
    pub category: Option<Category>,
    pub members: Vec<CampaignMember>,
}

/// What the rules look at in a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignMember {
    pub relation: Relation,
    /// Counted in the household; a member left out is not looked at.
    pub included: bool,
    pub health: Option<HealthStatus>,
    pub schooling_level: Option<SchoolingLevel>,
    /// Year of study (1 is the first).
    pub school_year: Option<i64>,
}

/// Why a household is eligible, in both languages. It names no member and no illness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EligibleBecause {
    pub rule: EligibilityRule,
    pub reason_en: String,
    pub reason_zh: String,
}

/// Whether the household is eligible under the rule, and why; `None` when it is not.
pub fn eligible(e: &Eligibility, h: &CampaignHousehold) -> Option<EligibleBecause> {
    if !h.filed {
        return None;
    }
    if !e.categories.is_empty() && !h.category.is_some_and(|c| e.categories.contains(&c)) {
        return None;
    }
    let counted = || h.members.iter().filter(|m| m.included);
    let (en, zh) = match e.rule {
        EligibilityRule::FiledCategory => {
            let c = h.category?;
            (
                format!(
                    "filed household of {}",
                    crate::closed::ClosedList::meaning_en(c)
                ),
                format!(
                    "建档立卡家庭，困难类别为{}",
                    crate::closed::ClosedList::meaning_zh(c)
                ),
            )
        }
        EligibilityRule::NewStudent => {
            // 子女: the young people the worker raises, never the worker, the spouse or a parent.
            let entrant = counted().any(|m| {
                !matches!(
                    m.relation,
                    Relation::Worker | Relation::Spouse | Relation::Parent
                ) && matches!(
                    m.schooling_level,
                    Some(SchoolingLevel::Vocational | SchoolingLevel::Undergraduate)
                ) && m.school_year == Some(1)
            });
            if !entrant {
                return None;
            }
            (
                "a child is in the first year of a vocational school, college or university".into(),
                "子女当年考入中职、高职或本科院校（就读一年级）".into(),
            )
        }
        EligibilityRule::SeriousIllness => {
            if !counted().any(|m| m.health == Some(HealthStatus::SeriousIllness)) {
                return None;
            }
            (
                "a member of the household has a serious or major illness".into(),
                "家庭成员患重特大疾病".into(),
            )
        }
    };
    Some(EligibleBecause {
        rule: e.rule,
        reason_en: en,
        reason_zh: zh,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::closed::check;

    fn member(relation: Relation) -> CampaignMember {
        CampaignMember {
            relation,
            included: true,
            health: None,
            schooling_level: None,
            school_year: None,
        }
    }

    fn household(category: Option<Category>, members: Vec<CampaignMember>) -> CampaignHousehold {
        CampaignHousehold {
            filed: true,
            category,
            members,
        }
    }

    fn student(level: SchoolingLevel, year: i64) -> CampaignMember {
        CampaignMember {
            schooling_level: Some(level),
            school_year: Some(year),
            ..member(Relation::Child)
        }
    }

    fn ill(relation: Relation) -> CampaignMember {
        CampaignMember {
            health: Some(HealthStatus::SeriousIllness),
            ..member(relation)
        }
    }

    fn rule(rule: EligibilityRule, categories: &[Category]) -> Eligibility {
        Eligibility::new(rule, categories.to_vec()).unwrap()
    }

    #[test]
    fn the_lists_are_closed_lists() {
        check::<CampaignKind>().unwrap();
        check::<EligibilityRule>().unwrap();
    }

    #[test]
    fn each_kind_records_its_measure() {
        assert_eq!(CampaignKind::GoldenAutumn.measure().number(), 10);
        assert_eq!(CampaignKind::Warmth.measure().number(), 14);
        assert_eq!(CampaignKind::Other.measure().number(), 14);
    }

    #[test]
    fn a_rule_by_category_names_one() {
        assert_eq!(
            Eligibility::new(EligibilityRule::FiledCategory, vec![]),
            Err(CampaignRuleError::NoCategory)
        );
        assert_eq!(
            Eligibility::new(
                EligibilityRule::FiledCategory,
                vec![Category::Deep, Category::Deep]
            ),
            Err(CampaignRuleError::RepeatedCategory)
        );
        assert!(Eligibility::new(EligibilityRule::SeriousIllness, vec![]).is_ok());
    }

    /// A case of the table: rule, categories, household category, members, eligible.
    type Case = (
        EligibilityRule,
        Vec<Category>,
        Option<Category>,
        Vec<CampaignMember>,
        bool,
    );

    #[test]
    fn eligibility_table() {
        use Category::*;
        use EligibilityRule as R;
        use SchoolingLevel as S;
        let worker = member(Relation::Worker);
        let cases: Vec<Case> = vec![
            // By category: the category decides.
            (
                R::FiledCategory,
                vec![Deep],
                Some(Deep),
                vec![worker.clone()],
                true,
            ),
            (
                R::FiledCategory,
                vec![Deep],
                Some(Relative),
                vec![worker.clone()],
                false,
            ),
            (
                R::FiledCategory,
                vec![Deep, Accident],
                Some(Accident),
                vec![worker.clone()],
                true,
            ),
            (
                R::FiledCategory,
                vec![Deep],
                None,
                vec![worker.clone()],
                false,
            ),
            // A child in the first year of vocational school or college.
            (
                R::NewStudent,
                vec![],
                Some(Relative),
                vec![worker.clone(), student(S::Undergraduate, 1)],
                true,
            ),
            (
                R::NewStudent,
                vec![],
                Some(Deep),
                vec![student(S::Vocational, 1)],
                true,
            ),
            // Not in the first year, or not a college: not this year's intake.
            (
                R::NewStudent,
                vec![],
                Some(Deep),
                vec![student(S::Undergraduate, 2)],
                false,
            ),
            (
                R::NewStudent,
                vec![],
                Some(Deep),
                vec![student(S::SeniorSecondary, 1)],
                false,
            ),
            (
                R::NewStudent,
                vec![],
                Some(Deep),
                vec![student(S::Postgraduate, 1)],
                false,
            ),
            (
                R::NewStudent,
                vec![],
                Some(Deep),
                vec![CampaignMember {
                    school_year: None,
                    ..student(S::Undergraduate, 1)
                }],
                false,
            ),
            // The worker or the spouse studying is not a child's admission.
            (
                R::NewStudent,
                vec![],
                Some(Deep),
                vec![CampaignMember {
                    relation: Relation::Spouse,
                    ..student(S::Vocational, 1)
                }],
                false,
            ),
            (
                R::NewStudent,
                vec![],
                Some(Deep),
                vec![CampaignMember {
                    relation: Relation::Grandchild,
                    ..student(S::Vocational, 1)
                }],
                true,
            ),
            // A child not counted in the household is not looked at.
            (
                R::NewStudent,
                vec![],
                Some(Deep),
                vec![CampaignMember {
                    included: false,
                    ..student(S::Vocational, 1)
                }],
                false,
            ),
            // The categories restrict every rule.
            (
                R::NewStudent,
                vec![Deep],
                Some(Relative),
                vec![student(S::Vocational, 1)],
                false,
            ),
            // A member seriously ill, counted in the household.
            (
                R::SeriousIllness,
                vec![],
                Some(Relative),
                vec![worker.clone(), ill(Relation::Spouse)],
                true,
            ),
            (
                R::SeriousIllness,
                vec![],
                Some(Relative),
                vec![ill(Relation::Worker)],
                true,
            ),
            (
                R::SeriousIllness,
                vec![],
                Some(Relative),
                vec![CampaignMember {
                    included: false,
                    ..ill(Relation::Parent)
                }],
                false,
            ),
            (
                R::SeriousIllness,
                vec![],
                Some(Relative),
                vec![CampaignMember {
                    health: Some(HealthStatus::ChronicIllness),
                    ..member(Relation::Worker)
                }],
                false,
            ),
            (
                R::SeriousIllness,
                vec![],
                Some(Relative),
                vec![CampaignMember {
                    health: Some(HealthStatus::Disabled),
                    ..member(Relation::Worker)
                }],
                false,
            ),
        ];
        for (i, (r, cats, category, members, want)) in cases.into_iter().enumerate() {
            let h = household(category, members);
            let got = eligible(&rule(r, &cats), &h);
            assert_eq!(got.is_some(), want, "case {i}: {r:?} {cats:?} {h:?}");
            if let Some(because) = got {
                assert_eq!(because.rule, r);
                assert!(!because.reason_en.is_empty() && !because.reason_zh.is_empty());
            }
        }
    }

    #[test]
    fn only_filed_households_are_eligible() {
        let mut h = household(Some(Category::Deep), vec![ill(Relation::Worker)]);
        h.filed = false;
        for r in EligibilityRule::ALL {
            assert_eq!(eligible(&rule(*r, &[Category::Deep]), &h), None, "{r:?}");
        }
    }

    #[test]
    fn the_reason_names_the_category_in_both_languages() {
        let h = household(Some(Category::Deep), vec![member(Relation::Worker)]);
        let because =
            eligible(&rule(EligibilityRule::FiledCategory, &[Category::Deep]), &h).unwrap();
        assert!(because.reason_en.contains("deep hardship"), "{because:?}");
        assert!(because.reason_zh.contains("深度困难"), "{because:?}");
    }

    #[test]
    fn amounts() {
        let fixed = AmountRule::fixed(50_000).unwrap();
        assert_eq!(fixed.amount_for(None), Some(50_000));
        assert_eq!(fixed.amount_for(Some(Category::Deep)), Some(50_000));
        let by = AmountRule::by_category(100_000, 60_000, 80_000).unwrap();
        assert_eq!(by.amount_for(Some(Category::Deep)), Some(100_000));
        assert_eq!(by.amount_for(Some(Category::Relative)), Some(60_000));
        assert_eq!(by.amount_for(Some(Category::Accident)), Some(80_000));
        assert_eq!(by.amount_for(None), None);
        assert_eq!(AmountRule::fixed(0), Err(CampaignRuleError::ZeroAmount));
        assert_eq!(
            AmountRule::by_category(1, 0, 1),
            Err(CampaignRuleError::ZeroAmount)
        );
    }

    #[test]
    fn amount_rules_round_trip_as_stored() {
        for r in [
            AmountRule::fixed(30_000).unwrap(),
            AmountRule::by_category(3, 2, 1).unwrap(),
        ] {
            let text = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<AmountRule>(&text).unwrap(), r);
        }
        let e = rule(EligibilityRule::FiledCategory, &[Category::Deep]);
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(text, r#"{"rule":"filed_category","categories":["deep"]}"#);
        assert_eq!(serde_json::from_str::<Eligibility>(&text).unwrap(), e);
    }
}
