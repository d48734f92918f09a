//! Consents (授权书): each member's signed authorisation to check their data with departments.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::access::join_list;
use jiekun_domain::verification::{check_signer, Cover, DataDomain, SignerError, Uncovered};
use serde_json::json;

use super::{domains_of, ConsentRow, Doer, MeasureError, MeasureResult};
use crate::conn::DbConnection;
use crate::households::{self as hstore, HouseholdRow, MemberRow};
use crate::measures::{found, invalid, record, wrong_state, Record};
use crate::schema::consents;

/// A consent as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsent {
    pub member_id: String,
    /// The member who signed: the member, or an adult member as guardian for a minor.
    pub signed_by_member_id: Option<String>,
    pub number: String,
    pub signed_on: NaiveDate,
    pub domains: Vec<DataDomain>,
    pub evidence: String,
}

/// The household (in the doer's scope) and its members.
pub(crate) fn household_with_members(
    c: &mut DbConnection,
    doer: &Doer,
    household_id: &str,
) -> MeasureResult<(HouseholdRow, Vec<MemberRow>)> {
    let h = found(hstore::get(c, &doer.scope, household_id), "household")?;
    let members = hstore::members(c, &h.id)?;
    Ok((h, members))
}

/// Every consent of a household, standing and revoked, in the order recorded.
pub fn list(
    c: &mut DbConnection,
    doer: &Doer,
    household_id: &str,
) -> MeasureResult<Vec<ConsentRow>> {
    let (h, _) = household_with_members(c, doer, household_id)?;
    of_household(c, &h.id)
}

pub(crate) fn of_household(
    c: &mut DbConnection,
    household_id: &str,
) -> MeasureResult<Vec<ConsentRow>> {
    Ok(consents::table
        .filter(consents::household_id.eq(household_id))
        .order((consents::created_at.asc(), consents::id.asc()))
        .select(ConsentRow::as_select())
        .load(c)?)
}

/// Records a signed consent for a member of the household.
pub fn record_consent(
    c: &mut DbConnection,
    doer: &Doer,
    (at, today): (NaiveDateTime, NaiveDate),
    household_id: &str,
    input: &NewConsent,
) -> MeasureResult<ConsentRow> {
    let (h, members) = household_with_members(c, doer, household_id)?;
    let member = members
        .iter()
        .find(|m| m.id == input.member_id)
        .ok_or_else(|| {
            invalid(
                "member_id",
                "unknown_member",
                "no member of this household has this id",
                "该家庭没有此成员",
            )
        })?;
    let signer_id = input
        .signed_by_member_id
        .clone()
        .unwrap_or_else(|| member.id.clone());
    let signer = members.iter().find(|m| m.id == signer_id).ok_or_else(|| {
        invalid(
            "signed_by_member_id",
            "unknown_member",
            "no member of this household has this id",
            "该家庭没有此成员",
        )
    })?;
    if input.signed_on > today {
        return Err(invalid(
            "signed_on",
            "in_future",
            "the signing date cannot be in the future",
            "签署日期不能晚于今天",
        ));
    }
    if input.signed_on < member.birth_date {
        return Err(invalid(
            "signed_on",
            "before_birth",
            "the signing date cannot be before the member's birth",
            "签署日期不能早于成员出生日期",
        ));
    }
    check_signer(
        member.birth_date,
        signer.id == member.id,
        signer.birth_date,
        input.signed_on,
    )
    .map_err(|e| match e {
        SignerError::AdultSignsForSelf => invalid(
            "signed_by_member_id",
            "adult_signs_for_self",
            format!("{} is an adult and signs their own consent", member.name),
            format!("{}已成年，须本人签署授权书", member.name),
        ),
        SignerError::GuardianNotAdult => invalid(
            "signed_by_member_id",
            "guardian_required",
            format!(
                "{} is a minor: an adult member of the household signs as guardian",
                member.name
            ),
            format!(
                "{}未成年，须由家庭中的成年成员作为监护人代为签署",
                member.name
            ),
        ),
    })?;
    let row = ConsentRow {
        id: crate::new_id(),
        household_id: h.id.clone(),
        member_id: member.id.clone(),
        signed_by_member_id: signer.id.clone(),
        number: input.number.clone(),
        signed_on: input.signed_on,
        domains: join_list(&input.domains),
        evidence: input.evidence.clone(),
        revoked_at: None,
        revoke_reason: None,
        created_by: doer.name.clone(),
        created_at: at,
    };
    diesel::insert_into(consents::table)
        .values(&row)
        .execute(c)?;
    record(
        c,
        doer,
        at,
        Record {
            subject_kind: "consent",
            subject_id: &row.id,
            household_id: &h.id,
            action: "record",
            from: None,
            to: None,
            opinion: None,
            audit_action: "consent.record",
            changes: json!({"household_id": h.id, "member_id": row.member_id,
                "signed_by_member_id": row.signed_by_member_id, "number": row.number,
                "signed_on": row.signed_on, "domains": domains_of(&row.domains)}),
        },
    )?;
    Ok(row)
}

/// Revokes a standing consent: verification requests made after it no longer rely on it.
pub fn revoke(
    c: &mut DbConnection,
    doer: &Doer,
    at: NaiveDateTime,
    household_id: &str,
    id: &str,
    reason: &str,
) -> MeasureResult<ConsentRow> {
    let (h, _) = household_with_members(c, doer, household_id)?;
    let row: ConsentRow = consents::table
        .find(id)
        .filter(consents::household_id.eq(&h.id))
        .select(ConsentRow::as_select())
        .first(c)
        .optional()?
        .ok_or(MeasureError::NotFound("consent"))?;
    if row.revoked_at.is_some() {
        return Err(wrong_state(
            "this consent is already revoked",
            "该授权书已撤销",
        ));
    }
    diesel::update(consents::table.find(&row.id))
        .set((
            consents::revoked_at.eq(Some(at)),
            consents::revoke_reason.eq(Some(reason)),
        ))
        .execute(c)?;
    record(
        c,
        doer,
        at,
        Record {
            subject_kind: "consent",
            subject_id: &row.id,
            household_id: &h.id,
            action: "revoke",
            from: None,
            to: None,
            opinion: Some(reason),
            audit_action: "consent.revoke",
            changes: json!({"household_id": h.id, "member_id": row.member_id}),
        },
    )?;
    Ok(ConsentRow {
        revoked_at: Some(at),
        revoke_reason: Some(reason.to_owned()),
        ..row
    })
}

/// The members (of `member_ids`) whose standing consents leave some of `wanted` uncovered.
pub(crate) fn uncovered(
    c: &mut DbConnection,
    household_id: &str,
    member_ids: &[&str],
    wanted: &[DataDomain],
) -> MeasureResult<Vec<Uncovered>> {
    let rows = of_household(c, household_id)?;
    let covers: Vec<Cover<'_>> = rows
        .iter()
        .filter(|r| r.revoked_at.is_none())
        .map(|r| Cover {
            member_id: r.member_id.as_str(),
            domains: domains_of(&r.domains),
        })
        .collect();
    Ok(jiekun_domain::verification::uncovered(
        member_ids, &covers, wanted,
    ))
}
