//! Department API keys: found by their public prefix, checked against a hash of the secret.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::error::StoreResult;
use crate::page::{Page, PageRequest};
use crate::schema::{api_keys, departments};
use crate::scope::Scope;
use crate::DbConnection;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = api_keys, treat_none_as_default_value = false)]
pub struct ApiKeyRow {
    pub id: String,
    pub department_id: String,
    pub name: String,
    pub prefix: String,
    pub secret_hash: String,
    pub scopes: String,
    pub valid_from: NaiveDateTime,
    pub valid_until: Option<NaiveDateTime>,
    pub allowed_addresses: Option<String>,
    pub rate_limit_per_minute: i64,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub created_by: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A key with the facts of its department that decide its scope.
#[derive(Debug, Clone)]
pub struct KeyWithDepartment {
    pub key: ApiKeyRow,
    pub department_code: String,
    pub department_region: String,
    pub department_active: bool,
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub department_id: String,
    pub name: String,
    pub prefix: String,
    pub secret_hash: String,
    pub scopes: String,
    pub valid_from: NaiveDateTime,
    pub valid_until: Option<NaiveDateTime>,
    pub allowed_addresses: Option<String>,
    pub rate_limit_per_minute: i64,
    pub created_by: String,
}

type Joined = (ApiKeyRow, (String, String, bool));

fn with_department(r: Joined) -> KeyWithDepartment {
    let (key, (department_code, department_region, department_active)) = r;
    KeyWithDepartment {
        key,
        department_code,
        department_region,
        department_active,
    }
}

pub fn create(conn: &mut DbConnection, new: &NewApiKey) -> StoreResult<ApiKeyRow> {
    let now = crate::now();
    let row = ApiKeyRow {
        id: crate::new_id(),
        department_id: new.department_id.clone(),
        name: new.name.clone(),
        prefix: new.prefix.clone(),
        secret_hash: new.secret_hash.clone(),
        scopes: new.scopes.clone(),
        valid_from: new.valid_from,
        valid_until: new.valid_until,
        allowed_addresses: new.allowed_addresses.clone(),
        rate_limit_per_minute: new.rate_limit_per_minute,
        revoked_at: None,
        last_used_at: None,
        created_by: new.created_by.clone(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(api_keys::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// The key with this prefix and its department (for authentication; no scope applies).
pub fn find_by_prefix(
    conn: &mut DbConnection,
    prefix: &str,
) -> StoreResult<Option<KeyWithDepartment>> {
    Ok(api_keys::table
        .inner_join(departments::table)
        .select((
            ApiKeyRow::as_select(),
            (
                departments::code,
                departments::region_code,
                departments::active,
            ),
        ))
        .filter(api_keys::prefix.eq(prefix))
        .first::<Joined>(conn)
        .optional()?
        .map(with_department))
}

/// A key by id if its department lies inside `scope`.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: &str) -> StoreResult<KeyWithDepartment> {
    let mut q = api_keys::table
        .inner_join(departments::table)
        .select((
            ApiKeyRow::as_select(),
            (
                departments::code,
                departments::region_code,
                departments::active,
            ),
        ))
        .filter(api_keys::id.eq(id.to_owned()))
        .into_boxed();
    if let Some(p) = scope.region_pattern() {
        q = q.filter(departments::region_code.like(p));
    }
    Ok(with_department(q.first::<Joined>(conn)?))
}

#[derive(Debug, Clone, Default)]
pub struct ApiKeyFilter {
    pub department_id: Option<String>,
    /// Only keys not revoked.
    pub active: Option<bool>,
}

/// The keys of `scope` that pass `filter`, joined to their departments, as a boxed query (for the
/// page and its count).
macro_rules! filtered_keys {
    ($scope:expr, $filter:expr) => {{
        let (scope, filter): (&Scope, &ApiKeyFilter) = ($scope, $filter);
        let mut q = api_keys::table.inner_join(departments::table).into_boxed();
        if let Some(p) = scope.region_pattern() {
            q = q.filter(departments::region_code.like(p));
        }
        if let Some(d) = &filter.department_id {
            q = q.filter(api_keys::department_id.eq(d.clone()));
        }
        match filter.active {
            Some(true) => q = q.filter(api_keys::revoked_at.is_null()),
            Some(false) => q = q.filter(api_keys::revoked_at.is_not_null()),
            None => {}
        }
        q
    }};
}

/// How many keys of `scope` pass `filter`.
pub fn count(conn: &mut DbConnection, scope: &Scope, filter: &ApiKeyFilter) -> StoreResult<u64> {
    let n: i64 = filtered_keys!(scope, filter).count().get_result(conn)?;
    Ok(n as u64)
}

pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &ApiKeyFilter,
    page: &PageRequest,
) -> StoreResult<Page<KeyWithDepartment>> {
    let mut q = filtered_keys!(scope, filter).select((
        ApiKeyRow::as_select(),
        (
            departments::code,
            departments::region_code,
            departments::active,
        ),
    ));
    if let Some(after) = &page.after {
        q = q.filter(api_keys::id.gt(after.clone()));
    }
    let rows: Vec<Joined> = q
        .order(api_keys::id.asc())
        .limit(page.fetch_limit())
        .load(conn)?;
    let rows = rows.into_iter().map(with_department).collect();
    Ok(page.finish(rows, |r: &KeyWithDepartment| &r.key.id))
}

/// Revokes a key at once; revoking twice keeps the first time. `false` when there is no such key.
pub fn revoke(conn: &mut DbConnection, id: &str) -> StoreResult<bool> {
    use api_keys::dsl as k;
    let now = crate::now();
    let n = diesel::update(k::api_keys.filter(k::id.eq(id).and(k::revoked_at.is_null())))
        .set((
            k::revoked_at.eq(Some(now)),
            k::version.eq(k::version + 1),
            k::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n > 0)
}

/// Records the key's last use.
pub fn touch(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> StoreResult<()> {
    use api_keys::dsl as k;
    diesel::update(k::api_keys.filter(k::id.eq(id)))
        .set(k::last_used_at.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}
