//! Table tests of information sharing's rules.

use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn fact(domain: DataDomain) -> Fact {
    Fact {
        member_id: "m1".into(),
        domain: Some(domain),
        as_of: Some(d("2026-11-30")),
        ..Fact::default()
    }
}

fn codes(f: &Fact) -> Vec<(&'static str, &'static str)> {
    f.check(d("2026-12-01"))
        .iter()
        .map(|p| (p.field, p.code))
        .collect()
}

#[test]
fn every_domain_has_its_department() {
    for domain in DataDomain::ALL {
        assert!(DataDomain::of_department(domain.department()).contains(domain));
    }
    assert_eq!(
        DataDomain::of_department(DepartmentCode::PublicSecurity),
        [DataDomain::Vehicles]
    );
    assert!(DataDomain::of_department(DepartmentCode::Charity).is_empty());
}

#[test]
fn adults_sign_for_themselves_and_guardians_for_minors() {
    let (adult, minor, on) = (d("1980-01-01"), d("2015-06-01"), d("2026-12-01"));
    assert_eq!(check_signer(adult, true, adult, on), Ok(()));
    assert_eq!(
        check_signer(adult, false, adult, on),
        Err(SignerError::AdultSignsForSelf)
    );
    assert_eq!(check_signer(minor, false, adult, on), Ok(()));
    assert_eq!(
        check_signer(minor, true, minor, on),
        Err(SignerError::GuardianNotAdult)
    );
    assert_eq!(
        check_signer(minor, false, d("2010-01-01"), on),
        Err(SignerError::GuardianNotAdult)
    );
    // Eighteen on the day of signing: an adult.
    assert!(is_adult(d("2008-12-01"), on));
    assert!(!is_adult(d("2008-12-02"), on));
}

#[test]
fn uncovered_names_each_member_and_the_missing_domains() {
    let covers = [
        Cover {
            member_id: "a",
            domains: vec![DataDomain::Vehicles, DataDomain::Tax],
        },
        Cover {
            member_id: "b",
            domains: vec![DataDomain::Vehicles],
        },
        Cover {
            member_id: "b",
            domains: vec![DataDomain::Tax],
        },
    ];
    let wanted = [DataDomain::Vehicles, DataDomain::Tax, DataDomain::Business];
    let got = uncovered(&["a", "b", "c"], &covers, &wanted);
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].domains, [DataDomain::Business]);
    assert_eq!(got[2].member_id, "c");
    assert_eq!(got[2].domains, wanted);
    assert!(uncovered(&["a"], &covers, &[DataDomain::Tax]).is_empty());
}

#[test]
fn each_domain_takes_its_own_fields() {
    let cases: Vec<(Fact, Vec<(&str, &str)>)> = vec![
        (
            Fact {
                count: Some(1),
                ..fact(DataDomain::Vehicles)
            },
            vec![],
        ),
        (fact(DataDomain::Vehicles), vec![("count", "required")]),
        (
            Fact {
                count: Some(1),
                amount_fen: Some(5),
                ..fact(DataDomain::Vehicles)
            },
            vec![("amount_fen", "not_allowed")],
        ),
        (
            Fact {
                count: Some(1),
                area_dm2: Some(8_000),
                ..fact(DataDomain::RealEstate)
            },
            vec![],
        ),
        (
            Fact {
                count: Some(0),
                area_dm2: Some(8_000),
                ..fact(DataDomain::RealEstate)
            },
            vec![("area_m2", "inconsistent")],
        ),
        (
            Fact {
                count: Some(1000),
                ..fact(DataDomain::Business)
            },
            vec![("count", "out_of_range")],
        ),
        (
            Fact {
                status: Some("retired".into()),
                month: Some(202610),
                amount_fen: Some(250_000),
                ..fact(DataDomain::SocialInsurance)
            },
            vec![],
        ),
        (
            Fact {
                status: Some("retired".into()),
                month: Some(202610),
                ..fact(DataDomain::SocialInsurance)
            },
            vec![("amount_fen", "required")],
        ),
        (
            Fact {
                status: Some("insured".into()),
                month: Some(202610),
                amount_fen: Some(1),
                ..fact(DataDomain::SocialInsurance)
            },
            vec![("amount_fen", "not_allowed")],
        ),
        (
            Fact {
                status: Some("pensioner".into()),
                ..fact(DataDomain::SocialInsurance)
            },
            vec![("status", "invalid_value")],
        ),
        (
            Fact {
                status: Some("none".into()),
                ..fact(DataDomain::SocialAssistance)
            },
            vec![],
        ),
        (
            Fact {
                month: Some(202612),
                amount_fen: Some(1),
                ..fact(DataDomain::Tax)
            },
            vec![("month", "after_as_of")],
        ),
        (
            Fact {
                month: Some(202613),
                amount_fen: Some(1),
                ..fact(DataDomain::Tax)
            },
            vec![("month", "invalid")],
        ),
        (
            Fact {
                month: Some(202611),
                amount_fen: Some(-1),
                ..fact(DataDomain::Tax)
            },
            vec![("amount_fen", "out_of_range")],
        ),
        (
            Fact {
                domain: None,
                ..Fact::default()
            },
            vec![("as_of", "required"), ("domain", "required")],
        ),
        (
            Fact {
                as_of: Some(d("2026-12-02")),
                count: Some(0),
                ..fact(DataDomain::Vehicles)
            },
            vec![("as_of", "in_future")],
        ),
        (
            Fact {
                as_of: Some(d("1999-12-31")),
                count: Some(0),
                ..fact(DataDomain::Vehicles)
            },
            vec![("as_of", "too_early")],
        ),
    ];
    for (f, want) in cases {
        assert_eq!(codes(&f), want, "{f:?}");
    }
}

