//! The rules over the whole registry of a scope, a batch at a time: households ready to exit,
//! households in monitoring that look like hardship again, and what a proposed policy would do.

use std::collections::BTreeMap;

use actix_web::{get, post, web};
use chrono::NaiveDate;
use jiekun_domain::access::Action;
use jiekun_domain::closed::ClosedList;
use jiekun_domain::rules::{
    assess_exit, identify, ExitPolicy, ExitVerdict, ParamKey, ParamValue, PolicyBook, Snapshot,
    Verdict,
};
use jiekun_store::registry::{fold_ranges, Scan};
use jiekun_store::rules as store;
use jiekun_store::Scope;

use super::dto::{ExitCandidate, ReturnWarning, SimulatedChange, Simulation, SimulationResult};
use super::policy::check_value;
use crate::auth::Access;
use crate::body::Body;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::{db, AppState};

/// A policy resolved once per region; a region without one is `None`, and its households are
/// left out.
struct PerRegion<P>(BTreeMap<String, Option<P>>);

impl<P> PerRegion<P> {
    fn new() -> Self {
        PerRegion(BTreeMap::new())
    }

    fn get(&mut self, region: &str, resolve: impl FnOnce() -> Option<P>) -> Option<&P> {
        self.0
            .entry(region.to_owned())
            .or_insert_with(resolve)
            .as_ref()
    }
}

/// What the rule `decide` finds for each household of `scope` with one of `statuses` on
/// `date`, under the policy each region resolves to (`resolve`), keeping what it returns, in id
/// order.
async fn over_registry<P, T>(
    state: &AppState,
    scope: Scope,
    statuses: &'static [&'static str],
    resolve: impl Fn(&PolicyBook, &str, NaiveDate) -> Option<P> + Send + Sync + 'static,
    decide: impl Fn(&Snapshot, &P) -> Option<T> + Send + Sync + 'static,
) -> ApiResult<Vec<T>>
where
    P: Send + 'static,
    T: Send + 'static,
{
    let cipher = state.cipher.clone();
    let scan = Scan::new(scope, statuses, state.clock.today());
    let found = db::run_spread(&state.db, scan.workers as u32 + 1, move |pool, workers| {
        let book = store::policy_book(&mut *pool.get()?)?;
        let scan = Scan { workers, ..scan };
        let ranges = fold_ranges(pool, &cipher, &scan, |batch| {
            let mut policies = PerRegion::new();
            batch
                .iter()
                .filter_map(|s| {
                    let p =
                        policies.get(&s.region_code, || resolve(&book, &s.region_code, scan.date));
                    p.and_then(|p| decide(s, p))
                })
                .collect::<Vec<T>>()
        })?;
        Ok(ranges.into_iter().flatten().collect())
    })
    .await?;
    Ok(found)
}

/// Watch for return to hardship · 返困监测
///
/// Exited households still in their monitoring period whose identification today finds hardship
/// again, so that the union can reopen their file in time. Computed in batches.
///
/// 退出后仍在监测期的家庭中，按今日识别规则再次符合困难条件者，便于及时重新纳入帮扶。分批计算。
#[utoipa::path(operation_id = "list_return_warnings", tag = "assessments",
    responses((status = 200, description = "Warnings. 返困预警。", body = Vec<ReturnWarning>)))]
#[get("/return-to-hardship")]
pub(super) async fn return_watch(
    state: web::Data<AppState>,
    access: Access,
) -> ApiResult<web::Json<Vec<ReturnWarning>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let found = over_registry(
        &state,
        scope,
        &["monitoring"],
        |book, region, date| book.resolve(region, date).ok(),
        |s, p| {
            let d = identify(s, p);
            (d.verdict != Verdict::NotEligible).then(|| ReturnWarning {
                household_id: s.household_id.clone(),
                verdict: d.verdict.as_str().into(),
                net_income_fen: d.figures.net_income_fen,
                members_counted: d.figures.members_counted,
            })
        },
    )
    .await?;
    Ok(web::Json(found))
}

/// Exit candidates · 可退出家庭
///
/// Filed households of your scope that the exit rule finds ready to leave today: six months
/// above the standard with every cause resolved (脱困), or covered by the safety net (解困).
/// Computed in batches; never loads the registry at once.
///
/// 本范围内已建档家庭中，按今日退出规则可退出者：连续6个月超过低保标准且致困原因全部消除（脱困），或纳入兜底保障（解困）。分批计算，不一次载入全部档案。
#[utoipa::path(operation_id = "list_exit_candidates", tag = "assessments",
    responses((status = 200, description = "Candidates. 可退出家庭。", body = Vec<ExitCandidate>)))]
#[get("/exit-candidates")]
pub(super) async fn exit_candidates(
    state: web::Data<AppState>,
    access: Access,
) -> ApiResult<web::Json<Vec<ExitCandidate>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let found = over_registry(
        &state,
        scope,
        &["filed"],
        |book, region, date| ExitPolicy::resolve(book, region, date).ok(),
        |s, p| {
            let d = assess_exit(s, p);
            (d.verdict != ExitVerdict::Stay).then(|| ExitCandidate {
                household_id: s.household_id.clone(),
                verdict: d.verdict.as_str().into(),
                consecutive_months_above: d.consecutive_months_above,
            })
        },
    )
    .await?;
    Ok(web::Json(found))
}

