//! Invariants of the rules over generated households.

use chrono::NaiveDate;
use jiekun_domain::household::{ExpenditureKind, HealthStatus, IncomeKind, Relation, WorkStatus};
use jiekun_domain::national_id::Sex;
use jiekun_domain::rules::{
    assess_exit, default_book, identify, AssetsSnap, AssistanceSnap, ExitPolicy, ExpenditureSnap,
    IncomeSnap, MemberSnap, Snapshot,
};
use proptest::prelude::*;

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
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// More income never makes a household more eligible.
    #[test]
    fn more_income_is_never_more_eligible(s in snapshot(), who in 0usize..7, month in 0i32..12, kind in 0u8..12, extra in 1i64..1_000_000, verified in any::<bool>()) {
        let policy = default_book().resolve(REGION, date()).unwrap();
        let before = identify(&s, &policy);
        let mut richer = s.clone();
        let m = 202511 + month;
        richer.incomes.push(IncomeSnap {
            member_id: if who >= s.members.len() { None } else { Some(format!("m{who}")) },
            month: if m % 100 > 12 { m + 88 } else { m },
            kind: IncomeKind::ALL[usize::from(kind) % IncomeKind::ALL.len()],
            amount_fen: extra,
            verified,
        });
        let after = identify(&richer, &policy);
        prop_assert!(after.verdict.rank() <= before.verdict.rank(), "{:?} -> {:?}", before.verdict, after.verdict);
    }

    /// Adding a cause that is marked resolved changes no decision.
    #[test]
    fn a_resolved_cause_changes_nothing(s in snapshot(), cause in 1u8..11) {
        prop_assume!(cause != s.main_cause && !s.secondary_causes.contains(&cause) && s.secondary_causes.len() < 3);
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
