//! Workflow records in the store on both backends: file numbers under concurrency, one open case
//! per household held by the database itself, and steps that compose into one transaction with
//! their timeline entry and audit event.

use chrono::NaiveDate;
use jiekun_domain::access::Role;
use jiekun_domain::household::Relation;
use jiekun_domain::national_id::complete;
use jiekun_domain::workflow::FilingAction;
use jiekun_domain::{NationalId, OrganisationKind, RegionCode, UnionType};
use jiekun_store::audit::Caller;
use jiekun_store::cases::{self, Actor, StepError, StepInput, When};
use jiekun_store::households::{self as hs, HouseholdInput, MemberInput};
use jiekun_store::organisations::{self, NewOrganisation};
use jiekun_store::workflows::{self as wf, ApplicationRow};
use jiekun_store::{Scope, StoreError};

use crate::common::{test_cipher, TestDb};

fn org(
    c: &mut jiekun_store::PooledConnection,
    parent: Option<&str>,
    kind: OrganisationKind,
    name: &str,
    code: &str,
) -> (String, String) {
    let row = organisations::create(
        c,
        &Scope::All,
        &NewOrganisation {
            parent_id: parent.map(Into::into),
            kind,
            union_type: (kind == OrganisationKind::GrassrootsUnion)
                .then_some(UnionType::TownStreet),
            name: name.into(),
            short_name: None,
            region_code: RegionCode::parse(code).unwrap(),
            address: None,
        },
    )
    .unwrap();
    (row.id, row.path)
}

/// A grassroots union of 西乡县 with one household; returns (union path, household id).
fn household(db: &TestDb) -> (String, String) {
    let mut c = db.pool.get().unwrap();
    let (city, _) = org(
        &mut c,
        None,
        OrganisationKind::CityFederation,
        "汉中市总工会",
        "610700",
    );
    let (county, _) = org(
        &mut c,
        Some(&city),
        OrganisationKind::CountyFederation,
        "西乡县总工会",
        "610724",
    );
    let (union, path) = org(
        &mut c,
        Some(&county),
        OrganisationKind::GrassrootsUnion,
        "城关镇总工会",
        "610724",
    );
    let id = NationalId::parse(
        &complete("61072419700101123"),
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    )
    .unwrap();
    let member = MemberInput {
        relation: Relation::Worker,
        name: "测试".into(),
        national_id: id.as_str().into(),
        national_id_masked: id.masked(),
        sex: id.sex().as_str().into(),
        birth_date: id.birth_date(),
        health: None,
        work_status: "employed".into(),
        schooling_level: None,
        school: None,
        school_year: None,
        included: true,
        exclusion_reason: None,
        business_plan: false,
        residents_pension: false,
        laid_off: false,
    };
    let input = HouseholdInput {
        organisation_id: union,
        region_code: "610724".into(),
        address: "某地".into(),
        enterprise_id: None,
        housing_type: "owned".into(),
        housing_area_dm2: None,
        bank_name: None,
        bank_account: None,
        main_cause: 3,
        secondary_causes: String::new(),
        single_parent: false,
        disability_household: false,
        zero_employment: false,
        homes_count: 0,
        homes_area_dm2: 0,
        vehicles_count: 0,
        vehicle_disability_exempt: false,
        controlling_shareholder: false,
        high_fee_schooling: false,
        refuses_cooperation: false,
        legal_dispute: false,
    };
    let row = hs::create(
        &mut c,
        &test_cipher(),
        &Scope::All,
        &input,
        &[member],
        &[],
        &[],
    )
    .unwrap();
    (path, row.id)
}

fn when() -> When {
    When {
        today: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        at: jiekun_store::now(),
    }
}

fn officer(path: &str) -> Actor {
    Actor {
        username: "officer".into(),
        roles: vec![Role::GrassrootsOfficer],
        organisation_id: String::new(),
        scope: Scope::Subtree {
            path: path.into(),
            region: RegionCode::parse("610724").unwrap(),
        },
        caller: Caller {
            actor: jiekun_store::audit::Actor {
                kind: "user",
                name: Some("officer".into()),
                ..Default::default()
            },
            ..Caller::default()
        },
    }
}

/// The audit events of `action` on `id`.
fn audited(c: &mut jiekun_store::PooledConnection, action: &str, id: &str) -> usize {
    let filter = jiekun_store::audit::EventFilter {
        action: Some(action.into()),
        resource_id: Some(id.into()),
        ..Default::default()
    };
    jiekun_store::audit::list(c, &Scope::All, &filter, None, 50)
        .unwrap()
        .0
        .len()
}

