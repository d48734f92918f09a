//! Differences between the declared file and verified facts (核对差异). Only staff resolve one:
//! either the verified figure is right and the file is corrected to it, or the declared figure
//! stands and the verified fact behind the difference is set aside.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use jiekun_domain::verification::{CheckedField, Resolution};
use serde_json::json;

use super::{DiscrepancyRow, Doer, MeasureError, MeasureResult, TaskRow};
use crate::conn::DbConnection;
use crate::measures::{record, wrong_state, Record};
use crate::page::{Page, PageRequest};
use crate::schema::{discrepancies as d, households, verification_tasks, verified_facts};
use crate::workflows::within;
use crate::Scope;

/// Filters of the discrepancy list.
#[derive(Debug, Clone, Default)]
pub struct DiscrepancyFilter {
    pub household_id: Option<String>,
    pub status: Option<String>,
}

macro_rules! filtered {
    ($c:expr, $scope:expr, $f:expr) => {{
        let mut q = d::table.into_boxed();
        q = within!(q, d::organisation_path, $scope, $c);
        if let Some(h) = &$f.household_id {
            q = q.filter(d::household_id.eq(h.clone()));
        }
        if let Some(s) = &$f.status {
            q = q.filter(d::status.eq(s.clone()));
        }
        q
    }};
}

/// A page of the discrepancies in `scope`, in id order.
pub fn list(
    c: &mut DbConnection,
    scope: &Scope,
    filter: &DiscrepancyFilter,
    page: &PageRequest,
) -> MeasureResult<Page<DiscrepancyRow>> {
    let mut q = filtered!(c, scope, filter);
    if let Some(after) = &page.after {
        q = q.filter(d::id.gt(after.clone()));
    }
    let rows = q
        .order(d::id.asc())
        .limit(page.fetch_limit())
        .select(DiscrepancyRow::as_select())
        .load(c)?;
    Ok(page.finish(rows, |r| &r.id))
}

pub fn count(
    c: &mut DbConnection,
    scope: &Scope,
    filter: &DiscrepancyFilter,
) -> MeasureResult<u64> {
    let n: i64 = filtered!(c, scope, filter).count().get_result(c)?;
    Ok(n as u64)
}

pub fn get(c: &mut DbConnection, scope: &Scope, id: &str) -> MeasureResult<DiscrepancyRow> {
    d::table
        .find(id)
        .select(DiscrepancyRow::as_select())
        .first(c)
        .optional()?
        .filter(|r| scope.covers_path(&r.organisation_path))
        .ok_or(MeasureError::NotFound("discrepancy"))
}

/// Resolves an open discrepancy with a note.
pub fn resolve(
    c: &mut DbConnection,
    doer: &Doer,
    at: NaiveDateTime,
    id: &str,
    resolution: Resolution,
    note: &str,
) -> MeasureResult<DiscrepancyRow> {
    let row = get(c, &doer.scope, id)?;
    let n = diesel::update(d::table.find(&row.id).filter(d::status.eq("open")))
        .set((
            d::status.eq("resolved"),
            d::resolution.eq(Some(resolution.as_str())),
            d::note.eq(Some(note)),
            d::resolved_by.eq(Some(&doer.name)),
            d::resolved_at.eq(Some(at)),
        ))
        .execute(c)?;
    if n == 0 {
        return Err(wrong_state(
            "this discrepancy is already resolved",
            "该差异已处理",
        ));
    }
    let field: CheckedField = row
        .field
        .parse()
        .map_err(|_| MeasureError::Policy(format!("unknown field {}", row.field)))?;
    let task: TaskRow = verification_tasks::table
        .find(&row.task_id)
        .select(TaskRow::as_select())
        .first(c)?;
    match resolution {
        Resolution::AcceptVerified => correct_file(c, &row, field, at)?,
        Resolution::KeepDeclared => set_aside(c, &row, &task, field)?,
    }
    record(
        c,
        doer,
        at,
        Record {
            subject_kind: "discrepancy",
            subject_id: &row.id,
            household_id: &row.household_id,
            action: "resolve",
            from: Some("open"),
            to: Some("resolved"),
            opinion: Some(note),
            audit_action: "discrepancy.resolve",
            changes: json!({"household_id": row.household_id, "field": row.field, "member_id": row.member_id,
                "month": row.month, "kind": row.kind, "declared": row.declared, "verified": row.verified,
                "resolution": resolution}),
        },
    )?;
    Ok(DiscrepancyRow {
        status: "resolved".into(),
        resolution: Some(resolution.as_str().into()),
        note: Some(note.into()),
        resolved_by: Some(doer.name.clone()),
        resolved_at: Some(at),
        ..row
    })
}

/// The verified figure is right: the declared asset figure becomes it (a new version of the file).
/// A verified income already counts in place of the declared one, so income needs nothing more.
fn correct_file(
    c: &mut DbConnection,
    row: &DiscrepancyRow,
    field: CheckedField,
    at: NaiveDateTime,
) -> MeasureResult<()> {
    let target = households::table.find(&row.household_id);
    let bump = (
        households::version.eq(households::version + 1),
        households::updated_at.eq(at),
    );
    let v = row.verified;
    match field {
        CheckedField::VehiclesCount => diesel::update(target)
            .set((households::vehicles_count.eq(v), bump))
            .execute(c)?,
        CheckedField::HomesCount => diesel::update(target)
            .set((households::homes_count.eq(v), bump))
            .execute(c)?,
        CheckedField::HomesArea => diesel::update(target)
            .set((households::homes_area_dm2.eq(v), bump))
            .execute(c)?,
        CheckedField::ControllingShareholder => diesel::update(target)
            .set((households::controlling_shareholder.eq(v != 0), bump))
            .execute(c)?,
        CheckedField::Income => 0,
    };
    Ok(())
}

/// The declared figure stands: the facts behind the difference no longer count (a monthly amount
/// set aside leaves the month to the declared records).
fn set_aside(
    c: &mut DbConnection,
    row: &DiscrepancyRow,
    task: &TaskRow,
    field: CheckedField,
) -> MeasureResult<()> {
    let mut q = diesel::update(verified_facts::table)
        .filter(verified_facts::task_id.eq(&task.id))
        .into_boxed();
    if field == CheckedField::Income {
        q = q
            .filter(verified_facts::member_id.eq(row.member_id.clone().unwrap_or_default()))
            .filter(verified_facts::month.eq(row.month));
    }
    q.set(verified_facts::set_aside.eq(true)).execute(c)?;
    Ok(())
}
