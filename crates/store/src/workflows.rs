//! Workflow records: filing applications, exit cases, public notices, objections,
//! annual reviews, the timeline they share, file numbers, the household's life after filing and
//! the holiday calendar. The decisions are the domain's; this stores them. Call the writers
//! inside [`crate::write`], so that a transition, its timeline entry and its audit event are one
//! transaction.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::calendar::{Calendar, DayKind};
use jiekun_domain::closed::ClosedList;

use crate::audit::Caller;
use crate::conn::DbConnection;
use crate::page::{Page, PageRequest};
use crate::schema::{
    annual_reviews, applications, calendar_days, exit_cases, file_sequences, household_lifecycle,
    households, objections, organisations, public_notices, workflow_events,
};
use crate::{Scope, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = applications, treat_none_as_default_value = false)]
pub struct ApplicationRow {
    pub id: String,
    pub household_id: String,
    pub organisation_path: String,
    pub region_code: String,
    pub state: String,
    pub category: Option<String>,
    pub assessment_id: Option<String>,
    pub notice_id: Option<String>,
    pub previous_file_number: Option<String>,
    pub file_number: Option<String>,
    pub opened_by: String,
    pub state_since: NaiveDateTime,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = exit_cases, treat_none_as_default_value = false)]
pub struct ExitCaseRow {
    pub id: String,
    pub household_id: String,
    pub organisation_path: String,
    pub region_code: String,
    pub state: String,
    pub grounds: String,
    pub origin: String,
    pub assessment_id: Option<String>,
    pub notice_id: Option<String>,
    pub opened_by: String,
    pub state_since: NaiveDateTime,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = public_notices, treat_none_as_default_value = false)]
pub struct NoticeRow {
    pub id: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub household_id: String,
    pub organisation_path: String,
    pub region_code: String,
    pub masked_name: String,
    pub unit: String,
    pub category: Option<String>,
    pub grounds: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub days: i64,
    pub working_days: bool,
    pub contact_organisation: String,
    pub contact_address: Option<String>,
    pub status: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = objections, treat_none_as_default_value = false)]
pub struct ObjectionRow {
    pub id: String,
    pub notice_id: String,
    pub subject_kind: String,
    pub organisation_path: String,
    pub channel: String,
    pub content: String,
    pub objector: Option<String>,
    pub raised_by: String,
    pub status: String,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// One entry of a timeline.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = workflow_events, treat_none_as_default_value = false)]
pub struct EventRow {
    pub id: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub household_id: String,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub actor: String,
    pub actor_role: Option<String>,
    pub organisation_id: Option<String>,
    pub organisation_name: Option<String>,
    pub opinion: Option<String>,
    pub assessment_id: Option<String>,
    pub at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Default, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = household_lifecycle, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct LifecycleRow {
    pub household_id: String,
    pub filed_on: Option<NaiveDate>,
    pub next_review_due: Option<NaiveDate>,
    pub exited_on: Option<NaiveDate>,
    pub exit_grounds: Option<String>,
    pub monitoring_until: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub previous_file_number: Option<String>,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = annual_reviews, treat_none_as_default_value = false)]
pub struct ReviewRow {
    pub id: String,
    pub household_id: String,
    pub organisation_path: String,
    pub due_on: Option<NaiveDate>,
    pub reviewed_on: NaiveDate,
    pub assessment_id: String,
    pub verdict: String,
    pub outcome: String,
    pub opinion: Option<String>,
    pub reviewed_by: String,
    pub next_due: NaiveDate,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = calendar_days, treat_none_as_default_value = false)]
pub struct CalendarDayRow {
    pub day: NaiveDate,
    pub kind: String,
    pub name: String,
    pub updated_by: String,
    pub updated_at: NaiveDateTime,
}

/// Where a case stands relative to the caller: absent, present but outside their scope, or theirs.
#[derive(Debug)]
pub enum Located<T> {
    Missing,
    OutOfScope,
    Found(T),
}

