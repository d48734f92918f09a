//! Who a campaign is for, read from the registry a batch of households at a time: the filed
//! households of the part of its tree the caller sees, their members' schooling and (only for the
//! illness rule, decrypted in memory) health, judged by the domain's rule.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use jiekun_domain::campaign::{
    eligible as judge, AmountRule, CampaignHousehold, CampaignMember, Eligibility, EligibilityRule,
    EligibleBecause,
};
use jiekun_domain::household::{Category, HouseholdStatus};

use super::{reach, CampaignError, CampaignResult, CampaignRow};
use crate::conn::DbConnection;
use crate::crypto::FieldCipher;
use crate::households::health_context;
use crate::organisations::OrganisationRow;
use crate::page::{Page, PageRequest};
use crate::schema::{campaign_payments as pay, campaign_quotas as q, household_members as m};
use crate::schema::{households as h, organisations as o};
use crate::{Scope, StoreError};

/// Households read per query while looking for eligible ones.
const BATCH: i64 = 500;

/// What a campaign reads of a household.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = h)]
pub struct HouseholdFacts {
    pub id: String,
    pub file_number: Option<String>,
    pub organisation_id: String,
    pub organisation_path: String,
    pub category: Option<String>,
    pub status: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = m)]
struct MemberFacts {
    id: String,
    household_id: String,
    relation: String,
    included: bool,
    health_enc: Option<String>,
    schooling_level: Option<String>,
    school_year: Option<i64>,
}

/// An eligible household, why, what it is due and whether it has been paid.
#[derive(Debug, Clone, PartialEq)]
pub struct EligibleHousehold {
    pub household: HouseholdFacts,
    pub because: EligibleBecause,
    /// `None` when the amount goes by category and the household has none.
    pub amount_fen: Option<i64>,
    pub paid: bool,
}

fn category_of(s: &Option<String>) -> Option<Category> {
    s.as_deref().and_then(|c| c.parse().ok())
}

fn health_status(
    cipher: &FieldCipher,
    member: &MemberFacts,
) -> CampaignResult<Option<jiekun_domain::household::HealthStatus>> {
    let Some(enc) = &member.health_enc else {
        return Ok(None);
    };
    let bad = || StoreError::Config(format!("stored health of {} unreadable", member.id));
    let text = cipher
        .decrypt(&health_context(&member.id), enc)
        .map_err(|_| bad())?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| bad())?;
    Ok(v["status"].as_str().and_then(|s| s.parse().ok()))
}

/// Judges a batch of households (in id order) against the rule.
fn judge_batch(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    rule: &Eligibility,
    batch: Vec<HouseholdFacts>,
) -> CampaignResult<Vec<(HouseholdFacts, EligibleBecause)>> {
    let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
        return Ok(Vec::new());
    };
    // The category rule needs no member; the others read the members of the batch's id range.
    let mut members: HashMap<String, Vec<MemberFacts>> = HashMap::new();
    if rule.rule != EligibilityRule::FiledCategory {
        let rows: Vec<MemberFacts> = m::table
            .filter(m::household_id.between(&first.id, &last.id))
            .select(MemberFacts::as_select())
            .load(c)?;
        for r in rows {
            members.entry(r.household_id.clone()).or_default().push(r);
        }
    }
    let read_health = rule.rule == EligibilityRule::SeriousIllness;
    let mut out = Vec::new();
    for hh in batch {
        let ms = members.remove(&hh.id).unwrap_or_default();
        let mut facts = CampaignHousehold {
            filed: hh.status == HouseholdStatus::Filed.as_str(),
            category: category_of(&hh.category),
            members: Vec::with_capacity(ms.len()),
        };
        for mf in &ms {
            facts.members.push(CampaignMember {
                relation: mf.relation.parse().map_err(|_| {
                    StoreError::Config(format!("stored relation of {} unreadable", mf.id))
                })?,
                included: mf.included,
                health: if read_health {
                    health_status(cipher, mf)?
                } else {
                    None
                },
                schooling_level: mf.schooling_level.as_deref().and_then(|l| l.parse().ok()),
                school_year: mf.school_year,
            });
        }
        if let Some(because) = judge(rule, &facts) {
            out.push((hh, because));
        }
    }
    Ok(out)
}

