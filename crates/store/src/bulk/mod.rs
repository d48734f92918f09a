//! Bulk loading of household files built outside the store (generated demo data, imports): a batch
//! of prepared rows is written in one transaction, with `COPY … FROM STDIN` (binary) on PostgreSQL
//! and prepared multi-row `INSERT`s on SQLite, and one audit event naming how many rows of each
//! kind it wrote. A long load on PostgreSQL ([`loading`]) sets the foreign keys and secondary
//! indexes of the tables aside in its one transaction and puts them back at the end (`keys`).

use diesel::prelude::*;

use crate::audit::{self, NewEvent};
use crate::error::StoreResult;
use crate::households::{ExpenditureRow, HouseholdRow, IncomeRow, MemberRow};
use crate::workflows::LifecycleRow;
use crate::DbConnection;

pub mod keys;
pub mod parents;
mod rows;

/// `COPY table FROM STDIN` in the binary format, through the concrete connection.
macro_rules! copy {
    ($conn:expr, $table:expr, $rows:expr) => {
        if !$rows.is_empty() {
            diesel::copy_from($table)
                .from_insertable($rows)
                .execute($conn)?;
        }
    };
}

use self::rows::{ActivePersonIn, ExpenditureIn, HouseholdIn, IncomeIn, LifecycleIn, MemberIn};

/// Household files ready to be written: every row complete (ids, encrypted fields and blind
/// indexes included), members pointing at households of the same batch or already stored.
#[derive(Debug, Clone, Default)]
pub struct HouseholdBatch {
    pub households: Vec<HouseholdRow>,
    /// Every member is recorded as an active person (one active household per person).
    pub members: Vec<MemberRow>,
    pub incomes: Vec<IncomeRow>,
    pub expenditures: Vec<ExpenditureRow>,
    pub lifecycle: Vec<LifecycleRow>,
    /// The registry scans' digests of the batch's households (`rules::digest::of_batch`), written
    /// with them; a household without one is left with an empty digest for the first scan to
    /// build.
    pub digests: Vec<crate::rules::digest::DigestRow>,
    /// File numbers the batch used: the workflow's next number of this region and year follows
    /// the last one.
    pub file_numbers: Option<FileNumbers>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNumbers {
    pub region: String,
    pub year: i32,
    pub last: i64,
}

/// Rows written by one batch, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub households: usize,
    pub members: usize,
    pub incomes: usize,
    pub expenditures: usize,
    pub lifecycle: usize,
}

impl Written {
    pub fn add(&mut self, other: Written) {
        self.households += other.households;
        self.members += other.members;
        self.incomes += other.incomes;
        self.expenditures += other.expenditures;
        self.lifecycle += other.lifecycle;
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "households": self.households,
            "members": self.members,
            "income_records": self.incomes,
            "expenditures": self.expenditures,
            "lifecycle": self.lifecycle,
        })
    }
}

/// Writes the batch in one transaction with `event` appended to the audit log, its changes
/// completed with the counts of rows written. Nothing is written when any row is refused.
pub fn write_batch(
    conn: &mut DbConnection,
    batch: &HouseholdBatch,
    event: NewEvent,
) -> StoreResult<Written> {
    crate::write(conn, |c| write_rows(c, batch, event))
}

/// A bulk load in progress ([`loading`]): its batches are written straight into the load's one
/// transaction, without a savepoint each (on SQLite a savepoint keeps a copy of every page a batch
/// changes; on PostgreSQL each is a subtransaction). A batch that fails spoils the load: every
/// later write is refused, and the load rolls back whatever the closure returns.
pub struct Load<'c> {
    conn: &'c mut DbConnection,
    failed: bool,
    /// The database's foreign keys are off (SQLite): each batch's are checked by the loader.
    check_parents: bool,
}

impl Load<'_> {
    /// Writes the batch into the load with `event` appended to the audit log, as [`write_batch`]
    /// does in a transaction of its own.
    pub fn write(&mut self, batch: &HouseholdBatch, event: NewEvent) -> StoreResult<Written> {
        if self.failed {
            return Err(diesel::result::Error::RollbackTransaction.into());
        }
        let out = if self.check_parents {
            parents::check(self.conn, batch)
                .map_err(Into::into)
                .and_then(|()| write_rows(self.conn, batch, event))
        } else {
            write_rows(self.conn, batch, event)
        };
        self.failed = out.is_err();
        out
    }

    /// The load's connection, inside its transaction, for reads between batches (what a write on
    /// it changes is the caller's to keep consistent: on SQLite its foreign keys are off).
    pub fn connection(&mut self) -> &mut DbConnection {
        self.conn
    }
}

