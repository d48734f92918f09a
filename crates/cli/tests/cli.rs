//! The `jiekun` binary, run as an operator would run it.

use std::process::{Command, Output};

mod common;

fn jiekun(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jiekun"))
        .args(args)
        .env("JIEKUN_DATABASE_URL", db)
        .env_remove("JIEKUN_ADMIN_PASSWORD")
        .output()
        .expect("run jiekun")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("j.db").display());
    (dir, url)
}

#[test]
fn init_creates_the_root_and_an_admin_once() {
    let (_dir, db) = sqlite();
    let out = jiekun(&db, &["admin", "init", "--username", "root"]);
    assert!(out.status.success(), "{}", text(&out));
    let printed = text(&out);
    assert!(printed.contains("汉中市总工会"));
    assert!(printed.contains("password (shown once): "), "{printed}");
    let again = jiekun(&db, &["admin", "init", "--username", "root"]);
    assert!(!again.status.success());
    assert!(text(&again).contains("initialised"));
    let weak = Command::new(env!("CARGO_BIN_EXE_jiekun"))
        .args(["admin", "init", "--username", "other"])
        .env("JIEKUN_DATABASE_URL", &db)
        .env("JIEKUN_ADMIN_PASSWORD", "short")
        .output()
        .unwrap();
    assert!(!weak.status.success(), "weak passwords are refused");
}

#[test]
fn demo_is_idempotent_and_keys_are_issued_once() {
    let (_dir, db) = sqlite();
    let first = jiekun(&db, &["demo"]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("xixiang.admin"));
    let second = jiekun(&db, &["demo"]);
    assert!(text(&second).contains("0 new records"), "{}", text(&second));

    let pool = jiekun_store::Pool::open(&db, &jiekun_store::PoolOptions::default()).unwrap();
    let mut c = pool.get().unwrap();
    let page = jiekun_store::departments::list(
        &mut c,
        &jiekun_store::Scope::All,
        &Default::default(),
        &jiekun_store::PageRequest {
            after: None,
            limit: 1,
        },
    )
    .unwrap();
    let dept = &page.items[0].id;
    let made = jiekun(
        &db,
        &[
            "admin",
            "api-key",
            "create",
            "--department-id",
            dept,
            "--name",
            "核对",
            "--scope",
            "directory:read",
            "--allow",
            "10.0.0.0/8",
        ],
    );
    assert!(made.status.success(), "{}", text(&made));
    let printed = text(&made);
    let key = printed.split("key (shown once): ").nth(1).unwrap().trim();
    assert!(key.starts_with("jk_") && key.len() == 59, "{key}");
    let stored = jiekun_store::api_keys::list(
        &mut c,
        &jiekun_store::Scope::All,
        &Default::default(),
        &jiekun_store::PageRequest {
            after: None,
            limit: 10,
        },
    )
    .unwrap();
    assert_eq!(stored.items.len(), 1);
    assert!(
        !stored.items[0].key.secret_hash.contains(&key[16..]),
        "only a hash is stored"
    );
    assert_eq!(
        stored.items[0].key.allowed_addresses.as_deref(),
        Some("10.0.0.0/8")
    );
    let bad = jiekun(
        &db,
        &[
            "admin",
            "api-key",
            "create",
            "--department-id",
            "nope",
            "--name",
            "x",
            "--scope",
            "directory:read",
        ],
    );
    assert!(!bad.status.success());
    let bad_scope = jiekun(
        &db,
        &[
            "admin",
            "api-key",
            "create",
            "--department-id",
            "nope",
            "--name",
            "x",
            "--scope",
            "root",
        ],
    );
    assert!(text(&bad_scope).contains("unknown scope"));
}

