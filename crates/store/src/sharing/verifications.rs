//! Verification requests (核对): a request names a household, the data domains and the members to
//! check; it makes one task per domain for the department that answers for it, due in working
//! days. A department sees the open tasks of its own kind in its region with only what it needs to
//! find the people (name and identity number), and that read is audited as a disclosure.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::access::join_list;
use jiekun_domain::closed::ClosedList;
use jiekun_domain::verification::DataDomain;
use jiekun_domain::RegionCode;
use serde_json::json;

use super::consents::{household_with_members, uncovered};
use super::{domains_of, Doer, MeasureError, MeasureResult, TaskRow, VerificationRow, Viewer};
use crate::audit::{self, Caller};
use crate::conn::DbConnection;
use crate::crypto::FieldCipher;
use crate::households::{self as hstore, HouseholdRow, MemberRow};
use crate::measures::{invalid, record, split_ids, Record};
use crate::page::{Page, PageRequest};
use crate::schema::{verification_tasks as tasks, verifications};
use crate::workflows::within;
use crate::{Scope, StoreError};

/// What a verification request asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVerification {
    pub domains: Vec<DataDomain>,
    /// The members to check; every member included in the household when empty.
    pub member_ids: Vec<String>,
    pub reason: Option<String>,
}

/// Opens a verification request: refused, naming the members and domains, unless every member's
/// standing consent covers every domain asked.
pub fn open(
    c: &mut DbConnection,
    doer: &Doer,
    (at, today): (NaiveDateTime, NaiveDate),
    household_id: &str,
    input: &NewVerification,
) -> MeasureResult<(VerificationRow, Vec<TaskRow>)> {
    let (h, members) = household_with_members(c, doer, household_id)?;
    let chosen = chosen_members(&members, &input.member_ids)?;
    let ids: Vec<&str> = chosen.iter().map(|m| m.id.as_str()).collect();
    let missing = uncovered(c, &h.id, &ids, &input.domains)?;
    if !missing.is_empty() {
        return Err(MeasureError::ConsentMissing(
            missing
                .into_iter()
                .map(|u| {
                    let name = chosen
                        .iter()
                        .find(|m| m.id == u.member_id)
                        .map(|m| m.name.clone())
                        .unwrap_or_default();
                    (u.member_id, name, u.domains)
                })
                .collect(),
        ));
    }
    create(c, doer, (at, today), &h, &ids, input)
}

fn chosen_members<'a>(
    members: &'a [MemberRow],
    wanted: &[String],
) -> MeasureResult<Vec<&'a MemberRow>> {
    if wanted.is_empty() {
        let included: Vec<&MemberRow> = members.iter().filter(|m| m.included).collect();
        if included.is_empty() {
            return Err(invalid(
                "member_ids",
                "no_members",
                "the household has no member to check",
                "该家庭没有可核对的成员",
            ));
        }
        return Ok(included);
    }
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, id) in wanted.iter().enumerate() {
        match members.iter().find(|m| &m.id == id) {
            Some(m) if !out.iter().any(|o: &&MemberRow| o.id == m.id) => out.push(m),
            Some(_) => problems.push((
                format!("member_ids[{i}]"),
                "duplicate",
                "this member is named twice".to_owned(),
                "该成员重复".to_owned(),
            )),
            None => problems.push((
                format!("member_ids[{i}]"),
                "unknown_member",
                "no member of this household has this id".to_owned(),
                "该家庭没有此成员".to_owned(),
            )),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(MeasureError::Problems(problems))
    }
}

fn create(
    c: &mut DbConnection,
    doer: &Doer,
    (at, today): (NaiveDateTime, NaiveDate),
    h: &HouseholdRow,
    member_ids: &[&str],
    input: &NewVerification,
) -> MeasureResult<(VerificationRow, Vec<TaskRow>)> {
    let policy = crate::rules::policy_book(c)?
        .verification(&h.region_code, today)
        .map_err(|e| MeasureError::Policy(e.to_string()))?;
    let calendar = crate::workflows::calendar_from(c, today)?;
    let due_on = calendar.notice_ends_on(
        today.succ_opt().unwrap_or(today),
        policy.due_working_days,
        true,
    );
    let members = member_ids.join(",");
    let row = VerificationRow {
        id: crate::new_id(),
        household_id: h.id.clone(),
        organisation_path: h.organisation_path.clone(),
        region_code: h.region_code.clone(),
        domains: join_list(&input.domains),
        member_ids: members.clone(),
        status: "open".into(),
        reason: input.reason.clone(),
        created_by: doer.name.clone(),
        created_at: at,
        updated_at: at,
    };
    diesel::insert_into(verifications::table)
        .values(&row)
        .execute(c)?;
    let mut domains = input.domains.clone();
    domains.sort();
    let made: Vec<TaskRow> = domains
        .iter()
        .map(|d| TaskRow {
            id: crate::new_id(),
            verification_id: row.id.clone(),
            household_id: h.id.clone(),
            organisation_path: h.organisation_path.clone(),
            region_code: h.region_code.clone(),
            domain: d.as_str().into(),
            department_code: d.department().as_str().into(),
            member_ids: members.clone(),
            status: "open".into(),
            due_on,
            answered_at: None,
            answered_by: None,
            answered_via: None,
            batch_id: None,
            created_at: at,
            updated_at: at,
        })
        .collect();
    crate::insert_all!(c, tasks::table, &made, 16)?;
    record(
        c,
        doer,
        at,
        Record {
            subject_kind: "verification",
            subject_id: &row.id,
            household_id: &h.id,
            action: "open",
            from: None,
            to: Some("open"),
            opinion: input.reason.as_deref(),
            audit_action: "verification.open",
            changes: json!({"household_id": h.id, "domains": domains, "member_ids": member_ids,
                "tasks": made.iter().map(|t| &t.id).collect::<Vec<_>>(), "due_on": due_on}),
        },
    )?;
    Ok((row, made))
}

