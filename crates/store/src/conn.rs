//! Connections: one `DbConnection` over SQLite or PostgreSQL, chosen from the URL scheme and never
//! by trial (a mistyped PostgreSQL URL must not quietly create an SQLite file).

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{StoreError, StoreResult};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Where the data lives, parsed from a `sqlite://PATH` or `postgres://…` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseTarget {
    pub fn parse(url: &str) -> StoreResult<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path.starts_with(':') {
                return Err(StoreError::Config(format!(
                    "{url}: an SQLite URL needs a file path, e.g. sqlite://./data/jiekun.db"
                )));
            }
            let path = PathBuf::from(path);
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            if !parent.is_dir() {
                return Err(StoreError::Config(format!(
                    "{url}: the folder {} does not exist; create it first",
                    parent.display()
                )));
            }
            Ok(DatabaseTarget::Sqlite(path))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseTarget::Postgres(url.to_owned()))
        } else {
            let scheme = url.split("://").next().unwrap_or(url);
            Err(StoreError::Config(format!(
                "unsupported database URL scheme '{scheme}': use sqlite://PATH or postgres://USER@HOST:PORT/DB"
            )))
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseTarget::Sqlite(_) => "sqlite",
            DatabaseTarget::Postgres(_) => "postgres",
        }
    }

    fn connect(&self) -> ConnectionResult<DbConnection> {
        match self {
            DatabaseTarget::Sqlite(path) => {
                create_private(path)?;
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // busy_timeout first, so that switching to WAL itself waits for other writers.
                // The first GiB of the file is read through a memory map rather than a read
                // system call per page missing from SQLite's own 2 MB cache: at 100,000
                // households (a 1 GB file) a household read is about 25 % faster. The mapped
                // pages are the kernel's page cache, shared by every connection and given back
                // under memory pressure; they count in the process's resident size (RssFile).
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA mmap_size = 1073741824;",
                )
                .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseTarget::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                // Like SQLite's busy timeout: a statement waits at most 5 s for a lock another
                // transaction holds, then fails (503 `busy`) instead of holding its request.
                // A random page read is priced at 1.1 sequential reads instead of PostgreSQL's
                // default 4, which assumes spinning disks: the register is read from memory or
                // SSD, and at 4 the planner walks the primary key and drops most of the rows a
                // filtered household list visits rather than use the `(column, id)` index of the
                // filter (docs/scale.md has the figures).
                conn.batch_execute("SET lock_timeout = '5s'; SET random_page_cost = 1.1")
                    .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
                Ok(DbConnection::Postgres(conn))
            }
        }
    }

    /// Applies pending migrations on a concrete connection of the target's backend.
    pub fn migrate(&self) -> StoreResult<Vec<String>> {
        let applied = match self.connect().map_err(connect_error)? {
            DbConnection::Sqlite(mut c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(names),
            DbConnection::Postgres(mut c) => {
                c.run_pending_migrations(POSTGRES_MIGRATIONS).map(names)
            }
        };
        applied.map_err(|e| StoreError::Config(format!("migration failed: {e}")))
    }
}

/// Creates a missing SQLite file readable and writable by its owner only (0600): it holds personal
/// data, like the key files beside it. SQLite gives its -wal and -shm files the mode of the
/// database file. An existing file is left as it is.
#[cfg(unix)]
fn create_private(path: &std::path::Path) -> ConnectionResult<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(ConnectionError::BadConnection(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(not(unix))]
fn create_private(_path: &std::path::Path) -> ConnectionResult<()> {
    Ok(())
}

fn names(versions: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    versions.into_iter().map(|v| v.to_string()).collect()
}

fn connect_error(e: ConnectionError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// r2d2 manager that builds the concrete connection for the target.
#[derive(Debug)]
pub struct Manager {
    target: DatabaseTarget,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        self.target.connect()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(|e| ConnectionError::BadConnection(e.to_string()))
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// A pool of connections to one database.
#[derive(Clone, Debug)]
pub struct Pool {
    inner: r2d2::Pool<Manager>,
    backend: &'static str,
}

/// Pool settings; the defaults suit one county on a small machine.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    pub max_size: Option<u32>,
    pub connection_timeout: Duration,
    /// Connections opened with the pool and kept open (default one). A command that exits when
    /// its work is done opens all it uses up front, so that no connection is still being made on
    /// the pool's background thread as the process exits.
    pub min_idle: Option<u32>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: None,
            connection_timeout: Duration::from_secs(5),
            min_idle: None,
        }
    }
}

