//! Finding household files: the list with its filters, and its count.

use super::*;

/// A household as a list shows it: the stored row without the two columns no list shows, the
/// organisation's materialised path (about 110 bytes) and the encrypted bank account (about 100),
/// some two fifths of a stored row's bytes that every page of the list would otherwise carry from
/// the database and decode. The single read ([`get`]) has the whole row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = households)]
pub struct ListedHousehold {
    pub id: String,
    pub file_number: Option<String>,
    pub organisation_id: String,
    pub region_code: String,
    pub address: String,
    pub enterprise_id: Option<String>,
    pub worker_name: String,
    pub housing_type: String,
    pub housing_area_dm2: Option<i64>,
    pub bank_name: Option<String>,
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
    #[diesel(deserialize_as = crate::stamp::Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::stamp::Stamp)]
    pub updated_at: NaiveDateTime,
    pub resolved_causes: String,
    pub legal_dispute: bool,
}

impl From<HouseholdRow> for ListedHousehold {
    fn from(h: HouseholdRow) -> ListedHousehold {
        ListedHousehold {
            id: h.id,
            file_number: h.file_number,
            organisation_id: h.organisation_id,
            region_code: h.region_code,
            address: h.address,
            enterprise_id: h.enterprise_id,
            worker_name: h.worker_name,
            housing_type: h.housing_type,
            housing_area_dm2: h.housing_area_dm2,
            bank_name: h.bank_name,
            bank_account_masked: h.bank_account_masked,
            main_cause: h.main_cause,
            secondary_causes: h.secondary_causes,
            single_parent: h.single_parent,
            disability_household: h.disability_household,
            zero_employment: h.zero_employment,
            homes_count: h.homes_count,
            homes_area_dm2: h.homes_area_dm2,
            vehicles_count: h.vehicles_count,
            vehicle_disability_exempt: h.vehicle_disability_exempt,
            controlling_shareholder: h.controlling_shareholder,
            high_fee_schooling: h.high_fee_schooling,
            refuses_cooperation: h.refuses_cooperation,
            category: h.category,
            status: h.status,
            members_count: h.members_count,
            version: h.version,
            created_at: h.created_at,
            updated_at: h.updated_at,
            resolved_causes: h.resolved_causes,
            legal_dispute: h.legal_dispute,
        }
    }
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

/// The list on one concrete connection (`$conn` of backend `$db`), so that rows are decoded by the
/// backend itself rather than through the multi-backend wrapper. `$under` turns a path prefix into
/// the filter "in this subtree"; `$paths` are the prefixes to apply (the caller's scope, then the
/// organisation asked for).
macro_rules! list_on {
    ($conn:expr, $db:ty, $under:expr, $paths:expr, $filter:expr, $page:expr) => {{
        use households::dsl as h;
        let (filter, page): (&HouseholdFilter, &PageRequest) = ($filter, $page);
        let mut q = h::households
            .select(ListedHousehold::as_select())
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
            .load::<ListedHousehold>($conn)?
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
) -> StoreResult<Page<ListedHousehold>> {
    let mut paths = Vec::with_capacity(2);
    match scope {
        Scope::Subtree { path, .. } => paths.push(path.clone()),
        Scope::Region(_) => return Ok(page.finish(Vec::new(), |r: &ListedHousehold| &r.id)),
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
            None => return Ok(page.finish(Vec::new(), |r: &ListedHousehold| &r.id)),
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
