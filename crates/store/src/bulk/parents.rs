//! The foreign keys of a batch, checked by the loader: a load on SQLite turns the database's
//! foreign keys off ([`super::loading`]), since with them on every multi-row `INSERT` looks each
//! parent up again and keeps a statement journal (a copy of every page it changes) in case a key
//! fails half-way. The loader checks the same keys from what it holds: a row's parent is in the
//! same batch (a set in memory) or already stored (one query for all such parents of a batch).
//! [`KEYS`] names every foreign key of the tables a load writes; a test compares it with the
//! schema, so that a key added by a migration cannot go unchecked.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};

use super::HouseholdBatch;
use crate::DbConnection;

/// Every foreign key of the tables a load writes, as `(table, column, parent table)`, each with
/// `id` as the parent column.
pub const KEYS: [(&str, &str, &str); 10] = [
    ("households", "organisation_id", "organisations"),
    ("households", "enterprise_id", "enterprises"),
    ("household_members", "household_id", "households"),
    ("active_persons", "household_id", "households"),
    ("income_records", "household_id", "households"),
    ("income_records", "member_id", "household_members"),
    ("expenditures", "household_id", "households"),
    ("expenditures", "member_id", "household_members"),
    ("household_lifecycle", "household_id", "households"),
    ("household_digests", "household_id", "households"),
];

/// Checks that every row of the batch points at rows that exist: in the batch or stored. Fails as
/// the database would, with a foreign key violation naming the table and column.
pub fn check(c: &mut DbConnection, batch: &HouseholdBatch) -> Result<(), Error> {
    let households: HashSet<&str> = batch.households.iter().map(|h| h.id.as_str()).collect();
    let members: HashSet<&str> = batch.members.iter().map(|m| m.id.as_str()).collect();

    let mut wanted = Wanted::default();
    for h in &batch.households {
        wanted.stored("households", "organisation_id", &h.organisation_id);
        if let Some(e) = &h.enterprise_id {
            wanted.stored("households", "enterprise_id", e);
        }
    }
    for m in &batch.members {
        wanted.either(
            &households,
            "household_members",
            "household_id",
            &m.household_id,
        );
    }
    for i in &batch.incomes {
        wanted.either(
            &households,
            "income_records",
            "household_id",
            &i.household_id,
        );
        if let Some(m) = &i.member_id {
            wanted.either(&members, "income_records", "member_id", m);
        }
    }
    for e in &batch.expenditures {
        wanted.either(&households, "expenditures", "household_id", &e.household_id);
        if let Some(m) = &e.member_id {
            wanted.either(&members, "expenditures", "member_id", m);
        }
    }
    for l in &batch.lifecycle {
        wanted.either(
            &households,
            "household_lifecycle",
            "household_id",
            &l.household_id,
        );
    }
    for d in &batch.digests {
        wanted.either(
            &households,
            "household_digests",
            "household_id",
            &d.household_id,
        );
    }
    // `active_persons` rows are made from the members, pointing at the same household.
    wanted.stored_all(c)
}

/// Parents not in the batch, by the key that needs them.
#[derive(Default)]
struct Wanted<'a> {
    organisations: Vec<(&'a str, &'static str, &'static str)>,
    enterprises: Vec<(&'a str, &'static str, &'static str)>,
    households: Vec<(&'a str, &'static str, &'static str)>,
    members: Vec<(&'a str, &'static str, &'static str)>,
}

impl<'a> Wanted<'a> {
    /// A parent that is in `batch` or must be stored.
    fn either(
        &mut self,
        batch: &HashSet<&str>,
        table: &'static str,
        column: &'static str,
        id: &'a str,
    ) {
        if !batch.contains(id) {
            self.stored(table, column, id);
        }
    }

    /// A parent that must be stored.
    fn stored(&mut self, table: &'static str, column: &'static str, id: &'a str) {
        let list = match (table, column) {
            (_, "organisation_id") => &mut self.organisations,
            (_, "enterprise_id") => &mut self.enterprises,
            (_, "member_id") => &mut self.members,
            _ => &mut self.households,
        };
        list.push((id, table, column));
    }

    fn stored_all(self, c: &mut DbConnection) -> Result<(), Error> {
        use crate::schema::{enterprises, household_members, households, organisations};
        missing(self.organisations, |ids| {
            organisations::table
                .filter(organisations::id.eq_any(ids))
                .select(organisations::id)
                .load(c)
        })?;
        missing(self.enterprises, |ids| {
            enterprises::table
                .filter(enterprises::id.eq_any(ids))
                .select(enterprises::id)
                .load(c)
        })?;
        missing(self.households, |ids| {
            households::table
                .filter(households::id.eq_any(ids))
                .select(households::id)
                .load(c)
        })?;
        missing(self.members, |ids| {
            household_members::table
                .filter(household_members::id.eq_any(ids))
                .select(household_members::id)
                .load(c)
        })
    }
}

/// Looks the wanted ids up (`found` returns those stored, a few thousand at a time) and fails on
/// the first that is not.
fn missing(
    mut wanted: Vec<(&str, &'static str, &'static str)>,
    mut found: impl FnMut(&[&str]) -> QueryResult<Vec<String>>,
) -> Result<(), Error> {
    if wanted.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<&str> = wanted.iter().map(|w| w.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut stored = HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(5_000) {
        stored.extend(found(chunk)?);
    }
    wanted.retain(|(id, _, _)| !stored.contains(*id));
    match wanted.first() {
        None => Ok(()),
        Some((id, table, column)) => Err(Error::DatabaseError(
            DatabaseErrorKind::ForeignKeyViolation,
            Box::new(format!(
                "FOREIGN KEY constraint failed: {table}.{column} = {id} points at no stored row"
            )),
        )),
    }
}
