//! Employers (企业), identified by their unified social credit code.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use jiekun_domain::{CreditCode, RegionCode};

use crate::error::{StoreError, StoreResult};
use crate::page::{Page, PageRequest};
use crate::schema::enterprises;
use crate::scope::Scope;
use crate::DbConnection;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = enterprises, treat_none_as_default_value = false)]
pub struct EnterpriseRow {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    pub region_code: String,
    pub difficult: bool,
    pub address: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct NewEnterprise {
    pub name: String,
    pub credit_code: CreditCode,
    pub region_code: RegionCode,
    pub difficult: bool,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = enterprises)]
pub struct EnterpriseChanges {
    pub name: Option<String>,
    pub credit_code: Option<String>,
    pub region_code: Option<String>,
    pub difficult: Option<bool>,
    pub address: Option<Option<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct EnterpriseFilter {
    pub region: Option<RegionCode>,
    pub difficult: Option<bool>,
    pub credit_code: Option<CreditCode>,
    pub name_contains: Option<String>,
}

/// A record by id, if its region lies inside `scope`.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: &str) -> StoreResult<EnterpriseRow> {
    use enterprises::dsl as e;
    let mut q = e::enterprises
        .select(EnterpriseRow::as_select())
        .filter(e::id.eq(id.to_owned()))
        .into_boxed();
    if let Some(p) = scope.region_pattern() {
        q = q.filter(e::region_code.like(p));
    }
    Ok(q.first(conn)?)
}

pub fn create(conn: &mut DbConnection, new: &NewEnterprise) -> StoreResult<EnterpriseRow> {
    let now = crate::now();
    let row = EnterpriseRow {
        id: crate::new_id(),
        name: new.name.clone(),
        credit_code: new.credit_code.to_string(),
        region_code: new.region_code.to_string(),
        difficult: new.difficult,
        address: new.address.clone(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(enterprises::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn update(
    conn: &mut DbConnection,
    scope: &Scope,
    id: &str,
    expected_version: i64,
    changes: &EnterpriseChanges,
) -> StoreResult<EnterpriseRow> {
    crate::versioned_update!(conn, scope, enterprises, id, expected_version, changes)
}

type Backend = <DbConnection as diesel::Connection>::Backend;

/// The enterprises in `scope` that match `filter`, not yet selected, ordered or paged.
fn matching(scope: &Scope, filter: &EnterpriseFilter) -> enterprises::BoxedQuery<'static, Backend> {
    use enterprises::dsl as e;
    let mut q = e::enterprises.into_boxed();
    if let Some(p) = scope.region_pattern() {
        q = q.filter(e::region_code.like(p));
    }
    if let Some(region) = &filter.region {
        q = q.filter(e::region_code.like(crate::like_prefix(region.prefix())));
    }
    if let Some(difficult) = filter.difficult {
        q = q.filter(e::difficult.eq(difficult));
    }
    if let Some(code) = &filter.credit_code {
        q = q.filter(e::credit_code.eq(code.to_string()));
    }
    if let Some(text) = &filter.name_contains {
        q = q.filter(e::name.like(crate::like_contains(text)).escape('\\'));
    }
    q
}

pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &EnterpriseFilter,
    page: &PageRequest,
) -> StoreResult<Page<EnterpriseRow>> {
    use enterprises::dsl as e;
    let mut q = matching(scope, filter).select(EnterpriseRow::as_select());
    if let Some(after) = &page.after {
        q = q.filter(e::id.gt(after.clone()));
    }
    let rows = q.order(e::id.asc()).limit(page.fetch_limit()).load(conn)?;
    Ok(page.finish(rows, |r| &r.id))
}

/// How many enterprises in `scope` match `filter`.
pub fn count(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &EnterpriseFilter,
) -> StoreResult<u64> {
    let n: i64 = matching(scope, filter).count().get_result(conn)?;
    Ok(n.max(0) as u64)
}

pub fn find_by_credit_code(
    conn: &mut DbConnection,
    code: &CreditCode,
) -> StoreResult<Option<EnterpriseRow>> {
    use enterprises::dsl as e;
    Ok(e::enterprises
        .select(EnterpriseRow::as_select())
        .filter(e::credit_code.eq(code.as_str()))
        .first(conn)
        .optional()?)
}
