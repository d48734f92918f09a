//! Partner departments (部门): government agencies that lead measures and answer verification.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use jiekun_domain::{DepartmentCode, RegionCode};

use crate::error::{StoreError, StoreResult};
use crate::page::{Page, PageRequest};
use crate::schema::departments;
use crate::scope::Scope;
use crate::DbConnection;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = departments, treat_none_as_default_value = false)]
pub struct DepartmentRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub region_code: String,
    pub address: Option<String>,
    pub active: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct NewDepartment {
    pub code: DepartmentCode,
    pub name: String,
    pub region_code: RegionCode,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = departments)]
pub struct DepartmentChanges {
    pub name: Option<String>,
    pub address: Option<Option<String>>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct DepartmentFilter {
    pub code: Option<DepartmentCode>,
    pub region: Option<RegionCode>,
    pub active: Option<bool>,
}

/// A record by id, if its region lies inside `scope`.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: &str) -> StoreResult<DepartmentRow> {
    use departments::dsl as d;
    let mut q = d::departments
        .select(DepartmentRow::as_select())
        .filter(d::id.eq(id.to_owned()))
        .into_boxed();
    if let Some(p) = scope.region_pattern() {
        q = q.filter(d::region_code.like(p));
    }
    Ok(q.first(conn)?)
}

pub fn create(conn: &mut DbConnection, new: &NewDepartment) -> StoreResult<DepartmentRow> {
    let now = crate::now();
    let row = DepartmentRow {
        id: crate::new_id(),
        code: new.code.as_str().to_owned(),
        name: new.name.clone(),
        region_code: new.region_code.to_string(),
        address: new.address.clone(),
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(departments::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn update(
    conn: &mut DbConnection,
    scope: &Scope,
    id: &str,
    expected_version: i64,
    changes: &DepartmentChanges,
) -> StoreResult<DepartmentRow> {
    crate::versioned_update!(conn, scope, departments, id, expected_version, changes)
}

type Backend = <DbConnection as diesel::Connection>::Backend;

/// The departments in `scope` that match `filter`, not yet selected, ordered or paged.
fn matching(scope: &Scope, filter: &DepartmentFilter) -> departments::BoxedQuery<'static, Backend> {
    use departments::dsl as d;
    let mut q = d::departments.into_boxed();
    if let Some(p) = scope.region_pattern() {
        q = q.filter(d::region_code.like(p));
    }
    if let Some(code) = filter.code {
        q = q.filter(d::code.eq(code.as_str()));
    }
    if let Some(region) = &filter.region {
        q = q.filter(d::region_code.like(crate::like_prefix(region.prefix())));
    }
    if let Some(active) = filter.active {
        q = q.filter(d::active.eq(active));
    }
    q
}

pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &DepartmentFilter,
    page: &PageRequest,
) -> StoreResult<Page<DepartmentRow>> {
    use departments::dsl as d;
    let mut q = matching(scope, filter).select(DepartmentRow::as_select());
    if let Some(after) = &page.after {
        q = q.filter(d::id.gt(after.clone()));
    }
    let rows = q.order(d::id.asc()).limit(page.fetch_limit()).load(conn)?;
    Ok(page.finish(rows, |r| &r.id))
}

/// How many departments in `scope` match `filter`.
pub fn count(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &DepartmentFilter,
) -> StoreResult<u64> {
    let n: i64 = matching(scope, filter).count().get_result(conn)?;
    Ok(n.max(0) as u64)
}

/// The department of `code` registered for exactly `region`, if any.
pub fn find(
    conn: &mut DbConnection,
    code: DepartmentCode,
    region: &RegionCode,
) -> StoreResult<Option<DepartmentRow>> {
    use departments::dsl as d;
    Ok(d::departments
        .select(DepartmentRow::as_select())
        .filter(
            d::code
                .eq(code.as_str())
                .and(d::region_code.eq(region.as_str())),
        )
        .first(conn)
        .optional()?)
}
