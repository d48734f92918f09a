//! The members of a household file: adding, reading, changing and removing one.

use super::*;

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
        let indexes = cipher.blind_indexes(ID_INDEX, &m.national_id);
        claim_person(conn, scope, 0, &indexes, household_id, &row.id)?;
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

/// Removes a member (never the worker) with their income records; the facts departments reported
/// of them stay on file, set aside (they no longer count in the rules).
pub fn remove_member(
    conn: &mut DbConnection,
    scope: &Scope,
    household_id: &str,
    member_id: &str,
    expected_version: i64,
) -> Result<(), FileError> {
    touch(conn, scope, household_id, expected_version)?;
    member(conn, household_id, member_id)?;
    diesel::delete(
        income_records::table
            .filter(income_records::household_id.eq(household_id))
            .filter(income_records::member_id.eq(member_id)),
    )
    .execute(conn)?;
    diesel::update(
        crate::schema::verified_facts::table
            .filter(crate::schema::verified_facts::household_id.eq(household_id))
            .filter(crate::schema::verified_facts::member_id.eq(member_id)),
    )
    .set(crate::schema::verified_facts::set_aside.eq(true))
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
