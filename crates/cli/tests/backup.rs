//! `jiekun backup` taken while another connection keeps writing audited changes, then
//! `jiekun restore` into a fresh database, whose audit chain verifies: on SQLite, and on
//! PostgreSQL (`JIEKUN_TEST_POSTGRES_URL`, by default postgres://postgres@127.0.0.1:5432/test;
//! skipped loudly without it, except under `CI=true`, where it fails).

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use jiekun_store::audit::{self, Actor, Caller};
use jiekun_store::{Pool, PoolOptions};

mod common;
use common::{postgres_admin, postgres_base_url};

fn jiekun(args: &[&str], url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jiekun"))
        .args(args)
        .env("JIEKUN_DATABASE_URL", url)
        .env("JIEKUN_LOG", "warn")
        .output()
        .expect("run jiekun")
}

fn ok(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn events(url: &str) -> i64 {
    let pool = Pool::open(url, &PoolOptions::default()).expect("pool");
    let mut c = pool.get().expect("connection");
    let v = audit::verify(&mut c).expect("verify");
    assert!(v.first_broken.is_none(), "{url}: chain broken");
    v.checked
}

/// Appends audited events on its own connection until stopped; returns how many it wrote.
fn writer(url: &str, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    let pool = Pool::open(url, &PoolOptions::default()).expect("pool");
    std::thread::spawn(move || {
        let mut c = pool.get().expect("connection");
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            jiekun_store::write(&mut c, |c| {
                let caller = Caller {
                    actor: Actor {
                        kind: "system",
                        name: Some("backup test".into()),
                        ..Actor::default()
                    },
                    ..Caller::default()
                };
                audit::append(
                    c,
                    caller.event(
                        "test.write",
                        "test",
                        &n.to_string(),
                        serde_json::json!({"n": n}),
                    ),
                )
            })
            .expect("append");
            n += 1;
        }
        n
    })
}

/// Backs `url` up under write load into `file`, restores it into `restored`, and checks both.
fn round_trip(url: &str, file: &Path, restored: &str) {
    ok(&jiekun(&["migrate"], url));
    let stop = Arc::new(AtomicBool::new(false));
    let w = writer(url, stop.clone());
    std::thread::sleep(Duration::from_millis(300));
    let before = events(url);
    let out = ok(&jiekun(&["backup", file.to_str().expect("path")], url));
    assert!(out.contains("audit_events_verified"), "{out}");
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let written = w.join().expect("writer");
    let after = events(url);
    assert!(
        written > 0 && after > before,
        "the writer wrote while the copy ran"
    );
    // A backup never overwrites a file.
    let again = jiekun(&["backup", file.to_str().expect("path")], url);
    assert!(!again.status.success());

    let out = ok(&jiekun(
        &["restore", "--force", file.to_str().expect("path")],
        restored,
    ));
    assert!(out.contains("audit_events_verified"), "{out}");
    let copied = events(restored);
    assert!(
        (before..=after).contains(&copied),
        "the copy holds {copied} events: between {before} and {after}"
    );
    let verify = ok(&jiekun(&["audit", "verify"], restored));
    assert!(verify.contains("audit chain intact"), "{verify}");
}

#[test]
fn sqlite_backup_under_writes_restores_with_an_intact_chain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("live.db").display());
    let file = dir.path().join("copy.db");
    let restored = format!("sqlite://{}", dir.path().join("restored.db").display());
    round_trip(&url, &file, &restored);

    // A damaged copy is refused, and the database it would replace is left as it was.
    let bytes = std::fs::read(&file).expect("read");
    let damaged = dir.path().join("damaged.db");
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).expect("write");
    let before = events(&restored);
    let out = jiekun(
        &["restore", "--force", damaged.to_str().expect("path")],
        &restored,
    );
    assert!(!out.status.success());
    assert_eq!(events(&restored), before);
    // Without --force an existing database is not replaced.
    let out = jiekun(&["restore", file.to_str().expect("path")], &restored);
    assert!(!out.status.success());
}

/// A throwaway PostgreSQL database, dropped afterwards.
struct Database {
    name: String,
    url: String,
}

impl Database {
    fn create(admin: &mut PgConnection, base: &str) -> Database {
        let name = format!("jiekun_backup_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        let root = base.rsplit_once('/').map_or(base, |(b, _)| b);
        let url = format!("{root}/{name}");
        Database { name, url }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&postgres_base_url()) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

#[test]
fn postgres_backup_under_writes_restores_with_an_intact_chain() {
    let Some(mut admin) = postgres_admin() else {
        return;
    };
    let base = postgres_base_url();
    let live = Database::create(&mut admin, &base);
    let restored = Database::create(&mut admin, &base);
    let dir = tempfile::tempdir().expect("temp dir");
    round_trip(&live.url, &dir.path().join("copy.dump"), &restored.url);
    // Without --force nothing is replaced.
    let out = jiekun(
        &[
            "restore",
            dir.path().join("copy.dump").to_str().expect("path"),
        ],
        &restored.url,
    );
    assert!(!out.status.success());
}
