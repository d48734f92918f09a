//! SIGKILL in the middle of an exchange import (`jiekun exchange import`): the process is caught
//! inside its one write transaction (see `common::mid_write`; on PostgreSQL with every fact, task
//! and batch mark written and only the audit event to go) and killed. Afterwards no fact, task
//! answer, difference or batch mark is there, `jiekun audit verify` passes, the same file imports
//! in full, and a third import changes nothing. On SQLite and on PostgreSQL.

use std::process::{Command, Stdio};

use jiekun_store::sharing::exchange::{sha256_hex, sign, signing_text};

mod common;
use common::mid_write::{lock_head, named, wait_mid_write};
use common::{count, department_and_secret, Schema};

const KEY: &str = "3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e";

fn jiekun(url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jiekun"));
    cmd.args(args)
        .env("JIEKUN_DATABASE_URL", url)
        .env("JIEKUN_DATA_KEY", KEY)
        .env("JIEKUN_LOG", "warn");
    cmd
}

fn run(url: &str, args: &[&str]) -> String {
    let out = jiekun(url, args).output().expect("run jiekun");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "jiekun {args:?}: {text}");
    text
}

/// Exports 公安's open tasks and writes its signed answer (no vehicle for anybody) beside them;
/// returns the answer's path and its number of rows.
fn answer_file(url: &str, dir: &std::path::Path) -> (std::path::PathBuf, u64) {
    let (dept, secret) = department_and_secret(url, KEY);
    let outdir = dir.join("out");
    run(
        url,
        &[
            "exchange",
            "export",
            &dept,
            "--out",
            outdir.to_str().unwrap(),
        ],
    );
    let file = std::fs::read_dir(&outdir)
        .expect("out")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .expect("the batch");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!(
            "{}.manifest.json",
            file.with_extension("").display()
        ))
        .expect("manifest"),
    )
    .expect("json");
    let batch = manifest["batch_id"].as_str().expect("batch").to_owned();
    let sent = String::from_utf8(std::fs::read(&file).expect("batch")).expect("utf-8");
    let day = (chrono::Utc::now() - chrono::TimeDelta::days(1))
        .date_naive()
        .to_string();
    let mut lines = sent.trim_start_matches('\u{feff}').lines();
    let mut answer = format!(
        "{}\n{}\n",
        lines.next().expect("header"),
        lines.next().expect("keys")
    );
    let mut rows = 0u64;
    for l in lines {
        let mut cells: Vec<String> = l.split(',').map(str::to_owned).collect();
        cells[7] = day.clone();
        cells[8] = "0".into();
        answer.push_str(&cells.join(","));
        answer.push('\n');
        rows += 1;
    }
    let path = dir.join("answer.csv");
    std::fs::write(&path, &answer).expect("answer");
    let sha = sha256_hex(answer.as_bytes());
    let m = serde_json::json!({"batch_id": batch, "rows": rows, "sha256": sha,
        "signature": sign(secret.as_bytes(), &signing_text(&batch, rows, &sha))});
    std::fs::write(dir.join("answer.csv.manifest.json"), m.to_string()).expect("manifest");
    (path, rows)
}

fn killed_mid_import(url: &str, app: &str, dir: &std::path::Path) {
    run(url, &["demo", "--households", "4000", "--cases", "4000"]);
    let (answer, rows) = answer_file(url, dir);
    assert!(rows >= 100, "the demo leaves tasks for 公安: {rows} rows");
    let facts = "SELECT COUNT(*) AS n FROM verified_facts";
    let before = (
        count(url, facts),
        count(url, "SELECT COUNT(*) AS n FROM discrepancies"),
    );
    let answered = "SELECT COUNT(*) AS n FROM verification_tasks WHERE answered_via = 'exchange'";
    let imported = "SELECT COUNT(*) AS n FROM exchange_batches WHERE imported_at IS NOT NULL";
    let events = "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'exchange.import'";

    let held = lock_head(url);
    let mut child = jiekun(
        &named(url, app),
        &["exchange", "import", answer.to_str().unwrap()],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("import");
    wait_mid_write(url, app, &held, &mut child);
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    held.release();

    // Nothing of the batch is there.
    assert_eq!(
        (
            count(url, facts),
            count(url, "SELECT COUNT(*) AS n FROM discrepancies")
        ),
        before
    );
    assert_eq!(count(url, answered), 0);
    assert_eq!(count(url, imported), 0);
    assert_eq!(count(url, events), 0);
    run(url, &["audit", "verify"]);

    // The same file imports in full, once.
    let done = run(url, &["exchange", "import", answer.to_str().unwrap()]);
    assert!(done.contains("tasks answered"), "{done}");
    assert_eq!(
        count(url, answered),
        count(url, "SELECT COUNT(*) AS n FROM exchange_batch_tasks")
    );
    assert_eq!(count(url, facts), before.0 + rows as i64);
    assert_eq!(count(url, imported), 1);
    let again = run(url, &["exchange", "import", answer.to_str().unwrap()]);
    assert!(again.contains("nothing changed"), "{again}");
    assert_eq!(count(url, events), 1);
    run(url, &["audit", "verify"]);
}

#[test]
fn sqlite_sigkill_mid_exchange_import_applies_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("import.db").display());
    killed_mid_import(&url, "", dir.path());
}

#[test]
fn postgres_sigkill_mid_exchange_import_applies_nothing() {
    if let Some(schema) = Schema::create() {
        let dir = tempfile::tempdir().expect("temp dir");
        killed_mid_import(&schema.url, &schema.name, dir.path());
    }
}
