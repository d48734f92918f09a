//! The bulk loader on both backends: rows come back exactly as written (every column, NULLs
//! included), a batch is one transaction with one audit event naming its counts, the
//! connection's settings are restored after a load, and a load sets the indexes (on PostgreSQL
//! also the keys) of its tables aside and puts every one back, or keeps nothing.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::{NationalId, OrganisationKind, RegionCode, UnionType};
use jiekun_store::bulk::{self, FileNumbers, HouseholdBatch, Written};
use jiekun_store::households::{self as hs, ExpenditureRow, HouseholdRow, IncomeRow, MemberRow};
use jiekun_store::organisations::{self, NewOrganisation};
use jiekun_store::workflows::{self as wf, LifecycleRow};
use jiekun_store::{audit, DbConnection, Scope, StoreError};

use crate::common::{test_cipher, TestDb};

/// A grassroots union of 西乡县 under its county and city federations: (id, path).
fn union(c: &mut DbConnection) -> (String, String) {
    let mut parent: Option<String> = None;
    let mut made = None;
    for (kind, name, code) in [
        (OrganisationKind::CityFederation, "汉中市总工会", "610700"),
        (OrganisationKind::CountyFederation, "西乡县总工会", "610724"),
        (OrganisationKind::GrassrootsUnion, "城关镇总工会", "610724"),
    ] {
        let row = organisations::create(
            c,
            &Scope::All,
            &NewOrganisation {
                parent_id: parent.clone(),
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
        parent = Some(row.id.clone());
        made = Some((row.id, row.path));
    }
    made.unwrap()
}

fn at() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_micro_opt(8, 30, 0, 123_456)
        .unwrap()
}

/// Two households: the first with every optional field set, the second with none.
fn batch(union: &(String, String), body_a: &str, body_b: &str) -> HouseholdBatch {
    let cipher = test_cipher();
    let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let mut b = HouseholdBatch::default();
    for (i, body) in [body_a, body_b].into_iter().enumerate() {
        let full = i == 0;
        let hid = jiekun_store::new_id();
        let mid = jiekun_store::new_id();
        let id = NationalId::parse(&jiekun_domain::national_id::complete(body), today).unwrap();
        b.households.push(HouseholdRow {
            id: hid.clone(),
            file_number: full.then(|| "610724-2026-000007".into()),
            organisation_id: union.0.clone(),
            organisation_path: union.1.clone(),
            region_code: "610724".into(),
            address: "西乡县城关镇东大街1号".into(),
            enterprise_id: None,
            worker_name: "王伟".into(),
            housing_type: "owned".into(),
            housing_area_dm2: full.then_some(8_000),
            bank_name: full.then(|| "中国农业银行西乡县支行".into()),
            bank_account_enc: full.then(|| cipher.encrypt(&hs::bank_context(&hid), "6228")),
            bank_account_masked: full.then(|| "****6228".into()),
            main_cause: 6,
            secondary_causes: if full { "3,9".into() } else { String::new() },
            single_parent: full,
            disability_household: false,
            zero_employment: !full,
            homes_count: 1,
            homes_area_dm2: 8_000,
            vehicles_count: 0,
            vehicle_disability_exempt: false,
            controlling_shareholder: false,
            high_fee_schooling: full,
            refuses_cooperation: false,
            category: full.then(|| "deep".into()),
            status: if full { "filed" } else { "draft" }.into(),
            members_count: 1,
            version: 1,
            created_at: at(),
            updated_at: at(),
            resolved_causes: String::new(),
            legal_dispute: full,
        });
        b.members.push(MemberRow {
            id: mid.clone(),
            household_id: hid.clone(),
            position: 0,
            relation: "worker".into(),
            name: "王伟".into(),
            national_id_enc: cipher.encrypt(&hs::member_context(&mid), id.as_str()),
            national_id_index: cipher.blind_index(hs::ID_INDEX, id.as_str()),
            national_id_masked: id.masked(),
            sex: id.sex().as_str().into(),
            birth_date: id.birth_date(),
            health_enc: full.then(|| cipher.encrypt(&hs::health_context(&mid), "{}")),
            work_status: "employed".into(),
            schooling_level: full.then(|| "primary".into()),
            school: full.then(|| "西乡县第一中学".into()),
            school_year: full.then_some(2),
            included: true,
            exclusion_reason: full.then(|| "—".into()),
            created_at: at(),
            updated_at: at(),
            business_plan: full,
            residents_pension: false,
            laid_off: full,
        });
        for month in [202601, 202602] {
            b.incomes.push(IncomeRow {
                id: jiekun_store::new_id(),
                household_id: hid.clone(),
                member_id: full.then(|| mid.clone()),
                month,
                kind: "wage".into(),
                source: "declared".into(),
                amount_fen: 150_000,
                verified: full,
                note: full.then(|| "工资条".into()),
                created_at: at(),
                updated_at: at(),
            });
        }
        b.expenditures.push(ExpenditureRow {
            id: jiekun_store::new_id(),
            household_id: hid.clone(),
            member_id: full.then(|| mid.clone()),
            kind: "medical".into(),
            amount_fen: 2_000_000,
            start_month: 202509,
            end_month: 202602,
            description: full.then(|| "住院".into()),
            evidence: full.then(|| "票据000001".into()),
            verified: true,
            created_at: at(),
            updated_at: at(),
        });
        if full {
            b.lifecycle.push(LifecycleRow {
                household_id: hid,
                filed_on: Some(today),
                next_review_due: Some(NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()),
                exited_on: None,
                exit_grounds: None,
                monitoring_until: None,
                closed_on: None,
                previous_file_number: Some("610724-2025-000001".into()),
                updated_at: at(),
            });
        }
    }
    b.file_numbers = Some(FileNumbers {
        region: "610724".into(),
        year: 2026,
        last: 7,
    });
    b
}

fn event() -> audit::NewEvent {
    audit::NewEvent {
        actor: audit::Actor {
            kind: "system",
            name: Some("test".into()),
            ..Default::default()
        },
        action: "household.import".into(),
        resource_type: "household".into(),
        resource_id: None,
        outcome: "success",
        request_id: None,
        source_address: None,
        changes: Some(serde_json::json!({"source": "test"})),
    }
}

fn audit_events(c: &mut DbConnection) -> Vec<audit::AuditEventRow> {
    use diesel::prelude::*;
    use jiekun_store::schema::audit_events::dsl as a;
    jiekun_store::on_backend!(c, |c| a::audit_events
        .order(a::seq.asc())
        .select(audit::AuditEventRow::as_select())
        .load(c))
    .unwrap()
}

fn a_batch_comes_back_as_written(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let u = union(&mut c);
    let b = batch(&u, "61072419800101123", "61072419810202124");
    let written = bulk::write_batch(&mut c, &b, event()).unwrap();
    assert_eq!(
        written,
        Written {
            households: 2,
            members: 2,
            incomes: 4,
            expenditures: 2,
            lifecycle: 1,
        }
    );
    for h in &b.households {
        assert_eq!(&hs::get(&mut c, &Scope::All, &h.id).unwrap(), h);
        let members = hs::members(&mut c, &h.id).unwrap();
        let expected: Vec<&MemberRow> = b
            .members
            .iter()
            .filter(|m| m.household_id == h.id)
            .collect();
        assert_eq!(members.iter().collect::<Vec<_>>(), expected);
    }
    let mut incomes = Vec::new();
    let mut expenditures = Vec::new();
    for h in &b.households {
        incomes.extend(hs::incomes(&mut c, &h.id, None, None, None).unwrap());
        expenditures.extend(hs::expenditure_items(&mut c, &h.id).unwrap());
    }
    incomes.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = b.incomes.clone();
    want.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(incomes, want);
    expenditures.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = b.expenditures.clone();
    want.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(expenditures, want);
    assert_eq!(
        wf::lifecycle(&mut c, &b.households[0].id).unwrap().as_ref(),
        b.lifecycle.first()
    );
    assert_eq!(wf::lifecycle(&mut c, &b.households[1].id).unwrap(), None);
    // The members are active persons: found by identity number, and the workflow's next file
    // number follows the batch's.
    let found = hs::find_by_national_id(
        &mut c,
        &test_cipher(),
        &Scope::All,
        &b.members[1].national_id_masked,
    )
    .unwrap();
    assert!(found.is_empty(), "looked up by the number, not its mask");
    let number = NationalId::parse(
        &jiekun_domain::national_id::complete("61072419810202124"),
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
    )
    .unwrap();
    let found =
        hs::find_by_national_id(&mut c, &test_cipher(), &Scope::All, number.as_str()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, b.households[1].id);
    let next = jiekun_store::write(&mut c, |c| wf::next_file_sequence(c, "610724", 2026)).unwrap();
    assert_eq!(next, 8);
    // One audit event for the batch, naming its counts beside the caller's own details, and the
    // chain holds.
    let events = audit_events(&mut c);
    let last = events.last().unwrap();
    assert_eq!(last.action, "household.import");
    let changes: serde_json::Value =
        serde_json::from_str(last.changes.as_deref().unwrap()).unwrap();
    assert_eq!(changes["source"], "test");
    assert_eq!(changes["households"], 2);
    assert_eq!(changes["members"], 2);
    assert_eq!(changes["income_records"], 4);
    assert_eq!(changes["expenditures"], 2);
    assert_eq!(changes["lifecycle"], 1);
    let verified = audit::verify(&mut c).unwrap();
    assert!(verified.first_broken.is_none(), "{verified:?}");
}

/// `pairs` × 2 households of [`batch`], the persons' identity numbers and the file numbers
/// counted from `from`.
fn many(union: &(String, String), from: u32, pairs: u32) -> HouseholdBatch {
    let mut all = HouseholdBatch::default();
    // The 17 digits before the check character: region, birth date in January 1980, sequence.
    let body = |k: u32| format!("61072419800{}{:03}", 101 + k / 1_000, k % 1_000);
    for i in 0..pairs {
        let n = from + 2 * i;
        let mut b = batch(union, &body(n), &body(n + 1));
        b.households[0].file_number = Some(format!("610724-2026-{:06}", n + 1));
        all.households.extend(b.households);
        all.members.extend(b.members);
        all.incomes.extend(b.incomes);
        all.expenditures.extend(b.expenditures);
        all.lifecycle.extend(b.lifecycle);
    }
    all.file_numbers = Some(FileNumbers {
        region: "610724".into(),
        year: 2026,
        last: i64::from(from + 2 * pairs),
    });
    all
}

/// Batches larger than one statement: SQLite writes them in statements of a fixed number of rows,
/// prepared once and used again by the next batch, and a shorter last one; every row comes back.
fn large_batches_come_back_as_written(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let u = union(&mut c);
    // 1,202 households, 2,404 income records: whole statements and a remainder of each.
    let (first, second) = (many(&u, 0, 601), many(&u, 2_000, 601));
    for b in [&first, &second] {
        let written = bulk::write_batch(&mut c, b, event()).unwrap();
        assert_eq!(written.households, 1_202);
        assert_eq!(written.incomes, 2_404);
    }
    for b in [&first, &second] {
        for h in &b.households {
            assert_eq!(&hs::get(&mut c, &Scope::All, &h.id).unwrap(), h);
        }
        for m in &b.members {
            let stored = hs::members(&mut c, &m.household_id).unwrap();
            assert_eq!(stored, vec![m.clone()]);
        }
    }
    let mut incomes = Vec::new();
    for h in first.households.iter().chain(&second.households) {
        incomes.extend(hs::incomes(&mut c, &h.id, None, None, None).unwrap());
    }
    incomes.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want: Vec<IncomeRow> = first
        .incomes
        .iter()
        .chain(&second.incomes)
        .cloned()
        .collect();
    want.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(incomes, want);
}

/// A load's batches share its one transaction: once a batch fails, later ones are refused, and the
/// load keeps nothing even when its closure swallows the failure and returns `Ok`.
fn a_load_that_goes_on_after_a_failed_batch_keeps_nothing(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let u = union(&mut c);
    let good = batch(&u, "61072419800101123", "61072419810202124");
    let mut bad = batch(&u, "61072419900303125", "61072419910404126");
    // Refused by the table's CHECK constraint, which a load keeps on both backends.
    bad.incomes[1].amount_fen = -1;
    let events_before = audit_events(&mut c).len();
    let out: Result<(), StoreError> = bulk::loading(&mut c, |l| {
        let refused = l.write(&bad, event());
        assert!(refused.is_err(), "{refused:?}");
        let after = l.write(&good, event());
        assert!(after.is_err(), "{after:?}");
        Ok(())
    });
    assert!(out.is_err(), "{out:?}");
    for h in good.households.iter().chain(&bad.households) {
        assert!(matches!(
            hs::get(&mut c, &Scope::All, &h.id),
            Err(StoreError::NotFound)
        ));
    }
    assert_eq!(audit_events(&mut c).len(), events_before);
    // The connection is usable afterwards: the good batch goes in on its own.
    bulk::write_batch(&mut c, &good, event()).unwrap();
    assert!(hs::get(&mut c, &Scope::All, &good.households[0].id).is_ok());
}

fn a_refused_batch_writes_nothing(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let u = union(&mut c);
    let first = batch(&u, "61072419800101123", "61072419810202124");
    bulk::write_batch(&mut c, &first, event()).unwrap();
    let events_before = audit_events(&mut c).len();
    // The second batch's first person is already active in a household of the first.
    let second = batch(&u, "61072419900303125", "61072419810202124");
    let refused = bulk::write_batch(&mut c, &second, event());
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    for h in &second.households {
        assert!(matches!(
            hs::get(&mut c, &Scope::All, &h.id),
            Err(StoreError::NotFound)
        ));
    }
    assert_eq!(audit_events(&mut c).len(), events_before);
    // The connection is usable afterwards, and the first batch is still there.
    for h in &first.households {
        assert!(hs::get(&mut c, &Scope::All, &h.id).is_ok());
    }
}

fn loading_restores_the_connection_settings(db: &TestDb) {
    use diesel::prelude::*;
    let mut c = db.pool.get().unwrap();
    let cache = |c: &mut DbConnection| match c {
        DbConnection::Sqlite(s) => Some(
            diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "(SELECT cache_size FROM pragma_cache_size())",
            ))
            .get_result::<i64>(s)
            .unwrap(),
        ),
        DbConnection::Postgres(_) => None,
    };
    let before = cache(&mut c);
    let during = bulk::loading(&mut c, |l| Ok::<_, StoreError>(cache(l.connection()))).unwrap();
    if before.is_some() {
        assert_ne!(during, before, "a larger cache while loading");
    }
    assert_eq!(cache(&mut c), before);
    // Also when the load fails.
    let failed: Result<(), StoreError> = bulk::loading(&mut c, |_| Err(StoreError::NotFound));
    assert!(failed.is_err());
    assert_eq!(cache(&mut c), before);
}

