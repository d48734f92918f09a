//! Consistent online copies of an SQLite database, and their check. (PostgreSQL is copied with
//! `pg_dump`, which the command line runs; its copy is checked after restoring.)

use std::path::Path;

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::conn::DbConnection;
use crate::{StoreError, StoreResult};

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Writes a consistent copy of the SQLite database to `to` (`VACUUM INTO`: one read transaction,
/// so writers carry on and the copy holds every commit before it began, and none after).
pub fn sqlite_copy(c: &mut DbConnection, to: &Path) -> StoreResult<()> {
    let DbConnection::Sqlite(s) = c else {
        return Err(StoreError::Config(
            "an online copy by the database itself is for SQLite; use pg_dump for PostgreSQL"
                .into(),
        ));
    };
    if to.exists() {
        return Err(StoreError::Config(format!(
            "{} exists already; a backup never overwrites a file",
            to.display()
        )));
    }
    let target = to
        .to_str()
        .ok_or_else(|| StoreError::Config("the backup path is not UTF-8".into()))?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target)
        .execute(s)?;
    Ok(())
}

/// SQLite's own check of a database file: `Ok(())` when it says `ok`, else its findings.
pub fn sqlite_integrity(c: &mut DbConnection) -> StoreResult<()> {
    let DbConnection::Sqlite(s) = c else {
        return Ok(());
    };
    let found: Vec<Line> =
        diesel::sql_query("SELECT integrity_check AS line FROM pragma_integrity_check").load(s)?;
    let lines: Vec<String> = found.into_iter().map(|l| l.line).collect();
    if lines == ["ok"] {
        Ok(())
    } else {
        Err(StoreError::Config(format!(
            "the database file is damaged: {}",
            lines.join("; ")
        )))
    }
}
