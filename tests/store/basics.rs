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

crate::on_both_backends!(TestDb:
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