#[derive(diesel::QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Definition {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    definition: String,
}

/// The foreign keys and indexes of the tables a load fills, with their definitions.
fn keys_and_indexes(c: &mut DbConnection) -> Vec<Definition> {
    use diesel::prelude::*;
    let tables = bulk::keys::SET_ASIDE.join(",");
    let mut out: Vec<Definition> = match c {
        DbConnection::Postgres(_) => {
            let mut keys: Vec<Definition> = diesel::sql_query(
                "SELECT k.conname::text AS name, pg_get_constraintdef(k.oid) AS definition \
                 FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 WHERE n.nspname = current_schema() AND t.relname = ANY(string_to_array($1, ','))",
            )
            .bind::<diesel::sql_types::Text, _>(&tables)
            .load(c)
            .unwrap();
            keys.extend(
                diesel::sql_query(
                    "SELECT indexname::text AS name, indexdef AS definition FROM pg_indexes \
                     WHERE schemaname = current_schema() \
                       AND tablename = ANY(string_to_array($1, ','))",
                )
                .bind::<diesel::sql_types::Text, _>(&tables)
                .load::<Definition>(c)
                .unwrap(),
            );
            keys
        }
        DbConnection::Sqlite(_) => diesel::sql_query(
            "SELECT name, coalesce(sql, '') AS definition FROM sqlite_master \
             WHERE tbl_name IN (SELECT value FROM json_each('[\"' || replace($1, ',', '\",\"') || '\"]'))",
        )
        .bind::<diesel::sql_types::Text, _>(&tables)
        .load(c)
        .unwrap(),
    };
    out.sort();
    out
}

