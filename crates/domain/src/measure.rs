//! The programme's measures (帮扶措施): the 19 measures of plan §三, grouped in its 9 mechanisms,
//! each with the unit that leads it and the units that share it.
//!
//! Unit codes are those of the catalogue the partner departments are registered under. Every lead
//! unit is a [`DepartmentCode`]; three responsible units are not departments and have no code
//! there: `towns` (各镇（街道）, local government), `grassroots_unions` (各基层工会, organisations
//! of the union tree) and `related_departments` (相关部门（单位）, whichever departments a case
//! needs).

use crate::department::DepartmentCode;

crate::closed_list! {
    /// The nine mechanisms of plan §三 (长效机制), in the order the plan gives them.
    Mechanism ("Mechanism of the implementation plan", "实施方案工作机制") {
        InformationSharing = "information_sharing" ("information sharing on urban hardship workers", "建立城市困难职工信息共享机制"),
        Employment = "employment" ("employment and business start-up services", "健全就业创业服务机制"),
        SafetyNet = "safety_net" ("the social safety net", "落实社会兜底保障机制"),
        Medical = "medical" ("medical help", "完善医疗帮扶机制"),
        Education = "education" ("education aid for children", "健全子女教育救助机制"),
        SocialInsurance = "social_insurance" ("social insurance coverage", "完善社会保险覆盖机制"),
        LifeDifficulties = "life_difficulties" ("help with the difficulties of daily life", "建立生活难题救助机制"),
        Aspiration = "aspiration" ("building the aspiration and ability of urban hardship workers", "落实城市困难职工扶志扶智机制"),
        Income = "income" ("income security for urban hardship workers", "建立城市困难职工收入保障机制"),
    }
}

crate::closed_list! {
    /// The nineteen measures of plan §三, numbered as the plan numbers them (1–19).
    Measure ("Measure of the implementation plan", "实施方案帮扶措施") {
        InformationSharing = "information_sharing" ("information sharing", "建立信息共享机制"),
        EmploymentAssistance = "employment_assistance" ("more employment assistance", "加大就业援助力度"),
        Entrepreneurship = "entrepreneurship" ("support for starting a business", "支持城市困难职工自主创业"),
        DibaoInclusion = "dibao_inclusion" ("urban minimum living allowance (dibao), steadily raised", "稳步提高城市居民最低生活保障水平"),
        SpecialHardshipSupport = "special_hardship_support" ("support for persons in special hardship", "落实特困人员救助供养政策"),
        MutualMedicalInsurance = "mutual_medical_insurance" ("workers' mutual medical insurance", "健全职工医疗互助保障体系"),
        LongTermCareInsurance = "long_term_care_insurance" ("long-term care insurance", "开展长期护理保险工作"),
        CharityAndMedicalAid = "charity_and_medical_aid" ("charity resources and medical assistance", "整合慈善资助资源"),
        StudentFinancialAid = "student_financial_aid" ("student financial aid of every kind", "全面落实各类资助政策"),
        GoldenAutumnAid = "golden_autumn_aid" ("Golden Autumn education aid (金秋助学)", "持续开展金秋助学活动"),
        PensionContributionSubsidy = "pension_contribution_subsidy" ("subsidy for residents' pension contributions", "落实养老保险补贴待遇"),
        SocialInsuranceContinuity = "social_insurance_continuity" ("social insurance benefits delivered", "推动社保待遇落实"),
        LegalAid = "legal_aid" ("legal aid", "推行法律援助服务"),
        DualContact = "dual_contact" ("dual contact (双包联系)", "建立双包联系制度"),
        PsychologicalCare = "psychological_care" ("psychological counselling and care", "实施心理疏导关怀"),
        SelfReliantFamily = "self_reliant_family" ("selection of self-reliant families", "评选自立自强家庭"),
        SkillsTraining = "skills_training" ("skills training", "积极开展技能培训"),
        WageGuarantee = "wage_guarantee" ("basic wage income guaranteed", "保障基本工资收入"),
        IncomeGrowth = "income_growth" ("income raised in many ways", "多种方式提高困难职工收入水平"),
    }
}

/// Chinese numerals for the mechanisms' clause numbers, 一 to 九.
const NUMERALS: [&str; 9] = ["一", "二", "三", "四", "五", "六", "七", "八", "九"];

impl Mechanism {
    /// Its position in plan §三, 1–9 (the clause 三(一) … 三(九)).
    pub fn number(self) -> u8 {
        self as u8 + 1
    }

