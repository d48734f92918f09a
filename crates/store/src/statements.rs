//! The statements a connection keeps prepared, with how often each has run: what shows that a
//! read is prepared once per connection and not again for every request (SQLite's `sqlite_stmt`
//! table, PostgreSQL's `pg_prepared_statements` view). For diagnosis and the tests.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use crate::{DbConnection, StoreResult};

/// One statement kept prepared on a connection.
#[derive(QueryableByName, Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Its SQL text.
    #[diesel(sql_type = Text)]
    pub sql: String,
    /// How many times it has run since it was prepared (PostgreSQL: how many times it was
    /// planned, once for each run).
    #[diesel(sql_type = BigInt)]
    pub runs: i64,
    /// How many times SQLite prepared it again (after a schema change, or with a plan that
    /// depends on the values bound); not known on PostgreSQL, which plans each run anyway.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub reprepares: Option<i64>,
}

/// The statements `conn` keeps prepared, but for the one that reads them.
pub fn prepared(conn: &mut DbConnection) -> StoreResult<Vec<Prepared>> {
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT sql, run AS runs, reprep AS reprepares FROM sqlite_stmt \
             WHERE sql NOT LIKE '%sqlite_stmt%' ORDER BY sql"
        }
        DbConnection::Postgres(_) => {
            "SELECT statement AS sql, generic_plans + custom_plans AS runs, \
             NULL::bigint AS reprepares FROM pg_prepared_statements \
             WHERE statement NOT LIKE '%pg_prepared_statements%' ORDER BY statement"
        }
    };
    Ok(diesel::sql_query(sql).load(conn)?)
}
