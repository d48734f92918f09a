//! `Idempotency-Key` (IETF draft "The Idempotency-Key HTTP Header Field"): the first answer to a
//! caller's key is stored with a hash of the request, in the same transaction as the change it
//! answers. A retry with the same request gets that answer again; with another request, a
//! refusal. Two retries that race cannot both write: the second's insert of the key fails on the
//! primary key, its transaction rolls back, and it then finds and replays the first answer.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::conn::DbConnection;
use crate::schema::idempotency_keys as k;
use crate::StoreResult;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = k, treat_none_as_default_value = false)]
pub struct IdempotencyRow {
    pub caller_id: String,
    pub key: String,
    /// The operation the key was first used for (`POST /api/v1/assistance`).
    pub operation: String,
    /// SHA-256 of the request body as received.
    pub request_hash: String,
    pub status: i64,
    pub location: Option<String>,
    pub body: String,
    pub created_at: NaiveDateTime,
}

/// The stored answer to `caller_id`'s `key`, if any.
pub fn find(
    c: &mut DbConnection,
    caller_id: &str,
    key: &str,
) -> StoreResult<Option<IdempotencyRow>> {
    Ok(k::table
        .find((caller_id, key))
        .select(IdempotencyRow::as_select())
        .first(c)
        .optional()?)
}

/// Stores the answer to a key; fails with a unique-constraint conflict when a racing request
/// stored its answer first.
pub fn save(c: &mut DbConnection, row: &IdempotencyRow) -> StoreResult<()> {
    diesel::insert_into(k::table).values(row).execute(c)?;
    Ok(())
}

/// Forgets answers stored before `before` (keys are kept for 24 hours).
pub fn purge(c: &mut DbConnection, before: NaiveDateTime) -> StoreResult<usize> {
    Ok(diesel::delete(k::table.filter(k::created_at.lt(before))).execute(c)?)
}
