//! SIGKILL in the middle of writes. `jiekun serve` is killed inside a write transaction (see
//! `common::mid_write`) while clients:
//! - file households (a household, its members and its audit event, in one transaction);
//! - record assistance with `Idempotency-Key` (the entry, its stored answer and its audit event);
//! - take workflow steps (the application, its timeline event, the household and the audit event).
//!
//! Afterwards nothing is half-applied, `jiekun audit verify` passes, and a restarted server serves
//! on: retried keys record once, and the cases step on. On SQLite and on PostgreSQL
//! (`JIEKUN_TEST_POSTGRES_URL`; skipped loudly without it, except under `CI=true`). The exchange
//! import killed mid-way is in `kill_import.rs`.

use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use jiekun_domain::national_id::complete;
use reqwest::blocking::Client;
use serde_json::{json, Value};

mod common;
use common::mid_write::{lock_head, named, wait_mid_write};
use common::{count, Schema, Serve};

const PASSWORD: &str = "Jiekun-demo-2026";
/// The `application_name` of the server's PostgreSQL connections: the test's own schema, so that
/// tests running side by side never see each other's backends.
fn app_of(url: &str) -> &str {
    url.split("search_path%3D")
        .nth(1)
        .map_or("jiekun", |rest| rest.split('&').next().unwrap_or(rest))
}

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
        .env("JIEKUN_DATABASE_URL", named(url, app_of(url)))
        .env(
            "JIEKUN_JWT_SECRET",
            "kill-secret-kill-secret-kill-secret-0123",
        )
        .env("JIEKUN_DATA_KEY", "7c".repeat(32))
        .env("JIEKUN_LOG", "warn");
    Serve::start(cmd)
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn token(c: &Client, base: &str, user: &str) -> String {
    let v: Value = c
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .expect("sign in")
        .json()
        .expect("json");
    v["access_token"].as_str().expect("token").to_owned()
}

/// A demo registry (no workflow cases, so every case is the test's own) and a server on it.
fn demo_and_serve(url: &str) -> Serve {
    let demo = jiekun(&["demo", "--households", "60", "--cases", "0"], url);
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    serve(url)
}

/// Two clients call `write(client, writer, i)` for i = 0, 1, … until the server is gone (`Err`).
/// Once 20 writes succeeded, the server is caught inside a write transaction and killed.
fn kill_mid_writes<F>(url: &str, server: &mut Serve, write: F) -> u32
where
    F: Fn(&Client, u32, u32) -> Result<(), reqwest::Error> + Sync,
{
    let done = AtomicU32::new(0);
    std::thread::scope(|s| {
        for w in 0..2u32 {
            let (done, write) = (&done, &write);
            s.spawn(move || {
                let c = client();
                for i in 0..100_000u32 {
                    if write(&c, w, i).is_err() {
                        return; // the server is gone
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        while done.load(Ordering::Relaxed) < 20 {
            std::thread::sleep(Duration::from_millis(10));
        }
        let held = lock_head(url);
        wait_mid_write(url, app_of(url), &held, &mut server.child);
        server.child.kill().expect("SIGKILL");
        let _ = server.child.wait();
        held.release();
    });
    done.into_inner()
}

fn verify(url: &str) {
    let verify = jiekun(&["audit", "verify"], url);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

fn org_of(c: &Client, base: &str, who: &str, name: &str) -> String {
    let orgs: Value = c
        .get(format!("{base}/api/v1/organisations?limit=200"))
        .bearer_auth(who)
        .send()
        .expect("organisations")
        .json()
        .expect("json");
    orgs["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|o| o["name"].as_str().is_some_and(|n| n.contains(name)))
        .and_then(|o| o["id"].as_str())
        .expect("the union")
        .to_owned()
}

/// A new household of two people, distinct for each writer and round.
fn new_household(org: &str, w: u32, i: u32) -> Value {
    let born = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).expect("date");
    let day = (born + chrono::Days::new(u64::from(i))).format("%Y%m%d");
    let person = |n: u32| complete(&format!("610724{day}{:03}", w * 10 + n));
    json!({
        "organisation_id": org,
        "region_code": "610724",
        "address": "西乡县城关镇东大街12号",
        "housing_type": "private_rental",
        "main_cause": 6,
        "members": [
            {"relation": "worker", "name": "张建国", "national_id": person(1),
             "work_status": "employed", "health": {"status": "healthy"}},
            {"relation": "spouse", "name": "李秀英", "national_id": person(2),
             "work_status": "unemployed", "health": {"status": "healthy"}},
        ],
    })
}

/// POSTs `body` and returns the answer's JSON; panics on anything but `expect`.
fn post(
    c: &Client,
    url: String,
    who: &str,
    body: &Value,
    expect: u16,
) -> Result<Value, reqwest::Error> {
    let r = c.post(url).bearer_auth(who).json(body).send()?;
    let status = r.status().as_u16();
    let text = r.text()?;
    assert_eq!(status, expect, "{text}");
    Ok(serde_json::from_str(&text).expect("json"))
}

fn killed_mid_filing(url: &str) {
    let mut server = demo_and_serve(url);
    let (base, c) = (server.base.clone(), client());
    let officer = token(&c, &base, "chengguan.officer");
    let org = org_of(&c, &base, &officer, "城关");
    let filed = kill_mid_writes(url, &mut server, |c, w, i| {
        post(
            c,
            format!("{base}/api/v1/households"),
            &officer,
            &new_household(&org, w, i),
            201,
        )
        .map(drop)
    });

    // Nothing half-written: every household has both members and one creation event, and every
    // creation event its household.
    let households = count(
        url,
        "SELECT COUNT(*) AS n FROM households WHERE address = '西乡县城关镇东大街12号'",
    );
    assert!(
        households >= i64::from(filed),
        "{households} stored, {filed} answered 201"
    );
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) AS n FROM households h WHERE (SELECT COUNT(*) FROM household_members m \
             WHERE m.household_id = h.id) <> h.members_count"
        ),
        0
    );
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) AS n FROM households h WHERE NOT EXISTS (SELECT 1 FROM audit_events e \
             WHERE e.action = 'household.create' AND e.resource_id = h.id) \
             AND address = '西乡县城关镇东大街12号'"
        ),
        0
    );
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) AS n FROM audit_events e WHERE e.action = 'household.create' \
             AND NOT EXISTS (SELECT 1 FROM households h WHERE h.id = e.resource_id)"
        ),
        0
    );
    verify(url);
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