impl Pool {
    /// Parses the URL, applies migrations and opens the pool.
    pub fn open(url: &str, options: &PoolOptions) -> StoreResult<Pool> {
        let target = DatabaseTarget::parse(url)?;
        target.migrate()?;
        Self::open_migrated(target, options)
    }

    /// Opens a pool without touching the schema.
    pub fn open_migrated(target: DatabaseTarget, options: &PoolOptions) -> StoreResult<Pool> {
        let backend = target.backend_name();
        // PostgreSQL: about two connections per core plus a few for waits on I/O (more only adds
        // server processes competing for the same cores); SQLite: readers are cheap, one writer.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
        let default_size = match target {
            DatabaseTarget::Sqlite(_) => 8,
            DatabaseTarget::Postgres(_) => (2 * cores + 4).min(32),
        };
        let inner = r2d2::Pool::builder()
            .max_size(options.max_size.unwrap_or(default_size))
            .min_idle(Some(options.min_idle.unwrap_or(1)))
            // No `SELECT 1` before every checkout: a broken connection shows itself on use and is
            // then discarded (`has_broken`), and readiness probes the database explicitly.
            .test_on_check_out(false)
            .connection_timeout(options.connection_timeout)
            .build(Manager { target })
            .map_err(StoreError::from)?;
        Ok(Pool { inner, backend })
    }

    /// Opens a pool that connects only when asked, so that it exists even while the database is
    /// down (for readiness checks and their tests).
    pub fn open_lazy(target: DatabaseTarget, options: &PoolOptions) -> Pool {
        let backend = target.backend_name();
        let inner = r2d2::Pool::builder()
            .max_size(options.max_size.unwrap_or(1))
            .min_idle(Some(0))
            .connection_timeout(options.connection_timeout)
            .build_unchecked(Manager { target });
        Pool { inner, backend }
    }

    pub fn get(&self) -> StoreResult<PooledConnection> {
        Ok(self.inner.get()?)
    }

    /// An idle connection, if there is one now: never waits, nor opens a connection.
    pub fn try_get(&self) -> Option<PooledConnection> {
        self.inner.try_get()
    }

    /// The largest number of connections the pool opens.
    pub fn max_size(&self) -> u32 {
        self.inner.max_size()
    }

    /// Connections open now, and how many of them are idle.
    pub fn usage(&self) -> (u32, u32) {
        let s = self.inner.state();
        (s.connections, s.idle_connections)
    }

    pub fn backend(&self) -> &'static str {
        self.backend
    }
}

/// Whether the database answers a trivial query.
pub fn ping(conn: &mut DbConnection) -> StoreResult<()> {
    conn.batch_execute("SELECT 1")?;
    Ok(())
}

/// Runs `f` in one write transaction: `BEGIN IMMEDIATE` on SQLite, so that the write lock is taken
/// up front (a deferred transaction that reads and then writes can fail with SQLITE_BUSY without
/// waiting), and an ordinary transaction on PostgreSQL. Rolled back when `f` fails. Inside a
/// transaction already open on the connection (a bulk load's), `f` runs in a savepoint of it. The
/// audit events `f` appends are written when the outermost transaction commits, after all of its
/// other work ([`crate::audit::append`]).
pub fn write<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    type Tm = <DbConnection as Connection>::TransactionManager;
    let outermost = Tm::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_none();
    match conn {
        DbConnection::Sqlite(c) if outermost => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        _ => Tm::begin_transaction(conn)?,
    }
    let held = crate::audit::Deferred::begin(conn, outermost);
    match f(conn) {
        Ok(value) => {
            // The transaction's audit events go onto the chain last, just before the commit.
            if let Err(e) = held.commit(conn) {
                let _ = Tm::rollback_transaction(conn);
                return Err(e.into());
            }
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            held.roll_back();
            // The original error matters more than a failed rollback, which breaks the connection
            // so that the pool discards it.
            let _ = Tm::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// Runs `f` on one consistent snapshot of the database, changing nothing: a read transaction on
/// SQLite (its first read fixes what it sees) and `REPEATABLE READ READ ONLY` on PostgreSQL, so
/// that reads spread over several statements agree with each other while writers carry on.
pub fn snapshot<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    type Tm = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN")?,
        DbConnection::Postgres(c) => AnsiTransactionManager::begin_transaction_sql(
            c,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        )?,
    }
    let out = f(conn);
    // Nothing was written: ending the transaction either way is the same.
    let _ = Tm::rollback_transaction(conn);
    out
}

