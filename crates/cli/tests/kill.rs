//! SIGKILL in the middle of writes: `jiekun serve` is killed while two clients file households
//! (each a household, its members and its audit event, in one transaction). After the kill every
//! household stored has its members and exactly one `household.create` event, nothing else was
//! left behind, `jiekun audit verify` passes, and a restarted server serves on. On SQLite and on
//! PostgreSQL (`JIEKUN_TEST_POSTGRES_URL`; skipped loudly without it, except under `CI=true`).

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use jiekun_domain::national_id::complete;
use serde_json::{json, Value};

mod common;
use common::{Schema, Serve};

const PASSWORD: &str = "Jiekun-demo-2026";

fn jiekun(args: &[&str], url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_jiekun"))
        .args(args)
        .env("JIEKUN_DATABASE_URL", url)
        .env("JIEKUN_DATA_KEY", "7c".repeat(32))
        .env("JIEKUN_LOG", "warn")
        .output()
        .expect("run jiekun")
}

fn serve(url: &str) -> Serve {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jiekun"));
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
        .env("JIEKUN_DATABASE_URL", url)
        .env(
            "JIEKUN_JWT_SECRET",
            "kill-secret-kill-secret-kill-secret-0123",
        )
        .env("JIEKUN_DATA_KEY", "7c".repeat(32))
        .env("JIEKUN_LOG", "warn");
    Serve::start(cmd)
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn token(c: &reqwest::blocking::Client, base: &str, user: &str) -> String {
    let v: Value = c
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .expect("sign in")
        .json()
        .expect("json");
    v["access_token"].as_str().expect("token").to_owned()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(url: &str, sql: &str) -> i64 {
    let pool = jiekun_store::Pool::open(url, &jiekun_store::PoolOptions::default()).expect("pool");
    let mut c = pool.get().expect("connection");
    let rows: Vec<Count> = match &mut *c {
        jiekun_store::DbConnection::Sqlite(s) => diesel::sql_query(sql).load(s),
        jiekun_store::DbConnection::Postgres(p) => diesel::sql_query(sql).load(p),
    }
    .expect("count");
    rows[0].n
}

fn killed_mid_writes(url: &str) {
    let demo = jiekun(&["demo"], url);
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let mut server = serve(url);
    let base = server.base.clone();
    let c = client();
    let officer = token(&c, &base, "chengguan.officer");
    let orgs: Value = c
        .get(format!("{base}/api/v1/organisations?limit=200"))
        .bearer_auth(&officer)
        .send()
        .expect("organisations")
        .json()
        .expect("json");
    let org = orgs["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|o| o["name"].as_str().is_some_and(|n| n.contains("城关")))
        .and_then(|o| o["id"].as_str())
        .expect("the 城关镇 union")
        .to_owned();
    let filed = Arc::new(AtomicU32::new(0));
    let writers: Vec<_> = (0..2u32)
        .map(|w| {
            let (base, officer, org, filed) =
                (base.clone(), officer.clone(), org.clone(), filed.clone());
            std::thread::spawn(move || {
                let c = client();
                let born = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).expect("date");
                for i in 0..10_000u32 {
                    // Distinct people: a birth date per household, a sequence per writer and member.
                    let day = (born + chrono::Days::new(u64::from(i))).format("%Y%m%d");
                    let person = |n: u32| complete(&format!("610724{day}{:03}", w * 10 + n));
                    let body = json!({
                        "organisation_id": org,
                        "region_code": "610724",
                        "address": "西乡县城关镇东大街12号",
                        "housing_type": "private_rental",
                        "main_cause": 6,
                        "members": [
                            {"relation": "worker", "name": "张建国",
                             "national_id": person(1),
                             "work_status": "employed", "health": {"status": "healthy"}},
                            {"relation": "spouse", "name": "李秀英",
                             "national_id": person(2),
                             "work_status": "unemployed", "health": {"status": "healthy"}},
                        ],
                    });
                    match c
                        .post(format!("{base}/api/v1/households"))
                        .bearer_auth(&officer)
                        .json(&body)
                        .send()
                    {
                        Ok(r) if r.status().as_u16() == 201 => {
                            filed.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => panic!(
                            "filing refused: {} {}",
                            r.status(),
                            r.text().unwrap_or_default()
                        ),
                        Err(_) => return, // the server is gone
                    }
                }
            })
        })
        .collect();
    // Let the writers get going, then kill the server without warning.
    while filed.load(Ordering::Relaxed) < 20 {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    for w in writers {
        w.join().expect("writer");
    }
    let answered = i64::from(filed.load(Ordering::Relaxed));

    // Nothing half-written: every household has both members and one creation event, and every
    // creation event its household.
    let households = count(url, "SELECT COUNT(*) AS n FROM households");
    assert!(
        households >= answered,
        "{households} stored, {answered} answered 201"
    );
    assert_eq!(
        count(url, "SELECT COUNT(*) AS n FROM household_members"),
        2 * households
    );
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'household.create'"
        ),
        households
    );
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) AS n FROM audit_events e WHERE e.action = 'household.create' \
             AND NOT EXISTS (SELECT 1 FROM households h WHERE h.id = e.resource_id)"
        ),
        0
    );
    let verify = jiekun(&["audit", "verify"], url);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    // A restarted server serves on.
    let again = serve(url);
    let base = &again.base;
    let list = c
        .get(format!("{base}/api/v1/households?limit=1"))
        .bearer_auth(token(&c, base, "chengguan.officer"))
        .send()
        .expect("list");
    assert_eq!(list.status().as_u16(), 200);
}

#[test]
fn sqlite_sigkill_mid_writes_leaves_nothing_half_applied() {
    let dir = tempfile::tempdir().expect("temp dir");
    killed_mid_writes(&format!(
        "sqlite://{}",
        dir.path().join("kill.db").display()
    ));
}

#[test]
fn postgres_sigkill_mid_writes_leaves_nothing_half_applied() {
    if let Some(schema) = Schema::create() {
        killed_mid_writes(&schema.url);
    }
}
