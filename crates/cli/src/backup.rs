//! `jiekun backup FILE` and `jiekun restore FILE`: a consistent copy taken while the server runs,
//! checked before it is trusted, and put back.
//!
//! - SQLite: the database copies itself (`VACUUM INTO`), in one read transaction, so writers
//!   carry on. The copy is then opened and checked: SQLite's integrity check and the audit chain.
//! - PostgreSQL: `pg_dump --format=custom` (from the server's major version) writes the copy, and
//!   `pg_restore --list` reads it back whole; `restore` replays it with `pg_restore` and checks the
//!   audit chain of the result.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use jiekun_store::{DatabaseTarget, Pool, PoolOptions};
use serde_json::json;

/// Opens an SQLite file, runs its integrity check and the audit chain's; the events checked.
fn check_sqlite(path: &Path) -> anyhow::Result<i64> {
    let url = format!("sqlite://{}", path.display());
    let pool = Pool::open(&url, &PoolOptions::default())
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut c = pool.get()?;
    jiekun_store::backup::sqlite_integrity(&mut c)?;
    audit_intact(&mut c)
}

fn audit_intact(c: &mut jiekun_store::DbConnection) -> anyhow::Result<i64> {
    let v = jiekun_store::audit::verify(c)?;
    if let Some(b) = v.first_broken {
        bail!(
            "the audit chain is broken at event {} ({})",
            b.seq,
            b.reason
        );
    }
    Ok(v.checked)
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {shown} (is the PostgreSQL client installed?)"))?;
    if !status.success() {
        bail!("{shown} failed: {status}");
    }
    Ok(())
}

pub fn backup(url: &str, file: &Path) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    match DatabaseTarget::parse(url)? {
        DatabaseTarget::Sqlite(_) => {
            let pool = Pool::open(url, &PoolOptions::default())?;
            let mut c = pool.get()?;
            jiekun_store::backup::sqlite_copy(&mut c, file)?;
            let events = check_sqlite(file).inspect_err(|_| {
                let _ = std::fs::remove_file(file);
            })?;
            report("backup", file, events, started)
        }
        DatabaseTarget::Postgres(url) => {
            if file.exists() {
                bail!(
                    "{} exists already; a backup never overwrites a file",
                    file.display()
                );
            }
            run(Command::new("pg_dump")
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(file)
                .arg(&url))?;
            run(Command::new("pg_restore")
                .arg("--list")
                .arg(file)
                .stdout(std::process::Stdio::null()))?;
            let pool = Pool::open(&url, &PoolOptions::default())?;
            let events = audit_intact(&mut *pool.get()?)?;
            report("backup", file, events, started)
        }
    }
}

pub fn restore(url: &str, file: &Path, force: bool) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    match DatabaseTarget::parse(url)? {
        DatabaseTarget::Sqlite(path) => {
            check_sqlite(file).context("the backup does not check out; nothing was restored")?;
            if path.exists() && !force {
                bail!(
                    "{} exists; stop the server and pass --force to replace it",
                    path.display()
                );
            }
            let staging = sibling(&path, "restoring");
            std::fs::copy(file, &staging)
                .with_context(|| format!("cannot write {}", staging.display()))?;
            for stale in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(sibling(&path, stale));
            }
            std::fs::rename(&staging, &path)
                .with_context(|| format!("cannot replace {}", path.display()))?;
            DatabaseTarget::Sqlite(path.clone()).migrate()?;
            let events = check_sqlite(&path)?;
            report("restore", &path, events, started)
        }
        DatabaseTarget::Postgres(pg) => {
            if !force {
                bail!("restoring replaces the tables of {pg}: stop the servers and pass --force");
            }
            run(Command::new("pg_restore")
                .args([
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--exit-on-error",
                    "--dbname",
                ])
                .arg(&pg)
                .arg(file))?;
            DatabaseTarget::Postgres(pg.clone()).migrate()?;
            let pool = Pool::open(&pg, &PoolOptions::default())?;
            let events = audit_intact(&mut *pool.get()?)?;
            report("restore", file, events, started)
        }
    }
}

/// `path` with `suffix` added to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn report(what: &str, file: &Path, events: i64, started: std::time::Instant) -> anyhow::Result<()> {
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    say!(
        "{}",
        serde_json::to_string_pretty(&json!({
            what: file.display().to_string(),
            "bytes": bytes,
            "audit_events_verified": events,
            "seconds": started.elapsed().as_secs_f64(),
        }))?
    );
    Ok(())
}
