//! The gaps of dual contact in a scope: what the rules of `jiekun_domain::contact::gaps` read
//! from the store, and their answer.

use super::*;

/// What the gap rules look at in a scope: its assignments with their latest visit, its county
/// unions and its filed households; with the region of each assignment, for the policy's N.
pub fn gap_input(
    c: &mut DbConnection,
    scope: &Scope,
) -> ContactResult<(GapInput, std::collections::HashMap<String, String>)> {
    use crate::schema::{households as h, organisations as o};
    let none = AssignmentFilter::default();
    let rows: Vec<AssignmentRow> = assignments_visible!(scope, none)
        .order(ca::id.asc())
        .select(AssignmentRow::as_select())
        .load(c)?;
    let latest = (cv::assignment_id, diesel::dsl::max(cv::visited_on));
    let last: Vec<(String, Option<NaiveDate>)> = match scope {
        Scope::Subtree { path, .. } => cv::table
            .filter(cv::organisation_path.like(crate::like_prefix(path)))
            .group_by(cv::assignment_id)
            .select(latest)
            .load(c)?,
        _ => cv::table
            .group_by(cv::assignment_id)
            .select(latest)
            .load(c)?,
    };
    let last: std::collections::HashMap<String, Option<NaiveDate>> = last.into_iter().collect();
    // A person named is known by the county and name, and keyed by their first assignment.
    let mut named: std::collections::HashMap<(String, String), String> =
        std::collections::HashMap::new();
    for r in rows.iter().filter(|r| r.contact_user_id.is_none()) {
        named
            .entry((r.county_id.clone(), r.contact_name.clone()))
            .or_insert_with(|| r.id.clone());
    }
    let mut regions = std::collections::HashMap::new();
    let mut assignments = Vec::with_capacity(rows.len());
    for r in rows {
        let kind = r
            .kind
            .parse()
            .map_err(|_| StoreError::Config(format!("stored contact kind {}", r.kind)))?;
        regions.insert(r.id.clone(), r.region_code.clone());
        assignments.push(Assignment {
            last_visit: last.get(&r.id).copied().flatten(),
            contact_key: match &r.contact_user_id {
                Some(u) => u.clone(),
                None => named
                    .get(&(r.county_id.clone(), r.contact_name.clone()))
                    .cloned()
                    .unwrap_or_else(|| r.id.clone()),
            },
            id: r.id,
            kind,
            county_id: r.county_id,
            contact_name: r.contact_name,
            household_id: r.household_id,
            enterprise_id: r.enterprise_id,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
        });
    }
    let mut counties = o::table
        .filter(o::kind.eq("county_federation"))
        .select((o::id, o::name))
        .order(o::id.asc())
        .into_boxed();
    let mut filed = h::table
        .filter(h::status.eq("filed"))
        .select((h::id, h::file_number))
        .order(h::id.asc())
        .into_boxed();
    match scope {
        Scope::All => {}
        Scope::Region(_) => return Ok((GapInput::default(), regions)),
        Scope::Subtree { path, .. } => {
            counties = counties.filter(o::path.like(crate::like_prefix(path)));
            filed = filed.filter(h::organisation_path.like(crate::like_prefix(path)));
        }
    }
    Ok((
        GapInput {
            assignments,
            counties: counties.load(c)?,
            filed_households: filed.load(c)?,
        },
        regions,
    ))
}

/// The gaps of a scope on `today` (see `jiekun_domain::contact::gaps`), N read from the policy
/// book for each assignment's region.
pub fn gaps(
    c: &mut DbConnection,
    scope: &Scope,
    today: NaiveDate,
    book: &PolicyBook,
) -> ContactResult<Vec<contact::Gap>> {
    let (input, regions) = gap_input(c, scope)?;
    let n = |a: &Assignment| {
        regions
            .get(&a.id)
            .and_then(|r| book.contacts(r, today).ok())
            .map_or(90, |p| p.visit_gap_days)
    };
    Ok(contact::gaps(&input, today, n))
}
