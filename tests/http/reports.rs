//! Reports through HTTP: a small registry built by the real workflow, every figure of the roster
//! and the flows checked against what the files and the steps say, CSV agreeing with JSON, and a
//! report with a past `as_of` keeping its figures and its hash after later changes.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use jiekun_domain::access::Role;
use jiekun_domain::household::Month;
use serde_json::{json, Value};

use super::workflows::{
    assess, crew_xx, file_all_the_way, household, last_months, open, step, to_notice, Crew,
};
use super::world::World;
use crate::common::{Auth, Resp};

fn auditor(w: &World) -> Auth {
    w.person(Role::Auditor).auth.clone()
}

fn report(w: &World, who: &Auth, path: &str) -> Value {
    w.app.get_as(who, path).expect(200).body
}

/// The month (China Standard Time) of the server's clock now.
fn this_month(w: &World) -> String {
    Month::of(w.app.clock.today()).to_string()
}

/// The roster as the files say it: filed and monitored households of the auditor's county,
/// counted by region, union, category, main cause and status, with the flags.
fn roster_from_files(w: &World, who: &Auth) -> BTreeMap<Vec<String>, [i64; 4]> {
    let mut out: BTreeMap<Vec<String>, [i64; 4]> = BTreeMap::new();
    for h in w.app.list_all_as(who, "/api/v1/households", 200) {
        let status = h["status"].as_str().unwrap();
        if status != "filed" && status != "monitoring" {
            continue;
        }
        let key = vec![
            h["region_code"].as_str().unwrap().to_owned(),
            h["organisation_id"].as_str().unwrap().to_owned(),
            h["category"].as_str().unwrap_or("").to_owned(),
            h["main_cause"].to_string(),
            status.to_owned(),
        ];
        let e = out.entry(key).or_default();
        e[0] += 1;
        for (i, flag) in ["single_parent", "disability_household", "zero_employment"]
            .iter()
            .enumerate()
        {
            e[i + 1] += i64::from(h[*flag].as_bool().unwrap());
        }
    }
    out
}

fn roster_from_report(r: &Value) -> BTreeMap<Vec<String>, [i64; 4]> {
    r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let key = vec![
                row["region_code"].as_str().unwrap().to_owned(),
                row["organisation_id"].as_str().unwrap().to_owned(),
                row["category"].as_str().unwrap_or("").to_owned(),
                row["main_cause"].to_string(),
                row["status"].as_str().unwrap().to_owned(),
            ];
            let n = |k: &str| row[k].as_i64().unwrap();
            (
                key,
                [
                    n("households"),
                    n("single_parent"),
                    n("disability_household"),
                    n("zero_employment"),
                ],
            )
        })
        .collect()
}

/// Exits a filed household by 脱困: six months of verified income above the standard, the cause
/// resolved, the re-check, the notice and its end.
fn exit_out_of_hardship(w: &World, crew: &Crew, hh: &str) {
    let records: Vec<Value> = last_months(w, 6)
        .iter()
        .map(|m| json!({"month": m, "kind": "wage", "amount_fen": 300_000, "source": "hrss", "verified": true}))
        .collect();
    let path = format!("/api/v1/households/{hh}");
    let etag = w.app.get_as(&crew.officer, &path).expect(200).etag();
    w.app
        .with_etag(
            &crew.officer,
            "POST",
            &format!("{path}/incomes"),
            &etag,
            Some(&json!({"records": records})),
        )
        .expect(201);
    let etag = w.app.get_as(&crew.officer, &path).expect(200).etag();
    w.app
        .patch_as(
            &crew.officer,
            &path,
            &etag,
            &json!({"resolved_causes": [6]}),
        )
        .expect(200);
    let a = assess(w, &crew.officer, hh, "exit");
    assert_eq!(a["verdict"], "out_of_hardship", "{a}");
    let case = w
        .app
        .post_as(&crew.officer, "/api/v1/exit-cases", &json!({"household_id": hh, "grounds": "out_of_hardship", "assessment_id": a["id"], "opinion": "连续六个月收入高于低保标准"}))
        .expect(201)
        .body;
    let id = case["id"].as_str().unwrap().to_owned();
    let x =
        |who: &Auth, action: &str| step(w, who, "exit-cases", &id, action, json!({})).expect(200);
    x(&crew.reviewer, "start_recheck");
    x(&crew.reviewer, "confirm_recheck");
    x(&crew.city, "start_notice");
    w.app.clock.advance(TimeDelta::days(8));
    x(&crew.city, "complete_exit");
}

