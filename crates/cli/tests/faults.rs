//! The database goes away under a running `jiekun serve` and comes back: requests get 503
//! problem+json (no panic, no 500), `/readyz` goes red, and the server recovers by itself. Runs a
//! throwaway PostgreSQL cluster of its own (initdb and pg_ctl, from PATH or
//! /usr/lib/postgresql/*/bin); without them the test is skipped loudly, except under `CI=true`,
//! where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::Serve;

fn bindir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("JIEKUN_TEST_PG_BINDIR")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut found: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        found.sort();
        dirs.extend(found.into_iter().rev());
    }
    dirs.into_iter()
        .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A throwaway PostgreSQL cluster, stopped and removed when dropped.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// A command of the cluster's, as the `postgres` user when we are root (initdb refuses root).
    fn command(&self, tool: &str) -> Command {
        command(&self.bin, tool)
    }

    fn start(&self) {
        let log = self.data.join("server.log");
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", "60", "-l"])
            .arg(&log)
            .arg("-o")
            .arg(format!(
                "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
                self.port,
                self.data.display()
            ))
            .arg("start")
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl start");
        assert!(status.success(), "the throwaway cluster did not start");
    }

    fn stop(&self) {
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl stop");
        assert!(status.success(), "the throwaway cluster did not stop");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

fn command(bin: &Path, tool: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn cluster() -> Option<Cluster> {
    let Some(bin) = bindir() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("initdb and pg_ctl are required under CI=true");
        }
        eprintln!("\n!!! SKIPPED: no initdb/pg_ctl for a throwaway PostgreSQL cluster.\n");
        return None;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    if is_root() {
        let ok = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(dir.path())
            .status()
            .expect("chown");
        assert!(ok.success());
    }
    let initdb = command(&bin, "initdb")
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ])
        .stdout(Stdio::null())
        .status()
        .expect("initdb");
    assert!(initdb.success(), "initdb failed");
    let c = Cluster {
        bin,
        data,
        port: free_port(),
        _dir: dir,
    };
    c.start();
    Some(c)
}

/// `jiekun serve` on `db`.
fn serve(db: &str) -> Serve {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jiekun"));
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
        .env("JIEKUN_DATABASE_URL", db)
        .env(
            "JIEKUN_JWT_SECRET",
            "faults-secret-faults-secret-0123456789",
        )
        .env("JIEKUN_DATA_KEY", "55".repeat(32))
        .env("JIEKUN_LOG", "warn");
    Serve::start(cmd)
}

/// Status, content type and body of a GET.
fn get(c: &reqwest::blocking::Client, url: &str) -> (u16, String, serde_json::Value) {
    let r = c.get(url).send().expect("request");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ct, r.json().unwrap_or(serde_json::Value::Null))
}

/// A sign-in: it reads the users table.
fn sign_in(c: &reqwest::blocking::Client, s: &Serve) -> (u16, String, serde_json::Value) {
    let r = c
        .post(format!("{}/api/v1/auth/token", s.base))
        .json(&serde_json::json!({"username": "nobody", "password": "Not-The-Password-1"}))
        .send()
        .expect("request");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ct, r.json().unwrap_or(serde_json::Value::Null))
}

#[test]
fn database_outage_gives_503_and_the_server_recovers_by_itself() {
    let Some(db) = cluster() else { return };
    let server = serve(&db.url());
    let c = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let ready = format!("{}/readyz", server.base);
    assert_eq!(get(&c, &ready).0, 200);
    assert_eq!(sign_in(&c, &server).0, 401);

    db.stop();
    let (status, ct, body) = get(&c, &ready);
    assert_eq!(status, 503, "{body}");
    assert_eq!(ct, "application/problem+json");
    for _ in 0..3 {
        let (status, ct, body) = sign_in(&c, &server);
        assert_eq!(status, 503, "{body}");
        assert_eq!(ct, "application/problem+json");
        assert_eq!(body["code"], "service_unavailable", "{body}");
    }
    // Liveness does not depend on the database: the process is up.
    assert_eq!(get(&c, &format!("{}/healthz", server.base)).0, 200);

    db.start();
    let started = Instant::now();
    loop {
        if get(&c, &ready).0 == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "readiness did not come back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(sign_in(&c, &server).0, 401);
}
