//! Applying the answers of a chunk of tasks at once, with the same result as answering them one
//! by one (`answers::apply`): one update marks the chunk's tasks answered, one read each brings
//! the households, the declared income and the earlier facts the differences need, the facts and
//! the differences go in as bulk inserts, and one update closes the requests
//! left without an open task. Tasks are applied in file order in memory, so that a later task of
//! the same household sees what an earlier one wrote, as it would one by one.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::verification::{differences, DataDomain, DeclaredIncome, Fact};

use crate::conn::DbConnection;
use crate::households::{HouseholdRow, IncomeRow};
use crate::measures::wrong_state;
use crate::schema::{
    discrepancies, households, income_records, verification_tasks as tasks, verifications,
    verified_facts,
};
use crate::sharing::answers::{check_against, concerns};
use crate::sharing::{assets_of, verified_snaps, FactRow, MeasureError, MeasureResult, TaskRow};
use crate::stamp::Stamp;

/// A verified fact as written in bulk.
#[derive(Insertable)]
#[diesel(table_name = verified_facts, treat_none_as_default_value = false)]
struct NewFact {
    id: String,
    task_id: String,
    household_id: String,
    member_id: String,
    domain: String,
    source: String,
    as_of: NaiveDate,
    count: Option<i64>,
    area_dm2: Option<i64>,
    status: Option<String>,
    month: Option<i64>,
    amount_fen: Option<i64>,
    set_aside: bool,
    created_at: Stamp,
}

impl From<FactRow> for NewFact {
    fn from(r: FactRow) -> Self {
        NewFact {
            id: r.id,
            task_id: r.task_id,
            household_id: r.household_id,
            member_id: r.member_id,
            domain: r.domain,
            source: r.source,
            as_of: r.as_of,
            count: r.count,
            area_dm2: r.area_dm2,
            status: r.status,
            month: r.month,
            amount_fen: r.amount_fen,
            set_aside: r.set_aside,
            created_at: r.created_at.into(),
        }
    }
}

/// A difference as flagged in bulk: open, so nothing of its resolution is written.
#[derive(Insertable)]
#[diesel(table_name = discrepancies, treat_none_as_default_value = false)]
struct NewDiscrepancy {
    id: String,
    household_id: String,
    organisation_path: String,
    task_id: String,
    field: String,
    member_id: Option<String>,
    month: Option<i64>,
    kind: Option<String>,
    declared: i64,
    verified: i64,
    status: &'static str,
    created_at: Stamp,
}

/// Whether the differences of an answer in `domain` depend on the household's earlier facts
/// (asset answers do; the differences of monthly amounts depend on the declared income only).
fn needs_facts(domain: DataDomain) -> bool {
    matches!(
        domain,
        DataDomain::Vehicles | DataDomain::RealEstate | DataDomain::Business
    )
}

fn domain_of(t: &TaskRow) -> MeasureResult<DataDomain> {
    t.domain
        .parse()
        .map_err(|_| MeasureError::Policy(format!("unknown domain {}", t.domain)))
}

fn already_answered() -> MeasureError {
    wrong_state("this task is already answered", "该核对任务已答复")
}

/// The most values bound in one `IN (…)` list.
const IN_LIST: usize = 1000;

/// The declared income records of the chunk's households whose answers prove a monthly amount.
#[derive(Default)]
struct Incomes {
    by_household: HashMap<String, Vec<IncomeRow>>,
}