fn a_load_puts_back_every_key_and_index(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let u = union(&mut c);
    let before = keys_and_indexes(&mut c);
    let postgres = matches!(*c, DbConnection::Postgres(_));
    assert!(
        before.iter().any(|d| d.name
            == if postgres {
                "income_records_household_idx"
            } else {
                "income_records_id_key"
            }),
        "{before:?}"
    );
    if postgres {
        assert!(before.len() > 20, "{before:?}");
    }

    // A load of two batches: every row in, every key and index back as it was.
    let numbered = |body_a: &str, body_b: &str, n: u32| {
        let mut b = batch(&u, body_a, body_b);
        b.households[0].file_number = Some(format!("610724-2026-{n:06}"));
        b
    };
    let (first, second) = (
        numbered("61072419800101123", "61072419810202124", 11),
        numbered("61072419900303125", "61072419910404126", 12),
    );
    let triggers_before = triggers(&mut c);
    assert!(
        triggers_before
            .iter()
            .any(|t| t.0.starts_with("household_digest_")),
        "{triggers_before:?}"
    );
    let (during, triggers_during) = bulk::loading(&mut c, |l| -> Result<_, StoreError> {
        l.write(&first, event())?;
        l.write(&second, event())?;
        Ok((keys_and_indexes(l.connection()), triggers(l.connection())))
    })
    .unwrap();
    // The digest triggers are off (PostgreSQL) or gone (SQLite) while loading, and back after.
    assert!(
        triggers_during
            .iter()
            .filter(|t| t.0.starts_with("household_digest_"))
            .all(|t| t.1 == "D"),
        "{triggers_during:?}"
    );
    assert_eq!(triggers(&mut c), triggers_before);
    assert!(
        !during
            .iter()
            .any(|d| d.name == "income_records_member_id_fkey"
                || d.name == "income_records_household_idx"
                || d.name == "household_members_index_idx"
                || d.name == "households_status_idx"),
        "set aside while loading: {during:?}"
    );
    if postgres {
        // Primary and unique keys no foreign key refers to are set aside on PostgreSQL and built
        // again at the end; those others refer to stay.
        for gone in [
            "households_file_number_key",
            "income_records_pkey",
            "active_persons_pkey",
        ] {
            assert!(!during.iter().any(|d| d.name == gone), "{gone}: {during:?}");
        }
        for kept in ["households_pkey", "household_members_pkey"] {
            assert!(during.iter().any(|d| d.name == kept), "{kept}: {during:?}");
        }
    } else {
        // SQLite's unique indexes stay: they refuse rows as they come.
        assert!(
            during
                .iter()
                .any(|d| d.name == "households_file_number_key"),
            "{during:?}"
        );
    }
    assert_eq!(keys_and_indexes(&mut c), before);
    for h in first.households.iter().chain(&second.households) {
        assert!(hs::get(&mut c, &Scope::All, &h.id).is_ok());
        // The register's history has the household once, whether its trigger wrote it (SQLite)
        // or the load did, in one statement (PostgreSQL).
        let rows: i64 = jiekun_store::schema::household_history::table
            .filter(jiekun_store::schema::household_history::household_id.eq(&h.id))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(rows, 1, "history of {}", h.id);
        // And an empty digest, for the first registry scan to build.
        let digest: Option<String> = jiekun_store::schema::household_digests::table
            .find(&h.id)
            .select(jiekun_store::schema::household_digests::body)
            .first(&mut *c)
            .unwrap();
        assert!(digest.is_none());
    }
    // A batch adding to a household stored before it empties that household's digest.
    {
        use jiekun_store::schema::household_digests as d;
        let h = &first.households[0].id;
        diesel::update(d::table.find(h))
            .set(d::body.eq(Some("stored")))
            .execute(&mut *c)
            .unwrap();
        let mut more = first.incomes[0].clone();
        more.id = jiekun_store::new_id();
        more.month = 202612;
        let adding = HouseholdBatch {
            incomes: vec![more],
            ..HouseholdBatch::default()
        };
        bulk::loading(&mut c, |l| l.write(&adding, event())).unwrap();
        let (body, gen): (Option<String>, i64) = d::table
            .find(h)
            .select((d::body, d::gen))
            .first(&mut *c)
            .unwrap();
        assert!(body.is_none() && gen > 0, "{body:?} {gen}");
    }
    if postgres {
        let trigger: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
            "(SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'household_history_insert' \
              AND tgrelid = 'households'::regclass)",
        ))
        .get_result(&mut *c)
        .unwrap();
        assert_eq!(
            trigger, "O",
            "the history trigger is on again after the load"
        );
    }

    // Rows that break a key: the load fails, nothing of it is kept, and the keys are back.
    let mut broken = numbered("61072419750505127", "61072419760606128", 13);
    broken.incomes[0].member_id = Some(jiekun_store::new_id());
    let failed = bulk::loading(&mut c, |l| l.write(&broken, event()));
    assert!(failed.is_err(), "an income of nobody");
    for h in &broken.households {
        assert!(matches!(
            hs::get(&mut c, &Scope::All, &h.id),
            Err(StoreError::NotFound)
        ));
    }
    assert_eq!(keys_and_indexes(&mut c), before);

    // Rows that repeat a unique key (two batches with the same income record, which
    // PostgreSQL finds when the key is built again at the end): the load fails, nothing of it
    // is kept, and the keys are back.
    let (once, mut again) = (
        numbered("61072419720909121", "61072419731010122", 15),
        numbered("61072419741111123", "61072419751212124", 16),
    );
    again.incomes[0].id = once.incomes[0].id.clone();
    let failed = bulk::loading(&mut c, |l| -> Result<(), StoreError> {
        l.write(&once, event())?;
        l.write(&again, event())?;
        Ok(())
    });
    assert!(failed.is_err(), "an income record twice");
    for h in once.households.iter().chain(&again.households) {
        assert!(matches!(
            hs::get(&mut c, &Scope::All, &h.id),
            Err(StoreError::NotFound)
        ));
    }
    assert_eq!(keys_and_indexes(&mut c), before);
    if postgres {
        let digest_key: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT COUNT(*) FROM pg_constraint \
              WHERE conname = 'household_digests_household_id_fkey' \
              AND conrelid = 'household_digests'::regclass)",
        ))
        .get_result(&mut *c)
        .unwrap();
        assert_eq!(digest_key, 1, "the digests' foreign key is back");
    }

    // A load that fails after a batch: the whole load is one transaction, so the batch goes too.
    let third = numbered("61072419700707129", "61072419710808120", 14);
    let failed: Result<(), StoreError> = bulk::loading(&mut c, |l| {
        l.write(&third, event())?;
        Err(StoreError::NotFound)
    });
    assert!(failed.is_err());
    for h in &third.households {
        assert!(matches!(
            hs::get(&mut c, &Scope::All, &h.id),
            Err(StoreError::NotFound)
        ));
    }
    assert_eq!(keys_and_indexes(&mut c), before);
}