/// Exits a filed household on the fast path (death).
fn exit_by_death(w: &World, crew: &Crew, hh: &str) {
    let case = w
        .app
        .post_as(
            &crew.officer,
            "/api/v1/exit-cases",
            &json!({"household_id": hh, "grounds": "death", "opinion": "职工病故，死亡证明已核"}),
        )
        .expect(201)
        .body;
    let id = case["id"].as_str().unwrap().to_owned();
    let x =
        |who: &Auth, action: &str| step(w, who, "exit-cases", &id, action, json!({})).expect(200);
    x(&crew.reviewer, "start_recheck");
    x(&crew.reviewer, "confirm_recheck");
    x(&crew.city, "fast_exit");
}

/// Files a monitored household again (返困).
fn come_back(w: &World, crew: &Crew, hh: &str) {
    let again = open(w, crew, hh)["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/households/{hh}");
    let etag = w.app.get_as(&crew.officer, &path).expect(200).etag();
    w.app
        .patch_as(&crew.officer, &path, &etag, &json!({"resolved_causes": []}))
        .expect(200);
    to_notice(w, crew, &again, hh);
    w.app.clock.advance(TimeDelta::days(8));
    step(
        w,
        &crew.reviewer,
        "applications",
        &again,
        "end_notice",
        json!({}),
    )
    .expect(200);
    step(
        w,
        &crew.city,
        "applications",
        &again,
        "city_approve",
        json!({}),
    )
    .expect(200);
}

/// Parses a report's CSV: the byte-order mark, the Chinese names, the keys, the rows.
fn csv_rows(r: &Resp) -> (Vec<String>, Vec<String>, Vec<Vec<String>>) {
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    let text = r.text.as_str();
    let text = text
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark first");
    let mut lines: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    let names = lines.remove(0);
    let keys = lines.remove(0);
    (names, keys, lines)
}

/// The JSON rows as CSV would write them.
fn as_text(report: &Value) -> Vec<Vec<String>> {
    let keys: Vec<&str> = report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            keys.iter()
                .map(|k| match &row[*k] {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                })
                .collect()
        })
        .collect()
}

