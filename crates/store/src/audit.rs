//! The audit log: append-only, hash-chained. Each event stores the hash of the one before it, so
//! that editing, deleting or inserting an event breaks the chain at that point.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::StoreResult;
use crate::schema::{audit_events, audit_head};
use crate::scope::Scope;
use crate::DbConnection;

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct AuditEventRow {
    pub seq: i64,
    pub occurred_at: NaiveDateTime,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub organisation_id: Option<String>,
    pub organisation_path: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
    pub source_address: Option<String>,
    pub changes: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// Who did something, as the audit log records it.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// `user`, `api_key`, `system` or `anonymous`.
    pub kind: &'static str,
    pub id: Option<String>,
    pub name: Option<String>,
    pub organisation_id: Option<String>,
    pub organisation_path: Option<String>,
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub actor: Actor,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    /// `success`, `denied` or `failure`.
    pub outcome: &'static str,
    pub request_id: Option<String>,
    pub source_address: Option<String>,
    /// Changed fields, personal data already redacted.
    pub changes: Option<serde_json::Value>,
}

/// Who is acting in a unit of work, and from where: every unit of work that changes data takes
/// one and appends its audit event in the same transaction.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub actor: Actor,
    pub request_id: Option<String>,
    pub source_address: Option<String>,
}

impl Caller {
    /// An event of a successful change by this caller, personal data redacted.
    pub fn event(
        &self,
        action: &str,
        resource_type: &str,
        resource_id: &str,
        changes: serde_json::Value,
    ) -> NewEvent {
        NewEvent {
            actor: self.actor.clone(),
            action: action.to_owned(),
            resource_type: resource_type.to_owned(),
            resource_id: Some(resource_id.to_owned()),
            outcome: "success",
            request_id: self.request_id.clone(),
            source_address: self.source_address.clone(),
            changes: Some(redact(changes)),
        }
    }
}

/// Field names whose values never enter the audit log.
const SENSITIVE: &[&str] = &[
    "password",
    "current_password",
    "new_password",
    "password_hash",
    "secret",
    "key",
    "national_id",
    "bank_account",
    "health",
    "health_status",
    "disability",
];

