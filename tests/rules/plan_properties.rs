//! Invariants of the plan rules (一户一策) over generated households.

use std::collections::BTreeSet;

use jiekun_domain::closed::ClosedList;
use jiekun_domain::household::{HealthStatus, Relation, SchoolingLevel, WorkStatus};
use jiekun_domain::measure::Measure;
use jiekun_domain::rules::{
    plannable, propose, propose_with, PlanFacts, PlanMember, PlanPolicy, Proposal,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use crate::plan::date;

fn member() -> impl Strategy<Value = PlanMember> {
    (
        (
            0u8..8,
            0usize..7,
            prop::bool::weighted(0.85),
            1940i32..2027,
            1u32..13,
            1u32..29,
        ),
        (
            0usize..7,
            0usize..5,
            prop::option::weighted(0.15, 1u8..5),
            prop::bool::weighted(0.15),
            0usize..8,
        ),
        (
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.2),
        ),
    )
        .prop_map(
            |(
                (id, relation, included, year, month, day),
                (work, health, grade, care, school),
                (admitted, business, pension, laid_off),
            )| {
                let healths = [
                    None,
                    Some(HealthStatus::Healthy),
                    Some(HealthStatus::ChronicIllness),
                    Some(HealthStatus::SeriousIllness),
                    Some(HealthStatus::Disabled),
                ];
                PlanMember {
                    // Few ids, so that the same id sometimes comes twice.
                    id: format!("m{id}"),
                    relation: Relation::ALL[relation],
                    included,
                    birth_date: chrono::NaiveDate::from_ymd_opt(year, month, day).unwrap(),
                    work_status: WorkStatus::ALL[work],
                    health: healths[health],
                    disability_grade: grade,
                    long_term_care: care,
                    schooling_level: SchoolingLevel::ALL.get(school).copied(),
                    admitted_higher_education: admitted,
                    has_business_plan: business,
                    pays_residents_pension: pension,
                    laid_off,
                }
            },
        )
}

fn facts() -> impl Strategy<Value = PlanFacts> {
    (
        prop::bool::weighted(0.9),
        prop::collection::vec(any::<bool>(), 7),
        prop::collection::vec(member(), 0..7),
    )
        .prop_map(|(filed, b, members)| PlanFacts {
            assessment_date: date(),
            filed,
            per_capita_below_dibao: b[0],
            receives_dibao: b[1],
            receives_special_hardship: b[2],
            meets_special_hardship: b[3],
            enterprise_in_difficulty: b[4],
            legal_dispute: b[5],
            members,
        })
}

/// The facts a household can gain that only ever call for more help. (Facts that describe a
/// member as less able — illness, disability, care — take the employment measures away from
/// that member, and receiving dibao takes measure 4 away; they are not on this list.)
const FACTS: u8 = 13;

fn add_fact(f: &mut PlanFacts, which: u8, who: usize, newcomer: PlanMember) {
    let n = f.members.len();
    let mut on_member = |set: fn(&mut PlanMember)| {
        if n == 0 {
            f.members.push(newcomer.clone());
            set(&mut f.members[0]);
        } else {
            set(&mut f.members[who % n]);
        }
    };
    match which {
        0 => f.filed = true,
        1 => f.per_capita_below_dibao = true,
        2 => f.meets_special_hardship = true,
        3 => f.enterprise_in_difficulty = true,
        4 => f.legal_dispute = true,
        5 => f.receives_dibao = false,
        6 => f.receives_special_hardship = false,
        7 => on_member(|m| m.included = true),
        8 => on_member(|m| m.has_business_plan = true),
        9 => on_member(|m| m.pays_residents_pension = true),
        10 => on_member(|m| m.laid_off = true),
        11 => on_member(|m| m.admitted_higher_education = true),
        _ => f.members.push(newcomer),
    }
}

/// What a list of proposals says, item by item: (measure, member) and (measure, reason code).
fn entries(proposals: &[Proposal]) -> BTreeSet<(u8, String)> {
    let mut out = BTreeSet::new();
    for p in proposals {
        let n = p.measure.number();
        out.insert((n, String::new()));
        for m in &p.member_ids {
            out.insert((n, format!("member {m}")));
        }
        for r in &p.reasons {
            out.insert((n, format!("reason {}", r.code)));
        }
    }
    out
}

