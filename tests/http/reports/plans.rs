//! Reports on what was planned and paid: coverage of the measures the plan rules call for, and
//! campaign spending against the quotas.

use std::collections::BTreeMap;

use jiekun_domain::access::Role;
use serde_json::{json, Value};

use super::super::workflows::{crew_xx, file_all_the_way, household};
use super::super::world::World;
use super::{as_text, auditor, csv_rows, report, urlencode};
use crate::common::Auth;

/// The coverage rows by measure: (called for, referred, assisted, contacted, uncovered, dropped,
/// unplanned).
fn coverage_of(r: &Value) -> BTreeMap<i64, [i64; 7]> {
    r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let f = |k: &str| row[k].as_i64().unwrap();
            (
                f("measure"),
                [
                    f("called_for"),
                    f("referred"),
                    f("assisted"),
                    f("contacted"),
                    f("uncovered"),
                    f("dropped"),
                    f("unplanned"),
                ],
            )
        })
        .filter(|(_, v)| v.iter().any(|x| *x != 0))
        .collect()
}

/// Proposes the household's plan (a first one, or again) and returns the measures proposed.
fn propose_plan(w: &World, who: &Auth, hh: &str) -> Vec<i64> {
    let path = format!("/api/v1/households/{hh}/plan");
    let current = w.app.get_as(who, &path);
    let plan = if current.status == 200 {
        w.app
            .with_etag(who, "POST", &path, &current.etag(), None)
            .expect(200)
    } else {
        w.app.post_as(who, &path, &json!(null)).expect(201)
    };
    plan.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["origin"] == "rule")
        .map(|i| i["measure"].as_i64().unwrap())
        .collect()
}

fn decide_measure(w: &World, who: &Auth, hh: &str, measure: i64, what: &str, body: Value) {
    let path = format!("/api/v1/households/{hh}/plan");
    let etag = w.app.get_as(who, &path).expect(200).etag();
    w.app
        .with_etag(
            who,
            "POST",
            &format!("{path}/measures/{measure}/{what}"),
            &etag,
            Some(&body),
        )
        .expect(200);
}