    /// Its measures, in number order.
    pub fn measures(self) -> &'static [Measure] {
        use Measure as M;
        match self {
            Mechanism::InformationSharing => &[M::InformationSharing],
            Mechanism::Employment => &[M::EmploymentAssistance, M::Entrepreneurship],
            Mechanism::SafetyNet => &[M::DibaoInclusion, M::SpecialHardshipSupport],
            Mechanism::Medical => &[
                M::MutualMedicalInsurance,
                M::LongTermCareInsurance,
                M::CharityAndMedicalAid,
            ],
            Mechanism::Education => &[M::StudentFinancialAid, M::GoldenAutumnAid],
            Mechanism::SocialInsurance => {
                &[M::PensionContributionSubsidy, M::SocialInsuranceContinuity]
            }
            Mechanism::LifeDifficulties => &[M::LegalAid, M::DualContact],
            Mechanism::Aspiration => &[
                M::PsychologicalCare,
                M::SelfReliantFamily,
                M::SkillsTraining,
            ],
            Mechanism::Income => &[M::WageGuarantee, M::IncomeGrowth],
        }
    }

    /// The Chinese numeral of its clause (三 for 三(三)).
    fn numeral(self) -> &'static str {
        NUMERALS[usize::from(self.number() - 1)]
    }
}

impl Measure {
    /// Its number in plan §三, 1–19.
    pub fn number(self) -> u8 {
        self as u8 + 1
    }

    /// The measure numbered `n` (1–19).
    pub fn from_number(n: u8) -> Option<Measure> {
        Measure::ALL.get(usize::from(n).checked_sub(1)?).copied()
    }

    /// The mechanism it belongs to.
    pub fn mechanism(self) -> Mechanism {
        match self.number() {
            1 => Mechanism::InformationSharing,
            2..=3 => Mechanism::Employment,
            4..=5 => Mechanism::SafetyNet,
            6..=8 => Mechanism::Medical,
            9..=10 => Mechanism::Education,
            11..=12 => Mechanism::SocialInsurance,
            13..=14 => Mechanism::LifeDifficulties,
            15..=17 => Mechanism::Aspiration,
            _ => Mechanism::Income,
        }
    }

