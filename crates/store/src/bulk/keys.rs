//! A bulk load sets the secondary indexes of the tables it fills aside (and on PostgreSQL their
//! foreign keys too), and puts them back when every row is in: an index grown one entry at a time
//! and a key checked row by row (one lookup in the parent table for each of millions of rows)
//! cost more than building the index in one sort and checking the key once over the whole table.
//! It all happens in the load's one transaction, so the definitions are never lost: if the load
//! fails, or the process dies, the database rolls the dropped keys and indexes back with the rows
//! (both backends' schema changes are transactional). A key the rows break fails the load when it
//! is put back. On PostgreSQL the primary and unique keys (and unique indexes) no foreign key
//! refers to are set aside too (a duplicate fails the load when its key is put back); the others
//! stay, and so do SQLite's unique indexes. SQLite cannot drop a key: a load there turns the
//! foreign keys off for its connection instead, and checks them itself (`super::parents`).

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::DbConnection;

/// The tables whose keys and secondary indexes a load sets aside: those it fills, and the
/// register's history, one row of which it adds for each household.
pub const SET_ASIDE: [&str; 7] = [
    "households",
    "household_members",
    "active_persons",
    "income_records",
    "expenditures",
    "household_lifecycle",
    "household_history",
];

/// Tables a load writes whose foreign keys alone it sets aside on PostgreSQL: the registry scans'
/// digests, written with `ON CONFLICT` on their primary key, which therefore stays.
pub const FOREIGN_KEYS_ASIDE: [&str; 1] = ["household_digests"];

/// A key or an index set aside: how it was dropped and how it is made again.
#[derive(QueryableByName, Debug)]
pub struct SetAside {
    #[diesel(sql_type = Text)]
    drop_sql: String,
    #[diesel(sql_type = Text)]
    restore_sql: String,
}

/// Drops the secondary (not unique) indexes of `tables`, and on PostgreSQL their foreign keys and
/// the primary and unique keys and indexes nothing refers to (in the current schema); returns
/// what puts them back. Call inside a transaction.
pub fn set_aside(c: &mut DbConnection, tables: &[&str]) -> QueryResult<Vec<SetAside>> {
    let out = match c {
        DbConnection::Postgres(_) => postgres_set(c, tables)?,
        DbConnection::Sqlite(_) => diesel::sql_query(
            "SELECT printf('DROP INDEX \"%w\"', m.name) AS drop_sql, m.sql AS restore_sql \
             FROM sqlite_master m \
             WHERE m.type = 'index' AND m.sql IS NOT NULL \
               AND m.tbl_name IN (SELECT value FROM json_each(?)) \
               AND NOT EXISTS (SELECT 1 FROM pragma_index_list(m.tbl_name) l \
                               WHERE l.name = m.name AND l.\"unique\") \
             ORDER BY m.tbl_name, m.name",
        )
        .bind::<Text, _>(serde_json::to_string(tables).unwrap_or_default())
        .load(c)?,
    };
    for s in &out {
        diesel::sql_query(&s.drop_sql).execute(c)?;
    }
    Ok(out)
}

/// PostgreSQL's foreign keys (of `tables` and [`FOREIGN_KEYS_ASIDE`]), and the unreferenced
/// primary and unique keys and secondary indexes of `tables`, with their definitions.
fn postgres_set(c: &mut DbConnection, tables: &[&str]) -> QueryResult<Vec<SetAside>> {
    let with_keys_only = tables
        .iter()
        .chain(&FOREIGN_KEYS_ASIDE)
        .copied()
        .collect::<Vec<_>>()
        .join(",");
    let tables = tables.join(",");
    let mut out: Vec<SetAside> = diesel::sql_query(
        "SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', t.relname, k.conname) AS drop_sql, \
                format('ALTER TABLE %I ADD CONSTRAINT %I %s', t.relname, k.conname, \
                       pg_get_constraintdef(k.oid)) AS restore_sql \
         FROM pg_constraint k \
         JOIN pg_class t ON t.oid = k.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE k.contype = 'f' AND n.nspname = current_schema() AND t.relname = ANY(string_to_array($1, ',')) \
         ORDER BY t.relname, k.conname",
    )
    .bind::<Text, _>(&with_keys_only)
    .load(c)?;
    // Primary and unique keys no foreign key refers to: checked in one pass when put back (a
    // duplicate fails the load then) instead of one index lookup per row as it comes. Those a
    // foreign key refers to stay (a table's `id` the others point at).
    out.extend(
        diesel::sql_query(
            "SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', t.relname, k.conname) AS drop_sql, \
                    format('ALTER TABLE %I ADD CONSTRAINT %I %s', t.relname, k.conname, \
                           pg_get_constraintdef(k.oid)) AS restore_sql \
             FROM pg_constraint k \
             JOIN pg_class t ON t.oid = k.conrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE k.contype IN ('p', 'u') AND n.nspname = current_schema() \
               AND t.relname = ANY(string_to_array($1, ',')) \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint f \
                               WHERE f.contype = 'f' AND f.conindid = k.conindid) \
             ORDER BY t.relname, k.conname",
        )
        .bind::<Text, _>(&tables)
        .load::<SetAside>(c)?,
    );
    // Indexes that back no key, unique ones too unless a foreign key refers to them.
    out.extend(
        diesel::sql_query(
            "SELECT format('DROP INDEX %I', i.relname) AS drop_sql, \
                    pg_get_indexdef(i.oid) AS restore_sql \
             FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = current_schema() AND t.relname = ANY(string_to_array($1, ',')) \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid \
                               AND k.contype IN ('p', 'u', 'x', 'f')) \
             ORDER BY t.relname, i.relname",
        )
        .bind::<Text, _>(&tables)
        .load::<SetAside>(c)?,
    );
    Ok(out)
}

