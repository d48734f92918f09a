//! The money of a household file: monthly income records and rigid expenditure items.

use super::*;

pub(super) fn insert_income(
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

pub(super) fn insert_expenditure(
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

/// A household's income records, newest month first, with the monthly amounts departments'
/// answers prove as their verified records (see `sharing::with_verified_income`).
pub fn incomes(
    conn: &mut DbConnection,
    household_id: &str,
    from: Option<i64>,
    to: Option<i64>,
    member_id: Option<&str>,
) -> StoreResult<Vec<IncomeRow>> {
    let records = income_records::table
        .select(IncomeRow::as_select())
        .filter(income_records::household_id.eq(household_id.to_owned()))
        .load(conn)?;
    let facts = crate::sharing::facts_between(conn, household_id, household_id)?;
    let mut out: Vec<IncomeRow> = crate::sharing::with_verified_income(records, &facts)
        .into_iter()
        .filter(|r| from.is_none_or(|f| r.month >= f))
        .filter(|r| to.is_none_or(|t| r.month <= t))
        .filter(|r| member_id.is_none_or(|m| r.member_id.as_deref() == Some(m)))
        .collect();
    out.sort_by(|a, b| b.month.cmp(&a.month).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
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