/// Refreshes the planner's statistics (after bulk loads, so that the first queries are planned
/// with real row counts). On PostgreSQL it vacuums the tables bulk loads write too, outside any
/// transaction: a freshly loaded table has no visibility map until autovacuum comes by, and until
/// then an index-only scan reads every row's page as well (the exceptions report at 1,000,000
/// households took 4.4 s before a vacuum and 2.0 s after; the vacuum took about 3 s). A table
/// another transaction holds locked is skipped rather than waited for; autovacuum gets to it.
/// On SQLite each index is sampled (`analysis_limit`) instead of read whole: a full `ANALYZE`
/// read every row of every table, about 3 s at 300,000 households against 0.02 s sampled, for
/// statistics the planner uses only to compare indexes.
pub fn analyze(conn: &mut DbConnection) -> StoreResult<()> {
    match conn {
        DbConnection::Sqlite(_) => {
            conn.batch_execute("PRAGMA analysis_limit = 2000; ANALYZE; PRAGMA analysis_limit = 0;")?
        }
        DbConnection::Postgres(_) => conn.batch_execute(&format!(
            "VACUUM (ANALYZE, SKIP_LOCKED) {}",
            crate::bulk::keys::SET_ASIDE.join(", ")
        ))?,
    }
    Ok(())
}

/// Inserts many rows in one statement per backend (the connection that serves both backends
/// inserts one row at a time). Rows are chunked so that no statement passes SQLite's limit of
/// bound parameters.
#[macro_export]
macro_rules! insert_all {
    ($c:expr, $table:expr, $rows:expr, $columns:expr) => {{
        let rows = $rows;
        let per = (30_000 / $columns).max(1);
        let mut n = 0usize;
        for chunk in rows.chunks(per) {
            n += match $c {
                $crate::conn::DbConnection::Sqlite(s) => {
                    diesel::insert_into($table).values(chunk).execute(s)
                }
                $crate::conn::DbConnection::Postgres(p) => {
                    diesel::insert_into($table).values(chunk).execute(p)
                }
            }?;
        }
        Ok::<usize, diesel::result::Error>(n)
    }};
}

/// Inserts many rows at once by the fastest path of each backend: `COPY … FROM STDIN` (binary) on
/// PostgreSQL, multi-row `INSERT`s on SQLite, chunked as in [`insert_all!`]. The rows' `Insertable`
/// must write a missing value as NULL (`treat_none_as_default_value = false`), so that every row
/// has the same columns.
#[macro_export]
macro_rules! copy_all {
    ($c:expr, $table:expr, $rows:expr, $columns:expr) => {{
        let rows = $rows;
        match $c {
            $crate::conn::DbConnection::Sqlite(s) => {
                const PER: usize = 64;
                let _ = $columns;
                let mut n = 0usize;
                let mut chunks = rows.chunks_exact(PER);
                for chunk in &mut chunks {
                    let full: &[_; PER] = chunk.try_into().expect("a chunk of PER rows");
                    n += diesel::insert_into($table).values(full).execute(s)?;
                }
                let rest = chunks.remainder();
                if !rest.is_empty() {
                    n += diesel::insert_into($table).values(rest).execute(s)?;
                }
                Ok::<usize, diesel::result::Error>(n)
            }
            $crate::conn::DbConnection::Postgres(p) => {
                if rows.is_empty() {
                    Ok(0)
                } else {
                    diesel::copy_from($table).from_insertable(rows).execute(p)
                }
            }
        }
    }};
}
