//! Dual contacts of 西乡县 (《实施方案》三(七)14): the county union with its difficult
//! enterprises, three leadership members with 2–3 filed households each, union cadres with the
//! next filed households, and a visit of most of them. Some contacts are left unvisited and most
//! households of a large demo without a contact, so that the gaps list has something to show.

use anyhow::Context;
use chrono::TimeDelta;
use jiekun_domain::contact::{ContactKind, DEFAULT_ACTIVITY_TYPES};
use jiekun_store::contacts::{self, Contact, ContactError, NewAssignment, NewVisit};
use jiekun_store::households::HouseholdFilter;
use jiekun_store::{audit, DbConnection, PageRequest, Scope};

/// Filed households given a cadre, at most (the rest show as gaps).
const CADRE_HOUSEHOLDS: u32 = 120;

const LEADERS: &[(&str, &str, usize)] = &[
    ("张振华", "县总工会主席", 2),
    ("刘文静", "县总工会副主席", 3),
    ("陈志远", "县总工会经审会主任", 3),
];

const CADRES: &[(&str, &str)] = &[
    ("王晓东", "县总工会机关工会干部"),
    ("李秀梅", "县总工会机关工会干部"),
    ("赵国强", "企业工会主席"),
    ("孙丽娟", "企业工会干部"),
];

const NOTES: &[&str] = &[
    "了解家庭收入和就业情况，宣传解困脱困政策",
    "询问子女就学情况，告知金秋助学申请方式",
    "了解就医和医疗费用报销情况",
    "送去慰问品，了解冬季生活安排",
];

/// Loads the dual contacts, deterministically: households in id order, visits on fixed days
/// before today. Skipped when assignments exist.
pub fn contacts(conn: &mut DbConnection) -> anyhow::Result<String> {
    let one = PageRequest {
        after: None,
        limit: 1,
    };
    if !contacts::list(conn, &Scope::All, &Default::default(), &one)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .items
        .is_empty()
    {
        return Ok("dual contacts: some exist already".into());
    }
    let city = jiekun_store::organisations::find_by_name(conn, None, "汉中市总工会")?
        .context("run the demo organisation tree first")?;
    let county = jiekun_store::organisations::find_by_name(conn, Some(&city.id), "西乡县总工会")?
        .context("run the demo organisation tree first")?;
    let enterprises = jiekun_store::enterprises::list(
        conn,
        &Scope::All,
        &Default::default(),
        &PageRequest {
            after: None,
            limit: 200,
        },
    )?
    .items;
    let leaders: usize = LEADERS.iter().map(|l| l.2).sum();
    let filed = jiekun_store::households::list(
        conn,
        &Scope::All,
        &HouseholdFilter {
            status: Some("filed".into()),
            ..Default::default()
        },
        &PageRequest {
            after: None,
            limit: leaders as u32 + CADRE_HOUSEHOLDS,
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
    let began = today - TimeDelta::days(180);
    let mut plans: Vec<NewAssignment> = enterprises
        .iter()
        .filter(|e| e.difficult && e.region_code == county.region_code)
        .take(3)
        .map(|e| NewAssignment {
            kind: ContactKind::UnionEnterprise,
            contact: None,
            household_id: None,
            enterprise_id: Some(e.id.clone()),
            valid_from: began,
            valid_until: None,
        })
        .collect();
    let mut households = filed.iter();
    for &(name, title, n) in LEADERS {
        // A member is given households only while 2 are left (the plan's least).
        if households.len() < 2 {
            break;
        }
        for h in households.by_ref().take(n) {
            plans.push(NewAssignment {
                kind: ContactKind::LeaderHousehold,
                contact: Some(Contact::Named {
                    name: name.into(),
                    title: Some(title.into()),
                }),
                household_id: Some(h.id.clone()),
                enterprise_id: None,
                valid_from: began,
                valid_until: None,
            });
        }
    }
    for (i, h) in households.enumerate() {
        let (name, title) = CADRES[i % CADRES.len()];
        plans.push(NewAssignment {
            kind: ContactKind::CadreWorker,
            contact: Some(Contact::Named {
                name: name.into(),
                title: Some(title.into()),
            }),
            household_id: Some(h.id.clone()),
            enterprise_id: None,
            valid_from: began,
            valid_until: None,
        });
    }
    let (made, visits) = jiekun_store::write(conn, |c| {
        let book = jiekun_store::rules::policy_book(c)?;
        let mut visits = 0;
        for (i, plan) in plans.iter().enumerate() {
            let row = contacts::create(
                c,
                &loader,
                "demo.loader",
                &Scope::All,
                &county.id,
                now,
                plan,
            )?;
            // Every seventh contact is left unvisited: a gap after 90 days.
            if i % 7 == 6 {
                continue;
            }
            let visit = NewVisit {
                assignment_id: row.id,
                visited_on: today - TimeDelta::days(5 + (i as i64 * 11) % 80),
                household_id: row.household_id,
                enterprise_id: row.enterprise_id,
                activity_type: DEFAULT_ACTIVITY_TYPES[i % DEFAULT_ACTIVITY_TYPES.len()].into(),
                notes: Some(NOTES[i % NOTES.len()].into()),
                referral_id: None,
                assistance_id: None,
            };
            contacts::record_visit(
                c,
                &loader,
                "demo.loader",
                &Scope::All,
                (now, today),
                &book,
                &visit,
            )?;
            visits += 1;
        }
        Ok::<_, ContactError>((plans.len(), visits))
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(format!(
        "dual contacts: {made} assignments, {visits} visits"
    ))
}
