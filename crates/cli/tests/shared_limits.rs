//! Two `jiekun serve` processes on one PostgreSQL database count sign-in failures, API-key
//! requests and refusals of a person filed elsewhere together — in the database, or in Redis
//! when `JIEKUN_REDIS_URL` is set — and a user disabled or a key revoked through one is refused
//! by the other within a second.
//!
//! Needs PostgreSQL (`JIEKUN_TEST_POSTGRES_URL`, by default postgres://postgres@127.0.0.1:5432/test)
//! and, for the Redis runs, Redis (`JIEKUN_TEST_REDIS_URL`, by default redis://127.0.0.1:6379/0):
//! without them a test is skipped, loudly — except under `CI=true`, where it fails.

use std::process::Command;
use std::time::{Duration, Instant};

use jiekun_domain::{DepartmentCode, RegionCode};
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{json, Value};

mod common;
use common::{Schema, Serve};

const SECRET: &str = "shared-limits-secret-shared-limits-0123";
const ADMIN_PASSWORD: &str = "Root-Password-2026";
const USER_PASSWORD: &str = "Auditor-Password-2026";

/// Where the servers of a test keep their throttles.
#[derive(Clone)]
enum Kept {
    /// The default on PostgreSQL: its database.
    Database,
    /// Each process on its own.
    Memory,
    /// A Redis, under a prefix of this test's own.
    Redis { url: String, prefix: String },
}

impl Kept {
    /// Redis under a fresh prefix, or `None` (the test skipped, loudly) when it does not answer
    /// — under `CI=true` that fails instead.
    fn redis() -> Option<Kept> {
        let url = std::env::var("JIEKUN_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned());
        let answers = redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
        match answers {
            Ok(_) => Some(Kept::Redis {
                url,
                prefix: format!("jiekun-test:{}:", uuid::Uuid::new_v4().simple()),
            }),
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("Redis is required under CI=true but {url} does not answer: {e}")
            }
            Err(e) => {
                eprintln!("\n!!! SKIPPED: Redis test — {url} does not answer ({e}). Set JIEKUN_TEST_REDIS_URL.\n");
                None
            }
        }
    }

    /// The keys under this test's prefix (none unless the throttles are in Redis), each with
    /// the milliseconds it has left to live (-1: for ever).
    fn redis_keys(&self) -> Vec<(String, i64)> {
        let Kept::Redis { url, prefix } = self else {
            return Vec::new();
        };
        let mut c = redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection())
            .expect("redis");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query(&mut c)
            .expect("KEYS");
        keys.into_iter()
            .map(|k| {
                let ttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut c).expect("PTTL");
                (k, ttl)
            })
            .collect()
    }
}

/// A running `jiekun serve`, stopped when dropped.
struct Server(Serve);

impl Server {
    fn start(db: &str, kept: &Kept) -> Server {
        Server::start_bin(env!("CARGO_BIN_EXE_jiekun"), db, kept)
    }

    fn start_bin(bin: &str, db: &str, kept: &Kept) -> Server {
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
            .env("JIEKUN_DATABASE_URL", db)
            .env("JIEKUN_JWT_SECRET", SECRET)
            .env("JIEKUN_DATA_KEY", "33".repeat(32))
            .env("JIEKUN_LOG", "warn")
            .env_remove("JIEKUN_SHARED_LIMITS")
            .env_remove("JIEKUN_REDIS_URL")
            .env_remove("JIEKUN_REDIS_PREFIX");
        match kept {
            Kept::Database => {}
            Kept::Memory => {
                cmd.env("JIEKUN_SHARED_LIMITS", "memory");
            }
            Kept::Redis { url, prefix } => {
                cmd.env("JIEKUN_REDIS_URL", url)
                    .env("JIEKUN_REDIS_PREFIX", prefix);
            }
        }
        Server(Serve::start(cmd))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0.base)
    }
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

fn send(r: RequestBuilder) -> (u16, Value) {
    let resp = r.send().expect("request");
    let status = resp.status().as_u16();
    let body = resp.json().unwrap_or(Value::Null);
    (status, body)
}

