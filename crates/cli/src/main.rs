//! `jiekun`: serve the API, migrate the database, print the OpenAPI document, load demo data.

/// Prints a line to standard output. A closed output (`jiekun demo | head -1`) is not an error:
/// the command carries on, and what it would print goes nowhere.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod admin;
mod backup;
mod demo;
mod exchange;
mod keys;
mod serve;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use jiekun_api::auth::{AuthLimits, KeptIn, SharedLimits, TokenConfig};
use jiekun_api::AppConfig;
use jiekun_store::crypto::FieldCipher;
use jiekun_store::throttle::redis::RedisThrottle;
use jiekun_store::{DatabaseTarget, Pool, PoolOptions};

/// mimalloc rather than the system allocator: under load the server spent a fifth of its CPU in
/// glibc's malloc and free, shared by every worker thread. It also stands in for `malloc` itself
/// (the crate's `override` feature), so that SQLite and libpq allocate from it too: under the load
/// mix, glibc's per-thread arenas kept what their bursts had freed and the server's memory crept
/// up; with one allocator that gives freed pages back, it stays flat.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "jiekun",
    version,
    about = "城市困难职工解困脱困 — urban hardship-worker relief backend"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Database {
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB
    #[arg(
        long,
        env = "JIEKUN_DATABASE_URL",
        default_value = "sqlite://./data/jiekun.db"
    )]
    database_url: String,
    /// Largest number of pooled connections (default 8 on SQLite, 2 × cores + 4 on PostgreSQL).
    #[arg(long, env = "JIEKUN_DB_POOL_SIZE")]
    pool_size: Option<u32>,
}

#[derive(Args, Clone)]
struct Tokens {
    /// Secret that signs access tokens (at least 32 bytes).
    #[arg(
        long,
        env = "JIEKUN_JWT_SECRET",
        hide_env_values = true,
        conflicts_with = "jwt_secret_file"
    )]
    jwt_secret: Option<String>,
    /// File holding the token-signing secret.
    #[arg(long, env = "JIEKUN_JWT_SECRET_FILE")]
    jwt_secret_file: Option<PathBuf>,
    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "JIEKUN_TOKEN_TTL", default_value_t = 900)]
    token_ttl: u64,
}

impl Tokens {
    fn config(&self) -> anyhow::Result<TokenConfig> {
        let secret = match (&self.jwt_secret, &self.jwt_secret_file) {
            (Some(s), _) => s.trim().as_bytes().to_vec(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the token secret from {}", path.display()))?
                .trim()
                .as_bytes()
                .to_vec(),
            (None, None) => anyhow::bail!(
                "set JIEKUN_JWT_SECRET (at least 32 bytes) or JIEKUN_JWT_SECRET_FILE; `make run` makes data/jwt.key for you"
            ),
        };
        TokenConfig::new(secret, std::time::Duration::from_secs(self.token_ttl))
            .map_err(|e| anyhow::anyhow!("token secret: {e}"))
    }
}

#[derive(Args, Clone)]
struct DataKey {
    /// Key that encrypts personal data: 64 hexadecimal characters (32 bytes) or base64.
    #[arg(
        long,
        env = "JIEKUN_DATA_KEY",
        hide_env_values = true,
        conflicts_with = "data_key_file"
    )]
    data_key: Option<String>,
    /// File holding the personal-data key.
    #[arg(long, env = "JIEKUN_DATA_KEY_FILE")]
    data_key_file: Option<PathBuf>,
    /// The key the data was under before a rotation: values still under it are read with it
    /// until `jiekun keys rotate-data-key` has re-encrypted them all.
    #[arg(
        long,
        env = "JIEKUN_PREVIOUS_DATA_KEY",
        hide_env_values = true,
        conflicts_with = "previous_data_key_file"
    )]
    previous_data_key: Option<String>,
    /// File holding the previous personal-data key.
    #[arg(long, env = "JIEKUN_PREVIOUS_DATA_KEY_FILE")]
    previous_data_key_file: Option<PathBuf>,
}

