//! The rows of a batch as the bulk writers bind them: borrowed from the store's row types, with
//! `None` written as NULL (the derive's default, DEFAULT, would make SQLite insert row by row and
//! is not allowed by COPY). Each conversion names every field of its row type, so that a column
//! added to a row type cannot be left out here.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sqlite::Sqlite;
use std::marker::PhantomData;

use crate::households::{ExpenditureRow, HouseholdRow, IncomeRow, MemberRow};
use crate::rules::digest::DigestRow;
use crate::schema::{
    active_persons, expenditures, household_digests, household_lifecycle, household_members,
    households, income_records,
};
use crate::stamp::Stamp;
use crate::workflows::LifecycleRow;

#[derive(Insertable)]
#[diesel(table_name = households, treat_none_as_default_value = false)]
pub(super) struct HouseholdIn<'a> {
    id: &'a str,
    file_number: Option<&'a str>,
    organisation_id: &'a str,
    organisation_path: &'a str,
    region_code: &'a str,
    address: &'a str,
    enterprise_id: Option<&'a str>,
    worker_name: &'a str,
    housing_type: &'a str,
    housing_area_dm2: Option<i64>,
    bank_name: Option<&'a str>,
    bank_account_enc: Option<&'a str>,
    bank_account_masked: Option<&'a str>,
    main_cause: i64,
    secondary_causes: &'a str,
    single_parent: bool,
    disability_household: bool,
    zero_employment: bool,
    homes_count: i64,
    homes_area_dm2: i64,
    vehicles_count: i64,
    vehicle_disability_exempt: bool,
    controlling_shareholder: bool,
    high_fee_schooling: bool,
    refuses_cooperation: bool,
    category: Option<&'a str>,
    status: &'a str,
    members_count: i64,
    version: i64,
    created_at: Stamp,
    updated_at: Stamp,
    resolved_causes: &'a str,
    legal_dispute: bool,
}

impl<'a> From<&'a HouseholdRow> for HouseholdIn<'a> {
    fn from(row: &'a HouseholdRow) -> Self {
        let HouseholdRow {
            id,
            file_number,
            organisation_id,
            organisation_path,
            region_code,
            address,
            enterprise_id,
            worker_name,
            housing_type,
            housing_area_dm2,
            bank_name,
            bank_account_enc,
            bank_account_masked,
            main_cause,
            secondary_causes,
            single_parent,
            disability_household,
            zero_employment,
            homes_count,
            homes_area_dm2,
            vehicles_count,
            vehicle_disability_exempt,
            controlling_shareholder,
            high_fee_schooling,
            refuses_cooperation,
            category,
            status,
            members_count,
            version,
            created_at,
            updated_at,
            resolved_causes,
            legal_dispute,
        } = row;
        HouseholdIn {
            id,
            file_number: file_number.as_deref(),
            organisation_id,
            organisation_path,
            region_code,
            address,
            enterprise_id: enterprise_id.as_deref(),
            worker_name,
            housing_type,
            housing_area_dm2: *housing_area_dm2,
            bank_name: bank_name.as_deref(),
            bank_account_enc: bank_account_enc.as_deref(),
            bank_account_masked: bank_account_masked.as_deref(),
            main_cause: *main_cause,
            secondary_causes,
            single_parent: *single_parent,
            disability_household: *disability_household,
            zero_employment: *zero_employment,
            homes_count: *homes_count,
            homes_area_dm2: *homes_area_dm2,
            vehicles_count: *vehicles_count,
            vehicle_disability_exempt: *vehicle_disability_exempt,
            controlling_shareholder: *controlling_shareholder,
            high_fee_schooling: *high_fee_schooling,
            refuses_cooperation: *refuses_cooperation,
            category: category.as_deref(),
            status,
            members_count: *members_count,
            version: *version,
            created_at: Stamp(*created_at),
            updated_at: Stamp(*updated_at),
            resolved_causes,
            legal_dispute: *legal_dispute,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = household_members, treat_none_as_default_value = false)]
