//! Campaigns through HTTP: quotas split down the tree and never past the parent's, spending
//! rolled up, each household paid once (also when two payments race), payments over a quota
//! refused with nothing written, and the eligible list following each rule.

use chrono::TimeDelta;
use diesel::prelude::*;
use jiekun_domain::access::Role;
use jiekun_domain::national_id::complete;
use serde_json::{json, Value};

use super::world::World;
use crate::common::{Auth, Resp};

/// A birth month and day (`MMDD`) for a sequence number: distinct for 0–335.
fn month_day(seq: u32) -> String {
    format!("{:02}{:02}", (seq / 28) % 12 + 1, seq % 28 + 1)
}

/// Who a test household has besides the worker.
#[derive(Clone, Copy)]
pub(super) enum Extra {
    None,
    /// A child in the given year of undergraduate study.
    Student(u32),
    /// A seriously ill spouse.
    IllSpouse,
}

/// A household filed in `union` (of region `region`) with `category`, made through the API by
/// `who` and then marked filed in the database (filing has tests of its own). Returns its id.
pub(super) fn filed(
    w: &World,
    who: &Auth,
    (union, region): (&str, &str),
    seq: u32,
    category: Option<&str>,
    extra: Extra,
) -> String {
    let md = month_day(seq);
    let mut members = vec![json!({"relation": "worker", "name": "周建华",
        "national_id": complete(&format!("{region}1974{md}115")), "work_status": "employed"})];
    match extra {
        Extra::None => {}
        Extra::Student(year) => members.push(json!({"relation": "child", "name": "周小雨",
            "national_id": complete(&format!("{region}2007{md}137")), "work_status": "student",
            "schooling": {"level": "undergraduate", "school": "陕西理工大学", "year": year}})),
        Extra::IllSpouse => members.push(json!({"relation": "spouse", "name": "吴秀兰",
            "national_id": complete(&format!("{region}1977{md}126")), "work_status": "unable_to_work",
            "health": {"status": "serious_illness", "illness": "尿毒症"}})),
    }
    let id = w
        .app
        .post_as(
            who,
            "/api/v1/households",
            &json!({"organisation_id": union, "region_code": region, "address": "某地",
                "housing_type": "owned", "main_cause": 2, "members": members}),
        )
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    if let Some(cat) = category {
        use jiekun_store::schema::households as h;
        let mut c = w.app.db.pool.get().unwrap();
        diesel::update(h::table.find(&id))
            .set((
                h::status.eq("filed"),
                h::category.eq(cat),
                h::file_number.eq(format!("T{seq:05}")),
            ))
            .execute(&mut *c)
            .unwrap();
    }
    id
}

fn today(w: &World) -> String {
    w.app.clock.today().to_string()
}