fn locate<T>(row: Option<T>, scope: &Scope, path: impl Fn(&T) -> &str) -> Located<T> {
    match row {
        None => Located::Missing,
        Some(r) if scope.covers_path(path(&r)) => Located::Found(r),
        Some(_) => Located::OutOfScope,
    }
}

/// Restricts a boxed query to the organisation paths under `scope` (nothing for API keys).
/// As for the household list: `substr` on SQLite (which re-prepares a statement whose LIKE
/// pattern is bound), `LIKE 'prefix%'` on PostgreSQL (whose planner estimates it from statistics
/// and would guess badly for a function call).
macro_rules! within {
    ($q:expr, $column:expr, $scope:expr, $conn:expr) => {{
        let sqlite = matches!($conn, DbConnection::Sqlite(_));
        match $scope {
            Scope::Subtree { path, .. } if sqlite => {
                $q.filter(crate::path_starts_with!($column, path.clone()))
            }
            Scope::Subtree { path, .. } => $q.filter($column.like(crate::like_prefix(path))),
            Scope::Region(_) => $q.filter($column.eq("\u{0}")),
            Scope::All => $q,
        }
    }};
}
pub(crate) use within;

type Backend = <DbConnection as diesel::Connection>::Backend;

// ---- applications and exit cases ----------------------------------------------------------

/// What a step changes on an application; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = applications)]
pub struct ApplicationChange {
    pub state: Option<String>,
    pub category: Option<String>,
    pub assessment_id: Option<String>,
    pub notice_id: Option<String>,
    pub file_number: Option<String>,
}

/// What a step changes on an exit case; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = exit_cases)]
pub struct ExitCaseChange {
    pub state: Option<String>,
    pub assessment_id: Option<String>,
    pub notice_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub states: Vec<String>,
    pub household_id: Option<String>,
}

/// Something waiting on someone, with what a work queue shows of its household.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct Waiting {
    /// The case or objection.
    pub id: String,
    pub household_id: String,
    pub state: String,
    /// Waiting since.
    pub since: NaiveDateTime,
    /// The notice of the case, or the one objected to.
    pub notice_id: Option<String>,
    /// In full: the caller masks it.
    pub worker_name: String,
    pub file_number: Option<String>,
    pub organisation_id: String,
    pub organisation_name: String,
}

