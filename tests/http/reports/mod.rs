//! Reports through HTTP: a small registry built by the real workflow, every figure of the roster
//! and the flows checked against what the files and the steps say, CSV agreeing with JSON, and a
//! report with a past `as_of` keeping its figures and its hash after later changes. The reports
//! that hold the register against the policy are in `controls` (exceptions, accountability,
//! timeliness) and `plans` (coverage of the measures, campaigns against their quotas).

mod controls;
mod plans;

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

pub(super) fn auditor(w: &World) -> Auth {
    w.person(Role::Auditor).auth.clone()
}

pub(super) fn report(w: &World, who: &Auth, path: &str) -> Value {
    w.app.get_as(who, path).expect(200).body
}

/// The month (China Standard Time) of the server's clock now.
pub(super) fn this_month(w: &World) -> String {
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
pub(super) fn csv_rows(r: &Resp) -> (Vec<String>, Vec<String>, Vec<Vec<String>>) {
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
pub(super) fn as_text(report: &Value) -> Vec<Vec<String>> {
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
pub(super) fn urlencode(s: &str) -> String {
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
            "campaigns",
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
    who_may_pull_which_and_bad_questions,
);
