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

/// The PostgreSQL list: one fixed statement whose optional filters are `$n IS NULL OR …`, so
/// that it is prepared once per connection (diesel caches it: every part of it is typed) and
/// planned as an ordered primary-key scan that stops after a page, instead of being parsed and
/// planned anew for every combination of filters; its rows are read by position.
fn list_postgres(
    c: &mut diesel::PgConnection,
    scope_prefix: &str,
    organisation_prefix: Option<String>,
    filter: &HouseholdFilter,
    page: &PageRequest,
) -> StoreResult<Vec<HouseholdRow>> {
    use diesel::sql_types::{BigInt, Bool, Nullable, Text};
    use households::dsl as h;
    let text = |v: Option<String>| v.into_sql::<Nullable<Text>>();
    let flag = |v: Option<bool>| v.into_sql::<Nullable<Bool>>();
    let (organisation, region) = (
        organisation_prefix.map(|p| format!("{p}%")),
        filter
            .region
            .as_ref()
            .map(|r| crate::like_prefix(r.prefix())),
    );
    let cause = filter.main_cause.into_sql::<Nullable<BigInt>>();
    Ok(h::households
        .select(HouseholdRow::as_select())
        .filter(h::organisation_path.like(format!("{scope_prefix}%")))
        .filter(
            text(organisation.clone())
                .is_null()
                .or(h::organisation_path.nullable().like(text(organisation))),
        )
        .filter(
            text(region.clone())
                .is_null()
                .or(h::region_code.nullable().like(text(region))),
        )
        .filter(
            text(filter.category.clone())
                .is_null()
                .or(h::category.eq(text(filter.category.clone()))),
        )
        .filter(
            text(filter.status.clone())
                .is_null()
                .or(h::status.nullable().eq(text(filter.status.clone()))),
        )
        .filter(cause.is_null().or(h::main_cause.nullable().eq(cause)))
        .filter(
            flag(filter.single_parent)
                .is_null()
                .or(h::single_parent.nullable().eq(flag(filter.single_parent))),
        )
        .filter(
            flag(filter.disability_household)
                .is_null()
                .or(h::disability_household
                    .nullable()
                    .eq(flag(filter.disability_household))),
        )
        .filter(
            flag(filter.zero_employment).is_null().or(h::zero_employment
                .nullable()
                .eq(flag(filter.zero_employment))),
        )
        .filter(
            text(page.after.clone())
                .is_null()
                .or(h::id.nullable().gt(text(page.after.clone()))),
        )
        .order(h::id.asc())
        .limit(page.fetch_limit())
        .load(c)?)
}

pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &HouseholdFilter,
    page: &PageRequest,
) -> StoreResult<Page<HouseholdRow>> {
    use households::dsl as h;
    if let DbConnection::Postgres(c) = conn {
        let scope_prefix = match scope {
            Scope::Subtree { path, .. } => path.clone(),
            Scope::Region(_) => return Ok(page.finish(Vec::new(), |r: &HouseholdRow| &r.id)),
            Scope::All => String::new(),
        };
        let organisation_prefix = match &filter.organisation_id {
            Some(org) => match organisations::table
                .filter(organisations::id.eq(org))
                .select(organisations::path)
                .first::<String>(c)
                .optional()?
            {
                Some(p) => Some(p),
                None => return Ok(page.finish(Vec::new(), |r: &HouseholdRow| &r.id)),
            },
            None => None,
        };
        let rows = list_postgres(c, &scope_prefix, organisation_prefix, filter, page)?;
        return Ok(page.finish(rows, |r| &r.id));
    }
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    let mut q = h::households.select(HouseholdRow::as_select()).into_boxed();
    let under = |q: households::BoxedQuery<'static, Backend, HouseholdSelection>,
                 prefix: String| {
        if sqlite {
            q.filter(crate::path_starts_with!(h::organisation_path, prefix))
        } else {
            q.filter(h::organisation_path.like(format!("{prefix}%")))
        }
    };
    match scope {
        Scope::Subtree { path, .. } => q = under(q, path.clone()),
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
            Some(p) => q = under(q, p),
            None => return Ok(page.finish(Vec::new(), |r: &HouseholdRow| &r.id)),
        }
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
    let rows = q.order(h::id.asc()).limit(page.fetch_limit()).load(conn)?;
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
