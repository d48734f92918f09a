//! Objections to a public notice (公示异议): raised while the notice runs, resolved once by the
//! union that holds the case.

use jiekun_domain::access::Role;
use jiekun_domain::closed::ClosedList;
use jiekun_domain::workflow::ObjectionStatus;
use serde_json::json;

use super::{found_by, role_among, wrong_state, Actor, StepError, StepResult, When};
use crate::conn::DbConnection;
use crate::workflows::{self as store, ObjectionRow};

/// An objection as raised or recorded, its fields already checked.
#[derive(Debug, Clone)]
pub struct NewObjection {
    /// `online`, `phone`, `letter` or `visit`.
    pub channel: String,
    pub content: String,
    /// Who objected, when staff record it.
    pub objector: Option<String>,
}

/// Raises an objection to a notice while it runs (its first to its last day).
pub fn raise_objection(
    c: &mut DbConnection,
    actor: &Actor,
    when: When,
    notice_id: &str,
    new: NewObjection,
) -> StepResult<ObjectionRow> {
    let n = found_by(store::notice(c, notice_id), "public notice")?;
    let accepting = n.status == "running" && n.starts_on <= when.today && when.today <= n.ends_on;
    if !accepting {
        return Err(StepError::NoticeClosed {
            starts_on: n.starts_on,
            ends_on: n.ends_on,
        });
    }
    let row = ObjectionRow {
        id: crate::new_id(),
        notice_id: n.id.clone(),
        subject_kind: n.subject_kind.clone(),
        organisation_path: n.organisation_path.clone(),
        channel: new.channel,
        content: new.content,
        objector: new.objector,
        raised_by: actor.username.clone(),
        status: "open".into(),
        resolution: None,
        resolved_by: None,
        resolved_at: None,
        created_at: when.at,
    };
    store::insert_objection(c, &row)?;
    let changes = json!({"notice_id": n.id, "subject_id": n.subject_id, "channel": row.channel});
    let event = actor
        .caller
        .event("objection.raise", "objection", &row.id, changes);
    crate::audit::append(c, event)?;
    Ok(row)
}

/// Resolves an open objection as `upheld` or `dismissed`: the county union for filing notices,
/// the city union for exit notices; once.
pub fn resolve_objection(
    c: &mut DbConnection,
    actor: &Actor,
    when: When,
    id: &str,
    outcome: &str,
    resolution: &str,
) -> StepResult<ObjectionRow> {
    let o = found_by(store::objection(c, id), "objection")?;
    if !actor.scope.covers_path(&o.organisation_path) {
        return Err(StepError::OutOfScope("objection"));
    }
    let resolved = |status: &str| {
        let zh = ObjectionStatus::from_code(status).map_or("未知", |s| s.meaning_zh());
        wrong_state(
            format!("the objection is already resolved: `{status}`"),
            format!("该异议已处理：“{zh}”"),
        )
    };
    if o.status != "open" {
        return Err(resolved(&o.status));
    }
    let deciders: &[Role] = if o.subject_kind == "application" {
        &[Role::CountyReviewer, Role::CountyAdmin]
    } else {
        &[Role::CityApprover]
    };
    role_among(
        actor,
        deciders,
        "objections to this notice are resolved by the union holding the case",
        "该公示的异议应由办理单位处理",
    )?;
    if !store::resolve_objection(c, &o.id, outcome, resolution, &actor.username, when.at)? {
        // Resolved by someone else since we read it.
        return Err(resolved(&store::objection(c, &o.id)?.status));
    }
    let changes = json!({"notice_id": o.notice_id, "outcome": outcome});
    let event = actor
        .caller
        .event("objection.resolve", "objection", &o.id, changes);
    crate::audit::append(c, event)?;
    Ok(store::objection(c, &o.id)?)
}