    /// The lead units (牵头单位), as unit codes.
    pub fn lead(self) -> &'static [&'static str] {
        use Measure as M;
        match self {
            M::InformationSharing
            | M::MutualMedicalInsurance
            | M::GoldenAutumnAid
            | M::DualContact
            | M::PsychologicalCare => &["union"],
            M::EmploymentAssistance
            | M::Entrepreneurship
            | M::PensionContributionSubsidy
            | M::SocialInsuranceContinuity
            | M::SkillsTraining
            | M::WageGuarantee
            | M::IncomeGrowth => &["hrss"],
            M::DibaoInclusion | M::SpecialHardshipSupport | M::CharityAndMedicalAid => {
                &["civil_affairs"]
            }
            M::LongTermCareInsurance => &["medical_insurance"],
            M::StudentFinancialAid => &["education"],
            M::LegalAid => &["justice"],
            M::SelfReliantFamily => &["civilization_office"],
        }
    }

    /// The responsible units (责任单位), as unit codes, in the plan's order.
    pub fn responsible(self) -> &'static [&'static str] {
        use Measure as M;
        match self {
            M::InformationSharing => &[
                "hrss",
                "civil_affairs",
                "public_security",
                "tax",
                "housing",
                "market_regulation",
            ],
            M::EmploymentAssistance => &["related_departments", "towns"],
            M::Entrepreneurship => &["finance", "tax"],
            M::DibaoInclusion => &["towns", "finance", "disabled_persons"],
            M::SpecialHardshipSupport => &["towns"],
            M::MutualMedicalInsurance => &[],
            M::LongTermCareInsurance => &["health", "civil_affairs", "finance"],
            M::CharityAndMedicalAid => &["red_cross", "disabled_persons", "charity"],
            M::StudentFinancialAid => &["finance", "union"],
            M::GoldenAutumnAid => &["education"],
            M::PensionContributionSubsidy => &["finance"],
            M::SocialInsuranceContinuity | M::WageGuarantee => &["union"],
            M::LegalAid | M::SkillsTraining | M::IncomeGrowth => &["towns", "union"],
            M::DualContact => &["grassroots_unions"],
            M::PsychologicalCare => &["health", "grassroots_unions"],
            M::SelfReliantFamily => &["towns", "union"],
        }
    }

    /// The department a referral for this measure goes to: the first lead unit that is a
    /// partner department. Every measure has one.
    pub fn lead_department(self) -> Option<DepartmentCode> {
        self.lead().iter().find_map(|u| u.parse().ok())
    }

    /// The clause of the plan that sets the measure, as users read it: `《实施方案》三(三)4`.
    pub fn clause_zh(self) -> String {
        format!(
            "《实施方案》三({}){}",
            self.mechanism().numeral(),
            self.number()
        )
    }

    /// The clause in English text: `Implementation Plan 三(三)4`. (No section sign: text users
    /// read cites the plan by title and clause only.)
    pub fn clause_en(self) -> String {
        format!(
            "Implementation Plan 三({}){}",
            self.mechanism().numeral(),
            self.number()
        )
    }

    /// Whether the lead department can deliver the measure only by finding the person in a
    /// register it keeps by national ID, so that a referral must carry the full number rather
    /// than the masked one (personal data go only where the task needs them).
    ///
    /// - 4 dibao and 5 special-hardship support: civil affairs enrols named persons (“及时纳入”)
    ///   and manages them in and out of its register.
    /// - 8 medical assistance: “纳入医疗救助制度保障范围” — assistance is settled against the
    ///   person's medical-insurance record.
    /// - 9 student financial aid: national student aid is granted to a named student through the
    ///   student-aid register.
    /// - 11 residents' pension subsidy: credited to the contributions the member pays
    ///   (“自主缴纳…时，按规定享受…补贴”), found by ID in the residents' pension register.
    ///
    /// The others are services, encouragement or enterprise-level work (employment help,
    /// training and loans the person applies for in person, voluntary insurance, legal aid,
    /// union visits, selections): the department needs to reach the person, not to match them.
    pub fn needs_full_id(self) -> bool {
        matches!(
            self,
            Measure::DibaoInclusion
                | Measure::SpecialHardshipSupport
                | Measure::CharityAndMedicalAid
                | Measure::StudentFinancialAid
                | Measure::PensionContributionSubsidy
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::closed::{check, ClosedList};

    /// The catalogue of measures (no, code, mechanism, name_zh, lead, responsible), copied from
    /// the shared catalogue the partner departments are registered under.
    type Row = (
        u8,
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    );
    #[rustfmt::skip]
    const CATALOGUE: [Row; 19] = [
        (1, "information_sharing", "information_sharing", "建立信息共享机制", &["union"],
         &["hrss", "civil_affairs", "public_security", "tax", "housing", "market_regulation"]),
        (2, "employment_assistance", "employment", "加大就业援助力度", &["hrss"], &["related_departments", "towns"]),
        (3, "entrepreneurship", "employment", "支持城市困难职工自主创业", &["hrss"], &["finance", "tax"]),
        (4, "dibao_inclusion", "safety_net", "稳步提高城市居民最低生活保障水平", &["civil_affairs"],
         &["towns", "finance", "disabled_persons"]),
        (5, "special_hardship_support", "safety_net", "落实特困人员救助供养政策", &["civil_affairs"], &["towns"]),
        (6, "mutual_medical_insurance", "medical", "健全职工医疗互助保障体系", &["union"], &[]),
        (7, "long_term_care_insurance", "medical", "开展长期护理保险工作", &["medical_insurance"],
         &["health", "civil_affairs", "finance"]),
        (8, "charity_and_medical_aid", "medical", "整合慈善资助资源", &["civil_affairs"],
         &["red_cross", "disabled_persons", "charity"]),
        (9, "student_financial_aid", "education", "全面落实各类资助政策", &["education"], &["finance", "union"]),
        (10, "golden_autumn_aid", "education", "持续开展金秋助学活动", &["union"], &["education"]),
        (11, "pension_contribution_subsidy", "social_insurance", "落实养老保险补贴待遇", &["hrss"], &["finance"]),
        (12, "social_insurance_continuity", "social_insurance", "推动社保待遇落实", &["hrss"], &["union"]),
        (13, "legal_aid", "life_difficulties", "推行法律援助服务", &["justice"], &["towns", "union"]),
        (14, "dual_contact", "life_difficulties", "建立双包联系制度", &["union"], &["grassroots_unions"]),
        (15, "psychological_care", "aspiration", "实施心理疏导关怀", &["union"], &["health", "grassroots_unions"]),
        (16, "self_reliant_family", "aspiration", "评选自立自强家庭", &["civilization_office"], &["towns", "union"]),
        (17, "skills_training", "aspiration", "积极开展技能培训", &["hrss"], &["towns", "union"]),
        (18, "wage_guarantee", "income", "保障基本工资收入", &["hrss"], &["union"]),
        (19, "income_growth", "income", "多种方式提高困难职工收入水平", &["hrss"], &["towns", "union"]),
    ];

    const MECHANISMS: [(&str, &str); 9] = [
        ("information_sharing", "建立城市困难职工信息共享机制"),
        ("employment", "健全就业创业服务机制"),
        ("safety_net", "落实社会兜底保障机制"),
        ("medical", "完善医疗帮扶机制"),
        ("education", "健全子女教育救助机制"),
        ("social_insurance", "完善社会保险覆盖机制"),
        ("life_difficulties", "建立生活难题救助机制"),
        ("aspiration", "落实城市困难职工扶志扶智机制"),
        ("income", "建立城市困难职工收入保障机制"),
    ];

    #[test]
    fn the_lists_are_closed_lists() {
        check::<Mechanism>().unwrap();
        check::<Measure>().unwrap();
        assert_eq!(Mechanism::ALL.len(), 9);
        assert_eq!(Measure::ALL.len(), 19);
    }

    #[test]
    fn the_catalogue_is_the_plans() {
        for (i, (code, zh)) in MECHANISMS.iter().enumerate() {
            let m = Mechanism::from_code(code).unwrap();
            assert_eq!(usize::from(m.number()), i + 1, "{code}");
            assert_eq!(m.meaning_zh(), *zh);
        }
        for (no, code, mechanism, zh, lead, responsible) in CATALOGUE {
            let m = Measure::from_code(code).unwrap();
            assert_eq!(m.number(), no, "{code}");
            assert_eq!(m.mechanism().as_str(), mechanism, "{code}");
            assert_eq!(m.meaning_zh(), zh, "{code}");
            assert_eq!(m.lead(), lead, "{code}");
            assert_eq!(m.responsible(), responsible, "{code}");
        }
    }

    #[test]
    fn numbers_round_trip() {
        for &m in Measure::ALL {
            assert!((1..=19).contains(&m.number()));
            assert_eq!(Measure::from_number(m.number()), Some(m));
        }
        assert_eq!(Measure::from_number(0), None);
        assert_eq!(Measure::from_number(20), None);
        assert_eq!(Measure::from_number(u8::MAX), None);
        for &m in Mechanism::ALL {
            assert!((1..=9).contains(&m.number()));
        }
    }

    #[test]
    fn every_measure_is_in_exactly_one_mechanism() {
        for &m in Measure::ALL {
            let holders: Vec<Mechanism> = Mechanism::ALL
                .iter()
                .copied()
                .filter(|g| g.measures().contains(&m))
                .collect();
            assert_eq!(holders, vec![m.mechanism()], "{m}");
        }
        // Mechanisms hold consecutive measures, in order: together they are 1..=19.
        let all: Vec<Measure> = Mechanism::ALL
            .iter()
            .flat_map(|g| g.measures().iter().copied())
            .collect();
        assert_eq!(all, Measure::ALL);
    }

    #[test]
    fn clauses_follow_the_plans_numbering() {
        let want = [
            (1, "一"),
            (2, "二"),
            (3, "二"),
            (4, "三"),
            (5, "三"),
            (6, "四"),
            (7, "四"),
            (8, "四"),
            (9, "五"),
            (10, "五"),
            (11, "六"),
            (12, "六"),
            (13, "七"),
            (14, "七"),
            (15, "八"),
            (16, "八"),
            (17, "八"),
            (18, "九"),
            (19, "九"),
        ];
        for (no, numeral) in want {
            let m = Measure::from_number(no).unwrap();
            assert_eq!(m.clause_zh(), format!("《实施方案》三({numeral}){no}"));
            assert_eq!(
                m.clause_en(),
                format!("Implementation Plan 三({numeral}){no}")
            );
        }
        assert_eq!(Measure::DibaoInclusion.clause_zh(), "《实施方案》三(三)4");
        assert_eq!(Measure::DualContact.clause_zh(), "《实施方案》三(七)14");
    }

    #[test]
    fn every_lead_unit_is_a_department() {
        for &m in Measure::ALL {
            for unit in m.lead() {
                assert!(unit.parse::<DepartmentCode>().is_ok(), "{m}: {unit}");
            }
            assert_eq!(
                m.lead_department().map(DepartmentCode::as_str),
                m.lead().first().copied()
            );
        }
        assert_eq!(
            Measure::DibaoInclusion.lead_department(),
            Some(DepartmentCode::CivilAffairs)
        );
        assert_eq!(
            Measure::DualContact.lead_department(),
            Some(DepartmentCode::Union)
        );
        // Units that share a measure but are not departments.
        let mut others: Vec<&str> = Measure::ALL
            .iter()
            .flat_map(|m| m.responsible().iter().copied())
            .filter(|u| u.parse::<DepartmentCode>().is_err())
            .collect();
        others.sort_unstable();
        others.dedup();
        assert_eq!(
            others,
            ["grassroots_unions", "related_departments", "towns"]
        );
    }

    #[test]
    fn full_ids_only_where_a_register_is_matched() {
        let full: Vec<u8> = Measure::ALL
            .iter()
            .filter(|m| m.needs_full_id())
            .map(|m| m.number())
            .collect();
        assert_eq!(full, [4, 5, 8, 9, 11]);
    }
}