fn coverage_follows_what_the_rules_called_for(w: &World) {
    let crew = crew_xx(w);
    let who = auditor(w);
    let filed: Vec<String> = (97..100)
        .map(|seq| {
            let hh = household(w, &crew, seq, 90_000);
            file_all_the_way(w, &crew, &hh);
            hh
        })
        .collect();
    let (h1, h2, h3) = (&filed[0], &filed[1], &filed[2]);
    // Filed, no plan yet: dual contact and care are called for in every one of them.
    let start = report(w, &who, "/api/v1/reports/coverage");
    assert_eq!(
        coverage_of(&start),
        BTreeMap::from([(14, [3, 0, 0, 0, 3, 0, 3]), (15, [3, 0, 0, 0, 3, 0, 3])])
    );
    // Every measure the rules can propose has a row, zeros included.
    let numbers: Vec<i64> = start["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["measure"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, (2..=18).filter(|n| *n != 16).collect::<Vec<i64>>());
    // Income per member below the dibao standard: dibao (4), contact and care.
    let proposed = propose_plan(w, &crew.officer, h1);
    assert_eq!(proposed, [4, 14, 15]);
    assert_eq!(propose_plan(w, &crew.officer, h2), proposed);
    // h1: dibao referred to civil affairs. h2: dibao help recorded by the union, care dropped.
    // h3: a leadership member keeps in touch.
    decide_measure(w, &crew.officer, h1, 4, "accept", json!({}));
    let today = w.app.clock.today().to_string();
    let entry = w
        .app
        .post_as(
            &crew.officer,
            "/api/v1/assistance",
            &json!({"household_id": h2, "measure": 4, "delivered_on": today, "kind": "cash",
                "amount_fen": 50_000, "fund_source": "union_fund"}),
        )
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    decide_measure(
        w,
        &crew.officer,
        h2,
        15,
        "drop",
        json!({"reason": "本人表示暂不需要"}),
    );
    let reviewer = w.person(Role::CountyReviewer).auth.clone();
    w.app
        .post_as(
            &reviewer,
            "/api/v1/contacts",
            &json!({"kind": "leader_household", "contact_name": "王建国", "household_id": h3,
                "valid_from": today}),
        )
        .expect(201);
    let then = report(w, &who, "/api/v1/reports/coverage");
    let figures = BTreeMap::from([
        (4, [2, 1, 1, 0, 0, 0, 0]),
        (14, [3, 0, 0, 1, 2, 0, 1]),
        (15, [3, 0, 0, 0, 3, 1, 1]),
    ]);
    assert_eq!(coverage_of(&then), figures);
    let dibao = &then["rows"][2];
    assert_eq!(dibao["measure_code"], "dibao_inclusion");
    assert_eq!(dibao["lead_unit"], "civil_affairs");
    assert_eq!(dibao["clause"], "《实施方案》三(三)4");
    assert_eq!(then["totals"]["called_for"], 8);
    // CSV says what JSON says.
    let csv = w.app.get_as(&who, "/api/v1/reports/coverage?format=csv");
    let (_, keys, rows) = csv_rows(&csv.expect(200));
    assert_eq!(keys[0], "measure");
    assert_eq!(rows, as_text(&then));
    // Later: the help is reversed, and h3's plan is proposed.
    w.app
        .post_as(
            &crew.officer,
            &format!("/api/v1/assistance/{entry}/reverse"),
            &json!({"reason": "重复登记"}),
        )
        .expect(201);
    propose_plan(w, &crew.officer, h3);
    let now = report(w, &who, "/api/v1/reports/coverage");
    assert_eq!(
        coverage_of(&now),
        BTreeMap::from([
            (4, [3, 1, 0, 0, 2, 0, 0]),
            (14, [3, 0, 0, 1, 2, 0, 0]),
            (15, [3, 0, 0, 0, 3, 1, 0]),
        ])
    );
    let again = report(
        w,
        &who,
        &format!(
            "/api/v1/reports/coverage?as_of={}",
            urlencode(then["as_of"].as_str().unwrap())
        ),
    );
    assert_eq!(again["rows"], then["rows"]);
    assert_eq!(again["sha256"], then["sha256"]);
    // Another county sees none of it.
    let outside = w.app.person(
        &format!("auditor.cg.{}", w.next()),
        &w.chenggu,
        &[Role::Auditor],
    );
    assert!(coverage_of(&report(w, &outside.auth, "/api/v1/reports/coverage")).is_empty());
}

fn campaign_spending_stands_against_the_quotas(w: &World) {
    use super::super::campaigns::{any_filed, filed, launch, pay, quota, Extra};
    let city = w.person(Role::CityApprover).auth.clone();
    let county = w.person(Role::CountyAdmin).auth.clone();
    let officer = w.person(Role::GrassrootsOfficer).auth.clone();
    let who = auditor(w);
    let cg = (w.chengguan.as_str(), "610724");
    let (h1, h2) = (
        filed(w, &county, cg, 41, Some("deep"), Extra::None),
        filed(w, &county, cg, 42, Some("relative"), Extra::None),
    );
    // The city's campaign: 1,000 yuan, 100 a household; 600 to the county, 300 to 城关镇.
    let c = launch(
        w,
        &city,
        100_000,
        any_filed(),
        json!({"amount_fen": 10_000}),
    );
    quota(w, &city, &c, &w.xixiang, 60_000).expect(200);
    quota(w, &county, &c, &w.chengguan, 30_000).expect(200);
    pay(w, &officer, &c, &h1).expect(201);
    let holders = |r: &Value| -> Vec<(String, String, i64, i64, i64, i64, i64)> {
        r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                let n = |k: &str| x[k].as_i64().unwrap();
                (
                    x["organisation_id"].as_str().unwrap().to_owned(),
                    x["level"].as_str().unwrap().to_owned(),
                    n("quota_fen"),
                    n("payments"),
                    n("paid_fen"),
                    n("remaining_fen"),
                    n("over_quota_fen"),
                )
            })
            .collect()
    };
    let then = report(w, &who, "/api/v1/reports/campaigns");
    // The county's auditor sees the county's quota and 城关镇's, not the city's budget.
    assert_eq!(
        holders(&then),
        [
            (
                w.xixiang.clone(),
                "quota".into(),
                60_000,
                1,
                10_000,
                50_000,
                0
            ),
            (
                w.chengguan.clone(),
                "quota".into(),
                30_000,
                1,
                10_000,
                20_000,
                0
            ),
        ]
    );
    assert_eq!(then["rows"][0]["campaign_name"], "2026年送温暖");
    assert_eq!(then["totals"]["over_quota_fen"], 0);
    // The city's approver sees the budget too.
    let all = report(w, &city, "/api/v1/reports/campaigns");
    let city_union = w
        .app
        .get_as(&city, &format!("/api/v1/campaigns/{c}"))
        .expect(200)
        .body["organisation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        holders(&all)[0],
        (city_union, "budget".into(), 100_000, 1, 10_000, 90_000, 0)
    );
    // Later 城关镇 gets 400 yuan and pays the second household.
    quota(w, &county, &c, &w.chengguan, 40_000).expect(200);
    pay(w, &officer, &c, &h2).expect(201);
    let now = report(w, &who, "/api/v1/reports/campaigns");
    assert_eq!(
        holders(&now),
        [
            (
                w.xixiang.clone(),
                "quota".into(),
                60_000,
                2,
                20_000,
                40_000,
                0
            ),
            (
                w.chengguan.clone(),
                "quota".into(),
                40_000,
                2,
                20_000,
                20_000,
                0
            ),
        ]
    );
    let (_, _, rows) = csv_rows(
        &w.app
            .get_as(&who, "/api/v1/reports/campaigns?format=csv")
            .expect(200),
    );
    assert_eq!(rows, as_text(&now));
    let again = report(
        w,
        &who,
        &format!(
            "/api/v1/reports/campaigns?as_of={}",
            urlencode(then["as_of"].as_str().unwrap())
        ),
    );
    assert_eq!(again["rows"], then["rows"]);
    assert_eq!(again["sha256"], then["sha256"]);
    // Another county sees none of it.
    let outside = w.app.person(
        &format!("auditor.cg.{}", w.next()),
        &w.chenggu,
        &[Role::Auditor],
    );
    assert!(holders(&report(w, &outside.auth, "/api/v1/reports/campaigns")).is_empty());
}

crate::on_both_backends!(World:
    coverage_follows_what_the_rules_called_for,
    campaign_spending_stands_against_the_quotas,
);
