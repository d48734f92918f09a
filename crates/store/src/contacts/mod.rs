//! Dual contact (双包联系, plan §三(七)14): assignments of the county union to difficult
//! enterprises, of its leadership members and of union cadres to hardship households, each valid
//! for a period; the visits logged against them; and the gaps the plan's bounds show
//! (`jiekun_domain::contact::gaps`).
//!
//! An assignment is seen by the subtree of the household's union (the county union's, for an
//! enterprise); a visit by the same. Every change is audited.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::contact::{self, Assignment, ContactKind, GapInput};
use jiekun_domain::rules::PolicyBook;
use serde_json::json;

use crate::audit::{self, Caller};
use crate::conn::DbConnection;
use crate::page::{Page, PageRequest};
use crate::schema::{contact_assignments as ca, contact_visits as cv};
use crate::{Scope, StoreError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ca, treat_none_as_default_value = false)]
pub struct AssignmentRow {
    pub id: String,
    pub kind: String,
    pub county_id: String,
    pub organisation_path: String,
    pub region_code: String,
    pub contact_user_id: Option<String>,
    pub contact_name: String,
    pub contact_title: Option<String>,
    pub household_id: Option<String>,
    pub enterprise_id: Option<String>,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = cv, treat_none_as_default_value = false)]
pub struct VisitRow {
    pub id: String,
    pub assignment_id: String,
    pub organisation_path: String,
    pub household_id: Option<String>,
    pub enterprise_id: Option<String>,
    pub visited_on: NaiveDate,
    pub activity_type: String,
    pub notes: Option<String>,
    pub referral_id: Option<String>,
    pub assistance_id: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

/// Who keeps in touch: a user, or a person named.
#[derive(Debug, Clone)]
pub enum Contact {
    User(String),
    Named { name: String, title: Option<String> },
}

/// An assignment to make, parsed.
#[derive(Debug, Clone)]
pub struct NewAssignment {
    pub kind: ContactKind,
    pub contact: Option<Contact>,
    pub household_id: Option<String>,
    pub enterprise_id: Option<String>,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

/// A visit to record, parsed.
#[derive(Debug, Clone)]
pub struct NewVisit {
    pub assignment_id: String,
    pub visited_on: NaiveDate,
    pub household_id: Option<String>,
    pub enterprise_id: Option<String>,
    pub activity_type: String,
    pub notes: Option<String>,
    pub referral_id: Option<String>,
    pub assistance_id: Option<String>,
}

/// Why a dual-contact step did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        code: &'static str,
        message: String,
        message_zh: String,
    },
    /// The activity type is not on the county's list.
    #[error("unknown activity type")]
    UnknownActivity { allowed: Vec<String> },
    /// The same contact already has the same household or enterprise for part of the period.
    #[error("the same assignment overlaps this one")]
    Overlaps { id: String },
    #[error("the assignment has ended already")]
    AlreadyEnded { valid_until: NaiveDate },
    #[error("version {expected} expected but {actual} stored")]
    Stale { expected: i64, actual: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for ContactError {
    fn from(e: diesel::result::Error) -> Self {
        ContactError::Store(e.into())
    }
}

pub type ContactResult<T> = Result<T, ContactError>;

fn invalid(
    field: &'static str,
    code: &'static str,
    en: impl Into<String>,
    zh: impl Into<String>,
) -> ContactError {
    ContactError::Invalid {
        field,
        code,
        message: en.into(),
        message_zh: zh.into(),
    }
}

fn not_allowed(field: &'static str, kind: ContactKind) -> ContactError {
    invalid(
        field,
        "not_allowed",
        format!("not given for a {} assignment", kind.as_str()),
        format!("{}类联系不填写此项", kind.as_str()),
    )
}

/// `None` for a row that is not there (or outside the scope).
fn found<T>(r: Result<T, StoreError>) -> ContactResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The household facts an assignment or visit needs, if the scope sees the household.
fn household(
    c: &mut DbConnection,
    scope: &Scope,
    id: &str,
) -> ContactResult<Option<(String, String)>> {
    use crate::schema::households as h;
    let row: Option<(String, String)> = h::table
        .find(id)
        .select((h::organisation_path, h::region_code))
        .first(c)
        .optional()?;
    Ok(row.filter(|(path, _)| scope.covers_path(path)))
}

/// Makes an assignment for the county union `county_id` (the caller's), and audits it.
pub fn create(
    c: &mut DbConnection,
    caller: &Caller,
    by: &str,
    scope: &Scope,
    county_id: &str,
    at: NaiveDateTime,
    new: &NewAssignment,
) -> ContactResult<AssignmentRow> {
    let county = crate::organisations::get(c, &Scope::All, county_id).map_err(|e| match e {
        StoreError::NotFound => ContactError::NotFound("organisation"),
        e => e.into(),
    })?;
    let (path, region, enterprise_id, household_id) = match new.kind {
        ContactKind::UnionEnterprise => {
            if new.household_id.is_some() {
                return Err(not_allowed("household_id", new.kind));
            }
            if new.contact.is_some() {
                return Err(not_allowed("contact_user_id", new.kind));
            }
            let id = new
                .enterprise_id
                .clone()
                .ok_or_else(|| invalid("enterprise_id", "required", "is required", "必填"))?;
            let e = found(crate::enterprises::get(c, scope, &id))?.ok_or_else(|| {
                invalid(
                    "enterprise_id",
                    "not_found",
                    "no such enterprise in your region",
                    "本区域内无此企业",
                )
            })?;
            if !e.difficult {
                return Err(invalid(
                    "enterprise_id",
                    "not_difficult",
                    format!("{} is not registered as a difficult enterprise: the county union keeps in touch with difficult enterprises (《实施方案》三(七)14)", e.name),
                    format!("{}未登记为困难企业：县总工会联系的是困难企业（《实施方案》三(七)14）", e.name),
                ));
            }
            (county.path.clone(), e.region_code, Some(id), None)
        }
        ContactKind::LeaderHousehold | ContactKind::CadreWorker => {
            if new.enterprise_id.is_some() {
                return Err(not_allowed("enterprise_id", new.kind));
            }
            let id = new
                .household_id
                .clone()
                .ok_or_else(|| invalid("household_id", "required", "is required", "必填"))?;
            let (path, region) = household(c, scope, &id)?.ok_or_else(|| {
                invalid(
                    "household_id",
                    "not_found",
                    "no such household in your scope",
                    "您的管辖范围内无此家庭",
                )
            })?;
            (path, region, None, Some(id))
        }
    };
    let (contact_user_id, contact_name, contact_title) = match &new.contact {
        None if new.kind == ContactKind::UnionEnterprise => (None, county.name.clone(), None),
        None => {
            return Err(invalid(
                "contact_user_id",
                "required",
                "give contact_user_id or contact_name",
                "须填写 contact_user_id 或 contact_name",
            ))
        }
        Some(Contact::Named { name, title }) => (None, name.clone(), title.clone()),
        Some(Contact::User(id)) => {
            let u = found(crate::users::get(c, scope, id))?;
            // A leadership member is of the county union itself; a cadre of a union in its tree.
            let fits = u.as_ref().is_some_and(|u| {
                u.user.status == "active"
                    && match new.kind {
                        ContactKind::LeaderHousehold => u.user.organisation_id == county.id,
                        _ => u.organisation_path.starts_with(&county.path),
                    }
            });
            let Some(u) = u.filter(|_| fits) else {
                let (en, zh) = if new.kind == ContactKind::LeaderHousehold {
                    (
                        "an active user of the county union (a leadership member)",
                        "县总工会的在用账号（班子成员）",
                    )
                } else {
                    (
                        "an active user of a union of the county",
                        "本县工会的在用账号",
                    )
                };
                return Err(invalid(
                    "contact_user_id",
                    "not_found",
                    format!("the contact must be {en}"),
                    format!("联系人须为{zh}"),
                ));
            };
            (Some(u.user.id), u.user.display_name, None)
        }
    };
    // One assignment of a contact to a household or enterprise at a time.
    let mut same = ca::table
        .filter(ca::kind.eq(new.kind.as_str()))
        .filter(ca::county_id.eq(&county.id))
        .filter(ca::contact_name.eq(&contact_name))
        .filter(
            ca::valid_until
                .is_null()
                .or(ca::valid_until.ge(new.valid_from)),
        )
        .select(ca::id)
        .into_boxed();
    if let Some(u) = new.valid_until {
        same = same.filter(ca::valid_from.le(u));
    }
    same = match &contact_user_id {
        Some(u) => same.filter(ca::contact_user_id.eq(u.clone())),
        None => same.filter(ca::contact_user_id.is_null()),
    };
    same = match (&household_id, &enterprise_id) {
        (Some(h), _) => same.filter(ca::household_id.eq(h.clone())),
        (None, Some(e)) => same.filter(ca::enterprise_id.eq(e.clone())),
        (None, None) => same,
    };
    if let Some(id) = same.first::<String>(c).optional()? {
        return Err(ContactError::Overlaps { id });
    }
    let row = AssignmentRow {
        id: crate::new_id(),
        kind: new.kind.as_str().into(),
        county_id: county.id,
        organisation_path: path,
        region_code: region,
        contact_user_id,
        contact_name,
        contact_title,
        household_id,
        enterprise_id,
        valid_from: new.valid_from,
        valid_until: new.valid_until,
        version: 1,
        created_by: by.to_owned(),
        created_at: at,
        updated_at: at,
    };
    diesel::insert_into(ca::table).values(&row).execute(c)?;
    audit::append(
        c,
        caller.event(
            "contact.create",
            "contact_assignment",
            &row.id,
            json!({"kind": row.kind, "county_id": row.county_id,
                "contact_user_id": row.contact_user_id, "household_id": row.household_id,
                "enterprise_id": row.enterprise_id, "valid_from": row.valid_from,
                "valid_until": row.valid_until}),
        ),
    )?;
    Ok(row)
}

/// An assignment the scope sees, or `NotFound`.
pub fn get(c: &mut DbConnection, scope: &Scope, id: &str) -> ContactResult<AssignmentRow> {
    let row: Option<AssignmentRow> = ca::table
        .find(id)
        .select(AssignmentRow::as_select())
        .first(c)
        .optional()?;
    match row {
        Some(r) if scope.covers_path(&r.organisation_path) => Ok(r),
        _ => Err(ContactError::NotFound("assignment")),
    }
}

/// Ends an assignment on `valid_until` (its last valid day), if its version is `expected`.
pub fn end(
    c: &mut DbConnection,
    caller: &Caller,
    scope: &Scope,
    id: &str,
    expected: i64,
    valid_until: NaiveDate,
    at: NaiveDateTime,
) -> ContactResult<AssignmentRow> {
    let row = get(c, scope, id)?;
    if row.version != expected {
        return Err(ContactError::Stale {
            expected,
            actual: row.version,
        });
    }
    if let Some(u) = row.valid_until {
        return Err(ContactError::AlreadyEnded { valid_until: u });
    }
    if valid_until < row.valid_from {
        return Err(invalid(
            "valid_until",
            "before_start",
            format!(
                "an assignment cannot end before it began on {}",
                row.valid_from
            ),
            format!("联系结束日期不能早于开始日期{}", row.valid_from),
        ));
    }
    let n = diesel::update(ca::table.filter(ca::id.eq(id).and(ca::version.eq(expected))))
        .set((
            ca::valid_until.eq(Some(valid_until)),
            ca::version.eq(expected + 1),
            ca::updated_at.eq(at),
        ))
        .execute(c)?;
    if n == 0 {
        return Err(ContactError::Stale {
            expected,
            actual: expected + 1,
        });
    }
    audit::append(
        c,
        caller.event(
            "contact.end",
            "contact_assignment",
            id,
            json!({"valid_until": valid_until}),
        ),
    )?;
    get(c, scope, id)
}

/// Filters of the list of assignments.
#[derive(Debug, Clone, Default)]
pub struct AssignmentFilter {
    pub kind: Option<ContactKind>,
    pub household_id: Option<String>,
    pub enterprise_id: Option<String>,
    pub contact_user_id: Option<String>,
    /// Only those valid on this day.
    pub valid_on: Option<NaiveDate>,
}

macro_rules! assignments_visible {
    ($scope:expr, $f:expr) => {{
        let mut q = ca::table.into_boxed();
        match $scope {
            Scope::All => {}
            Scope::Region(_) => q = q.filter(ca::id.eq("\u{0}")),
            Scope::Subtree { path, .. } => {
                q = q.filter(ca::organisation_path.like(crate::like_prefix(path)))
            }
        }
        if let Some(k) = $f.kind {
            q = q.filter(ca::kind.eq(k.as_str()));
        }
        if let Some(h) = &$f.household_id {
            q = q.filter(ca::household_id.eq(h.clone()));
        }
        if let Some(e) = &$f.enterprise_id {
            q = q.filter(ca::enterprise_id.eq(e.clone()));
        }
        if let Some(u) = &$f.contact_user_id {
            q = q.filter(ca::contact_user_id.eq(u.clone()));
        }
        if let Some(d) = $f.valid_on {
            q = q.filter(
                ca::valid_from
                    .le(d)
                    .and(ca::valid_until.is_null().or(ca::valid_until.ge(d))),
            );
        }
        q
    }};
}

pub fn list(
    c: &mut DbConnection,
    scope: &Scope,
    filter: &AssignmentFilter,
    page: &PageRequest,
) -> ContactResult<Page<AssignmentRow>> {
    let mut q = assignments_visible!(scope, filter);
    if let Some(after) = &page.after {
        q = q.filter(ca::id.gt(after.clone()));
    }
    let rows = q
        .order(ca::id.asc())
        .limit(page.fetch_limit())
        .select(AssignmentRow::as_select())
        .load(c)?;
    Ok(page.finish(rows, |r| &r.id))
}

pub fn count(c: &mut DbConnection, scope: &Scope, filter: &AssignmentFilter) -> ContactResult<u64> {
    let n: i64 = assignments_visible!(scope, filter).count().get_result(c)?;
    Ok(n as u64)
}

// After the macros above, which the visits and gaps use.
mod gaps;
mod visits;

pub use gaps::{gap_input, gaps};
pub use visits::*;
