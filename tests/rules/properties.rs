//! Invariants of the rules over generated households.

use chrono::NaiveDate;
use jiekun_domain::household::{ExpenditureKind, HealthStatus, IncomeKind, Relation, WorkStatus};
use jiekun_domain::national_id::Sex;
use jiekun_domain::rules::{
    assess_exit, default_book, identify, AssetsSnap, AssistanceSnap, ExitPolicy, ExpenditureSnap,
    IncomeSnap, MemberSnap, Snapshot,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const REGION: &str = "610724";

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 15).unwrap()
}

fn member() -> impl Strategy<Value = (u8, i32, bool, u8, u8, bool)> {
    (
        0u8..7,
        1950i32..2020,
        any::<bool>(),
        0u8..7,
        0u8..5,
        prop::bool::weighted(0.9),
    )
}

fn snapshot() -> impl Strategy<Value = Snapshot> {
    (
        prop::collection::vec(member(), 1..6),
        prop::collection::vec(
            (0usize..6, 0i32..14, 0u8..12, 0i64..400_000, any::<bool>()),
            0..30,
        ),
        prop::collection::vec((0i64..2_000_000, 0i32..18, 0i32..6, any::<bool>()), 0..3),
        (
            1u8..11,
            prop::collection::vec(1u8..11, 0..3),
            any::<bool>(),
            any::<bool>(),
        ),
        (
            0i64..3,
            0i64..20_000,
            0i64..2,
            any::<bool>(),
            prop::bool::weighted(0.1),
            prop::option::of(0i64..5_000_000),
        ),
    )
        .prop_map(
            |(
                members,
                incomes,
                spending,
                (main, secondary, single, disabled),
                (homes, area, cars, exempt, shareholder, accident),
            )| {
                let works = WorkStatus::ALL;
                let healths = [
                    None,
                    Some(HealthStatus::Healthy),
                    Some(HealthStatus::ChronicIllness),
                    Some(HealthStatus::SeriousIllness),
                    Some(HealthStatus::Disabled),
                ];
                let members: Vec<MemberSnap> = members
                    .into_iter()
                    .enumerate()
                    .map(
                        |(i, (rel, year, male, work, health, included))| MemberSnap {
                            id: format!("m{i}"),
                            relation: if i == 0 {
                                Relation::Worker
                            } else {
                                Relation::ALL[1 + usize::from(rel) % 6]
                            },
                            included: i == 0 || included,
                            birth_date: NaiveDate::from_ymd_opt(year, 6, 1).unwrap(),
                            sex: if male { Sex::Male } else { Sex::Female },
                            work_status: works[usize::from(work) % works.len()],
                            health: healths[usize::from(health)],
                        },
                    )
                    .collect();
                let n = members.len();
                let months: Vec<i32> = (0..14)
                    .map(|k| {
                        let m = 202510 + k; // 2025-10 .. 2026-11 (inside and just outside the window)
                        if m % 100 > 12 {
                            m + 88
                        } else {
                            m
                        }
                    })
                    .collect();
                let incomes = incomes
                    .into_iter()
                    .map(|(who, month, kind, fen, verified)| IncomeSnap {
                        member_id: if who >= n {
                            None
                        } else {
                            Some(format!("m{who}"))
                        },
                        month: months[month as usize],
                        kind: IncomeKind::ALL[usize::from(kind) % IncomeKind::ALL.len()],
                        amount_fen: fen,
                        verified,
                    })
                    .collect();
                let expenditures = spending
                    .into_iter()
                    .map(|(fen, start, len, verified)| {
                        let s = months[(start as usize).min(13)];
                        let e = months[((start + len) as usize).min(13)];
                        ExpenditureSnap {
                            kind: ExpenditureKind::Medical,
                            amount_fen: fen,
                            start_month: s,
                            end_month: e,
                            verified,
                        }
                    })
                    .collect();
                Snapshot {
                    household_id: "h".into(),
                    region_code: REGION.into(),
                    assessment_date: date(),
                    members,
                    incomes,
                    expenditures,
                    assets: AssetsSnap {
                        homes_count: homes,
                        homes_area_dm2: area,
                        vehicles_count: cars,
                        vehicle_disability_exempt: exempt,
                        controlling_shareholder: shareholder,
                        high_fee_schooling: false,
                        refuses_cooperation: false,
                    },
                    main_cause: main,
                    secondary_causes: secondary.into_iter().filter(|c| *c != main).collect(),
                    resolved_causes: Vec::new(),
                    single_parent: single,
                    disability_household: disabled,
                    accident: accident.map(|c| jiekun_domain::rules::AccidentSnap {
                        description: "事故".into(),
                        date: date(),
                        costs_fen: c,
                    }),
                    assistance: AssistanceSnap::default(),
                    verified: Vec::new(),
                }
            },
        )
}

/// Whether two income records are for the same member, month and kind.
fn same_key(a: &IncomeSnap, b: &IncomeSnap) -> bool {
    a.member_id == b.member_id && a.month == b.month && a.kind == b.kind
}

/// Whether adding `added` to `incomes` replaces figures: it is verified, and the same member,
/// month and kind has declared figures and no verified one yet.
fn replaces(incomes: &[IncomeSnap], added: &IncomeSnap) -> bool {
    added.verified
        && incomes.iter().any(|i| !i.verified && same_key(i, added))
        && !incomes.iter().any(|i| i.verified && same_key(i, added))
}

/// An income for member `who` (the household as a whole past the last member), in one of the 12
/// months the assessment looks back over.
fn income(s: &Snapshot, who: usize, month: i32, kind: u8, fen: i64, verified: bool) -> IncomeSnap {
    let m = 202511 + month;
    IncomeSnap {
        member_id: if who >= s.members.len() {
            None
        } else {
            Some(format!("m{who}"))
        },
        month: if m % 100 > 12 { m + 88 } else { m },
        kind: IncomeKind::ALL[usize::from(kind) % IncomeKind::ALL.len()],
        amount_fen: fen,
        verified,
    }
}