/// The filed households under `prefix` after `after`, in id order, `BATCH` at a time.
fn filed_after(
    c: &mut DbConnection,
    prefix: &str,
    rule: &Eligibility,
    after: Option<&str>,
) -> CampaignResult<Vec<HouseholdFacts>> {
    let mut query = h::table
        .filter(h::organisation_path.like(crate::like_prefix(prefix)))
        .filter(h::status.eq(HouseholdStatus::Filed.as_str()))
        .into_boxed();
    if !rule.categories.is_empty() {
        let cats: Vec<&str> = rule.categories.iter().map(|c| c.as_str()).collect();
        query = query.filter(h::category.eq_any(cats));
    }
    if let Some(a) = after {
        query = query.filter(h::id.gt(a.to_owned()));
    }
    Ok(query
        .order(h::id.asc())
        .limit(BATCH)
        .select(HouseholdFacts::as_select())
        .load(c)?)
}

/// Whether a household of the campaign is eligible, and why (for a payment).
pub fn household_eligibility(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    campaign: &CampaignRow,
    household_id: &str,
) -> CampaignResult<Option<(HouseholdFacts, EligibleBecause)>> {
    let hh: HouseholdFacts = h::table
        .find(household_id)
        .select(HouseholdFacts::as_select())
        .first(c)?;
    let mut found = judge_batch(c, cipher, &campaign.eligibility()?, vec![hh])?;
    Ok(found.pop())
}

fn paid_among(
    c: &mut DbConnection,
    campaign_id: &str,
    ids: &[&str],
) -> CampaignResult<HashSet<String>> {
    Ok(pay::table
        .filter(pay::campaign_id.eq(campaign_id))
        .filter(pay::household_id.eq_any(ids))
        .select(pay::household_id)
        .load::<String>(c)?
        .into_iter()
        .collect())
}

/// A page of the eligible households of the campaign the scope sees, in id order; `paid` keeps
/// only those paid (`true`) or not yet paid (`false`).
pub fn page(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    scope: &Scope,
    campaign_id: &str,
    paid: Option<bool>,
    page: &PageRequest,
) -> CampaignResult<(CampaignRow, Page<EligibleHousehold>)> {
    let campaign = super::get(c, scope, campaign_id)?;
    let prefix =
        reach(scope, &campaign.organisation_path).ok_or(CampaignError::NotFound("campaign"))?;
    let (rule, amount) = (campaign.eligibility()?, campaign.amount()?);
    let want = page.fetch_limit() as usize;
    let mut found: Vec<EligibleHousehold> = Vec::new();
    let mut after = page.after.clone();
    while found.len() < want {
        let batch = filed_after(c, &prefix, &rule, after.as_deref())?;
        let Some(last) = batch.last().map(|b| b.id.clone()) else {
            break;
        };
        let done = (batch.len() as i64) < BATCH;
        let hits = judge_batch(c, cipher, &rule, batch)?;
        let ids: Vec<&str> = hits.iter().map(|(hh, _)| hh.id.as_str()).collect();
        let paid_ids = paid_among(c, campaign_id, &ids)?;
        for (hh, because) in hits {
            let is_paid = paid_ids.contains(&hh.id);
            if paid.is_some_and(|p| p != is_paid) {
                continue;
            }
            found.push(shown(hh, because, amount, is_paid));
        }
        if done {
            break;
        }
        after = Some(last);
    }
    found.truncate(want);
    Ok((campaign, page.finish(found, |e| &e.household.id)))
}

/// How many eligible households the campaign has in the scope (paid, not yet paid, or both).
pub fn count(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    scope: &Scope,
    campaign_id: &str,
    paid: Option<bool>,
) -> CampaignResult<i64> {
    let campaign = super::get(c, scope, campaign_id)?;
    let prefix =
        reach(scope, &campaign.organisation_path).ok_or(CampaignError::NotFound("campaign"))?;
    let rule = campaign.eligibility()?;
    let mut n = 0i64;
    let mut after: Option<String> = None;
    loop {
        let batch = filed_after(c, &prefix, &rule, after.as_deref())?;
        let Some(last) = batch.last().map(|b| b.id.clone()) else {
            break;
        };
        let done = (batch.len() as i64) < BATCH;
        let hits = judge_batch(c, cipher, &rule, batch)?;
        let ids: Vec<&str> = hits.iter().map(|(hh, _)| hh.id.as_str()).collect();
        let paid_ids = paid_among(c, campaign_id, &ids)?;
        n += hits
            .iter()
            .filter(|(hh, _)| paid.is_none_or(|p| p == paid_ids.contains(&hh.id)))
            .count() as i64;
        if done {
            break;
        }
        after = Some(last);
    }
    Ok(n)
}

