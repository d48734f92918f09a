//! The stored side of the rules: the policy book (built-in defaults plus the versions entered),
//! household snapshots for the rules, and stored assessments.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::closed::ClosedList;
use jiekun_domain::household::HouseholdStatus;
use jiekun_domain::rules::policy::close_superseded;
use jiekun_domain::rules::{default_book, Parameter, PolicyBook, Snapshot};
use sha2::{Digest, Sha256};

use crate::audit::Caller;
use crate::crypto::FieldCipher;
use crate::error::{StoreError, StoreResult};
use crate::households;
use crate::schema::{assessments, household_accidents, policy_parameters};
use crate::scope::Scope;
use crate::DbConnection;

pub mod digest;
mod snapshots;
pub use snapshots::{scan_snapshots, snapshots_of, HouseholdFacts};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = policy_parameters, treat_none_as_default_value = false)]
pub struct ParameterRow {
    pub id: String,
    pub key: String,
    pub region_prefix: String,
    pub effective_from: NaiveDate,
    pub value: String,
    pub document: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    /// Exclusive end: the start of the next version of the same key and region prefix, set when
    /// that version is entered; `None` while none follows.
    pub effective_to: Option<NaiveDate>,
}

/// The rule that a parameter has one version per region prefix and start date, by the logical
/// name a refusal carries (`StoreError::Conflict`), whether this module or the database's unique
/// index refused it.
pub const POLICY_VERSION: &str = "policy_parameters.version";

/// The versions entered, oldest start first (then in the order entered).
pub fn parameter_rows(conn: &mut DbConnection) -> StoreResult<Vec<ParameterRow>> {
    Ok(policy_parameters::table
        .select(ParameterRow::as_select())
        .order((
            policy_parameters::effective_from.asc(),
            policy_parameters::id.asc(),
        ))
        .load(conn)?)
}

/// The whole book: the built-in defaults and every version entered since, each version ending
/// where the next of the same key and region begins.
pub fn policy_book(conn: &mut DbConnection) -> StoreResult<PolicyBook> {
    book_of(parameter_rows(conn)?)
}

/// The book as it stood at `at`: the versions entered by then, each ending where the next of
/// them begins (an end set by a version entered later does not stand before it was entered).
pub fn policy_book_at(conn: &mut DbConnection, at: NaiveDateTime) -> StoreResult<PolicyBook> {
    let rows: Vec<ParameterRow> = parameter_rows(conn)?
        .into_iter()
        .filter(|r| r.created_at <= at)
        .collect();
    let starts: std::collections::HashSet<(String, String, NaiveDate)> = rows
        .iter()
        .map(|r| (r.key.clone(), r.region_prefix.clone(), r.effective_from))
        .collect();
    let rows = rows
        .into_iter()
        .map(|mut r| {
            let key = (r.key.clone(), r.region_prefix.clone());
            if r.effective_to
                .is_some_and(|to| !starts.contains(&(key.0, key.1, to)))
            {
                r.effective_to = None;
            }
            r
        })
        .collect();
    book_of(rows)
}

fn book_of(rows: Vec<ParameterRow>) -> StoreResult<PolicyBook> {
    // Versions the defaults set themselves already end; reopen them so that entered versions
    // can close them too.
    let mut params: Vec<Parameter> = default_book()
        .parameters
        .into_iter()
        .map(|p| Parameter {
            effective_to: None,
            ..p
        })
        .collect();
    for r in rows {
        let key = jiekun_domain::rules::ParamKey::from_code(&r.key)
            .ok_or_else(|| StoreError::Config(format!("stored parameter key {}", r.key)))?;
        let value = serde_json::from_str(&r.value)
            .map_err(|e| StoreError::Config(format!("stored parameter value: {e}")))?;
        params.push(Parameter {
            id: r.id,
            key,
            region_prefix: r.region_prefix,
            effective_from: r.effective_from,
            effective_to: r.effective_to,
            value,
            document: r.document,
        });
    }
    // A stored end stands; an end is also where the next version begins (built-in defaults, and
    // versions entered side by side in transactions that did not see each other).
    Ok(PolicyBook {
        parameters: close_superseded(params),
    })
}