/// Puts back what [`set_aside`] took: the indexes, built in one pass each, then the primary and
/// unique keys, each built in one sort, then the foreign keys, each checked once over its table.
pub fn restore(c: &mut DbConnection, set: &[SetAside]) -> QueryResult<()> {
    if let DbConnection::Postgres(_) = c {
        diesel::sql_query("SET LOCAL maintenance_work_mem = '256MB'").execute(c)?;
    }
    let (keys, indexes): (Vec<&SetAside>, Vec<&SetAside>) = set
        .iter()
        .partition(|s| s.drop_sql.starts_with("ALTER TABLE"));
    // Primary and unique keys before the foreign keys, which may need them.
    let (foreign, unique): (Vec<&SetAside>, Vec<&SetAside>) = keys
        .into_iter()
        .partition(|s| s.restore_sql.contains(" FOREIGN KEY "));
    for s in indexes.into_iter().chain(unique).chain(foreign) {
        diesel::sql_query(&s.restore_sql).execute(c)?;
    }
    Ok(())
}

/// The register's history row of each new household, written once for the whole load instead of
/// by the row trigger (`household_history_insert`), which [`triggers_aside`] turns off for this
/// transaction's load on PostgreSQL.
const HISTORY_OF_NEW: &str = "INSERT INTO household_history (household_id, valid_from, status, \
     category, organisation_id, organisation_path, region_code, main_cause, single_parent, \
     disability_household, zero_employment) \
     SELECT h.id, h.updated_at, h.status, h.category, h.organisation_id, h.organisation_path, \
     h.region_code, h.main_cause, h.single_parent, h.disability_household, h.zero_employment \
     FROM households h \
     WHERE NOT EXISTS (SELECT 1 FROM household_history x WHERE x.household_id = h.id) \
     ORDER BY h.updated_at, h.id";

/// The (empty) digest row of each new household, written once for the whole load instead of by
/// the row trigger (`household_digest_new`). The digests are built by the first scan, or by
/// `registry::refresh_digests`.
const DIGESTS_OF_NEW: &str = "INSERT INTO household_digests (household_id) \
     SELECT h.id FROM households h \
     WHERE NOT EXISTS (SELECT 1 FROM household_digests d WHERE d.household_id = h.id)";

/// The row triggers a load on PostgreSQL turns off, by table: the history and digest rows of new
/// households, and the digest triggers of the three tables the digest holds (a new household's
/// digest is empty already; a household of an earlier load whose rows a batch adds to is emptied
/// by the batch, [`super::Load::write`]).
const POSTGRES_TRIGGERS: [(&str, &str); 5] = [
    ("households", "household_history_insert"),
    ("households", "household_digest_new"),
    ("household_members", "household_digest_stale"),
    ("income_records", "household_digest_stale"),
    ("expenditures", "household_digest_stale"),
];

/// Turns the row triggers a load makes redundant off inside the load's transaction (a rollback
/// turns them back on): on PostgreSQL those of [`POSTGRES_TRIGGERS`], on SQLite (which cannot
/// turn a trigger off) the digest triggers, dropped. [`triggers_back`] writes what they would
/// have written in one statement each and puts them back.
pub fn triggers_aside(c: &mut DbConnection) -> QueryResult<Vec<SetAside>> {
    let set: Vec<SetAside> = match c {
        DbConnection::Postgres(_) => POSTGRES_TRIGGERS
            .iter()
            .map(|(table, trigger)| SetAside {
                drop_sql: format!("ALTER TABLE {table} DISABLE TRIGGER {trigger}"),
                restore_sql: format!("ALTER TABLE {table} ENABLE TRIGGER {trigger}"),
            })
            .collect(),
        DbConnection::Sqlite(_) => diesel::sql_query(
            "SELECT printf('DROP TRIGGER \"%w\"', name) AS drop_sql, sql AS restore_sql \
             FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'household\\_digest\\_%' \
             ESCAPE '\\' ORDER BY name",
        )
        .load(c)?,
    };
    for s in &set {
        diesel::sql_query(&s.drop_sql).execute(c)?;
    }
    Ok(set)
}

/// Writes the history row (PostgreSQL) and the digest row of every household that has none, and
/// puts the triggers of [`triggers_aside`] back.
pub fn triggers_back(c: &mut DbConnection, set: &[SetAside]) -> QueryResult<()> {
    if let DbConnection::Postgres(_) = c {
        diesel::sql_query(HISTORY_OF_NEW).execute(c)?;
    }
    diesel::sql_query(DIGESTS_OF_NEW).execute(c)?;
    for s in set {
        diesel::sql_query(&s.restore_sql).execute(c)?;
    }
    Ok(())
}
