//! The household file: a household, its members, their monthly income and the household's rigid
//! expenditure. The household is the aggregate: every change to it or to anything in it checks and
//! bumps the household's version, inside one transaction.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::household::Relation;

use crate::crypto::FieldCipher;
use crate::error::{StoreError, StoreResult};
use crate::page::{Page, PageRequest};
use crate::schema::{
    active_persons, expenditures, household_members, households, income_records, organisations,
};
use crate::scope::Scope;
use crate::DbConnection;

mod file;
mod list;
mod members;
mod money;

pub use self::file::*;
pub use self::list::*;
pub use self::members::*;
pub use self::money::*;

/// Income records one file keeps at most: 30 members × 12 kinds × 12 months is 4,320, so a year
/// of every kind for every member fits; with amounts of at most 10^11 fen, every sum the rules make
/// stays far inside 64-bit integers.
pub const MAX_INCOME_RECORDS: i64 = 5_000;
/// Rigid expenditure items one file keeps at most.
pub const MAX_EXPENDITURE_ITEMS: i64 = 1_000;

/// Blind-index kind for identity numbers.
pub const ID_INDEX: &str = "national_id";

#[derive(
    Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Insertable,
)]
#[diesel(table_name = households, treat_none_as_default_value = false)]
pub struct HouseholdRow {
    pub id: String,
    pub file_number: Option<String>,
    pub organisation_id: String,
    pub organisation_path: String,
    pub region_code: String,
    pub address: String,
    pub enterprise_id: Option<String>,
    pub worker_name: String,
    pub housing_type: String,
    pub housing_area_dm2: Option<i64>,
    pub bank_name: Option<String>,
    pub bank_account_enc: Option<String>,
    pub bank_account_masked: Option<String>,
    pub main_cause: i64,
    pub secondary_causes: String,
    pub single_parent: bool,
    pub disability_household: bool,
    pub zero_employment: bool,
    pub homes_count: i64,
    pub homes_area_dm2: i64,
    pub vehicles_count: i64,
    pub vehicle_disability_exempt: bool,
    pub controlling_shareholder: bool,
    pub high_fee_schooling: bool,
    pub refuses_cooperation: bool,
    pub category: Option<String>,
    pub status: String,
    pub members_count: i64,
    pub version: i64,
    #[diesel(deserialize_as = crate::stamp::Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::stamp::Stamp)]
    pub updated_at: NaiveDateTime,
    /// Causes marked resolved, comma-separated.
    pub resolved_causes: String,
    /// A legal dispute of the household is on file (for legal aid).
    pub legal_dispute: bool,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = household_members, treat_none_as_default_value = false)]
pub struct MemberRow {
    pub id: String,
    pub household_id: String,
    pub position: i64,
    pub relation: String,
    pub name: String,
    pub national_id_enc: String,
    pub national_id_index: String,
    pub national_id_masked: String,
    pub sex: String,
    #[diesel(deserialize_as = crate::stamp::Day)]
    pub birth_date: NaiveDate,
    pub health_enc: Option<String>,
    pub work_status: String,
    pub schooling_level: Option<String>,
    pub school: Option<String>,
    pub school_year: Option<i64>,
    pub included: bool,
    pub exclusion_reason: Option<String>,
    #[diesel(deserialize_as = crate::stamp::Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::stamp::Stamp)]
    pub updated_at: NaiveDateTime,
    /// Has a business plan and wants to start a business.
    pub business_plan: bool,
    /// Pays urban-rural residents' basic pension contributions.
    pub residents_pension: bool,
    /// Laid off by an enterprise.
    pub laid_off: bool,
}

/// A member as a masked read shows it: the stored row without the encrypted identity number, its
/// search index and the encrypted health, which only a read that reveals them needs.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = household_members)]
pub struct ListedMember {
    pub id: String,
    pub position: i64,
    pub relation: String,
    pub name: String,
    pub national_id_masked: String,
    pub sex: String,
    #[diesel(deserialize_as = crate::stamp::Day)]
    pub birth_date: NaiveDate,
    pub work_status: String,
    pub schooling_level: Option<String>,
    pub school: Option<String>,
    pub school_year: Option<i64>,
    pub included: bool,
    pub exclusion_reason: Option<String>,
    pub business_plan: bool,
    pub residents_pension: bool,
    pub laid_off: bool,
}