/// Adds a dated version of a parameter and ends the version before it where it begins, audited as
/// `policy.parameter_add` with the request as the caller made it (`request`) and the versions it
/// ends. A second version of the same key, region prefix and start date — entered or built in —
/// is refused (`Conflict` on [`POLICY_VERSION`]), here or by the database's unique index when two
/// arrive at once. The new version ends where a later one, entered before it, begins. Answers the
/// book as it now is.
pub fn add_parameter(
    conn: &mut DbConnection,
    caller: &Caller,
    row: &ParameterRow,
    request: serde_json::Value,
) -> StoreResult<PolicyBook> {
    use crate::schema::policy_parameters::dsl as pp;
    let duplicate = StoreError::Conflict {
        constraint: POLICY_VERSION,
    };
    let built_in = default_book().parameters.into_iter().any(|p| {
        p.key.as_str() == row.key
            && p.region_prefix == row.region_prefix
            && p.effective_from == row.effective_from
    });
    let series = pp::key
        .eq(row.key.clone())
        .and(pp::region_prefix.eq(row.region_prefix.clone()));
    let entered: Option<String> = pp::policy_parameters
        .filter(series.clone())
        .filter(pp::effective_from.eq(row.effective_from))
        .select(pp::id)
        .first(conn)
        .optional()?;
    if built_in || entered.is_some() {
        return Err(duplicate);
    }
    let next: Option<NaiveDate> = pp::policy_parameters
        .filter(series.clone())
        .filter(pp::effective_from.gt(row.effective_from))
        .select(diesel::dsl::min(pp::effective_from))
        .first(conn)?;
    let row = ParameterRow {
        effective_to: next,
        ..row.clone()
    };
    diesel::insert_into(policy_parameters::table)
        .values(&row)
        .execute(conn)?;
    // The version before it — and any earlier one still running past its start — ends there.
    diesel::update(
        pp::policy_parameters
            .filter(series)
            .filter(pp::effective_from.lt(row.effective_from))
            .filter(
                pp::effective_to
                    .is_null()
                    .or(pp::effective_to.gt(row.effective_from)),
            ),
    )
    .set(pp::effective_to.eq(row.effective_from))
    .execute(conn)?;
    let book = policy_book(conn)?;
    let ends: Vec<&str> = book
        .parameters
        .iter()
        .filter(|p| {
            p.key.as_str() == row.key
                && p.region_prefix == row.region_prefix
                && p.effective_to == Some(row.effective_from)
        })
        .map(|p| p.id.as_str())
        .collect();
    let mut changes = request;
    if let Some(c) = changes.as_object_mut() {
        c.insert("ends".into(), serde_json::json!(ends));
    }
    let event = caller.event("policy.parameter_add", "policy_parameter", &row.id, changes);
    crate::audit::append(conn, event)?;
    Ok(book)
}