fn shown(
    hh: HouseholdFacts,
    because: EligibleBecause,
    amount: AmountRule,
    paid: bool,
) -> EligibleHousehold {
    EligibleHousehold {
        amount_fen: amount.amount_for(category_of(&hh.category)),
        household: hh,
        because,
        paid,
    }
}

/// Where one organisation of a campaign's tree stands. Figures include the organisation's
/// subtree.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub organisation: OrganisationRow,
    /// The campaign's union: the budget; `None` where no quota has been entered.
    pub quota_fen: Option<i64>,
    pub spent_fen: i64,
    pub households_paid: i64,
    pub eligible_unpaid: i64,
}

/// For each organisation of the campaign's tree the scope sees (in path order): its quota, what
/// it and its subtree have paid, to how many households, and how many eligible households there
/// are still unpaid.
pub fn progress(
    c: &mut DbConnection,
    cipher: &FieldCipher,
    scope: &Scope,
    campaign_id: &str,
) -> CampaignResult<(CampaignRow, Vec<Standing>)> {
    let campaign = super::get(c, scope, campaign_id)?;
    let prefix =
        reach(scope, &campaign.organisation_path).ok_or(CampaignError::NotFound("campaign"))?;
    let orgs: Vec<OrganisationRow> = o::table
        .filter(o::path.like(crate::like_prefix(&prefix)))
        .order(o::path.asc())
        .select(OrganisationRow::as_select())
        .load(c)?;
    let quotas: HashMap<String, i64> = q::table
        .filter(q::campaign_id.eq(campaign_id))
        .select((q::organisation_id, q::quota_fen))
        .load::<(String, i64)>(c)?
        .into_iter()
        .collect();
    // Payments and unpaid eligible households, by the path of their grassroots union.
    let mut spent: HashMap<String, (i64, i64)> = HashMap::new();
    let paid: Vec<(String, String, i64)> = pay::table
        .filter(pay::campaign_id.eq(campaign_id))
        .filter(pay::organisation_path.like(crate::like_prefix(&prefix)))
        .select((pay::household_id, pay::organisation_path, pay::amount_fen))
        .load(c)?;
    let paid_ids: HashSet<&str> = paid.iter().map(|(id, _, _)| id.as_str()).collect();
    for (_, path, amount) in &paid {
        let e = spent.entry(path.clone()).or_default();
        e.0 += amount;
        e.1 += 1;
    }
    let rule = campaign.eligibility()?;
    let mut unpaid: HashMap<String, i64> = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let batch = filed_after(c, &prefix, &rule, after.as_deref())?;
        let Some(last) = batch.last().map(|b| b.id.clone()) else {
            break;
        };
        let done = (batch.len() as i64) < BATCH;
        for (hh, _) in judge_batch(c, cipher, &rule, batch)? {
            if !paid_ids.contains(hh.id.as_str()) {
                *unpaid.entry(hh.organisation_path).or_default() += 1;
            }
        }
        if done {
            break;
        }
        after = Some(last);
    }
    let under = |path: &str| {
        let (mut s, mut n, mut u) = (0i64, 0i64, 0i64);
        for (p, (amount, count)) in &spent {
            if p.starts_with(path) {
                s += amount;
                n += count;
            }
        }
        for (p, count) in &unpaid {
            if p.starts_with(path) {
                u += count;
            }
        }
        (s, n, u)
    };
    let standings = orgs
        .into_iter()
        .map(|org| {
            let (spent_fen, households_paid, eligible_unpaid) = under(&org.path);
            let quota_fen = if org.id == campaign.organisation_id {
                Some(campaign.budget_fen)
            } else {
                quotas.get(&org.id).copied()
            };
            Standing {
                organisation: org,
                quota_fen,
                spent_fen,
                households_paid,
                eligible_unpaid,
            }
        })
        .collect();
    Ok((campaign, standings))
}

/// What the campaign's payments under `path` add up to (fen).
pub(crate) fn spent_under(
    c: &mut DbConnection,
    campaign_id: &str,
    path: &str,
) -> CampaignResult<i64> {
    let amounts: Vec<i64> = pay::table
        .filter(pay::campaign_id.eq(campaign_id))
        .filter(pay::organisation_path.like(crate::like_prefix(path)))
        .select(pay::amount_fen)
        .load(c)?;
    Ok(amounts.iter().sum())
}