/// Applies checked facts to the chunk's open tasks, in order, for an exchange batch; returns the
/// number of differences flagged. Writes no audit event: the import does.
pub(super) fn apply_chunk(
    c: &mut DbConnection,
    by: &str,
    at: NaiveDateTime,
    batch_id: &str,
    chunk: &[(&TaskRow, Vec<Fact>)],
) -> MeasureResult<u64> {
    if chunk.is_empty() {
        return Ok(0);
    }
    let mut domains = Vec::with_capacity(chunk.len());
    for (t, facts) in chunk {
        if t.status != "open" {
            return Err(already_answered());
        }
        let problems = check_against(t, facts);
        if !problems.is_empty() {
            return Err(MeasureError::Problems(problems));
        }
        domains.push(domain_of(t)?);
    }
    let ids: Vec<&str> = chunk.iter().map(|(t, _)| t.id.as_str()).collect();
    let mut marked = 0;
    for part in ids.chunks(IN_LIST) {
        marked += diesel::update(
            tasks::table
                .filter(tasks::id.eq_any(part))
                .filter(tasks::status.eq("open")),
        )
        .set((
            tasks::status.eq("answered"),
            tasks::answered_at.eq(Some(at)),
            tasks::answered_by.eq(Some(by)),
            tasks::answered_via.eq(Some("exchange")),
            tasks::batch_id.eq(Some(batch_id)),
            tasks::updated_at.eq(at),
        ))
        .execute(c)?;
    }
    if marked != ids.len() {
        return Err(already_answered());
    }

    let homes = read_households(c, chunk)?;
    let incomes = read_incomes(c, chunk)?;
    let mut earlier = read_facts(c, chunk, &domains)?;

    let mut facts_out: Vec<FactRow> = Vec::new();
    let mut flagged: Vec<NewDiscrepancy> = Vec::new();
    for ((t, facts), domain) in chunk.iter().zip(&domains) {
        let h = homes
            .get(&t.household_id)
            .ok_or(crate::StoreError::NotFound)?;
        let first = facts_out.len();
        facts_out.extend(facts.iter().map(|f| FactRow {
            id: crate::new_id(),
            task_id: t.id.clone(),
            household_id: t.household_id.clone(),
            member_id: f.member_id.clone(),
            domain: t.domain.clone(),
            source: t.department_code.clone(),
            as_of: f.as_of.unwrap_or(at.date()),
            count: f.count,
            area_dm2: f.area_dm2,
            status: f.status.clone(),
            month: f.month.map(i64::from),
            amount_fen: f.amount_fen,
            set_aside: false,
            created_at: at,
        }));
        if let Some(known) = earlier.get_mut(&t.household_id) {
            known.extend_from_slice(&facts_out[first..]);
            known.sort_by(|a, b| (a.as_of, &a.id).cmp(&(b.as_of, &b.id)));
        }
        let months: HashSet<i64> = facts
            .iter()
            .filter_map(|f| f.income().map(|(_, m, _)| i64::from(m)))
            .collect();
        let declared: Vec<DeclaredIncome<'_>> = incomes
            .by_household
            .get(&t.household_id)
            .into_iter()
            .flatten()
            .filter(|i| months.contains(&i.month))
            .filter_map(|i| {
                Some(DeclaredIncome {
                    member_id: i.member_id.as_deref(),
                    month: i.month as i32,
                    kind: i.kind.parse().ok()?,
                    amount_fen: i.amount_fen,
                })
            })
            .collect();
        let snaps = earlier
            .get(&t.household_id)
            .map(|known| verified_snaps(known))
            .unwrap_or_default();
        flagged.extend(
            differences(&assets_of(h), &declared, &snaps, facts)
                .into_iter()
                .filter(|d| concerns(*domain, d.field))
                .map(|d| NewDiscrepancy {
                    id: crate::new_id(),
                    household_id: h.id.clone(),
                    organisation_path: h.organisation_path.clone(),
                    task_id: t.id.clone(),
                    field: d.field.as_str().into(),
                    member_id: d.member_id,
                    month: d.month.map(i64::from),
                    kind: d.kind.map(|k| k.as_str().to_owned()),
                    declared: d.declared,
                    verified: d.verified,
                    status: "open",
                    created_at: Stamp(at),
                }),
        );
    }

    let new_facts: Vec<NewFact> = facts_out.into_iter().map(NewFact::from).collect();
    crate::copy_all!(c, verified_facts::table, &new_facts, 14)?;
    crate::copy_all!(c, discrepancies::table, &flagged, 12)?;
    close_requests(c, chunk, at)?;
    Ok(flagged.len() as u64)
}

