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

type Backend = <DbConnection as diesel::Connection>::Backend;
type HouseholdSelection = diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<HouseholdRow, Backend>>;

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
#[diesel(table_name = households)]
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
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Causes marked resolved, comma-separated.
    pub resolved_causes: String,
    /// A legal dispute of the household is on file (for legal aid).
    pub legal_dispute: bool,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = household_members)]
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
    pub birth_date: NaiveDate,
    pub health_enc: Option<String>,
    pub work_status: String,
    pub schooling_level: Option<String>,
    pub school: Option<String>,
    pub school_year: Option<i64>,
    pub included: bool,
    pub exclusion_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Has a business plan and wants to start a business.
    pub business_plan: bool,
    /// Pays urban-rural residents' basic pension contributions.
    pub residents_pension: bool,
    /// Laid off by an enterprise.
    pub laid_off: bool,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = income_records)]
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
#[diesel(table_name = expenditures)]
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
#[diesel(table_name = active_persons)]
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

fn union_of(
    conn: &mut DbConnection,
    scope: &Scope,
    organisation_id: &str,
    region: &str,
) -> Result<String, FileError> {
    let org = crate::organisations::get(conn, scope, organisation_id).map_err(|e| match e {
        StoreError::NotFound => FileError::UnknownOrganisation,
        e => e.into(),
    })?;
    if org.kind != "grassroots_union" {
        return Err(FileError::NotAGrassrootsUnion);
    }
    if !region.starts_with(&org.region_code[..]) {
        return Err(FileError::RegionOutsideUnion);
    }
    Ok(org.path)
}

fn check_enterprise(
    conn: &mut DbConnection,
    scope: &Scope,
    id: &Option<String>,
) -> Result<(), FileError> {
    if let Some(e) = id {
        // Employers are a directory: any enterprise of the caller's region.
        let region_scope = match scope {
            Scope::Subtree { region, .. } => Scope::Region(*region),
            other => other.clone(),
        };
        crate::enterprises::get(conn, &region_scope, e).map_err(|err| match err {
            StoreError::NotFound => FileError::UnknownEnterprise,
            err => err.into(),
        })?;
    }
    Ok(())
}

/// Claims a person for a household; refuses when another active household holds them.
fn claim_person(
    conn: &mut DbConnection,
    scope: &Scope,
    index: usize,
    id_index: &str,
    household_id: &str,
    member_id: &str,
) -> Result<(), FileError> {
    let existing: Option<String> = active_persons::table
        .filter(active_persons::national_id_index.eq(id_index))
        .select(active_persons::household_id)
        .first(conn)
        .optional()?;
    if let Some(other) = existing {
        let visible = get(conn, scope, &other).is_ok();
        return Err(FileError::PersonAlreadyFiled {
            index,
            existing: visible.then_some(other),
        });
    }
    diesel::insert_into(active_persons::table)
        .values(ActivePerson {
            national_id_index: id_index,
            household_id,
            member_id,
        })
        .execute(conn)
        .map_err(|e| match StoreError::from(e) {
            // Another transaction claimed the person between our read and our insert.
            StoreError::Conflict { .. } => FileError::PersonAlreadyFiled {
                index,
                existing: None,
            },
            e => e.into(),
        })?;
    Ok(())
}

fn member_row(
    cipher: &FieldCipher,
    household_id: &str,
    position: i64,
    m: &MemberInput,
) -> MemberRow {
    let id = crate::new_id();
    let now = crate::now();
    MemberRow {
        national_id_enc: cipher.encrypt(&member_context(&id), &m.national_id),
        national_id_index: cipher.blind_index(ID_INDEX, &m.national_id),
        national_id_masked: m.national_id_masked.clone(),
        health_enc: m
            .health
            .as_ref()
            .map(|h| cipher.encrypt(&health_context(&id), h)),
        id,
        household_id: household_id.to_owned(),
        position,
        relation: m.relation.as_str().to_owned(),
        name: m.name.clone(),
        sex: m.sex.clone(),
        birth_date: m.birth_date,
        work_status: m.work_status.clone(),
        schooling_level: m.schooling_level.clone(),
        school: m.school.clone(),
        school_year: m.school_year,
        included: m.included,
        exclusion_reason: m.exclusion_reason.clone(),
        created_at: now,
        updated_at: now,
        business_plan: m.business_plan,
        residents_pension: m.residents_pension,
        laid_off: m.laid_off,
    }
}