#[test]
fn monthly_amounts_are_incomes_of_their_kind() {
    let tax = Fact {
        month: Some(202610),
        amount_fen: Some(300_000),
        ..fact(DataDomain::Tax)
    };
    assert_eq!(tax.income(), Some((IncomeKind::Wage, 202610, 300_000)));
    let dibao = Fact {
        status: Some("dibao".into()),
        month: Some(202610),
        amount_fen: Some(60_000),
        ..fact(DataDomain::SocialAssistance)
    };
    assert_eq!(dibao.income(), Some((IncomeKind::Dibao, 202610, 60_000)));
    let insured = Fact {
        status: Some("insured".into()),
        ..fact(DataDomain::SocialInsurance)
    };
    assert_eq!(insured.income(), None);
    assert_eq!(
        Fact {
            count: Some(1),
            ..fact(DataDomain::Vehicles)
        }
        .income(),
        None
    );
}

fn snap(
    member: &str,
    domain: DataDomain,
    as_of: &str,
    count: i64,
    area: Option<i64>,
) -> VerifiedSnap {
    VerifiedSnap {
        task_id: "t".into(),
        source: domain.department().as_str().into(),
        member_id: member.into(),
        domain,
        as_of: d(as_of),
        count: Some(count),
        area_dm2: area,
        status: None,
    }
}

#[test]
fn verified_assets_replace_declared_ones_latest_fact_per_member() {
    let declared = AssetsSnap {
        vehicles_count: 0,
        homes_count: 1,
        homes_area_dm2: 6_000,
        ..AssetsSnap::default()
    };
    let facts = [
        snap("a", DataDomain::Vehicles, "2026-01-01", 2, None),
        snap("a", DataDomain::Vehicles, "2026-06-01", 1, None),
        snap("b", DataDomain::Vehicles, "2026-06-01", 1, None),
        snap("a", DataDomain::RealEstate, "2026-06-01", 2, Some(15_000)),
    ];
    let (assets, used) = effective_assets(&declared, &facts);
    assert_eq!(assets.vehicles_count, 2);
    assert_eq!((assets.homes_count, assets.homes_area_dm2), (2, 15_000));
    assert!(!assets.controlling_shareholder);
    assert_eq!(used.len(), 3);
    assert_eq!(used[0].facts.len(), 2);
    let (same, none) = effective_assets(&declared, &[]);
    assert_eq!((same, none.len()), (declared, 0));
}

#[test]
fn differences_name_both_figures() {
    let declared = AssetsSnap {
        vehicles_count: 0,
        ..AssetsSnap::default()
    };
    let facts = [
        snap("a", DataDomain::Vehicles, "2026-06-01", 1, None),
        snap("a", DataDomain::Business, "2026-06-01", 0, None),
    ];
    let declared_income = [DeclaredIncome {
        member_id: Some("a"),
        month: 202610,
        kind: IncomeKind::Wage,
        amount_fen: 200_000,
    }];
    let answered = [
        Fact {
            member_id: "a".into(),
            month: Some(202610),
            amount_fen: Some(250_000),
            ..fact(DataDomain::Tax)
        },
        Fact {
            member_id: "a".into(),
            month: Some(202609),
            amount_fen: Some(0),
            ..fact(DataDomain::Tax)
        },
    ];
    let got = differences(&declared, &declared_income, &facts, &answered);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        (got[0].field, got[0].declared, got[0].verified),
        (CheckedField::VehiclesCount, 0, 1)
    );
    assert_eq!(
        (got[1].field, got[1].month, got[1].declared, got[1].verified),
        (CheckedField::Income, Some(202610), 200_000, 250_000)
    );
}

#[test]
fn verified_assistance_reads_the_latest_status() {
    let mut a = snap("a", DataDomain::SocialAssistance, "2026-01-01", 0, None);
    a.status = Some("dibao".into());
    let mut b = a.clone();
    b.as_of = d("2026-06-01");
    b.status = Some("none".into());
    assert_eq!(verified_assistance(std::slice::from_ref(&a)), (true, false));
    assert_eq!(verified_assistance(&[a, b]), (false, false));
}