/// One writer's i-th entry of help: a small amount, so that no cap is reached.
fn help(households: &[String], w: u32, i: u32, day: &str) -> Value {
    json!({"household_id": households[(w + i) as usize % households.len()], "measure": 10,
        "delivered_on": day, "kind": "cash", "amount_fen": 100 + w, "fund_source": "金秋助学"})
}

fn killed_mid_assistance(url: &str) {
    let mut server = demo_and_serve(url);
    let (base, c) = (server.base.clone(), client());
    let officer = token(&c, &base, "chengguan.officer");
    let page: Value = c
        .get(format!("{base}/api/v1/households?status=filed&limit=20"))
        .bearer_auth(&officer)
        .send()
        .expect("households")
        .json()
        .expect("json");
    let households: Vec<String> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|h| h["id"].as_str().expect("id").to_owned())
        .collect();
    assert!(households.len() >= 5, "the demo files households: {page}");
    let day = (chrono::Utc::now() - chrono::TimeDelta::days(1))
        .date_naive()
        .to_string();
    let entries = "SELECT COUNT(*) AS n FROM assistance_records";
    let events = "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'assistance.record'";
    let keys = "SELECT COUNT(*) AS n FROM idempotency_keys";
    // The demo's own entries (recorded without keys).
    let before = count(url, entries);
    assert_eq!(count(url, events), before);
    assert_eq!(count(url, keys), 0);
    let sent = Mutex::new(Vec::new());
    let record = |c: &Client, key: &str, body: &Value| -> Result<Value, reqwest::Error> {
        let r = c
            .post(format!("{base}/api/v1/assistance"))
            .bearer_auth(&officer)
            .header("Idempotency-Key", key)
            .json(body)
            .send()?;
        let status = r.status().as_u16();
        let text = r.text()?;
        assert_eq!(status, 201, "{text}");
        Ok(serde_json::from_str(&text).expect("json"))
    };
    let answered = kill_mid_writes(url, &mut server, |c, w, i| {
        sent.lock().expect("keys").push((w, i));
        record(c, &format!("help-{w}-{i}"), &help(&households, w, i, &day)).map(drop)
    });
    let sent = sent.into_inner().expect("keys");

    // Each entry has its audit event and its stored answer, and nothing else is there.
    let recorded = count(url, entries) - before;
    assert!(
        recorded >= i64::from(answered) && recorded <= sent.len() as i64,
        "{recorded} recorded, {answered} answered, {} sent",
        sent.len()
    );
    assert_eq!(count(url, events) - before, recorded);
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) AS n FROM assistance_records r WHERE NOT EXISTS (SELECT 1 FROM \
             audit_events e WHERE e.action = 'assistance.record' AND e.resource_id = r.id)"
        ),
        0
    );
    assert_eq!(count(url, keys), recorded);
    verify(url);

    // After a restart the clients retry every key they sent: each is recorded exactly once.
    let again = serve(url);
    let base = &again.base;
    let officer = token(&c, base, "chengguan.officer");
    let mut ids = HashSet::new();
    for (w, i) in &sent {
        let r = c
            .post(format!("{base}/api/v1/assistance"))
            .bearer_auth(&officer)
            .header("Idempotency-Key", format!("help-{w}-{i}"))
            .json(&help(&households, *w, *i, &day))
            .send()
            .expect("retry");
        assert_eq!(r.status().as_u16(), 201);
        let v: Value = r.json().expect("json");
        ids.insert(v["id"].as_str().expect("id").to_owned());
    }
    assert_eq!(ids.len(), sent.len(), "one entry per key");
    assert_eq!(count(url, entries) - before, sent.len() as i64);
    assert_eq!(count(url, events) - before, sent.len() as i64);
    verify(url);
}

