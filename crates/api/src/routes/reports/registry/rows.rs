//! The rows of the reports that are worked out from what the store reads, rather than counted
//! by it: months filled in, percentiles, stays, and the measures of the plan.

use chrono::NaiveDateTime;
use jiekun_domain::closed::ClosedList;
use jiekun_domain::household::Month;
use jiekun_domain::workflow::ExitGrounds;
use jiekun_store::{DbConnection, Scope};

use super::month_text;
use crate::error::ApiResult;
use crate::routes::reports::dto::Cell;

/// One row per month, every month of the span, zeros included.
pub(super) fn flows(
    c: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
    from: Month,
    to: Month,
) -> ApiResult<Vec<Vec<Cell>>> {
    let found = jiekun_store::reports::flows(c, scope, as_of, &month_text(from), &month_text(to))?;
    let mut out = Vec::new();
    let mut m = from;
    loop {
        let key = month_text(m);
        let count = |kind: &str, grounds: &[&str]| -> i64 {
            found
                .iter()
                .filter(|r| r.month == key && r.kind == kind)
                .filter(|r| grounds.is_empty() || grounds.contains(&r.grounds.as_str()))
                .map(|r| r.households)
                .sum()
        };
        out.push(vec![
            Cell::Text(key.clone()),
            count("filed", &[]).into(),
            count("returned", &[]).into(),
            count("exited", &[]).into(),
            count("exited", &[ExitGrounds::OutOfHardship.as_str()]).into(),
            count("exited", &[ExitGrounds::SafetyNet.as_str()]).into(),
            count(
                "exited",
                &[ExitGrounds::Death.as_str(), ExitGrounds::Transfer.as_str()],
            )
            .into(),
        ]);
        if m == to {
            break;
        }
        m = m.next();
    }
    Ok(out)
}

/// One row per lead unit that was sent a referral or a verification task by `as_of`.
pub(super) fn accountability(
    c: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
    versions: &mut Vec<String>,
) -> ApiResult<Vec<Vec<Cell>>> {
    use jiekun_domain::report::{days_between, nearest_rank};
    let local = |t: NaiveDateTime| (t + chrono::TimeDelta::hours(8)).date();
    let today = local(as_of);
    let referrals = jiekun_store::reports::referrals_at(c, scope, as_of)?;
    let tasks = jiekun_store::reports::tasks_at(c, scope, as_of)?;
    let contacts = dual_contact(c, scope, as_of, today, versions)?;
    let union = jiekun_domain::DepartmentCode::Union.as_str();
    let mut units: Vec<&str> = referrals
        .iter()
        .map(|r| r.department_code.as_str())
        .chain(tasks.iter().map(|t| t.department_code.as_str()))
        .chain((contacts[0] > 0).then_some(union))
        .collect();
    units.sort_unstable();
    units.dedup();
    Ok(units
        .into_iter()
        .map(|unit| {
            let rs: Vec<_> = referrals
                .iter()
                .filter(|r| r.department_code == unit)
                .collect();
            let state = |r: &jiekun_store::reports::ReferralAt| {
                r.state.as_deref().unwrap_or("open").to_owned()
            };
            let count = |s: &str| rs.iter().filter(|r| state(r) == s).count() as i64;
            let overdue = rs
                .iter()
                .filter(|r| {
                    matches!(state(r).as_str(), "open" | "acknowledged") && r.due_on < today
                })
                .count() as i64;
            let days: Vec<i64> = rs
                .iter()
                .filter_map(|r| {
                    r.delivered_at
                        .map(|d| days_between(local(r.created_at), local(d)))
                })
                .collect();
            let ts: Vec<_> = tasks.iter().filter(|t| t.department_code == unit).collect();
            let on_time = ts
                .iter()
                .filter(|t| t.answered_at.is_some_and(|a| local(a) <= t.due_on))
                .count() as i64;
            let late = ts
                .iter()
                .filter(|t| t.answered_at.is_some_and(|a| local(a) > t.due_on))
                .count() as i64;
            let unanswered = ts
                .iter()
                .filter(|t| t.answered_at.is_none() && t.due_on < today)
                .count() as i64;
            let name = unit
                .parse::<jiekun_domain::DepartmentCode>()
                .map_or_else(|_| unit.to_owned(), |d| d.name_zh().to_owned());
            let percentile = |p| nearest_rank(&days, p).map_or(Cell::Null, Cell::Int);
            vec![
                Cell::Text(unit.to_owned()),
                Cell::Text(name),
                (rs.len() as i64).into(),
                count("open").into(),
                count("acknowledged").into(),
                count("declined").into(),
                count("delivered").into(),
                overdue.into(),
                percentile(50),
                percentile(90),
                (ts.len() as i64).into(),
                on_time.into(),
                late.into(),
                unanswered.into(),
            ]
            .into_iter()
            .chain(contacts.iter().map(|n| {
                if unit == union {
                    Cell::Int(*n)
                } else {
                    Cell::Null
                }
            }))
            .collect()
        })
        .collect())
}