/// Files a new household with its members (and, optionally, income and expenditure whose
/// `member_id` is the index of a member in `members`). Call inside [`crate::write`].
#[allow(clippy::too_many_arguments)]
pub fn create(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    scope: &Scope,
    input: &HouseholdInput,
    new_members: &[MemberInput],
    incomes: &[(Option<usize>, IncomeInput)],
    spending: &[(Option<usize>, ExpenditureInput)],
) -> Result<HouseholdRow, FileError> {
    let path = union_of(conn, scope, &input.organisation_id, &input.region_code)?;
    check_enterprise(conn, scope, &input.enterprise_id)?;
    let relations: Vec<Relation> = new_members.iter().map(|m| m.relation).collect();
    jiekun_domain::household::check_members(&relations).map_err(|_| FileError::WorkerCount)?;
    let indexes: Vec<String> = new_members
        .iter()
        .map(|m| cipher.blind_index(ID_INDEX, &m.national_id))
        .collect();
    for (i, a) in indexes.iter().enumerate() {
        if let Some(j) = indexes[..i].iter().position(|b| b == a) {
            return Err(FileError::DuplicatePerson {
                first: j,
                second: i,
            });
        }
    }
    let id = crate::new_id();
    let now = crate::now();
    let worker = new_members
        .iter()
        .find(|m| m.relation == Relation::Worker)
        .map(|m| m.name.clone())
        .unwrap_or_default();
    let row = HouseholdRow {
        id: id.clone(),
        file_number: None,
        organisation_id: input.organisation_id.clone(),
        organisation_path: path,
        region_code: input.region_code.clone(),
        address: input.address.clone(),
        enterprise_id: input.enterprise_id.clone(),
        worker_name: worker,
        housing_type: input.housing_type.clone(),
        housing_area_dm2: input.housing_area_dm2,
        bank_name: input.bank_name.clone(),
        bank_account_enc: input
            .bank_account
            .as_ref()
            .map(|a| cipher.encrypt(&bank_context(&id), a)),
        bank_account_masked: input.bank_account.as_deref().map(mask_account),
        main_cause: input.main_cause,
        secondary_causes: input.secondary_causes.clone(),
        single_parent: input.single_parent,
        disability_household: input.disability_household,
        zero_employment: input.zero_employment,
        homes_count: input.homes_count,
        homes_area_dm2: input.homes_area_dm2,
        vehicles_count: input.vehicles_count,
        vehicle_disability_exempt: input.vehicle_disability_exempt,
        controlling_shareholder: input.controlling_shareholder,
        high_fee_schooling: input.high_fee_schooling,
        refuses_cooperation: input.refuses_cooperation,
        category: None,
        status: "draft".into(),
        members_count: new_members.len() as i64,
        version: 1,
        created_at: now,
        updated_at: now,
        resolved_causes: String::new(),
        legal_dispute: input.legal_dispute,
    };
    diesel::insert_into(households::table)
        .values(&row)
        .execute(conn)?;
    let mut member_ids = Vec::with_capacity(new_members.len());
    for (i, m) in new_members.iter().enumerate() {
        let mr = member_row(cipher, &id, i as i64, m);
        diesel::insert_into(household_members::table)
            .values(&mr)
            .execute(conn)?;
        claim_person(conn, scope, i, &mr.national_id_index, &id, &mr.id)?;
        member_ids.push(mr.id);
    }
    let resolve = |idx: &Option<usize>| -> Result<Option<String>, FileError> {
        match idx {
            None => Ok(None),
            Some(i) => member_ids
                .get(*i)
                .cloned()
                .map(Some)
                .ok_or(FileError::UnknownMember { index: *i }),
        }
    };
    for (idx, inc) in incomes {
        let with_member = IncomeInput {
            member_id: resolve(idx)?,
            ..inc.clone()
        };
        insert_income(conn, &id, &with_member)?;
    }
    for (idx, exp) in spending {
        let with_member = ExpenditureInput {
            member_id: resolve(idx)?,
            ..exp.clone()
        };
        insert_expenditure(conn, &id, &with_member)?;
    }
    Ok(row)
}

