//! The household itself: creating a file with its members, and changing its household-level fields.

use super::*;

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

/// Claims a person for a household under `indexes[0]`; refuses when another active household
/// holds them under any of `indexes` (the current key's blind index, and during a data-key
/// rotation the previous key's, which rows not yet rotated still carry).
pub(super) fn claim_person(
    conn: &mut DbConnection,
    scope: &Scope,
    index: usize,
    indexes: &[String],
    household_id: &str,
    member_id: &str,
) -> Result<(), FileError> {
    let id_index = indexes.first().cloned().unwrap_or_default();
    let existing: Option<String> = active_persons::table
        .filter(active_persons::national_id_index.eq_any(indexes))
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
            national_id_index: &id_index,
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

pub(super) fn member_row(
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
        let indexes = cipher.blind_indexes(ID_INDEX, &m.national_id);
        claim_person(conn, scope, i, &indexes, &id, &mr.id)?;
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

pub(super) fn refresh_summary(conn: &mut DbConnection, id: &str) -> Result<(), FileError> {
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