/// Replaces the values of sensitive fields, at any depth, with `"[redacted]"`.
pub fn redact(mut v: serde_json::Value) -> serde_json::Value {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, val) in map.iter_mut() {
                    if SENSITIVE.contains(&k.as_str()) {
                        *val = serde_json::Value::String("[redacted]".into());
                    } else {
                        walk(val);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

fn timestamp(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The hash of an event: SHA-256 over a JSON array of every field but the hash itself.
pub fn event_hash(e: &AuditEventRow) -> String {
    let canonical = serde_json::json!([
        e.seq,
        e.prev_hash,
        timestamp(&e.occurred_at),
        e.actor_type,
        e.actor_id,
        e.actor_name,
        e.organisation_id,
        e.organisation_path,
        e.action,
        e.resource_type,
        e.resource_id,
        e.outcome,
        e.request_id,
        e.source_address,
        e.changes,
    ]);
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends an event. Call inside the transaction of the change it describes ([`crate::write`]):
/// there the event is held and appended when the transaction commits, after everything else it
/// does, so that the chain's head row, whose lock makes appends take turns until their commit, is
/// locked only for the appends and the commit itself (see [`Deferred`]). Outside a write
/// transaction it is appended at once.
pub fn append(conn: &mut DbConnection, event: NewEvent) -> StoreResult<()> {
    append_at(conn, event, crate::now())
}

/// Takes the next sequence number of the chain and returns it with the last event's hash.
const NEXT_SEQ: &str = "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash";

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    hash: String,
}

/// [`append`] with the time the event happened given: for events carried over from an earlier
/// system, whose times are their own.
pub fn append_at(
    conn: &mut DbConnection,
    event: NewEvent,
    occurred_at: NaiveDateTime,
) -> StoreResult<()> {
    match Deferred::hold(conn, event, occurred_at) {
        None => Ok(()),
        Some(event) => Ok(append_now(conn, event, occurred_at).map(drop)?),
    }
}

/// Writes the event onto the chain now.
fn append_now(
    conn: &mut DbConnection,
    event: NewEvent,
    occurred_at: NaiveDateTime,
) -> QueryResult<AuditEventRow> {
    // Counted when written; a transaction rolled back afterwards takes its event with it.
    metrics::counter!("audit_appends_total").increment(1);
    // One statement takes the next number and reads the hash it follows (both backends have
    // RETURNING): on PostgreSQL every audited write is a round trip shorter.
    let Head {
        seq,
        hash: prev_hash,
    } = match conn {
        DbConnection::Postgres(pg) => kept::NextSeq.get_result(pg)?,
        DbConnection::Sqlite(lite) => kept::NextSeq.get_result(lite)?,
    };
    let mut row = AuditEventRow {
        seq,
        occurred_at,
        actor_type: event.actor.kind.to_owned(),
        actor_id: event.actor.id,
        actor_name: event.actor.name,
        organisation_id: event.actor.organisation_id,
        organisation_path: event.actor.organisation_path,
        action: event.action,
        resource_type: event.resource_type,
        resource_id: event.resource_id,
        outcome: event.outcome.to_owned(),
        request_id: event.request_id,
        source_address: event.source_address,
        changes: event.changes.map(|c| c.to_string()),
        prev_hash,
        hash: String::new(),
    };
    row.hash = event_hash(&row);
    match conn {
        // One statement writes the event and moves the head onto it: an audited write on
        // PostgreSQL is a round trip shorter.
        DbConnection::Postgres(pg) => {
            kept::InsertAndMoveHead(&row).execute(pg)?;
        }
        DbConnection::Sqlite(lite) => {
            kept::Insert(&row).execute(lite)?;
            kept::MoveHead(&row.hash).execute(lite)?;
        }
    }
    Ok(row)
}

type Held = Vec<(NewEvent, NaiveDateTime)>;

thread_local! {
    /// The events held by the write transactions open on this thread, by connection (its
    /// address, which stays put while [`crate::write`] runs its work on it).
    static HELD: std::cell::RefCell<Vec<(usize, Held)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn key(conn: &DbConnection) -> usize {
    conn as *const DbConnection as usize
}

/// The audit events of one write transaction, held until it commits ([`crate::write`]): appended
/// then, in the order they happened, so that two transactions overlap until their commits
/// instead of from the first append of one to its commit. Each event keeps the time it
/// happened; its place in the chain is its transaction's commit order, as before. The events of
/// a savepoint that fails are dropped with its changes, and a transaction that fails or panics
/// drops all of its own.
pub(crate) enum Deferred {
    /// The outermost write transaction on this connection: it holds the events.
    Outermost(usize),
    /// A savepoint inside one: the number of events held when it began.
    Savepoint(usize, usize),
    /// A savepoint inside a transaction not opened by [`crate::write`]: events go straight in.
    Unheld,
}

impl Deferred {
    pub(crate) fn begin(conn: &DbConnection, outermost: bool) -> Deferred {
        let k = key(conn);
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            if outermost {
                h.push((k, Vec::new()));
                return Deferred::Outermost(k);
            }
            match h.iter().rev().find(|(c, _)| *c == k) {
                Some((_, held)) => Deferred::Savepoint(k, held.len()),
                None => Deferred::Unheld,
            }
        })
    }

    /// Holds `event` if a write transaction on `conn` is open, or gives it back.
    fn hold(conn: &DbConnection, event: NewEvent, at: NaiveDateTime) -> Option<NewEvent> {
        let k = key(conn);
        HELD.with(
            |h| match h.borrow_mut().iter_mut().rev().find(|(c, _)| *c == k) {
                Some((_, held)) => {
                    held.push((event, at));
                    None
                }
                None => Some(event),
            },
        )
    }

    fn take(k: usize) -> Held {
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            match h.iter().rposition(|(c, _)| *c == k) {
                Some(i) => h.remove(i).1,
                None => Vec::new(),
            }
        })
    }

    /// Appends the outermost transaction's events, just before it commits.
    pub(crate) fn commit(self, conn: &mut DbConnection) -> QueryResult<()> {
        if let Deferred::Outermost(k) = self {
            for (event, at) in Deferred::take(k) {
                append_now(conn, event, at)?;
            }
        }
        Ok(())
    }

    /// Drops the events held since this transaction or savepoint began.
    pub(crate) fn roll_back(self) {
        match self {
            Deferred::Outermost(k) => drop(Deferred::take(k)),
            Deferred::Savepoint(k, len) => HELD.with(|h| {
                if let Some((_, held)) = h.borrow_mut().iter_mut().rev().find(|(c, _)| *c == k) {
                    held.truncate(len);
                }
            }),
            Deferred::Unheld => {}
        }
    }
}

