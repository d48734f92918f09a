//! What the plan rules look at in a stored household: its file, its members' health (decrypted in
//! memory only), its employer, its income against the 低保 standard, and the ledger.

use chrono::NaiveDate;
use jiekun_domain::household::{HouseholdStatus, SchoolingLevel};
use jiekun_domain::rules::identify;
use jiekun_domain::rules::plan::{propose, PlanFacts, PlanMember};

use super::assistance::coverage;
use super::plans::{household, Proposal};
use super::{MeasureError, MeasureResult};
use crate::conn::DbConnection;
use crate::crypto::FieldCipher;
use crate::households::{self as hstore, health_context, HouseholdRow, MemberRow};
use crate::{rules, Scope};

/// The health facts the plan rules need from a member's encrypted health record.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct HealthFacts {
    status: Option<String>,
    disability_grade: Option<u8>,
    long_term_care: bool,
}

fn health(cipher: &FieldCipher, m: &MemberRow) -> MeasureResult<HealthFacts> {
    let Some(enc) = &m.health_enc else {
        return Ok(HealthFacts::default());
    };
    let text = cipher
        .decrypt(&health_context(&m.id), enc)
        .map_err(|e| MeasureError::Policy(format!("health of {}: {e}", m.id)))?;
    serde_json::from_str(&text).map_err(|e| MeasureError::Policy(format!("health: {e}")))
}

fn member(cipher: &FieldCipher, m: &MemberRow) -> MeasureResult<PlanMember> {
    let bad = |what: &str| MeasureError::Policy(format!("stored {what} of {} unreadable", m.id));
    let h = health(cipher, m)?;
    let schooling_level: Option<SchoolingLevel> =
        m.schooling_level.as_deref().and_then(|l| l.parse().ok());
    Ok(PlanMember {
        id: m.id.clone(),
        relation: m.relation.parse().map_err(|_| bad("relation"))?,
        included: m.included,
        birth_date: m.birth_date,
        work_status: m.work_status.parse().map_err(|_| bad("work status"))?,
        health: h.status.as_deref().and_then(|s| s.parse().ok()),
        disability_grade: h.disability_grade,
        long_term_care: h.long_term_care,
        admitted_higher_education: false,
        schooling_level,
        has_business_plan: m.business_plan,
        pays_residents_pension: m.residents_pension,
        laid_off: m.laid_off,
    })
}

/// The plan facts of a household on `date`.
pub fn plan_facts(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    h: &HouseholdRow,
    date: NaiveDate,
) -> MeasureResult<PlanFacts> {
    let members = hstore::members(c, &h.id)?
        .iter()
        .map(|m| member(cipher, m))
        .collect::<MeasureResult<Vec<_>>>()?;
    let snapshot = rules::snapshot(c, cipher, &Scope::All, &h.id, date)?;
    let book = rules::policy_book(c)?;
    let resolved = book
        .resolve(&h.region_code, date)
        .map_err(|e| MeasureError::Policy(e.to_string()))?;
    let decision = identify(&snapshot, &resolved);
    let f = &decision.figures;
    // Per-capita income below the standard, compared without division: net < standard × n × 12.
    let below = f.members_counted > 0
        && i128::from(f.net_income_fen)
            < i128::from(f.standard_fen) * i128::from(f.members_counted) * 12;
    let ledger = coverage(c, &h.id, date)?;
    let difficult = match &h.enterprise_id {
        Some(e) => crate::enterprises::get(c, &Scope::All, e).is_ok_and(|e| e.difficult),
        None => false,
    };
    let meets_special_hardship = jiekun_domain::assistance::special_hardship_conditions(
        members
            .iter()
            .filter(|m| m.included)
            .map(|m| (m.birth_date, m.work_status, m.health)),
        date,
        f.annual_income_fen,
    );
    Ok(PlanFacts {
        assessment_date: date,
        filed: h.status == HouseholdStatus::Filed.as_str(),
        per_capita_below_dibao: below,
        receives_dibao: snapshot.assistance.dibao || ledger.dibao,
        receives_special_hardship: snapshot.assistance.special_hardship || ledger.special_hardship,
        meets_special_hardship,
        enterprise_in_difficulty: difficult,
        legal_dispute: h.legal_dispute,
        members,
    })
}

/// Runs the plan rules over the household's facts and stores their proposals (see
/// [`super::plans::propose`]).
pub fn propose_from_facts(
    c: &mut DbConnection,
    doer: &super::Doer,
    cipher: &FieldCipher,
    at: chrono::NaiveDateTime,
    today: NaiveDate,
    household_id: &str,
    expected: Option<i64>,
) -> MeasureResult<super::plans::PlanView> {
    let h = household(c, &doer.scope, household_id)?;
    let facts = plan_facts(c, cipher, &h, today)?;
    let proposals: Vec<Proposal> = propose(&facts)
        .into_iter()
        .map(|p| Proposal {
            measure: i64::from(p.measure.number()),
            member_ids: p.member_ids,
            reasons: serde_json::to_value(&p.reasons).unwrap_or_default(),
        })
        .collect();
    super::plans::propose(c, doer, at, today, household_id, expected, &proposals)
}