/// The proposed values, each checked against the type its parameter takes.
fn proposal(body: &Simulation) -> ApiResult<Vec<(ParamKey, ParamValue)>> {
    let mut overrides = Vec::new();
    let mut errors = Vec::new();
    for (k, v) in &body.parameters {
        match ParamKey::from_code(k) {
            Some(key) => match check_value(key, v) {
                Ok(value) => overrides.push((key, value)),
                Err(mut e) => {
                    e.field = format!("parameters.{k}");
                    errors.push(e)
                }
            },
            None => errors.push(FieldError::new(
                format!("parameters.{k}"),
                "invalid_value",
                "not a policy parameter",
                "不是政策参数",
            )),
        }
    }
    if body.parameters.is_empty() {
        errors.push(FieldError::required("parameters"));
    }
    if errors.is_empty() {
        Ok(overrides)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Simulate a policy change · 政策调整模拟
///
/// Identifies every active household of your scope under the current policy and under the
/// proposed parameter values, and reports who would enter, leave or change category, with counts
/// by region and category. Works through the registry in batches; changes nothing.
///
/// 对本范围内全部有效档案分别按现行政策和拟议参数进行识别，统计新纳入、退出和类别变化的家庭，并按区划、类别汇总。分批处理，不做任何修改。
#[utoipa::path(operation_id = "simulate_policy", tag = "policy", request_body = Simulation,
    responses((status = 200, description = "The result. 模拟结果。", body = SimulationResult)))]
#[post("/policy/simulations")]
pub(super) async fn simulate(
    state: web::Data<AppState>,
    access: Access,
    body: Body,
) -> ApiResult<web::Json<SimulationResult>> {
    let (_, scope) = access.require_user(Action::HouseholdAssess)?;
    let body: Simulation = body.parse()?;
    let overrides = proposal(&body)?;
    let date = body.date.unwrap_or_else(|| state.clock.today());
    let sample = body.sample.unwrap_or(100).min(1000);
    let cipher = state.cipher.clone();
    let scan = Scan::new(scope, &["draft", "filed", "monitoring"], date);
    let result = db::run_spread(&state.db, scan.workers as u32 + 1, move |pool, workers| {
        let current = store::policy_book(&mut *pool.get()?)?;
        let proposed = proposed_book(&current, &overrides, date);
        let scan = Scan { workers, ..scan };
        let parts = fold_ranges(pool, &cipher, &scan, |batch| {
            let mut part = SimulationResult::default();
            let mut resolved = PerRegion::new();
            for s in &batch {
                let both = resolved.get(&s.region_code, || {
                    let now = current.resolve(&s.region_code, date).ok()?;
                    Some((now, proposed.resolve(&s.region_code, date).ok()?))
                });
                if let Some((now, then)) = both {
                    let verdicts = (identify(s, now).verdict, identify(s, then).verdict);
                    count(&mut part, s, verdicts, sample);
                }
            }
            part
        })?;
        // The parts come in id order: adding them up gives what one pass would.
        let mut result = SimulationResult::default();
        for part in parts {
            merge(&mut result, part, sample);
        }
        Ok(result)
    })
    .await?;
    Ok(web::Json(result))
}

/// Adds the counts of a later part of the registry to `result`, keeping the first `sample`
/// changes.
fn merge(result: &mut SimulationResult, part: SimulationResult, sample: usize) {
    result.households += part.households;
    for (region, counts) in part.by_region {
        let r = result.by_region.entry(region).or_default();
        for (verdict, n) in counts.current {
            *r.current.entry(verdict).or_default() += n;
        }
        for (verdict, n) in counts.proposed {
            *r.proposed.entry(verdict).or_default() += n;
        }
        r.would_enter += counts.would_enter;
        r.would_leave += counts.would_leave;
        r.would_change_category += counts.would_change_category;
    }
    let room = sample.saturating_sub(result.changes.len());
    result.changes.extend(part.changes.into_iter().take(room));
}

/// The book as proposed: every version of an overridden key in force on `date` takes the
/// proposed value.
fn proposed_book(
    current: &PolicyBook,
    overrides: &[(ParamKey, ParamValue)],
    date: NaiveDate,
) -> PolicyBook {
    let mut proposed = current.clone();
    for (key, value) in overrides {
        for p in proposed
            .parameters
            .iter_mut()
            .filter(|p| p.key == *key && p.in_force(date))
        {
            p.value = value.clone();
        }
    }
    proposed
}

/// Counts one household's verdicts now and under the proposal, and lists it (up to `sample`)
/// when they differ.
fn count(
    result: &mut SimulationResult,
    s: &Snapshot,
    (now, then): (Verdict, Verdict),
    sample: usize,
) {
    result.households += 1;
    let r = result.by_region.entry(s.region_code.clone()).or_default();
    *r.current.entry(now.as_str().into()).or_default() += 1;
    *r.proposed.entry(then.as_str().into()).or_default() += 1;
    if now == then {
        return;
    }
    match (now, then) {
        (Verdict::NotEligible, _) => r.would_enter += 1,
        (_, Verdict::NotEligible) => r.would_leave += 1,
        _ => r.would_change_category += 1,
    }
    if result.changes.len() < sample {
        result.changes.push(SimulatedChange {
            household_id: s.household_id.clone(),
            region_code: s.region_code.clone(),
            current: now.as_str().into(),
            proposed: then.as_str().into(),
        });
    }
}