/// Takes `action` on the application with the ETag read just before.
fn step(c: &Client, base: &str, who: &str, app: &str, action: &str) -> Result<(), reqwest::Error> {
    let path = format!("{base}/api/v1/applications/{app}");
    let r = c.get(&path).bearer_auth(who).send()?;
    assert_eq!(r.status().as_u16(), 200);
    let etag = r
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("etag")
        .to_owned();
    r.bytes()?;
    let r = c
        .post(format!("{path}/actions"))
        .bearer_auth(who)
        .header("If-Match", etag)
        .json(&json!({"action": action}))
        .send()?;
    let status = r.status().as_u16();
    let text = r.text()?;
    assert_eq!(status, 200, "{action}: {text}");
    Ok(())
}

fn killed_mid_steps(url: &str) {
    let mut server = demo_and_serve(url);
    let (base, c) = (server.base.clone(), client());
    let officer = token(&c, &base, "chengguan.officer");
    let reviewer = token(&c, &base, "xixiang.reviewer");
    let org = org_of(&c, &base, &officer, "城关");
    let steps = AtomicU32::new(0);
    kill_mid_writes(url, &mut server, |c, w, i| {
        let hh = post(
            c,
            format!("{base}/api/v1/households"),
            &officer,
            &new_household(&org, w, i),
            201,
        )?;
        let app = post(
            c,
            format!("{base}/api/v1/applications"),
            &officer,
            &json!({"household_id": hh["id"]}),
            201,
        )?;
        let app = app["id"].as_str().expect("id");
        step(c, &base, &officer, app, "submit")?;
        steps.fetch_add(1, Ordering::Relaxed);
        step(c, &base, &reviewer, app, "start_review")?;
        steps.fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    assert!(steps.into_inner() >= 20);

    // Every application's timeline, audit trail, state and version agree.
    let apps = count(url, "SELECT COUNT(*) AS n FROM applications");
    assert!(apps >= 10, "{apps}");
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) AS n FROM applications a WHERE \
             (SELECT COUNT(*) FROM workflow_events e WHERE e.subject_id = a.id) <> \
             (SELECT COUNT(*) FROM audit_events v WHERE v.resource_id = a.id \
              AND v.action LIKE 'application.%')"
        ),
        0,
        "a step without its audit event, or the other way round"
    );
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) AS n FROM applications a WHERE a.state <> (SELECT e.to_state FROM \
             workflow_events e WHERE e.subject_id = a.id ORDER BY e.at DESC LIMIT 1)"
        ),
        0,
        "an application whose state is not its last step's"
    );
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) AS n FROM applications a WHERE a.version <> \
             (SELECT COUNT(*) FROM workflow_events e WHERE e.subject_id = a.id)"
        ),
        0,
        "an application whose version does not count its steps"
    );
    verify(url);

    // After a restart every case steps on to the county's review.
    let again = serve(url);
    let base = &again.base;
    let officer = token(&c, base, "chengguan.officer");
    let reviewer = token(&c, base, "xixiang.reviewer");
    let page: Value = c
        .get(format!("{base}/api/v1/applications?limit=200"))
        .bearer_auth(&reviewer)
        .send()
        .expect("applications")
        .json()
        .expect("json");
    for a in page["items"].as_array().expect("items") {
        let id = a["id"].as_str().expect("id");
        if a["state"] == "draft" {
            step(&c, base, &officer, id, "submit").expect("submit");
        }
        if a["state"] != "county_review" {
            step(&c, base, &reviewer, id, "start_review").expect("start review");
        }
    }
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) AS n FROM applications WHERE state <> 'county_review'"
        ),
        0
    );
    verify(url);
}

fn sqlite(name: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join(name).display());
    (dir, url)
}

#[test]
fn sqlite_sigkill_mid_filing_leaves_nothing_half_applied() {
    let (_dir, url) = sqlite("filing.db");
    killed_mid_filing(&url);
}

#[test]
fn postgres_sigkill_mid_filing_leaves_nothing_half_applied() {
    if let Some(schema) = Schema::create() {
        killed_mid_filing(&schema.url);
    }
}

#[test]
fn sqlite_sigkill_mid_assistance_records_each_key_once() {
    let (_dir, url) = sqlite("assistance.db");
    killed_mid_assistance(&url);
}

#[test]
fn postgres_sigkill_mid_assistance_records_each_key_once() {
    if let Some(schema) = Schema::create() {
        killed_mid_assistance(&schema.url);
    }
}

#[test]
fn sqlite_sigkill_mid_workflow_steps_leaves_every_case_whole() {
    let (_dir, url) = sqlite("steps.db");
    killed_mid_steps(&url);
}

#[test]
fn postgres_sigkill_mid_workflow_steps_leaves_every_case_whole() {
    if let Some(schema) = Schema::create() {
        killed_mid_steps(&schema.url);
    }
}
