//! Paying a household (发放): once per campaign (a unique index holds it, whatever races), only an
//! eligible household, the amount its rule gives, never past the quota of any organisation on
//! the way from its grassroots union up to the campaign's union. The payment, its entry of the
//! assistance ledger (which keeps its own yearly caps), and the audit event are written together
//! or not at all.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::assistance::AssistanceKind;
use jiekun_domain::closed::ClosedList;
use serde_json::json;

use super::eligible::{household_eligibility, spent_under};
use super::quotas::of_campaign;
use super::{get_locked, invalid, CampaignError, CampaignResult};
use crate::audit;
use crate::conn::DbConnection;
use crate::crypto::FieldCipher;
use crate::measures::assistance::{record_assistance, NewAssistance};
use crate::measures::{Doer, Unit};
use crate::schema::campaign_payments as pay;
use crate::{households as hstore, StoreError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = pay, treat_none_as_default_value = false)]
pub struct PaymentRow {
    pub id: String,
    pub campaign_id: String,
    pub household_id: String,
    pub organisation_path: String,
    pub amount_fen: i64,
    pub paid_on: NaiveDate,
    pub assistance_id: String,
    pub paid_by_organisation_id: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

/// A payment to make.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub household_id: String,
    pub paid_on: NaiveDate,
    pub evidence: Option<String>,
    pub note: Option<String>,
}

/// The ledger's fund source: the campaign's name, cut to the ledger's 100 characters.
fn fund_source(name: &str) -> String {
    name.chars().take(100).collect()
}

/// Pays a household of the campaign, refused with nothing written when a rule or a quota says no.
pub fn pay(
    c: &mut DbConnection,
    doer: &Doer,
    cipher: &FieldCipher,
    (at, today): (NaiveDateTime, NaiveDate),
    campaign_id: &str,
    input: &NewPayment,
) -> CampaignResult<PaymentRow> {
    let Unit::Organisation { id: paying_org } = &doer.unit else {
        return Err(CampaignError::NotFound("campaign"));
    };
    let campaign = get_locked(c, &doer.scope, campaign_id)?;
    let household = hstore::get(c, &doer.scope, &input.household_id).map_err(|e| match e {
        StoreError::NotFound => CampaignError::NotFound("household"),
        e => e.into(),
    })?;
    // A household outside the campaign's tree is not one of its households.
    if !household
        .organisation_path
        .starts_with(&campaign.organisation_path)
    {
        return Err(CampaignError::NotFound("household"));
    }
    let paid: Option<String> = pay::table
        .filter(pay::campaign_id.eq(&campaign.id))
        .filter(pay::household_id.eq(&household.id))
        .select(pay::id)
        .first(c)
        .optional()?;
    if paid.is_some() {
        return Err(CampaignError::AlreadyPaid);
    }
    if input.paid_on > today {
        return Err(invalid(
            "paid_on",
            "in_future",
            "the payment date cannot be in the future",
            "发放日期不能晚于今天",
        ));
    }
    if input.paid_on < campaign.starts_on || input.paid_on > campaign.ends_on {
        return Err(invalid(
            "paid_on",
            "outside_period",
            format!(
                "the campaign runs from {} to {}",
                campaign.starts_on, campaign.ends_on
            ),
            format!("活动期间为 {} 至 {}", campaign.starts_on, campaign.ends_on),
        ));
    }
    let Some((facts, _)) = household_eligibility(c, cipher, &campaign, &household.id)? else {
        let rule = campaign.eligibility()?.rule;
        return Err(invalid(
            "household_id",
            "not_eligible",
            format!(
                "the household is not one the campaign is for: {}",
                rule.meaning_en()
            ),
            format!("该家庭不符合活动对象条件：{}", rule.meaning_zh()),
        ));
    };
    let category = facts.category.as_deref().and_then(|s| s.parse().ok());
    let Some(amount_fen) = campaign.amount()?.amount_for(category) else {
        return Err(invalid(
            "household_id",
            "no_amount",
            "the campaign pays by category and the household has none",
            "活动按困难类别确定金额，该家庭没有困难类别",
        ));
    };
    // Every organisation with a quota on the way up, the campaign's union (the budget) included.
    let mut limits: Vec<(String, String, i64)> = of_campaign(c, &campaign.id)?
        .into_iter()
        .filter(|q| {
            household
                .organisation_path
                .starts_with(&q.organisation_path)
        })
        .map(|q| (q.organisation_id, q.organisation_path, q.quota_fen))
        .collect();
    limits.push((
        campaign.organisation_id.clone(),
        campaign.organisation_path.clone(),
        campaign.budget_fen,
    ));
    // The deepest first: the organisation nearest the household is named when several are full.
    limits.sort_by_key(|(_, path, _)| std::cmp::Reverse(path.len()));
    for (org_id, path, quota) in limits {
        let spent = spent_under(c, &campaign.id, &path)?;
        if spent.saturating_add(amount_fen) > quota {
            let name = crate::organisations::get(c, &crate::Scope::All, &org_id)
                .map(|o| o.name)
                .unwrap_or_default();
            return Err(CampaignError::OverQuota {
                organisation_id: org_id,
                organisation_name: name,
                quota_fen: quota,
                spent_fen: spent,
                amount_fen,
            });
        }
    }
    let entry = record_assistance(
        c,
        doer,
        at,
        today,
        &NewAssistance {
            household_id: household.id.clone(),
            member_id: None,
            measure: campaign.measure_number,
            referral_id: None,
            delivered_on: input.paid_on,
            kind: AssistanceKind::Cash,
            amount_fen,
            fund_source: Some(fund_source(&campaign.name)),
            evidence: input.evidence.clone(),
            note: input.note.clone(),
        },
    )?;
    let row = PaymentRow {
        id: crate::new_id(),
        campaign_id: campaign.id.clone(),
        household_id: household.id.clone(),
        organisation_path: household.organisation_path.clone(),
        amount_fen,
        paid_on: input.paid_on,
        assistance_id: entry.id,
        paid_by_organisation_id: paying_org.clone(),
        created_by: doer.name.clone(),
        created_at: at,
    };
    diesel::insert_into(pay::table)
        .values(&row)
        .execute(c)
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict { .. } => CampaignError::AlreadyPaid,
            e => e.into(),
        })?;
    audit::append(
        c,
        doer.caller.event(
            "campaign.pay",
            "campaign_payment",
            &row.id,
            json!({"campaign_id": row.campaign_id, "household_id": row.household_id,
                "amount_fen": row.amount_fen, "paid_on": row.paid_on,
                "assistance_id": row.assistance_id}),
        ),
    )?;
    Ok(row)
}