fn a_known_registry_gives_known_figures_now_and_later(w: &World) {
    let crew = crew_xx(w);
    let who = auditor(w);
    // Filed: a, b, c; a draft that is never counted.
    let mut filed_in: BTreeMap<String, i64> = BTreeMap::new();
    let mut hhs = Vec::new();
    for seq in 0..3 {
        let hh = household(w, &crew, 40 + seq, 90_000);
        file_all_the_way(w, &crew, &hh);
        *filed_in.entry(this_month(w)).or_default() += 1;
        hhs.push(hh);
    }
    household(w, &crew, 50, 90_000);
    let roster = report(w, &who, "/api/v1/reports/roster");
    assert_eq!(roster["report"], "roster");
    assert_eq!(roster_from_report(&roster), roster_from_files(w, &who));
    assert_eq!(roster["totals"]["households"], 3);
    assert_eq!(
        roster["row_count"],
        roster["rows"].as_array().unwrap().len()
    );
    assert_eq!(roster["scope"]["organisation_id"], w.xixiang.as_str());
    let as_of = roster["as_of"].as_str().unwrap().to_owned();
    let flows_then = report(
        w,
        &who,
        &format!("/api/v1/reports/flows?as_of={}", urlencode(&as_of)),
    );

    // Later: a exits by 脱困 and comes back, b dies, d is filed.
    let mut exited_in: BTreeMap<(String, &str), i64> = BTreeMap::new();
    let mut returned_in: BTreeMap<String, i64> = BTreeMap::new();
    exit_out_of_hardship(w, &crew, &hhs[0]);
    *exited_in
        .entry((this_month(w), "out_of_hardship"))
        .or_default() += 1;
    let monitored = report(w, &who, "/api/v1/reports/roster");
    assert_eq!(roster_from_report(&monitored), roster_from_files(w, &who));
    assert!(
        monitored["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "monitoring"),
        "{monitored}"
    );
    come_back(w, &crew, &hhs[0]);
    *returned_in.entry(this_month(w)).or_default() += 1;
    exit_by_death(w, &crew, &hhs[1]);
    *exited_in.entry((this_month(w), "death")).or_default() += 1;
    let d = household(w, &crew, 51, 90_000);
    file_all_the_way(w, &crew, &d);
    *filed_in.entry(this_month(w)).or_default() += 1;

    let now = report(w, &who, "/api/v1/reports/roster");
    assert_eq!(roster_from_report(&now), roster_from_files(w, &who));
    assert_eq!(now["totals"]["households"], 3, "a, c and d; b has left");
    assert_ne!(now["sha256"], roster["sha256"]);

    // Every month of the flows, by hand.
    let flows = report(w, &who, "/api/v1/reports/flows");
    assert_eq!(flows["parameters"]["to"], this_month(w));
    let rows = flows["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 12, "twelve months by default");
    for row in rows {
        let m = row["month"].as_str().unwrap().to_owned();
        let exited = |g: &'static str| exited_in.get(&(m.clone(), g)).copied().unwrap_or(0);
        assert_eq!(row["filed"], filed_in.get(&m).copied().unwrap_or(0), "{m}");
        assert_eq!(
            row["returned"],
            returned_in.get(&m).copied().unwrap_or(0),
            "{m}"
        );
        assert_eq!(
            row["exited_out_of_hardship"],
            exited("out_of_hardship"),
            "{m}"
        );
        assert_eq!(row["exited_safety_net"], 0, "{m}");
        assert_eq!(row["exited_other"], exited("death"), "{m}");
        assert_eq!(
            row["exited"],
            exited("out_of_hardship") + exited("death"),
            "{m}"
        );
    }
    assert_eq!(flows["totals"]["filed"], 4);
    assert_eq!(flows["totals"]["returned"], 1);
    assert_eq!(flows["totals"]["exited"], 2);

    // The past stays as it was: the same figures and the same hash.
    let again = report(
        w,
        &who,
        &format!("/api/v1/reports/roster?as_of={}", urlencode(&as_of)),
    );
    assert_eq!(again["rows"], roster["rows"]);
    assert_eq!(again["sha256"], roster["sha256"]);
    let flows_again = report(
        w,
        &who,
        &format!("/api/v1/reports/flows?as_of={}", urlencode(&as_of)),
    );
    assert_eq!(flows_again["rows"], flows_then["rows"]);
    assert_eq!(flows_again["sha256"], flows_then["sha256"]);

    // CSV says what JSON says, with the same hash.
    for (name, json_form) in [("roster", &now), ("flows", &flows)] {
        let path = format!(
            "/api/v1/reports/{name}?as_of={}",
            urlencode(json_form["as_of"].as_str().unwrap())
        );
        let by_param = w
            .app
            .get_as(&who, &format!("{path}&format=csv"))
            .expect(200);
        let by_accept = w
            .app
            .send_as(
                &who,
                w.app
                    .client
                    .get(w.app.url(&path))
                    .header("Accept", "text/csv"),
            )
            .expect(200);
        for r in [&by_param, &by_accept] {
            let (names, keys, rows) = csv_rows(r);
            let columns = json_form["columns"].as_array().unwrap();
            assert_eq!(
                keys,
                columns
                    .iter()
                    .map(|c| c["key"].as_str().unwrap())
                    .collect::<Vec<_>>()
            );
            assert_eq!(
                names,
                columns
                    .iter()
                    .map(|c| c["name_zh"].as_str().unwrap())
                    .collect::<Vec<_>>()
            );
            assert_eq!(rows, as_text(json_form), "{name}");
            assert_eq!(r.header("x-report-sha256"), json_form["sha256"].as_str());
            assert_eq!(
                r.header("x-report-rows"),
                Some(rows.len().to_string().as_str())
            );
        }
    }
}

fn the_ledger_is_counted_as_it_was_recorded(w: &World) {
    let crew = crew_xx(w);
    let who = auditor(w);
    let (a, b) = (
        household(w, &crew, 70, 90_000),
        household(w, &crew, 71, 90_000),
    );
    file_all_the_way(w, &crew, &a);
    file_all_the_way(w, &crew, &b);
    let today = w.app.clock.today().to_string();
    let record = |hh: &str, measure: i64, amount: i64, fund: &str| {
        w.app
            .post_as(
                &crew.officer,
                "/api/v1/assistance",
                &json!({"household_id": hh, "measure": measure,
                "delivered_on": today, "kind": "cash", "amount_fen": amount, "fund_source": fund}),
            )
            .expect(201)
            .body
    };
    let first = record(&a, 14, 50_000, "工会帮扶资金");
    let wrong = record(&b, 14, 30_000, "工会帮扶资金");
    record(&a, 10, 100_000, "金秋助学");
    let unit = (
        first["unit_kind"].clone(),
        first["unit_id"].clone(),
        first["unit_name"].clone(),
    );
    let then = report(w, &who, "/api/v1/reports/assistance");
    // Later: b's entry is reversed and recorded again with the right amount.
    w.app
        .post_as(
            &crew.officer,
            &format!(
                "/api/v1/assistance/{}/reverse",
                wrong["id"].as_str().unwrap()
            ),
            &json!({"reason": "金额有误"}),
        )
        .expect(201);
    record(&b, 14, 20_000, "工会帮扶资金");
    let now = report(w, &who, "/api/v1/reports/assistance");
    let month = this_month(w);
    let line =
        |measure: i64, fund: &str, entries: i64, reversed: i64, households: i64, amount: i64| {
            json!({"month": month, "measure": measure, "unit_kind": unit.0, "unit_id": unit.1,
            "unit_name": unit.2, "fund_source": fund, "entries": entries, "reversed": reversed,
            "households": households, "amount_fen": amount})
        };
    assert_eq!(
        now["rows"],
        json!([
            line(10, "金秋助学", 1, 0, 1, 100_000),
            line(14, "工会帮扶资金", 3, 1, 2, 70_000)
        ]),
        "b's first entry nets to zero: 50,000 + 30,000 − 30,000 + 20,000"
    );
    assert_eq!(now["totals"]["amount_fen"], 170_000);
    assert_eq!(
        then["rows"],
        json!([
            line(10, "金秋助学", 1, 0, 1, 100_000),
            line(14, "工会帮扶资金", 2, 0, 2, 80_000)
        ])
    );
    let again = report(
        w,
        &who,
        &format!(
            "/api/v1/reports/assistance?as_of={}",
            urlencode(then["as_of"].as_str().unwrap())
        ),
    );
    assert_eq!(again["rows"], then["rows"]);
    assert_eq!(again["sha256"], then["sha256"]);
    // Another month's window holds none of it.
    let empty = report(
        w,
        &who,
        "/api/v1/reports/assistance?from=2025-01&to=2025-12",
    );
    assert_eq!(empty["row_count"], 0);
    assert_eq!(empty["totals"]["amount_fen"], 0);
    let path = format!(
        "/api/v1/reports/assistance?format=csv&as_of={}",
        urlencode(now["as_of"].as_str().unwrap())
    );
    let csv = w.app.get_as(&who, &path).expect(200);
    assert_eq!(csv.header("x-report-sha256"), now["sha256"].as_str());
    let (_, _, rows) = csv_rows(&csv);
    assert_eq!(rows, as_text(&now));
}

/// The exceptions report as `(kind, items, households)`, in its order.
fn exception_counts(r: &Value) -> Vec<(String, i64, i64)> {
    r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["kind"].as_str().unwrap().to_owned(),
                row["items"].as_i64().unwrap(),
                row["households"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn exceptions_stand_as_they_stood(w: &World) {
    let crew = crew_xx(w);
    let who = auditor(w);
    let counts = |d: i64, dh: i64, o: i64, oh: i64| {
        vec![
            ("open_discrepancy".to_owned(), d, dh),
            ("open_objection".to_owned(), o, oh),
            ("person_in_two_files".to_owned(), 0, 0),
            ("no_longer_eligible".to_owned(), 0, 0),
            ("assistance_over_cap".to_owned(), 0, 0),
        ]
    };
    assert_eq!(
        exception_counts(&report(w, &who, "/api/v1/reports/exceptions")),
        counts(0, 0, 0, 0)
    );
    // A pension nobody declared, answered by 人社: one open discrepancy.
    let filed = household(w, &crew, 80, 90_000);
    file_all_the_way(w, &crew, &filed);
    super::verifications::consent_all(w, &crew, &filed);
    let v = super::verifications::open(w, &crew, &filed, &["social_insurance"])
        .expect(201)
        .body;
    let task = v["tasks"][0]["id"].as_str().unwrap().to_owned();
    let people = super::verifications::members(w, &crew.officer, &filed);
    let (month, today) = (
        last_months(w, 1)[0].clone(),
        w.app.clock.today().to_string(),
    );
    let answered = w
        .app
        .post_as(&w.key(&w.key_verify), &format!("/api/v1/verifications/tasks/{task}/answer"),
            &json!({"facts": [{"member_id": people[0], "as_of": today, "status": "retired", "month": month, "amount_fen": 185000},
                {"member_id": people[1], "as_of": today, "status": "not_insured"}]}))
        .expect(200);
    assert_eq!(answered.body["discrepancies"], 1);
    // Two objections to another household's notice.
    let other = household(w, &crew, 81, 90_000);
    let app = open(w, &crew, &other)["id"].as_str().unwrap().to_owned();
    let notice = to_notice(w, &crew, &app, &other);
    let mut raised = Vec::new();
    for content in ["该户家中有经营性车辆", "邻居反映收入不实"] {
        raised.push(
            w.app
                .post_as(
                    &who,
                    &format!("/api/v1/public-notices/{notice}/objections"),
                    &json!({"content": content}),
                )
                .expect(201)
                .body["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let then = report(w, &who, "/api/v1/reports/exceptions");
    assert_eq!(exception_counts(&then), counts(1, 1, 2, 1));
    // Later both are settled.
    let d = w
        .app
        .get_as(
            &crew.reviewer,
            &format!("/api/v1/discrepancies?household_id={filed}&status=open"),
        )
        .expect(200)
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.app
        .post_as(
            &crew.reviewer,
            &format!("/api/v1/discrepancies/{d}/resolve"),
            &json!({"resolution": "accept_verified", "note": "经核实属实"}),
        )
        .expect(200);
    w.app
        .post_as(
            &crew.reviewer,
            &format!("/api/v1/objections/{}/resolution", raised[0]),
            &json!({"outcome": "dismissed", "resolution": "经入户核实，车辆为残疾人代步车"}),
        )
        .expect(200);
    let now = report(w, &who, "/api/v1/reports/exceptions");
    assert_eq!(exception_counts(&now), counts(0, 0, 1, 1));
    assert_eq!(now["totals"]["items"], 1);
    let again = report(
        w,
        &who,
        &format!(
            "/api/v1/reports/exceptions?as_of={}",
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
    assert_eq!(
        exception_counts(&report(w, &outside.auth, "/api/v1/reports/exceptions")),
        counts(0, 0, 0, 0)
    );
}

fn exceptions_find_lapsed_eligibility_and_help_over_a_cap(w: &World) {
    let crew = crew_xx(w);
    let who = auditor(w);
    let admin = w.person(Role::CountyAdmin).auth.clone();
    let kinds = |r: &Value| -> BTreeMap<String, (i64, i64)> {
        exception_counts(r)
            .into_iter()
            .map(|(k, i, h)| (k, (i, h)))
            .collect()
    };
    let hh = household(w, &crew, 86, 90_000);
    file_all_the_way(w, &crew, &hh);
    let today = w.app.clock.today();
    let help = |on: chrono::NaiveDate, amount: i64, kind: &str| {
        w.app
            .post_as(
                &crew.officer,
                "/api/v1/assistance",
                &json!({"household_id": hh, "measure": 4, "delivered_on": on, "kind": kind,
                    "amount_fen": amount, "fund_source": "送温暖"}),
            )
            .expect(201);
    };
    // Within the caps of the book (20,000 yuan a measure, 50,000 a year).
    help(today, 1_500_000, "cash");
    let then = report(w, &who, "/api/v1/reports/exceptions");
    assert_eq!(kinds(&then)["assistance_over_cap"], (0, 0));
    assert_eq!(kinds(&then)["no_longer_eligible"], (0, 0));
    assert_eq!(then["policy_versions"], json!([]), "no sum near a cap");
    // From tomorrow the county lowers the measure cap to 10,000 yuan and the dibao standard to
    // 100 yuan a month, which the household's 450 yuan per member is well above.
    let tomorrow = today.succ_opt().unwrap();
    for (key, value) in [
        ("assistance_cap_measure_fen", 1_000_000),
        ("dibao_standard_fen", 10_000),
    ] {
        w.app
            .post_as(
                &admin,
                "/api/v1/policy/parameters",
                &json!({"key": key, "region_code": "610724", "effective_from": tomorrow,
                    "value": value, "document": "西民发〔2026〕88号"}),
            )
            .expect(201);
    }
    w.app.clock.advance(TimeDelta::days(1));
    // A visit without money passes any cap; it is the year's last delivery, under the new cap.
    help(tomorrow, 0, "service");
    let verdict = assess(w, &crew.reviewer, &hh, "identify");
    assert_eq!(verdict["verdict"], "not_eligible", "{verdict}");
    let now = report(w, &who, "/api/v1/reports/exceptions");
    assert_eq!(kinds(&now)["assistance_over_cap"], (1, 1));
    assert_eq!(kinds(&now)["no_longer_eligible"], (1, 1));
    assert_eq!(
        now["policy_versions"],
        json!([
            format!("assistance_cap_measure_fen@{tomorrow}"),
            "assistance_cap_total_fen@2020-01-01"
        ])
    );
    // CSV says what JSON says.
    let (_, _, rows) = csv_rows(
        &w.app
            .get_as(&who, "/api/v1/reports/exceptions?format=csv")
            .expect(200),
    );
    assert_eq!(rows, as_text(&now));
    // As it stood before the new versions were entered: nothing, and the same hash.
    let again = report(
        w,
        &who,
        &format!(
            "/api/v1/reports/exceptions?as_of={}",
            urlencode(then["as_of"].as_str().unwrap())
        ),
    );
    assert_eq!(again["rows"], then["rows"]);
    assert_eq!(again["policy_versions"], then["policy_versions"]);
    assert_eq!(again["sha256"], then["sha256"]);
}

/// A plan for the filed household with measure 2 (a referral to 人社); returns the referral.
fn referral_to_hrss(w: &World, crew: &Crew, hh: &str) -> String {
    let path = format!("/api/v1/households/{hh}/plan");
    let plan = w
        .app
        .post_as(&crew.officer, &path, &json!(null))
        .expect(201);
    let plan = w
        .app
        .with_etag(
            &crew.officer,
            "POST",
            &format!("{path}/measures"),
            &plan.etag(),
            Some(&json!({"measure": 2})),
        )
        .expect(200)
        .body;
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["measure"] == 2)
        .unwrap()["referral"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn the_lead_units_account_for_what_they_were_sent(w: &World) {
    let crew = crew_xx(w);
    let who = auditor(w);
    let hrss = w.key(&w.key_referrals);
    let act = |referral: &str, what: &str| {
        let path = format!("/api/v1/referrals/{referral}");
        let etag = w.app.get_as(&hrss, &path).expect(200).etag();
        w.app
            .with_etag(
                &hrss,
                "POST",
                &format!("{path}/{what}"),
                &etag,
                Some(&json!({})),
            )
            .expect(200);
    };
    let filed: Vec<String> = (90..93)
        .map(|seq| {
            let hh = household(w, &crew, seq, 90_000);
            file_all_the_way(w, &crew, &hh);
            hh
        })
        .collect();
    // Sent on the same day, after every filing.
    let sent: Vec<(String, String)> = filed
        .iter()
        .map(|hh| (hh.clone(), referral_to_hrss(w, &crew, hh)))
        .collect();
    // One verification task to 人社, answered at once; another left unanswered.
    let mut tasks = Vec::new();
    for (hh, _) in &sent[..2] {
        super::verifications::consent_all(w, &crew, hh);
        let v = super::verifications::open(w, &crew, hh, &["social_insurance"])
            .expect(201)
            .body;
        tasks.push((hh.clone(), v["tasks"][0]["id"].as_str().unwrap().to_owned()));
    }
    let people = super::verifications::members(w, &crew.officer, &tasks[0].0);
    let today = w.app.clock.today().to_string();
    w.app
        .post_as(
            &w.key(&w.key_verify),
            &format!("/api/v1/verifications/tasks/{}/answer", tasks[0].1),
            &json!({"facts": [{"member_id": people[0], "as_of": today, "status": "insured"},
                {"member_id": people[1], "as_of": today, "status": "not_insured"}]}),
        )
        .expect(200);
    act(&sent[0].1, "deliver");
    act(&sent[1].1, "acknowledge");
    // Dual contact, which the union leads: one assignment begun 100 days ago and never visited
    // (past the book's 90 days), one begun today and visited today.
    let reviewer = w.person(Role::CountyReviewer).auth.clone();
    let days_ago = |n: i64| (w.app.clock.today() - TimeDelta::days(n)).to_string();
    let mut assignments = Vec::new();
    for (hh, from) in [(&filed[0], days_ago(100)), (&filed[1], days_ago(0))] {
        let a = w
            .app
            .post_as(
                &reviewer,
                "/api/v1/contacts",
                &json!({"kind": "leader_household", "contact_name": "王建国", "household_id": hh,
                    "valid_from": from}),
            )
            .expect(201);
        assignments.push(a.body["id"].as_str().unwrap().to_owned());
    }
    w.app
        .post_as(
            &reviewer,
            "/api/v1/contacts/visits",
            &json!({"assignment_id": assignments[1], "household_id": filed[1],
                "visited_on": days_ago(0), "activity_type": "home_visit", "notes": "了解生活情况"}),
        )
        .expect(201);
    let then = report(w, &who, "/api/v1/reports/accountability");
    let row = |r: &Value| -> Value {
        r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["lead_unit"] == "hrss")
            .unwrap()
            .clone()
    };
    let expect = |open: i64,
                  ack: i64,
                  delivered: i64,
                  overdue: i64,
                  median: Value,
                  p90: Value,
                  late: i64,
                  unanswered: i64| {
        json!({"lead_unit": "hrss", "lead_unit_name": "人社", "referrals": 3, "open": open,
            "acknowledged": ack, "declined": 0, "delivered": delivered, "overdue": overdue,
            "median_days_to_delivery": median, "p90_days_to_delivery": p90,
            "verification_tasks": 2, "answered_on_time": 1, "answered_late": late,
            "unanswered_overdue": unanswered, "contact_assignments": null, "contact_visits": null,
            "contacts_behind_rhythm": null})
    };
    let union = |r: &Value| -> Vec<Value> {
        let row = r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["lead_unit"] == "union")
            .unwrap_or_else(|| panic!("{r}"))
            .clone();
        [
            "referrals",
            "contact_assignments",
            "contact_visits",
            "contacts_behind_rhythm",
        ]
        .iter()
        .map(|k| row[*k].clone())
        .collect()
    };
    assert_eq!(row(&then), expect(1, 1, 1, 0, json!(0), json!(0), 0, 0));
    assert_eq!(union(&then), [json!(0), json!(2), json!(1), json!(1)]);
    assert_eq!(
        then["policy_versions"],
        json!(["contact_visit_gap_days@2020-01-01"])
    );
    // Forty days on: the second is delivered, the third and the second task are overdue.
    w.app.clock.advance(TimeDelta::days(40));
    act(&sent[1].1, "deliver");
    let now = report(w, &who, "/api/v1/reports/accountability");
    assert_eq!(row(&now), expect(1, 0, 2, 1, json!(0), json!(40), 0, 1));
    // The visit of 40 days ago still keeps the rhythm; the assignment never visited does not.
    assert_eq!(union(&now), [json!(0), json!(2), json!(1), json!(1)]);
    // Every referral in scope is counted once, by its lead unit.
    let all = w.app.list_all_as(&who, "/api/v1/referrals", 200).len() as i64;
    assert_eq!(now["totals"]["referrals"], all);
    let again = report(
        w,
        &who,
        &format!(
            "/api/v1/reports/accountability?as_of={}",
            urlencode(then["as_of"].as_str().unwrap())
        ),
    );
    assert_eq!(again["rows"], then["rows"]);
    assert_eq!(again["sha256"], then["sha256"]);
}

fn steps_are_timed_from_the_timeline(w: &World) {
    let crew = crew_xx(w);
    let who = auditor(w);
    // One filed all the way (its notice runs eight days); one submitted and left waiting.
    let first = household(w, &crew, 95, 90_000);
    file_all_the_way(w, &crew, &first);
    let second = household(w, &crew, 96, 90_000);
    let app = open(w, &crew, &second)["id"].as_str().unwrap().to_owned();
    step(w, &crew.officer, "applications", &app, "submit", json!({})).expect(200);
    let then = report(w, &who, "/api/v1/reports/timeliness");
    w.app.clock.advance(TimeDelta::days(3));
    let now = report(w, &who, "/api/v1/reports/timeliness");
    let full = |r: &Value, kind: &str, state: &str| -> Value {
        r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["case_kind"] == kind && x["state"] == state)
            .unwrap_or_else(|| panic!("{kind}/{state} in {r}"))
            .clone()
    };
    // The days in each step; the checks against the policy are looked at below.
    let line = |r: &Value, kind: &str, state: &str| -> Value {
        let mut row = full(r, kind, state);
        let against = row.as_object_mut().unwrap();
        let short = against.remove("short_of_policy").unwrap();
        let overdue = against.remove("overdue").unwrap();
        assert!(overdue.is_null(), "{kind}/{state}");
        assert_eq!(short.is_null(), state != "public_notice", "{kind}/{state}");
        row
    };
    let row = |kind: &str,
               state: &str,
               stays: i64,
               median: Value,
               p90: Value,
               waiting: i64,
               longest: Value| {
        json!({"case_kind": kind, "state": state, "stays": stays, "median_days": median,
            "p90_days": p90, "waiting": waiting, "longest_wait_days": longest})
    };
    assert_eq!(
        line(&now, "application", "draft"),
        row(
            "application",
            "draft",
            2,
            json!(0),
            json!(0),
            0,
            Value::Null
        )
    );
    assert_eq!(
        line(&now, "application", "submitted"),
        row(
            "application",
            "submitted",
            1,
            json!(0),
            json!(0),
            1,
            json!(3)
        )
    );
    assert_eq!(
        line(&now, "application", "public_notice"),
        row(
            "application",
            "public_notice",
            1,
            json!(8),
            json!(8),
            0,
            Value::Null
        )
    );
    assert_eq!(
        line(&now, "application", "city_approval"),
        row(
            "application",
            "city_approval",
            1,
            json!(0),
            json!(0),
            0,
            Value::Null
        )
    );
    assert_eq!(
        line(&now, "application", "returned"),
        row(
            "application",
            "returned",
            0,
            Value::Null,
            Value::Null,
            0,
            Value::Null
        )
    );
    assert_eq!(
        line(&now, "exit_case", "proposed"),
        row(
            "exit_case",
            "proposed",
            0,
            Value::Null,
            Value::Null,
            0,
            Value::Null
        )
    );
    assert_eq!(
        line(&then, "application", "submitted")["longest_wait_days"],
        0
    );
    assert!(
        now["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] != "filed"),
        "a case that has ended waits nowhere"
    );
    let again = report(
        w,
        &who,
        &format!(
            "/api/v1/reports/timeliness?as_of={}",
            urlencode(then["as_of"].as_str().unwrap())
        ),
    );
    assert_eq!(again["rows"], then["rows"]);
    assert_eq!(again["sha256"], then["sha256"]);
    // Against the policy: no notice was short, the one filed household awaits its first review.
    assert_eq!(
        full(&now, "application", "public_notice")["short_of_policy"],
        0
    );
    let reviews = |r: &Value| {
        let row = full(r, "annual_review", "due");
        (
            row["stays"].clone(),
            row["waiting"].clone(),
            row["longest_wait_days"].clone(),
            row["overdue"].clone(),
        )
    };
    assert_eq!(reviews(&now), (json!(0), json!(1), json!(3), json!(0)));
    assert_eq!(
        now["policy_versions"],
        json!([
            "notice_days@2020-01-01",
            "notice_working_days@2020-01-01",
            "review_interval_months@2020-01-01"
        ])
    );
    // A year and a month on, the review is overdue; once done, it is not, and counts as done.
    w.app.clock.advance(TimeDelta::days(400));
    let late = report(w, &who, "/api/v1/reports/timeliness");
    assert_eq!(reviews(&late), (json!(0), json!(1), json!(403), json!(1)));
    let path = format!("/api/v1/households/{first}");
    let etag = w.app.get_as(&crew.officer, &path).expect(200).etag();
    let a = assess(w, &crew.officer, &first, "identify");
    w.app
        .with_etag(
            &crew.officer,
            "POST",
            &format!("{path}/annual-reviews"),
            &etag,
            Some(&json!({"assessment_id": a["id"], "opinion": "家庭情况无变化"})),
        )
        .expect(201);
    let reviewed = report(w, &who, "/api/v1/reports/timeliness");
    assert_eq!(reviews(&reviewed), (json!(1), json!(1), json!(0), json!(0)));
    let past = report(
        w,
        &who,
        &format!(
            "/api/v1/reports/timeliness?as_of={}",
            urlencode(late["as_of"].as_str().unwrap())
        ),
    );
    assert_eq!(past["sha256"], late["sha256"]);
    // A notice cut short behind the policy's back (here, by hand in the database) is found.
    let mut c = w.app.db.pool.get().unwrap();
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE public_notices SET ends_on = starts_on WHERE household_id = '{first}'"
        )),
        &mut c,
    )
    .unwrap();
    let cut = report(w, &who, "/api/v1/reports/timeliness");
    assert_eq!(
        full(&cut, "application", "public_notice")["short_of_policy"],
        1
    );
    assert_eq!(
        full(&cut, "exit_case", "public_notice")["short_of_policy"],
        0
    );
}

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

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

fn who_may_pull_which_and_bad_questions(w: &World) {
    let crew = crew_xx(w);
    let hh = household(w, &crew, 60, 90_000);
    file_all_the_way(w, &crew, &hh);
    // Grassroots unions keep files; they do not supervise.
    w.app
        .get_as(
            &w.person(Role::GrassrootsOfficer).auth,
            "/api/v1/reports/roster",
        )
        .problem(403, "forbidden");
    for role in [
        Role::Auditor,
        Role::CountyReviewer,
        Role::CountyAdmin,
        Role::CityApprover,
    ] {
        let r = report(w, &w.person(role).auth, "/api/v1/reports/roster");
        assert_eq!(r["totals"]["households"], 1, "{role:?}");
    }
    // A supervising department's key with reports:read sees its region; others are refused.
    let admin = &w.person(Role::CountyAdmin).auth;
    let key = w
        .app
        .post_as(
            admin,
            "/api/v1/api-keys",
            &json!({"department_id": w.dept_xx, "name": "督查报表", "scopes": ["reports:read"]}),
        )
        .expect(201)
        .body["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_key = report(w, &w.key(&key), "/api/v1/reports/roster");
    assert_eq!(by_key["totals"]["households"], 1);
    assert_eq!(by_key["scope"]["region_code"], "610724");
    w.app
        .get_as(&w.key(&w.key_ok), "/api/v1/reports/roster")
        .problem(403, "forbidden");
    let catalogue = report(w, &w.key(&key), "/api/v1/reports");
    let names: Vec<&str> = catalogue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "roster",
            "flows",
            "assistance",
            "accountability",
            "timeliness",
            "coverage",
            "exceptions"
        ]
    );
    // Bad questions get field-level answers.
    let who = auditor(w);
    w.app
        .get_as(&who, "/api/v1/reports/nonsense")
        .problem(404, "not_found");
    for (query, field) in [
        ("roster?as_of=yesterday", "as_of"),
        ("roster?as_of=2999-01-01T00%3A00%3A00Z", "as_of"),
        ("roster?from=2026-01", "from"),
        ("roster?format=xlsx", "format"),
        ("flows?from=2026-13", "from"),
        ("flows?from=2000-01&to=2026-01", "from"),
        ("flows?from=2026-02&to=2026-01", "from"),
    ] {
        let r = w
            .app
            .get_as(&who, &format!("/api/v1/reports/{query}"))
            .problem(400, "invalid_parameter");
        assert_eq!(r.body["errors"][0]["field"], field, "{query}: {}", r.body);
        assert!(!r.body["detail_zh"].as_str().unwrap().is_empty());
    }
    w.app
        .get_as(&who, "/api/v1/reports/roster?colour=red")
        .problem(400, "invalid_parameter");
}

crate::on_both_backends!(World:
    a_known_registry_gives_known_figures_now_and_later,
    the_ledger_is_counted_as_it_was_recorded,
    exceptions_stand_as_they_stood,
    exceptions_find_lapsed_eligibility_and_help_over_a_cap,
    the_lead_units_account_for_what_they_were_sent,
    steps_are_timed_from_the_timeline,
    coverage_follows_what_the_rules_called_for,
    who_may_pull_which_and_bad_questions,
);