/// Launches a campaign as `who`, running from a month ago for two months; `rule` and `amount`
/// are merged into the body.
pub(super) fn launch(w: &World, who: &Auth, budget: i64, rule: Value, amount: Value) -> String {
    let t = w.app.clock.today();
    let mut body = json!({"kind": "warmth", "name": "2026年送温暖", "budget_fen": budget,
        "starts_on": (t - TimeDelta::days(30)).to_string(), "ends_on": (t + TimeDelta::days(60)).to_string(),
        "eligibility": rule});
    for (k, v) in amount.as_object().unwrap() {
        body[k] = v.clone();
    }
    w.app
        .post_as(who, "/api/v1/campaigns", &body)
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(super) fn quota(w: &World, who: &Auth, campaign: &str, org: &str, fen: i64) -> Resp {
    let path = format!("/api/v1/campaigns/{campaign}");
    let etag = w.app.get_as(who, &path).expect(200).etag();
    w.app.with_etag(
        who,
        "PUT",
        &format!("{path}/quotas/{org}"),
        &etag,
        Some(&json!({"quota_fen": fen})),
    )
}

pub(super) fn pay(w: &World, who: &Auth, campaign: &str, household: &str) -> Resp {
    w.app.post_as(
        who,
        &format!("/api/v1/campaigns/{campaign}/payments"),
        &json!({"household_id": household, "paid_on": today(w)}),
    )
}

/// Sends the payments at once, each by its payer, and gives the statuses sorted.
fn race(w: &World, campaign: &str, payments: &[(&Auth, &str)]) -> Vec<u16> {
    let barrier = std::sync::Barrier::new(payments.len());
    let mut statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = payments
            .iter()
            .map(|&(who, household)| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    pay(w, who, campaign, household).status.as_u16()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    statuses.sort_unstable();
    statuses
}

/// The ledger entries of a household.
fn ledger(w: &World, household: &str) -> Vec<Value> {
    w.app
        .get_as(
            &w.person(Role::CountyAdmin).auth,
            &format!("/api/v1/assistance?household_id={household}"),
        )
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// The progress of a campaign as `who` sees it, by organisation id.
fn progress(w: &World, who: &Auth, campaign: &str) -> Vec<Value> {
    w.app
        .get_as(who, &format!("/api/v1/campaigns/{campaign}/progress"))
        .expect(200)
        .body["organisations"]
        .as_array()
        .unwrap()
        .clone()
}

fn standing<'a>(all: &'a [Value], org: &str) -> &'a Value {
    all.iter()
        .find(|s| s["organisation_id"] == org)
        .unwrap_or_else(|| panic!("{org} in {all:?}"))
}

fn eligible_ids(w: &World, who: &Auth, campaign: &str, query: &str) -> Vec<String> {
    w.app
        .list_all_as(
            who,
            &format!("/api/v1/campaigns/{campaign}/eligible{query}"),
            50,
        )
        .iter()
        .map(|e| e["household_id"].as_str().unwrap().to_owned())
        .collect()
}

/// A second grassroots union of 西乡县 (城南社区工会), made by the county admin.
fn second_union(w: &World) -> String {
    w.app
        .post_as(
            &w.person(Role::CountyAdmin).auth,
            "/api/v1/organisations",
            &json!({"kind": "grassroots_union", "union_type": "town_street", "parent_id": w.xixiang,
                "name": "城南街道总工会", "region_code": "610724"}),
        )
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(super) fn any_filed() -> Value {
    json!({"rule": "filed_category", "categories": ["deep", "relative", "accident"]})
}

fn quotas_never_exceed_the_parent_and_spending_rolls_up(w: &World) {
    let city = &w.person(Role::CityApprover).auth;
    let county = &w.person(Role::CountyAdmin).auth;
    let officer = &w.person(Role::GrassrootsOfficer).auth;
    let chengnan = second_union(w);
    let cg = (w.chengguan.as_str(), "610724");
    let (h1, h2) = (
        filed(w, county, cg, 1, Some("deep"), Extra::None),
        filed(w, county, cg, 2, Some("relative"), Extra::None),
    );
    let h3 = filed(
        w,
        county,
        (&chengnan, "610724"),
        3,
        Some("deep"),
        Extra::None,
    );
    // The city's campaign: 1,000 yuan, 100 yuan a household.
    let c = launch(w, city, 100_000, any_filed(), json!({"amount_fen": 10_000}));
    let got = w
        .app
        .get_as(city, &format!("/api/v1/campaigns/{c}"))
        .expect(200);
    assert_eq!(got.body["measure"], 14);
    assert_eq!(got.body["clause_zh"], "《实施方案》三(七)14");
    // The city splits its budget between the counties: never more than the budget in all.
    quota(w, city, &c, &w.xixiang, 60_000).expect(200);
    quota(w, city, &c, &w.chenggu, 50_000)
        .problem(409, "quota_out_of_bounds")
        .has_field_error("quota_fen", "out_of_bounds");
    quota(w, city, &c, &w.chenggu, 40_000).expect(200);
    // The county splits its own quota between its unions.
    quota(w, county, &c, &w.chengguan, 30_000).expect(200);
    quota(w, county, &c, &chengnan, 40_000).problem(409, "quota_out_of_bounds");
    quota(w, county, &c, &chengnan, 30_000).expect(200);
    // A county's quota is its parent's to enter, not its own.
    quota(w, county, &c, &w.xixiang, 10_000).problem(403, "forbidden");
    // A parent's quota never falls below what it gave its children.
    quota(w, city, &c, &w.xixiang, 50_000).problem(409, "quota_out_of_bounds");
    // A grassroots union's children: none; a quota for an organisation outside the campaign: 404.
    let path = format!("/api/v1/campaigns/{c}");
    let stale = "\"1\"";
    w.app
        .with_etag(
            city,
            "PUT",
            &format!("{path}/quotas/{}", w.bowang),
            stale,
            Some(&json!({"quota_fen": 1})),
        )
        .problem(412, "precondition_failed");
    // Every change is audited: the county's auditor sees the county's two quotas (the city's
    // changes were made above the auditor's union).
    let audit = w
        .app
        .get_as(
            &w.person(Role::Auditor).auth,
            "/api/v1/audit/events?action=campaign.quota",
        )
        .expect(200)
        .body;
    let changes: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["changes"]["quota_fen"])
        .collect();
    assert_eq!(
        changes,
        vec![&json!({"from": null, "to": 30_000}); 2],
        "{audit}"
    );

    // Payments: two in 城关镇 by its officer, one in 城南 by the county.
    for h in [&h1, &h2] {
        let p = pay(w, officer, &c, h).expect(201).body;
        assert_eq!(p["amount_fen"], 10_000);
        let entry = &ledger(w, h)[0];
        assert_eq!(entry["id"], p["assistance_id"]);
        assert_eq!(entry["measure"], 14);
        assert_eq!(entry["kind"], "cash");
        assert_eq!(entry["fund_source"], "2026年送温暖");
    }
    pay(w, county, &c, &h3).expect(201);
    // Spending rolls up: each organisation counts its subtree.
    let all = progress(w, city, &c);
    let root = standing(&all, &w.app.root_id);
    assert_eq!(root["quota_fen"], 100_000);
    assert_eq!(root["spent_fen"], 30_000);
    assert_eq!(root["households_paid"], 3);
    assert_eq!(root["remaining_fen"], 70_000);
    let xx = standing(&all, &w.xixiang);
    assert_eq!(
        (xx["quota_fen"].clone(), xx["spent_fen"].clone()),
        (json!(60_000), json!(30_000))
    );
    let cgu = standing(&all, &w.chengguan);
    assert_eq!(
        (cgu["spent_fen"].clone(), cgu["households_paid"].clone()),
        (json!(20_000), json!(2))
    );
    assert_eq!(standing(&all, &chengnan)["spent_fen"], 10_000);
    let other = standing(&all, &w.chenggu);
    assert_eq!(
        (other["quota_fen"].clone(), other["spent_fen"].clone()),
        (json!(40_000), json!(0))
    );
    // The World's seeded draft households are not eligible; ours are all paid.
    assert_eq!(root["eligible_unpaid"], 0);
    // The county sees its own subtree only.
    let mine = progress(w, county, &c);
    let ids: Vec<&str> = mine
        .iter()
        .map(|s| s["organisation_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids[0], w.xixiang);
    assert!(!ids.contains(&w.chenggu.as_str()) && !ids.contains(&w.app.root_id.as_str()));
    // A union gives quotas only out of a quota of its own.
    let c2 = launch(w, city, 100_000, any_filed(), json!({"amount_fen": 10_000}));
    quota(w, county, &c2, &w.chengguan, 1_000)
        .problem(409, "quota_out_of_bounds")
        .has_field_error("quota_fen", "out_of_bounds");
    // A quota never falls below what its subtree has paid.
    quota(w, county, &c, &w.chengguan, 10_000).problem(409, "quota_out_of_bounds");
    quota(w, county, &c, &w.chengguan, 20_000).expect(200);
}

fn a_household_is_paid_once_even_when_payments_race(w: &World) {
    let county = &w.person(Role::CountyAdmin).auth;
    let officer = &w.person(Role::GrassrootsOfficer).auth;
    let reviewer = &w.person(Role::CountyReviewer).auth;
    let cg = (w.chengguan.as_str(), "610724");
    let (h1, h2) = (
        filed(w, county, cg, 11, Some("deep"), Extra::None),
        filed(w, county, cg, 12, Some("deep"), Extra::None),
    );
    let c = launch(
        w,
        county,
        1_000_000,
        any_filed(),
        json!({"amount_fen": 20_000}),
    );
    // A second payment to a household: 409, one ledger entry.
    pay(w, officer, &c, &h1).expect(201);
    pay(w, reviewer, &c, &h1)
        .problem(409, "already_paid")
        .has_field_error("household_id", "already_paid");
    assert_eq!(ledger(w, &h1).len(), 1);
    // Payments are dated inside the campaign's period, and never in the future.
    let dated = |d: chrono::NaiveDate| {
        w.app.post_as(
            officer,
            &format!("/api/v1/campaigns/{c}/payments"),
            &json!({"household_id": h2, "paid_on": d.to_string()}),
        )
    };
    let t = w.app.clock.today();
    dated(t - TimeDelta::days(31))
        .problem(422, "validation_failed")
        .has_field_error("paid_on", "outside_period");
    dated(t + TimeDelta::days(1))
        .problem(422, "validation_failed")
        .has_field_error("paid_on", "in_future");
    assert!(ledger(w, &h2).is_empty());
    // Two payments at once, by two people: one 201, one 409, one ledger entry.
    assert_eq!(
        race(w, &c, &[(officer, &h2), (reviewer, &h2)]),
        vec![201, 409]
    );
    assert_eq!(ledger(w, &h2).len(), 1);
    // A retry with the same Idempotency-Key answers as the first time and pays nothing more.
    let h3 = filed(w, county, cg, 13, Some("relative"), Extra::None);
    let send = || {
        w.app.send_as(
            officer,
            w.app
                .client
                .post(w.app.url(&format!("/api/v1/campaigns/{c}/payments")))
                .header("Idempotency-Key", "pay-h3-1")
                .json(&json!({"household_id": h3, "paid_on": today(w)})),
        )
    };
    let first = send().expect(201);
    let again = send().expect(201);
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(ledger(w, &h3).len(), 1);
    let root = &progress(w, county, &c)[0];
    assert_eq!(root["households_paid"], 3);
    assert_eq!(root["spent_fen"], 60_000);
    // Department keys do not pay.
    pay(w, &w.key(&w.key_wrong_scope), &c, &h3).problem(403, "forbidden");
}

fn a_payment_over_a_quota_is_refused_with_nothing_written(w: &World) {
    let county = &w.person(Role::CountyAdmin).auth;
    let officer = &w.person(Role::GrassrootsOfficer).auth;
    let cg = (w.chengguan.as_str(), "610724");
    let deep: Vec<String> = (21..24)
        .map(|s| filed(w, county, cg, s, Some("deep"), Extra::None))
        .collect();
    let relative = filed(w, county, cg, 24, Some("relative"), Extra::None);
    // 160 yuan in all; deep hardship 100 yuan, relative 60.
    let c = launch(
        w,
        county,
        16_000,
        any_filed(),
        json!({"amounts_by_category": {"deep": 10_000, "relative": 6_000, "accident": 6_000}}),
    );
    let got = pay(w, officer, &c, &deep[0]).expect(201);
    assert_eq!(got.body["amount_fen"], 10_000);
    // The budget leaves 60 yuan: another deep household (100 yuan) is refused, nothing written.
    let refused = pay(w, officer, &c, &deep[1]).problem(409, "over_quota");
    assert!(refused.body["detail_zh"]
        .as_str()
        .unwrap()
        .contains("西乡县总工会"));
    assert!(ledger(w, &deep[1]).is_empty());
    let root = &progress(w, county, &c)[0];
    assert_eq!(
        (root["spent_fen"].clone(), root["households_paid"].clone()),
        (json!(10_000), json!(1))
    );
    // A relative-hardship household (60 yuan) still fits.
    pay(w, officer, &c, &relative).expect(201);
    // A union's own quota binds too, and is named when it is the one that is full.
    let c2 = launch(
        w,
        county,
        100_000,
        any_filed(),
        json!({"amount_fen": 10_000}),
    );
    quota(w, county, &c2, &w.chengguan, 15_000).expect(200);
    pay(w, officer, &c2, &deep[1]).expect(201);
    let refused = pay(w, officer, &c2, &deep[2]).problem(409, "over_quota");
    assert!(
        refused.body["detail_zh"]
            .as_str()
            .unwrap()
            .contains("城关镇总工会"),
        "{}",
        refused.body
    );
    assert!(ledger(w, &deep[2]).is_empty());
    let eligible = eligible_ids(w, county, &c2, "?paid=true");
    assert_eq!(eligible, vec![deep[1].clone()]);
    // Two payments racing for the last 100 yuan, for two households: one is paid, the other
    // refused, and the budget is never overspent.
    let (a, b) = (
        filed(w, county, cg, 25, Some("deep"), Extra::None),
        filed(w, county, cg, 26, Some("deep"), Extra::None),
    );
    let c3 = launch(
        w,
        county,
        10_000,
        any_filed(),
        json!({"amount_fen": 10_000}),
    );
    let reviewer = &w.person(Role::CountyReviewer).auth;
    assert_eq!(
        race(w, &c3, &[(officer, &a), (reviewer, &b)]),
        vec![201, 409]
    );
    assert_eq!(ledger(w, &a).len() + ledger(w, &b).len(), 1);
    let root = &progress(w, county, &c3)[0];
    assert_eq!(
        (root["spent_fen"].clone(), root["remaining_fen"].clone()),
        (json!(10_000), json!(0))
    );
}

fn the_eligible_list_follows_the_rule(w: &World) {
    let county = &w.person(Role::CountyAdmin).auth;
    let officer = &w.person(Role::GrassrootsOfficer).auth;
    let auditor = &w.person(Role::Auditor).auth;
    let cg = (w.chengguan.as_str(), "610724");
    let freshman = filed(w, county, cg, 31, Some("deep"), Extra::Student(1));
    let sophomore = filed(w, county, cg, 32, Some("relative"), Extra::Student(2));
    let ill = filed(w, county, cg, 33, Some("relative"), Extra::IllSpouse);
    // Not filed: never eligible.
    let draft = filed(w, county, cg, 34, None, Extra::Student(1));
    // Another county's freshman is outside the county's campaign.
    let cg_admin = w
        .app
        .person("county.admin.cg", &w.chenggu, &[Role::CountyAdmin]);
    let far = filed(
        w,
        &cg_admin.auth,
        (&w.bowang, "610722"),
        35,
        Some("deep"),
        Extra::Student(1),
    );

    let t = w.app.clock.today();
    let g = w
        .app
        .post_as(
                county,
                "/api/v1/campaigns",
                &json!({"kind": "golden_autumn", "name": "2026年金秋助学", "budget_fen": 1_000_000,
                    "starts_on": (t - TimeDelta::days(30)).to_string(), "ends_on": (t + TimeDelta::days(60)).to_string(),
                    "amounts_by_category": {"deep": 300_000, "relative": 200_000, "accident": 200_000},
                    "eligibility": {"rule": "new_student"}}),
            )
            .expect(201)
            .body;
    assert_eq!(g["measure"], 10);
    assert_eq!(g["clause_zh"], "《实施方案》三(五)10");
    let g = g["id"].as_str().unwrap().to_owned();
    let page = w
        .app
        .get_as(auditor, &format!("/api/v1/campaigns/{g}/eligible"))
        .expect(200)
        .body;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    let e = &items[0];
    assert_eq!(e["household_id"], freshman.as_str());
    assert_eq!(e["rule"], "new_student");
    assert_eq!(e["amount_fen"], 300_000);
    assert_eq!(e["paid"], false);
    assert!(e["reason_zh"].as_str().unwrap().contains("一年级"), "{e}");
    assert!(e["reason"].as_str().unwrap().contains("first year"), "{e}");
    // The city sees the other county's freshman too, but not in this county's campaign.
    let city = &w.person(Role::CityApprover).auth;
    assert_eq!(eligible_ids(w, city, &g, ""), vec![freshman.clone()]);
    assert!(!eligible_ids(w, city, &g, "").contains(&far));
    // A household the rule does not pick is not paid.
    pay(w, officer, &g, &sophomore)
        .problem(422, "validation_failed")
        .has_field_error("household_id", "not_eligible");
    pay(w, officer, &g, &draft)
        .problem(422, "validation_failed")
        .has_field_error("household_id", "not_eligible");
    pay(w, officer, &g, &freshman).expect(201);
    assert_eq!(
        eligible_ids(w, county, &g, "?paid=true"),
        vec![freshman.clone()]
    );
    assert!(eligible_ids(w, county, &g, "?paid=false").is_empty());
    let total = w
        .app
        .get_as(
            county,
            &format!("/api/v1/campaigns/{g}/eligible?count=true&paid=true"),
        )
        .expect(200)
        .body["total"]
        .clone();
    assert_eq!(total, 1);

    // A member seriously ill (health is encrypted; the reason names no one).
    let ill_rule = launch(
        w,
        county,
        100_000,
        json!({"rule": "serious_illness"}),
        json!({"amount_fen": 5_000}),
    );
    let page = w
        .app
        .get_as(county, &format!("/api/v1/campaigns/{ill_rule}/eligible"))
        .expect(200)
        .body;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["household_id"], ill.as_str());
    assert_eq!(items[0]["reason_zh"], "家庭成员患重特大疾病");
    assert!(!page.to_string().contains("尿毒症"));

    // By category: relative hardship only, one page at a time.
    let rel = launch(
        w,
        county,
        100_000,
        json!({"rule": "filed_category", "categories": ["relative"]}),
        json!({"amount_fen": 5_000}),
    );
    let mut want = vec![sophomore.clone(), ill.clone()];
    want.sort();
    let first = w
        .app
        .get_as(county, &format!("/api/v1/campaigns/{rel}/eligible?limit=1"))
        .expect(200)
        .body;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    assert!(first["next_cursor"].is_string(), "{first}");
    let mut got = eligible_ids(w, county, &rel, "");
    got.sort();
    assert_eq!(got, want);
    assert!(w
        .app
        .get_as(county, &format!("/api/v1/campaigns/{rel}/eligible"))
        .expect(200)
        .body["items"][0]["reason_zh"]
        .as_str()
        .unwrap()
        .contains("相对困难"));

    // A campaign's rule must make sense.
    let t = today(w);
    w.app
        .post_as(
            county,
            "/api/v1/campaigns",
            &json!({"kind": "other", "name": "x", "budget_fen": 1, "starts_on": t, "ends_on": "2000-01-01",
                "eligibility": {"rule": "filed_category"}}),
        )
        .problem(422, "validation_failed")
        .has_field_error("ends_on", "before_start")
        .has_field_error("eligibility.categories", "required")
        .has_field_error("amount_fen", "required");
    // Another county's campaign is not there for 西乡县.
    let theirs = launch(
        w,
        &cg_admin.auth,
        1_000,
        any_filed(),
        json!({"amount_fen": 100}),
    );
    w.app
        .get_as(county, &format!("/api/v1/campaigns/{theirs}/eligible"))
        .problem(404, "not_found");
    w.app
        .get_as(officer, &format!("/api/v1/campaigns/{theirs}"))
        .problem(404, "not_found");
    // The city sees both; the county its own and the city's.
    let listed = |who: &Auth| -> Vec<String> {
        w.app
            .list_all_as(who, "/api/v1/campaigns", 50)
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(listed(city).contains(&theirs));
    assert!(!listed(county).contains(&theirs) && listed(county).contains(&g));
}

crate::on_both_backends!(
    World:
    quotas_never_exceed_the_parent_and_spending_rolls_up,
    a_household_is_paid_once_even_when_payments_race,
    a_payment_over_a_quota_is_refused_with_nothing_written,
    the_eligible_list_follows_the_rule,
);