impl DataKey {
    fn cipher(&self) -> anyhow::Result<FieldCipher> {
        let text = match (&self.data_key, &self.data_key_file) {
            (Some(k), _) => k.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the data key from {}", path.display()))?,
            (None, None) => anyhow::bail!(
                "set JIEKUN_DATA_KEY (64 hex characters) or JIEKUN_DATA_KEY_FILE; `make run` makes data/data.key for you"
            ),
        };
        let cipher =
            FieldCipher::from_key_text(&text).map_err(|e| anyhow::anyhow!("data key: {e}"))?;
        let previous = match (&self.previous_data_key, &self.previous_data_key_file) {
            (Some(k), _) => Some(k.clone()),
            (None, Some(path)) => Some(std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the previous data key from {}", path.display())
            })?),
            (None, None) => None,
        };
        match previous {
            Some(p) => cipher
                .with_previous(&p)
                .map_err(|e| anyhow::anyhow!("previous data key: {e}")),
            None => Ok(cipher),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations and serve the API.
    Serve {
        #[command(flatten)]
        db: Database,
        /// Address to listen on.
        #[arg(long, env = "JIEKUN_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// HTTP worker threads (default: one per core on SQLite; on PostgreSQL, half the pool's
        /// connections, and at least one per core).
        #[arg(long, env = "JIEKUN_WORKERS")]
        workers: Option<usize>,
        /// Largest accepted request body, in bytes.
        #[arg(long, env = "JIEKUN_BODY_LIMIT", default_value_t = 256 * 1024)]
        body_limit: usize,
        #[command(flatten)]
        tokens: Tokens,
        #[command(flatten)]
        data_key: DataKey,
        /// Take client addresses from Forwarded / X-Forwarded-For (only behind a trusted proxy).
        #[arg(long, env = "JIEKUN_TRUST_FORWARDED", default_value_t = false)]
        trust_forwarded: bool,
        /// Where sign-in throttles and API-key rate limits are kept: `database` (shared by every
        /// process on the database), `redis` (shared by every process on JIEKUN_REDIS_URL),
        /// `memory` (each process on its own), or `auto` (Redis when JIEKUN_REDIS_URL is set,
        /// else the database on PostgreSQL and memory on SQLite).
        #[arg(long, env = "JIEKUN_SHARED_LIMITS", default_value = "auto")]
        shared_limits: SharedLimits,
        /// A Redis (`redis://host:6379/0`) to keep the throttles in, shared by every process that
        /// names it; checked at start.
        #[arg(long, env = "JIEKUN_REDIS_URL")]
        redis_url: Option<String>,
        /// What the throttles' Redis keys start with, so that deployments may share one Redis.
        #[arg(long, env = "JIEKUN_REDIS_PREFIX", default_value = "jiekun:")]
        redis_prefix: String,
        #[command(flatten)]
        connections: serve::Connections,
        /// Origins whose browser pages may call the API (`https://app.example.cn`, comma
        /// separated); none by default.
        #[arg(long, env = "JIEKUN_CORS_ORIGINS", value_delimiter = ',', value_parser = serve::origin)]
        cors_origins: Vec<String>,
    },
    /// Apply pending migrations and exit.
    Migrate {
        #[command(flatten)]
        db: Database,
    },
    /// Print the OpenAPI document (or write it to a file).
    Openapi {
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Load the demo organisation tree, departments, enterprises and one user per role (idempotent).
    Demo {
        #[command(flatten)]
        db: Database,
        #[command(flatten)]
        data_key: DataKey,
        /// Also generate this many synthetic households in 西乡县 (valid identity numbers,
        /// plausible incomes, family sizes and causes).
        #[arg(long, default_value_t = 0)]
        households: usize,
        /// Put up to this many of them through filing and exit, backdated, so that every stage
        /// of the workflows has cases (default: a third of `--households`, at most 3,000).
        #[arg(long)]
        cases: Option<usize>,
        /// Seed of the generator, for reproducible data.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// Administration: bootstrap, API keys.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
        #[command(flatten)]
        db: Database,
    },
    /// The offline exchange with departments: export a signed batch, import a signed answer file.
    Exchange {
        #[command(subcommand)]
        command: exchange::ExchangeCommand,
        #[command(flatten)]
        db: Database,
        #[command(flatten)]
        data_key: DataKey,
    },
    /// Write a consistent copy of the database while it serves, and check it (SQLite: the
    /// database copies itself; PostgreSQL: pg_dump's custom format).
    Backup {
        /// The file to write; never overwritten.
        file: PathBuf,
        #[command(flatten)]
        db: Database,
    },
    /// Put a backup back, after checking it, then apply pending migrations and check the audit
    /// chain. Stop the servers first.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Replace the existing database.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        db: Database,
    },
    /// The data key: rotation.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
        #[command(flatten)]
        db: Database,
        #[command(flatten)]
        data_key: DataKey,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
        #[command(flatten)]
        db: Database,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain and name the first broken event (exit status 1 when broken). After
    /// an archive, the chain in the database is checked from the last archived event's hash.
    Verify,
    /// Move the events that happened before a day (China Standard Time) to a signed archive
    /// file, checked on the way, and record the archive; the last six months always stay.
    Archive {
        /// The first day whose events stay (YYYY-MM-DD); at least six months ago.
        #[arg(long)]
        before: chrono::NaiveDate,
        /// The archive file to write (JSON Lines); never overwritten.
        file: PathBuf,
        #[command(flatten)]
        data_key: DataKey,
    },
    /// Check an archive file: its checksum, its signature, the chain of its events, and that
    /// the database recorded it so (exit status 1 when it does not hold).
    VerifyArchive {
        file: PathBuf,
        #[command(flatten)]
        data_key: DataKey,
    },
}