/// A batch that carries its households' digests writes them with its rows; they are what a
/// digest built from the tables afterwards is, and a scan reads from them what one household at
/// a time reads from the tables.
fn a_batch_writes_its_digests(db: &TestDb) {
    use jiekun_store::rules::digest;
    use jiekun_store::schema::household_digests as d;
    let cipher = test_cipher();
    let mut c = db.pool.get().unwrap();
    let u = union(&mut c);
    let mut b = batch(&u, "61072419800101123", "61072419810202124");
    let ill = &mut b.members[0];
    ill.health_enc = Some(cipher.encrypt(
        &hs::health_context(&ill.id),
        r#"{"status": "disabled", "disability_type": "physical", "disability_grade": 2}"#,
    ));
    b.digests = digest::of_batch(&cipher, &b).unwrap();
    assert_eq!(b.digests.len(), b.households.len());
    bulk::loading(&mut c, |l| l.write(&b, event())).unwrap();
    type Stored = (String, Option<String>, Option<String>);
    let read = |c: &mut DbConnection| -> Vec<Stored> {
        d::table
            .select((d::household_id, d::body, d::health_enc))
            .order(d::household_id.asc())
            .load(c)
            .unwrap()
    };
    let written = read(&mut c);
    assert_eq!(written.len(), 2);
    assert!(written.iter().all(|w| w.1.is_some()), "{written:?}");
    let health = |w: &[Stored]| -> Vec<Option<String>> {
        w.iter()
            .map(|(id, _, h)| {
                h.as_ref()
                    .map(|h| cipher.decrypt(&digest::health_context_of(id), h).unwrap())
            })
            .collect()
    };
    assert!(health(&written).iter().flatten().any(|h| h == "disabled"));
    // Emptied and built again from the tables: the same digests.
    diesel::update(d::table)
        .set((d::body.eq(None::<String>), d::health_enc.eq(None::<String>)))
        .execute(&mut *c)
        .unwrap();
    assert_eq!(
        jiekun_store::registry::refresh_digests(&mut c, &cipher).unwrap(),
        2
    );
    let rebuilt = read(&mut c);
    let bodies = |w: &[Stored]| -> Vec<Option<String>> { w.iter().map(|x| x.1.clone()).collect() };
    assert_eq!(bodies(&rebuilt), bodies(&written));
    assert_eq!(health(&rebuilt), health(&written));
    assert_eq!(
        jiekun_store::registry::refresh_digests(&mut c, &cipher).unwrap(),
        0,
        "nothing left to build"
    );
    // Outside a load the households' trigger writes an empty digest first: the batch's own
    // digests are written over it.
    let mut other = batch(&u, "61072419900303125", "61072419910404126");
    other.households[0].file_number = None;
    other.file_numbers = None;
    other.digests = digest::of_batch(&cipher, &other).unwrap();
    bulk::write_batch(&mut c, &other, event()).unwrap();
    let written = read(&mut c);
    assert_eq!(written.len(), 4);
    assert!(written.iter().all(|w| w.1.is_some()), "{written:?}");
}