// A failing case is saved as a seed in tests/proptest-regressions/properties.txt (beside this
// target's folder, which holds main.rs); that file is committed, and every run replays its seeds
// before generating new cases. `PROPTEST_CASES` raises the count for a long run.
proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// An added income that replaces nothing never makes a household more eligible. (A verified
    /// figure for a member, month and kind that has only declared figures replaces them; that case
    /// has its own property below, so here such a figure is added as a declared one instead.)
    #[test]
    fn income_replacing_nothing_never_makes_more_eligible(s in snapshot(), who in 0usize..7, month in 0i32..12, kind in 0u8..12, extra in 1i64..1_000_000, verified in any::<bool>()) {
        let policy = default_book().resolve(REGION, date()).unwrap();
        let before = identify(&s, &policy);
        let mut added = income(&s, who, month, kind, extra, verified);
        if replaces(&s.incomes, &added) {
            added.verified = false;
        }
        prop_assert!(!replaces(&s.incomes, &added));
        let mut richer = s.clone();
        richer.incomes.push(added);
        let after = identify(&richer, &policy);
        prop_assert!(after.verdict.rank() <= before.verdict.rank(), "{:?} -> {:?}", before.verdict, after.verdict);
    }

    /// A verified figure replaces the declared figures for the same member, month and kind: the
    /// decision is the one made with those declared records taken out and the verified one in
    /// their place, whatever the declared amounts were. When the verified figure is not smaller
    /// than what it replaces, the household is not made more eligible.
    #[test]
    fn a_verified_figure_replaces_the_declared_ones(s in snapshot(), who in 0usize..7, month in 0i32..12, kind in 0u8..12, extra in 1i64..1_000_000, declared in 0i64..1_000_000) {
        let policy = default_book().resolve(REGION, date()).unwrap();
        let verified = income(&s, who, month, kind, extra, true);
        // The file before: declared figures only, for that member, month and kind.
        let mut before = s.clone();
        before.incomes.retain(|i| !(i.verified && same_key(i, &verified)));
        if !before.incomes.iter().any(|i| same_key(i, &verified)) {
            before.incomes.push(IncomeSnap { verified: false, amount_fen: declared, ..verified.clone() });
        }
        prop_assert!(replaces(&before.incomes, &verified));
        let replaced_fen: i64 = before.incomes.iter().filter(|i| same_key(i, &verified)).map(|i| i.amount_fen).sum();

        let mut with_verified = before.clone();
        with_verified.incomes.push(verified.clone());
        let mut in_their_place = before.clone();
        in_their_place.incomes.retain(|i| !same_key(i, &verified));
        in_their_place.incomes.push(verified.clone());

        let a = identify(&with_verified, &policy);
        let b = identify(&in_their_place, &policy);
        prop_assert_eq!(a.verdict, b.verdict);
        prop_assert_eq!(&a.tests, &b.tests);
        // Only the figures that report what was set aside differ: the replaced declared amounts
        // (or, for a kind the policy leaves out, the excluded ones).
        let counted = verified.member_id.as_ref().is_none_or(|id| s.members.iter().any(|m| &m.id == id && m.included));
        let left_out_kind = policy.excluded_income_kinds.0.contains(&verified.kind);
        let mut expected = b.figures;
        if counted && left_out_kind {
            expected.income_excluded_fen += replaced_fen;
        } else if counted {
            expected.income_replaced_fen += replaced_fen;
        }
        prop_assert_eq!(a.figures, expected);

        if extra >= replaced_fen {
            let was = identify(&before, &policy);
            prop_assert!(a.verdict.rank() <= was.verdict.rank(), "{:?} -> {:?}", was.verdict, a.verdict);
        }
    }

    /// Adding a cause that is marked resolved changes no decision.
    #[test]
    fn a_resolved_cause_changes_nothing(s in snapshot(), cause in 1u8..11) {
        // Room for one more secondary cause, and a cause the household does not have yet (the
        // first free one from `cause` on): rejecting the others would abort long runs.
        let mut s = s;
        s.secondary_causes.truncate(2);
        let taken = |c: u8| c == s.main_cause || s.secondary_causes.contains(&c);
        let cause = (0..10u8).map(|k| (cause - 1 + k) % 10 + 1).find(|c| !taken(*c)).unwrap();
        let book = default_book();
        let policy = book.resolve(REGION, date()).unwrap();
        let exit_policy = ExitPolicy::resolve(&book, REGION, date()).unwrap();
        let mut more = s.clone();
        more.secondary_causes.push(cause);
        more.resolved_causes.push(cause);
        prop_assert_eq!(identify(&s, &policy), identify(&more, &policy));
        let (a, b) = (assess_exit(&s, &exit_policy), assess_exit(&more, &exit_policy));
        prop_assert_eq!(a.verdict, b.verdict);
        prop_assert_eq!(a.unresolved_causes, b.unresolved_causes);
    }

    /// A decision is the same after its snapshot makes a JSON round trip (what replay relies on).
    #[test]
    fn decisions_survive_a_json_round_trip(s in snapshot()) {
        let book = default_book();
        let policy = book.resolve(REGION, date()).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let back: Snapshot = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &s);
        prop_assert_eq!(identify(&s, &policy), identify(&back, &policy));
        let exit_policy = ExitPolicy::resolve(&book, REGION, date()).unwrap();
        prop_assert_eq!(assess_exit(&s, &exit_policy), assess_exit(&back, &exit_policy));
    }
}
