//! The union hierarchy (组织): city federation → county federation → grassroots unions.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use jiekun_domain::{check_placement, OrganisationKind, PlacementError, RegionCode, UnionType};

use crate::error::{StoreError, StoreResult};
use crate::page::{Page, PageRequest};
use crate::schema::organisations;
use crate::scope::Scope;
use crate::DbConnection;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = organisations)]
pub struct OrganisationRow {
    pub id: String,
    pub parent_id: Option<String>,
    pub kind: String,
    pub union_type: Option<String>,
    pub name: String,
    pub short_name: Option<String>,
    pub region_code: String,
    pub address: Option<String>,
    pub path: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = organisations, treat_none_as_default_value = false)]
struct NewOrganisationRow<'a> {
    id: &'a str,
    parent_id: Option<&'a str>,
    kind: &'a str,
    union_type: Option<&'a str>,
    name: &'a str,
    short_name: Option<&'a str>,
    region_code: &'a str,
    address: Option<&'a str>,
    path: &'a str,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// A new organisation, already parsed into domain types.
#[derive(Debug, Clone)]
pub struct NewOrganisation {
    pub parent_id: Option<String>,
    pub kind: OrganisationKind,
    pub union_type: Option<UnionType>,
    pub name: String,
    pub short_name: Option<String>,
    pub region_code: RegionCode,
    pub address: Option<String>,
}

/// Fields a caller may change; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = organisations)]
pub struct OrganisationChanges {
    pub name: Option<String>,
    pub short_name: Option<Option<String>>,
    pub address: Option<Option<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateOrganisationError {
    #[error("parent organisation not found")]
    UnknownParent,
    #[error("a root organisation can only be created by the server's own tools")]
    RootOutsideScope,
    #[error(transparent)]
    Placement(#[from] PlacementError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for CreateOrganisationError {
    fn from(e: diesel::result::Error) -> Self {
        CreateOrganisationError::Store(e.into())
    }
}

#[derive(Debug, Clone, Default)]
pub struct OrganisationFilter {
    pub parent_id: Option<String>,
    pub kind: Option<OrganisationKind>,
    /// Inside this division (prefix match on the region code).
    pub region: Option<RegionCode>,
    pub name_contains: Option<String>,
}

/// An organisation by id, if inside `scope`.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: &str) -> StoreResult<OrganisationRow> {
    use organisations::dsl as o;
    let mut q = o::organisations
        .select(OrganisationRow::as_select())
        .filter(o::id.eq(id.to_owned()))
        .into_boxed();
    q = restrict(q, scope);
    Ok(q.first(conn)?)
}

type Backend = <DbConnection as diesel::Connection>::Backend;

/// People see their subtree; department keys see their region.
fn restrict<'a, ST: 'static>(
    q: organisations::BoxedQuery<'a, Backend, ST>,
    scope: &Scope,
) -> organisations::BoxedQuery<'a, Backend, ST> {
    use organisations::dsl as o;
    match scope {
        Scope::Subtree { path, .. } => q.filter(o::path.like(format!("{path}%"))),
        Scope::Region(region) => q.filter(o::region_code.like(crate::like_prefix(region.prefix()))),
        Scope::All => q,
    }
}

