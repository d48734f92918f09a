use diesel_migrations::MigrationHarness;
use jiekun_domain::{CreditCode, OrganisationKind, RegionCode, UnionType};
use jiekun_store::enterprises::{self, EnterpriseChanges, EnterpriseFilter, NewEnterprise};
use jiekun_store::organisations::{self, NewOrganisation};
use jiekun_store::{DatabaseTarget, PageRequest, Scope, StoreError};

use crate::common::TestDb;

fn region(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

fn enterprise(name: &str, body: &str) -> NewEnterprise {
    NewEnterprise {
        name: name.into(),
        credit_code: CreditCode::complete(body).unwrap(),
        region_code: region("610724"),
        difficult: false,
        address: None,
    }
}

fn write_transactions_are_all_or_nothing(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let result: Result<(), StoreError> = jiekun_store::write(&mut c, |c| {
        enterprises::create(c, &enterprise("甲", "91610724MA6YQ0001"))?;
        enterprises::create(c, &enterprise("乙", "91610724MA6YQ0002"))?;
        // The third collides with the first: the whole transaction is undone.
        enterprises::create(c, &enterprise("丙", "91610724MA6YQ0001"))?;
        Ok(())
    });
    assert!(
        matches!(
            result,
            Err(StoreError::Conflict {
                constraint: "enterprises.credit_code"
            })
        ),
        "{result:?}"
    );
    let page = enterprises::list(
        &mut c,
        &Scope::All,
        &EnterpriseFilter::default(),
        &PageRequest {
            after: None,
            limit: 10,
        },
    )
    .unwrap();
    assert!(page.items.is_empty(), "nothing half-written");
    // The connection is usable afterwards.
    enterprises::create(&mut c, &enterprise("丁", "91610724MA6YQ0003")).unwrap();
}

fn versions_guard_updates(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let row = enterprises::create(&mut c, &enterprise("甲", "91610724MA6YQ0001")).unwrap();
    let changes = EnterpriseChanges {
        difficult: Some(true),
        ..Default::default()
    };
    let v2 = enterprises::update(&mut c, &Scope::All, &row.id, 1, &changes).unwrap();
    assert_eq!(v2.version, 2);
    assert!(v2.updated_at >= row.updated_at);
    assert_eq!(
        v2.created_at, row.created_at,
        "timestamps round-trip exactly"
    );
    match enterprises::update(&mut c, &Scope::All, &row.id, 1, &changes) {
        Err(StoreError::VersionMismatch {
            expected: 1,
            actual: 2,
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        enterprises::update(&mut c, &Scope::All, "missing", 1, &changes),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        enterprises::get(&mut c, &Scope::All, "missing"),
        Err(StoreError::NotFound)
    ));
}

fn organisation_paths_follow_the_tree(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let city = organisations::create(
        &mut c,
        &Scope::All,
        &NewOrganisation {
            parent_id: None,
            kind: OrganisationKind::CityFederation,
            union_type: None,
            name: "汉中市总工会".into(),
            short_name: None,
            region_code: region("610700"),
            address: None,
        },
    )
    .unwrap();
    let county = organisations::create(
        &mut c,
        &Scope::All,
        &NewOrganisation {
            parent_id: Some(city.id.clone()),
            kind: OrganisationKind::CountyFederation,
            union_type: None,
            name: "西乡县总工会".into(),
            short_name: None,
            region_code: region("610724"),
            address: None,
        },
    )
    .unwrap();
    let union = organisations::create(
        &mut c,
        &Scope::All,
        &NewOrganisation {
            parent_id: Some(county.id.clone()),
            kind: OrganisationKind::GrassrootsUnion,
            union_type: Some(UnionType::Enterprise),
            name: "某企业工会".into(),
            short_name: None,
            region_code: region("610724"),
            address: None,
        },
    )
    .unwrap();
    assert_eq!(city.path, format!("/{}/", city.id));
    assert_eq!(
        union.path,
        format!("/{}/{}/{}/", city.id, county.id, union.id)
    );
    let dup = organisations::create(
        &mut c,
        &Scope::All,
        &NewOrganisation {
            parent_id: Some(city.id.clone()),
            kind: OrganisationKind::CountyFederation,
            union_type: None,
            name: "西乡县总工会".into(),
            short_name: None,
            region_code: region("610724"),
            address: None,
        },
    );
    assert!(
        matches!(
            dup,
            Err(organisations::CreateOrganisationError::Store(
                StoreError::Conflict {
                    constraint: "organisations.name"
                }
            ))
        ),
        "{dup:?}"
    );
}

fn like_filters_escape_wildcards(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    enterprises::create(&mut c, &enterprise("百分之百_公司", "91610724MA6YQ0001")).unwrap();
    enterprises::create(&mut c, &enterprise("普通公司", "91610724MA6YQ0002")).unwrap();
    let page = |text: &str, c: &mut jiekun_store::PooledConnection| {
        enterprises::list(
            c,
            &Scope::All,
            &EnterpriseFilter {
                name_contains: Some(text.into()),
                ..Default::default()
            },
            &PageRequest {
                after: None,
                limit: 10,
            },
        )
        .unwrap()
        .items
        .len()
    };
    assert_eq!(page("_", &mut c), 1);
    assert_eq!(page("%", &mut c), 0);
    assert_eq!(page("公司", &mut c), 2);
}

/// Every migration can be undone and applied again.
fn migrations_go_down_and_up(db: &TestDb) {
    fn cycle<C: MigrationHarness<B>, B: diesel::backend::Backend>(
        c: &mut C,
        m: fn() -> diesel_migrations::EmbeddedMigrations,
    ) {
        c.revert_all_migrations(m()).expect("down");
        assert!(!c.run_pending_migrations(m()).expect("up again").is_empty());
        assert!(!c.has_pending_migration(m()).unwrap());
    }
    match db.target() {
        DatabaseTarget::Sqlite(path) => {
            use diesel::Connection;
            let mut c = diesel::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
            cycle(&mut c, || jiekun_store::conn::SQLITE_MIGRATIONS);
        }
        DatabaseTarget::Postgres(url) => {
            use diesel::Connection;
            let mut c = diesel::PgConnection::establish(&url).unwrap();
            cycle(&mut c, || jiekun_store::conn::POSTGRES_MIGRATIONS);
        }
    }
}

/// Duplicate policy versions (one key, region prefix and start) from before the unique index are
/// reduced to the one entered last when it arrives, and every version is given its end; after
/// that the database refuses a duplicate, told as the rule it breaks.
fn policy_versions_are_made_unique(db: &TestDb) {
    use diesel::connection::SimpleConnection;
    use diesel::RunQueryDsl;
    use jiekun_store::rules::{self, ParameterRow, POLICY_VERSION};
    let insert = "INSERT INTO policy_parameters (id, key, region_prefix, effective_from, value, document, created_by, created_at) VALUES \
        ('0190-b', 'notice_days', '610724', '2030-01-01', '9', 'b', 't', '2026-12-01 00:00:00'), \
        ('0190-a', 'notice_days', '610724', '2030-01-01', '8', 'a', 't', '2026-12-01 00:00:00'), \
        ('0190-c', 'notice_days', '610724', '2030-01-01', '10', 'c', 't', '2026-12-01 00:00:00'), \
        ('0190-d', 'notice_days', '610724', '2031-01-01', '11', 'd', 't', '2026-12-01 00:00:00'), \
        ('0190-e', 'notice_days', '6107', '2030-01-01', '12', 'e', 't', '2026-12-01 00:00:00');";
    fn again<C: MigrationHarness<B> + SimpleConnection, B: diesel::backend::Backend>(
        c: &mut C,
        m: fn() -> diesel_migrations::EmbeddedMigrations,
        insert: &str,
    ) {
        // Back to before the policy versions' migration, through any that came after it.
        loop {
            let undone = c.revert_last_migration(m()).expect("down").to_string();
            if undone.ends_with("000007") {
                break;
            }
            assert!(undone.as_str() > "2026-12-04-000007", "{undone}");
        }
        c.batch_execute(insert)
            .expect("duplicates without the index");
        c.run_pending_migrations(m()).expect("up again");
    }
    match db.target() {
        DatabaseTarget::Sqlite(path) => {
            use diesel::Connection;
            let mut c = diesel::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
            again(&mut c, || jiekun_store::conn::SQLITE_MIGRATIONS, insert);
        }
        DatabaseTarget::Postgres(url) => {
            use diesel::Connection;
            let mut c = diesel::PgConnection::establish(&url).unwrap();
            again(&mut c, || jiekun_store::conn::POSTGRES_MIGRATIONS, insert);
        }
    }
    let mut c = db.pool.get().unwrap();
    let rows = rules::parameter_rows(&mut c).unwrap();
    let kept: Vec<(&str, &str, &str, Option<String>)> = rows
        .iter()
        .map(|r| {
            (
                r.id.as_str(),
                r.region_prefix.as_str(),
                r.value.as_str(),
                r.effective_to.map(|d| d.to_string()),
            )
        })
        .collect();
    assert_eq!(
        kept,
        vec![
            ("0190-c", "610724", "10", Some("2031-01-01".to_owned())),
            ("0190-e", "6107", "12", None),
            ("0190-d", "610724", "11", None),
        ]
    );
    // The database holds the rule for writes that do not go through the store's check.
    let duplicate = ParameterRow {
        id: "0190-f".into(),
        ..rows[0].clone()
    };
    let e = diesel::insert_into(jiekun_store::schema::policy_parameters::table)
        .values(&duplicate)
        .execute(&mut *c)
        .unwrap_err();
    assert!(
        matches!(StoreError::from(e), StoreError::Conflict { constraint } if constraint == POLICY_VERSION)
    );
    // The store refuses a version at the start of a built-in default too, and writes nothing.
    let default = ParameterRow {
        id: "0190-g".into(),
        key: "dibao_standard_fen".into(),
        region_prefix: "6107".into(),
        effective_from: chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
        value: "70000".into(),
        document: "x".into(),
        created_by: "t".into(),
        created_at: jiekun_store::now(),
        effective_to: None,
    };
    let caller = jiekun_store::audit::Caller::default();
    let refused = jiekun_store::write(&mut c, |c| {
        rules::add_parameter(c, &caller, &default, serde_json::json!({}))
    });
    assert!(
        matches!(refused, Err(StoreError::Conflict { constraint }) if constraint == POLICY_VERSION)
    );
    assert_eq!(rules::parameter_rows(&mut c).unwrap().len(), 3);
}

crate::on_both_backends!(TestDb:
    policy_versions_are_made_unique,
    write_transactions_are_all_or_nothing,
    versions_guard_updates,
    organisation_paths_follow_the_tree,
    like_filters_escape_wildcards,
    migrations_go_down_and_up,
);

#[test]
fn database_urls_are_checked_not_guessed() {
    assert!(matches!(
        DatabaseTarget::parse("sqlite://./jiekun.db"),
        Ok(DatabaseTarget::Sqlite(_))
    ));
    assert!(matches!(
        DatabaseTarget::parse("postgres://u@h/db"),
        Ok(DatabaseTarget::Postgres(_))
    ));
    assert!(matches!(
        DatabaseTarget::parse("postgresql://u@h/db"),
        Ok(DatabaseTarget::Postgres(_))
    ));
    for bad in [
        "postgress://u@h/db",
        "mysql://u@h/db",
        "./jiekun.db",
        "sqlite://",
        "sqlite://:memory:",
        "sqlite:///no/such/folder/j.db",
    ] {
        match DatabaseTarget::parse(bad) {
            Err(StoreError::Config(msg)) => assert!(!msg.is_empty()),
            other => panic!("{bad}: {other:?}"),
        }
    }
}
