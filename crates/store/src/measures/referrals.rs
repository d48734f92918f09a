//! Referrals (转介): an accepted measure sent to its lead unit, which acknowledges it, declines it
//! with a reason, or records its delivery. A department sees only the referrals of its own kind in
//! its own region; union staff see those of their subtree and answer those the union leads.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::assistance::{ReferralAction, ReferralStatus};
use jiekun_domain::closed::ClosedList;
use jiekun_domain::RegionCode;
use serde_json::json;

use super::{
    fresh, invalid, record, wrong_state, Doer, MeasureError, MeasureResult, Record, ReferralRow,
    Unit,
};
use crate::conn::DbConnection;
use crate::page::{Page, PageRequest};
use crate::schema::referrals;
use crate::workflows::within;
use crate::Scope;

/// Who is looking at referrals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// Union staff: the referrals of their subtree.
    Staff(Scope),
    /// A department's key: the referrals of its kind in its region.
    Department { code: String, region: RegionCode },
}

impl Viewer {
    pub fn of(doer: &Doer) -> Viewer {
        match &doer.unit {
            Unit::Department { code, region, .. } => Viewer::Department {
                code: code.clone(),
                region: *region,
            },
            Unit::Organisation { .. } => Viewer::Staff(doer.scope.clone()),
        }
    }

    fn sees(&self, r: &ReferralRow) -> bool {
        match self {
            Viewer::Staff(scope) => scope.covers_path(&r.organisation_path),
            Viewer::Department { code, region } => {
                &r.department_code == code
                    && RegionCode::parse(&r.region_code).is_ok_and(|rc| region.contains(&rc))
            }
        }
    }
}

/// Filters of the referral list.
#[derive(Debug, Clone, Default)]
pub struct ReferralFilter {
    pub status: Option<String>,
    pub household_id: Option<String>,
    pub measure: Option<i64>,
    pub department_code: Option<String>,
    /// Only referrals still pending whose due date is before this day.
    pub overdue_on: Option<NaiveDate>,
}

macro_rules! filtered {
    ($c:expr, $viewer:expr, $f:expr) => {{
        let mut q = referrals::table.into_boxed();
        match $viewer {
            Viewer::Staff(scope) => q = within!(q, referrals::organisation_path, scope, $c),
            Viewer::Department { code, region } => {
                q = q
                    .filter(referrals::department_code.eq(code.clone()))
                    .filter(referrals::region_code.like(crate::like_prefix(region.prefix())));
            }
        }
        if let Some(s) = &$f.status {
            q = q.filter(referrals::status.eq(s.clone()));
        }
        if let Some(h) = &$f.household_id {
            q = q.filter(referrals::household_id.eq(h.clone()));
        }
        if let Some(m) = $f.measure {
            q = q.filter(referrals::measure_number.eq(m));
        }
        if let Some(d) = &$f.department_code {
            q = q.filter(referrals::department_code.eq(d.clone()));
        }
        if let Some(day) = $f.overdue_on {
            q = q
                .filter(referrals::status.eq_any(["open", "acknowledged"]))
                .filter(referrals::due_on.lt(day));
        }
        q
    }};
}

/// A page of the referrals the viewer sees, in id order.
pub fn list(
    c: &mut DbConnection,
    viewer: &Viewer,
    filter: &ReferralFilter,
    page: &PageRequest,
) -> MeasureResult<Page<ReferralRow>> {
    let mut q = filtered!(c, viewer, filter);
    if let Some(after) = &page.after {
        q = q.filter(referrals::id.gt(after.clone()));
    }
    let rows = q
        .order(referrals::id.asc())
        .limit(page.fetch_limit())
        .select(ReferralRow::as_select())
        .load(c)?;
    Ok(page.finish(rows, |r| &r.id))
}

/// How many referrals the viewer sees under `filter`.
pub fn count(c: &mut DbConnection, viewer: &Viewer, filter: &ReferralFilter) -> MeasureResult<u64> {
    let n: i64 = filtered!(c, viewer, filter).count().get_result(c)?;
    Ok(n as u64)
}

