//! `jiekun audit archive` and `jiekun audit verify-archive`, on SQLite and on PostgreSQL
//! (`JIEKUN_TEST_POSTGRES_URL`; skipped loudly without it, except under `CI=true`, where it
//! fails): the last six months always stay; old events move to signed files whose chains carry
//! on from one archive to the next and into the database, where `audit verify` still passes; a
//! changed file, a changed manifest or another key is refused; events not archived stay
//! append-only.

use std::path::Path;
use std::process::{Command, Output};

use chrono::{Months, NaiveDateTime, TimeDelta};
use diesel::connection::SimpleConnection;
use jiekun_store::audit::{self, Actor, Caller};
use jiekun_store::{Pool, PoolOptions};
use serde_json::Value;

mod common;
use common::Schema;

fn key() -> String {
    "5a".repeat(32)
}

fn jiekun(args: &[&str], url: &str, data_key: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jiekun"))
        .args(args)
        .env("JIEKUN_DATABASE_URL", url)
        .env("JIEKUN_DATA_KEY", data_key)
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

fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Appends `n` events, the first at `at` and then one a minute.
fn events(pool: &Pool, n: i64, at: NaiveDateTime) {
    let mut c = pool.get().expect("connection");
    let caller = Caller {
        actor: Actor {
            kind: "system",
            name: Some("archive test".into()),
            ..Actor::default()
        },
        ..Caller::default()
    };
    for i in 0..n {
        jiekun_store::write(&mut c, |c| {
            audit::append_at(
                c,
                caller.event(
                    "test.event",
                    "test",
                    &i.to_string(),
                    serde_json::json!({"i": i}),
                ),
                at + TimeDelta::minutes(i),
            )
        })
        .expect("append");
    }
}

fn verification(url: &str) -> Value {
    let out = ok(&jiekun(&["audit", "verify"], url, &key()));
    assert!(out.contains("audit chain intact"), "{out}");
    let json = out.rsplit_once("audit chain intact").expect("verdict").0;
    serde_json::from_str(json.trim()).expect("verification json")
}

/// The manifest of an archive file (its last line).
fn manifest(file: &Path) -> Value {
    let text = std::fs::read_to_string(file).expect("read");
    serde_json::from_str(text.lines().last().expect("a line")).expect("manifest")
}

/// A day (China Standard Time) `months` months before now.
fn months_ago(months: u32, days: i64) -> String {
    let now = chrono::Utc::now().naive_utc() + TimeDelta::hours(8);
    (now.checked_sub_months(Months::new(months)).expect("date") - TimeDelta::days(days))
        .date()
        .to_string()
}

fn retention(url: &str) {
    ok(&jiekun(&["migrate"], url, &key()));
    let pool = Pool::open(url, &PoolOptions::default()).expect("pool");
    let now = jiekun_store::now();
    let ago = |m: u32| now.checked_sub_months(Months::new(m)).expect("date");
    events(&pool, 40, ago(10));
    events(&pool, 30, ago(8));
    events(&pool, 20, now);
    let dir = tempfile::tempdir().expect("temp dir");
    let first = dir.path().join("audit-1.jsonl");
    let second = dir.path().join("audit-2.jsonl");
    let path = |p: &Path| p.to_str().expect("path").to_owned();

    // The last six months always stay.
    let out = failed(&jiekun(
        &[
            "audit",
            "archive",
            "--before",
            &months_ago(5, 0),
            &path(&first),
        ],
        url,
        &key(),
    ));
    assert!(out.contains("always kept"), "{out}");
    assert!(!first.exists());
    assert_eq!(verification(url)["checked"], 90);

    // Events of ten months ago move to the first file.
    let out = ok(&jiekun(
        &[
            "audit",
            "archive",
            "--before",
            &months_ago(9, 0),
            &path(&first),
        ],
        url,
        &key(),
    ));
    assert!(out.contains("archived events 1 to 40 (40)"), "{out}");
    let v = verification(url);
    assert_eq!(
        (v["archived"].as_i64(), v["checked"].as_i64()),
        (Some(40), Some(51))
    );
    let out = ok(&jiekun(
        &["audit", "verify-archive", &path(&first)],
        url,
        &key(),
    ));
    assert!(out.contains("archive intact: events 1 to 40 (40)"), "{out}");
    // Nothing is left before that day; a file is never overwritten.
    failed(&jiekun(
        &[
            "audit",
            "archive",
            "--before",
            &months_ago(9, 0),
            &path(&second),
        ],
        url,
        &key(),
    ));
    failed(&jiekun(
        &[
            "audit",
            "archive",
            "--before",
            &months_ago(7, 0),
            &path(&first),
        ],
        url,
        &key(),
    ));

    // Those of eight months ago follow, chained onto the first file.
    let out = ok(&jiekun(
        &[
            "audit",
            "archive",
            "--before",
            &months_ago(7, 0),
            &path(&second),
        ],
        url,
        &key(),
    ));
    assert!(out.contains("archived events 41 to 70 (30)"), "{out}");
    assert_eq!(
        manifest(&second)["prev_hash"],
        manifest(&first)["last_hash"]
    );
    let v = verification(url);
    assert_eq!(
        (v["archived"].as_i64(), v["checked"].as_i64()),
        (Some(70), Some(22))
    );
    for f in [&first, &second] {
        ok(&jiekun(&["audit", "verify-archive", &path(f)], url, &key()));
    }

    // Another key, a changed event, a changed manifest: refused.
    let out = failed(&jiekun(
        &["audit", "verify-archive", &path(&second)],
        url,
        &"6c".repeat(32),
    ));
    assert!(out.contains("signature"), "{out}");
    let text = std::fs::read_to_string(&second).expect("read");
    let changed_event = dir.path().join("changed-event.jsonl");
    std::fs::write(&changed_event, text.replacen("\"i\\\":3}", "\"i\\\":4}", 1)).expect("write");
    assert_ne!(std::fs::read_to_string(&changed_event).expect("read"), text);
    let out = failed(&jiekun(
        &["audit", "verify-archive", &path(&changed_event)],
        url,
        &key(),
    ));
    assert!(out.contains("NOT valid"), "{out}");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut m: Value = serde_json::from_str(lines.last().expect("manifest")).expect("json");
    m["events"] = Value::from(29);
    *lines.last_mut().expect("manifest") = m.to_string();
    let changed_manifest = dir.path().join("changed-manifest.jsonl");
    std::fs::write(&changed_manifest, lines.join("\n") + "\n").expect("write");
    let out = failed(&jiekun(
        &["audit", "verify-archive", &path(&changed_manifest)],
        url,
        &key(),
    ));
    assert!(out.contains("signature"), "{out}");

    // Events not archived stay append-only.
    let mut c = pool.get().expect("connection");
    let deleted = match &mut *c {
        jiekun_store::DbConnection::Sqlite(s) => {
            s.batch_execute("DELETE FROM audit_events WHERE seq = 80")
        }
        jiekun_store::DbConnection::Postgres(p) => {
            p.batch_execute("DELETE FROM audit_events WHERE seq = 80")
        }
    };
    assert!(deleted.is_err());
    verification(url);
}

#[test]
fn sqlite_old_events_move_to_signed_archives_and_the_chain_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    retention(&format!(
        "sqlite://{}",
        dir.path().join("audit.db").display()
    ));
}

#[test]
fn postgres_old_events_move_to_signed_archives_and_the_chain_holds() {
    let Some(schema) = Schema::create() else {
        return;
    };
    retention(&schema.url);
}
