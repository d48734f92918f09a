//! The plan rules (一户一策) against hand-worked cases: each fact on its own, several at once, a
//! household not filed and members left out.

use chrono::NaiveDate;
use jiekun_domain::household::{HealthStatus, Relation, SchoolingLevel, WorkStatus};
use jiekun_domain::rules::{
    plannable, propose, propose_with, NotPlannable, PlanFacts, PlanMember, PlanPolicy, Proposal,
};

/// Ages are taken on this day.
pub fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 15).unwrap()
}

fn born(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A healthy, employed member of 46 with no other fact.
pub fn member(id: &str, relation: Relation) -> PlanMember {
    PlanMember {
        id: id.into(),
        relation,
        included: true,
        birth_date: born(1980, 3, 1),
        work_status: WorkStatus::Employed,
        health: Some(HealthStatus::Healthy),
        disability_grade: None,
        long_term_care: false,
        schooling_level: None,
        admitted_higher_education: false,
        has_business_plan: false,
        pays_residents_pension: false,
        laid_off: false,
    }
}

/// A child of 12 at school.
fn child(id: &str, level: SchoolingLevel) -> PlanMember {
    PlanMember {
        birth_date: born(2014, 5, 1),
        work_status: WorkStatus::Student,
        schooling_level: Some(level),
        ..member(id, Relation::Child)
    }
}

/// A filed household of the worker `w` alone, with no fact that calls for help.
pub fn household(members: Vec<PlanMember>) -> PlanFacts {
    PlanFacts {
        assessment_date: date(),
        filed: true,
        per_capita_below_dibao: false,
        receives_dibao: false,
        receives_special_hardship: false,
        meets_special_hardship: false,
        enterprise_in_difficulty: false,
        legal_dispute: false,
        members,
    }
}

fn worker() -> PlanMember {
    member("w", Relation::Worker)
}

/// A proposal as (measure number, members, reason codes).
type Row = (u8, Vec<String>, Vec<&'static str>);

fn rows(proposals: &[Proposal]) -> Vec<Row> {
    proposals
        .iter()
        .map(|p| {
            (
                p.measure.number(),
                p.member_ids.clone(),
                p.reasons.iter().map(|r| r.code.as_str()).collect(),
            )
        })
        .collect()
}

/// What every filed household is proposed: 14 and 15, for the household as a whole.
const EVERY: [(u8, &[&str], &[&str]); 2] = [
    (14, &[], &["every_filed_household"]),
    (15, &[], &["every_filed_household"]),
];

/// The expected proposals: `extra` and 14, 15, in measure order.
fn expect(extra: &[(u8, &[&str], &[&'static str])]) -> Vec<Row> {
    let mut out: Vec<Row> = extra
        .iter()
        .chain(EVERY.iter())
        .map(|(n, members, codes)| {
            (
                *n,
                members.iter().map(|m| m.to_string()).collect(),
                codes.to_vec(),
            )
        })
        .collect();
    out.sort_by_key(|r| r.0);
    out
}

type Case = (
    &'static str,
    PlanFacts,
    &'static [(u8, &'static [&'static str], &'static [&'static str])],
);

fn with(f: impl FnOnce(&mut PlanFacts)) -> PlanFacts {
    let mut facts = household(vec![worker()]);
    f(&mut facts);
    facts
}

fn with_member(m: PlanMember) -> PlanFacts {
    household(vec![worker(), m])
}

fn unemployed(id: &str, relation: Relation, birth: NaiveDate) -> PlanMember {
    PlanMember {
        birth_date: birth,
        work_status: WorkStatus::Unemployed,
        ..member(id, relation)
    }
}

/// One fact at a time: the measures, members and reasons it adds to 14 and 15.
fn cases() -> Vec<Case> {
    use Relation::*;
    use SchoolingLevel::*;
    vec![
        ("nothing but filing", with(|_| {}), &[]),
        (
            "income below dibao, no dibao",
            with(|f| f.per_capita_below_dibao = true),
            &[(4, &[], &["income_below_dibao"])],
        ),
        (
            "income below dibao, dibao received",
            with(|f| {
                f.per_capita_below_dibao = true;
                f.receives_dibao = true;
            }),
            &[],
        ),
        (
            "dibao received, income not below",
            with(|f| f.receives_dibao = true),
            &[],
        ),
        (
            "meets special hardship, not received",
            with(|f| f.meets_special_hardship = true),
            &[(5, &[], &["meets_special_hardship"])],
        ),
        (
            "meets special hardship, received",
            with(|f| {
                f.meets_special_hardship = true;
                f.receives_special_hardship = true;
            }),
            &[],
        ),
        (
            "worker seriously ill",
            with(|f| f.members[0].health = Some(HealthStatus::SeriousIllness)),
            &[
                (6, &["w"], &["serious_illness"]),
                (8, &["w"], &["serious_illness"]),
            ],
        ),
        (
            "chronic illness is not serious illness",
            with(|f| f.members[0].health = Some(HealthStatus::ChronicIllness)),
            &[],
        ),
        (
            "disabled child",
            with_member(PlanMember {
                health: Some(HealthStatus::Disabled),
                disability_grade: Some(2),
                ..member("c", Child)
            }),
            &[(7, &["c"], &["disability_or_dependency"])],
        ),
        (
            "disability status without a grade",
            with_member(PlanMember {
                health: Some(HealthStatus::Disabled),
                ..member("s", Spouse)
            }),
            &[(7, &["s"], &["disability_or_dependency"])],
        ),
        (
            "a disability grade alone",
            with_member(PlanMember {
                health: None,
                disability_grade: Some(4),
                ..member("s", Spouse)
            }),
            &[(7, &["s"], &["disability_or_dependency"])],
        ),
        (
            "parent needing long-term care",
            with_member(PlanMember {
                birth_date: born(1945, 1, 1),
                work_status: WorkStatus::Retired,
                long_term_care: true,
                ..member("p", Parent)
            }),
            &[(7, &["p"], &["disability_or_dependency"])],
        ),
        (
            "child at primary school",
            with_member(child("c", Primary)),
            &[(9, &["c"], &["compulsory_schooling"])],
        ),
        (
            "child at junior secondary school",
            with_member(child("c", JuniorSecondary)),
            &[(9, &["c"], &["compulsory_schooling"])],
        ),
        (
            "child at preschool",
            with_member(child("c", Preschool)),
            &[(9, &["c"], &["non_compulsory_schooling"])],
        ),
        (
            "child at senior secondary school",
            with_member(child("c", SeniorSecondary)),
            &[(9, &["c"], &["non_compulsory_schooling"])],
        ),
        (
            "child at a vocational school",
            with_member(child("c", Vocational)),
            &[
                (9, &["c"], &["higher_or_vocational_education"]),
                (10, &["c"], &["higher_or_vocational_education"]),
            ],
        ),
        (
            "child at university",
            with_member(child("c", Undergraduate)),
            &[
                (9, &["c"], &["higher_or_vocational_education"]),
                (10, &["c"], &["higher_or_vocational_education"]),
            ],
        ),
        (
            "child at postgraduate school",
            with_member(child("c", Postgraduate)),
            &[
                (9, &["c"], &["higher_or_vocational_education"]),
                (10, &["c"], &["higher_or_vocational_education"]),
            ],
        ),
        (
            "child leaving senior secondary, admitted to university",
            with_member(PlanMember {
                admitted_higher_education: true,
                ..child("c", SeniorSecondary)
            }),
            &[
                (
                    9,
                    &["c"],
                    &["non_compulsory_schooling", "higher_education_admission"],
                ),
                (10, &["c"], &["higher_education_admission"]),
            ],
        ),
        (
            "grandchild at primary school",
            with_member(PlanMember {
                relation: Grandchild,
                ..child("g", Primary)
            }),
            &[(9, &["g"], &["compulsory_schooling"])],
        ),
        (
            "a spouse at university is not a child",
            with_member(PlanMember {
                schooling_level: Some(Undergraduate),
                admitted_higher_education: true,
                ..member("s", Spouse)
            }),
            &[],
        ),
        (
            "the worker at school is not a child",
            with(|f| f.members[0].schooling_level = Some(Vocational)),
            &[],
        ),
        (
            "worker unemployed at 46",
            with(|f| f.members[0].work_status = WorkStatus::Unemployed),
            &[
                (2, &["w"], &["unemployed_able_bodied"]),
                (17, &["w"], &["unemployed_able_bodied"]),
            ],
        ),
        (
            "unemployed, 16 today",
            with_member(unemployed("c", Child, born(2010, 11, 15))),
            &[
                (2, &["c"], &["unemployed_able_bodied"]),
                (17, &["c"], &["unemployed_able_bodied"]),
            ],
        ),
        (
            "unemployed, 16 tomorrow",
            with_member(unemployed("c", Child, born(2010, 11, 16))),
            &[],
        ),
        (
            "unemployed, 59 until tomorrow",
            with_member(unemployed("s", Spouse, born(1966, 11, 16))),
            &[
                (2, &["s"], &["unemployed_able_bodied"]),
                (17, &["s"], &["unemployed_able_bodied"]),
            ],
        ),
        (
            "unemployed, 60 today",
            with_member(unemployed("s", Spouse, born(1966, 11, 15))),
            &[],
        ),
        (
            "unemployed and seriously ill",
            with_member(PlanMember {
                health: Some(HealthStatus::SeriousIllness),
                ..unemployed("s", Spouse, born(1980, 1, 1))
            }),
            &[
                (6, &["s"], &["serious_illness"]),
                (8, &["s"], &["serious_illness"]),
            ],
        ),
        (
            "unemployed with a chronic illness",
            with_member(PlanMember {
                health: Some(HealthStatus::ChronicIllness),
                ..unemployed("s", Spouse, born(1980, 1, 1))
            }),
            &[
                (2, &["s"], &["unemployed_able_bodied"]),
                (17, &["s"], &["unemployed_able_bodied"]),
            ],
        ),
        (
            "unemployed and needing long-term care",
            with_member(PlanMember {
                long_term_care: true,
                ..unemployed("s", Spouse, born(1980, 1, 1))
            }),
            &[(7, &["s"], &["disability_or_dependency"])],
        ),
        (
            "unable to work",
            with(|f| f.members[0].work_status = WorkStatus::UnableToWork),
            &[],
        ),
        (
            "employed worker with a business plan",
            with(|f| f.members[0].has_business_plan = true),
            &[(3, &["w"], &["business_plan"])],
        ),
        (
            "unemployed worker with a business plan",
            with(|f| {
                f.members[0].work_status = WorkStatus::Unemployed;
                f.members[0].has_business_plan = true;
            }),
            &[
                (2, &["w"], &["unemployed_able_bodied"]),
                (3, &["w"], &["business_plan"]),
                (17, &["w"], &["unemployed_able_bodied"]),
            ],
        ),
        (
            "business plan, disabled",
            with(|f| {
                f.members[0].has_business_plan = true;
                f.members[0].health = Some(HealthStatus::Disabled);
            }),
            &[(7, &["w"], &["disability_or_dependency"])],
        ),
        (
            "business plan at 62",
            with_member(PlanMember {
                birth_date: born(1964, 1, 1),
                has_business_plan: true,
                ..member("p", Parent)
            }),
            &[],
        ),
        (
            "parent paying residents' pension",
            with_member(PlanMember {
                birth_date: born(1956, 1, 1),
                work_status: WorkStatus::Retired,
                pays_residents_pension: true,
                ..member("p", Parent)
            }),
            &[(11, &["p"], &["residents_pension"])],
        ),
        (
            "worker laid off",
            with(|f| f.members[0].laid_off = true),
            &[(12, &["w"], &["laid_off"]), (18, &["w"], &["laid_off"])],
        ),
        (
            "enterprise in difficulty names the worker",
            with_member(member("s", Spouse)).tap(|f| f.enterprise_in_difficulty = true),
            &[
                (12, &["w"], &["enterprise_in_difficulty"]),
                (18, &["w"], &["enterprise_in_difficulty"]),
            ],
        ),
        (
            "spouse laid off, enterprise in difficulty",
            with_member(PlanMember {
                laid_off: true,
                ..member("s", Spouse)
            })
            .tap(|f| f.enterprise_in_difficulty = true),
            &[
                (12, &["s", "w"], &["enterprise_in_difficulty", "laid_off"]),
                (18, &["s", "w"], &["enterprise_in_difficulty", "laid_off"]),
            ],
        ),
        (
            "legal dispute",
            with(|f| f.legal_dispute = true),
            &[(13, &[], &["legal_dispute"])],
        ),
    ]
}

trait Tap: Sized {
    fn tap(self, f: impl FnOnce(&mut Self)) -> Self;
}

impl Tap for PlanFacts {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}

#[test]
fn each_fact_proposes_its_measures() {
    for (name, facts, want) in cases() {
        assert_eq!(plannable(&facts), Ok(()), "{name}");
        assert_eq!(rows(&propose(&facts)), expect(want), "{name}");
    }
}

#[test]
fn the_working_age_is_a_setting() {
    let facts = with_member(unemployed("s", Relation::Spouse, born(1964, 6, 1)));
    assert_eq!(rows(&propose(&facts)), expect(&[]));
    let longer = PlanPolicy {
        working_age: (16, 64),
    };
    assert_eq!(
        rows(&propose_with(&facts, &longer)),
        expect(&[
            (2, &["s"], &["unemployed_able_bodied"]),
            (17, &["s"], &["unemployed_able_bodied"]),
        ])
    );
    assert_eq!(PlanPolicy::default().working_age, (16, 59));
}

/// A household of four with many facts at once.
fn busy_household() -> PlanFacts {
    use Relation::*;
    PlanFacts {
        per_capita_below_dibao: true,
        meets_special_hardship: true,
        enterprise_in_difficulty: true,
        legal_dispute: true,
        ..household(vec![
            PlanMember {
                work_status: WorkStatus::Unemployed,
                laid_off: true,
                has_business_plan: true,
                ..member("w", Worker)
            },
            PlanMember {
                health: Some(HealthStatus::SeriousIllness),
                pays_residents_pension: true,
                ..member("s", Spouse)
            },
            PlanMember {
                admitted_higher_education: true,
                ..child("c1", SchoolingLevel::SeniorSecondary)
            },
            child("c2", SchoolingLevel::Primary),
            PlanMember {
                birth_date: born(1940, 2, 2),
                work_status: WorkStatus::Retired,
                health: Some(HealthStatus::SeriousIllness),
                disability_grade: Some(1),
                long_term_care: true,
                ..member("p", Parent)
            },
        ])
    }
}

#[test]
fn several_facts_at_once() {
    let proposals = propose(&busy_household());
    assert_eq!(
        rows(&proposals),
        expect(&[
            (2, &["w"], &["unemployed_able_bodied"]),
            (3, &["w"], &["business_plan"]),
            (4, &[], &["income_below_dibao"]),
            (5, &[], &["meets_special_hardship"]),
            (6, &["p", "s"], &["serious_illness"]),
            (7, &["p"], &["disability_or_dependency"]),
            (8, &["p", "s"], &["serious_illness"]),
            (
                9,
                &["c1", "c2"],
                &[
                    "compulsory_schooling",
                    "non_compulsory_schooling",
                    "higher_education_admission"
                ]
            ),
            (10, &["c1"], &["higher_education_admission"]),
            (11, &["s"], &["residents_pension"]),
            (12, &["w"], &["enterprise_in_difficulty", "laid_off"]),
            (13, &[], &["legal_dispute"]),
            (17, &["w"], &["unemployed_able_bodied"]),
            (18, &["w"], &["enterprise_in_difficulty", "laid_off"]),
        ])
    );
    // Each reason cites the clause of its own measure, in both languages.
    for p in &proposals {
        for r in &p.reasons {
            assert_eq!(r.clause_zh, p.measure.clause_zh());
            assert_eq!(r.clause_en, p.measure.clause_en());
            assert!(r.zh.contains(&r.clause_zh) && r.en.contains(&r.clause_en));
        }
    }
    let dibao = &proposals[2];
    assert_eq!(dibao.reasons[0].clause_zh, "《实施方案》三(三)4");
    assert_eq!(dibao.reasons[0].clause_en, "Implementation Plan 三(三)4");
}

#[test]
fn nothing_for_a_household_not_filed() {
    let mut facts = busy_household();
    facts.filed = false;
    assert_eq!(plannable(&facts), Err(NotPlannable::NotFiled));
    assert_eq!(propose(&facts), vec![]);
    let mut empty = household(vec![]);
    empty.filed = false;
    assert_eq!(propose(&empty), vec![]);
    // A filed household with no member counted still has its contacts.
    assert_eq!(rows(&propose(&household(vec![]))), expect(&[]));
}

#[test]
fn members_left_out_are_not_looked_at() {
    let mut facts = busy_household();
    for m in &mut facts.members {
        m.included = false;
    }
    // Household facts stay; no member is named, and nothing a member brings is proposed.
    assert_eq!(
        rows(&propose(&facts)),
        expect(&[
            (4, &[], &["income_below_dibao"]),
            (5, &[], &["meets_special_hardship"]),
            (13, &[], &["legal_dispute"]),
        ])
    );
    // One member left out: only theirs disappears.
    let mut facts = busy_household();
    facts.members[4].included = false;
    let rows = rows(&propose(&facts));
    assert!(!rows.iter().any(|r| r.1.contains(&"p".to_string())));
    assert!(!rows.iter().any(|r| r.0 == 7));
    assert!(rows.contains(&(6, vec!["s".into()], vec!["serious_illness"])));
}

#[test]
fn a_member_is_named_once_and_a_reason_given_once() {
    // Two members with the same id and the same fact, listed out of order.
    let ill = |id: &str| PlanMember {
        health: Some(HealthStatus::SeriousIllness),
        ..member(id, Relation::Child)
    };
    let facts = household(vec![worker(), ill("z"), ill("a"), ill("z")]);
    assert_eq!(
        rows(&propose(&facts)),
        expect(&[
            (6, &["a", "z"], &["serious_illness"]),
            (8, &["a", "z"], &["serious_illness"]),
        ])
    );
}