/// The records of one kind of case (applications, exit cases): the same reads and writes over
/// tables of the same shape.
macro_rules! case_records {
    ($table:ident, $Row:ident, $Change:ident, closed: [$($closed:literal),*],
     get: $get:ident, open_of: $open_of:ident, insert: $insert:ident, update: $update:ident,
     link: $link:ident, list: $list:ident, count: $count:ident, matching: $matching:ident,
     waiting: $waiting:ident) => {
        pub fn $get(conn: &mut DbConnection, scope: &Scope, id: &str) -> StoreResult<Located<$Row>> {
            let row = $table::table
                .filter($table::id.eq(id))
                .select($Row::as_select())
                .first(conn)
                .optional()?;
            Ok(locate(row, scope, |r| &r.organisation_path))
        }

        /// The case of the household still on its way, if any.
        pub fn $open_of(conn: &mut DbConnection, household_id: &str) -> StoreResult<Option<$Row>> {
            Ok($table::table
                .filter($table::household_id.eq(household_id))
                .filter($table::state.ne_all([$($closed),*]))
                .select($Row::as_select())
                .first(conn)
                .optional()?)
        }

        pub fn $insert(conn: &mut DbConnection, row: &$Row) -> StoreResult<()> {
            diesel::insert_into($table::table).values(row).execute(conn)?;
            Ok(())
        }

        /// Moves the case on if its stored version is `expected`, else `VersionMismatch` (two
        /// conflicting steps at once: exactly one wins).
        pub fn $update(
            conn: &mut DbConnection,
            id: &str,
            expected: i64,
            change: &$Change,
            at: NaiveDateTime,
        ) -> StoreResult<$Row> {
            use $table::dsl as t;
            let n = diesel::update(t::$table.filter(t::id.eq(id).and(t::version.eq(expected))))
                .set((
                    change,
                    t::state_since.eq(at),
                    t::version.eq(t::version + 1),
                    t::updated_at.eq(at),
                ))
                .execute(conn)?;
            let current: $Row = t::$table
                .filter(t::id.eq(id))
                .select($Row::as_select())
                .first(conn)?;
            if n == 0 {
                return Err(StoreError::VersionMismatch {
                    expected,
                    actual: current.version,
                });
            }
            Ok(current)
        }

        /// Records what a step produced after it claimed the version (the notice it published,
        /// the file number it gave), leaving the version as it is.
        pub fn $link(conn: &mut DbConnection, id: &str, change: &$Change) -> StoreResult<$Row> {
            let this = $table::table.filter($table::id.eq(id));
            diesel::update(this).set(change).execute(conn)?;
            Ok(this.select($Row::as_select()).first(conn)?)
        }

        /// The cases in `scope` that match `filter`, not yet selected, ordered or paged.
        fn $matching(
            conn: &mut DbConnection,
            scope: &Scope,
            filter: &CaseFilter,
        ) -> $table::BoxedQuery<'static, Backend> {
            use $table::dsl as t;
            let mut q = t::$table.into_boxed();
            q = within!(q, t::organisation_path, scope, conn);
            if !filter.states.is_empty() {
                q = q.filter(t::state.eq_any(filter.states.clone()));
            }
            if let Some(h) = &filter.household_id {
                q = q.filter(t::household_id.eq(h.clone()));
            }
            q
        }

        pub fn $list(
            conn: &mut DbConnection,
            scope: &Scope,
            filter: &CaseFilter,
            page: &PageRequest,
        ) -> StoreResult<Page<$Row>> {
            use $table::dsl as t;
            let mut q = $matching(conn, scope, filter).select($Row::as_select());
            if let Some(after) = &page.after {
                q = q.filter(t::id.gt(after.clone()));
            }
            let rows = q.order(t::id.asc()).limit(page.fetch_limit()).load(conn)?;
            Ok(page.finish(rows, |r| &r.id))
        }

        /// How many cases in `scope` match `filter`.
        pub fn $count(conn: &mut DbConnection, scope: &Scope, filter: &CaseFilter) -> StoreResult<u64> {
            let n: i64 = $matching(conn, scope, filter).count().get_result(conn)?;
            Ok(n.max(0) as u64)
        }

        /// Cases in scope in one of `states`, longest waiting first, with what a work queue
        /// shows of their household: one query, the household and its union joined by key.
        pub fn $waiting(
            conn: &mut DbConnection,
            scope: &Scope,
            states: &[&str],
            limit: i64,
        ) -> StoreResult<Vec<Waiting>> {
            use $table::dsl as t;
            if states.is_empty() {
                return Ok(Vec::new());
            }
            let states: Vec<String> = states.iter().map(|s| s.to_string()).collect();
            let mut q = t::$table
                .inner_join(households::table)
                .inner_join(
                    organisations::table.on(households::organisation_id.eq(organisations::id)),
                )
                .select((
                    t::id,
                    t::household_id,
                    t::state,
                    t::state_since,
                    t::notice_id,
                    households::worker_name,
                    households::file_number,
                    households::organisation_id,
                    organisations::name,
                ))
                .filter(t::state.eq_any(states))
                .into_boxed();
            q = within!(q, t::organisation_path, scope, conn);
            Ok(q.order((t::state_since.asc(), t::id.asc()))
                .limit(limit)
                .load(conn)?)
        }
    };
}

case_records!(applications, ApplicationRow, ApplicationChange,
    closed: ["filed", "rejected", "withdrawn"],
    get: application, open_of: open_application_of, insert: insert_application,
    update: update_application, link: link_application, list: list_applications,
    count: count_applications, matching: applications_matching,
    waiting: waiting_applications);

case_records!(exit_cases, ExitCaseRow, ExitCaseChange,
    closed: ["exited", "cancelled"],
    get: exit_case, open_of: open_exit_case_of, insert: insert_exit_case,
    update: update_exit_case, link: link_exit_case, list: list_exit_cases,
    count: count_exit_cases, matching: exit_cases_matching,
    waiting: waiting_exit_cases);