#[test]
fn audit_verify_reports_an_intact_chain() {
    let (_dir, db) = sqlite();
    assert!(jiekun(&db, &["demo"]).status.success());
    let out = jiekun(&db, &["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("audit chain intact"));
}

#[test]
fn bad_configuration_stops_with_a_clear_message() {
    let out = jiekun("postgress://u@h/db", &["migrate"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("unsupported database URL scheme"),
        "{}",
        text(&out)
    );
    let out = jiekun("sqlite:///no/such/folder/j.db", &["migrate"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("does not exist"), "{}", text(&out));
    let (_dir, db) = sqlite();
    let out = Command::new(env!("CARGO_BIN_EXE_jiekun"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("JIEKUN_DATABASE_URL", &db)
        .env_remove("JIEKUN_JWT_SECRET")
        .env_remove("JIEKUN_JWT_SECRET_FILE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("JIEKUN_JWT_SECRET"), "{}", text(&out));
}

#[test]
fn openapi_prints_the_checked_in_document() {
    let out = Command::new(env!("CARGO_BIN_EXE_jiekun"))
        .arg("openapi")
        .output()
        .unwrap();
    let checked_in = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../openapi/openapi.json"
    ))
    .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), checked_in);
}

#[test]
fn demo_puts_households_through_the_workflows() {
    let (_dir, db) = sqlite();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_jiekun"))
            .args(["demo", "--households", "90"])
            .env("JIEKUN_DATABASE_URL", &db)
            .env("JIEKUN_DATA_KEY", "11".repeat(32))
            .output()
            .expect("run jiekun")
    };
    let out = run();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("workflow cases:"), "{}", text(&out));
    let pool = jiekun_store::Pool::open(&db, &jiekun_store::PoolOptions::default()).unwrap();
    let mut c = pool.get().unwrap();
    let scope = jiekun_store::Scope::All;
    let page = jiekun_store::PageRequest {
        after: None,
        limit: 200,
    };
    let apps =
        jiekun_store::workflows::list_applications(&mut c, &scope, &Default::default(), &page)
            .unwrap()
            .items;
    // Up to a third of the households: those generated as drafts.
    assert!((10..=30).contains(&apps.len()), "{}", apps.len());
    let filed: Vec<_> = apps.iter().filter(|a| a.state == "filed").collect();
    assert!(!filed.is_empty());
    for a in &filed {
        let number = a.file_number.as_deref().unwrap();
        assert!(number.starts_with("610724-"), "{number}");
        let timeline = jiekun_store::workflows::timeline(&mut c, &a.id).unwrap();
        assert_eq!(timeline.last().unwrap().action, "city_approve");
        assert_eq!(
            timeline.last().unwrap().actor_role.as_deref(),
            Some("city_approver")
        );
    }
    assert!(apps.iter().any(|a| a.state == "submitted"));
    // Files generated as already filed carry numbers the workflow continues after, and a review
    // date.
    let households = jiekun_store::households::list(&mut c, &scope, &Default::default(), &page)
        .unwrap()
        .items;
    // Housing agrees with the homes owned: an owner owns a home with a floor area, nobody else
    // owns one.
    assert_eq!(households.len(), 90);
    for h in &households {
        let owned = (h.homes_count, h.homes_area_dm2);
        if h.housing_type == "owned" {
            assert!(owned.0 >= 1 && owned.1 > 0, "{} {owned:?}", h.housing_type);
        } else {
            assert_eq!(owned, (0, 0), "{}", h.housing_type);
        }
    }
    // Each count of the summary appears once, with its label.
    let summary = text(&out);
    let line = summary
        .lines()
        .find(|l| l.starts_with("workflow cases:"))
        .unwrap();
    assert!(
        line.contains(&format!("{} applications (", apps.len())),
        "{line}"
    );
    assert!(
        line.contains(" filed") && line.contains("exit case"),
        "{line}"
    );
    assert!(!line.contains("filed, exit"), "{line}");
    let old = households
        .iter()
        .find(|h| h.status == "filed" && !apps.iter().any(|a| a.household_id == h.id))
        .unwrap();
    assert!(old.file_number.as_deref().unwrap().starts_with("610724-"));
    let life = jiekun_store::workflows::lifecycle(&mut c, &old.id)
        .unwrap()
        .unwrap();
    assert!(life.next_review_due.is_some());
    // One campaign of each kind, its budget split between the county's unions, some paid.
    let campaigns = jiekun_store::campaigns::list(&mut c, &scope, &Default::default(), &page)
        .unwrap()
        .items;
    let mut kinds: Vec<&str> = campaigns.iter().map(|c| c.kind.as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, vec!["golden_autumn", "other", "warmth"]);
    for campaign in &campaigns {
        let quotas = jiekun_store::campaigns::quotas::of_campaign(&mut c, &campaign.id).unwrap();
        assert!(!quotas.is_empty());
        assert!(quotas.iter().map(|q| q.quota_fen).sum::<i64>() <= campaign.budget_fen);
    }
    let line = summary
        .lines()
        .find(|l| l.starts_with("campaigns:"))
        .unwrap();
    assert!(!line.contains(" 0 households paid"), "{line}");
    // Dual contacts with visits, and the gaps they leave.
    let assignments = jiekun_store::contacts::list(&mut c, &scope, &Default::default(), &page)
        .unwrap()
        .items;
    for kind in ["union_enterprise", "leader_household", "cadre_worker"] {
        assert!(assignments.iter().any(|a| a.kind == kind), "{kind}");
    }
    let visits =
        jiekun_store::contacts::list_visits(&mut c, &scope, &Default::default(), &page).unwrap();
    assert!(!visits.items.is_empty());
    let book = jiekun_store::rules::policy_book(&mut c).unwrap();
    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let gaps = jiekun_store::contacts::gaps(&mut c, &scope, today, &book).unwrap();
    let city = jiekun_store::organisations::find_by_name(&mut c, None, "汉中市总工会")
        .unwrap()
        .unwrap();
    let xixiang = jiekun_store::organisations::find_by_name(&mut c, Some(&city.id), "西乡县总工会")
        .unwrap()
        .unwrap();
    for g in &gaps {
        use jiekun_domain::contact::{GapKind as K, Subject};
        assert!(
            !matches!(g.kind, K::LeaderTooFew | K::LeaderTooMany),
            "{g:?}"
        );
        assert_ne!(g.subject, Subject::County(xixiang.id.clone()), "{g:?}");
    }
    assert!(gaps
        .iter()
        .any(|g| g.kind == jiekun_domain::contact::GapKind::ContactNotVisited));
    assert!(summary.contains("dual contacts: "), "{summary}");
    // Loading again adds nothing.
    let again = run();
    assert!(
        text(&again).contains("the county has some already"),
        "{}",
        text(&again)
    );
    assert!(
        text(&again).contains("campaigns: some exist already"),
        "{}",
        text(&again)
    );
    assert!(
        text(&again).contains("dual contacts: some exist already"),
        "{}",
        text(&again)
    );
}

#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    use std::sync::mpsc;

    let (_dir, db) = sqlite();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jiekun"))
        .args(["serve", "--bind", "127.0.0.1:0", "--workers", "1"])
        .env("JIEKUN_DATABASE_URL", &db)
        .env(
            "JIEKUN_JWT_SECRET",
            "pipe-test-secret-pipe-test-secret-0123",
        )
        .env("JIEKUN_DATA_KEY", "22".repeat(32))
        .env("JIEKUN_LOG", "info")
        .env_remove("JIEKUN_LOG_FORMAT")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run jiekun serve");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("jiekun is serving") {
                let _ = tx.send(());
            }
        }
        seen
    });
    let started = rx.recv_timeout(std::time::Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    let logged = reader.join().unwrap();
    let mut errors = String::new();
    stderr.read_to_string(&mut errors).unwrap();
    assert!(
        started.is_ok(),
        "the server did not start:\n{logged}{errors}"
    );
    // The "serving" event is logged just before the banner that was waited for.
    assert!(
        logged.contains("INFO") && logged.contains("serving"),
        "{logged}"
    );
    let all = format!("{logged}{errors}");
    assert!(
        !all.contains("\x1b["),
        "colour codes in piped logs: {all:?}"
    );
}