/// Household-level fields a caller may change. `bank_account` in clear; `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct HouseholdChanges {
    pub organisation_id: Option<String>,
    pub region_code: Option<String>,
    pub address: Option<String>,
    pub enterprise_id: Option<Option<String>>,
    pub housing_type: Option<String>,
    pub housing_area_dm2: Option<Option<i64>>,
    pub bank_name: Option<Option<String>>,
    pub bank_account: Option<Option<String>>,
    pub main_cause: Option<i64>,
    pub secondary_causes: Option<String>,
    pub single_parent: Option<bool>,
    pub disability_household: Option<bool>,
    pub zero_employment: Option<bool>,
    pub homes_count: Option<i64>,
    pub homes_area_dm2: Option<i64>,
    pub vehicles_count: Option<i64>,
    pub vehicle_disability_exempt: Option<bool>,
    pub controlling_shareholder: Option<bool>,
    pub high_fee_schooling: Option<bool>,
    pub refuses_cooperation: Option<bool>,
    pub resolved_causes: Option<String>,
    pub legal_dispute: Option<bool>,
}

impl HouseholdChanges {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        let HouseholdChanges {
            organisation_id,
            region_code,
            address,
            enterprise_id,
            housing_type,
            housing_area_dm2,
            bank_name,
            bank_account,
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
            resolved_causes,
            legal_dispute,
        } = self;
        [
            organisation_id.is_none(),
            region_code.is_none(),
            address.is_none(),
            enterprise_id.is_none(),
            housing_type.is_none(),
            housing_area_dm2.is_none(),
            bank_name.is_none(),
            bank_account.is_none(),
            main_cause.is_none(),
            secondary_causes.is_none(),
            single_parent.is_none(),
            disability_household.is_none(),
            zero_employment.is_none(),
            homes_count.is_none(),
            homes_area_dm2.is_none(),
            vehicles_count.is_none(),
            vehicle_disability_exempt.is_none(),
            controlling_shareholder.is_none(),
            high_fee_schooling.is_none(),
            refuses_cooperation.is_none(),
            resolved_causes.is_none(),
            legal_dispute.is_none(),
        ]
        .iter()
        .all(|none| *none)
    }
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = households)]
struct HouseholdChangeset {
    organisation_id: Option<String>,
    organisation_path: Option<String>,
    region_code: Option<String>,
    address: Option<String>,
    enterprise_id: Option<Option<String>>,
    housing_type: Option<String>,
    housing_area_dm2: Option<Option<i64>>,
    bank_name: Option<Option<String>>,
    bank_account_enc: Option<Option<String>>,
    bank_account_masked: Option<Option<String>>,
    main_cause: Option<i64>,
    secondary_causes: Option<String>,
    single_parent: Option<bool>,
    disability_household: Option<bool>,
    zero_employment: Option<bool>,
    homes_count: Option<i64>,
    homes_area_dm2: Option<i64>,
    vehicles_count: Option<i64>,
    vehicle_disability_exempt: Option<bool>,
    controlling_shareholder: Option<bool>,
    high_fee_schooling: Option<bool>,
    refuses_cooperation: Option<bool>,
    resolved_causes: Option<String>,
    legal_dispute: Option<bool>,
}

pub fn update(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    scope: &Scope,
    id: &str,
    expected_version: i64,
    c: &HouseholdChanges,
) -> Result<HouseholdRow, FileError> {
    let current = touch(conn, scope, id, expected_version)?;
    let organisation = c
        .organisation_id
        .clone()
        .unwrap_or(current.organisation_id.clone());
    let region = c.region_code.clone().unwrap_or(current.region_code.clone());
    let path = if c.organisation_id.is_some() || c.region_code.is_some() {
        Some(union_of(conn, scope, &organisation, &region)?)
    } else {
        None
    };
    if let Some(e) = &c.enterprise_id {
        check_enterprise(conn, scope, e)?;
    }
    let changes = HouseholdChangeset {
        organisation_id: c.organisation_id.clone(),
        organisation_path: path,
        region_code: c.region_code.clone(),
        address: c.address.clone(),
        enterprise_id: c.enterprise_id.clone(),
        housing_type: c.housing_type.clone(),
        housing_area_dm2: c.housing_area_dm2,
        bank_name: c.bank_name.clone(),
        bank_account_enc: c
            .bank_account
            .as_ref()
            .map(|a| a.as_ref().map(|a| cipher.encrypt(&bank_context(id), a))),
        bank_account_masked: c
            .bank_account
            .as_ref()
            .map(|a| a.as_deref().map(mask_account)),
        main_cause: c.main_cause,
        secondary_causes: c.secondary_causes.clone(),
        single_parent: c.single_parent,
        disability_household: c.disability_household,
        zero_employment: c.zero_employment,
        homes_count: c.homes_count,
        homes_area_dm2: c.homes_area_dm2,
        vehicles_count: c.vehicles_count,
        vehicle_disability_exempt: c.vehicle_disability_exempt,
        controlling_shareholder: c.controlling_shareholder,
        high_fee_schooling: c.high_fee_schooling,
        refuses_cooperation: c.refuses_cooperation,
        resolved_causes: c.resolved_causes.clone(),
        legal_dispute: c.legal_dispute,
    };
    diesel::update(households::table.filter(households::id.eq(id)))
        .set((&changes, households::updated_at.eq(crate::now())))
        .execute(conn)?;
    Ok(get(conn, &Scope::All, id)?)
}