pub(super) struct MemberIn<'a> {
    id: &'a str,
    household_id: &'a str,
    position: i64,
    relation: &'a str,
    name: &'a str,
    national_id_enc: &'a str,
    national_id_index: &'a str,
    national_id_masked: &'a str,
    sex: &'a str,
    birth_date: NaiveDate,
    health_enc: Option<&'a str>,
    work_status: &'a str,
    schooling_level: Option<&'a str>,
    school: Option<&'a str>,
    school_year: Option<i64>,
    included: bool,
    exclusion_reason: Option<&'a str>,
    created_at: Stamp,
    updated_at: Stamp,
    business_plan: bool,
    residents_pension: bool,
    laid_off: bool,
}

impl<'a> From<&'a MemberRow> for MemberIn<'a> {
    fn from(row: &'a MemberRow) -> Self {
        let MemberRow {
            id,
            household_id,
            position,
            relation,
            name,
            national_id_enc,
            national_id_index,
            national_id_masked,
            sex,
            birth_date,
            health_enc,
            work_status,
            schooling_level,
            school,
            school_year,
            included,
            exclusion_reason,
            created_at,
            updated_at,
            business_plan,
            residents_pension,
            laid_off,
        } = row;
        MemberIn {
            id,
            household_id,
            position: *position,
            relation,
            name,
            national_id_enc,
            national_id_index,
            national_id_masked,
            sex,
            birth_date: *birth_date,
            health_enc: health_enc.as_deref(),
            work_status,
            schooling_level: schooling_level.as_deref(),
            school: school.as_deref(),
            school_year: *school_year,
            included: *included,
            exclusion_reason: exclusion_reason.as_deref(),
            created_at: Stamp(*created_at),
            updated_at: Stamp(*updated_at),
            business_plan: *business_plan,
            residents_pension: *residents_pension,
            laid_off: *laid_off,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = income_records, treat_none_as_default_value = false)]
pub(super) struct IncomeIn<'a> {
    id: &'a str,
    household_id: &'a str,
    member_id: Option<&'a str>,
    month: i64,
    kind: &'a str,
    source: &'a str,
    amount_fen: i64,
    verified: bool,
    note: Option<&'a str>,
    created_at: Stamp,
    updated_at: Stamp,
}

impl<'a> From<&'a IncomeRow> for IncomeIn<'a> {
    fn from(row: &'a IncomeRow) -> Self {
        let IncomeRow {
            id,
            household_id,
            member_id,
            month,
            kind,
            source,
            amount_fen,
            verified,
            note,
            created_at,
            updated_at,
        } = row;
        IncomeIn {
            id,
            household_id,
            member_id: member_id.as_deref(),
            month: *month,
            kind,
            source,
            amount_fen: *amount_fen,
            verified: *verified,
            note: note.as_deref(),
            created_at: Stamp(*created_at),
            updated_at: Stamp(*updated_at),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = expenditures, treat_none_as_default_value = false)]
pub(super) struct ExpenditureIn<'a> {
    id: &'a str,
    household_id: &'a str,
    member_id: Option<&'a str>,
    kind: &'a str,
    amount_fen: i64,
    start_month: i64,
    end_month: i64,
    description: Option<&'a str>,
    evidence: Option<&'a str>,
    verified: bool,
    created_at: Stamp,
    updated_at: Stamp,
}

impl<'a> From<&'a ExpenditureRow> for ExpenditureIn<'a> {
    fn from(row: &'a ExpenditureRow) -> Self {
        let ExpenditureRow {
            id,
            household_id,
            member_id,
            kind,
            amount_fen,
            start_month,
            end_month,
            description,
            evidence,
            verified,
            created_at,
            updated_at,
        } = row;
        ExpenditureIn {
            id,
            household_id,
            member_id: member_id.as_deref(),
            kind,
            amount_fen: *amount_fen,
            start_month: *start_month,
            end_month: *end_month,
            description: description.as_deref(),
            evidence: evidence.as_deref(),
            verified: *verified,
            created_at: Stamp(*created_at),
            updated_at: Stamp(*updated_at),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = household_lifecycle, treat_none_as_default_value = false)]