/// The triggers of the schema by name, with their table and definition (SQLite) or whether they
/// are on (PostgreSQL: `O` on, `D` off); a trigger SQLite does not have is reported off.
fn triggers(c: &mut DbConnection) -> Vec<(String, String)> {
    #[derive(QueryableByName, Debug)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        state: String,
    }
    let q = match c {
        DbConnection::Postgres(_) => {
            "SELECT t.tgname || ' on ' || r.relname AS name, t.tgenabled::text AS state \
             FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid \
             JOIN pg_namespace n ON n.oid = r.relnamespace \
             WHERE NOT t.tgisinternal AND n.nspname = current_schema() ORDER BY 1"
        }
        DbConnection::Sqlite(_) => {
            "SELECT name, 'O' AS state FROM sqlite_master WHERE type = 'trigger' ORDER BY 1"
        }
    };
    let found: Vec<T> = diesel::sql_query(q).load(c).unwrap();
    let mut out: Vec<(String, String)> = found.into_iter().map(|t| (t.name, t.state)).collect();
    if matches!(c, DbConnection::Sqlite(_))
        && !out.iter().any(|t| t.0.starts_with("household_digest_"))
    {
        out.push(("household_digest_ (dropped)".into(), "D".into()));
    }
    out
}

/// The SQLite settings a load changes: page cache, journal mode, synchronous, foreign keys and
/// helper threads.
fn sqlite_settings(c: &mut DbConnection) -> (i64, String, i64, bool, i64) {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Bool, Text};
    diesel::select((
        sql::<BigInt>("(SELECT cache_size FROM pragma_cache_size())"),
        sql::<Text>("(SELECT journal_mode FROM pragma_journal_mode())"),
        sql::<BigInt>("(SELECT synchronous FROM pragma_synchronous())"),
        sql::<Bool>("(SELECT foreign_keys FROM pragma_foreign_keys())"),
        sql::<BigInt>("(SELECT threads FROM pragma_threads())"),
    ))
    .get_result(c)
    .unwrap()
}