/// Everything the rules look at for a household on `date`, read from the file (health decrypted
/// in memory only). Income and expenditure are read for the 24 months before the date.
pub fn snapshot(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    scope: &Scope,
    household_id: &str,
    date: NaiveDate,
) -> StoreResult<Snapshot> {
    let h = households::get(conn, scope, household_id)?;
    snapshots_of(conn, cipher, vec![h.into()], date)?
        .pop()
        .ok_or(StoreError::NotFound)
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = assessments, treat_none_as_default_value = false)]
pub struct AssessmentRow {
    pub id: String,
    pub household_id: String,
    pub kind: String,
    pub assessment_date: NaiveDate,
    pub verdict: String,
    pub snapshot_enc: String,
    pub decision: String,
    pub hash: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub fn snapshot_context(id: &str) -> String {
    format!("assessments.snapshot:{id}")
}

/// SHA-256 over the snapshot and the decision, as stored.
pub fn assessment_hash(snapshot_json: &str, decision_json: &str) -> String {
    let mut h = Sha256::new();
    h.update(snapshot_json.as_bytes());
    h.update(b"\n");
    h.update(decision_json.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[allow(clippy::too_many_arguments)]
pub fn insert_assessment(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    household_id: &str,
    kind: &str,
    (at, date): (NaiveDateTime, NaiveDate),
    verdict: &str,
    snapshot_json: &str,
    decision_json: &str,
    created_by: &str,
) -> StoreResult<AssessmentRow> {
    let id = crate::new_id();
    let row = AssessmentRow {
        snapshot_enc: cipher.encrypt(&snapshot_context(&id), snapshot_json),
        hash: assessment_hash(snapshot_json, decision_json),
        id,
        household_id: household_id.into(),
        kind: kind.into(),
        assessment_date: date,
        verdict: verdict.into(),
        decision: decision_json.into(),
        created_by: created_by.into(),
        created_at: at,
    };
    diesel::insert_into(assessments::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn assessments_of(
    conn: &mut DbConnection,
    household_id: &str,
) -> StoreResult<Vec<AssessmentRow>> {
    Ok(assessments::table
        .select(AssessmentRow::as_select())
        .filter(assessments::household_id.eq(household_id))
        .order(assessments::id.desc())
        .load(conn)?)
}

/// An assessment, if its household lies inside `scope`.
pub fn assessment(conn: &mut DbConnection, scope: &Scope, id: &str) -> StoreResult<AssessmentRow> {
    let row: AssessmentRow = assessments::table
        .select(AssessmentRow::as_select())
        .filter(assessments::id.eq(id))
        .first(conn)?;
    households::get(conn, scope, &row.household_id)?;
    Ok(row)
}

/// The accident on file for a household (意外事件).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = household_accidents, treat_none_as_default_value = false)]
pub struct AccidentRow {
    pub household_id: String,
    pub description: String,
    pub occurred_on: NaiveDate,
    pub costs_fen: i64,
    pub updated_at: NaiveDateTime,
}

pub fn accident(conn: &mut DbConnection, household_id: &str) -> StoreResult<Option<AccidentRow>> {
    Ok(household_accidents::table
        .select(AccidentRow::as_select())
        .filter(household_accidents::household_id.eq(household_id))
        .first(conn)
        .optional()?)
}

/// Records (or replaces, or with `None` clears) the accident of a household.
pub fn set_accident(
    conn: &mut DbConnection,
    household_id: &str,
    row: Option<&AccidentRow>,
) -> StoreResult<()> {
    diesel::delete(
        household_accidents::table.filter(household_accidents::household_id.eq(household_id)),
    )
    .execute(conn)?;
    if let Some(r) = row {
        diesel::insert_into(household_accidents::table)
            .values(r)
            .execute(conn)?;
    }
    Ok(())
}

/// Records (or with `None` clears) the accident of a household of `scope` whose version is
/// `expected`, moving the household's version on; audited as `household.accident_set` or
/// `household.accident_clear`.
pub fn record_accident(
    conn: &mut DbConnection,
    caller: &Caller,
    scope: &Scope,
    household_id: &str,
    expected: i64,
    row: Option<&AccidentRow>,
) -> StoreResult<households::HouseholdRow> {
    let h = households::touch(conn, scope, household_id, expected)?;
    set_accident(conn, household_id, row)?;
    let event = match row {
        Some(r) => caller.event(
            "household.accident_set",
            "household",
            household_id,
            serde_json::json!({"occurred_on": r.occurred_on, "costs_fen": r.costs_fen}),
        ),
        None => caller.event(
            "household.accident_clear",
            "household",
            household_id,
            serde_json::json!({}),
        ),
    };
    crate::audit::append(conn, event)?;
    Ok(h)
}

/// What an assessment is stored with: the household as the rules saw it and the parameter
/// versions that could apply to its region, so that a replay needs nothing else.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Stored {
    pub snapshot: Snapshot,
    pub parameters: Vec<Parameter>,
}

/// `identify` (category) or `exit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssessmentKind {
    Identify,
    Exit,
}

impl AssessmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AssessmentKind::Identify => "identify",
            AssessmentKind::Exit => "exit",
        }
    }

