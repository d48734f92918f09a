//! Import of an offline-exchange answer file (`make bench`): 100,000 rows of taxable income (12
//! months for each of 8,334 people, one task each), with the checksum, the signature, the decode,
//! every row checked, then applied with its audit event — against a raw bulk insert of the same
//! facts on the same database in the same run. SQLite always; PostgreSQL when
//! `JIEKUN_BENCH_POSTGRES_URL` names a server (a database `jiekun_bench_exchange` is made there
//! and dropped).

use std::io::Write;
use std::time::Instant;

use chrono::NaiveDate;
use diesel::prelude::*;
use jiekun_domain::organisation::OrganisationKind;
use jiekun_domain::RegionCode;
use jiekun_store::audit::{Actor, Caller};
use jiekun_store::crypto::FieldCipher;
use jiekun_store::households::{HouseholdRow, MemberRow};
use jiekun_store::measures::{Doer, Unit};
use jiekun_store::schema::{
    exchange_batch_tasks, exchange_batches, household_members, households, verification_tasks,
    verifications, verified_facts,
};
use jiekun_store::sharing::exchange::format::{decode, Charset, Format};
use jiekun_store::sharing::exchange::{self as ex, BatchRow, FileDigest, Manifest};
use jiekun_store::sharing::{FactRow, TaskRow, VerificationRow};
use jiekun_store::{DatabaseTarget, DbConnection, Pool, PoolOptions, Scope};

const MONTHS: usize = 12;

/// The system allocator, counting the bytes live on the heap and the most live since the last
/// `Heap::reset`: the import streams, so its peak must not grow with the file.
struct Heap;

static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe impl std::alloc::GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        use std::sync::atomic::Ordering::Relaxed;
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        // SAFETY: the caller's layout goes to the system allocator unchanged.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        use std::sync::atomic::Ordering::Relaxed;
        if size >= layout.size() {
            let live = LIVE.fetch_add(size - layout.size(), Relaxed) + size - layout.size();
            PEAK.fetch_max(live, Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - size, Relaxed);
        }
        // SAFETY: `ptr` came from this allocator with `layout`; the system allocator resizes it.
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
}

impl Heap {
    /// Starts a new peak at what is live now; answers that.
    fn reset() -> usize {
        let live = LIVE.load(std::sync::atomic::Ordering::Relaxed);
        PEAK.store(live, std::sync::atomic::Ordering::Relaxed);
        live
    }