/// The rows of a batch, written on a connection inside a transaction.
fn write_rows(
    c: &mut DbConnection,
    batch: &HouseholdBatch,
    mut event: NewEvent,
) -> StoreResult<Written> {
    let households: Vec<HouseholdIn> = batch.households.iter().map(Into::into).collect();
    let members: Vec<MemberIn> = batch.members.iter().map(Into::into).collect();
    let persons: Vec<ActivePersonIn> = batch.members.iter().map(Into::into).collect();
    let incomes: Vec<IncomeIn> = batch.incomes.iter().map(Into::into).collect();
    let expenditures: Vec<ExpenditureIn> = batch.expenditures.iter().map(Into::into).collect();
    let lifecycle: Vec<LifecycleIn> = batch.lifecycle.iter().map(Into::into).collect();
    let written = Written {
        households: households.len(),
        members: members.len(),
        incomes: incomes.len(),
        expenditures: expenditures.len(),
        lifecycle: lifecycle.len(),
    };
    let mut changes = match event.changes.take() {
        Some(serde_json::Value::Object(map)) => map,
        Some(other) => [("details".to_owned(), other)].into_iter().collect(),
        None => serde_json::Map::new(),
    };
    if let serde_json::Value::Object(counts) = written.json() {
        changes.extend(counts);
    }
    event.changes = Some(serde_json::Value::Object(changes));
    {
        match c {
            DbConnection::Postgres(pg) => {
                use crate::schema::*;
                // Parents before children: the foreign keys are checked row by row.
                copy!(pg, households::table, households);
                copy!(pg, household_members::table, members);
                copy!(pg, active_persons::table, persons);
                copy!(pg, income_records::table, incomes);
                copy!(pg, expenditures::table, expenditures);
                copy!(pg, household_lifecycle::table, lifecycle);
            }
            DbConnection::Sqlite(lite) => rows::insert_sqlite(
                lite,
                &households,
                &members,
                &persons,
                &incomes,
                &expenditures,
                &lifecycle,
            )?,
        }
        // Households stored before the batch whose rows it adds to: their digests no longer hold
        // all their rows (the digest triggers may be off for a load).
        let own: std::collections::HashSet<&str> =
            batch.households.iter().map(|h| h.id.as_str()).collect();
        let mut others: Vec<&str> = (batch.members.iter().map(|m| m.household_id.as_str()))
            .chain(batch.incomes.iter().map(|i| i.household_id.as_str()))
            .chain(batch.expenditures.iter().map(|e| e.household_id.as_str()))
            .filter(|id| !own.contains(id))
            .collect();
        others.sort_unstable();
        others.dedup();
        if !others.is_empty() {
            use crate::schema::household_digests as d;
            diesel::update(d::table.filter(d::household_id.eq_any(&others)))
                .set((
                    d::body.eq(None::<String>),
                    d::health_enc.eq(None::<String>),
                    d::gen.eq(d::gen + 1),
                ))
                .execute(c)?;
        }
        write_digests(c, &batch.digests)?;
        if let Some(f) = &batch.file_numbers {
            crate::workflows::reserve_file_numbers(c, &f.region, f.year, f.last)?;
        }
        audit::append(c, event)?;
    }
    Ok(written)
}

/// Writes digests over the empty ones of their households (or as their first, during a load with
/// the digest triggers off): after the rows they digest, in the same transaction.
fn write_digests(
    c: &mut DbConnection,
    digests: &[crate::rules::digest::DigestRow],
) -> StoreResult<()> {
    if digests.is_empty() {
        return Ok(());
    }
    match c {
        DbConnection::Postgres(pg) => {
            use diesel::sql_types::{Array, Nullable, Text};
            let ids: Vec<&str> = digests.iter().map(|d| d.household_id.as_str()).collect();
            let bodies: Vec<&str> = digests.iter().map(|d| d.body.as_str()).collect();
            let health: Vec<Option<&str>> =
                digests.iter().map(|d| d.health_enc.as_deref()).collect();
            diesel::sql_query(
                "INSERT INTO household_digests (household_id, body, health_enc) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) \
                 ON CONFLICT (household_id) DO UPDATE \
                 SET body = EXCLUDED.body, health_enc = EXCLUDED.health_enc",
            )
            .bind::<Array<Text>, _>(ids)
            .bind::<Array<Text>, _>(bodies)
            .bind::<Array<Nullable<Text>>, _>(health)
            .execute(pg)?;
        }
        DbConnection::Sqlite(lite) => {
            let rows: Vec<rows::DigestIn> = digests.iter().map(Into::into).collect();
            rows::upsert_digests_sqlite(lite, &rows)?;
        }
    }
    Ok(())
}