impl Drop for Deferred {
    /// A transaction that ends without [`Deferred::commit`] (its work panicked) leaves nothing held.
    fn drop(&mut self) {
        if let Deferred::Outermost(k) = *self {
            drop(Deferred::take(k));
        }
    }
}

/// The statements of an append, each prepared once per connection and kept: diesel keeps the
/// statement of a type that names it (a static query id), which neither `sql_query` nor an
/// `UPDATE` of the query builder is (nor, on PostgreSQL, an `INSERT` with columns that may be
/// NULL), so they were parsed and planned again on every audited write.
mod kept {
    use chrono::NaiveDateTime;
    use diesel::backend::Backend;
    use diesel::pg::Pg;
    use diesel::prelude::*;
    use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
    use diesel::serialize::ToSql;
    use diesel::sql_types::{BigInt, HasSqlType, Nullable, Text, Timestamp};
    use diesel::sqlite::Sqlite;

    use super::AuditEventRow;

    /// A statement type whose SQL is the same every time: its own query id.
    macro_rules! kept_as {
        ($ty:ident, $id:ident) => {
            impl QueryId for $ty<'_> {
                type QueryId = $id;
                const HAS_STATIC_QUERY_ID: bool = true;
            }
            impl<C: Connection> RunQueryDsl<C> for $ty<'_> {}
        };
    }

    /// Takes the next sequence number and returns it with the last event's hash
    /// ([`super::NEXT_SEQ`]).
    pub struct NextSeq;

    impl QueryId for NextSeq {
        type QueryId = NextSeq;
        const HAS_STATIC_QUERY_ID: bool = true;
    }

    impl Query for NextSeq {
        type SqlType = diesel::sql_types::Untyped;
    }

    impl<DB: Backend> QueryFragment<DB> for NextSeq {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
            out.push_sql(super::NEXT_SEQ);
            Ok(())
        }
    }

    impl<C: Connection> RunQueryDsl<C> for NextSeq {}

    const INSERT: &str = "INSERT INTO audit_events (seq, occurred_at, actor_type, actor_id, \
         actor_name, organisation_id, organisation_path, action, resource_type, resource_id, \
         outcome, request_id, source_address, changes, prev_hash, hash) VALUES (";

    /// The event's values, in the order of [`INSERT`]'s columns.
    fn push_values<'b, DB>(e: &'b AuditEventRow, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()>
    where
        DB: Backend + HasSqlType<BigInt> + HasSqlType<Timestamp> + HasSqlType<Text>,
        i64: ToSql<BigInt, DB>,
        NaiveDateTime: ToSql<Timestamp, DB>,
        String: ToSql<Text, DB>,
        Option<String>: ToSql<Nullable<Text>, DB>,
    {
        out.push_bind_param::<BigInt, _>(&e.seq)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&e.occurred_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&e.actor_type)?;
        for value in [
            &e.actor_id,
            &e.actor_name,
            &e.organisation_id,
            &e.organisation_path,
        ] {
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(value)?;
        }
        for value in [&e.action, &e.resource_type] {
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(value)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&e.resource_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&e.outcome)?;
        for value in [&e.request_id, &e.source_address, &e.changes] {
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(value)?;
        }
        for value in [&e.prev_hash, &e.hash] {
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(value)?;
        }
        out.push_sql(")");
        Ok(())
    }

    /// On PostgreSQL: writes the event and makes its hash the head's, in one data-modifying
    /// `WITH`.
    pub struct InsertAndMoveHead<'a>(pub &'a AuditEventRow);
    pub struct InsertAndMoveHeadId;
    kept_as!(InsertAndMoveHead, InsertAndMoveHeadId);

    impl QueryFragment<Pg> for InsertAndMoveHead<'_> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
            out.push_sql("WITH e AS (");
            out.push_sql(INSERT);
            push_values(self.0, &mut out)?;
            out.push_sql(
                " RETURNING hash) UPDATE audit_head SET hash = (SELECT hash FROM e) WHERE id = 1",
            );
            Ok(())
        }
    }

    /// On SQLite: writes the event ([`MoveHead`] follows).
    pub struct Insert<'a>(pub &'a AuditEventRow);
    pub struct InsertId;
    kept_as!(Insert, InsertId);

    impl QueryFragment<Sqlite> for Insert<'_> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
            out.push_sql(INSERT);
            push_values(self.0, &mut out)
        }
    }

    /// On SQLite: makes the event's hash the head's.
    pub struct MoveHead<'a>(pub &'a String);
    pub struct MoveHeadId;
    kept_as!(MoveHead, MoveHeadId);

    impl QueryFragment<Sqlite> for MoveHead<'_> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
            out.push_sql("UPDATE audit_head SET hash = ");
            out.push_bind_param::<Text, _>(self.0)?;
            out.push_sql(" WHERE id = 1");
            Ok(())
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