/// Opens a verification of every domain when the county review starts, if the policy book says so
/// and the household's consents cover every included member; says whether it opened one.
pub fn open_on_review(
    c: &mut DbConnection,
    doer: &Doer,
    (at, today): (NaiveDateTime, NaiveDate),
    h: &HouseholdRow,
) -> MeasureResult<Option<VerificationRow>> {
    let policy = crate::rules::policy_book(c)?
        .verification(&h.region_code, today)
        .map_err(|e| MeasureError::Policy(e.to_string()))?;
    if !policy.open_on_review {
        return Ok(None);
    }
    let members = hstore::members(c, &h.id)?;
    let ids: Vec<&str> = members
        .iter()
        .filter(|m| m.included)
        .map(|m| m.id.as_str())
        .collect();
    if ids.is_empty() || !uncovered(c, &h.id, &ids, DataDomain::ALL)?.is_empty() {
        return Ok(None);
    }
    let input = NewVerification {
        domains: DataDomain::ALL.to_vec(),
        member_ids: Vec::new(),
        reason: Some("县总工会开始审核时自动发起 (opened when the county review started)".into()),
    };
    Ok(Some(create(c, doer, (at, today), h, &ids, &input)?.0))
}

/// Filters of the verification list.
#[derive(Debug, Clone, Default)]
pub struct VerificationFilter {
    pub household_id: Option<String>,
    pub status: Option<String>,
}

macro_rules! requests {
    ($c:expr, $scope:expr, $f:expr) => {{
        let mut q = verifications::table.into_boxed();
        q = within!(q, verifications::organisation_path, $scope, $c);
        if let Some(h) = &$f.household_id {
            q = q.filter(verifications::household_id.eq(h.clone()));
        }
        if let Some(s) = &$f.status {
            q = q.filter(verifications::status.eq(s.clone()));
        }
        q
    }};
}

/// A page of the verification requests in `scope`, in id order.
pub fn list(
    c: &mut DbConnection,
    scope: &Scope,
    filter: &VerificationFilter,
    page: &PageRequest,
) -> MeasureResult<Page<VerificationRow>> {
    let mut q = requests!(c, scope, filter);
    if let Some(after) = &page.after {
        q = q.filter(verifications::id.gt(after.clone()));
    }
    let rows = q
        .order(verifications::id.asc())
        .limit(page.fetch_limit())
        .select(VerificationRow::as_select())
        .load(c)?;
    Ok(page.finish(rows, |r| &r.id))
}

pub fn count(
    c: &mut DbConnection,
    scope: &Scope,
    filter: &VerificationFilter,
) -> MeasureResult<u64> {
    let n: i64 = requests!(c, scope, filter).count().get_result(c)?;
    Ok(n as u64)
}

/// One request in `scope`, with its tasks.
pub fn get(
    c: &mut DbConnection,
    scope: &Scope,
    id: &str,
) -> MeasureResult<(VerificationRow, Vec<TaskRow>)> {
    let row: VerificationRow = verifications::table
        .find(id)
        .select(VerificationRow::as_select())
        .first(c)
        .optional()?
        .filter(|r| scope.covers_path(&r.organisation_path))
        .ok_or(MeasureError::NotFound("verification"))?;
    let made = tasks::table
        .filter(tasks::verification_id.eq(&row.id))
        .order(tasks::id.asc())
        .select(TaskRow::as_select())
        .load(c)?;
    Ok((row, made))
}

/// Filters of the task list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub status: Option<String>,
    pub domain: Option<String>,
    pub household_id: Option<String>,
    /// Only open tasks due before this day.
    pub overdue_on: Option<NaiveDate>,
}

macro_rules! task_query {
    ($c:expr, $viewer:expr, $f:expr) => {{
        let mut q = tasks::table.into_boxed();
        match $viewer {
            Viewer::Staff(scope) => q = within!(q, tasks::organisation_path, scope, $c),
            Viewer::Department { code, region } => {
                q = q
                    .filter(tasks::department_code.eq(code.clone()))
                    .filter(tasks::region_code.like(crate::like_prefix(region.prefix())));
            }
        }
        if let Some(s) = &$f.status {
            q = q.filter(tasks::status.eq(s.clone()));
        }
        if let Some(d) = &$f.domain {
            q = q.filter(tasks::domain.eq(d.clone()));
        }
        if let Some(h) = &$f.household_id {
            q = q.filter(tasks::household_id.eq(h.clone()));
        }
        if let Some(day) = $f.overdue_on {
            q = q
                .filter(tasks::status.eq("open"))
                .filter(tasks::due_on.lt(day));
        }
        q
    }};
}

