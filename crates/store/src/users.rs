//! People who sign in: each in one organisation, with roles.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::error::{StoreError, StoreResult};
use crate::page::{Page, PageRequest};
use crate::schema::{organisations, users};
use crate::scope::Scope;
use crate::DbConnection;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct UserRow {
    pub id: String,
    pub organisation_id: String,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub roles: String,
    pub status: String,
    pub token_version: i64,
    pub last_login_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A user with the facts of their organisation that decide their scope.
#[derive(Debug, Clone)]
pub struct UserWithOrg {
    pub user: UserRow,
    pub organisation_path: String,
    pub organisation_region: String,
    pub organisation_kind: String,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub organisation_id: String,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub roles: String,
}

/// Changes to a user; a change of roles or status also ends their sessions.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub roles: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub organisation_id: Option<String>,
    pub status: Option<String>,
    pub role: Option<String>,
}

type Joined = (UserRow, (String, String, String));

fn with_org(r: Joined) -> UserWithOrg {
    let (user, (organisation_path, organisation_region, organisation_kind)) = r;
    UserWithOrg {
        user,
        organisation_path,
        organisation_region,
        organisation_kind,
    }
}

/// A user and their organisation, by id, if inside `scope`.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: &str) -> StoreResult<UserWithOrg> {
    let mut q = users::table
        .inner_join(organisations::table)
        .select((
            UserRow::as_select(),
            (
                organisations::path,
                organisations::region_code,
                organisations::kind,
            ),
        ))
        .filter(users::id.eq(id.to_owned()))
        .into_boxed();
    if let Some(p) = scope.path_pattern() {
        q = q.filter(organisations::path.like(p));
    } else if scope != &Scope::All {
        return Err(StoreError::NotFound);
    }
    Ok(with_org(q.first::<Joined>(conn)?))
}

/// A user by username, in any organisation (for signing in).
pub fn find_by_username(
    conn: &mut DbConnection,
    username: &str,
) -> StoreResult<Option<UserWithOrg>> {
    Ok(users::table
        .inner_join(organisations::table)
        .select((
            UserRow::as_select(),
            (
                organisations::path,
                organisations::region_code,
                organisations::kind,
            ),
        ))
        .filter(users::username.eq(username))
        .first::<Joined>(conn)
        .optional()?
        .map(with_org))
}

pub fn create(conn: &mut DbConnection, new: &NewUser) -> StoreResult<UserRow> {
    let now = crate::now();
    let row = UserRow {
        id: crate::new_id(),
        organisation_id: new.organisation_id.clone(),
        username: new.username.clone(),
        display_name: new.display_name.clone(),
        password_hash: new.password_hash.clone(),
        roles: new.roles.clone(),
        status: "active".into(),
        token_version: 1,
        last_login_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(users::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// Applies `changes` at `expected_version`; roles or status changes end existing sessions.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    expected_version: i64,
    changes: &UserChanges,
) -> StoreResult<UserRow> {
    use users::dsl as u;
    let ends_sessions = i64::from(changes.roles.is_some() || changes.status.is_some());
    let n = diesel::update(u::users.filter(u::id.eq(id).and(u::version.eq(expected_version))))
        .set((
            changes,
            u::version.eq(u::version + 1),
            u::token_version.eq(u::token_version + ends_sessions),
            u::updated_at.eq(crate::now()),
        ))
        .execute(conn)?;
    let row = get_row(conn, id)?;
    if n == 0 {
        return Err(StoreError::VersionMismatch {
            expected: expected_version,
            actual: row.version,
        });
    }
    Ok(row)
}

/// Sets a new password hash and ends every session of the user.
pub fn set_password(
    conn: &mut DbConnection,
    id: &str,
    password_hash: &str,
) -> StoreResult<UserRow> {
    use users::dsl as u;
    diesel::update(u::users.filter(u::id.eq(id)))
        .set((
            u::password_hash.eq(password_hash),
            u::version.eq(u::version + 1),
            u::token_version.eq(u::token_version + 1),
            u::updated_at.eq(crate::now()),
        ))
        .execute(conn)?;
    get_row(conn, id)
}

pub fn record_login(conn: &mut DbConnection, id: &str) -> StoreResult<()> {
    use users::dsl as u;
    diesel::update(u::users.filter(u::id.eq(id)))
        .set(u::last_login_at.eq(Some(crate::now())))
        .execute(conn)?;
    Ok(())
}

fn get_row(conn: &mut DbConnection, id: &str) -> StoreResult<UserRow> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)?)
}

type Backend = <DbConnection as diesel::Connection>::Backend;
type UsersInUnions = diesel::dsl::InnerJoin<users::table, organisations::table>;

/// The users in `scope` that match `filter`, not yet selected, ordered or paged; `None` when the
/// scope holds no users.
fn matching(
    scope: &Scope,
    filter: &UserFilter,
) -> Option<diesel::dsl::IntoBoxed<'static, UsersInUnions, Backend>> {
    let mut q = users::table.inner_join(organisations::table).into_boxed();
    match scope.path_pattern() {
        Some(p) => q = q.filter(organisations::path.like(p)),
        None if scope != &Scope::All => return None,
        None => {}
    }
    if let Some(v) = &filter.organisation_id {
        q = q.filter(users::organisation_id.eq(v.clone()));
    }
    if let Some(v) = &filter.status {
        q = q.filter(users::status.eq(v.clone()));
    }
    if let Some(role) = &filter.role {
        // Roles are stored sorted and comma-separated: match a whole name.
        q = q.filter(
            users::roles
                .eq(role.clone())
                .or(users::roles.like(format!("{role},%")))
                .or(users::roles.like(format!("%,{role}")))
                .or(users::roles.like(format!("%,{role},%"))),
        );
    }
    Some(q)
}

pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &UserFilter,
    page: &PageRequest,
) -> StoreResult<Page<UserRow>> {
    let Some(q) = matching(scope, filter) else {
        return Ok(page.finish(Vec::new(), |r: &UserRow| &r.id));
    };
    let mut q = q.select(UserRow::as_select());
    if let Some(after) = &page.after {
        q = q.filter(users::id.gt(after.clone()));
    }
    let rows = q
        .order(users::id.asc())
        .limit(page.fetch_limit())
        .load(conn)?;
    Ok(page.finish(rows, |r| &r.id))
}

/// How many users in `scope` match `filter`.
pub fn count(conn: &mut DbConnection, scope: &Scope, filter: &UserFilter) -> StoreResult<u64> {
    let Some(q) = matching(scope, filter) else {
        return Ok(0);
    };
    let n: i64 = q.count().get_result(conn)?;
    Ok(n.max(0) as u64)
}