/// The events of `scope` that pass `filter`, as a boxed query (for the page and its count).
macro_rules! filtered_events {
    ($scope:expr, $filter:expr) => {{
        use audit_events::dsl as a;
        let (scope, filter): (&Scope, &EventFilter) = ($scope, $filter);
        let mut q = a::audit_events.into_boxed();
        match scope {
            Scope::All => {}
            Scope::Subtree { path, .. } => {
                // Events tied to no organisation (sign-in attempts with unknown names, server tasks)
                // belong to the top: people of a root organisation see them.
                let at_root = path.matches('/').count() == 2;
                q = if at_root {
                    q.filter(
                        a::organisation_path
                            .like(format!("{path}%"))
                            .or(a::organisation_path.is_null()),
                    )
                } else {
                    q.filter(a::organisation_path.like(format!("{path}%")))
                };
            }
            // Keys never read the audit log; an empty answer if one ever asks.
            Scope::Region(_) => q = q.filter(a::seq.lt(0)),
        }
        if let Some(v) = &filter.actor_id {
            q = q.filter(a::actor_id.eq(v.clone()));
        }
        if let Some(v) = &filter.action {
            q = q.filter(a::action.eq(v.clone()));
        }
        if let Some(v) = &filter.resource_type {
            q = q.filter(a::resource_type.eq(v.clone()));
        }
        if let Some(v) = &filter.resource_id {
            q = q.filter(a::resource_id.eq(v.clone()));
        }
        if let Some(v) = &filter.outcome {
            q = q.filter(a::outcome.eq(v.clone()));
        }
        if let Some(v) = filter.from {
            q = q.filter(a::occurred_at.ge(v));
        }
        if let Some(v) = filter.to {
            q = q.filter(a::occurred_at.lt(v));
        }
        q
    }};
}