/// Runs a long bulk load `f` (batches written with [`Load::write`]) in one transaction: the
/// secondary indexes of the loaded tables (and of the register's history) are set aside, every
/// batch is written, and the indexes are built again, each in one sort ([`keys`]). Nothing is kept
/// unless all of it is: the load rolls back when `f` fails or when any of its batches failed. The
/// load holds the database (SQLite) or the loaded tables (PostgreSQL) for itself until it commits,
/// so it is for an empty or quiet database (the demo, a first import), not one serving requests.
///
/// - On SQLite, with a larger page cache (256 MiB) and, when the connection is the database's
///   only one, a rollback journal instead of the write-ahead log: the log would take every new
///   page twice (once into the log, once when it is copied back), while a rollback journal keeps
///   only the old content of the pages the load changes, and the new pages at the end of the file
///   are written once. The journal is synced in full (`synchronous = FULL`), so the load stays
///   durable and all-or-nothing. The foreign keys are off, and [`Load::write`] checks each
///   batch's ([`parents`]); the indexes are sorted with a helper thread (`PRAGMA threads`). Each
///   setting is put back afterwards whatever `f` returns (and a connection that opens the
///   database after a crash switches it to the log again, and its foreign keys on).
/// - On PostgreSQL the foreign keys are set aside too, and the primary and unique keys no foreign
///   key refers to (a duplicate fails the load when they are put back), the keys checked or built
///   once over each table when they are put back, and the new households' history rows are
///   written in one statement instead of one trigger call each.
pub fn loading<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut Load<'_>) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    if let DbConnection::Postgres(_) = conn {
        return crate::write(conn, |c| load_in(c, f));
    }
    let before = SqliteSettings::read(conn)?;
    let result = SqliteSettings::LOADING
        .apply(conn)
        .map_err(E::from)
        .and_then(|()| crate::write(conn, |c| load_in(c, f)));
    let restored = before.apply(conn);
    if result.is_ok() {
        restored?;
    }
    result
}

/// The load inside its transaction: keys and triggers set aside, `f`, then put back.
fn load_in<T, E>(
    c: &mut DbConnection,
    f: impl FnOnce(&mut Load<'_>) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let check_parents = match c {
        DbConnection::Sqlite(_) => !SqliteSettings::foreign_keys_on(c)?,
        DbConnection::Postgres(_) => false,
    };
    let set = keys::set_aside(c, &keys::SET_ASIDE)?;
    let triggers = keys::triggers_aside(c)?;
    let mut load = Load {
        conn: c,
        failed: false,
        check_parents,
    };
    let out = f(&mut load)?;
    if load.failed {
        // The closure went on after a batch failed: that batch may be half written.
        return Err(diesel::result::Error::RollbackTransaction.into());
    }
    keys::triggers_back(c, &triggers)?;
    keys::restore(c, &set)?;
    Ok(out)
}

/// The settings of an SQLite connection a load changes.
struct SqliteSettings<'a> {
    cache_size: i64,
    journal_mode: &'a str,
    synchronous: i64,
    foreign_keys: bool,
    threads: i64,
}

impl SqliteSettings<'static> {
    /// A page cache of 256 MiB, a rollback journal synced in full, the foreign keys off (the
    /// loader checks them, [`parents`]) and a helper thread for the sorts that build the
    /// set-aside indexes again.
    const LOADING: SqliteSettings<'static> = SqliteSettings {
        cache_size: -262_144,
        journal_mode: "delete",
        synchronous: 2,
        foreign_keys: false,
        threads: 2,
    };

    /// Whether the connection checks foreign keys.
    fn foreign_keys_on(conn: &mut DbConnection) -> QueryResult<bool> {
        use diesel::dsl::sql;
        use diesel::sql_types::Bool;
        diesel::select(sql::<Bool>(
            "(SELECT foreign_keys FROM pragma_foreign_keys())",
        ))
        .get_result(conn)
    }
}

impl SqliteSettings<'_> {
    fn read(conn: &mut DbConnection) -> QueryResult<SqliteSettings<'static>> {
        use diesel::dsl::sql;
        use diesel::sql_types::{BigInt, Text};
        let (cache_size, journal_mode, synchronous, threads) = diesel::select((
            sql::<BigInt>("(SELECT cache_size FROM pragma_cache_size())"),
            sql::<Text>("(SELECT journal_mode FROM pragma_journal_mode())"),
            sql::<BigInt>("(SELECT synchronous FROM pragma_synchronous())"),
            sql::<BigInt>("(SELECT threads FROM pragma_threads())"),
        ))
        .get_result::<(i64, String, i64, i64)>(conn)?;
        // Only the modes a connection of this store opens with are put back.
        let journal_mode = if journal_mode.eq_ignore_ascii_case("wal") {
            "wal"
        } else {
            "delete"
        };
        Ok(SqliteSettings {
            cache_size,
            journal_mode,
            synchronous,
            foreign_keys: SqliteSettings::foreign_keys_on(conn)?,
            threads,
        })
    }

    /// Applies the settings, outside a transaction (inside one, SQLite keeps the foreign keys as
    /// they are, and the load then leaves them to the database). The journal mode changes only
    /// when no other connection has the database open; otherwise the load keeps the write-ahead
    /// log, slower but as safe.
    fn apply(&self, conn: &mut DbConnection) -> QueryResult<()> {
        use diesel::connection::SimpleConnection;
        conn.batch_execute(&format!(
            "PRAGMA cache_size = {}; PRAGMA synchronous = {}; PRAGMA foreign_keys = {}; \
             PRAGMA threads = {};",
            self.cache_size,
            self.synchronous,
            if self.foreign_keys { "ON" } else { "OFF" },
            self.threads,
        ))?;
        diesel::sql_query(format!("PRAGMA journal_mode = {}", self.journal_mode))
            .execute(conn)
            .map(drop)
            .or_else(|e| match e {
                diesel::result::Error::DatabaseError(_, _) => Ok(()),
                e => Err(e),
            })
    }
}
