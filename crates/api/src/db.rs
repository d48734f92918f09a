//! Runs store work: short reads on the async worker serving the request when they cannot make
//! it wait (see [`run`]), everything else on the blocking thread pool.

use std::sync::Arc;

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse, HttpResponseBuilder};
use jiekun_store::{DbConnection, Pool};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};

/// The pool, and permits for the requests that may take or wait for a connection at once:
/// the others wait for a permit on the async side, so that only a bounded number of blocking
/// threads run (rather than dozens of threads queueing on the pool's lock and waking each other).
///
/// - On SQLite, as many permits as connections: reads run on the async worker itself, and the
///   permit guarantees that taking a connection there never waits.
/// - On PostgreSQL, twice as many: as many requests again wait for a connection on their
///   blocking threads, so that a connection given back goes straight to the next of them. With
///   only as many permits as connections, a connection stood idle while the permit given back
///   woke a waiting request on an async worker, which then handed its work to a blocking thread
///   (PostgreSQL, 100,000 households, get-by-id at 64 connections, six alternating pairs of
///   runs: 4,847 to 5,806 requests a second before, 6,025 to 7,012 after; p99 19–24 ms before,
///   23–28 ms after, as more requests reach the database at once).
#[derive(Clone)]
pub struct Db {
    pub pool: Pool,
    permits: Arc<Semaphore>,
}

impl Db {
    pub fn new(pool: Pool) -> Db {
        let n = pool.max_size() as usize;
        let n = if pool.backend() == "sqlite" { n } else { 2 * n };
        let permits = Arc::new(Semaphore::new(n));
        Db { pool, permits }
    }
}

/// Where a unit of work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    /// On the async worker that serves the request: its permit guarantees a free connection.
    Worker,
    /// On the async worker when a connection is idle now, else on a blocking thread that waits
    /// for one.
    WorkerIfIdle,
    BlockingThread,
}

/// Takes a connection and runs a short read `f` with it, right here on the async worker when it
/// can, saving the hand-off to a blocking thread and back (and the thread switches with it):
///
/// - on SQLite always: a read of an in-process database in WAL mode never waits for a writer and
///   takes microseconds;
/// - on PostgreSQL when a connection is idle: the worker then waits only for the statement's
///   answer, as a blocking thread would. `jiekun serve` starts half as many workers as the pool
///   has connections, so that many reads are under way at once. When every connection is taken,
///   the read waits for one on a blocking thread, not on the worker. A read that waits on the
///   database holds the worker's other requests behind it: only reads of one record or one page
///   (with its count when asked for) go this way; registry scans, reports and writes do not.
///
///   PostgreSQL, 100,000 households, 64 connections, three alternating rounds beside the bare
///   stack (12,516–13,465 requests a second): get-by-id from 7,562–9,135 to 8,253–10,054 (server
///   time per request 117–139 to 94–114 µs), and the list's p99 from 53–71 to 36–55 ms.
///
/// Everything else runs on a blocking thread.
pub async fn run<T, F>(db: &Db, f: F) -> ApiResult<T>
where
    F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    on_connection(db, short_read(db), f, Ok).await
}

fn short_read(db: &Db) -> On {
    if db.pool.backend() == "sqlite" {
        On::Worker
    } else {
        On::WorkerIfIdle
    }
}

/// Like [`run`], then `present` what `f` read, on the same thread, once the connection is given
/// back: the answer is written (with [`JsonBody::of`]) where its rows were read, so that they are
/// freed by the thread that allocated them. Rows handed to an async worker and freed there must
/// be gathered back by the reading thread's allocator, one cold block at a time: under the load
/// of household lists on PostgreSQL, a twentieth of the server's time.
pub async fn run_presented<T, U, F, P>(db: &Db, f: F, present: P) -> ApiResult<U>
where
    F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    P: FnOnce(T) -> ApiResult<U> + Send + 'static,
    T: Send + 'static,
    U: Send + 'static,
{
    on_connection(db, short_read(db), f, present).await
}

/// Runs `f` on a blocking thread whatever the backend: for writes (which may wait for the
/// database's write lock) and for long reads.
pub async fn run_blocking<T, F>(db: &Db, f: F) -> ApiResult<T>
where
    F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    on_connection(db, On::BlockingThread, f, Ok).await
}

/// Like [`run`], inside one write transaction (all or nothing).
pub async fn write<T, F>(db: &Db, f: F) -> ApiResult<T>
where
    F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    run_blocking(db, move |c| jiekun_store::write(c, f)).await
}

async fn on_connection<T, U, F, P>(db: &Db, on: On, f: F, present: P) -> ApiResult<U>
where
    F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    P: FnOnce(T) -> ApiResult<U> + Send + 'static,
    T: Send + 'static,
    U: Send + 'static,
{
    let waiting = std::time::Instant::now();
    let permit = db
        .permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::internal("database permits closed"))?;
    // The pool wait: for a permit, then for a connection.
    let waited = move || {
        let secs = waiting.elapsed().as_secs_f64();
        metrics::histogram!("db_pool_wait_seconds").record(secs);
        secs * 1000.0
    };
    let here = match on {
        // The permit guarantees a free connection, so `get` does not wait.
        On::Worker => Some(db.pool.get()?),
        On::WorkerIfIdle => db.pool.try_get(),
        On::BlockingThread => None,
    };
    if let Some(mut conn) = here {
        let inline = true;
        let waited_ms = waited();
        tracing::trace!(waited_ms, inline, "database work");
        let done = f(&mut conn);
        drop(conn);
        drop(permit);
        return present(done?);
    }
    let pool = db.pool.clone();
    // The request's span goes with the work to the blocking thread.
    let span = tracing::Span::current();
    // The permit goes with the work and is given back, after the connection, as soon as the work
    // is done: not once this task is polled again, which leaves the connection idle meanwhile.
    web::block(move || {
        let _entered = span.enter();
        let inline = false;
        let mut conn = pool.get()?;
        let waited_ms = waited();
        tracing::trace!(waited_ms, inline, "database work");
        let done = f(&mut conn);
        drop(conn);
        drop(permit);
        present(done?)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Runs a long read `f` that spreads over `connections` connections of the pool (the registry
/// scans), on a blocking thread, holding as many permits so that other requests still find a
/// connection. At most half the pool is taken; `f` is told how many connections it may take
/// beside its first (none on a pool of one or two).
pub async fn run_spread<T, F>(db: &Db, connections: u32, f: F) -> ApiResult<T>
where
    F: FnOnce(&Pool, usize) -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    let n = connections.min(db.pool.max_size() / 2).max(1);
    let _permits = db
        .permits
        .acquire_many(n)
        .await
        .map_err(|_| ApiError::internal("database permits closed"))?;
    let pool = db.pool.clone();
    // One connection lists the ranges; the others read them.
    web::block(move || f(&pool, (n - 1) as usize))
        .await
        .map_err(ApiError::internal)?
}

/// An answer's JSON, written ahead of its response (see [`run_presented`]).
pub struct JsonBody(Vec<u8>);

impl JsonBody {
    pub fn of<T: Serialize>(value: &T) -> ApiResult<JsonBody> {
        serde_json::to_vec(value)
            .map(JsonBody)
            .map_err(ApiError::internal)
    }

    /// The response `builder` with this body, as `application/json`.
    pub fn into_response(self, mut builder: HttpResponseBuilder) -> HttpResponse {
        builder.content_type(ContentType::json()).body(self.0)
    }
}