/// The database holds personal data: a new SQLite file and its -wal/-shm companions are readable
/// by their owner only, like the key files.
#[cfg(unix)]
#[test]
fn migrate_creates_the_sqlite_file_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    let db = format!("sqlite://{}", path.display());
    let out = jiekun(&db, &["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    let mode = |p: &std::path::Path| {
        format!(
            "{:o}",
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777
        )
    };
    assert_eq!(mode(&path), "600", "{}", path.display());
    // A connection left open keeps the -wal and -shm files there to be looked at.
    let pool = jiekun_store::Pool::open(&db, &jiekun_store::PoolOptions::default()).unwrap();
    let _c = pool.get().unwrap();
    for suffix in ["-wal", "-shm"] {
        let companion = dir.path().join(format!("fresh.db{suffix}"));
        assert_eq!(mode(&companion), "600", "{}", companion.display());
    }
    // An existing file keeps the mode it has.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert!(jiekun(&db, &["migrate"]).status.success());
    assert_eq!(mode(&path), "640");
}

#[test]
fn exchange_exports_a_signed_batch_and_imports_its_answer_once() {
    use jiekun_store::sharing::exchange::{sha256_hex, sign, signing_text};
    let (dir, db) = sqlite();
    let key = "11".repeat(32);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_jiekun"))
            .args(args)
            .env("JIEKUN_DATABASE_URL", &db)
            .env("JIEKUN_DATA_KEY", &key)
            .output()
            .expect("run jiekun")
    };
    let out = run(&["demo", "--households", "90"]);
    assert!(out.status.success(), "{}", text(&out));
    // 公安 of 西乡县, and its exchange secret (issued as the API would).
    let (dept, secret) = common::department_and_secret(&db, &key);
    let outdir = dir.path().join("out");
    let out = run(&[
        "exchange",
        "export",
        &dept,
        "--out",
        outdir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let file = std::fs::read_dir(&outdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!(
            "{}.manifest.json",
            file.with_extension("").display()
        ))
        .unwrap(),
    )
    .unwrap();
    let batch = manifest["batch_id"].as_str().unwrap().to_owned();
    let sent = String::from_utf8(std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        sha256_hex(sent.as_bytes()),
        manifest["sha256"].as_str().unwrap()
    );
    // The department answers: no vehicle for anybody, as of yesterday.
    let day = (chrono::Utc::now() - chrono::TimeDelta::days(1))
        .date_naive()
        .to_string();
    let mut lines = sent.trim_start_matches('\u{feff}').lines();
    let mut answer = format!("{}\n{}\n", lines.next().unwrap(), lines.next().unwrap());
    let mut rows = 0u64;
    for l in lines {
        let mut cells: Vec<String> = l.split(',').map(str::to_owned).collect();
        cells[7] = day.clone();
        cells[8] = "0".into();
        answer.push_str(&cells.join(","));
        answer.push('\n');
        rows += 1;
    }
    assert!(rows > 0, "the demo leaves tasks for 公安: {sent}");
    let answer_path = dir.path().join("answer.csv");
    std::fs::write(&answer_path, &answer).unwrap();
    let sha = sha256_hex(answer.as_bytes());
    let m = serde_json::json!({"batch_id": batch, "rows": rows, "sha256": sha,
        "signature": sign(secret.as_bytes(), &signing_text(&batch, rows, &sha))});
    std::fs::write(dir.path().join("answer.csv.manifest.json"), m.to_string()).unwrap();
    let out = run(&["exchange", "import", answer_path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("tasks answered"), "{}", text(&out));
    let again = run(&["exchange", "import", answer_path.to_str().unwrap()]);
    assert!(
        again.status.success() && text(&again).contains("nothing changed"),
        "{}",
        text(&again)
    );
    // A tampered file is refused, and the chain holds.
    std::fs::write(&answer_path, answer.replacen(",0,", ",1,", 1)).unwrap();
    let bad = run(&["exchange", "import", answer_path.to_str().unwrap()]);
    assert!(
        !bad.status.success() && text(&bad).contains("SHA-256"),
        "{}",
        text(&bad)
    );
    let verify = run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
}

#[test]
fn a_closed_output_ends_the_printing_not_the_command() {
    // `jiekun demo | head -c 1`: the reader goes away after one byte; the demo still loads
    // everything, and nothing panics.
    let (_dir, db) = sqlite();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jiekun"))
        .args(["demo", "--households", "3", "--cases", "1"])
        .env("JIEKUN_DATABASE_URL", &db)
        .env("JIEKUN_DATA_KEY", "5d".repeat(32))
        .env("JIEKUN_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run jiekun");
    // Close our end of the pipe at once: every line the demo prints meets a closed pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // It did its work: a second run finds everything loaded.
    let again = jiekun(&db, &["demo"]);
    assert!(text(&again).contains("0 new records"), "{}", text(&again));
}
