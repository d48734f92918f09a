//! What the tests that run the `jiekun` binary share: a server process, and PostgreSQL for them.
// Each test file uses some of these, never all.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel::PgConnection;

pub mod mid_write;

/// The PostgreSQL the tests use (`JIEKUN_TEST_POSTGRES_URL`).
pub fn postgres_base_url() -> String {
    std::env::var("JIEKUN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A connection to the tests' PostgreSQL, or `None` when it does not answer: the test is then
/// skipped, loudly — except under `CI=true`, where it fails.
pub fn postgres_admin() -> Option<PgConnection> {
    let base = postgres_base_url();
    match PgConnection::establish(&base) {
        Ok(c) => Some(c),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PostgreSQL is required under CI=true but {base} does not answer: {e}")
        }
        Err(e) => {
            eprintln!(
                "\n!!! SKIPPED: PostgreSQL test — {base} does not answer ({e}). Set JIEKUN_TEST_POSTGRES_URL.\n"
            );
            None
        }
    }
}

/// A PostgreSQL schema of its own, dropped afterwards, and the URL that uses it.
pub struct Schema {
    pub name: String,
    pub url: String,
}

impl Schema {
    pub fn create() -> Option<Schema> {
        let mut admin = postgres_admin()?;
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .expect("create schema");
        let base = postgres_base_url();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{name}");
        Some(Schema { name, url })
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&postgres_base_url()) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// A running `jiekun serve`, killed when dropped.
pub struct Serve {
    pub child: Child,
    /// `http://host:port`.
    pub base: String,
    /// `host:port`.
    pub addr: String,
    /// `host:port` of the metrics listener, when there is one.
    pub metrics: Option<String>,
}

impl Serve {
    /// Spawns `cmd` (a `jiekun serve` with its arguments and environment) and waits until it says
    /// where it serves.
    pub fn start(mut cmd: Command) -> Serve {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run jiekun serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut metrics = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.trim().strip_prefix("Metrics (Prometheus):  http://") {
                    metrics = rest.strip_suffix("/metrics").map(str::to_owned);
                }
                if let Some(rest) = line.strip_prefix("jiekun is serving on http://") {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send((addr.to_owned(), metrics.clone()));
                }
            }
        });
        let (addr, metrics) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server did not start");
        Serve {
            child,
            base: format!("http://{addr}"),
            addr,
            metrics,
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The `n` that `sql` (`SELECT COUNT(*) AS n …`) counts in the database at `url`.
pub fn count(url: &str, sql: &str) -> i64 {
    let pool = jiekun_store::Pool::open(url, &jiekun_store::PoolOptions::default()).expect("pool");
    let mut c = pool.get().expect("connection");
    let rows: Vec<Count> = match &mut *c {
        jiekun_store::DbConnection::Sqlite(s) => diesel::sql_query(sql).load(s),
        jiekun_store::DbConnection::Postgres(p) => diesel::sql_query(sql).load(p),
    }
    .expect("count");
    rows[0].n
}

/// 公安 of 西乡县 in a demo registry at `url`, and its exchange secret, issued as the API would
/// under the data key `key`.
pub fn department_and_secret(url: &str, key: &str) -> (String, String) {
    let pool = jiekun_store::Pool::open(url, &jiekun_store::PoolOptions::default()).expect("pool");
    let mut c = pool.get().expect("connection");
    let filter = jiekun_store::departments::DepartmentFilter {
        code: Some(jiekun_domain::DepartmentCode::PublicSecurity),
        ..Default::default()
    };
    let page = jiekun_store::PageRequest {
        after: None,
        limit: 50,
    };
    let dept = jiekun_store::departments::list(&mut c, &jiekun_store::Scope::All, &filter, &page)
        .expect("departments")
        .items[0]
        .id
        .clone();
    let doer = jiekun_store::measures::Doer {
        name: "test".into(),
        role: None,
        unit: jiekun_store::measures::Unit::Organisation { id: String::new() },
        scope: jiekun_store::Scope::All,
        caller: jiekun_store::audit::Caller {
            actor: jiekun_store::audit::Actor {
                kind: "system",
                name: Some("test".into()),
                ..Default::default()
            },
            ..Default::default()
        },
    };
    let cipher = jiekun_store::crypto::FieldCipher::from_key_text(key).expect("key");
    let secret = jiekun_store::sharing::exchange::issue_secret(
        &mut c,
        &cipher,
        &doer,
        jiekun_store::now(),
        &dept,
    )
    .expect("secret");
    (dept, secret)
}