/// One referral the viewer sees.
pub fn get(c: &mut DbConnection, viewer: &Viewer, id: &str) -> MeasureResult<ReferralRow> {
    let row: Option<ReferralRow> = referrals::table
        .find(id)
        .select(ReferralRow::as_select())
        .first(c)
        .optional()?;
    match row {
        Some(r) if viewer.sees(&r) => Ok(r),
        _ => Err(MeasureError::NotFound("referral")),
    }
}

/// What comes with an answer to a referral.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    /// Why it is declined (required to decline).
    pub reason: Option<String>,
    /// The day the measure was delivered (to deliver; today when absent).
    pub delivered_on: Option<NaiveDate>,
    pub note: Option<String>,
}

/// The lead unit answers a referral whose version it read as `expected`.
pub fn answer(
    c: &mut DbConnection,
    doer: &Doer,
    (at, today): (NaiveDateTime, NaiveDate),
    id: &str,
    expected: i64,
    action: ReferralAction,
    input: &Answer,
) -> MeasureResult<ReferralRow> {
    let r = get(c, &Viewer::of(doer), id)?;
    let from = ReferralStatus::from_code(&r.status)
        .ok_or_else(|| MeasureError::Policy(format!("unknown referral status {}", r.status)))?;
    let Some(to) = from.after(action) else {
        return Err(wrong_state(
            format!("a referral that is `{from}` cannot be answered with `{action}`"),
            format!(
                "转介当前为“{}”，不能执行“{}”",
                from.meaning_zh(),
                action.meaning_zh()
            ),
        ));
    };
    if r.department_code != doer.department_code() {
        let name = r
            .department_code
            .parse::<jiekun_domain::DepartmentCode>()
            .map_or(r.department_code.as_str(), |d| d.name_zh());
        return Err(MeasureError::Forbidden {
            message: format!(
                "this referral is for the `{}` department; only that department's key answers it",
                r.department_code
            ),
            message_zh: format!("该转介的牵头部门为“{name}”，只能由该部门的密钥办理"),
        });
    }
    if action == ReferralAction::Decline && input.reason.is_none() {
        return Err(invalid(
            "reason",
            "required",
            "a referral is declined with a reason",
            "不予受理须说明理由",
        ));
    }
    let delivered_on = match action {
        ReferralAction::Deliver => {
            let d = input.delivered_on.unwrap_or(today);
            if d > today {
                return Err(invalid(
                    "delivered_on",
                    "in_future",
                    "the delivery date cannot be in the future",
                    "落实日期不能晚于今天",
                ));
            }
            if d < super::assistance::EARLIEST {
                return Err(invalid(
                    "delivered_on",
                    "too_early",
                    format!(
                        "the delivery date cannot be before {}",
                        super::assistance::EARLIEST
                    ),
                    format!("落实日期不能早于 {}", super::assistance::EARLIEST),
                ));
            }
            Some(d)
        }
        _ => None,
    };
    fresh(r.version, expected)?;
    let n = diesel::update(
        referrals::table
            .filter(referrals::id.eq(&r.id))
            .filter(referrals::version.eq(expected)),
    )
    .set((
        referrals::status.eq(to.as_str()),
        referrals::decline_reason.eq(input
            .reason
            .clone()
            .filter(|_| action == ReferralAction::Decline)),
        referrals::delivered_on.eq(delivered_on),
        referrals::delivery_note.eq(input.note.clone()),
        referrals::answered_by.eq(Some(doer.name.clone())),
        referrals::state_since.eq(at),
        referrals::version.eq(expected + 1),
        referrals::updated_at.eq(at),
    ))
    .execute(c)?;
    if n == 0 {
        return Err(MeasureError::Stale {
            expected,
            actual: expected + 1,
        });
    }
    let opinion = input.reason.as_deref().or(input.note.as_deref());
    record(
        c,
        doer,
        at,
        Record {
            subject_kind: "referral",
            subject_id: &r.id,
            household_id: &r.household_id,
            action: action.as_str(),
            from: Some(from.as_str()),
            to: Some(to.as_str()),
            opinion,
            audit_action: match action {
                ReferralAction::Acknowledge => "referral.acknowledge",
                ReferralAction::Decline => "referral.decline",
                ReferralAction::Deliver => "referral.deliver",
            },
            changes: json!({"measure": r.measure_number, "from": from, "to": to,
                "delivered_on": delivered_on}),
        },
    )?;
    get(c, &Viewer::of(doer), &r.id)
}