/// Logs go to standard output, one line per event.
fn init_logging() {
    use tracing_subscriber::{fmt, EnvFilter};
    let filter = EnvFilter::try_from_env("JIEKUN_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("JIEKUN_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    if json {
        fmt()
            .json()
            .with_env_filter(filter)
            .with_current_span(true)
            .with_writer(std::io::stdout)
            .init();
    } else {
        fmt()
            .with_env_filter(filter)
            .with_ansi(log_colour())
            .with_writer(std::io::stdout)
            .init();
    }
}

/// Colour is for a person watching a terminal: a log file or a pipe gets plain text, and a
/// non-empty `NO_COLOR` (https://no-color.org) turns it off everywhere.
fn log_colour() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn open_pool(db: &Database) -> anyhow::Result<Pool> {
    let options = PoolOptions {
        max_size: db.pool_size,
        ..PoolOptions::default()
    };
    Pool::open(&db.database_url, &options).with_context(|| "cannot open the database".to_string())
}

/// The one connection of a command that does its work and exits. A pool of one: a larger pool
/// tops itself up on a background thread when its connection is taken, and that thread, still
/// connecting (TLS negotiation, on PostgreSQL) as the process exits, crashed it in OpenSSL's exit
/// handler about once in forty runs.
/// Connections the demo's workflow cases run on, on PostgreSQL.
const DEMO_CASE_CONNECTIONS: u32 = 4;

fn open_one(db: &Database) -> anyhow::Result<Pool> {
    let options = PoolOptions {
        max_size: Some(1),
        ..PoolOptions::default()
    };
    Pool::open(&db.database_url, &options).with_context(|| "cannot open the database".to_string())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Openapi { output } => {
            let json = jiekun_api::openapi_json();
            match output {
                Some(path) => std::fs::write(&path, json)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => {
                    use std::io::Write as _;
                    let _ = std::io::stdout().write_all(json.as_bytes());
                }
            }
            Ok(())
        }
        Command::Exchange {
            command,
            db,
            data_key,
        } => {
            init_logging();
            let pool = open_one(&db)?;
            let mut conn = pool.get()?;
            exchange::run(&mut conn, &data_key.cipher()?, command)
        }
        Command::Keys {
            command,
            db,
            data_key,
        } => {
            init_logging();
            let pool = open_one(&db)?;
            let mut conn = pool.get()?;
            keys::run(&mut conn, &data_key.cipher()?, command)
        }
        Command::Migrate { db } => {
            init_logging();
            let target = DatabaseTarget::parse(&db.database_url)?;
            let applied = target.migrate()?;
            if applied.is_empty() {
                say!("database is up to date");
            } else {
                for v in applied {
                    say!("applied {v}");
                }
            }
            Ok(())
        }
        Command::Demo {
            db,
            data_key,
            households,
            cases,
            seed,
        } => {
            init_logging();
            let pool = open_one(&db)?;
            let mut conn = pool.get()?;
            let summary = demo::load(&mut conn)?;
            say!("{summary}");
            if households > 0 {
                let cipher = data_key.cipher()?;
                let started = std::time::Instant::now();
                let made = demo::households(&mut conn, &cipher, households, seed)?;
                say!("{made} in {:.1} s", started.elapsed().as_secs_f64());
                let cases = cases.unwrap_or((households / 3).min(3000));
                if cases > 0 {
                    let started = std::time::Instant::now();
                    // On PostgreSQL the cases overlap on a few more connections (they wait on
                    // round trips); SQLite has one writer, so one connection does them all.
                    let mut more = Vec::new();
                    if pool.backend() == "postgres" {
                        let extra = Pool::open_migrated(
                            DatabaseTarget::parse(&db.database_url)?,
                            &PoolOptions {
                                max_size: Some(DEMO_CASE_CONNECTIONS - 1),
                                min_idle: Some(DEMO_CASE_CONNECTIONS - 1),
                                ..PoolOptions::default()
                            },
                        )?;
                        for _ in 1..DEMO_CASE_CONNECTIONS {
                            more.push(extra.get()?);
                        }
                    }
                    let mut connections: Vec<&mut jiekun_store::DbConnection> =
                        std::iter::once(&mut *conn)
                            .chain(more.iter_mut().map(|c| &mut **c))
                            .collect();
                    let made = demo::cases(&mut connections, &cipher, cases)?;
                    say!("{made} in {:.1} s", started.elapsed().as_secs_f64());
                }
                say!("{}", demo::campaigns(&mut conn, &cipher)?);
                say!("{}", demo::contacts(&mut conn)?);
                // The registry scans' digests the load did not write (none, for the demo's
                // own households), built now rather than by the first what-if.
                let started = std::time::Instant::now();
                let went = jiekun_store::registry::refresh_digests(&mut conn, &cipher)?;
                say!(
                    "digests built for {went} households in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(())
        }
        Command::Serve {
            db,
            bind,
            workers,
            body_limit,
            tokens,
            data_key,
            trust_forwarded,
            shared_limits,
            redis_url,
            redis_prefix,
            connections,
            cors_origins,
        } => {
            init_logging();
            let mut config = AppConfig::new(tokens.config()?, data_key.cipher()?);
            config.body_limit = body_limit;
            config.limits = AuthLimits::default();
            config.trust_forwarded = trust_forwarded;
            config.shared_limits = shared_limits;
            config.cors_origins = cors_origins;
            let pool = open_pool(&db)?;
            let kept_in = shared_limits
                .kept_in(pool.backend(), redis_url.is_some())
                .map_err(anyhow::Error::msg)?;
            if let (KeptIn::Redis, Some(url)) = (kept_in, &redis_url) {
                let redis = RedisThrottle::connect(url, &redis_prefix)
                    .with_context(|| "JIEKUN_REDIS_URL does not answer".to_string())?;
                config.redis = Some(std::sync::Arc::new(redis));
            }
            tracing::info!(throttles = ?kept_in, "sign-in throttles and key rate limits");
            serve::serve(pool, &bind, workers, &connections, config)
        }
        Command::Backup { file, db } => backup::backup(&db.database_url, &file),
        Command::Restore { file, force, db } => backup::restore(&db.database_url, &file, force),
        Command::Admin { command, db } => {
            let pool = open_one(&db)?;
            let mut conn = pool.get()?;
            admin::run(command, &mut conn)
        }
        Command::Audit {
            command:
                AuditCommand::Archive {
                    before,
                    file,
                    data_key,
                },
            db,
        } => {
            let pool = open_one(&db)?;
            let mut conn = pool.get()?;
            audit_archive(&mut conn, &data_key.cipher()?, before, &file)
        }
        Command::Audit {
            command: AuditCommand::VerifyArchive { file, data_key },
            db,
        } => {
            let pool = open_one(&db)?;
            let mut conn = pool.get()?;
            match jiekun_store::audit_archive::verify_file(
                &file,
                &data_key.cipher()?,
                Some(&mut conn),
            ) {
                Ok(m) => {
                    say!("{}", serde_json::to_string_pretty(&m)?);
                    say!(
                        "archive intact: events {} to {} ({}), signed with data key {}",
                        m.first_seq,
                        m.last_seq,
                        m.events,
                        m.key_id
                    );
                    Ok(())
                }
                Err(e) => {
                    eprintln!("archive NOT valid: {e}");
                    std::process::exit(1);
                }
            }
        }
        Command::Audit {
            command: AuditCommand::Verify,
            db,
        } => {
            let pool = open_one(&db)?;
            let mut conn = pool.get()?;
            let v = jiekun_store::audit::verify(&mut conn)?;
            say!("{}", serde_json::to_string_pretty(&v)?);
            match v.first_broken {
                None => {
                    say!("audit chain intact: {} events", v.checked);
                    Ok(())
                }
                Some(b) => {
                    eprintln!("audit chain BROKEN at event {} ({})", b.seq, b.reason);
                    std::process::exit(1);
                }
            }
        }
    }
}

/// `jiekun audit archive`: events before the day `before` (China Standard Time) to `file`.
fn audit_archive(
    conn: &mut jiekun_store::DbConnection,
    cipher: &FieldCipher,
    before: chrono::NaiveDate,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    let cutoff = before.and_time(chrono::NaiveTime::MIN) - chrono::TimeDelta::hours(8);
    let caller = jiekun_store::audit::Caller {
        actor: jiekun_store::audit::Actor {
            kind: "system",
            name: Some("jiekun audit".into()),
            ..jiekun_store::audit::Actor::default()
        },
        ..jiekun_store::audit::Caller::default()
    };
    let m = jiekun_store::audit_archive::archive(
        conn,
        cipher,
        &caller,
        cutoff,
        jiekun_store::now(),
        file,
    )?;
    say!(
        "archived events {} to {} ({}) to {}: SHA-256 {}, signed with data key {}",
        m.first_seq,
        m.last_seq,
        m.events,
        file.display(),
        m.sha256,
        m.key_id
    );
    Ok(())
}