impl From<MemberRow> for ListedMember {
    fn from(m: MemberRow) -> ListedMember {
        ListedMember {
            id: m.id,
            position: m.position,
            relation: m.relation,
            name: m.name,
            national_id_masked: m.national_id_masked,
            sex: m.sex,
            birth_date: m.birth_date,
            work_status: m.work_status,
            schooling_level: m.schooling_level,
            school: m.school,
            school_year: m.school_year,
            included: m.included,
            exclusion_reason: m.exclusion_reason,
            business_plan: m.business_plan,
            residents_pension: m.residents_pension,
            laid_off: m.laid_off,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = income_records, treat_none_as_default_value = false)]
pub struct IncomeRow {
    pub id: String,
    pub household_id: String,
    pub member_id: Option<String>,
    pub month: i64,
    pub kind: String,
    pub source: String,
    pub amount_fen: i64,
    pub verified: bool,
    pub note: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = expenditures, treat_none_as_default_value = false)]
pub struct ExpenditureRow {
    pub id: String,
    pub household_id: String,
    pub member_id: Option<String>,
    pub kind: String,
    pub amount_fen: i64,
    pub start_month: i64,
    pub end_month: i64,
    pub description: Option<String>,
    pub evidence: Option<String>,
    pub verified: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = active_persons, treat_none_as_default_value = false)]
struct ActivePerson<'a> {
    national_id_index: &'a str,
    household_id: &'a str,
    member_id: &'a str,
}

/// Household fields, parsed; `bank_account` in clear (encrypted here).
#[derive(Debug, Clone)]
pub struct HouseholdInput {
    pub organisation_id: String,
    pub region_code: String,
    pub address: String,
    pub enterprise_id: Option<String>,
    pub housing_type: String,
    pub housing_area_dm2: Option<i64>,
    pub bank_name: Option<String>,
    pub bank_account: Option<String>,
    pub main_cause: i64,
    pub secondary_causes: String,
    pub single_parent: bool,
    pub disability_household: bool,
    pub zero_employment: bool,
    pub homes_count: i64,
    pub homes_area_dm2: i64,
    pub vehicles_count: i64,
    pub vehicle_disability_exempt: bool,
    pub controlling_shareholder: bool,
    pub high_fee_schooling: bool,
    pub refuses_cooperation: bool,
    pub legal_dispute: bool,
}

/// A member, parsed; identity number and health in clear (encrypted here).
#[derive(Debug, Clone)]
pub struct MemberInput {
    pub relation: Relation,
    pub name: String,
    pub national_id: String,
    pub national_id_masked: String,
    pub sex: String,
    pub birth_date: NaiveDate,
    /// JSON of the health details, if any.
    pub health: Option<String>,
    pub work_status: String,
    pub schooling_level: Option<String>,
    pub school: Option<String>,
    pub school_year: Option<i64>,
    pub included: bool,
    pub exclusion_reason: Option<String>,
    pub business_plan: bool,
    pub residents_pension: bool,
    pub laid_off: bool,
}

