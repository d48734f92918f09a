//! Test fixtures: a fresh database per test on either backend, and the real server on a random
//! port in front of it. The same test body runs on SQLite and on PostgreSQL.
#![allow(dead_code)]

use std::net::TcpListener;
use std::sync::mpsc;
use std::sync::OnceLock;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use jiekun_api::{AppConfig, AppState};
use jiekun_store::{DatabaseTarget, Pool, PoolOptions};
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn postgres_base_url() -> String {
    std::env::var("JIEKUN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Whether PostgreSQL answers. Without it the PostgreSQL tests are skipped, loudly — except under
/// `CI=true`, where a missing PostgreSQL is a failure.
fn postgres_available() -> bool {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    let result = AVAILABLE.get_or_init(|| {
        PgConnection::establish(&postgres_base_url())
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => true,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "PostgreSQL is required under CI=true but {} does not answer: {e}",
                postgres_base_url()
            )
        }
        Err(e) => {
            eprintln!(
                "\n!!! SKIPPED: PostgreSQL test — {} does not answer ({e}). Set JIEKUN_TEST_POSTGRES_URL.\n",
                postgres_base_url()
            );
            false
        }
    }
}

/// A database of its own: a temporary SQLite file, or a PostgreSQL schema dropped afterwards.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub pool: Pool,
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
}

impl TestDb {
    pub fn create(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("jiekun.db").display());
                let pool = Pool::open(&url, &small_pool()).expect("open sqlite");
                Some(TestDb {
                    backend,
                    url,
                    pool,
                    _dir: Some(dir),
                    schema: None,
                })
            }
            Backend::Postgres => {
                if !postgres_available() {
                    return None;
                }
                let base = postgres_base_url();
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&base).expect("connect postgres");
                admin
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                let pool = Pool::open(&url, &small_pool()).expect("open postgres");
                Some(TestDb {
                    backend,
                    url,
                    pool,
                    _dir: None,
                    schema: Some(schema),
                })
            }
        }
    }

    /// A raw connection of the concrete backend, for tests that look under the API.
    pub fn target(&self) -> DatabaseTarget {
        DatabaseTarget::parse(&self.url).expect("test url")
    }
}

fn small_pool() -> PoolOptions {
    PoolOptions {
        max_size: Some(4),
        ..PoolOptions::default()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema {
            if let Ok(mut admin) = PgConnection::establish(&postgres_base_url()) {
                let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// The real server on a random port in front of a fresh database.
pub struct TestApp {
    pub db: TestDb,
    pub base: String,
    pub client: Client,
    handle: Option<actix_web::dev::ServerHandle>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn problem(self, status: u16, code: &str) -> Resp {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "body: {}",
            self.text
        );
        assert_eq!(self.body["code"], code, "body: {}", self.text);
        assert_eq!(self.body["status"], status);
        assert_eq!(self.body["type"], format!("urn:jiekun:problem:{code}"));
        assert!(self.body["title"].is_string() && self.body["detail_zh"].is_string());
        assert_eq!(
            self.body["request_id"].as_str(),
            self.header("x-request-id"),
            "the body quotes the request id"
        );
        self
    }

    /// The field errors as (field, code) pairs.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap_or_default().to_owned(),
                            e["code"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[track_caller]
    pub fn has_field_error(&self, field: &str, code: &str) -> &Self {
        let errors = self.field_errors();
        assert!(
            errors.iter().any(|(f, c)| f == field && c == code),
            "expected field error {field}/{code}, got {errors:?}"
        );
        self
    }

    pub fn etag(&self) -> String {
        self.header("etag").expect("ETag header").to_owned()
    }
}

impl TestApp {
    pub fn create(backend: Backend) -> Option<TestApp> {
        let db = TestDb::create(backend)?;
        Some(TestApp::serve(db, AppConfig::default()))
    }

    pub fn serve(db: TestDb, config: AppConfig) -> TestApp {
        let pool = db.pool.clone();
        TestApp::serve_with_pool(db, pool, config)
    }

    /// Serves `pool` (which may point elsewhere than `db`).
    pub fn serve_with_pool(db: TestDb, pool: Pool, config: AppConfig) -> TestApp {
        let (base, handle, thread) = start_server(pool, config);
        TestApp {
            db,
            base,
            client: Client::builder().no_proxy().build().expect("client"),
            handle: Some(handle),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn send(&self, req: reqwest::blocking::RequestBuilder) -> Resp {
        let res = req.send().expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send(self.client.get(self.url(path)))
    }

    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(self.client.post(self.url(path)).json(body))
    }

    pub fn patch(&self, path: &str, etag: &str, body: &Value) -> Resp {
        self.send(
            self.client
                .patch(self.url(path))
                .header("If-Match", etag)
                .json(body),
        )
    }

    /// A request with a raw body and content type.
    pub fn raw(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        self.send(
            self.client
                .request(method, self.url(path))
                .header("content-type", content_type)
                .body(body.to_vec()),
        )
    }

    /// Every item of a list, following `next_cursor` with the given page size.
    pub fn list_all(&self, path: &str, limit: u32) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
                None => format!("{path}{sep}limit={limit}"),
            };
            let page = self.get(&url).expect(200);
            let batch = page.body["items"].as_array().expect("items").clone();
            assert!(batch.len() <= limit as usize);
            items.extend(batch);
            match page.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return items,
            }
        }
        panic!("pagination did not end");
    }
}

fn start_server(
    pool: Pool,
    config: AppConfig,
) -> (
    String,
    actix_web::dev::ServerHandle,
    std::thread::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    let state = AppState { pool };
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server =
                actix_web::HttpServer::new(move || jiekun_api::app(state.clone(), &config))
                    .listen(listener)
                    .expect("listen")
                    .workers(2)
                    .disable_signals()
                    .shutdown_timeout(1)
                    .run();
            tx.send(server.handle()).expect("send handle");
            let _ = server.await;
        });
    });
    let handle = rx.recv().expect("server handle");
    (format!("http://{addr}"), handle, thread)
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            actix_web::rt::System::new().block_on(handle.stop(false));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs each named test function on SQLite and on PostgreSQL, given a fixture type with
/// `create(Backend) -> Option<Self>`.
#[macro_export]
macro_rules! on_both_backends {
    ($fixture:ident: $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let fx = $crate::common::$fixture::create($crate::common::Backend::Sqlite)
                        .expect("sqlite fixture");
                    super::$name(&fx);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(fx) = $crate::common::$fixture::create($crate::common::Backend::Postgres) {
                        super::$name(&fx);
                    }
                }
            )*
        }
    };
}
