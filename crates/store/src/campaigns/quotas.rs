//! Quotas (名额、额度): the budget split down the union tree. The campaign's union holds the whole
//! budget; every organisation below gets its quota from its parent (entered by the parent's
//! admins, or those of a union above it). The quotas of an organisation's children never add up
//! to more than its own, a quota never falls below its children's or below what its subtree has
//! paid, and every change is audited.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::eligible::spent_under;
use super::{get_locked, CampaignError, CampaignResult, CampaignRow};
use crate::audit::{self, Caller};
use crate::conn::DbConnection;
use crate::organisations::{self, OrganisationRow};
use crate::schema::{campaign_quotas as q, campaigns as cp};
use crate::{Scope, StoreError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = q, treat_none_as_default_value = false)]
pub struct QuotaRow {
    pub campaign_id: String,
    pub organisation_id: String,
    pub organisation_path: String,
    pub parent_id: String,
    pub quota_fen: i64,
    pub updated_by: String,
    pub updated_at: NaiveDateTime,
}

/// The quotas entered for a campaign.
pub fn of_campaign(c: &mut DbConnection, campaign_id: &str) -> CampaignResult<Vec<QuotaRow>> {
    Ok(q::table
        .filter(q::campaign_id.eq(campaign_id))
        .select(QuotaRow::as_select())
        .load(c)?)
}

/// The quota of an organisation of the campaign: the budget for the campaign's union.
fn quota_of(
    c: &mut DbConnection,
    campaign: &CampaignRow,
    organisation_id: &str,
) -> CampaignResult<Option<i64>> {
    if organisation_id == campaign.organisation_id {
        return Ok(Some(campaign.budget_fen));
    }
    Ok(q::table
        .filter(q::campaign_id.eq(&campaign.id))
        .filter(q::organisation_id.eq(organisation_id))
        .select(q::quota_fen)
        .first(c)
        .optional()?)
}

fn sum_children(
    c: &mut DbConnection,
    campaign_id: &str,
    parent_id: &str,
    except: Option<&str>,
) -> CampaignResult<i64> {
    let rows: Vec<(String, i64)> = q::table
        .filter(q::campaign_id.eq(campaign_id))
        .filter(q::parent_id.eq(parent_id))
        .select((q::organisation_id, q::quota_fen))
        .load(c)?;
    Ok(rows
        .iter()
        .filter(|(id, _)| Some(id.as_str()) != except)
        .map(|(_, v)| v)
        .sum())
}

fn out_of_bounds(en: String, zh: String) -> CampaignError {
    CampaignError::QuotaOutOfBounds {
        message: en,
        message_zh: zh,
    }
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

/// Sets the quota of `organisation_id` in the campaign (expected at `version`), checked against
/// its parent's, its children's and what its subtree has paid; bumps the campaign's version.
#[allow(clippy::too_many_arguments)]
pub fn set(
    c: &mut DbConnection,
    caller: &Caller,
    by: &str,
    scope: &Scope,
    at: NaiveDateTime,
    (campaign_id, organisation_id): (&str, &str),
    version: i64,
    quota_fen: i64,
) -> CampaignResult<(CampaignRow, QuotaRow)> {
    let campaign = get_locked(c, scope, campaign_id)?;
    if campaign.version != version {
        return Err(CampaignError::Stale {
            expected: version,
            actual: campaign.version,
        });
    }
    let org = org(c, organisation_id)?;
    // Only the organisations below the campaign's union have quotas of their own.
    if !org.path.starts_with(&campaign.organisation_path) || org.id == campaign.organisation_id {
        return Err(CampaignError::NotFound("organisation"));
    }
    let parent_id = org
        .parent_id
        .clone()
        .ok_or(CampaignError::NotFound("organisation"))?;
    let parent = self::org(c, &parent_id)?;
    if !scope.covers_path(&parent.path) {
        return Err(CampaignError::Forbidden {
            message: format!(
                "the quota of {} is entered by its parent, {}, or a union above it",
                org.name, parent.name
            ),
            message_zh: format!("{}的额度由其上级{}或更上级工会分配", org.name, parent.name),
        });
    }
    let Some(parent_quota) = quota_of(c, &campaign, &parent.id)? else {
        return Err(out_of_bounds(
            format!(
                "{} has no quota of its own yet: enter its quota before its children's",
                parent.name
            ),
            format!("{}尚未分配额度，请先分配其额度再分配下级额度", parent.name),
        ));
    };
    let siblings = sum_children(c, &campaign.id, &parent.id, Some(&org.id))?;
    if siblings.saturating_add(quota_fen) > parent_quota {
        return Err(out_of_bounds(
            format!(
                "the quotas under {} would add up to {} yuan, more than its quota of {} yuan",
                parent.name,
                yuan(siblings.saturating_add(quota_fen)),
                yuan(parent_quota)
            ),
            format!(
                "{}下级额度合计将达 {} 元，超过其额度 {} 元",
                parent.name,
                yuan(siblings.saturating_add(quota_fen)),
                yuan(parent_quota)
            ),
        ));
    }
    let children = sum_children(c, &campaign.id, &org.id, None)?;
    if quota_fen < children {
        return Err(out_of_bounds(
            format!(
                "the quotas of {}'s children add up to {} yuan, more than {} yuan",
                org.name,
                yuan(children),
                yuan(quota_fen)
            ),
            format!(
                "{}下级额度合计 {} 元，超过 {} 元",
                org.name,
                yuan(children),
                yuan(quota_fen)
            ),
        ));
    }
    let spent = spent_under(c, &campaign.id, &org.path)?;
    if quota_fen < spent {
        return Err(out_of_bounds(
            format!(
                "{} and its subtree have paid {} yuan already, more than {} yuan",
                org.name,
                yuan(spent),
                yuan(quota_fen)
            ),
            format!(
                "{}及下级已发放 {} 元，超过 {} 元",
                org.name,
                yuan(spent),
                yuan(quota_fen)
            ),
        ));
    }
    let before = quota_of(c, &campaign, &org.id)?;
    let row = QuotaRow {
        campaign_id: campaign.id.clone(),
        organisation_id: org.id.clone(),
        organisation_path: org.path.clone(),
        parent_id: parent.id.clone(),
        quota_fen,
        updated_by: by.to_owned(),
        updated_at: at,
    };
    if before.is_some() {
        diesel::update(
            q::table
                .filter(q::campaign_id.eq(&row.campaign_id))
                .filter(q::organisation_id.eq(&row.organisation_id)),
        )
        .set((
            q::quota_fen.eq(quota_fen),
            q::updated_by.eq(by),
            q::updated_at.eq(at),
        ))
        .execute(c)?;
    } else {
        diesel::insert_into(q::table).values(&row).execute(c)?;
    }
    diesel::update(cp::table.find(&campaign.id))
        .set((cp::version.eq(cp::version + 1), cp::updated_at.eq(at)))
        .execute(c)?;
    audit::append(
        c,
        caller.event(
            "campaign.quota",
            "campaign",
            &campaign.id,
            json!({"organisation_id": org.id, "quota_fen": {"from": before, "to": quota_fen}}),
        ),
    )?;
    let campaign = super::get(c, &Scope::All, &campaign.id)?;
    Ok((campaign, row))
}

fn org(c: &mut DbConnection, id: &str) -> CampaignResult<OrganisationRow> {
    organisations::get(c, &Scope::All, id).map_err(|e| match e {
        StoreError::NotFound => CampaignError::NotFound("organisation"),
        e => e.into(),
    })
}