fn refresh_summary(conn: &mut DbConnection, id: &str) -> Result<(), FileError> {
    let ms = members(conn, id)?;
    let relations: Vec<Relation> = ms.iter().filter_map(|m| m.relation.parse().ok()).collect();
    jiekun_domain::household::check_members(&relations).map_err(|_| FileError::WorkerCount)?;
    let worker = ms
        .iter()
        .find(|m| m.relation == "worker")
        .map(|m| m.name.clone())
        .unwrap_or_default();
    diesel::update(households::table.filter(households::id.eq(id)))
        .set((
            households::members_count.eq(ms.len() as i64),
            households::worker_name.eq(worker),
        ))
        .execute(conn)?;
    Ok(())
}

/// Adds a member to the file.
pub fn add_member(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    scope: &Scope,
    household_id: &str,
    expected_version: i64,
    m: &MemberInput,
) -> Result<MemberRow, FileError> {
    let h = touch(conn, scope, household_id, expected_version)?;
    let position: Option<i64> = household_members::table
        .filter(household_members::household_id.eq(household_id))
        .select(diesel::dsl::max(household_members::position))
        .first(conn)?;
    let row = member_row(cipher, household_id, position.map_or(0, |p| p + 1), m);
    diesel::insert_into(household_members::table)
        .values(&row)
        .execute(conn)?;
    if jiekun_domain::household::HouseholdStatus::is_active(
        h.status
            .parse()
            .unwrap_or(jiekun_domain::household::HouseholdStatus::Draft),
    ) {
        claim_person(
            conn,
            scope,
            0,
            &row.national_id_index,
            household_id,
            &row.id,
        )?;
    }
    refresh_summary(conn, household_id)?;
    Ok(row)
}

/// Member fields a caller may change (the identity number is not one: remove and add instead).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = household_members)]
pub struct MemberChanges {
    pub relation: Option<String>,
    pub name: Option<String>,
    pub health_enc: Option<Option<String>>,
    pub work_status: Option<String>,
    pub schooling_level: Option<Option<String>>,
    pub school: Option<Option<String>>,
    pub school_year: Option<Option<i64>>,
    pub included: Option<bool>,
    pub exclusion_reason: Option<Option<String>>,
    pub business_plan: Option<bool>,
    pub residents_pension: Option<bool>,
    pub laid_off: Option<bool>,
}

pub fn member(
    conn: &mut DbConnection,
    household_id: &str,
    member_id: &str,
) -> Result<MemberRow, FileError> {
    household_members::table
        .select(MemberRow::as_select())
        .filter(
            household_members::id
                .eq(member_id)
                .and(household_members::household_id.eq(household_id)),
        )
        .first(conn)
        .optional()?
        .ok_or(FileError::UnknownMember { index: 0 })
}

/// Changes a member; `health` in clear is encrypted here.
#[allow(clippy::too_many_arguments)]
pub fn update_member(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    scope: &Scope,
    household_id: &str,
    member_id: &str,
    expected_version: i64,
    mut changes: MemberChanges,
    health: Option<Option<String>>,
) -> Result<MemberRow, FileError> {
    touch(conn, scope, household_id, expected_version)?;
    member(conn, household_id, member_id)?;
    changes.health_enc = health.map(|h| h.map(|h| cipher.encrypt(&health_context(member_id), &h)));
    diesel::update(household_members::table.filter(household_members::id.eq(member_id)))
        .set((&changes, household_members::updated_at.eq(crate::now())))
        .execute(conn)?;
    refresh_summary(conn, household_id)?;
    member(conn, household_id, member_id)
}