/// Creates an organisation after checking that it may sit where it is placed. Call inside
/// [`crate::write`] so that the parent read and the insert see the same state.
pub fn create(
    conn: &mut DbConnection,
    scope: &Scope,
    new: &NewOrganisation,
) -> Result<OrganisationRow, CreateOrganisationError> {
    // A parent outside the caller's scope is as unknown as one that does not exist.
    let parent = match &new.parent_id {
        Some(pid) => match get(conn, scope, pid) {
            Ok(p) => Some(p),
            Err(StoreError::NotFound) => return Err(CreateOrganisationError::UnknownParent),
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let parent_facts = match &parent {
        Some(p) => Some((
            p.kind
                .parse::<OrganisationKind>()
                .map_err(|()| StoreError::Config(format!("stored kind {} unknown", p.kind)))?,
            RegionCode::parse(&p.region_code)
                .map_err(|e| StoreError::Config(format!("stored region code: {e}")))?,
        )),
        None => None,
    };
    check_placement(
        new.kind,
        &new.region_code,
        new.union_type,
        parent_facts.as_ref().map(|(k, r)| (*k, r)),
    )?;
    // A new root (city federation) lies outside every caller's subtree: roots are made by the
    // server's own tools (`jiekun admin init`).
    if new.parent_id.is_none() && scope != &Scope::All {
        return Err(CreateOrganisationError::RootOutsideScope);
    }
    let id = crate::new_id();
    let path = match &parent {
        Some(p) => format!("{}{id}/", p.path),
        None => format!("/{id}/"),
    };
    let now = crate::now();
    diesel::insert_into(organisations::table)
        .values(NewOrganisationRow {
            id: &id,
            parent_id: new.parent_id.as_deref(),
            kind: new.kind.as_str(),
            union_type: new.union_type.map(UnionType::as_str),
            name: &new.name,
            short_name: new.short_name.as_deref(),
            region_code: new.region_code.as_str(),
            address: new.address.as_deref(),
            path: &path,
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .execute(conn)?;
    Ok(get(conn, &Scope::All, &id)?)
}

/// Applies `changes` if the stored version is `expected_version`.
pub fn update(
    conn: &mut DbConnection,
    scope: &Scope,
    id: &str,
    expected_version: i64,
    changes: &OrganisationChanges,
) -> StoreResult<OrganisationRow> {
    crate::versioned_update!(conn, scope, organisations, id, expected_version, changes)
}

/// The organisations in `scope` that match `filter`, not yet selected, ordered or paged.
fn matching(
    scope: &Scope,
    filter: &OrganisationFilter,
) -> organisations::BoxedQuery<'static, Backend> {
    use organisations::dsl as o;
    let mut q = restrict(o::organisations.into_boxed(), scope);
    if let Some(pid) = &filter.parent_id {
        q = q.filter(o::parent_id.eq(pid.clone()));
    }
    if let Some(kind) = filter.kind {
        q = q.filter(o::kind.eq(kind.as_str()));
    }
    if let Some(region) = &filter.region {
        q = q.filter(o::region_code.like(crate::like_prefix(region.prefix())));
    }
    if let Some(text) = &filter.name_contains {
        q = q.filter(o::name.like(crate::like_contains(text)).escape('\\'));
    }
    q
}

pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &OrganisationFilter,
    page: &PageRequest,
) -> StoreResult<Page<OrganisationRow>> {
    use organisations::dsl as o;
    let mut q = matching(scope, filter).select(OrganisationRow::as_select());
    if let Some(after) = &page.after {
        q = q.filter(o::id.gt(after.clone()));
    }
    let rows = q.order(o::id.asc()).limit(page.fetch_limit()).load(conn)?;
    Ok(page.finish(rows, |r| &r.id))
}

/// How many organisations in `scope` match `filter`.
pub fn count(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &OrganisationFilter,
) -> StoreResult<u64> {
    let n: i64 = matching(scope, filter).count().get_result(conn)?;
    Ok(n.max(0) as u64)
}

/// Looks up an organisation by its exact name under a parent (`None` for roots).
pub fn find_by_name(
    conn: &mut DbConnection,
    parent_id: Option<&str>,
    name: &str,
) -> StoreResult<Option<OrganisationRow>> {
    use organisations::dsl as o;
    let q = o::organisations
        .select(OrganisationRow::as_select())
        .filter(o::name.eq(name))
        .into_boxed();
    let q = match parent_id {
        Some(pid) => q.filter(o::parent_id.eq(pid.to_owned())),
        None => q.filter(o::parent_id.is_null()),
    };
    Ok(q.first(conn).optional()?)
}