    /// The most bytes live since `reset`.
    fn peak() -> usize {
        PEAK.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[global_allocator]
static HEAP: Heap = Heap;

fn people() -> usize {
    std::env::var("JIEKUN_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(100_000)
        .div_ceil(MONTHS)
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    run("SQLite", &sqlite);
    if let Ok(url) = std::env::var("JIEKUN_BENCH_POSTGRES_URL") {
        let admin = Pool::open(&url, &PoolOptions::default()).expect("postgres");
        let mut c = admin.get().expect("connection");
        let _ = diesel::sql_query("DROP DATABASE IF EXISTS jiekun_bench_exchange").execute(&mut *c);
        diesel::sql_query("CREATE DATABASE jiekun_bench_exchange")
            .execute(&mut *c)
            .expect("create database");
        let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
        run("PostgreSQL", &format!("{base}/jiekun_bench_exchange"));
        drop(admin);
        let admin = Pool::open(&url, &PoolOptions::default()).expect("postgres");
        let mut c = admin.get().expect("connection");
        let _ = diesel::sql_query("DROP DATABASE IF EXISTS jiekun_bench_exchange WITH (FORCE)")
            .execute(&mut *c);
    }
}

fn system() -> Doer {
    Doer {
        name: "bench".into(),
        role: None,
        unit: Unit::Organisation { id: String::new() },
        scope: Scope::All,
        caller: Caller {
            actor: Actor {
                kind: "system",
                name: Some("bench".into()),
                ..Actor::default()
            },
            ..Caller::default()
        },
    }
}

fn run(name: &str, url: &str) {
    DatabaseTarget::parse(url)
        .expect("url")
        .migrate()
        .expect("migrate");
    let pool = Pool::open(url, &PoolOptions::default()).expect("pool");
    let mut c = pool.get().expect("connection");
    let cipher = FieldCipher::from_key_text(&"42".repeat(32)).expect("key");
    let doer = system();
    let n = people();
    let (batch, secret, tasks) = seed(&mut c, &cipher, &doer, n);
    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let months: Vec<String> = (1..=MONTHS)
        .map(|i| {
            let m = jiekun_domain::household::Month::of(today);
            let mut m = m;
            for _ in 0..i {
                m = m.prev();
            }
            format!("{:04}-{:02}", m.year, m.month)
        })
        .collect();
    // The answer file.
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let mut w = ex::format::Writer::new(
        std::io::BufWriter::new(file.reopen().expect("reopen")),
        Format::Csv,
    )
    .expect("writer");
    let as_of = today.to_string();
    for (t, member) in &tasks {
        for m in &months {
            w.row(&[
                Some(t),
                Some("tax"),
                Some(member),
                None,
                None,
                None,
                None,
                Some(&as_of),
                None,
                None,
                None,
                Some(m),
                Some("250000"),
            ])
            .expect("row");
        }
    }
    w.finish().expect("finish").flush().expect("flush");
    let rows = (tasks.len() * MONTHS) as u64;
    let bytes = std::fs::read(file.path()).expect("read");
    let sha = ex::sha256_hex(&bytes);
    let manifest = Manifest {
        batch_id: batch.clone(),
        rows,
        sha256: sha.clone(),
        signature: ex::sign(secret.as_bytes(), &ex::signing_text(&batch, rows, &sha)),
    };

    // Baseline: the same facts, inserted raw in one transaction (then rolled back).
    let facts: Vec<FactRow> = tasks
        .iter()
        .flat_map(|(t, member)| {
            months.iter().map(move |m| FactRow {
                id: jiekun_store::new_id(),
                task_id: t.clone(),
                household_id: format!("h{}", &t[1..]),
                member_id: member.clone(),
                domain: "tax".into(),
                source: "tax".into(),
                as_of: today,
                count: None,
                area_dm2: None,
                status: None,
                month: Some(m.replace('-', "").parse().unwrap_or_default()),
                amount_fen: Some(250_000),
                set_aside: false,
                created_at: jiekun_store::now(),
            })
        })
        .collect();
    let started = Instant::now();
    let _ = jiekun_store::write(&mut c, |c| -> Result<(), diesel::result::Error> {
        jiekun_store::insert_all!(c, verified_facts::table, &facts, 14)?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    let raw = started.elapsed().as_secs_f64();

    let before = Heap::reset();
    let started = Instant::now();
    let mut digest = FileDigest::default();
    digest.update(&bytes);
    let actual = digest.hex();
    let result = jiekun_store::write(&mut c, |c| -> Result<ex::Imported, ex::ImportError> {
        let (b, _) = ex::check_manifest(c, &cipher, &doer, &manifest, &actual)?;
        let text = tempfile::NamedTempFile::new()
            .map_err(|e| ex::ImportError::File(ex::format::FileError::Io(e.to_string())))?;
        let mut out = std::io::BufWriter::new(
            text.reopen()
                .map_err(|e| ex::ImportError::File(ex::format::FileError::Io(e.to_string())))?,
        );
        decode(
            ex::reader(file.path())
                .map_err(|e| ex::ImportError::File(ex::format::FileError::Io(e.to_string())))?,
            Charset::Utf8,
            &mut out,
        )
        .map_err(ex::ImportError::File)?;
        out.flush()
            .map_err(|e| ex::ImportError::File(ex::format::FileError::Io(e.to_string())))?;
        ex::import_rows(
            c,
            &doer,
            (jiekun_store::now(), today),
            &b,
            &manifest,
            Format::Csv,
            || ex::reader(text.path()),
        )
    });
    let took = started.elapsed().as_secs_f64();
    let heap = Heap::peak().saturating_sub(before) as f64 / 1e6;
    let done = result.unwrap_or_else(|e| panic!("import failed: {e}"));
    assert_eq!(done.rows, rows);
    let (raw_rate, rate) = (rows as f64 / raw, rows as f64 / took);
    // The issue's targets (《实施方案》三(一)1, offline exchange): with validation, the signature
    // check and the audit event.
    let target = if name == "SQLite" { 75_000 } else { 30_000 };
    println!(
        "exchange import {name}: {rows} rows, {} tasks in {took:.2} s = {rate:.0} rows/s (target >= {target} rows/s: {}); raw bulk insert of the same facts {raw:.2} s = {raw_rate:.0} rows/s; ratio {:.3} (target ratio at this baseline >= {:.3}); heap peak during the import {heap:.1} MB above its start, for a file of {:.1} MB",
        done.tasks,
        if rate >= f64::from(target) { "met" } else { "not met" },
        rate / raw_rate,
        f64::from(target) / raw_rate,
        bytes.len() as f64 / 1e6
    );
}

/// An organisation, a department with a secret, `n` households of one member each, a verification
/// with one open `tax` task each, and a batch holding every task. Returns the batch id, the
/// secret and each task with its member.
fn seed(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    doer: &Doer,
    n: usize,
) -> (String, String, Vec<(String, String)>) {
    let region = RegionCode::parse("610724").expect("region");
    let city = RegionCode::parse("610700").expect("region");
    let org = jiekun_store::organisations::create(
        c,
        &Scope::All,
        &jiekun_store::organisations::NewOrganisation {
            parent_id: None,
            kind: OrganisationKind::CityFederation,
            union_type: None,
            name: "基准市总工会".into(),
            short_name: None,
            region_code: city,
            address: None,
        },
    )
    .expect("organisation");
    let dept = jiekun_store::departments::create(
        c,
        &jiekun_store::departments::NewDepartment {
            code: jiekun_domain::DepartmentCode::Tax,
            name: "基准税务局".into(),
            region_code: region,
            address: None,
        },
    )
    .expect("department");
    let secret = ex::issue_secret(c, cipher, doer, jiekun_store::now(), &dept.id).expect("secret");
    let now = jiekun_store::now();
    let born = NaiveDate::from_ymd_opt(1980, 1, 1).expect("date");
    let mut hs = Vec::with_capacity(n);
    let mut ms = Vec::with_capacity(n);
    let mut vs = Vec::with_capacity(n);
    let mut ts = Vec::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (h, m, v, t) = (
            format!("h{i:07}"),
            format!("m{i:07}"),
            format!("v{i:07}"),
            format!("t{i:07}"),
        );
        hs.push(HouseholdRow {
            id: h.clone(),
            file_number: None,
            organisation_id: org.id.clone(),
            organisation_path: org.path.clone(),
            region_code: "610724".into(),
            address: "基准".into(),
            enterprise_id: None,
            worker_name: "基准".into(),
            housing_type: "owned".into(),
            housing_area_dm2: None,
            bank_name: None,
            bank_account_enc: None,
            bank_account_masked: None,
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
            category: None,
            status: "draft".into(),
            members_count: 1,
            version: 1,
            created_at: now,
            updated_at: now,
            resolved_causes: String::new(),
            legal_dispute: false,
        });
        ms.push(MemberRow {
            id: m.clone(),
            household_id: h.clone(),
            position: 0,
            relation: "worker".into(),
            name: "基准".into(),
            national_id_enc: "x".into(),
            national_id_index: m.clone(),
            national_id_masked: "6107**********0000".into(),
            sex: "male".into(),
            birth_date: born,
            health_enc: None,
            work_status: "employed".into(),
            schooling_level: None,
            school: None,
            school_year: None,
            included: true,
            exclusion_reason: None,
            created_at: now,
            updated_at: now,
            business_plan: false,
            residents_pension: false,
            laid_off: false,
        });
        vs.push(VerificationRow {
            id: v.clone(),
            household_id: h.clone(),
            organisation_path: org.path.clone(),
            region_code: "610724".into(),
            domains: "tax".into(),
            member_ids: m.clone(),
            status: "open".into(),
            reason: None,
            created_by: "bench".into(),
            created_at: now,
            updated_at: now,
        });
        ts.push(TaskRow {
            id: t.clone(),
            verification_id: v,
            household_id: h,
            organisation_path: org.path.clone(),
            region_code: "610724".into(),
            domain: "tax".into(),
            department_code: "tax".into(),
            member_ids: m.clone(),
            status: "open".into(),
            due_on: now.date(),
            answered_at: None,
            answered_by: None,
            answered_via: None,
            batch_id: None,
            created_at: now,
            updated_at: now,
        });
        out.push((t, m));
    }
    jiekun_store::write(c, |c| -> Result<(), diesel::result::Error> {
        jiekun_store::insert_all!(c, households::table, &hs, 33)?;
        jiekun_store::insert_all!(c, household_members::table, &ms, 22)?;
        jiekun_store::insert_all!(c, verifications::table, &vs, 11)?;
        jiekun_store::insert_all!(c, verification_tasks::table, &ts, 16)?;
        let batch = BatchRow {
            id: "b-bench".into(),
            department_id: dept.id.clone(),
            department_code: "tax".into(),
            organisation_path: String::new(),
            format: "csv".into(),
            row_count: 0,
            sha256: String::new(),
            signature: String::new(),
            created_by: "bench".into(),
            created_at: now,
            imported_sha256: None,
            imported_rows: None,
            imported_by: None,
            imported_at: None,
        };
        diesel::insert_into(exchange_batches::table)
            .values(&batch)
            .execute(c)?;
        let links: Vec<_> = out
            .iter()
            .map(|(t, _)| {
                (
                    exchange_batch_tasks::batch_id.eq("b-bench"),
                    exchange_batch_tasks::task_id.eq(t.clone()),
                )
            })
            .collect();
        jiekun_store::insert_all!(c, exchange_batch_tasks::table, &links, 2)?;
        Ok(())
    })
    .expect("seed");
    ("b-bench".into(), secret, out)
}