#[derive(Debug, Clone)]
pub struct IncomeInput {
    pub member_id: Option<String>,
    pub month: i64,
    pub kind: String,
    pub source: String,
    pub amount_fen: i64,
    pub verified: bool,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ExpenditureInput {
    pub member_id: Option<String>,
    pub kind: String,
    pub amount_fen: i64,
    pub start_month: i64,
    pub end_month: i64,
    pub description: Option<String>,
    pub evidence: Option<String>,
    pub verified: bool,
}

/// Why a change to a household file was refused, beyond storage errors.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("no such grassroots union in your scope")]
    UnknownOrganisation,
    #[error("households belong to grassroots unions")]
    NotAGrassrootsUnion,
    #[error("the household's region lies outside its union's region")]
    RegionOutsideUnion,
    #[error("no such enterprise in your scope")]
    UnknownEnterprise,
    #[error("no such member in this household")]
    UnknownMember { index: usize },
    /// The person is already in another active household.
    #[error("member {index} is already in an active household")]
    PersonAlreadyFiled {
        index: usize,
        /// The other household, when the caller may see it.
        existing: Option<String>,
    },
    #[error("the same person appears twice (members {first} and {second})")]
    DuplicatePerson { first: usize, second: usize },
    #[error("a household has exactly one worker")]
    WorkerCount,
    #[error("the period ends before it starts")]
    PeriodReversed,
    /// A file keeps at most so many income records or expenditure items.
    #[error("a household keeps at most {max} of these")]
    TooManyItems { max: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for FileError {
    fn from(e: diesel::result::Error) -> Self {
        FileError::Store(e.into())
    }
}

pub fn member_context(member_id: &str) -> String {
    format!("household_members.national_id:{member_id}")
}

pub fn health_context(member_id: &str) -> String {
    format!("household_members.health:{member_id}")
}

pub fn bank_context(household_id: &str) -> String {
    format!("households.bank_account:{household_id}")
}

fn mask_account(a: &str) -> String {
    jiekun_domain::national_id::mask_account(a)
}

/// A household by id, if inside `scope`. Written without boxing so that the prepared statement
/// is cached: this is the hottest query of the API.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: &str) -> StoreResult<HouseholdRow> {
    let prefix = match scope {
        Scope::All => String::new(),
        Scope::Subtree { path, .. } => path.clone(),
        // Department keys do not read household files.
        Scope::Region(_) => return Err(StoreError::NotFound),
    };
    let by_id = households::table.filter(households::id.eq(id));
    let found = match conn {
        DbConnection::Sqlite(c) => by_id
            .filter(crate::path_starts_with!(
                households::organisation_path,
                prefix
            ))
            .select(HouseholdRow::as_select())
            .first(c),
        DbConnection::Postgres(c) => by_id
            .filter(households::organisation_path.like(format!("{prefix}%")))
            .select(HouseholdRow::as_select())
            .first(c),
    };
    Ok(found?)
}

/// One household and its members in order, in one query (one round trip to PostgreSQL instead of
/// two: a read of one file is the most frequent request of the API), as rows of the types given.
/// The members are put in order here rather than by the database, which would sort the joined rows
/// (a tenth of the statement's time on PostgreSQL for a household of three).
macro_rules! with_members {
    ($conn:expr, $scope:expr, $id:expr, $household:ty, $member:ty) => {{
        let prefix = match $scope {
            Scope::All => String::new(),
            Scope::Subtree { path, .. } => path.clone(),
            Scope::Region(_) => return Err(StoreError::NotFound),
        };
        let q = households::table
            .left_join(household_members::table)
            .filter(households::id.eq($id));
        let rows: Vec<($household, Option<$member>)> = match $conn {
            DbConnection::Sqlite(c) => q
                .filter(crate::path_starts_with!(
                    households::organisation_path,
                    prefix
                ))
                .select((<$household>::as_select(), Option::<$member>::as_select()))
                .load(c),
            DbConnection::Postgres(c) => q
                .filter(households::organisation_path.like(format!("{prefix}%")))
                .select((<$household>::as_select(), Option::<$member>::as_select()))
                .load(c),
        }?;
        let mut rows = rows.into_iter();
        let (household, first) = rows.next().ok_or(StoreError::NotFound)?;
        let mut members: Vec<$member> = first
            .into_iter()
            .chain(rows.filter_map(|(_, m)| m))
            .collect();
        members.sort_unstable_by(|a, b| (a.position, &a.id).cmp(&(b.position, &b.id)));
        Ok((household, members))
    }};
}

/// A household by id, if inside `scope`, with its members in order: the whole rows, for a read
/// that reveals personal data.
pub fn get_with_members(
    conn: &mut DbConnection,
    scope: &Scope,
    id: &str,
) -> StoreResult<(HouseholdRow, Vec<MemberRow>)> {
    with_members!(conn, scope, id, HouseholdRow, MemberRow)
}

/// A household by id, if inside `scope`, with its members in order, as a masked read shows them:
/// without the encrypted columns and the organisation's path, which such a read never shows. Each
/// member's row of the join repeats the household's, so leaving them out leaves out the larger
/// part of what the database sends and the server decodes.
pub fn get_listed_with_members(
    conn: &mut DbConnection,
    scope: &Scope,
    id: &str,
) -> StoreResult<(ListedHousehold, Vec<ListedMember>)> {
    with_members!(conn, scope, id, ListedHousehold, ListedMember)
}

pub fn members(conn: &mut DbConnection, household_id: &str) -> StoreResult<Vec<MemberRow>> {
    let q = household_members::table
        .filter(household_members::household_id.eq(household_id))
        .order(household_members::position.asc());
    Ok(crate::on_backend!(conn, |c| q
        .select(MemberRow::as_select())
        .load(c))?)
}

/// Checks and bumps the household's version: the optimistic lock of every change to the file.
pub fn touch(
    conn: &mut DbConnection,
    scope: &Scope,
    id: &str,
    expected_version: i64,
) -> StoreResult<HouseholdRow> {
    let current = get(conn, scope, id)?;
    let n = diesel::update(
        households::table.filter(
            households::id
                .eq(id)
                .and(households::version.eq(expected_version)),
        ),
    )
    .set((
        households::version.eq(households::version + 1),
        households::updated_at.eq(crate::now()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StoreError::VersionMismatch {
            expected: expected_version,
            actual: current.version,
        });
    }
    get(conn, &Scope::All, id)
}

/// Households in `scope` holding a member with this identity number (by its blind index).
pub fn find_by_national_id(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    scope: &Scope,
    national_id: &str,
) -> StoreResult<Vec<HouseholdRow>> {
    let indexes = cipher.blind_indexes(ID_INDEX, national_id);
    let ids: Vec<String> = household_members::table
        .filter(household_members::national_id_index.eq_any(indexes))
        .select(household_members::household_id)
        .load(conn)?;
    let mut out = Vec::new();
    for id in ids {
        if let Ok(h) = get(conn, scope, &id) {
            out.push(h);
        }
    }
    Ok(out)
}

/// Inserts prepared rows in batches (demo data, imports): one statement per batch on each backend.
pub fn bulk_insert(
    conn: &mut DbConnection,
    households_rows: &[HouseholdRow],
    member_rows: &[MemberRow],
    income_rows: &[IncomeRow],
    expenditure_rows: &[ExpenditureRow],
) -> StoreResult<()> {
    fn batches<T>(rows: &[T], per_row: usize) -> std::slice::Chunks<'_, T> {
        // Stay under SQLite's limit of 32766 bound parameters per statement.
        rows.chunks((30_000 / per_row).max(1))
    }
    macro_rules! insert_all {
        ($c:expr) => {{
            for b in batches(households_rows, 33) {
                diesel::insert_into(households::table)
                    .values(b)
                    .execute($c)?;
            }
            for b in batches(member_rows, 22) {
                diesel::insert_into(household_members::table)
                    .values(b)
                    .execute($c)?;
            }
            let persons: Vec<ActivePerson> = member_rows
                .iter()
                .map(|m| ActivePerson {
                    national_id_index: &m.national_id_index,
                    household_id: &m.household_id,
                    member_id: &m.id,
                })
                .collect();
            for b in batches(&persons, 3) {
                diesel::insert_into(active_persons::table)
                    .values(b)
                    .execute($c)?;
            }
            for b in batches(income_rows, 11) {
                diesel::insert_into(income_records::table)
                    .values(b)
                    .execute($c)?;
            }
            for b in batches(expenditure_rows, 12) {
                diesel::insert_into(expenditures::table)
                    .values(b)
                    .execute($c)?;
            }
        }};
    }
    match conn {
        DbConnection::Sqlite(c) => insert_all!(c),
        DbConnection::Postgres(c) => insert_all!(c),
    }
    Ok(())
}

/// Sets the household's workflow status (and, when given, its category and file number), bumping
/// its version: the household is the aggregate its ETag guards. `at` is the step's time, so that
/// the register's history (which the reports read) dates the change as the timeline does.
pub fn set_status(
    conn: &mut DbConnection,
    id: &str,
    status: &str,
    category: Option<&str>,
    file_number: Option<&str>,
    at: chrono::NaiveDateTime,
) -> StoreResult<HouseholdRow> {
    use households::dsl as h;
    let target = h::households.filter(h::id.eq(id));
    diesel::update(target)
        .set((
            h::status.eq(status),
            h::version.eq(h::version + 1),
            h::updated_at.eq(at),
        ))
        .execute(conn)?;
    if let Some(c) = category {
        diesel::update(target)
            .set(h::category.eq(c))
            .execute(conn)?;
    }
    if let Some(f) = file_number {
        diesel::update(target)
            .set(h::file_number.eq(f))
            .execute(conn)?;
    }
    get(conn, &Scope::All, id)
}

/// Frees the household's members to join another household (after exit, withdrawal or
/// rejection).
pub fn release_persons(conn: &mut DbConnection, household_id: &str) -> StoreResult<usize> {
    Ok(
        diesel::delete(active_persons::table.filter(active_persons::household_id.eq(household_id)))
            .execute(conn)?,
    )
}

/// Claims the household's members again (a household coming back): fails with
/// `PersonAlreadyFiled` when one of them has joined another active household meanwhile.
pub fn reclaim_persons(
    conn: &mut DbConnection,
    scope: &Scope,
    household_id: &str,
) -> Result<(), FileError> {
    let held: i64 = active_persons::table
        .filter(active_persons::household_id.eq(household_id))
        .count()
        .get_result(conn)?;
    if held > 0 {
        return Ok(());
    }
    for (i, m) in members(conn, household_id)?.iter().enumerate() {
        // The stored index only (no key here): during a data-key rotation a person filed
        // elsewhere under the new index meanwhile is found by the rotation, which stops there.
        let stored = [m.national_id_index.clone()];
        claim_person(conn, scope, i, &stored, household_id, &m.id)?;
    }
    Ok(())
}
