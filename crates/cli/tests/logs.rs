//! The logs hold no secrets: a real `jiekun demo` and `jiekun serve`, at the most verbose log
//! level, through sign-ins (right and wrong passwords), reads of files with identity numbers
//! revealed, and an API key made and used. Neither process's output may hold an identity number,
//! a password, a token, a key or a secret.

use std::io::Read;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

const JWT_SECRET: &str = "logs-secret-logs-secret-logs-secret-0123";
const DEMO_PASSWORD: &str = "Jiekun-demo-2026";
const WRONG_PASSWORD: &str = "Wrong-Secret-Pass-77";

fn data_key() -> String {
    "6b".repeat(32)
}

#[test]
fn no_identity_number_password_token_or_key_reaches_the_logs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", dir.path().join("logs.db").display());
    let demo = Command::new(env!("CARGO_BIN_EXE_jiekun"))
        .args(["demo", "--households", "12", "--cases", "3"])
        .env("JIEKUN_DATABASE_URL", &db)
        .env("JIEKUN_DATA_KEY", data_key())
        .env("JIEKUN_LOG", "trace")
        .output()
        .expect("jiekun demo");
    assert!(demo.status.success());
    let mut logs = String::from_utf8_lossy(&demo.stdout).into_owned();
    logs.push_str(&String::from_utf8_lossy(&demo.stderr));

    let out_path = dir.path().join("serve.log");
    let out = std::fs::File::create(&out_path).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_jiekun"))
        .args(["serve", "--bind", "127.0.0.1:0", "--workers", "1"])
        .env("JIEKUN_DATABASE_URL", &db)
        .env("JIEKUN_JWT_SECRET", JWT_SECRET)
        .env("JIEKUN_DATA_KEY", data_key())
        .env("JIEKUN_LOG", "trace")
        .stdout(out.try_clone().expect("clone"))
        .stderr(out)
        .spawn()
        .expect("jiekun serve");
    let base = (0..600)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            let text = std::fs::read_to_string(&out_path).unwrap_or_default();
            text.lines()
                .find_map(|l| l.strip_prefix("jiekun is serving on "))
                .map(|r| r.split_whitespace().next().unwrap_or_default().to_owned())
        })
        .expect("the server did not start");
    let c = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let url = |p: &str| format!("{base}{p}");
    let sign_in = |user: &str, password: &str| -> Value {
        c.post(url("/api/v1/auth/token"))
            .json(&json!({"username": user, "password": password}))
            .send()
            .expect("sign in")
            .json()
            .expect("json")
    };
    assert!(sign_in("xixiang.reviewer", WRONG_PASSWORD)["access_token"].is_null());
    // A request with an id of the caller's: what it logs, on the thread that does its database
    // work too, is in a span carrying that id.
    let traced = c
        .post(url("/api/v1/auth/token"))
        .header("x-request-id", "logs-span-check-1")
        .json(&json!({"username": "xixiang.reviewer", "password": WRONG_PASSWORD}))
        .send()
        .expect("sign in");
    assert_eq!(traced.status().as_u16(), 401);
    let reviewer = sign_in("xixiang.reviewer", DEMO_PASSWORD)["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let admin = sign_in("xixiang.admin", DEMO_PASSWORD)["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    // Files read with identity numbers revealed (and so audited).
    let page: Value = c
        .get(url("/api/v1/households?limit=5"))
        .bearer_auth(&reviewer)
        .send()
        .expect("list")
        .json()
        .expect("json");
    let mut ids = Vec::new();
    for h in page["items"].as_array().expect("items") {
        let id = h["id"].as_str().expect("id");
        let file: Value = c
            .get(url(&format!("/api/v1/households/{id}?reveal=all")))
            .bearer_auth(&reviewer)
            .send()
            .expect("get")
            .json()
            .expect("json");
        for m in file["members"].as_array().into_iter().flatten() {
            if let Some(n) = m["national_id"].as_str() {
                ids.push(n.to_owned());
            }
        }
    }
    assert!(!ids.is_empty(), "no identity numbers were read");
    assert!(
        ids.iter().all(|n| n.len() == 18 && !n.contains('*')),
        "{ids:?}"
    );

    // A key made and used.
    let depts: Value = c
        .get(url("/api/v1/departments?limit=1"))
        .bearer_auth(&admin)
        .send()
        .expect("departments")
        .json()
        .expect("json");
    let dept = depts["items"][0]["id"].as_str().expect("a department");
    let made: Value = c
        .post(url("/api/v1/api-keys"))
        .bearer_auth(&admin)
        .json(&json!({"department_id": dept, "name": "日志检查", "scopes": ["referrals:read"]}))
        .send()
        .expect("key")
        .json()
        .expect("json");
    let key = made["key"].as_str().expect("the key").to_owned();
    let used = c
        .get(url("/api/v1/referrals"))
        .header("Authorization", format!("ApiKey {key}"))
        .send()
        .expect("referrals");
    assert_eq!(used.status().as_u16(), 200);

    let _ = child.kill();
    let _ = child.wait();
    let mut serve_log = String::new();
    std::fs::File::open(&out_path)
        .expect("log")
        .read_to_string(&mut serve_log)
        .expect("read");
    logs.push_str(&serve_log);
    // The logs are there to be searched: requests were logged.
    assert!(
        serve_log.contains("/api/v1/households"),
        "nothing was logged"
    );
    let secrets: Vec<(&str, String)> = [
        ("a wrong password", WRONG_PASSWORD.to_owned()),
        ("an access token", reviewer.clone()),
        (
            "the signature of an access token",
            reviewer.rsplit('.').next().unwrap_or_default().to_owned(),
        ),
        ("an API key", key.clone()),
        ("the token secret", JWT_SECRET.to_owned()),
        ("the data key", data_key()),
    ]
    .into_iter()
    .chain(ids.iter().map(|n| ("an identity number", n.clone())))
    .collect();
    let in_span = serve_log.lines().find(|l| {
        l.contains("request{request_id=logs-span-check-1") && l.contains("database work")
    });
    assert!(
        in_span.is_some(),
        "no database work logged in the request's span"
    );
    // The demo states its own published password when it loads its users; the server never does.
    assert!(
        !serve_log.contains(DEMO_PASSWORD),
        "a password is in the server's logs"
    );
    for (what, secret) in &secrets {
        assert!(!logs.contains(secret.as_str()), "{what} is in the logs");
    }
    // Nor the identity numbers' 17 leading digits, which say who it is without the check digit.
    for n in &ids {
        assert!(
            !logs.contains(&n[..17]),
            "an identity number is in the logs"
        );
    }
}
