//! A real `jiekun serve` process: under hostile connections, clients that send their request
//! slowly (slowloris) are cut off and do not keep the others out; SIGTERM lets a request in
//! flight finish before the process exits; Prometheus metrics on their own address when asked.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::Serve;

/// A running `jiekun serve` on its own SQLite database, killed when dropped.
struct Server {
    serve: Serve,
    addr: String,
    /// Where the metrics are served, when they are.
    metrics: Option<String>,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = format!("sqlite://{}", dir.path().join("ops.db").display());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jiekun"));
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--workers", "1"])
            .args(extra)
            .env("JIEKUN_DATABASE_URL", db)
            .env(
                "JIEKUN_JWT_SECRET",
                "connections-secret-connections-0123456",
            )
            .env("JIEKUN_DATA_KEY", "44".repeat(32))
            .env("JIEKUN_LOG", "warn");
        let serve = Serve::start(cmd);
        Server {
            addr: serve.addr.clone(),
            metrics: serve.metrics.clone(),
            serve,
            _dir: dir,
        }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s
    }

    /// One whole `GET /healthz` on a fresh connection; the status code.
    fn health(&self) -> u16 {
        status_of(&get(&self.addr, "/healthz"))
    }
}

/// One whole GET on a fresh connection to `addr`; the raw answer.
fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    read_all(&mut s)
}

fn read_all(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn slow_clients_are_cut_off_and_do_not_starve_the_others() {
    // One worker holding at most four connections, and half a second to send a request head.
    let server = Server::start(&[
        "--client-request-timeout-ms",
        "500",
        "--max-connections",
        "4",
    ]);
    assert_eq!(server.health(), 200);
    // Four clients take every connection and each sends half a request head, then nothing.
    let mut slow: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = server.connect();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
                .expect("write");
            s
        })
        .collect();
    // A fifth client is served once the slow ones are cut off, well within its patience. (If it
    // is accepted while the worker is full, its own wait may count against the head timeout and
    // it gets 408, which a client may retry: once is enough.)
    let started = Instant::now();
    let first = server.health();
    let served = first == 200 || (first == 408 && server.health() == 200);
    assert!(served, "the fifth client got {first}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the fifth client waited {:?}",
        started.elapsed()
    );
    // Each slow client was answered 408 and its connection closed.
    for s in &mut slow {
        let answer = read_all(s);
        assert_eq!(status_of(&answer), 408, "a slow client got {answer:?}");
    }
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_then_exits() {
    let mut server = Server::start(&["--shutdown-timeout", "10"]);
    assert_eq!(server.health(), 200);
    // A request whose body is half sent when the signal comes.
    let body = br#"{"username":"nobody","password":"Not-The-Password-1"}"#;
    let mut s = server.connect();
    write!(
        s,
        "POST /api/v1/auth/token HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("write head");
    s.write_all(&body[..10]).expect("write part");
    std::thread::sleep(Duration::from_millis(200));
    let pid = server.serve.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(300));
    // The process is still there, finishing the request.
    assert!(server.serve.child.try_wait().expect("wait").is_none());
    s.write_all(&body[10..]).expect("write rest");
    let answer = read_all(&mut s);
    assert_eq!(status_of(&answer), 401, "{answer}");
    // Then it exits by itself, successfully, and accepts nothing more.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.serve.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    assert!(TcpStream::connect(&server.addr).is_err());
}

#[test]
fn metrics_by_route_template_on_their_own_address_only_when_asked() {
    // Not asked: no metrics anywhere.
    let plain = Server::start(&[]);
    assert!(plain.metrics.is_none());
    assert_eq!(status_of(&get(&plain.addr, "/metrics")), 404);
    drop(plain);

    let server = Server::start(&["--metrics-bind", "127.0.0.1:0"]);
    let metrics = server.metrics.clone().expect("a metrics address");
    // The API's own address does not serve them.
    assert_eq!(status_of(&get(&server.addr, "/metrics")), 404);
    for _ in 0..3 {
        assert_eq!(server.health(), 200);
    }
    // A path with an id is counted under its template, never under the id.
    let id = "0192f2a0-0000-7000-8000-000000000001";
    assert_eq!(
        status_of(&get(&server.addr, &format!("/api/v1/households/{id}"))),
        401
    );
    // Too many sign-in failures for one user: refused by the rate limit, and audited.
    let body = r#"{"username":"nobody","password":"Not-The-Password-1"}"#;
    let mut refused = false;
    for _ in 0..12 {
        let mut s = server.connect();
        write!(
            s,
            "POST /api/v1/auth/token HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        refused |= status_of(&read_all(&mut s)) == 429;
    }
    assert!(refused, "the sign-in throttle never refused");
    let answer = get(&metrics, "/metrics");
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(answer.contains("text/plain; version=0.0.4"), "{answer}");
    let text = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
    };
    assert!(value(r#"http_requests_total{method="GET",route="/healthz",status="200"}"#) >= 3.0);
    assert_eq!(
        value(r#"http_requests_total{method="GET",route="/api/v1/households/{id}",status="401"}"#),
        1.0
    );
    assert!(!text.contains(id), "an id leaked into the metrics");
    assert!(value(r#"rate_limit_refusals_total{route="/api/v1/auth/token"}"#) >= 1.0);
    assert!(value("audit_appends_total") >= 1.0);
    assert!(
        value(r#"http_request_duration_seconds_bucket{method="GET",route="/healthz",le="+Inf"}"#)
            >= 3.0
    );
    assert!(value("db_pool_wait_seconds_count") >= 1.0);
    assert!(value("db_pool_max_connections") >= 1.0);
    assert!(text.contains("db_pool_connections "), "{text}");
}