/// A page of the tasks the viewer sees, in id order.
pub fn tasks(
    c: &mut DbConnection,
    viewer: &Viewer,
    filter: &TaskFilter,
    page: &PageRequest,
) -> MeasureResult<Page<TaskRow>> {
    let mut q = task_query!(c, viewer, filter);
    if let Some(after) = &page.after {
        q = q.filter(tasks::id.gt(after.clone()));
    }
    let rows = q
        .order(tasks::id.asc())
        .limit(page.fetch_limit())
        .select(TaskRow::as_select())
        .load(c)?;
    Ok(page.finish(rows, |r| &r.id))
}

pub fn count_tasks(
    c: &mut DbConnection,
    viewer: &Viewer,
    filter: &TaskFilter,
) -> MeasureResult<u64> {
    let n: i64 = task_query!(c, viewer, filter).count().get_result(c)?;
    Ok(n as u64)
}

fn sees(viewer: &Viewer, t: &TaskRow) -> bool {
    match viewer {
        Viewer::Staff(scope) => scope.covers_path(&t.organisation_path),
        Viewer::Department { code, region } => {
            &t.department_code == code
                && RegionCode::parse(&t.region_code).is_ok_and(|rc| region.contains(&rc))
        }
    }
}

/// One task the viewer sees; another department's task is not found.
pub fn task(c: &mut DbConnection, viewer: &Viewer, id: &str) -> MeasureResult<TaskRow> {
    tasks::table
        .find(id)
        .select(TaskRow::as_select())
        .first(c)
        .optional()?
        .filter(|t| sees(viewer, t))
        .ok_or(MeasureError::NotFound("verification task"))
}

/// A person a department is asked about: the minimum it needs to find them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub member_id: String,
    pub name: String,
    pub national_id: String,
    pub relation: String,
}

/// The people each task asks about, in task order. A department's read is a disclosure of their
/// names and identity numbers: it is audited here, in the same transaction, naming the tasks,
/// their requests and the members.
pub fn subjects(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    caller: &Caller,
    viewer: &Viewer,
    rows: &[TaskRow],
) -> MeasureResult<Vec<Vec<Subject>>> {
    let mut out = Vec::with_capacity(rows.len());
    for t in rows {
        let wanted = split_ids(&t.member_ids);
        let members = hstore::members(c, &t.household_id)?;
        let mut people = Vec::with_capacity(wanted.len());
        for m in members.iter().filter(|m| wanted.contains(&m.id)) {
            // The full number for a department only; staff read the masked form.
            let national_id = match viewer {
                Viewer::Department { .. } => cipher
                    .decrypt(&hstore::member_context(&m.id), &m.national_id_enc)
                    .map_err(|_| StoreError::Config("stored identity number unreadable".into()))?,
                Viewer::Staff(_) => m.national_id_masked.clone(),
            };
            people.push(Subject {
                member_id: m.id.clone(),
                name: m.name.clone(),
                national_id,
                relation: m.relation.clone(),
            });
        }
        out.push(people);
    }
    if matches!(viewer, Viewer::Department { .. }) && !rows.is_empty() {
        let disclosed: Vec<serde_json::Value> = rows
            .iter()
            .map(|t| {
                json!({"task_id": t.id, "verification_id": t.verification_id, "domain": t.domain,
                "member_ids": split_ids(&t.member_ids)})
            })
            .collect();
        let event = caller.event(
            "verification.disclose",
            "verification_task",
            &rows[0].id,
            json!({"fields": ["name", "national_id", "relation"], "disclosed": disclosed}),
        );
        audit::append(c, event)?;
    }
    Ok(out)
}

/// The unanswered tasks of a household's requests, and whether any request was made since `since`.
pub fn pending_for(
    c: &mut DbConnection,
    household_id: &str,
    since: NaiveDateTime,
) -> Result<(i64, bool), StoreError> {
    let open: i64 = tasks::table
        .filter(tasks::household_id.eq(household_id))
        .filter(tasks::status.eq("open"))
        .count()
        .get_result(c)?;
    let made: i64 = verifications::table
        .filter(verifications::household_id.eq(household_id))
        .filter(verifications::created_at.ge(since))
        .count()
        .get_result(c)?;
    Ok((open, made > 0))
}

/// The Chinese names of domains, joined for messages.
pub fn domains_zh(domains: &[DataDomain]) -> String {
    domains
        .iter()
        .map(|d| d.meaning_zh())
        .collect::<Vec<_>>()
        .join("、")
}

/// The domains of a stored request.
pub fn request_domains(row: &VerificationRow) -> Vec<DataDomain> {
    domains_of(&row.domains)
}
