//! The registry scans (what-if, exit candidates, return watch) read ranges of households on
//! several connections at once; what they read must be what reading one household after another
//! gives, in the same order.

use chrono::NaiveDate;
use diesel::prelude::*;
use jiekun_domain::household::Relation;
use jiekun_domain::national_id::complete;
use jiekun_domain::rules::{default_book, identify, Snapshot};
use jiekun_domain::{NationalId, OrganisationKind, RegionCode, UnionType};
use jiekun_store::households::{self as hs, HouseholdInput, IncomeInput, MemberInput};
use jiekun_store::organisations::{self, NewOrganisation};
use jiekun_store::registry::{fold_ranges, Scan};
use jiekun_store::{rules, Scope};

use crate::common::{test_cipher, TestDb};

const HOUSEHOLDS: usize = 2_500;
const STATUSES: [&str; 4] = ["draft", "filed", "monitoring", "exited"];

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

fn org(
    c: &mut jiekun_store::PooledConnection,
    parent: Option<&str>,
    kind: OrganisationKind,
    name: &str,
) -> String {
    let code = if parent.is_none() { "610700" } else { "610724" };
    organisations::create(
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
    .unwrap()
    .id
}

fn member(relation: Relation, n: usize, k: usize) -> MemberInput {
    // A distinct identity number for every member: birth dates spread over 40 years.
    let birth = NaiveDate::from_ymd_opt(
        1960 + (n % 40) as i32,
        1 + (n / 40 % 12) as u32,
        1 + (n / 480 % 28) as u32,
    )
    .unwrap();
    let id = NationalId::parse(
        &complete(&format!("610724{}{:03}", birth.format("%Y%m%d"), k)),
        date(),
    )
    .unwrap();
    MemberInput {
        relation,
        name: format!("成员{n}-{k}"),
        national_id: id.as_str().into(),
        national_id_masked: id.masked(),
        sex: id.sex().as_str().into(),
        birth_date: id.birth_date(),
        health: n
            .is_multiple_of(7)
            .then(|| r#"{"status": "serious_illness"}"#.into()),
        work_status: ["employed", "unemployed", "unable_to_work"][n % 3].into(),
        schooling_level: None,
        school: None,
        school_year: None,
        included: true,
        exclusion_reason: None,
        business_plan: false,
        residents_pension: false,
        laid_off: false,
    }
}

/// `HOUSEHOLDS` households of one union with one to three members, a year of wages of varying
/// size and every status; returns the union's path.
fn registry(db: &TestDb) -> String {
    let mut c = db.pool.get().unwrap();
    let city = org(
        &mut c,
        None,
        OrganisationKind::CityFederation,
        "汉中市总工会",
    );
    let county = org(
        &mut c,
        Some(&city),
        OrganisationKind::CountyFederation,
        "西乡县总工会",
    );
    let union = org(
        &mut c,
        Some(&county),
        OrganisationKind::GrassrootsUnion,
        "城关镇总工会",
    );
    let cipher = test_cipher();
    jiekun_store::write(&mut c, |c| {
        for n in 0..HOUSEHOLDS {
            let mut people = vec![member(Relation::Worker, n, 0)];
            for k in 1..=(n % 3) {
                people.push(member(
                    if k == 1 {
                        Relation::Spouse
                    } else {
                        Relation::Child
                    },
                    n,
                    k,
                ));
            }
            let mut wages: Vec<(Option<usize>, IncomeInput)> = (0..12)
                .map(|m| {
                    (
                        Some(0),
                        IncomeInput {
                            member_id: None,
                            // December 2025 to November 2026.
                            month: if m == 0 { 202512 } else { 202600 + m },
                            kind: if n.is_multiple_of(9) {
                                "dibao".into()
                            } else {
                                "wage".into()
                            },
                            source: "declared".into(),
                            amount_fen: (n as i64 * 7_919) % 300_000,
                            verified: n.is_multiple_of(5),
                            note: None,
                        },
                    )
                })
                .collect();
            // Income of the household as a whole (no member) and of a second member, with a
            // department as source, in some households.
            if n.is_multiple_of(6) {
                for (who, kind, source) in
                    [(None, "other", "declared"), (Some(1), "pension", "hrss")]
                {
                    if who.is_some_and(|k| k >= people.len()) {
                        continue;
                    }
                    wages.push((
                        who,
                        IncomeInput {
                            member_id: None,
                            month: 202600 + 1 + (n % 11) as i64,
                            kind: kind.into(),
                            source: source.into(),
                            amount_fen: 12_345 + n as i64,
                            verified: false,
                            note: None,
                        },
                    ));
                }
            }
            let input = HouseholdInput {
                organisation_id: union.clone(),
                region_code: "610724".into(),
                address: "城关镇".into(),
                enterprise_id: None,
                housing_type: "owned".into(),
                housing_area_dm2: Some(6_000),
                bank_name: None,
                bank_account: None,
                main_cause: (1 + n % 10) as i64,
                secondary_causes: String::new(),
                single_parent: n.is_multiple_of(11),
                disability_household: n.is_multiple_of(13),
                zero_employment: false,
                homes_count: n.is_multiple_of(4) as i64 + 1,
                homes_area_dm2: 6_000,
                vehicles_count: n.is_multiple_of(17) as i64,
                vehicle_disability_exempt: false,
                controlling_shareholder: false,
                high_fee_schooling: false,
                refuses_cooperation: false,
                legal_dispute: false,
            };
            let row = hs::create(c, &cipher, &Scope::All, &input, &people, &wages, &[]).unwrap();
            diesel::update(jiekun_store::schema::households::table.find(&row.id))
                .set(jiekun_store::schema::households::status.eq(STATUSES[n % 4]))
                .execute(c)?;
        }
        Ok::<_, jiekun_store::StoreError>(())
    })
    .unwrap();
    organisations::get(&mut c, &Scope::All, &union)
        .unwrap()
        .path
}

fn scope(path: &str) -> Scope {
    Scope::Subtree {
        path: path.into(),
        region: RegionCode::parse("610724").unwrap(),
    }
}

/// Ranges read on three threads, and on the calling thread alone, give the snapshots that one
/// household at a time gives, in id order, and so the same verdicts.
fn ranges_read_what_one_at_a_time_reads(db: &TestDb) {
    let path = registry(db);
    let cipher = test_cipher();
    let statuses = ["draft", "filed", "monitoring"];
    let mut c = db.pool.get().unwrap();
    let mut ids: Vec<String> = jiekun_store::schema::households::table
        .select(jiekun_store::schema::households::id)
        .filter(jiekun_store::schema::households::status.eq_any(statuses))
        .load(&mut c)
        .unwrap();
    ids.sort();
    assert_eq!(ids.len(), HOUSEHOLDS * 3 / 4);
    let one_by_one: Vec<Snapshot> = ids
        .iter()
        .map(|id| rules::snapshot(&mut c, &cipher, &scope(&path), id, date()).unwrap())
        .collect();
    drop(c);
    // Each snapshot holds its household's stored incomes, read here straight from the table.
    {
        use jiekun_store::schema::income_records as ir;
        let mut c = db.pool.get().unwrap();
        let mut with_household_income = 0;
        for snap in &one_by_one {
            let mut stored: Vec<(Option<String>, i64, String, i64, bool)> = ir::table
                .filter(ir::household_id.eq(&snap.household_id))
                .select((
                    ir::member_id,
                    ir::month,
                    ir::kind,
                    ir::amount_fen,
                    ir::verified.or(ir::source.ne("declared")),
                ))
                .load(&mut c)
                .unwrap();
            let mut read: Vec<(Option<String>, i64, String, i64, bool)> = snap
                .incomes
                .iter()
                .map(|i| {
                    (
                        i.member_id.clone(),
                        i64::from(i.month),
                        i.kind.as_str().to_owned(),
                        i.amount_fen,
                        i.verified,
                    )
                })
                .collect();
            stored.sort();
            read.sort();
            assert_eq!(read, stored, "incomes of {}", snap.household_id);
            with_household_income += usize::from(read.iter().any(|i| i.0.is_none()));
        }
        assert!(
            with_household_income > 0,
            "some incomes belong to no member"
        );
    }
    let policy = default_book().resolve("610724", date()).unwrap();
    let verdicts = |snaps: &[Snapshot]| -> Vec<_> {
        snaps.iter().map(|s| identify(s, &policy).verdict).collect()
    };
    let expected = verdicts(&one_by_one);
    assert!(
        expected
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
            >= 2,
        "the registry has more than one verdict"
    );
    for (workers, per_range) in [(3, 37), (0, 500), (2, 5_000)] {
        let scan = Scan {
            per_range,
            workers,
            ..Scan::new(scope(&path), &statuses, date())
        };
        let ranges = fold_ranges(&db.pool, &cipher, &scan, |batch| batch).unwrap();
        assert_eq!(ranges.len(), one_by_one.len().div_ceil(per_range));
        let read: Vec<Snapshot> = ranges.into_iter().flatten().collect();
        assert_eq!(
            read.len(),
            one_by_one.len(),
            "{workers} workers, ranges of {per_range}"
        );
        assert!(
            read == one_by_one,
            "{workers} workers, ranges of {per_range}: snapshots differ"
        );
        assert_eq!(verdicts(&read), expected);
    }
    // Another union's scope sees none of them; a department key reads no household files.
    let elsewhere = Scan::new(scope("/nowhere/"), &statuses, date());
    assert!(fold_ranges(&db.pool, &cipher, &elsewhere, |b| b)
        .unwrap()
        .is_empty());
    let key = Scan::new(
        Scope::Region(RegionCode::parse("610724").unwrap()),
        &statuses,
        date(),
    );
    assert!(fold_ranges(&db.pool, &cipher, &key, |b| b)
        .unwrap()
        .is_empty());
}

/// The bodies of the digests of `ids`, by household (`None` for an empty one).
fn digests(db: &TestDb, ids: &[String]) -> Vec<Option<String>> {
    use jiekun_store::schema::household_digests as d;
    let mut c = db.pool.get().unwrap();
    ids.iter()
        .map(|id| {
            d::table
                .find(id)
                .select(d::body)
                .first::<Option<String>>(&mut c)
                .unwrap()
        })
        .collect()
}

/// A scan stores each household's digest (encrypted); a write to a household's members, incomes
/// or expenditures (insert, update, delete) empties that household's digest and no other, and the
/// next scan reads what one household at a time reads again.
fn digests_follow_every_write(db: &TestDb) {
    use jiekun_store::schema::{expenditures as ex, household_members as m, income_records as ir};
    let path = registry(db);
    let cipher = test_cipher();
    let statuses = ["draft", "filed", "monitoring", "exited"];
    let scan = Scan {
        per_range: 300,
        workers: 2,
        ..Scan::new(scope(&path), &statuses, date())
    };
    let mut c = db.pool.get().unwrap();
    let mut ids: Vec<String> = jiekun_store::schema::households::table
        .select(jiekun_store::schema::households::id)
        .load(&mut c)
        .unwrap();
    ids.sort();
    drop(c);
    // Every household has its digest row, empty until a scan builds it.
    assert!(digests(db, &ids).iter().all(Option::is_none));
    let one_by_one = |db: &TestDb| -> Vec<Snapshot> {
        let mut c = db.pool.get().unwrap();
        ids.iter()
            .map(|id| rules::snapshot(&mut c, &cipher, &scope(&path), id, date()).unwrap())
            .collect()
    };
    let scanned = |db: &TestDb| -> Vec<Snapshot> {
        fold_ranges(&db.pool, &cipher, &scan, |b| b)
            .unwrap()
            .into_iter()
            .flatten()
            .collect()
    };
    assert!(scanned(db) == one_by_one(db));
    let stored = digests(db, &ids);
    assert!(stored.iter().all(Option::is_some), "the scan stored them");
    // Health is kept encrypted beside the rest, for the households that have any.
    {
        use jiekun_store::schema::household_digests as d;
        let mut c = db.pool.get().unwrap();
        let health: Vec<Option<String>> = d::table.select(d::health_enc).load(&mut c).unwrap();
        assert!(health.iter().flatten().count() > 100, "health on file");
        assert!(health
            .iter()
            .flatten()
            .all(|h| h.starts_with(&cipher.current_prefix()) && !h.contains("illness")));
        assert!(stored.iter().flatten().all(|b| !b.contains("illness")));
    }
    // The writes, each to a household of its own.
    let mut c = db.pool.get().unwrap();
    let h = |n: usize| ids[n * 97].clone();
    let income_of = |c: &mut jiekun_store::PooledConnection, n: usize| -> String {
        ir::table
            .filter(ir::household_id.eq(h(n)))
            .select(ir::id)
            .order(ir::id.asc())
            .first(c)
            .unwrap()
    };
    // 0: an income changed; 1: an income removed; 2: an income added (a copy, a month later).
    let id0 = income_of(&mut c, 0);
    diesel::update(ir::table.find(&id0))
        .set(ir::amount_fen.eq(ir::amount_fen + 500_000))
        .execute(&mut c)
        .unwrap();
    let id1 = income_of(&mut c, 1);
    diesel::delete(ir::table.find(&id1))
        .execute(&mut c)
        .unwrap();
    let id2 = income_of(&mut c, 2);
    diesel::sql_query(
        "INSERT INTO income_records (id, household_id, member_id, month, kind, source, \
         amount_fen, verified, note, created_at, updated_at) \
         SELECT id || 'x', household_id, member_id, 202611, kind, source, amount_fen + 1, \
         verified, note, created_at, updated_at FROM income_records WHERE id = $1",
    )
    .bind::<diesel::sql_types::Text, _>(&id2)
    .execute(&mut c)
    .unwrap();
    // 3: a member's work changed.
    diesel::update(m::table.filter(m::household_id.eq(h(3))))
        .set(m::work_status.eq("retired"))
        .execute(&mut c)
        .unwrap();
    // 4: an expenditure added, then 5: the same moved to another household, 6: one removed.
    diesel::sql_query(
        "INSERT INTO expenditures (id, household_id, member_id, kind, amount_fen, start_month, \
         end_month, description, evidence, verified, created_at, updated_at) \
         SELECT 'spent-4', id, NULL, 'medical', 2000000, 202601, 202612, NULL, NULL, true, \
         created_at, updated_at FROM households WHERE id = $1",
    )
    .bind::<diesel::sql_types::Text, _>(h(4))
    .execute(&mut c)
    .unwrap();
    drop(c);
    let changed: Vec<usize> = vec![0, 1, 2, 3, 4];
    let after = digests(db, &ids);
    for (n, body) in after.iter().enumerate() {
        let touched = changed.iter().any(|k| k * 97 == n);
        assert_eq!(body.is_none(), touched, "household {n}'s digest");
    }
    assert!(scanned(db) == one_by_one(db), "after inserts and updates");
    let mut c = db.pool.get().unwrap();
    diesel::update(ex::table.find("spent-4"))
        .set(ex::household_id.eq(h(5)))
        .execute(&mut c)
        .unwrap();
    drop(c);
    let moved = digests(db, &[h(4), h(5), h(6)]);
    assert!(moved[0].is_none() && moved[1].is_none() && moved[2].is_some());
    assert!(scanned(db) == one_by_one(db), "after a move");
    let mut c = db.pool.get().unwrap();
    diesel::delete(ex::table.find("spent-4"))
        .execute(&mut c)
        .unwrap();
    drop(c);
    assert!(digests(db, &[h(5)])[0].is_none());
    assert!(scanned(db) == one_by_one(db), "after a delete");
    // Health under another key (after a rotation) is read from the tables again, not misread.
    let mut c = db.pool.get().unwrap();
    let ill: String = {
        use jiekun_store::schema::household_digests as d;
        let ill: String = d::table
            .filter(d::health_enc.is_not_null())
            .select(d::household_id)
            .order(d::household_id.asc())
            .first(&mut c)
            .unwrap();
        diesel::update(d::table.find(&ill))
            .set(d::health_enc.eq(Some("v9:garbage")))
            .execute(&mut c)
            .unwrap();
        ill
    };
    drop(c);
    assert!(
        scanned(db) == one_by_one(db),
        "after health under another key"
    );
    let mut c = db.pool.get().unwrap();
    let health: Option<String> = jiekun_store::schema::household_digests::table
        .find(&ill)
        .select(jiekun_store::schema::household_digests::health_enc)
        .first(&mut c)
        .unwrap();
    assert!(health.is_some_and(|h| h.starts_with(&cipher.current_prefix())));
}

crate::on_both_backends!(TestDb: ranges_read_what_one_at_a_time_reads, digests_follow_every_write);