pub(super) struct LifecycleIn<'a> {
    household_id: &'a str,
    filed_on: Option<NaiveDate>,
    next_review_due: Option<NaiveDate>,
    exited_on: Option<NaiveDate>,
    exit_grounds: Option<&'a str>,
    monitoring_until: Option<NaiveDate>,
    closed_on: Option<NaiveDate>,
    previous_file_number: Option<&'a str>,
    updated_at: Stamp,
}

impl<'a> From<&'a LifecycleRow> for LifecycleIn<'a> {
    fn from(row: &'a LifecycleRow) -> Self {
        let LifecycleRow {
            household_id,
            filed_on,
            next_review_due,
            exited_on,
            exit_grounds,
            monitoring_until,
            closed_on,
            previous_file_number,
            updated_at,
        } = row;
        LifecycleIn {
            household_id,
            filed_on: *filed_on,
            next_review_due: *next_review_due,
            exited_on: *exited_on,
            exit_grounds: exit_grounds.as_deref(),
            monitoring_until: *monitoring_until,
            closed_on: *closed_on,
            previous_file_number: previous_file_number.as_deref(),
            updated_at: Stamp(*updated_at),
        }
    }
}
#[derive(Insertable)]
#[diesel(table_name = active_persons, treat_none_as_default_value = false)]
pub(super) struct ActivePersonIn<'a> {
    national_id_index: &'a str,
    household_id: &'a str,
    member_id: &'a str,
}

impl<'a> From<&'a MemberRow> for ActivePersonIn<'a> {
    fn from(m: &'a MemberRow) -> Self {
        ActivePersonIn {
            national_id_index: &m.national_id_index,
            household_id: &m.household_id,
            member_id: &m.id,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = household_digests, treat_none_as_default_value = false)]
pub(super) struct DigestIn<'a> {
    household_id: &'a str,
    body: &'a str,
    health_enc: Option<&'a str>,
}

impl<'a> From<&'a DigestRow> for DigestIn<'a> {
    fn from(row: &'a DigestRow) -> Self {
        let DigestRow {
            household_id,
            body,
            health_enc,
        } = row;
        DigestIn {
            household_id,
            body,
            health_enc: health_enc.as_deref(),
        }
    }
}

/// Inserts `$rows` into `$table`, `$n` rows a statement (see [`InsertRows`]), each statement
/// followed by the clause `$tail` ([`Tail`]).
macro_rules! insert_rows {
    ($conn:expr, $table:path, $rows:expr, $n:literal) => {
        insert_rows!($conn, $table, $rows, $n, NoTail)
    };
    ($conn:expr, $table:path, $rows:expr, $n:literal, $tail:ty) => {{
        for chunk in $rows.chunks($n) {
            let mut values = chunk.iter().map(Insertable::<_>::values);
            let first = values.next().expect("a chunk has rows");
            // The other rows' values without their column names.
            let rest = values.map(|row| row.values).collect();
            if chunk.len() == $n {
                InsertRows::<_, _, _, Kept<($table, [(); $n], $tail)>, $tail>::new(
                    $table.from_clause(),
                    first,
                    rest,
                )
                .execute($conn)?;
            } else {
                InsertRows::<_, _, _, Dropped, $tail>::new($table.from_clause(), first, rest)
                    .execute($conn)?;
            }
        }
    }};
}

/// One multi-row `INSERT` on SQLite: the first row's `(columns) VALUES (values)`, then the values
/// of the others. Diesel's own insert of a slice of rows is prepared anew for every statement,
/// and parsing a statement of thousands of parameters was a seventh of a load's work. This one is
/// kept by the connection when it is a table's full statement (`Keeping` is [`Kept`]), found
/// again by its type alone, without writing its text out again; a batch's shorter last statement
/// ([`Dropped`]) is prepared for its own length and not kept.
///
/// It is an `INSERT OR FAIL`: a row that breaks a constraint stops the statement without undoing
/// the rows before it. With SQLite's default (`ABORT`), every multi-row statement keeps a journal
/// of the pages it changes, so that it alone can be undone; here a failed statement fails its
/// whole transaction ([`super::write_batch`]) or load ([`super::Load`]), which rolls back. (With
/// the foreign keys on, SQLite keeps that journal all the same.)
struct InsertRows<Into, First, Values, Keeping, T> {
    into: Into,
    first: First,
    rest: Vec<Values>,
    keeping: PhantomData<(Keeping, T)>,
}