/// The database's only connection loads through a rollback journal synced in full (new pages
/// written once, not into the log and back), and the log is back afterwards, also when the load
/// fails.
#[test]
fn a_lone_sqlite_connection_loads_through_a_rollback_journal() {
    use jiekun_store::conn::{DatabaseTarget, Pool, PoolOptions};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("lone.db").display());
    let target = DatabaseTarget::parse(&url).unwrap();
    target.migrate().unwrap();
    let pool = Pool::open_lazy(target, &PoolOptions::default());
    let mut c = pool.get().unwrap();
    let before = sqlite_settings(&mut c);
    assert_eq!(before.1, "wal", "{before:?}");
    let u = union(&mut c);
    let first = batch(&u, "61072419800101123", "61072419810202124");
    let during = bulk::loading(&mut c, |l| -> Result<_, StoreError> {
        l.write(&first, event())?;
        Ok(sqlite_settings(l.connection()))
    })
    .unwrap();
    assert_eq!(during, (-262_144, "delete".to_owned(), 2, false, 2));
    assert!(
        before.3,
        "the foreign keys are on outside a load: {before:?}"
    );
    assert_eq!(sqlite_settings(&mut c), before);
    for h in &first.households {
        assert!(hs::get(&mut c, &Scope::All, &h.id).is_ok());
    }
    let failed: Result<(), StoreError> = bulk::loading(&mut c, |l| {
        assert_eq!(sqlite_settings(l.connection()).1, "delete");
        Err(StoreError::NotFound)
    });
    assert!(failed.is_err());
    assert_eq!(sqlite_settings(&mut c), before);
    // Another connection opens the database as usual, with the log.
    drop(c);
    let other = Pool::open(&url, &PoolOptions::default()).unwrap();
    assert_eq!(sqlite_settings(&mut other.get().unwrap()).1, "wal");
}

