//! Finding household files: the list with its filters, and its count.

use super::*;

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

/// The list on one concrete connection (`$conn` of backend `$db`), so that rows are decoded by the
/// backend itself rather than through the multi-backend wrapper. `$under` turns a path prefix into
/// the filter "in this subtree"; `$paths` are the prefixes to apply (the caller's scope, then the
/// organisation asked for).
macro_rules! list_on {
    ($conn:expr, $db:ty, $under:expr, $paths:expr, $filter:expr, $page:expr) => {{
        use households::dsl as h;
        let (filter, page): (&HouseholdFilter, &PageRequest) = ($filter, $page);
        let mut q = h::households
            .select(HouseholdRow::as_select())
            .into_boxed::<$db>();
        for prefix in $paths {
            q = q.filter($under(prefix));
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
        q.order(h::id.asc())
            .limit(page.fetch_limit())
            .load::<HouseholdRow>($conn)?
    }};
}

/// The list: one statement per shape of filter, carrying only the filters asked for, in id order
/// after the cursor. Diesel keeps each shape's prepared statement on its connection (keyed by its
/// text), so a shape is parsed once per connection; on PostgreSQL each shape gets a plan of its
/// own, which can walk the `(column, id)` index of its most selective filter instead of the
/// primary key (see `conn.rs` for the planner's cost of a random read).
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &HouseholdFilter,
    page: &PageRequest,
) -> StoreResult<Page<HouseholdRow>> {
    let mut paths = Vec::with_capacity(2);
    match scope {
        Scope::Subtree { path, .. } => paths.push(path.clone()),
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
            Some(p) => paths.push(p),
            None => return Ok(page.finish(Vec::new(), |r: &HouseholdRow| &r.id)),
        }
    }
    let rows = match conn {
        DbConnection::Sqlite(c) => list_on!(
            c,
            diesel::sqlite::Sqlite,
            |prefix: String| crate::path_starts_with!(households::organisation_path, prefix),
            paths,
            filter,
            page
        ),
        DbConnection::Postgres(c) => list_on!(
            c,
            diesel::pg::Pg,
            |prefix: String| households::organisation_path.like(format!("{prefix}%")),
            paths,
            filter,
            page
        ),
    };
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