fn sign_in(c: &Client, s: &Server, username: &str, password: &str) -> (u16, Value) {
    send(
        c.post(s.url("/api/v1/auth/token"))
            .json(&json!({"username": username, "password": password})),
    )
}

fn token(c: &Client, s: &Server, username: &str, password: &str) -> String {
    let (status, body) = sign_in(c, s, username, password);
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}

/// Polls `request` until it answers `status`. Returns when, after `since`, the last request
/// that was still let through and the first refused one were sent.
fn poll_until(
    since: Instant,
    mut request: impl FnMut() -> u16,
    status: u16,
) -> (Option<Duration>, Duration) {
    let mut last_through = None;
    loop {
        let sent = Instant::now();
        if request() == status {
            return (last_through, sent.duration_since(since));
        }
        last_through = Some(sent.duration_since(since));
        assert!(
            since.elapsed() < Duration::from_secs(5),
            "still not refused after 5 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every request sent a second or more after `since` answers `status`.
fn refused_within_a_second(what: &str, since: Instant, request: impl FnMut() -> u16, status: u16) {
    let (last_through, first_refused) = poll_until(since, request, status);
    println!("{what}: last let through {last_through:?}, first refused {first_refused:?} after");
    assert!(
        last_through.is_none_or(|t| t < Duration::from_secs(1)),
        "{what}: let through {last_through:?} after"
    );
}

/// The root organisation, its administrator, a department and an auditor, as an operator
/// would set them up.
struct Setup {
    department_id: String,
    root_id: String,
}

fn set_up(db: &str) -> Setup {
    let out = Command::new(env!("CARGO_BIN_EXE_jiekun"))
        .args(["admin", "init", "--username", "root"])
        .env("JIEKUN_DATABASE_URL", db)
        .env("JIEKUN_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .expect("admin init");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pool = jiekun_store::Pool::open(db, &jiekun_store::PoolOptions::default()).unwrap();
    let mut c = pool.get().unwrap();
    let root_id = jiekun_store::organisations::find_by_name(&mut c, None, "汉中市总工会")
        .unwrap()
        .expect("root organisation")
        .id;
    let department_id = jiekun_store::departments::create(
        &mut c,
        &jiekun_store::departments::NewDepartment {
            code: DepartmentCode::Hrss,
            name: "汉中市人社局".into(),
            region_code: RegionCode::parse("610700").unwrap(),
            address: None,
        },
    )
    .unwrap()
    .id;
    Setup {
        department_id,
        root_id,
    }
}

#[test]
fn limits_and_revocations_hold_across_two_processes() {
    limits_and_revocations(Kept::Database);
}

#[test]
fn limits_and_revocations_hold_across_two_processes_on_redis() {
    if let Some(kept) = Kept::redis() {
        limits_and_revocations(kept);
    }
}

/// How many rows the throttle tables of `schema` hold.
fn throttle_rows(schema: &Schema) -> i64 {
    let mut c = diesel::PgConnection::establish(&schema.url).expect("connect");
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM throttle_failures) + (SELECT count(*) FROM throttle_requests) AS n",
    )
    .get_result::<N>(&mut c)
    .expect("count")
    .n
}

/// The throttles were counted where `kept` says, and nowhere else.
fn counted_in(kept: &Kept, schema: &Schema) {
    let (keys, rows) = (kept.redis_keys(), throttle_rows(schema));
    match kept {
        Kept::Redis { .. } => {
            assert!(!keys.is_empty(), "the counts are in Redis");
            assert!(
                keys.iter().all(|(_, ttl)| *ttl > 0),
                "every key expires by itself: {keys:?}"
            );
            assert_eq!(rows, 0, "and not in the database");
        }
        _ => assert!(rows > 0, "the counts are in the database"),
    }
}

fn limits_and_revocations(kept: Kept) {
    let Some(schema) = Schema::create() else {
        return;
    };
    let setup = set_up(&schema.url);
    let (a, b) = (
        Server::start(&schema.url, &kept),
        Server::start(&schema.url, &kept),
    );
    let c = client();
    let admin = token(&c, &a, "root", ADMIN_PASSWORD);

    // Failed sign-ins spread over both processes: 5 free failures of one username at one
    // address (the default), then the back-off — the same count as on one process.
    for i in 0..5 {
        let s = if i % 2 == 0 { &a } else { &b };
        let (status, body) = sign_in(&c, s, "root", "wrong-password-0");
        assert_eq!(status, 401, "failure {i}: {body}");
    }
    let (status, body) = sign_in(&c, &b, "root", ADMIN_PASSWORD);
    assert_eq!(
        status, 429,
        "the sixth attempt waits, on either process: {body}"
    );
    assert_eq!(body["code"], "rate_limited");
    let (status, _) = sign_in(&c, &a, "root", ADMIN_PASSWORD);
    assert_eq!(status, 429);

    // An auditor, signed in on B, whose user is then cached there.
    let (status, user) = send(c.post(a.url("/api/v1/users")).bearer_auth(&admin).json(&json!({
        "organisation_id": setup.root_id, "username": "auditor.one", "display_name": "审计员",
        "password": USER_PASSWORD, "roles": ["auditor"]
    })));
    assert_eq!(status, 201, "{user}");
    let user_id = user["id"].as_str().unwrap().to_owned();
    let auditor = token(&c, &b, "auditor.one", USER_PASSWORD);
    let me = || send(c.get(b.url("/api/v1/auth/me")).bearer_auth(&auditor)).0;
    assert_eq!(me(), 200);
    assert_eq!(me(), 200);

    // Disabled through A: refused by B within a second.
    let path = format!("/api/v1/users/{user_id}");
    let etag = c
        .get(a.url(&path))
        .bearer_auth(&admin)
        .send()
        .unwrap()
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let (status, body) = send(
        c.patch(a.url(&path))
            .bearer_auth(&admin)
            .header("If-Match", etag)
            .json(&json!({"status": "disabled"})),
    );
    assert_eq!(status, 200, "{body}");
    let disabled = Instant::now();
    refused_within_a_second("a user disabled through A, on B", disabled, me, 401);

    // An API key with 6 requests a minute, used on both: 6 between them, then 429 on either.
    let (status, key) = send(
        c.post(a.url("/api/v1/api-keys"))
            .bearer_auth(&admin)
            .json(&json!({
                "department_id": setup.department_id, "name": "人社核对",
                "scopes": ["directory:read"], "rate_limit_per_minute": 6
            })),
    );
    assert_eq!(status, 201, "{key}");
    let (key_id, secret) = (
        key["api_key"]["id"].as_str().unwrap().to_owned(),
        key["key"].as_str().unwrap().to_owned(),
    );
    let with_key = |s: &Server| {
        send(
            c.get(s.url("/api/v1/departments"))
                .header("Authorization", format!("ApiKey {secret}")),
        )
        .0
    };
    for i in 0..6 {
        assert_eq!(
            with_key(if i % 2 == 0 { &a } else { &b }),
            200,
            "request {i}"
        );
    }
    assert_eq!(with_key(&a), 429);
    assert_eq!(with_key(&b), 429);

    // A second key, revoked through A: refused by B at once (keys are not cached).
    let (status, key) = send(
        c.post(a.url("/api/v1/api-keys"))
            .bearer_auth(&admin)
            .json(&json!({
                "department_id": setup.department_id, "name": "人社核对二",
                "scopes": ["directory:read"]
            })),
    );
    assert_eq!(status, 201, "{key}");
    let (second_id, second) = (
        key["api_key"]["id"].as_str().unwrap().to_owned(),
        key["key"].as_str().unwrap().to_owned(),
    );
    let use_second = || {
        send(
            c.get(b.url("/api/v1/departments"))
                .header("Authorization", format!("ApiKey {second}")),
        )
        .0
    };
    assert_eq!(use_second(), 200);
    let (status, body) = send(
        c.post(a.url(&format!("/api/v1/api-keys/{second_id}/revoke")))
            .bearer_auth(&admin),
    );
    assert!(status == 200 || status == 204, "{status} {body}");
    let revoked = Instant::now();
    let (through, _) = poll_until(revoked, use_second, 401);
    assert_eq!(through, None, "a revoked key is refused by B at once");
    assert_ne!(key_id, second_id);
    counted_in(&kept, &schema);
}

/// A household of `worker` and a spouse numbered `n`, in the demo's 城关 union.
fn family(org: &str, worker: &str, n: u32) -> Value {
    let spouse = jiekun_domain::national_id::complete(&format!("61072419700101{:03}", 100 + n));
    json!({
        "organisation_id": org, "region_code": "610724", "address": "西乡县城关镇东大街12号",
        "housing_type": "private_rental", "main_cause": 6,
        "members": [
            {"relation": "worker", "name": "张建国", "national_id": worker,
             "work_status": "employed", "health": {"status": "healthy"}},
            {"relation": "spouse", "name": "李秀英", "national_id": spouse,
             "work_status": "unemployed", "health": {"status": "healthy"}},
        ],
    })
}

/// Each refusal of a person already filed tells that the number is filed somewhere, so a caller
/// probing numbers is slowed down after 10 (the default) — counted across both processes, not
/// 10 on each.
#[test]
fn person_refusals_hold_across_two_processes() {
    person_refusals(Kept::Database);
}

#[test]
fn person_refusals_hold_across_two_processes_on_redis() {
    if let Some(kept) = Kept::redis() {
        person_refusals(kept);
    }
}

fn person_refusals(kept: Kept) {
    let Some(schema) = Schema::create() else {
        return;
    };
    let demo = Command::new(env!("CARGO_BIN_EXE_jiekun"))
        .args(["demo", "--households", "20", "--cases", "0"])
        .env("JIEKUN_DATABASE_URL", &schema.url)
        .env("JIEKUN_DATA_KEY", "33".repeat(32))
        .output()
        .expect("demo");
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let (a, b) = (
        Server::start(&schema.url, &kept),
        Server::start(&schema.url, &kept),
    );
    let c = client();
    let officer = token(&c, &a, "chengguan.officer", "Jiekun-demo-2026");
    let (status, orgs) = send(
        c.get(a.url("/api/v1/organisations?limit=200"))
            .bearer_auth(&officer),
    );
    assert_eq!(status, 200, "{orgs}");
    let org = orgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"].as_str().is_some_and(|n| n.contains("城关")))
        .and_then(|o| o["id"].as_str())
        .expect("the 城关 union")
        .to_owned();
    let worker = jiekun_domain::national_id::complete("61072419650303001");
    let file = |s: &Server, n: u32| {
        send(
            c.post(s.url("/api/v1/households"))
                .bearer_auth(&officer)
                .json(&family(&org, &worker, n)),
        )
    };
    let (status, body) = file(&a, 0);
    assert_eq!(status, 201, "{body}");
    for n in 1..=10 {
        let (status, body) = file(if n % 2 == 0 { &a } else { &b }, n);
        assert_eq!(status, 409, "refusal {n} is the plain answer: {body}");
        assert_eq!(body["code"], "already_exists");
    }
    for s in [&a, &b] {
        let (status, body) = file(s, 11);
        assert_eq!(
            status, 429,
            "after 10 refusals between them, either process makes the caller wait: {body}"
        );
        assert_eq!(body["code"], "rate_limited");
    }
    counted_in(&kept, &schema);
}

/// With `JIEKUN_SHARED_LIMITS=memory` each process counts on its own: the same spread of
/// failures is not enough to slow either down — which is what the shared limits prevent.
#[test]
fn memory_limits_are_per_process() {
    let Some(schema) = Schema::create() else {
        return;
    };
    set_up(&schema.url);
    let (a, b) = (
        Server::start(&schema.url, &Kept::Memory),
        Server::start(&schema.url, &Kept::Memory),
    );
    let c = client();
    for i in 0..6 {
        let s = if i % 2 == 0 { &a } else { &b };
        assert_eq!(sign_in(&c, s, "root", "wrong-password-0").0, 401);
    }
    assert_eq!(sign_in(&c, &a, "root", ADMIN_PASSWORD).0, 200);
}

/// Mean time of `n` calls of `f`, after a few to warm up.
fn timed(n: u32, mut f: impl FnMut() -> u16, expect: u16) -> Duration {
    for _ in 0..5 {
        assert_eq!(f(), expect);
    }
    let started = Instant::now();
    for _ in 0..n {
        assert_eq!(f(), expect);
    }
    started.elapsed() / n
}

/// What sharing costs on the hot paths, against the same requests with the limits in memory,
/// measured in one run on one PostgreSQL (and one Redis): a signed-in user's read (cached, so unchanged), an API
/// key's read (one more upsert) and a failed sign-in (dominated by the password hash). Run with
/// `cargo test -p jiekun-cli --test shared_limits -- --ignored --nocapture`; set
/// `JIEKUN_BASELINE_BIN` to another build of `jiekun` to compare the signed-in read with it too.
#[test]
#[ignore = "a measurement; run on demand"]
fn measure_the_hot_paths() {
    let n = 1500;
    let mut figures = Vec::new();
    let mut run = |label: &str, kept: &Kept, bin: Option<String>| {
        let Some(schema) = Schema::create() else {
            return;
        };
        let setup = set_up(&schema.url);
        let server = match bin {
            Some(bin) => Server::start_bin(&bin, &schema.url, kept),
            None => Server::start(&schema.url, kept),
        };
        let c = client();
        let admin = token(&c, &server, "root", ADMIN_PASSWORD);
        let me = timed(
            n,
            || send(c.get(server.url("/api/v1/auth/me")).bearer_auth(&admin)).0,
            200,
        );
        let (status, key) = send(
            c.post(server.url("/api/v1/api-keys"))
                .bearer_auth(&admin)
                .json(&json!({
                    "department_id": setup.department_id, "name": "测速",
                    "scopes": ["directory:read"], "rate_limit_per_minute": 6000
                })),
        );
        assert_eq!(status, 201, "{key}");
        let secret = key["key"].as_str().unwrap().to_owned();
        let keyed = timed(
            n,
            || {
                send(
                    c.get(server.url("/api/v1/departments?limit=1"))
                        .header("Authorization", format!("ApiKey {secret}")),
                )
                .0
            },
            200,
        );
        // A username of its own each time: 9 attempts stay under the address's 20.
        let mut i = 0;
        let failed = timed(
            4,
            || {
                i += 1;
                sign_in(&c, &server, &format!("nobody{i}"), "wrong-password-0").0
            },
            401,
        );
        figures.push((label.to_owned(), me, keyed, failed));
    };
    // Two rounds, the best of each kept: the machine may be busy with other work.
    for _ in 0..2 {
        run("memory", &Kept::Memory, None);
        run("database", &Kept::Database, None);
        if let Some(redis) = Kept::redis() {
            run("redis", &redis, None);
        }
        if let Ok(bin) = std::env::var("JIEKUN_BASELINE_BIN") {
            run("baseline build", &Kept::Memory, Some(bin));
        }
    }
    if figures.is_empty() {
        return;
    }
    let mut best: Vec<(String, Duration, Duration, Duration)> = Vec::new();
    for (label, me, keyed, failed) in figures {
        match best.iter_mut().find(|b| b.0 == label) {
            Some(b) => {
                b.1 = b.1.min(me);
                b.2 = b.2.min(keyed);
                b.3 = b.3.min(failed);
            }
            None => best.push((label, me, keyed, failed)),
        }
    }
    let figures = best;
    let base = figures
        .iter()
        .find(|f| f.0 == "memory")
        .cloned()
        .expect("memory run");
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("mean per request (best of two rounds); ratio to the memory run of this build");
    for (label, me, keyed, failed) in &figures {
        println!(
            "{label:>14}: signed-in read {me:?} ({:.2}×), key read {keyed:?} ({:.2}×), failed sign-in {failed:?} ({:.2}×)",
            ratio(*me, base.1),
            ratio(*keyed, base.2),
            ratio(*failed, base.3),
        );
    }
}