/// The foreign keys of the tables a load writes, as `(table, column, parent table)`.
fn foreign_keys(c: &mut DbConnection) -> Vec<(String, String, String)> {
    #[derive(QueryableByName)]
    struct Key {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        parent: String,
    }
    let mut tables: Vec<&str> = bulk::keys::SET_ASIDE.to_vec();
    tables.extend(bulk::keys::FOREIGN_KEYS_ASIDE);
    let tables = tables.join(",");
    let keys: Vec<Key> = match c {
        DbConnection::Postgres(_) => diesel::sql_query(
            "SELECT t.relname::text AS table_name, a.attname::text AS column_name, \
                    p.relname::text AS parent \
             FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid \
             JOIN pg_class p ON p.oid = k.confrelid \
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey) \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE k.contype = 'f' AND n.nspname = current_schema() \
               AND t.relname = ANY(string_to_array($1, ','))",
        ),
        DbConnection::Sqlite(_) => diesel::sql_query(
            "SELECT t.value AS table_name, k.\"from\" AS column_name, k.\"table\" AS parent \
             FROM json_each('[\"' || replace($1, ',', '\",\"') || '\"]') t, \
                  pragma_foreign_key_list(t.value) k",
        ),
    }
    .bind::<diesel::sql_types::Text, _>(&tables)
    .load(c)
    .unwrap();
    let mut out: Vec<_> = keys
        .into_iter()
        .map(|k| (k.table_name, k.column_name, k.parent))
        .collect();
    out.sort();
    out
}