fn file_numbers_count_per_region_and_year(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let mut next = |region: &str, year: i32| {
        jiekun_store::write(&mut c, |c| wf::next_file_sequence(c, region, year)).unwrap()
    };
    assert_eq!(next("610724", 2026), 1);
    assert_eq!(next("610724", 2026), 2);
    assert_eq!(next("610724", 2027), 1);
    assert_eq!(next("610722", 2026), 1);
    assert_eq!(next("610724", 2026), 3);
}

fn concurrent_first_filings_of_a_year_get_different_numbers(db: &TestDb) {
    let barrier = std::sync::Barrier::new(4);
    let mut numbers: Vec<i64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (barrier, pool) = (&barrier, &db.pool);
                s.spawn(move || {
                    let mut c = pool.get().unwrap();
                    barrier.wait();
                    jiekun_store::write(&mut c, |c| wf::next_file_sequence(c, "610799", 2030))
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4]);
}

fn one_open_application_per_household_is_held_by_the_database(db: &TestDb) {
    let (path, hh) = household(db);
    let mut c = db.pool.get().unwrap();
    let at = jiekun_store::now();
    let row = |state: &str| ApplicationRow {
        id: jiekun_store::new_id(),
        household_id: hh.clone(),
        organisation_path: path.clone(),
        region_code: "610724".into(),
        state: state.into(),
        category: None,
        assessment_id: None,
        notice_id: None,
        previous_file_number: None,
        file_number: None,
        opened_by: "t".into(),
        state_since: at,
        version: 1,
        created_at: at,
        updated_at: at,
    };
    wf::insert_application(&mut c, &row("draft")).unwrap();
    let second = wf::insert_application(&mut c, &row("submitted"));
    assert!(
        matches!(
            second,
            Err(StoreError::Conflict {
                constraint: "applications.open"
            })
        ),
        "{second:?}"
    );
    // Closed applications do not count.
    wf::insert_application(&mut c, &row("rejected")).unwrap();
    wf::insert_application(&mut c, &row("withdrawn")).unwrap();
}

fn a_step_is_part_of_the_callers_transaction(db: &TestDb) {
    let (path, hh) = household(db);
    let mut c = db.pool.get().unwrap();
    let actor = officer(&path);
    let app = jiekun_store::write(&mut c, |c| {
        cases::open_application(c, &actor, when(), &hh, None, None)
    })
    .unwrap();
    // The step succeeds, then the caller's transaction fails: nothing of the step remains.
    let failed: Result<(), StepError> = jiekun_store::write(&mut c, |c| {
        cases::act_on_application(
            c,
            &actor,
            when(),
            &app.id,
            1,
            FilingAction::Submit,
            &StepInput::default(),
        )?;
        Err(StepError::Policy("the audit log refused".into()))
    });
    assert!(failed.is_err());
    let now = match wf::application(&mut c, &Scope::All, &app.id).unwrap() {
        wf::Located::Found(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(now.state, "draft");
    assert_eq!(now.version, 1);
    assert_eq!(
        wf::timeline(&mut c, &app.id).unwrap().len(),
        1,
        "only the opening"
    );
    // The step wrote its own audit event, and it went with the rest.
    assert_eq!(audited(&mut c, "application.open", &app.id), 1);
    assert_eq!(audited(&mut c, "application.submit", &app.id), 0);
    // A stale version is refused before anything is written.
    let stale = jiekun_store::write(&mut c, |c| {
        cases::act_on_application(
            c,
            &actor,
            when(),
            &app.id,
            7,
            FilingAction::Submit,
            &StepInput::default(),
        )
    });
    assert!(
        matches!(
            stale,
            Err(StepError::Stale {
                expected: 7,
                actual: 1
            })
        ),
        "{stale:?}"
    );
    // Outside the caller's subtree the case exists but is out of scope.
    let stranger = Actor {
        scope: Scope::Subtree {
            path: "/nowhere/".into(),
            region: RegionCode::parse("610722").unwrap(),
        },
        ..officer(&path)
    };
    let outside = jiekun_store::write(&mut c, |c| {
        cases::act_on_application(
            c,
            &stranger,
            when(),
            &app.id,
            1,
            FilingAction::Submit,
            &StepInput::default(),
        )
    });
    assert!(
        matches!(outside, Err(StepError::OutOfScope("application"))),
        "{outside:?}"
    );
}

crate::on_both_backends!(TestDb:
    file_numbers_count_per_region_and_year,
    concurrent_first_filings_of_a_year_get_different_numbers,
    one_open_application_per_household_is_held_by_the_database,
    a_step_is_part_of_the_callers_transaction,
);