/// The households of the chunk's tasks, by id.
fn read_households(
    c: &mut DbConnection,
    chunk: &[(&TaskRow, Vec<Fact>)],
) -> MeasureResult<HashMap<String, HouseholdRow>> {
    let ids = distinct(chunk.iter().map(|(t, _)| t.household_id.as_str()));
    let mut out = HashMap::with_capacity(ids.len());
    for part in ids.chunks(IN_LIST) {
        let rows: Vec<HouseholdRow> = households::table
            .filter(households::id.eq_any(part))
            .select(HouseholdRow::as_select())
            .load(c)?;
        out.extend(rows.into_iter().map(|h| (h.id.clone(), h)));
    }
    Ok(out)
}

/// The declared income records of the households whose answers prove a monthly amount.
fn read_incomes(c: &mut DbConnection, chunk: &[(&TaskRow, Vec<Fact>)]) -> MeasureResult<Incomes> {
    let ids = distinct(
        chunk
            .iter()
            .filter(|(_, facts)| facts.iter().any(|f| f.income().is_some()))
            .map(|(t, _)| t.household_id.as_str()),
    );
    let mut out = Incomes::default();
    for part in ids.chunks(IN_LIST) {
        let rows: Vec<IncomeRow> = income_records::table
            .filter(income_records::household_id.eq_any(part))
            .filter(income_records::source.eq("declared"))
            .select(IncomeRow::as_select())
            .load(c)?;
        for r in rows {
            out.by_household
                .entry(r.household_id.clone())
                .or_default()
                .push(r);
        }
    }
    Ok(out)
}

/// The facts not set aside of the households whose answers are compared with earlier facts, in
/// date and id order.
fn read_facts(
    c: &mut DbConnection,
    chunk: &[(&TaskRow, Vec<Fact>)],
    domains: &[DataDomain],
) -> MeasureResult<HashMap<String, Vec<FactRow>>> {
    let ids = distinct(
        chunk
            .iter()
            .zip(domains)
            .filter(|(_, d)| needs_facts(**d))
            .map(|((t, _), _)| t.household_id.as_str()),
    );
    let mut out: HashMap<String, Vec<FactRow>> =
        ids.iter().map(|h| ((*h).to_owned(), Vec::new())).collect();
    for part in ids.chunks(IN_LIST) {
        let rows: Vec<FactRow> = verified_facts::table
            .filter(verified_facts::household_id.eq_any(part))
            .filter(verified_facts::set_aside.eq(false))
            .order((
                verified_facts::household_id.asc(),
                verified_facts::as_of.asc(),
                verified_facts::id.asc(),
            ))
            .select(FactRow::as_select())
            .load(c)?;
        for r in rows {
            if let Some(known) = out.get_mut(&r.household_id) {
                known.push(r);
            }
        }
    }
    Ok(out)
}

/// Marks answered the requests of the chunk's tasks that have no open task left.
fn close_requests(
    c: &mut DbConnection,
    chunk: &[(&TaskRow, Vec<Fact>)],
    at: NaiveDateTime,
) -> MeasureResult<()> {
    let ids = distinct(chunk.iter().map(|(t, _)| t.verification_id.as_str()));
    for part in ids.chunks(IN_LIST) {
        let still_open: HashSet<String> = tasks::table
            .filter(tasks::verification_id.eq_any(part))
            .filter(tasks::status.eq("open"))
            .select(tasks::verification_id)
            .distinct()
            .load::<String>(c)?
            .into_iter()
            .collect();
        let done: Vec<&str> = part
            .iter()
            .copied()
            .filter(|v| !still_open.contains(*v))
            .collect();
        if !done.is_empty() {
            diesel::update(verifications::table.filter(verifications::id.eq_any(&done)))
                .set((
                    verifications::status.eq("answered"),
                    verifications::updated_at.eq(at),
                ))
                .execute(c)?;
        }
    }
    Ok(())
}

/// The distinct values, in first-seen order.
fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    values.filter(|v| seen.insert(*v)).collect()
}