// Failing cases are saved as seeds in tests/proptest-regressions/ (committed) and replayed
// before new cases. `PROPTEST_CASES` raises the count for a long run.
proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// A filed household always has dual contact (14) and psychological care (15), for the
    /// household as a whole; a household not filed has nothing.
    #[test]
    fn filed_households_always_have_14_and_15(f in facts()) {
        let proposals = propose(&f);
        prop_assert_eq!(plannable(&f).is_ok(), f.filed);
        if !f.filed {
            prop_assert!(proposals.is_empty());
            return Ok(());
        }
        for n in [14u8, 15] {
            let p = proposals.iter().find(|p| p.measure.number() == n);
            prop_assert!(p.is_some(), "{} missing", n);
            let p = p.unwrap();
            prop_assert!(p.member_ids.is_empty());
            prop_assert_eq!(p.reasons.len(), 1);
            prop_assert_eq!(p.reasons[0].code.as_str(), "every_filed_household");
        }
    }

    /// One proposal per measure, in measure order; members and reasons sorted, each once; every
    /// proposal has a reason that calls for its measure and cites its clause; the members named
    /// are members counted in the household; measures only staff propose never appear.
    #[test]
    fn proposals_are_sorted_explained_and_name_counted_members(f in facts()) {
        let proposals = propose(&f);
        let counted: BTreeSet<&str> =
            f.members.iter().filter(|m| m.included).map(|m| m.id.as_str()).collect();
        prop_assert!(proposals.windows(2).all(|w| w[0].measure < w[1].measure));
        for p in &proposals {
            prop_assert!(![1, 16, 19].contains(&p.measure.number()), "{}", p.measure);
            prop_assert!(p.member_ids.windows(2).all(|w| w[0] < w[1]), "{:?}", p.member_ids);
            prop_assert!(p.member_ids.iter().all(|m| counted.contains(m.as_str())));
            prop_assert!(!p.reasons.is_empty(), "{} has no reason", p.measure);
            prop_assert!(p.reasons.windows(2).all(|w| w[0].code < w[1].code));
            for r in &p.reasons {
                prop_assert!(r.code.measures().contains(&p.measure), "{} for {}", r.code, p.measure);
                prop_assert_eq!(&r.clause_zh, &p.measure.clause_zh());
                prop_assert_eq!(&r.clause_en, &p.measure.clause_en());
            }
        }
    }

    /// Gaining a fact never takes a measure, a member or a reason away.
    #[test]
    fn adding_a_fact_never_removes_a_measure(f in facts(), which in 0..FACTS, who in 0usize..8, newcomer in member()) {
        let before = propose(&f);
        let mut more = f.clone();
        add_fact(&mut more, which, who, newcomer);
        let after = propose(&more);
        let (b, a) = (entries(&before), entries(&after));
        let lost: Vec<_> = b.difference(&a).collect();
        prop_assert!(lost.is_empty(), "fact {} lost {:?}", which, lost);
    }

    /// Members left out change nothing, and neither does the order members are listed in.
    #[test]
    fn left_out_members_and_order_change_nothing(f in facts()) {
        let proposals = propose(&f);
        let mut counted_only = f.clone();
        counted_only.members.retain(|m| m.included);
        prop_assert_eq!(&propose(&counted_only), &proposals);
        let mut reversed = f.clone();
        reversed.members.reverse();
        prop_assert_eq!(&propose(&reversed), &proposals);
        prop_assert_eq!(&propose_with(&f, &PlanPolicy::default()), &proposals);
    }

    /// Facts and proposals survive a JSON round trip (what storing them relies on).
    #[test]
    fn facts_and_proposals_survive_a_json_round_trip(f in facts()) {
        let json = serde_json::to_string(&f).unwrap();
        let back: PlanFacts = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &f);
        let proposals = propose(&f);
        let json = serde_json::to_string(&proposals).unwrap();
        let back: Vec<Proposal> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &proposals);
        for p in &proposals {
            prop_assert_eq!(Measure::from_code(p.measure.as_str()), Some(p.measure));
        }
    }
}
