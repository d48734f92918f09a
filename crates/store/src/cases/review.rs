//! The annual review of a filed household.

use jiekun_domain::access::Role;
use jiekun_domain::household::HouseholdStatus;
use serde_json::json;

use super::{
    assessment_of, fresh, household_in_scope, household_not, policy, record, role_among, Actor,
    Entry, StepResult, When,
};
use crate::conn::DbConnection;
use crate::households::{self as hstore, HouseholdRow};
use crate::workflows::{self as store, LifecycleRow, ReviewRow};

/// Records the annual review of a filed household (grassroots or county union), relying on an
/// identification assessment: still eligible, it continues with the assessment's category; not,
/// the outcome says so. The next review falls due one review interval later.
pub fn record_review(
    c: &mut DbConnection,
    actor: &Actor,
    when: When,
    household_id: &str,
    expected: i64,
    assessment_id: &str,
    opinion: Option<&str>,
) -> StepResult<(ReviewRow, HouseholdRow)> {
    let h = household_in_scope(c, &actor.scope, household_id)?;
    if h.status != HouseholdStatus::Filed.as_str() {
        return Err(household_not(
            &h,
            "only filed households are reviewed",
            "只有已建档家庭需要年度复核",
        ));
    }
    let role = role_among(
        actor,
        &[
            Role::GrassrootsOfficer,
            Role::CountyReviewer,
            Role::CountyAdmin,
        ],
        "annual reviews are done by the grassroots and county unions",
        "年度复核由基层工会、县总工会办理",
    )?;
    fresh(h.version, expected)?;
    let a = assessment_of(c, &actor.scope, assessment_id, &h.id, "identify")?;
    let eligible = a.verdict != "not_eligible";
    let policy = policy(c, &h.region_code, when.today)?;
    let mut life = store::lifecycle(c, &h.id)?.unwrap_or_else(|| LifecycleRow {
        household_id: h.id.clone(),
        ..LifecycleRow::default()
    });
    let next_due = super::add_months(when.today, policy.review_interval_months);
    let row = ReviewRow {
        id: crate::new_id(),
        household_id: h.id.clone(),
        organisation_path: h.organisation_path.clone(),
        due_on: life.next_review_due,
        reviewed_on: when.today,
        assessment_id: a.id.clone(),
        verdict: a.verdict.clone(),
        outcome: if eligible {
            "continues"
        } else {
            "no_longer_eligible"
        }
        .into(),
        opinion: opinion.map(Into::into),
        reviewed_by: actor.username.clone(),
        next_due,
        created_at: when.at,
    };
    store::insert_review(c, &row)?;
    life.next_review_due = Some(next_due);
    life.updated_at = when.at;
    store::save_lifecycle(c, &life)?;
    let category = eligible.then_some(a.verdict.as_str());
    let after = hstore::set_status(
        c,
        &h.id,
        HouseholdStatus::Filed.as_str(),
        category,
        None,
        when.at,
    )?;
    let entry = Entry {
        subject_kind: "annual_review",
        subject_id: &row.id,
        household_id: &h.id,
        action: "review",
        from: None,
        to: Some(&row.outcome),
        role: Some(role),
        opinion,
        assessment_id: Some(&a.id),
    };
    let changes = json!({"review_id": row.id, "verdict": row.verdict, "outcome": row.outcome,
        "next_due": row.next_due});
    record(
        c,
        actor,
        when,
        entry,
        ("household.annual_review", "household", &h.id, changes),
    )?;
    Ok((row, after))
}