/// How many events of `scope` pass `filter`.
pub fn count(conn: &mut DbConnection, scope: &Scope, filter: &EventFilter) -> StoreResult<u64> {
    let n: i64 = filtered_events!(scope, filter).count().get_result(conn)?;
    Ok(n as u64)
}

/// Events newest first, resumed below `before_seq`.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &EventFilter,
    before_seq: Option<i64>,
    limit: u32,
) -> StoreResult<(Vec<AuditEventRow>, Option<i64>)> {
    use audit_events::dsl as a;
    let mut q = filtered_events!(scope, filter).select(AuditEventRow::as_select());
    if let Some(before) = before_seq {
        q = q.filter(a::seq.lt(before));
    }
    let mut rows: Vec<AuditEventRow> = q
        .order(a::seq.desc())
        .limit(i64::from(limit) + 1)
        .load(conn)?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.seq)
    } else {
        None
    };
    Ok((rows, next))
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Events moved to archive files (checked there), before the chain in the database.
    pub archived: i64,
    /// Events checked.
    pub checked: i64,
    /// Sequence number of the head as recorded.
    pub head_seq: i64,
    /// The first event where the chain breaks, if any.
    pub first_broken: Option<BrokenLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    /// The sequence number where the break was found.
    pub seq: i64,
    /// `hash_mismatch` (the event was edited), `prev_hash_mismatch` (an event before it was
    /// removed or replaced), `missing` (a gap in the sequence) or `head_mismatch` (events at the
    /// end were removed or the head was edited).
    pub reason: &'static str,
}

/// Walks the chain in batches, never holding it all in memory.
pub fn verify(conn: &mut DbConnection) -> StoreResult<Verification> {
    crate::conn::snapshot(conn, verify_in)
}

/// [`verify`] within a snapshot: the head and the events read in batches must agree even while
/// events are appended.
fn verify_in(conn: &mut DbConnection) -> StoreResult<Verification> {
    use audit_events::dsl as a;
    const BATCH: i64 = 2000;
    let (head_seq, head_hash): (i64, String) = audit_head::table
        .filter(audit_head::id.eq(1))
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    // Events archived (`jiekun audit archive`) are checked in their files; the chain in the
    // database begins after the last of them, with its hash.
    let (archived, boundary_hash) = crate::audit_archive::boundary(conn)?;
    let mut expected_seq = archived + 1;
    let mut prev = boundary_hash;
    let mut checked = 0i64;
    loop {
        let rows: Vec<AuditEventRow> = a::audit_events
            .select(AuditEventRow::as_select())
            .filter(a::seq.ge(expected_seq))
            .order(a::seq.asc())
            .limit(BATCH)
            .load(conn)?;
        let done = (rows.len() as i64) < BATCH;
        for row in rows {
            let broken = if row.seq != expected_seq {
                Some((expected_seq, "missing"))
            } else if row.prev_hash != prev {
                Some((row.seq, "prev_hash_mismatch"))
            } else if event_hash(&row) != row.hash {
                Some((row.seq, "hash_mismatch"))
            } else {
                None
            };
            if let Some((seq, reason)) = broken {
                return Ok(Verification {
                    archived,
                    checked,
                    head_seq,
                    first_broken: Some(BrokenLink { seq, reason }),
                });
            }
            checked += 1;
            prev = row.hash;
            expected_seq += 1;
        }
        if done {
            break;
        }
    }
    let first_broken =
        (archived + checked != head_seq || prev != head_hash).then_some(BrokenLink {
            seq: archived + checked + 1,
            reason: "head_mismatch",
        });
    Ok(Verification {
        archived,
        checked,
        head_seq,
        first_broken,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn redaction_reaches_every_depth() {
        let v = serde_json::json!({"name": "张三", "password": "x", "members": [{"national_id": "6107"}]});
        let r = super::redact(v);
        assert_eq!(r["name"], "张三");
        assert_eq!(r["password"], "[redacted]");
        assert_eq!(r["members"][0]["national_id"], "[redacted]");
    }
}