// ---- notices and objections ----------------------------------------------------------------

pub fn insert_notice(conn: &mut DbConnection, row: &NoticeRow) -> StoreResult<()> {
    diesel::insert_into(public_notices::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A notice by id, whatever the caller's scope: notices are published.
pub fn notice(conn: &mut DbConnection, id: &str) -> StoreResult<NoticeRow> {
    Ok(public_notices::table
        .filter(public_notices::id.eq(id))
        .select(NoticeRow::as_select())
        .first(conn)?)
}

pub fn set_notice_status(conn: &mut DbConnection, id: &str, status: &str) -> StoreResult<()> {
    diesel::update(public_notices::table.filter(public_notices::id.eq(id)))
        .set(public_notices::status.eq(status))
        .execute(conn)?;
    Ok(())
}

/// Notices in scope, newest first by start; `running_on` keeps those running that day.
pub fn list_notices(
    conn: &mut DbConnection,
    scope: &Scope,
    running_on: Option<NaiveDate>,
    page: &PageRequest,
) -> StoreResult<Page<NoticeRow>> {
    use public_notices::dsl as n;
    let mut q = notices_matching(conn, scope, running_on).select(NoticeRow::as_select());
    if let Some(after) = &page.after {
        q = q.filter(n::id.gt(after.clone()));
    }
    let rows = q.order(n::id.asc()).limit(page.fetch_limit()).load(conn)?;
    Ok(page.finish(rows, |r| &r.id))
}

/// How many notices in scope there are (running on `running_on`, when given).
pub fn count_notices(
    conn: &mut DbConnection,
    scope: &Scope,
    running_on: Option<NaiveDate>,
) -> StoreResult<u64> {
    let n: i64 = notices_matching(conn, scope, running_on)
        .count()
        .get_result(conn)?;
    Ok(n.max(0) as u64)
}

/// The notices in scope (running on `running_on`, when given), not yet selected or paged.
fn notices_matching(
    conn: &mut DbConnection,
    scope: &Scope,
    running_on: Option<NaiveDate>,
) -> public_notices::BoxedQuery<'static, Backend> {
    use public_notices::dsl as n;
    let mut q = n::public_notices.into_boxed();
    q = within!(q, n::organisation_path, scope, conn);
    if let Some(d) = running_on {
        q = q
            .filter(n::status.eq("running"))
            .filter(n::starts_on.le(d))
            .filter(n::ends_on.ge(d));
    }
    q
}

pub fn insert_objection(conn: &mut DbConnection, row: &ObjectionRow) -> StoreResult<()> {
    diesel::insert_into(objections::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The objections to a notice, oldest first, a page at a time.
pub fn objections_of(
    conn: &mut DbConnection,
    notice_id: &str,
    page: &PageRequest,
) -> StoreResult<Page<ObjectionRow>> {
    let mut q = objections::table
        .filter(objections::notice_id.eq(notice_id))
        .select(ObjectionRow::as_select())
        .into_boxed();
    if let Some(after) = &page.after {
        q = q.filter(objections::id.gt(after.clone()));
    }
    // Ids are time-ordered: id order is the order they were raised in.
    let rows = q
        .order(objections::id.asc())
        .limit(page.fetch_limit())
        .load(conn)?;
    Ok(page.finish(rows, |r| &r.id))
}

/// How many objections a notice has.
pub fn count_objections(conn: &mut DbConnection, notice_id: &str) -> StoreResult<u64> {
    let n: i64 = objections::table
        .filter(objections::notice_id.eq(notice_id))
        .count()
        .get_result(conn)?;
    Ok(n.max(0) as u64)
}

pub fn open_objections(conn: &mut DbConnection, notice_id: &str) -> StoreResult<i64> {
    Ok(objections::table
        .filter(objections::notice_id.eq(notice_id))
        .filter(objections::status.eq("open"))
        .count()
        .get_result(conn)?)
}

pub fn objection(conn: &mut DbConnection, id: &str) -> StoreResult<ObjectionRow> {
    Ok(objections::table
        .filter(objections::id.eq(id))
        .select(ObjectionRow::as_select())
        .first(conn)?)
}

/// Resolves an open objection; `Ok(false)` when it was no longer open (someone else resolved it).
pub fn resolve_objection(
    conn: &mut DbConnection,
    id: &str,
    status: &str,
    resolution: &str,
    by: &str,
    at: NaiveDateTime,
) -> StoreResult<bool> {
    use objections::dsl as o;
    let n = diesel::update(o::objections.filter(o::id.eq(id).and(o::status.eq("open"))))
        .set((
            o::status.eq(status),
            o::resolution.eq(resolution),
            o::resolved_by.eq(by),
            o::resolved_at.eq(at),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

// ---- timeline ------------------------------------------------------------------------------

pub fn record(conn: &mut DbConnection, event: &EventRow) -> StoreResult<()> {
    diesel::insert_into(workflow_events::table)
        .values(event)
        .execute(conn)?;
    Ok(())
}

/// The timeline of one case, oldest first.
pub fn timeline(conn: &mut DbConnection, subject_id: &str) -> StoreResult<Vec<EventRow>> {
    Ok(workflow_events::table
        .filter(workflow_events::subject_id.eq(subject_id))
        .order((workflow_events::at.asc(), workflow_events::id.asc()))
        .select(EventRow::as_select())
        .load(conn)?)
}

/// Every workflow event of a household, oldest first.
pub fn household_timeline(
    conn: &mut DbConnection,
    household_id: &str,
) -> StoreResult<Vec<EventRow>> {
    Ok(workflow_events::table
        .filter(workflow_events::household_id.eq(household_id))
        .order((workflow_events::at.asc(), workflow_events::id.asc()))
        .select(EventRow::as_select())
        .load(conn)?)
}

// ---- file numbers and lifecycle ------------------------------------------------------------

/// The next sequence number of files in `region` and `year`. The update takes the row's lock
/// (PostgreSQL) or runs under the write lock (SQLite), so two filings never share a number.
pub fn next_file_sequence(conn: &mut DbConnection, region: &str, year: i32) -> StoreResult<i64> {
    use file_sequences::dsl as f;
    let year = i64::from(year);
    // Insert-if-absent first, so that two first filings of a region and year never collide;
    // then the increment, which holds the row until the transaction ends.
    crate::on_backend!(conn, |c| diesel::insert_into(f::file_sequences)
        .values((
            f::region_code.eq(region),
            f::year.eq(year),
            f::last_value.eq(0),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    let key = f::file_sequences.filter(f::region_code.eq(region).and(f::year.eq(year)));
    diesel::update(key)
        .set(f::last_value.eq(f::last_value + 1))
        .execute(conn)?;
    Ok(key.select(f::last_value).first(conn)?)
}

pub fn lifecycle(conn: &mut DbConnection, household_id: &str) -> StoreResult<Option<LifecycleRow>> {
    Ok(household_lifecycle::table
        .filter(household_lifecycle::household_id.eq(household_id))
        .select(LifecycleRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn save_lifecycle(conn: &mut DbConnection, row: &LifecycleRow) -> StoreResult<()> {
    let n = diesel::update(
        household_lifecycle::table.filter(household_lifecycle::household_id.eq(&row.household_id)),
    )
    .set(row)
    .execute(conn)?;
    if n == 0 {
        diesel::insert_into(household_lifecycle::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

// ---- annual reviews ------------------------------------------------------------------------

pub fn insert_review(conn: &mut DbConnection, row: &ReviewRow) -> StoreResult<()> {
    diesel::insert_into(annual_reviews::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn reviews_of(conn: &mut DbConnection, household_id: &str) -> StoreResult<Vec<ReviewRow>> {
    Ok(annual_reviews::table
        .filter(annual_reviews::household_id.eq(household_id))
        .order((
            annual_reviews::reviewed_on.desc(),
            annual_reviews::id.desc(),
        ))
        .select(ReviewRow::as_select())
        .load(conn)?)
}

/// A filed household whose review falls due on or before a date.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct DueReview {
    pub household_id: String,
    pub file_number: Option<String>,
    pub worker_name: String,
    pub organisation_id: String,
    pub organisation_name: String,
    pub category: Option<String>,
    pub due_on: NaiveDate,
}

/// Households in scope with their life after filing, each dated by `$date` (a lifecycle column
/// the caller filters to non-null): the rows of a `DueReview`.
macro_rules! dated_households {
    ($conn:expr, $scope:expr, $date:expr) => {{
        use household_lifecycle::dsl as l;
        use households::dsl as h;
        let q = l::household_lifecycle
            .inner_join(h::households)
            .inner_join(organisations::table.on(organisations::id.eq(h::organisation_id)))
            .select((
                h::id,
                h::file_number,
                h::worker_name,
                h::organisation_id,
                organisations::name,
                h::category,
                $date.assume_not_null(),
            ))
            .into_boxed();
        within!(q, h::organisation_path, $scope, $conn)
    }};
}

/// Filed households in scope whose next review is due on or before `until`, earliest due first,
/// resumed after `(due_on, household_id)`.
pub fn reviews_due(
    conn: &mut DbConnection,
    scope: &Scope,
    until: NaiveDate,
    after: Option<(NaiveDate, String)>,
    limit: i64,
) -> StoreResult<Vec<DueReview>> {
    use household_lifecycle::dsl as l;
    // Only filed households have a review date (exit clears it), so the lifecycle row alone
    // decides: the query walks the (due, household) index instead of every filed household.
    let mut q =
        dated_households!(conn, scope, l::next_review_due).filter(l::next_review_due.le(until));
    if let Some((due, id)) = after {
        q = q.filter(
            l::next_review_due
                .gt(due)
                .or(l::next_review_due.eq(due).and(l::household_id.gt(id))),
        );
    }
    // Ordered as the (due, household) index is, so that a page is an index range, never a sort.
    Ok(q.order((l::next_review_due.asc(), l::household_id.asc()))
        .limit(limit)
        .load(conn)?)
}

/// How many filed households in scope have their next review due on or before `until`.
pub fn count_reviews_due(
    conn: &mut DbConnection,
    scope: &Scope,
    until: NaiveDate,
) -> StoreResult<u64> {
    use household_lifecycle::dsl as l;
    let n: i64 = dated_households!(conn, scope, l::next_review_due)
        .filter(l::next_review_due.le(until))
        .count()
        .get_result(conn)?;
    Ok(n.max(0) as u64)
}

/// Monitored households in scope whose monitoring period ended before `today`.
pub fn monitoring_over(
    conn: &mut DbConnection,
    scope: &Scope,
    today: NaiveDate,
    limit: i64,
) -> StoreResult<Vec<DueReview>> {
    use household_lifecycle::dsl as l;
    // Monitored households are those with a monitoring period and no closing date (filing again
    // clears the period): decided on the lifecycle row, read in index order.
    let q = dated_households!(conn, scope, l::monitoring_until)
        .filter(l::monitoring_until.lt(today))
        .filter(l::closed_on.is_null());
    Ok(q.order((l::monitoring_until.asc(), l::household_id.asc()))
        .limit(limit)
        .load(conn)?)
}

// ---- work queue ----------------------------------------------------------------------------

/// Open objections in scope on notices about `subject_kind`, oldest first, with what a work
/// queue shows of the household: one query, notice, household and union joined by key.
pub fn waiting_objections(
    conn: &mut DbConnection,
    scope: &Scope,
    subject_kind: &str,
    limit: i64,
) -> StoreResult<Vec<Waiting>> {
    use objections::dsl as o;
    use public_notices::dsl as n;
    let mut q = o::objections
        .inner_join(n::public_notices.on(n::id.eq(o::notice_id)))
        .inner_join(households::table.on(households::id.eq(n::household_id)))
        .inner_join(organisations::table.on(organisations::id.eq(households::organisation_id)))
        .select((
            o::id,
            n::household_id,
            o::status,
            o::created_at,
            o::notice_id.nullable(),
            households::worker_name,
            households::file_number,
            households::organisation_id,
            organisations::name,
        ))
        .filter(o::status.eq("open"))
        .filter(o::subject_kind.eq(subject_kind.to_owned()))
        .into_boxed();
    q = within!(q, o::organisation_path, scope, conn);
    Ok(q.order((o::created_at.asc(), o::id.asc()))
        .limit(limit)
        .load(conn)?)
}

// ---- calendar ------------------------------------------------------------------------------

pub fn calendar_between(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<CalendarDayRow>> {
    Ok(calendar_days::table
        .filter(calendar_days::day.between(from, to))
        .order(calendar_days::day.asc())
        .select(CalendarDayRow::as_select())
        .load(conn)?)
}

/// The calendar exceptions from `from` for a year: enough to count any notice.
pub fn calendar_from(conn: &mut DbConnection, from: NaiveDate) -> StoreResult<Calendar> {
    calendar_span(conn, from, from + chrono::TimeDelta::days(400))
}

/// The calendar exceptions from `from` to `to`, inclusive.
pub fn calendar_span(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Calendar> {
    let rows = calendar_between(conn, from, to)?;
    Ok(Calendar {
        days: rows
            .into_iter()
            .filter_map(|r| DayKind::from_code(&r.kind).map(|k| (r.day, k)))
            .collect(),
    })
}

/// Sets a day's kind (holiday or working day), audited as `calendar.set`.
pub fn set_calendar_day(
    conn: &mut DbConnection,
    caller: &Caller,
    row: &CalendarDayRow,
) -> StoreResult<()> {
    use calendar_days::dsl as d;
    let n = diesel::update(d::calendar_days.filter(d::day.eq(row.day)))
        .set((
            d::kind.eq(&row.kind),
            d::name.eq(&row.name),
            d::updated_by.eq(&row.updated_by),
            d::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(d::calendar_days)
            .values(row)
            .execute(conn)?;
    }
    let changes = serde_json::json!({"kind": row.kind, "name": row.name});
    let event = caller.event(
        "calendar.set",
        "calendar_day",
        &row.day.to_string(),
        changes,
    );
    crate::audit::append(conn, event)?;
    Ok(())
}

/// Clears a day: it follows its weekday again. `NotFound` when it was not set. Audited as
/// `calendar.clear`.
pub fn clear_calendar_day(
    conn: &mut DbConnection,
    caller: &Caller,
    day: NaiveDate,
) -> StoreResult<()> {
    let n =
        diesel::delete(calendar_days::table.filter(calendar_days::day.eq(day))).execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    let event = caller.event(
        "calendar.clear",
        "calendar_day",
        &day.to_string(),
        serde_json::json!({}),
    );
    crate::audit::append(conn, event)?;
    Ok(())
}

/// Inserts lifecycle rows in batches (demo data, imports of files made before this system).
pub fn bulk_lifecycle(conn: &mut DbConnection, rows: &[LifecycleRow]) -> StoreResult<()> {
    // Nine columns a row: stay under SQLite's limit of bound parameters.
    crate::on_backend!(conn, |c| {
        for b in rows.chunks(3000) {
            diesel::insert_into(household_lifecycle::table)
                .values(b)
                .execute(c)?;
        }
        Ok::<(), diesel::result::Error>(())
    })?;
    Ok(())
}

/// Makes the next file number of `region` and `year` follow `last` at least (after importing
/// files numbered outside the workflow).
pub fn reserve_file_numbers(
    conn: &mut DbConnection,
    region: &str,
    year: i32,
    last: i64,
) -> StoreResult<()> {
    use file_sequences::dsl as f;
    let year = i64::from(year);
    let key = f::file_sequences.filter(f::region_code.eq(region).and(f::year.eq(year)));
    let current: Option<i64> = key.select(f::last_value).first(conn).optional()?;
    match current {
        Some(v) if v >= last => {}
        Some(_) => {
            diesel::update(key)
                .set(f::last_value.eq(last))
                .execute(conn)?;
        }
        None => {
            diesel::insert_into(f::file_sequences)
                .values((
                    f::region_code.eq(region),
                    f::year.eq(year),
                    f::last_value.eq(last),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}