    pub fn of(s: &str) -> AssessmentKind {
        if s == "exit" {
            AssessmentKind::Exit
        } else {
            AssessmentKind::Identify
        }
    }
}

/// Runs the rule of `kind` on a snapshot under a book: the verdict and the whole decision.
pub fn decide(
    kind: AssessmentKind,
    s: &Snapshot,
    book: &PolicyBook,
) -> Result<(String, serde_json::Value), jiekun_domain::rules::PolicyError> {
    use jiekun_domain::rules::{assess_exit, identify, ExitPolicy};
    match kind {
        AssessmentKind::Identify => {
            let d = identify(s, &book.resolve(&s.region_code, s.assessment_date)?);
            Ok((
                d.verdict.as_str().into(),
                serde_json::to_value(&d).unwrap_or_default(),
            ))
        }
        AssessmentKind::Exit => {
            let d = assess_exit(
                s,
                &ExitPolicy::resolve(book, &s.region_code, s.assessment_date)?,
            );
            Ok((
                d.verdict.as_str().into(),
                serde_json::to_value(&d).unwrap_or_default(),
            ))
        }
    }
}

/// Why an assessment could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    #[error(transparent)]
    Policy(#[from] jiekun_domain::rules::PolicyError),
    /// An exit assessment of a household that is not on file; its status as stored.
    #[error("the household is {status}, not on file")]
    NotOnFile { status: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Assesses a household of `scope` as it is, under the policy in force on `date`, and stores the
/// decision with its encrypted snapshot and their hash; `caller` is named as its author and in
/// the audit log (`household.assess`). Exit is assessed only for a household on file (filed, or
/// exited since): one being filed, withdrawn or rejected is refused before anything is written.
pub fn assess(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    caller: &Caller,
    scope: &Scope,
    household_id: &str,
    kind: AssessmentKind,
    (at, date): (NaiveDateTime, NaiveDate),
) -> Result<(AssessmentRow, Stored), AssessError> {
    let h = households::get(conn, scope, household_id)?;
    if kind == AssessmentKind::Exit
        && !HouseholdStatus::from_code(&h.status).is_some_and(HouseholdStatus::is_on_file)
    {
        return Err(AssessError::NotOnFile { status: h.status });
    }
    let snapshot = snapshots_of(conn, cipher, vec![h.into()], date)?
        .pop()
        .ok_or(StoreError::NotFound)?;
    let book = policy_book(conn)?;
    let (verdict, decision) = decide(kind, &snapshot, &book)?;
    let stored = Stored {
        parameters: book
            .parameters
            .iter()
            .filter(|p| p.applies_to(&snapshot.region_code))
            .cloned()
            .collect(),
        snapshot,
    };
    let snapshot_json =
        serde_json::to_string(&stored).map_err(|e| StoreError::Config(e.to_string()))?;
    let row = insert_assessment(
        conn,
        cipher,
        household_id,
        kind.as_str(),
        (at, date),
        &verdict,
        &snapshot_json,
        &decision.to_string(),
        caller.actor.name.as_deref().unwrap_or(caller.actor.kind),
    )?;
    let changes = serde_json::json!({"assessment_id": row.id, "kind": row.kind,
        "verdict": row.verdict, "date": date});
    crate::audit::append(
        conn,
        caller.event("household.assess", "household", household_id, changes),
    )?;
    Ok((row, stored))
}
