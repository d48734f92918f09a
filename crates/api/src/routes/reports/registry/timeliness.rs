//! The timeliness report: days in each workflow step from the timeline, notices against the
//! policy's period, and annual reviews against their due dates.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use jiekun_domain::rules::{ParamKey, PolicyBook};
use jiekun_store::{DbConnection, Scope};

use crate::error::ApiResult;
use crate::routes::reports::dto::Cell;

/// One row per workflow step that a case was in, in the order of the steps.
pub(super) fn timeliness(
    c: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
    versions: &mut Vec<String>,
) -> ApiResult<Vec<Vec<Cell>>> {
    use jiekun_domain::report::{days_between, nearest_rank, stays, Stay};
    let book = jiekun_store::rules::policy_book_at(c, as_of)?;
    let short = short_notices(c, scope, as_of, &book, versions)?;
    let reviews = annual_reviews(c, scope, as_of, &book, versions)?;
    versions.sort();
    use jiekun_domain::workflow::{ExitState, FilingState};
    let local = |t: NaiveDateTime| (t + chrono::TimeDelta::hours(8)).date();
    let steps = jiekun_store::reports::steps_at(c, scope, as_of)?;
    let mut all: Vec<(&str, Stay<'_>)> = Vec::new();
    for case in
        steps.chunk_by(|a, b| a.subject_kind == b.subject_kind && a.subject_id == b.subject_id)
    {
        let kind = case[0].subject_kind.as_str();
        let taken: Vec<(&str, NaiveDateTime)> =
            case.iter().map(|s| (s.to_state.as_str(), s.at)).collect();
        let open = |state: &str| match kind {
            "application" => state.parse::<FilingState>().is_ok_and(FilingState::is_open),
            _ => state.parse::<ExitState>().is_ok_and(ExitState::is_open),
        };
        all.extend(stays(&taken, open).into_iter().map(|s| (kind, s)));
    }
    let states: Vec<(&str, &str)> = FilingState::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| ("application", s.as_str()))
        .chain(
            ExitState::ALL
                .iter()
                .filter(|s| s.is_open())
                .map(|s| ("exit_case", s.as_str())),
        )
        .collect();
    Ok(states
        .into_iter()
        .map(|(kind, state)| {
            let here = || all.iter().filter(|(k, s)| *k == kind && s.state == state);
            let done: Vec<i64> = here()
                .filter_map(|(_, s)| s.left.map(|l| days_between(local(s.entered), local(l))))
                .collect();
            let waits: Vec<i64> = here()
                .filter(|(_, s)| s.left.is_none())
                .map(|(_, s)| days_between(local(s.entered), local(as_of)))
                .collect();
            let percentile = |p| nearest_rank(&done, p).map_or(Cell::Null, Cell::Int);
            let short = match state {
                "public_notice" => short.get(kind).copied().unwrap_or(0).into(),
                _ => Cell::Null,
            };
            vec![
                Cell::Text(kind.to_owned()),
                Cell::Text(state.to_owned()),
                (done.len() as i64).into(),
                percentile(50),
                percentile(90),
                (waits.len() as i64).into(),
                waits.iter().max().map_or(Cell::Null, |d| Cell::Int(*d)),
                short,
                Cell::Null,
            ]
        })
        .chain(std::iter::once(reviews))
        .collect())
}

/// Per kind of case, the notices published by `as_of` whose period is shorter than the policy
/// in force on their first day asks (the book as it stood at `as_of`).
fn short_notices(
    c: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
    book: &PolicyBook,
    versions: &mut Vec<String>,
) -> ApiResult<BTreeMap<String, i64>> {
    let notices = jiekun_store::reports::notices_at(c, scope, as_of)?;
    let mut out = BTreeMap::new();
    let (Some(first), Some(last)) = (
        notices.iter().map(|n| n.starts_on).min(),
        notices.iter().map(|n| n.starts_on).max(),
    ) else {
        return Ok(out);
    };
    let calendar =
        jiekun_store::workflows::calendar_span(c, first, last + chrono::TimeDelta::days(400))?;
    for n in &notices {
        let Ok(policy) = book.workflow(&n.region_code, n.starts_on) else {
            continue;
        };
        note_versions(
            book,
            &[ParamKey::NoticeDays, ParamKey::NoticeWorkingDays],
            &n.region_code,
            n.starts_on,
            versions,
        );
        let due =
            calendar.notice_ends_on(n.starts_on, policy.notice_days, policy.notice_working_days);
        let counted = out.entry(n.subject_kind.clone()).or_insert(0);
        *counted += i64::from(n.ends_on < due);
    }
    Ok(out)
}

/// The annual reviews: `stays` counts those recorded by `as_of`; `waiting` the households filed
/// then, each awaiting its next review, with the longest time since its filing or last review;
/// `overdue` those whose review was due before the day of `as_of`.
fn annual_reviews(
    c: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
    book: &PolicyBook,
    versions: &mut Vec<String>,
) -> ApiResult<Vec<Cell>> {
    use jiekun_domain::report::days_between;
    let today = (as_of + chrono::TimeDelta::hours(8)).date();
    let done = jiekun_store::reports::reviews_done(c, scope, as_of)?;
    let due = jiekun_store::reports::reviews_due_at(c, scope, as_of)?;
    let (mut longest, mut overdue, mut waiting) = (None::<i64>, 0i64, 0i64);
    for h in &due {
        waiting += h.households;
        // What the next review counts from: the later of the last filing and the last review.
        let (since, next_due) = match (h.filed_on, h.reviewed_on, h.next_due) {
            (filed, Some(reviewed), Some(next)) if filed.is_none_or(|f| reviewed >= f) => {
                (reviewed, Some(next))
            }
            (Some(on), _, _) => {
                let next = book.workflow(&h.region_code, on).ok().map(|p| {
                    note_versions(
                        book,
                        &[ParamKey::ReviewIntervalMonths],
                        &h.region_code,
                        on,
                        versions,
                    );
                    jiekun_store::cases::add_months(on, p.review_interval_months)
                });
                (on, next)
            }
            _ => continue,
        };
        longest = longest.max(Some(days_between(since, today)));
        if next_due.is_some_and(|d| d < today) {
            overdue += h.households;
        }
    }
    Ok(vec![
        Cell::Text("annual_review".into()),
        Cell::Text("due".into()),
        done.into(),
        Cell::Null,
        Cell::Null,
        waiting.into(),
        longest.map_or(Cell::Null, Cell::Int),
        Cell::Null,
        overdue.into(),
    ])
}

/// Notes the versions of `keys` the book has for `region` on `on`, as `key@effective_from`.
pub(super) fn note_versions(
    book: &PolicyBook,
    keys: &[ParamKey],
    region: &str,
    on: chrono::NaiveDate,
    versions: &mut Vec<String>,
) {
    for key in keys {
        if let Ok(p) = book.lookup(*key, region, on) {
            let v = format!("{}@{}", key.as_str(), p.effective_from);
            if !versions.contains(&v) {
                versions.push(v);
            }
        }
    }
}
