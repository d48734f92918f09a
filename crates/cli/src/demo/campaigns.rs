//! Campaigns of 西乡县总工会, one of each kind, with the budget split between its grassroots
//! unions and some eligible households paid.

use anyhow::Context;
use chrono::TimeDelta;
use jiekun_domain::access::Role;
use jiekun_domain::campaign::{AmountRule, CampaignKind, Eligibility, EligibilityRule};
use jiekun_domain::household::Category;
use jiekun_store::campaigns::{self, eligible, payments, quotas, CampaignError, NewCampaign};
use jiekun_store::measures::{Doer, Unit};
use jiekun_store::organisations::{self, OrganisationFilter};
use jiekun_store::{audit, DbConnection, PageRequest, Scope};

/// Households paid per campaign, at most.
const PAID_PER_CAMPAIGN: u32 = 8;

/// Launches 金秋助学, 送温暖 and a serious-illness drive at the county union, gives each of its
/// grassroots unions an equal quota, and pays the first eligible households of each (in id
/// order, so the same households on every load of the same seed). Skipped when campaigns exist.
pub fn campaigns(
    conn: &mut DbConnection,
    cipher: &jiekun_store::crypto::FieldCipher,
) -> anyhow::Result<String> {
    let one = PageRequest {
        after: None,
        limit: 1,
    };
    if !campaigns::list(conn, &Scope::All, &Default::default(), &one)?
        .items
        .is_empty()
    {
        return Ok("campaigns: some exist already".into());
    }
    let city = organisations::find_by_name(conn, None, "汉中市总工会")?
        .context("run the demo organisation tree first")?;
    let county = organisations::find_by_name(conn, Some(&city.id), "西乡县总工会")?
        .context("run the demo organisation tree first")?;
    let unions = organisations::list(
        conn,
        &Scope::All,
        &OrganisationFilter {
            parent_id: Some(county.id.clone()),
            ..Default::default()
        },
        &PageRequest {
            after: None,
            limit: 200,
        },
    )?
    .items;
    let loader = audit::Caller {
        actor: audit::Actor {
            kind: "system",
            name: Some("demo.loader".into()),
            ..audit::Actor::default()
        },
        ..audit::Caller::default()
    };
    let today = (chrono::Utc::now() + TimeDelta::hours(8)).date_naive();
    let now = jiekun_store::now();
    let rule = |r, cats: &[Category]| Eligibility::new(r, cats.to_vec());
    let plans = [
        NewCampaign {
            kind: CampaignKind::GoldenAutumn,
            name: "西乡县总工会金秋助学".into(),
            starts_on: today - TimeDelta::days(60),
            ends_on: today + TimeDelta::days(60),
            budget_fen: 20_000_000,
            eligibility: rule(EligibilityRule::NewStudent, &[])?,
            amount: AmountRule::by_category(300_000, 200_000, 200_000)?,
        },
        NewCampaign {
            kind: CampaignKind::Warmth,
            name: "西乡县总工会元旦春节送温暖".into(),
            starts_on: today - TimeDelta::days(30),
            ends_on: today + TimeDelta::days(90),
            budget_fen: 10_000_000,
            eligibility: rule(
                EligibilityRule::FiledCategory,
                &[Category::Deep, Category::Relative, Category::Accident],
            )?,
            amount: AmountRule::by_category(100_000, 60_000, 80_000)?,
        },
        NewCampaign {
            kind: CampaignKind::Other,
            name: "西乡县总工会大病职工专项帮扶".into(),
            starts_on: today - TimeDelta::days(30),
            ends_on: today + TimeDelta::days(60),
            budget_fen: 5_000_000,
            eligibility: rule(EligibilityRule::SeriousIllness, &[])?,
            amount: AmountRule::fixed(200_000)?,
        },
    ];
    let mut paid = 0;
    for plan in &plans {
        let campaign = jiekun_store::write(conn, |c| {
            let row = campaigns::create(c, &loader, "demo.loader", &county.id, now, plan)?;
            // An equal share for each union, in whole yuan.
            let share = plan.budget_fen / (unions.len().max(1) as i64) / 100 * 100;
            let mut version = row.version;
            for u in &unions {
                let (r, _) = quotas::set(
                    c,
                    &loader,
                    "demo.loader",
                    &Scope::All,
                    now,
                    (&row.id, &u.id),
                    version,
                    share,
                )?;
                version = r.version;
            }
            Ok::<_, CampaignError>(row)
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let (_, due) = eligible::page(
            conn,
            cipher,
            &Scope::All,
            &campaign.id,
            Some(false),
            &PageRequest {
                after: None,
                limit: PAID_PER_CAMPAIGN,
            },
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        for e in due.items {
            let doer = Doer {
                name: "demo.loader".into(),
                role: Some(Role::GrassrootsOfficer),
                unit: Unit::Organisation {
                    id: e.household.organisation_id.clone(),
                },
                scope: Scope::All,
                caller: loader.clone(),
            };
            let input = payments::NewPayment {
                household_id: e.household.id.clone(),
                paid_on: today,
                evidence: Some(format!("西工帮〔{}〕发放表", today.format("%Y"))),
                note: None,
            };
            let done = jiekun_store::write(conn, |c| {
                payments::pay(c, &doer, cipher, (now, today), &campaign.id, &input)
            });
            match done {
                Ok(_) => paid += 1,
                // A quota or a yearly cap that is full leaves the household for later.
                Err(CampaignError::OverQuota { .. } | CampaignError::Ledger(_)) => {}
                Err(e) => return Err(anyhow::anyhow!("{e}")),
            }
        }
    }
    Ok(format!(
        "campaigns: {} (金秋助学, 送温暖, 大病专项) with quotas for {} unions; {paid} households paid",
        plans.len(),
        unions.len()
    ))
}
