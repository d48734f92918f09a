//! `jiekun keys rotate-data-key` on demo data, on SQLite and on PostgreSQL
//! (`JIEKUN_TEST_POSTGRES_URL`; skipped loudly without it, except under `CI=true`, where it
//! fails): a server holding the new key and the old one serves every file, with the same
//! identity numbers, before, during and after the rotation; a rotation stopped after one batch
//! resumes; afterwards no value is under the old key, a server with the new key alone reads every
//! file and finds people by identity number (the blind index was rebuilt), and the audit chain
//! verifies.

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::Duration;

use diesel::{QueryableByName, RunQueryDsl};
use jiekun_store::{Pool, PoolOptions};
use serde_json::{json, Value};

mod common;
use common::{Schema, Serve};

const JWT_SECRET: &str = "keys-secret-keys-secret-keys-secret-0123";
const DEMO_PASSWORD: &str = "Jiekun-demo-2026";

fn old_key() -> String {
    "6b".repeat(32)
}

fn new_key() -> String {
    "7c".repeat(32)
}

fn jiekun(args: &[&str], url: &str, keys: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jiekun"));
    cmd.args(args)
        .env("JIEKUN_DATABASE_URL", url)
        .env("JIEKUN_LOG", "warn");
    for (k, v) in keys {
        cmd.env(k, v);
    }
    cmd.output().expect("run jiekun")
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

fn serve(url: &str, keys: &[(&str, String)]) -> Serve {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jiekun"));
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
        .env("JIEKUN_DATABASE_URL", url)
        .env("JIEKUN_JWT_SECRET", JWT_SECRET)
        .env("JIEKUN_LOG", "warn");
    for (k, v) in keys {
        cmd.env(k, v);
    }
    Serve::start(cmd)
}

/// A signed-in reviewer of a server.
struct Reader {
    client: reqwest::blocking::Client,
    base: String,
    token: String,
}

impl Reader {
    fn new(server: &Serve) -> Reader {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let body: Value = client
            .post(format!("{}/api/v1/auth/token", server.base))
            .json(&json!({"username": "xixiang.reviewer", "password": DEMO_PASSWORD}))
            .send()
            .expect("sign in")
            .json()
            .expect("json");
        Reader {
            client,
            base: server.base.clone(),
            token: body["access_token"].as_str().expect("token").to_owned(),
        }
    }

    fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .expect("get");
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }

    /// Every file the reviewer sees, with its members' identity numbers revealed.
    fn files(&self) -> BTreeMap<String, Vec<String>> {
        let (status, page) = self.get("/api/v1/households?limit=200");
        assert_eq!(status, 200, "{page}");
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|h| {
                let id = h["id"].as_str().expect("id").to_owned();
                let (status, file) = self.get(&format!("/api/v1/households/{id}?reveal=all"));
                assert_eq!(status, 200, "{file}");
                let numbers = file["members"]
                    .as_array()
                    .expect("members")
                    .iter()
                    .map(|m| m["national_id"].as_str().expect("revealed").to_owned())
                    .collect();
                (id, numbers)
            })
            .collect()
    }

    /// The households holding this identity number.
    fn search(&self, national_id: &str) -> Vec<String> {
        let r: Value = self
            .client
            .post(format!("{}/api/v1/households/search", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"national_id": national_id}))
            .send()
            .expect("search")
            .json()
            .expect("json");
        r.as_array()
            .unwrap_or_else(|| panic!("{r}"))
            .iter()
            .map(|h| h["id"].as_str().expect("id").to_owned())
            .collect()
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Stored values not under the key `id`, in every encrypted column.
fn not_under(url: &str, id: &str) -> i64 {
    let pool = Pool::open(url, &PoolOptions::default()).expect("pool");
    let mut c = pool.get().expect("connection");
    let p = format!("v2:{id}:%");
    [
        ("household_members", "national_id_enc"),
        ("household_members", "health_enc"),
        ("households", "bank_account_enc"),
        ("assessments", "snapshot_enc"),
        ("exchange_secrets", "secret_enc"),
    ]
    .iter()
    .map(|(table, column)| {
        diesel::sql_query(format!(
            "SELECT COUNT(*) AS n FROM {table} WHERE {column} NOT LIKE '{p}'"
        ))
        .get_result::<Count>(&mut c)
        .expect("count")
        .n
    })
    .sum()
}

fn rotation(url: &str) {
    let old = [("JIEKUN_DATA_KEY", old_key())];
    let both = [
        ("JIEKUN_DATA_KEY", new_key()),
        ("JIEKUN_PREVIOUS_DATA_KEY", old_key()),
    ];
    let new = [("JIEKUN_DATA_KEY", new_key())];
    ok(&jiekun(
        &["demo", "--households", "60", "--cases", "20"],
        url,
        &old,
    ));
    let before = {
        let server = serve(url, &old);
        Reader::new(&server).files()
    };
    assert!(before.len() > 20, "{} files", before.len());

    // The servers now hold both keys. A rotation stopped after one batch leaves the rest.
    let server = serve(url, &both);
    let reader = Reader::new(&server);
    assert_eq!(reader.files(), before);
    let first = ok(&jiekun(
        &[
            "keys",
            "rotate-data-key",
            "--batch",
            "25",
            "--max-batches",
            "1",
        ],
        url,
        &both,
    ));
    assert!(first.contains("household_members: 25 rows"), "{first}");
    assert!(first.contains("run the rotation again"), "{first}");
    let key_id = first
        .split("rotating to data key ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .expect("the key id")
        .to_owned();
    let left = not_under(url, &key_id);
    assert!(left > 0);

    // The rest, in small batches, while the server goes on reading every file.
    let rest = {
        let url = url.to_owned();
        let both = both.clone();
        std::thread::spawn(move || {
            ok(&jiekun(
                &["keys", "rotate-data-key", "--batch", "7"],
                &url,
                &both,
            ))
        })
    };
    let mut reads = 0;
    while !rest.is_finished() {
        assert_eq!(reader.files(), before, "a read during the rotation");
        reads += 1;
    }
    let out = rest.join().expect("rotation");
    assert!(
        out.contains("every stored value is under data key"),
        "{out}"
    );
    assert!(reads > 0);
    assert_eq!(not_under(url, &key_id), 0);
    // Run again, it has nothing to do.
    let again = ok(&jiekun(&["keys", "rotate-data-key"], url, &both));
    assert!(again.contains("rotated 0 rows"), "{again}");
    drop(server);

    // The new key alone reads everything and finds people by their identity number.
    let server = serve(url, &new);
    let reader = Reader::new(&server);
    assert_eq!(reader.files(), before);
    let (household, numbers) = before.iter().next().expect("a file");
    assert!(reader.search(&numbers[0]).contains(household));
    let verify = ok(&jiekun(&["audit", "verify"], url, &[]));
    assert!(verify.contains("audit chain intact"), "{verify}");
    // The old key alone no longer reads the files.
    drop(server);
    let server = serve(url, &old);
    let reader = Reader::new(&server);
    let (status, _) = reader.get(&format!("/api/v1/households/{household}?reveal=all"));
    assert_ne!(status, 200);
}

#[test]
fn sqlite_rotation_serves_reads_throughout_and_resumes() {
    let dir = tempfile::tempdir().expect("temp dir");
    rotation(&format!(
        "sqlite://{}",
        dir.path().join("keys.db").display()
    ));
}

#[test]
fn postgres_rotation_serves_reads_throughout_and_resumes() {
    let Some(schema) = Schema::create() else {
        return;
    };
    rotation(&schema.url);
}