/// Dual contact (《实施方案》三(七)14), which the union leads: the assignments standing on the
/// day of `as_of`, their visits by then, and how many had gone longer without a visit than the
/// policy's rhythm allows (the book as it stood at `as_of`).
fn dual_contact(
    c: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
    today: chrono::NaiveDate,
    versions: &mut Vec<String>,
) -> ApiResult<[i64; 3]> {
    use jiekun_domain::rules::ParamKey;
    let standing = jiekun_store::reports::contacts_at(c, scope, as_of, today)?;
    let book = jiekun_store::rules::policy_book_at(c, as_of)?;
    let mut behind = 0i64;
    for a in &standing {
        let Ok(policy) = book.contacts(&a.region_code, today) else {
            continue;
        };
        super::timeliness::note_versions(
            &book,
            &[ParamKey::ContactVisitGapDays],
            &a.region_code,
            today,
            versions,
        );
        let late = jiekun_domain::contact::days_behind(
            a.last_visit,
            a.valid_from,
            today,
            policy.visit_gap_days,
        );
        behind += i64::from(late.is_some());
    }
    versions.sort();
    Ok([
        standing.len() as i64,
        standing.iter().map(|a| a.visits).sum(),
        behind,
    ])
}

/// One row per measure the rules can propose, zeros included.
pub(super) fn coverage(
    c: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
) -> ApiResult<Vec<Vec<Cell>>> {
    let local = (as_of + chrono::TimeDelta::hours(8)).date();
    let found = jiekun_store::reports::coverage(c, scope, as_of, local)?;
    Ok(jiekun_domain::rules::plan::proposable()
        .into_iter()
        .map(|m| {
            let n = i64::from(m.number());
            let row = found.iter().find(|r| r.measure_number == n);
            let figure = |f: fn(&jiekun_store::reports::CoverageRow) -> i64| -> Cell {
                row.map_or(0, f).into()
            };
            vec![
                Cell::Int(n),
                Cell::Text(m.as_str().into()),
                Cell::Text(m.meaning_zh().into()),
                Cell::Text(m.clause_zh()),
                m.lead_department()
                    .map_or(Cell::Null, |d| Cell::Text(d.as_str().into())),
                figure(|r| r.called_for),
                figure(|r| r.referred),
                figure(|r| r.assisted),
                figure(|r| r.contacted),
                figure(|r| r.uncovered),
                figure(|r| r.dropped),
                figure(|r| r.unplanned),
            ]
        })
        .collect())
}

/// One row per kind of exception, zeros included; the cap versions looked at go into `versions`.
pub(super) fn exceptions(
    c: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
    versions: &mut Vec<String>,
) -> ApiResult<Vec<Vec<Cell>>> {
    use jiekun_domain::report::ExceptionKind;
    let found = jiekun_store::reports::exceptions(c, scope, as_of)?;
    let (over_items, over_households) = over_caps(c, scope, as_of, versions)?;
    Ok(ExceptionKind::ALL
        .iter()
        .map(|k| {
            let (items, households) = match k {
                ExceptionKind::AssistanceOverCap => (over_items, over_households),
                _ => found
                    .iter()
                    .find(|r| r.kind == k.as_str())
                    .map_or((0, 0), |r| (r.items, r.households)),
            };
            vec![
                Cell::Text(k.as_str().into()),
                Cell::Text(k.meaning_en().into()),
                Cell::Text(k.meaning_zh().into()),
                items.into(),
                households.into(),
            ]
        })
        .collect())
}

/// The caps broken at `as_of` (each measure over its cap and each year over its total, per
/// household), and in how many households, under the policy book as it stood then.
fn over_caps(
    c: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
    versions: &mut Vec<String>,
) -> ApiResult<(i64, i64)> {
    use jiekun_domain::rules::{ParamKey, ParamValue};
    let book = jiekun_store::rules::policy_book_at(c, as_of)?;
    // Only sums above the lowest cap anywhere, at any time, can break one.
    let floor = |key: ParamKey| {
        book.parameters
            .iter()
            .filter(|p| p.key == key)
            .filter_map(|p| match p.value {
                ParamValue::Int(v) => Some(v),
                _ => None,
            })
            .min()
            .unwrap_or(i64::MAX)
    };
    let sums = jiekun_store::reports::year_sums_over(
        c,
        scope,
        as_of,
        floor(ParamKey::AssistanceCapMeasureFen),
        floor(ParamKey::AssistanceCapTotalFen),
    )?;
    let (mut items, mut households) = (0i64, 0i64);
    for household in sums.chunk_by(|a, b| a.household_id == b.household_id) {
        let mut broken = 0usize;
        for year in household.chunk_by(|a, b| a.year == b.year) {
            let region = year[0].region_code.as_str();
            let Some(day) = year.iter().map(|s| s.last_delivered_on).max() else {
                continue;
            };
            // A day the book sets no caps for is a day the ledger took nothing on.
            let Ok(policy) = book.measures(region, day) else {
                continue;
            };
            for key in [
                ParamKey::AssistanceCapMeasureFen,
                ParamKey::AssistanceCapTotalFen,
            ] {
                if let Ok(p) = book.lookup(key, region, day) {
                    versions.push(format!("{}@{}", key.as_str(), p.effective_from));
                }
            }
            let amounts: Vec<i64> = year.iter().map(|s| s.amount_fen).collect();
            broken += policy.caps.breaches(&amounts);
        }
        items += broken as i64;
        households += i64::from(broken > 0);
    }
    versions.sort();
    versions.dedup();
    Ok((items, households))
}