/// A load on SQLite runs with the database's foreign keys off and checks them itself: the list it
/// checks is every foreign key of the tables it writes, and a batch that breaks any one of them
/// fails the load and keeps nothing, while rows pointing at parents stored before the load go in.
fn a_load_checks_every_foreign_key(db: &TestDb) {
    let mut c = db.pool.get().unwrap();
    let mut checked: Vec<(String, String, String)> = bulk::parents::KEYS
        .iter()
        .map(|(t, col, p)| ((*t).to_owned(), (*col).to_owned(), (*p).to_owned()))
        .collect();
    checked.sort();
    assert_eq!(foreign_keys(&mut c), checked);

    let u = union(&mut c);
    let stored = batch(&u, "61072419800101123", "61072419810202124");
    bulk::write_batch(&mut c, &stored, event()).unwrap();
    let fresh = || {
        let mut b = batch(&u, "61072419900303125", "61072419910404126");
        b.file_numbers = None;
        b.households[0].file_number = None;
        b.digests = jiekun_store::rules::digest::of_batch(&test_cipher(), &b).unwrap();
        b
    };
    let nobody = jiekun_store::new_id;
    type Break = Box<dyn Fn(&mut HouseholdBatch)>;
    let breaks: Vec<(&str, Break)> = vec![
        (
            "households.organisation_id",
            Box::new(move |b| b.households[0].organisation_id = nobody()),
        ),
        (
            "households.enterprise_id",
            Box::new(move |b| b.households[1].enterprise_id = Some(nobody())),
        ),
        (
            "household_members.household_id",
            Box::new(move |b| b.members[1].household_id = nobody()),
        ),
        (
            "income_records.household_id",
            Box::new(move |b| b.incomes[3].household_id = nobody()),
        ),
        (
            "income_records.member_id",
            Box::new(move |b| b.incomes[0].member_id = Some(nobody())),
        ),
        (
            "expenditures.household_id",
            Box::new(move |b| b.expenditures[1].household_id = nobody()),
        ),
        (
            "expenditures.member_id",
            Box::new(move |b| b.expenditures[0].member_id = Some(nobody())),
        ),
        (
            "household_lifecycle.household_id",
            Box::new(move |b| b.lifecycle[0].household_id = nobody()),
        ),
        (
            "household_digests.household_id",
            Box::new(move |b| b.digests[1].household_id = nobody()),
        ),
    ];
    // `active_persons.household_id` is the member's own household.
    assert_eq!(breaks.len() + 1, checked.len());
    let events = audit_events(&mut c).len();
    for (key, break_it) in &breaks {
        let mut b = fresh();
        break_it(&mut b);
        let failed = bulk::loading(&mut c, |l| l.write(&b, event()));
        assert!(failed.is_err(), "{key}: {failed:?}");
        for h in &b.households {
            assert!(
                matches!(
                    hs::get(&mut c, &Scope::All, &h.id),
                    Err(StoreError::NotFound)
                ),
                "{key}: nothing kept"
            );
        }
        assert_eq!(audit_events(&mut c).len(), events, "{key}");
    }

    // Rows of a later batch pointing at households and members stored before the load.
    let mut adding = fresh();
    adding.incomes[0].household_id = stored.households[0].id.clone();
    adding.incomes[0].member_id = Some(stored.members[0].id.clone());
    adding.expenditures[1].household_id = stored.households[1].id.clone();
    bulk::loading(&mut c, |l| l.write(&adding, event())).unwrap();
    let incomes = hs::incomes(&mut c, &stored.households[0].id, None, None, None).unwrap();
    assert!(incomes.iter().any(|i| i.id == adding.incomes[0].id));
    // The database's own keys are on again after the loads.
    if let DbConnection::Sqlite(_) = *c {
        assert!(sqlite_settings(&mut c).3);
    }
}

crate::on_both_backends!(TestDb:
    a_load_checks_every_foreign_key,
    a_batch_comes_back_as_written,
    large_batches_come_back_as_written,
    a_refused_batch_writes_nothing,
    a_load_that_goes_on_after_a_failed_batch_keeps_nothing,
    loading_restores_the_connection_settings,
    a_load_puts_back_every_key_and_index,
    a_batch_writes_its_digests,
);
