//! Visits logged against an assignment (《实施方案》三(七)14), and their lists.

use super::*;

/// Records a visit of an assignment the scope sees, and audits it. The household or enterprise
/// must be the assignment's; the activity type on the county's list (policy
/// `contact_activity_types`); the date within the assignment's period and not in the future; a
/// referral or assistance record that followed must be of the same household.
pub fn record_visit(
    c: &mut DbConnection,
    caller: &Caller,
    by: &str,
    scope: &Scope,
    (at, today): (NaiveDateTime, NaiveDate),
    book: &PolicyBook,
    new: &NewVisit,
) -> ContactResult<VisitRow> {
    let a = get(c, scope, &new.assignment_id).map_err(|e| match e {
        ContactError::NotFound(_) => invalid(
            "assignment_id",
            "not_found",
            "no such assignment in your scope",
            "您的管辖范围内无此联系",
        ),
        e => e,
    })?;
    if new.household_id != a.household_id {
        return Err(invalid(
            "household_id",
            "not_the_assignments",
            match &a.household_id {
                Some(_) => "not the household of the assignment",
                None => "the assignment is with an enterprise, not a household",
            },
            match &a.household_id {
                Some(_) => "不是该联系对应的家庭",
                None => "该联系的对象是企业而非家庭",
            },
        ));
    }
    if new.enterprise_id != a.enterprise_id {
        return Err(invalid(
            "enterprise_id",
            "not_the_assignments",
            match &a.enterprise_id {
                Some(_) => "not the enterprise of the assignment",
                None => "the assignment is with a household, not an enterprise",
            },
            match &a.enterprise_id {
                Some(_) => "不是该联系对应的企业",
                None => "该联系的对象是家庭而非企业",
            },
        ));
    }
    if new.visited_on > today {
        return Err(invalid(
            "visited_on",
            "in_future",
            "a visit cannot be dated after today",
            "走访日期不能晚于今天",
        ));
    }
    if new.visited_on < a.valid_from || a.valid_until.is_some_and(|u| new.visited_on > u) {
        let until = a.valid_until.map_or("open".to_owned(), |u| u.to_string());
        let until_zh = a.valid_until.map_or("至今".to_owned(), |u| u.to_string());
        return Err(invalid(
            "visited_on",
            "outside_assignment",
            format!("outside the assignment's period {} – {until}", a.valid_from),
            format!("不在联系期间（{} 至 {until_zh}）内", a.valid_from),
        ));
    }
    let policy = book
        .contacts(&a.region_code, new.visited_on)
        .map_err(|e| StoreError::Config(e.to_string()))?;
    if !policy.activity_types.contains(&new.activity_type) {
        return Err(ContactError::UnknownActivity {
            allowed: policy.activity_types,
        });
    }
    if let Some(r) = &new.referral_id {
        use crate::schema::referrals as rf;
        let of: Option<String> = rf::table
            .find(r)
            .select(rf::household_id)
            .first(c)
            .optional()?;
        if of.is_none() || of != a.household_id {
            return Err(invalid(
                "referral_id",
                "not_found",
                "no such referral of the assignment's household",
                "该联系对应的家庭无此转介",
            ));
        }
    }
    if let Some(r) = &new.assistance_id {
        use crate::schema::assistance_records as ar;
        let of: Option<String> = ar::table
            .find(r)
            .select(ar::household_id)
            .first(c)
            .optional()?;
        if of.is_none() || of != a.household_id {
            return Err(invalid(
                "assistance_id",
                "not_found",
                "no such assistance record of the assignment's household",
                "该联系对应的家庭无此帮扶记录",
            ));
        }
    }
    let row = VisitRow {
        id: crate::new_id(),
        assignment_id: a.id,
        organisation_path: a.organisation_path,
        household_id: a.household_id,
        enterprise_id: a.enterprise_id,
        visited_on: new.visited_on,
        activity_type: new.activity_type.clone(),
        notes: new.notes.clone(),
        referral_id: new.referral_id.clone(),
        assistance_id: new.assistance_id.clone(),
        created_by: by.to_owned(),
        created_at: at,
    };
    diesel::insert_into(cv::table).values(&row).execute(c)?;
    audit::append(
        c,
        caller.event(
            "contact.visit",
            "contact_visit",
            &row.id,
            json!({"assignment_id": row.assignment_id, "visited_on": row.visited_on,
                "activity_type": row.activity_type, "referral_id": row.referral_id,
                "assistance_id": row.assistance_id}),
        ),
    )?;
    Ok(row)
}

/// Filters of the list of visits.
#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    pub assignment_id: Option<String>,
    pub household_id: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

macro_rules! visits_visible {
    ($scope:expr, $f:expr) => {{
        let mut q = cv::table.into_boxed();
        match $scope {
            Scope::All => {}
            Scope::Region(_) => q = q.filter(cv::id.eq("\u{0}")),
            Scope::Subtree { path, .. } => {
                q = q.filter(cv::organisation_path.like(crate::like_prefix(path)))
            }
        }
        if let Some(a) = &$f.assignment_id {
            q = q.filter(cv::assignment_id.eq(a.clone()));
        }
        if let Some(h) = &$f.household_id {
            q = q.filter(cv::household_id.eq(h.clone()));
        }
        if let Some(d) = $f.from {
            q = q.filter(cv::visited_on.ge(d));
        }
        if let Some(d) = $f.to {
            q = q.filter(cv::visited_on.le(d));
        }
        q
    }};
}

pub fn list_visits(
    c: &mut DbConnection,
    scope: &Scope,
    filter: &VisitFilter,
    page: &PageRequest,
) -> ContactResult<Page<VisitRow>> {
    let mut q = visits_visible!(scope, filter);
    if let Some(after) = &page.after {
        q = q.filter(cv::id.gt(after.clone()));
    }
    let rows = q
        .order(cv::id.asc())
        .limit(page.fetch_limit())
        .select(VisitRow::as_select())
        .load(c)?;
    Ok(page.finish(rows, |r| &r.id))
}

pub fn count_visits(
    c: &mut DbConnection,
    scope: &Scope,
    filter: &VisitFilter,
) -> ContactResult<u64> {
    let n: i64 = visits_visible!(scope, filter).count().get_result(c)?;
    Ok(n as u64)
}
