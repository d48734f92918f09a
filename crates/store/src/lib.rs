//! Persistence for jiekun: one module per aggregate, each a set of functions over
//! `&mut DbConnection` so that several compose inside one transaction. Knows nothing of HTTP.

pub mod api_keys;
pub mod audit;
pub mod audit_archive;
pub mod backup;
pub mod bulk;
pub mod campaigns;
pub mod cases;
pub mod conn;
pub mod contacts;
pub mod crypto;
pub mod departments;
pub mod enterprises;
pub mod error;
pub mod household_file;
pub mod households;
pub mod idempotency;
pub mod measures;
pub mod organisations;
pub mod page;
pub mod registry;
pub mod reports;
pub mod rotate;
pub mod rules;
pub mod schema;
pub mod scope;
pub mod sharing;
pub mod stamp;
pub mod statements;
pub mod throttle;
pub mod users;
pub mod workflows;

pub use conn::{write, DatabaseTarget, DbConnection, Pool, PoolOptions, PooledConnection};
pub use diesel::result::Error as DbError;
pub use error::{StoreError, StoreResult};
pub use page::{Page, PageRequest};
pub use scope::Scope;

/// Runs a diesel expression on the concrete connection (SQLite or PostgreSQL) rather than through
/// `DbConnection`, for the hottest queries: the concrete connections cache their prepared
/// statements, which saves parsing and planning the SQL on every request.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::DbConnection::Sqlite($c) => $body,
            $crate::DbConnection::Postgres($c) => $body,
        }
    };
}

/// Applies `changes` to the row `id` of `table` if its stored version is `expected` (and the row
/// lies inside `scope`, checked with the module's own `get`), bumping the version; otherwise
/// `NotFound` or `VersionMismatch`. Expands inside a function returning `StoreResult<Row>`.
macro_rules! versioned_update {
    ($conn:expr, $scope:expr, $table:ident, $id:expr, $expected:expr, $changes:expr) => {{
        use $crate::schema::$table::dsl as t;
        // Outside the caller's scope is as good as absent.
        get($conn, $scope, $id)?;
        let n = diesel::update(t::$table.filter(t::id.eq($id).and(t::version.eq($expected))))
            .set((
                $changes,
                t::version.eq(t::version + 1),
                t::updated_at.eq($crate::now()),
            ))
            .execute($conn)?;
        let row = get($conn, &Scope::All, $id)?;
        if n == 0 {
            return Err(StoreError::VersionMismatch {
                expected: $expected,
                actual: row.version,
            });
        }
        Ok(row)
    }};
}
pub(crate) use versioned_update;

/// A new opaque public id: a UUIDv7, so ids sort by creation and index well, yet are not guessable
/// counters.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Now, in UTC, truncated to microseconds so that SQLite and PostgreSQL store the same value.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    let t = chrono::Utc::now().naive_utc();
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_contains(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A `LIKE` prefix pattern for a region code prefix (digits only, so nothing to escape).
pub(crate) fn like_prefix(prefix: &str) -> String {
    format!("{prefix}%")
}