/// Removes a member (never the worker) with their income records.
pub fn remove_member(
    conn: &mut DbConnection,
    scope: &Scope,
    household_id: &str,
    member_id: &str,
    expected_version: i64,
) -> Result<(), FileError> {
    touch(conn, scope, household_id, expected_version)?;
    member(conn, household_id, member_id)?;
    diesel::delete(income_records::table.filter(income_records::member_id.eq(member_id)))
        .execute(conn)?;
    diesel::update(expenditures::table.filter(expenditures::member_id.eq(member_id)))
        .set(expenditures::member_id.eq(None::<String>))
        .execute(conn)?;
    diesel::delete(active_persons::table.filter(active_persons::member_id.eq(member_id)))
        .execute(conn)?;
    diesel::delete(household_members::table.filter(household_members::id.eq(member_id)))
        .execute(conn)?;
    refresh_summary(conn, household_id)
}

fn insert_income(
    conn: &mut DbConnection,
    household_id: &str,
    i: &IncomeInput,
) -> Result<IncomeRow, FileError> {
    if let Some(m) = &i.member_id {
        member(conn, household_id, m)?;
    }
    let now = crate::now();
    let row = IncomeRow {
        id: crate::new_id(),
        household_id: household_id.to_owned(),
        member_id: i.member_id.clone(),
        month: i.month,
        kind: i.kind.clone(),
        source: i.source.clone(),
        amount_fen: i.amount_fen,
        verified: i.verified,
        note: i.note.clone(),
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(income_records::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

fn insert_expenditure(
    conn: &mut DbConnection,
    household_id: &str,
    e: &ExpenditureInput,
) -> Result<ExpenditureRow, FileError> {
    if let Some(m) = &e.member_id {
        member(conn, household_id, m)?;
    }
    let now = crate::now();
    let row = ExpenditureRow {
        id: crate::new_id(),
        household_id: household_id.to_owned(),
        member_id: e.member_id.clone(),
        kind: e.kind.clone(),
        amount_fen: e.amount_fen,
        start_month: e.start_month,
        end_month: e.end_month,
        description: e.description.clone(),
        evidence: e.evidence.clone(),
        verified: e.verified,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(expenditures::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// Adds income records, all or none. `UnknownMember.index` is the record's position.
pub fn add_incomes(
    conn: &mut DbConnection,
    scope: &Scope,
    household_id: &str,
    expected_version: i64,
    records: &[IncomeInput],
) -> Result<Vec<IncomeRow>, FileError> {
    touch(conn, scope, household_id, expected_version)?;
    let held: i64 = income_records::table
        .filter(income_records::household_id.eq(household_id))
        .count()
        .get_result(conn)?;
    if held + records.len() as i64 > MAX_INCOME_RECORDS {
        return Err(FileError::TooManyItems {
            max: MAX_INCOME_RECORDS,
        });
    }
    records
        .iter()
        .enumerate()
        .map(|(i, r)| insert_income(conn, household_id, r).map_err(|e| reindex(e, i)))
        .collect()
}

/// Adds expenditure items, all or none.
pub fn add_expenditures(
    conn: &mut DbConnection,
    scope: &Scope,
    household_id: &str,
    expected_version: i64,
    items: &[ExpenditureInput],
) -> Result<Vec<ExpenditureRow>, FileError> {
    touch(conn, scope, household_id, expected_version)?;
    let held: i64 = expenditures::table
        .filter(expenditures::household_id.eq(household_id))
        .count()
        .get_result(conn)?;
    if held + items.len() as i64 > MAX_EXPENDITURE_ITEMS {
        return Err(FileError::TooManyItems {
            max: MAX_EXPENDITURE_ITEMS,
        });
    }
    items
        .iter()
        .enumerate()
        .map(|(i, r)| insert_expenditure(conn, household_id, r).map_err(|e| reindex(e, i)))
        .collect()
}

fn reindex(e: FileError, index: usize) -> FileError {
    match e {
        FileError::UnknownMember { .. } => FileError::UnknownMember { index },
        e => e,
    }
}

pub fn incomes(
    conn: &mut DbConnection,
    household_id: &str,
    from: Option<i64>,
    to: Option<i64>,
    member_id: Option<&str>,
) -> StoreResult<Vec<IncomeRow>> {
    let mut q = income_records::table
        .select(IncomeRow::as_select())
        .filter(income_records::household_id.eq(household_id.to_owned()))
        .into_boxed();
    if let Some(f) = from {
        q = q.filter(income_records::month.ge(f));
    }
    if let Some(t) = to {
        q = q.filter(income_records::month.le(t));
    }
    if let Some(m) = member_id {
        q = q.filter(income_records::member_id.eq(m.to_owned()));
    }
    Ok(
        q.order((income_records::month.desc(), income_records::id.asc()))
            .load(conn)?,
    )
}

pub fn expenditure_items(
    conn: &mut DbConnection,
    household_id: &str,
) -> StoreResult<Vec<ExpenditureRow>> {
    Ok(expenditures::table
        .select(ExpenditureRow::as_select())
        .filter(expenditures::household_id.eq(household_id))
        .order((expenditures::start_month.desc(), expenditures::id.asc()))
        .load(conn)?)
}

/// Changes one income record.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = income_records)]
pub struct IncomeChanges {
    pub month: Option<i64>,
    pub kind: Option<String>,
    pub source: Option<String>,
    pub amount_fen: Option<i64>,
    pub verified: Option<bool>,
    pub note: Option<Option<String>>,
}

pub fn update_income(
    conn: &mut DbConnection,
    scope: &Scope,
    household_id: &str,
    income_id: &str,
    expected_version: i64,
    c: &IncomeChanges,
) -> Result<IncomeRow, FileError> {
    touch(conn, scope, household_id, expected_version)?;
    let target = income_records::table.filter(
        income_records::id
            .eq(income_id)
            .and(income_records::household_id.eq(household_id)),
    );
    let n = diesel::update(target)
        .set((c, income_records::updated_at.eq(crate::now())))
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound.into());
    }
    Ok(income_records::table
        .find(income_id)
        .select(IncomeRow::as_select())
        .first(conn)?)
}

pub fn delete_income(
    conn: &mut DbConnection,
    scope: &Scope,
    household_id: &str,
    income_id: &str,
    expected_version: i64,
) -> Result<(), FileError> {
    touch(conn, scope, household_id, expected_version)?;
    let n = diesel::delete(
        income_records::table.filter(
            income_records::id
                .eq(income_id)
                .and(income_records::household_id.eq(household_id)),
        ),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound.into());
    }
    Ok(())
}

/// Changes one expenditure item.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = expenditures)]
pub struct ExpenditureChanges {
    pub kind: Option<String>,
    pub amount_fen: Option<i64>,
    pub start_month: Option<i64>,
    pub end_month: Option<i64>,
    pub description: Option<Option<String>>,
    pub evidence: Option<Option<String>>,
    pub verified: Option<bool>,
}

pub fn update_expenditure(
    conn: &mut DbConnection,
    scope: &Scope,
    household_id: &str,
    item_id: &str,
    expected_version: i64,
    c: &ExpenditureChanges,
) -> Result<ExpenditureRow, FileError> {
    touch(conn, scope, household_id, expected_version)?;
    let target = expenditures::table.filter(
        expenditures::id
            .eq(item_id)
            .and(expenditures::household_id.eq(household_id)),
    );
    let n = diesel::update(target)
        .set((c, expenditures::updated_at.eq(crate::now())))
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound.into());
    }
    let row: ExpenditureRow = expenditures::table
        .find(item_id)
        .select(ExpenditureRow::as_select())
        .first(conn)?;
    if row.end_month < row.start_month {
        // Rolled back by the caller's transaction.
        return Err(FileError::PeriodReversed);
    }
    Ok(row)
}

pub fn delete_expenditure(
    conn: &mut DbConnection,
    scope: &Scope,
    household_id: &str,
    item_id: &str,
    expected_version: i64,
) -> Result<(), FileError> {
    touch(conn, scope, household_id, expected_version)?;
    let n = diesel::delete(
        expenditures::table.filter(
            expenditures::id
                .eq(item_id)
                .and(expenditures::household_id.eq(household_id)),
        ),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound.into());
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct HouseholdFilter {
    pub region: Option<jiekun_domain::RegionCode>,
    /// Households of this organisation's subtree.
    pub organisation_id: Option<String>,
    pub category: Option<String>,
    pub status: Option<String>,
    pub main_cause: Option<i64>,
    pub single_parent: Option<bool>,
    pub disability_household: Option<bool>,
    pub zero_employment: Option<bool>,
}

/// The PostgreSQL list query: one fixed statement whose optional filters are `$n IS NULL OR …`,
/// so that it is prepared once and planned as an ordered primary-key scan that stops after a
/// page, instead of being parsed and planned anew for every combination of filters.
const PG_LIST: &str =
    "SELECT id, file_number, organisation_id, organisation_path, region_code, address, \
    enterprise_id, worker_name, housing_type, housing_area_dm2, bank_name, bank_account_enc, \
    bank_account_masked, main_cause, secondary_causes, single_parent, disability_household, \
    zero_employment, homes_count, homes_area_dm2, vehicles_count, vehicle_disability_exempt, \
    controlling_shareholder, high_fee_schooling, refuses_cooperation, category, status, \
    members_count, version, created_at, updated_at, resolved_causes, legal_dispute \
    FROM households \
    WHERE organisation_path LIKE $1 \
    AND ($2::text IS NULL OR organisation_path LIKE $2) \
    AND ($3::text IS NULL OR region_code LIKE $3) \
    AND ($4::text IS NULL OR category = $4) \
    AND ($5::text IS NULL OR status = $5) \
    AND ($6::bigint IS NULL OR main_cause = $6) \
    AND ($7::boolean IS NULL OR single_parent = $7) \
    AND ($8::boolean IS NULL OR disability_household = $8) \
    AND ($9::boolean IS NULL OR zero_employment = $9) \
    AND ($10::text IS NULL OR id > $10) \
    ORDER BY id LIMIT $11";

fn list_postgres(
    c: &mut diesel::PgConnection,
    scope_prefix: &str,
    organisation_prefix: Option<String>,
    filter: &HouseholdFilter,
    page: &PageRequest,
) -> StoreResult<Vec<HouseholdRow>> {
    use diesel::sql_types::{BigInt, Bool, Nullable, Text};
    Ok(diesel::sql_query(PG_LIST)
        .bind::<Text, _>(format!("{scope_prefix}%"))
        .bind::<Nullable<Text>, _>(organisation_prefix.map(|p| format!("{p}%")))
        .bind::<Nullable<Text>, _>(
            filter
                .region
                .as_ref()
                .map(|r| crate::like_prefix(r.prefix())),
        )
        .bind::<Nullable<Text>, _>(filter.category.clone())
        .bind::<Nullable<Text>, _>(filter.status.clone())
        .bind::<Nullable<BigInt>, _>(filter.main_cause)
        .bind::<Nullable<Bool>, _>(filter.single_parent)
        .bind::<Nullable<Bool>, _>(filter.disability_household)
        .bind::<Nullable<Bool>, _>(filter.zero_employment)
        .bind::<Nullable<Text>, _>(page.after.clone())
        .bind::<BigInt, _>(page.fetch_limit())
        .load(c)?)
}

pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &HouseholdFilter,
    page: &PageRequest,
) -> StoreResult<Page<HouseholdRow>> {
    use households::dsl as h;
    if let DbConnection::Postgres(c) = conn {
        let scope_prefix = match scope {
            Scope::Subtree { path, .. } => path.clone(),
            Scope::Region(_) => return Ok(page.finish(Vec::new(), |r: &HouseholdRow| &r.id)),
            Scope::All => String::new(),
        };
        let organisation_prefix = match &filter.organisation_id {
            Some(org) => match organisations::table
                .filter(organisations::id.eq(org))
                .select(organisations::path)
                .first::<String>(c)
                .optional()?
            {
                Some(p) => Some(p),
                None => return Ok(page.finish(Vec::new(), |r: &HouseholdRow| &r.id)),
            },
            None => None,
        };
        let rows = list_postgres(c, &scope_prefix, organisation_prefix, filter, page)?;
        return Ok(page.finish(rows, |r| &r.id));
    }
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    let mut q = h::households.select(HouseholdRow::as_select()).into_boxed();
    let under = |q: households::BoxedQuery<'static, Backend, HouseholdSelection>,
                 prefix: String| {
        if sqlite {
            q.filter(crate::path_starts_with!(h::organisation_path, prefix))
        } else {
            q.filter(h::organisation_path.like(format!("{prefix}%")))
        }
    };
    match scope {
        Scope::Subtree { path, .. } => q = under(q, path.clone()),
        Scope::Region(_) => return Ok(page.finish(Vec::new(), |r: &HouseholdRow| &r.id)),
        Scope::All => {}
    }
    if let Some(org) = &filter.organisation_id {
        let path: Option<String> = organisations::table
            .filter(organisations::id.eq(org))
            .select(organisations::path)
            .first(conn)
            .optional()?;
        match path {
            Some(p) => q = under(q, p),
            None => return Ok(page.finish(Vec::new(), |r: &HouseholdRow| &r.id)),
        }
    }
    if let Some(r) = &filter.region {
        q = q.filter(crate::path_starts_with!(
            h::region_code,
            r.prefix().to_owned()
        ));
    }
    if let Some(v) = &filter.category {
        q = q.filter(h::category.eq(v.clone()));
    }
    if let Some(v) = &filter.status {
        q = q.filter(h::status.eq(v.clone()));
    }
    if let Some(v) = filter.main_cause {
        q = q.filter(h::main_cause.eq(v));
    }
    if let Some(v) = filter.single_parent {
        q = q.filter(h::single_parent.eq(v));
    }
    if let Some(v) = filter.disability_household {
        q = q.filter(h::disability_household.eq(v));
    }
    if let Some(v) = filter.zero_employment {
        q = q.filter(h::zero_employment.eq(v));
    }
    if let Some(after) = &page.after {
        q = q.filter(h::id.gt(after.clone()));
    }
    let rows = q.order(h::id.asc()).limit(page.fetch_limit()).load(conn)?;
    Ok(page.finish(rows, |r| &r.id))
}

/// How many households in `scope` match `filter` (for `count=true`): one statement, the same on
/// both backends.
const COUNT: &str = "SELECT COUNT(*) AS n FROM households \
    WHERE organisation_path LIKE $1 \
    AND (CAST($2 AS TEXT) IS NULL OR organisation_path LIKE $2) \
    AND (CAST($3 AS TEXT) IS NULL OR region_code LIKE $3) \
    AND (CAST($4 AS TEXT) IS NULL OR category = $4) \
    AND (CAST($5 AS TEXT) IS NULL OR status = $5) \
    AND (CAST($6 AS BIGINT) IS NULL OR main_cause = $6) \
    AND (CAST($7 AS BOOLEAN) IS NULL OR single_parent = $7) \
    AND (CAST($8 AS BOOLEAN) IS NULL OR disability_household = $8) \
    AND (CAST($9 AS BOOLEAN) IS NULL OR zero_employment = $9)";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

pub fn count(conn: &mut DbConnection, scope: &Scope, filter: &HouseholdFilter) -> StoreResult<u64> {
    use diesel::sql_types::{BigInt, Bool, Nullable, Text};
    let scope_prefix = match scope {
        Scope::Subtree { path, .. } => path.clone(),
        Scope::Region(_) => return Ok(0),
        Scope::All => String::new(),
    };
    let organisation_prefix = match &filter.organisation_id {
        Some(org) => match organisations::table
            .filter(organisations::id.eq(org))
            .select(organisations::path)
            .first::<String>(conn)
            .optional()?
        {
            Some(p) => Some(format!("{p}%")),
            None => return Ok(0),
        },
        None => None,
    };
    let q = diesel::sql_query(COUNT)
        .bind::<Text, _>(format!("{scope_prefix}%"))
        .bind::<Nullable<Text>, _>(organisation_prefix)
        .bind::<Nullable<Text>, _>(
            filter
                .region
                .as_ref()
                .map(|r| crate::like_prefix(r.prefix())),
        )
        .bind::<Nullable<Text>, _>(filter.category.clone())
        .bind::<Nullable<Text>, _>(filter.status.clone())
        .bind::<Nullable<BigInt>, _>(filter.main_cause)
        .bind::<Nullable<Bool>, _>(filter.single_parent)
        .bind::<Nullable<Bool>, _>(filter.disability_household)
        .bind::<Nullable<Bool>, _>(filter.zero_employment);
    let n: Count = crate::on_backend!(conn, |c| q.get_result(c))?;
    Ok(n.n.max(0) as u64)
}

/// Households in `scope` holding a member with this identity number (by its blind index).
pub fn find_by_national_id(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    scope: &Scope,
    national_id: &str,
) -> StoreResult<Vec<HouseholdRow>> {
    let index = cipher.blind_index(ID_INDEX, national_id);
    let ids: Vec<String> = household_members::table
        .filter(household_members::national_id_index.eq(index))
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
/// its version: the household is the aggregate its ETag guards.
pub fn set_status(
    conn: &mut DbConnection,
    id: &str,
    status: &str,
    category: Option<&str>,
    file_number: Option<&str>,
) -> StoreResult<HouseholdRow> {
    use households::dsl as h;
    let target = h::households.filter(h::id.eq(id));
    diesel::update(target)
        .set((
            h::status.eq(status),
            h::version.eq(h::version + 1),
            h::updated_at.eq(crate::now()),
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
        claim_person(conn, scope, i, &m.national_id_index, household_id, &m.id)?;
    }
    Ok(())
}