impl<Into, First, Values, K, T> InsertRows<Into, First, Values, K, T> {
    fn new(into: Into, first: First, rest: Vec<Values>) -> Self {
        InsertRows {
            into,
            first,
            rest,
            keeping: PhantomData,
        }
    }
}

/// Whether the connection keeps a statement, and under which type.
trait Keeping: 'static {
    const KEPT: bool;
}

/// Kept under the type `Id`: the table, the number of rows and the tail, which determine the
/// statement's text.
struct Kept<Id>(PhantomData<Id>);

impl<Id: 'static> Keeping for Kept<Id> {
    const KEPT: bool = true;
}

/// Prepared for one use.
struct Dropped;

impl Keeping for Dropped {
    const KEPT: bool = false;
}

/// A clause after the rows: an upsert's, or none.
trait Tail: 'static {
    const SQL: &'static str;
}

struct NoTail;

impl Tail for NoTail {
    const SQL: &'static str = "";
}

/// A digest written over the one stored for its household.
struct DigestUpsert;

impl Tail for DigestUpsert {
    const SQL: &'static str = " ON CONFLICT (household_id) DO UPDATE \
        SET body = excluded.body, health_enc = excluded.health_enc";
}

impl<Into, First, Values, K: Keeping, T: Tail> QueryId for InsertRows<Into, First, Values, K, T> {
    type QueryId = K;
    const HAS_STATIC_QUERY_ID: bool = K::KEPT;
}

impl<Into, First, Values, K: Keeping, T: Tail> QueryFragment<Sqlite>
    for InsertRows<Into, First, Values, K, T>
where
    Into: QueryFragment<Sqlite>,
    First: QueryFragment<Sqlite>,
    Values: QueryFragment<Sqlite>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        if !K::KEPT {
            out.unsafe_to_cache_prepared();
        }
        out.push_sql("INSERT OR FAIL INTO ");
        self.into.walk_ast(out.reborrow())?;
        out.push_sql(" ");
        self.first.walk_ast(out.reborrow())?;
        for row in &self.rest {
            out.push_sql(", (");
            row.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        out.push_sql(T::SQL);
        Ok(())
    }
}

impl<Into, First, Values, K, T> RunQueryDsl<SqliteConnection>
    for InsertRows<Into, First, Values, K, T>
{
}

/// Multi-row `INSERT`s, parents before children. Rows a statement times columns stay far below
/// SQLite's limit of 32,766 bound parameters.
pub(super) fn insert_sqlite(
    conn: &mut SqliteConnection,
    households_in: &[HouseholdIn<'_>],
    members: &[MemberIn<'_>],
    persons: &[ActivePersonIn<'_>],
    incomes: &[IncomeIn<'_>],
    expenditures_in: &[ExpenditureIn<'_>],
    lifecycle: &[LifecycleIn<'_>],
) -> QueryResult<()> {
    insert_rows!(conn, households::table, households_in, 400);
    insert_rows!(conn, household_members::table, members, 600);
    insert_rows!(conn, active_persons::table, persons, 2000);
    insert_rows!(conn, income_records::table, incomes, 1000);
    insert_rows!(conn, expenditures::table, expenditures_in, 1000);
    insert_rows!(conn, household_lifecycle::table, lifecycle, 1000);
    Ok(())
}

/// Writes digests over those stored for their households, or as their first: multi-row upserts
/// of 1,000 rows a statement.
pub(super) fn upsert_digests_sqlite(
    conn: &mut SqliteConnection,
    digests: &[DigestIn<'_>],
) -> QueryResult<()> {
    insert_rows!(conn, household_digests::table, digests, 1000, DigestUpsert);
    Ok(())
}
