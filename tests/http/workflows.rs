//! Filing, public notice, objections, approval, exit and annual review, driven only through HTTP
//! by the people of each role: the journeys of filing and exit and every refusal with its reason.

use chrono::{Datelike, TimeDelta};
use jiekun_domain::access::Role;
use jiekun_domain::household::Month;
use jiekun_domain::national_id::complete;
use serde_json::{json, Value};

use super::households::family;
use super::world::World;
use crate::common::{Auth, Resp};

/// The people who move a case in one county: a grassroots officer, a county reviewer, the city
/// approver.
pub struct Crew {
    pub officer: Auth,
    pub reviewer: Auth,
    pub city: Auth,
    pub union: String,
    pub region: &'static str,
}

pub fn crew_xx(w: &World) -> Crew {
    Crew {
        officer: w.person(Role::GrassrootsOfficer).auth.clone(),
        reviewer: w.person(Role::CountyReviewer).auth.clone(),
        city: w.person(Role::CityApprover).auth.clone(),
        union: w.chengguan.clone(),
        region: "610724",
    }
}

/// The same people in 城固县 (created on first use).
pub fn crew_cg(w: &World) -> Crew {
    let officer = w.app.person(
        &format!("officer.cg.{}", w.next()),
        &w.bowang,
        &[Role::GrassrootsOfficer],
    );
    let reviewer = w.app.person(
        &format!("reviewer.cg.{}", w.next()),
        &w.chenggu,
        &[Role::CountyReviewer],
    );
    Crew {
        officer: officer.auth,
        reviewer: reviewer.auth,
        city: w.person(Role::CityApprover).auth.clone(),
        union: w.bowang.clone(),
        region: "610722",
    }
}

fn server_today(w: &World) -> chrono::NaiveDate {
    w.app.clock.today()
}

/// The last `n` complete months by the server's clock, oldest first.
pub fn last_months(w: &World, n: usize) -> Vec<String> {
    let mut m = Month::of(server_today(w));
    let mut out = Vec::new();
    for _ in 0..n {
        m = m.prev();
        out.push(m.to_string());
    }
    out.reverse();
    out
}

/// A birth month and day (`MMDD`) for a sequence number: distinct for 0–335.
fn month_day(seq: u32) -> String {
    format!("{:02}{:02}", (seq / 28) % 12 + 1, seq % 28 + 1)
}

/// Files (as a draft household file) a two-person household whose worker earned `wage` fen in
/// each of the last twelve months. `seq` keeps identity numbers apart.
pub fn household(w: &World, crew: &Crew, seq: u32, wage: i64) -> String {
    let worker = complete(&format!("{}1976{}115", crew.region, month_day(seq)));
    let spouse = complete(&format!("{}1979{}126", crew.region, month_day(seq)));
    let mut body = family(w, &worker);
    body["organisation_id"] = json!(crew.union);
    body["region_code"] = json!(crew.region);
    body["enterprise_id"] = Value::Null;
    body["members"] = json!([
        {"relation": "worker", "name": "周建华", "national_id": worker, "work_status": "employed"},
        {"relation": "spouse", "name": "吴秀兰", "national_id": spouse, "work_status": "unable_to_work"},
    ]);
    body["incomes"] = Value::Array(
        last_months(w, 12)
            .iter()
            .map(|m| json!({"member_index": 0, "month": m, "kind": "wage", "amount_fen": wage}))
            .collect(),
    );
    body["expenditures"] = json!([]);
    body["secondary_causes"] = json!([]);
    w.app
        .post_as(&crew.officer, "/api/v1/households", &body)
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Stores an assessment (`identify` or `exit`) of the household and returns it.
pub fn assess(w: &World, who: &Auth, household: &str, kind: &str) -> Value {
    w.app
        .post_as(
            who,
            &format!("/api/v1/households/{household}/assessments"),
            &json!({"kind": kind}),
        )
        .expect(201)
        .body
}

pub fn open(w: &World, crew: &Crew, household: &str) -> Value {
    w.app
        .post_as(
            &crew.officer,
            "/api/v1/applications",
            &json!({"household_id": household}),
        )
        .expect(201)
        .body
}

/// Takes a step on a case (`applications` or `exit-cases`) with the ETag the caller reads.
pub fn step(w: &World, who: &Auth, kind: &str, id: &str, action: &str, extra: Value) -> Resp {
    let path = format!("/api/v1/{kind}/{id}");
    let etag = w.app.get_as(who, &path).expect(200).etag();
    let mut body = json!({"action": action});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            body[k] = v;
        }
    }
    w.app
        .with_etag(who, "POST", &format!("{path}/actions"), &etag, Some(&body))
}

fn app_step(w: &World, who: &Auth, id: &str, action: &str) -> Value {
    // The notice starts without departments' answers only with a reason (tests of information
    // sharing take the way through verification).
    let extra = if action == "start_notice" {
        json!({"verification_override": "核对已线下完成"})
    } else {
        json!({})
    };
    step(w, who, "applications", id, action, extra)
        .expect(200)
        .body
}

/// Takes an application from draft to the start of its notice; returns the notice id.
pub fn to_notice(w: &World, crew: &Crew, app: &str, household: &str) -> String {
    app_step(w, &crew.officer, app, "submit");
    app_step(w, &crew.reviewer, app, "start_review");
    let a = assess(w, &crew.reviewer, household, "identify");
    assert_ne!(a["verdict"], "not_eligible", "{a}");
    step(
        w,
        &crew.reviewer,
        "applications",
        app,
        "approve_review",
        json!({"assessment_id": a["id"], "opinion": "情况属实，同意"}),
    )
    .expect(200);
    let after = app_step(w, &crew.reviewer, app, "start_notice");
    after["notice"]["id"].as_str().unwrap().to_owned()
}

/// Files a household all the way through city approval (moving the clock past the notice).
pub fn file_all_the_way(w: &World, crew: &Crew, household: &str) -> Value {
    let app = open(w, crew, household)["id"].as_str().unwrap().to_owned();
    to_notice(w, crew, &app, household);
    w.app.clock.advance(TimeDelta::days(8));
    app_step(w, &crew.reviewer, &app, "end_notice");
    app_step(w, &crew.city, &app, "city_approve")
}

fn household_status(w: &World, household: &str) -> Value {
    w.app
        .get_as(
            &w.person(Role::CityApprover).auth,
            &format!("/api/v1/households/{household}/timeline"),
        )
        .expect(200)
        .body
}

fn queue_ids(w: &World, who: &Auth) -> Vec<String> {
    w.app.get_as(who, "/api/v1/queue").expect(200).body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn a_household_is_filed_all_the_way_to_city_approval(w: &World) {
    let crew = crew_xx(w);
    let hh = household(w, &crew, 1, 90_000);
    let app = open(w, &crew, &hh);
    let id = app["id"].as_str().unwrap().to_owned();
    assert_eq!(app["state"], "draft");
    assert_eq!(app["allowed_actions"], json!(["submit", "withdraw"]));
    assert!(
        queue_ids(w, &crew.officer).contains(&id),
        "the officer's draft waits on them"
    );

    app_step(w, &crew.officer, &id, "submit");
    assert!(
        queue_ids(w, &crew.reviewer).contains(&id),
        "submitted: waits on the county"
    );
    assert!(!queue_ids(w, &crew.officer).contains(&id));
    let queue = w
        .app
        .get_as(&crew.reviewer, "/api/v1/queue")
        .expect(200)
        .body;
    let item = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(item["kind"], "application");
    assert_eq!(item["state"], "submitted");
    assert!(item["waited_seconds"].as_i64().unwrap() >= 0);
    assert_eq!(item["actions"], json!(["start_review", "return"]));
    // What a screen shows: whose it is, masked, and which union files it; no number yet.
    assert_eq!(item["worker_name"], "周**");
    assert!(item["file_number"].is_null());
    assert_eq!(item["organisation_id"], crew.union.as_str());
    assert_eq!(item["organisation_name"], "城关镇总工会");
    assert!(!item.to_string().contains("周建华"), "never the full name");

    app_step(w, &crew.reviewer, &id, "start_review");
    // The county review relies on a stored identification assessment.
    step(
        w,
        &crew.reviewer,
        "applications",
        &id,
        "approve_review",
        json!({}),
    )
    .problem(422, "validation_failed")
    .has_field_error("assessment_id", "required");
    let a = assess(w, &crew.reviewer, &hh, "identify");
    assert_eq!(a["verdict"], "deep");
    let reviewed = step(
        w,
        &crew.reviewer,
        "applications",
        &id,
        "approve_review",
        json!({"assessment_id": a["id"], "opinion": "经核实，家庭人均收入低于当地低保标准"}),
    )
    .expect(200)
    .body;
    assert_eq!(reviewed["state"], "verification");
    assert_eq!(reviewed["category"], "deep");

    // A notice is not backdated, nor planned months ahead.
    let today = server_today(w);
    for (day, code) in [
        (today - TimeDelta::days(1), "in_the_past"),
        (today + TimeDelta::days(31), "too_far"),
    ] {
        step(
            w,
            &crew.reviewer,
            "applications",
            &id,
            "start_notice",
            json!({"notice_starts_on": day, "verification_override": "核对已线下完成"}),
        )
        .problem(422, "validation_failed")
        .has_field_error("notice_starts_on", code);
    }
    let noticed = app_step(w, &crew.reviewer, &id, "start_notice");
    assert_eq!(noticed["state"], "public_notice");
    let notice_id = noticed["notice"]["id"].as_str().unwrap().to_owned();
    let today = server_today(w);
    assert_eq!(noticed["notice"]["starts_on"], today.to_string());
    assert_eq!(
        noticed["notice"]["ends_on"],
        (today + TimeDelta::days(6)).to_string(),
        "seven calendar days by default"
    );

    // The notice is public and holds only what may be published.
    let public = w
        .app
        .get_as(&Auth::None, &format!("/api/v1/public-notices/{notice_id}"))
        .expect(200)
        .body;
    assert_eq!(public["name"], "周**");
    assert_eq!(public["category"], "deep");
    assert_eq!(public["kind"], "filing");
    assert_eq!(public["accepting_objections"], true);
    assert!(public["how_to_object"]["organisation"]
        .as_str()
        .unwrap()
        .contains("西乡县"));
    let text = public.to_string();
    for secret in [
        "610724",
        "90000",
        "wage",
        "周建华",
        "吴秀兰",
        "bank",
        "health",
    ] {
        assert!(!text.contains(secret), "the notice shows {secret}: {text}");
    }

    // Too early to close the notice.
    step(
        w,
        &crew.reviewer,
        "applications",
        &id,
        "end_notice",
        json!({}),
    )
    .problem(409, "notice_running");
    w.app.clock.advance(TimeDelta::days(7));
    app_step(w, &crew.reviewer, &id, "end_notice");
    assert!(queue_ids(w, &crew.city).contains(&id), "waits on the city");
    // The county cannot approve for the city.
    step(
        w,
        &crew.reviewer,
        "applications",
        &id,
        "city_approve",
        json!({}),
    )
    .problem(403, "wrong_role");
    let filed = step(
        w,
        &crew.city,
        "applications",
        &id,
        "city_approve",
        json!({"opinion": "同意建档"}),
    )
    .expect(200)
    .body;
    assert_eq!(filed["state"], "filed");
    let number = filed["file_number"].as_str().unwrap();
    assert_eq!(number, format!("610724-{}-00001", server_today(w).year()));
    assert!(filed["allowed_actions"].as_array().unwrap().is_empty());

    // The timeline: who, in which role and organisation, when, with what opinion and assessment.
    let t = filed["timeline"].as_array().unwrap();
    let actions: Vec<&str> = t.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "open",
            "submit",
            "start_review",
            "approve_review",
            "start_notice",
            "end_notice",
            "city_approve"
        ]
    );
    assert_eq!(t[1]["role"], "grassroots_officer");
    assert_eq!(t[3]["role"], "county_reviewer");
    assert_eq!(t[3]["assessment_id"], a["id"]);
    assert_eq!(t[3]["organisation_name"], "西乡县总工会");
    assert_eq!(t[6]["role"], "city_approver");
    assert_eq!(t[6]["opinion"], "同意建档");
    assert_eq!(t[6]["from_state"], "city_approval");

    // The household is filed, with its number, category and first review due in a year.
    let life = household_status(w, &hh);
    assert_eq!(life["status"], "filed");
    assert_eq!(life["file_number"], number);
    assert_eq!(life["filed_on"], server_today(w).to_string());
    let due = server_today(w)
        .checked_add_months(chrono::Months::new(12))
        .unwrap();
    assert_eq!(life["next_review_due"], due.to_string());
    let file = w
        .app
        .get_as(&crew.officer, &format!("/api/v1/households/{hh}"))
        .expect(200)
        .body;
    assert_eq!(file["category"], "deep");
    assert_eq!(file["status"], "filed");

    // Each step is in the audit log.
    let events = w
        .app
        .get_as(
            &w.app.admin.auth,
            "/api/v1/audit/events?resource_type=application&limit=200",
        )
        .expect(200)
        .body;
    let logged: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource_id"] == id.as_str())
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(logged.len(), 7, "{logged:?}");
    assert!(logged.contains(&"application.city_approve"));

    // A second filed household gets the next number.
    let second = household(w, &crew, 2, 80_000);
    let filed2 = file_all_the_way(w, &crew, &second);
    assert_eq!(
        filed2["file_number"],
        format!("610724-{}-00002", server_today(w).year())
    );
}

/// A refusal says in English the codes of the state and the step, and in Chinese their names,
/// with no code left untranslated.
fn says_both_ways(r: &Resp, codes: &[&str], names: &[&str]) {
    let en = r.body["detail"].as_str().unwrap();
    let zh = r.body["detail_zh"].as_str().unwrap();
    for code in codes {
        assert!(en.contains(&format!("`{code}`")), "{en} names {code}");
    }
    for name in names {
        assert!(zh.contains(&format!("“{name}”")), "{zh} names {name}");
    }
    assert!(
        !zh.chars().any(|c| c.is_ascii_alphabetic()),
        "no code in the Chinese: {zh}"
    );
}

fn every_refusal_says_why(w: &World) {
    let crew = crew_xx(w);
    let hh = household(w, &crew, 3, 90_000);
    let app = open(w, &crew, &hh)["id"].as_str().unwrap().to_owned();
    // Wrong role: the county does not submit for the union.
    let r = step(w, &crew.reviewer, "applications", &app, "submit", json!({}))
        .problem(403, "wrong_role");
    says_both_ways(&r, &["draft", "submit"], &["草稿", "提交申报"]);
    assert_eq!(
        r.body["detail_zh"],
        "该建档申请处于“草稿”状态，“提交申报”应由其他角色办理"
    );
    // Roles that never act on cases.
    let auditor = w.person(Role::Auditor).auth.clone();
    let etag = w
        .app
        .get_as(&auditor, &format!("/api/v1/applications/{app}"))
        .expect(200)
        .etag();
    w.app
        .with_etag(
            &auditor,
            "POST",
            &format!("/api/v1/applications/{app}/actions"),
            &etag,
            Some(&json!({"action": "submit"})),
        )
        .problem(403, "forbidden");
    // Wrong state.
    let r = step(
        w,
        &crew.reviewer,
        "applications",
        &app,
        "start_review",
        json!({}),
    )
    .problem(409, "wrong_state");
    says_both_ways(&r, &["draft", "start_review"], &["草稿", "受理审核"]);
    assert_eq!(
        r.body["detail_zh"],
        "该建档申请当前状态为“草稿”，不能执行“受理审核”"
    );
    // Stale version.
    let stale = w
        .app
        .get_as(&crew.officer, &format!("/api/v1/applications/{app}"))
        .expect(200)
        .etag();
    app_step(w, &crew.officer, &app, "submit");
    w.app
        .with_etag(
            &crew.reviewer,
            "POST",
            &format!("/api/v1/applications/{app}/actions"),
            &stale,
            Some(&json!({"action": "start_review"})),
        )
        .problem(412, "precondition_failed");
    // No If-Match at all.
    w.app
        .post_as(
            &crew.reviewer,
            &format!("/api/v1/applications/{app}/actions"),
            &json!({"action": "start_review"}),
        )
        .problem(428, "precondition_required");
    // Out of scope: another county's reviewer.
    let other = crew_cg(w);
    let etag = w
        .app
        .get_as(&crew.reviewer, &format!("/api/v1/applications/{app}"))
        .expect(200)
        .etag();
    w.app
        .with_etag(
            &other.reviewer,
            "POST",
            &format!("/api/v1/applications/{app}/actions"),
            &etag,
            Some(&json!({"action": "start_review"})),
        )
        .problem(403, "out_of_scope");
    // …who cannot read it either.
    w.app
        .get_as(&other.reviewer, &format!("/api/v1/applications/{app}"))
        .problem(404, "not_found");
    // A reason is required to return.
    app_step(w, &crew.reviewer, &app, "start_review");
    step(w, &crew.reviewer, "applications", &app, "return", json!({}))
        .problem(422, "validation_failed")
        .has_field_error("opinion", "required");
    // An unknown step is a validation error of the body.
    let etag = w
        .app
        .get_as(&crew.reviewer, &format!("/api/v1/applications/{app}"))
        .expect(200)
        .etag();
    let r = w.app.with_etag(
        &crew.reviewer,
        "POST",
        &format!("/api/v1/applications/{app}/actions"),
        &etag,
        Some(&json!({"action": "approve_everything"})),
    );
    assert!(r.status == 400 || r.status == 422, "{}", r.text);
    // A household that does not exist, or lies outside the caller's scope, is not found.
    let stranger = crew_cg(w);
    let theirs = household(w, &stranger, 15, 90_000);
    for unknown in [theirs.as_str(), "01900000-0000-7000-8000-000000000000"] {
        w.app
            .post_as(
                &crew.officer,
                "/api/v1/applications",
                &json!({"household_id": unknown}),
            )
            .problem(404, "not_found");
        w.app
            .post_as(
                &crew.officer,
                "/api/v1/exit-cases",
                &json!({"household_id": unknown, "grounds": "death", "opinion": "迁出"}),
            )
            .problem(404, "not_found");
    }
    // A second application for the same household while one is on its way.
    w.app
        .post_as(
            &crew.officer,
            "/api/v1/applications",
            &json!({"household_id": hh}),
        )
        .problem(409, "already_exists");
    // Nothing was half-written: the application is still in county review, with three entries.
    let now = w
        .app
        .get_as(&crew.reviewer, &format!("/api/v1/applications/{app}"))
        .expect(200)
        .body;
    assert_eq!(now["state"], "county_review");
    assert_eq!(now["timeline"].as_array().unwrap().len(), 3);
    // The notice refusals: objections open and the notice still running.
    let fresh = household(w, &crew, 4, 90_000);
    let app2 = open(w, &crew, &fresh)["id"].as_str().unwrap().to_owned();
    to_notice(w, &crew, &app2, &fresh);
    step(
        w,
        &crew.reviewer,
        "applications",
        &app2,
        "end_notice",
        json!({}),
    )
    .problem(409, "notice_running");
}

fn one_is_returned_corrected_and_approved(w: &World) {
    let crew = crew_xx(w);
    let hh = household(w, &crew, 5, 90_000);
    let app = open(w, &crew, &hh)["id"].as_str().unwrap().to_owned();
    app_step(w, &crew.officer, &app, "submit");
    app_step(w, &crew.reviewer, &app, "start_review");
    let returned = step(
        w,
        &crew.reviewer,
        "applications",
        &app,
        "return",
        json!({"opinion": "缺少配偶的劳动能力鉴定材料"}),
    )
    .expect(200)
    .body;
    assert_eq!(returned["state"], "returned");
    assert!(
        queue_ids(w, &crew.officer).contains(&app),
        "back with the union"
    );
    // The union corrects the file and submits again.
    let path = format!("/api/v1/households/{hh}");
    let etag = w.app.get_as(&crew.officer, &path).expect(200).etag();
    w.app
        .patch_as(
            &crew.officer,
            &path,
            &etag,
            &json!({"address": "西乡县城关镇南街3号"}),
        )
        .expect(200);
    app_step(w, &crew.officer, &app, "submit");
    app_step(w, &crew.reviewer, &app, "start_review");
    let a = assess(w, &crew.reviewer, &hh, "identify");
    step(
        w,
        &crew.reviewer,
        "applications",
        &app,
        "approve_review",
        json!({"assessment_id": a["id"]}),
    )
    .expect(200);
    app_step(w, &crew.reviewer, &app, "start_notice");
    w.app.clock.advance(TimeDelta::days(8));
    app_step(w, &crew.reviewer, &app, "end_notice");
    let filed = app_step(w, &crew.city, &app, "city_approve");
    assert_eq!(filed["state"], "filed");
    let t = filed["timeline"].as_array().unwrap();
    let ret = t.iter().find(|e| e["action"] == "return").unwrap();
    assert_eq!(ret["opinion"], "缺少配偶的劳动能力鉴定材料");
    assert_eq!(ret["from_state"], "county_review");
    assert_eq!(ret["to_state"], "returned");
    assert_eq!(
        t.iter().filter(|e| e["action"] == "submit").count(),
        2,
        "submitted twice"
    );
}

fn one_is_rejected_and_its_people_are_free_again(w: &World) {
    let crew = crew_xx(w);
    let hh = household(w, &crew, 6, 90_000);
    let app = open(w, &crew, &hh)["id"].as_str().unwrap().to_owned();
    app_step(w, &crew.officer, &app, "submit");
    app_step(w, &crew.reviewer, &app, "start_review");
    step(w, &crew.reviewer, "applications", &app, "reject", json!({}))
        .problem(422, "validation_failed");
    let rejected = step(
        w,
        &crew.reviewer,
        "applications",
        &app,
        "reject",
        json!({"opinion": "家庭拥有两套住房，不符合条件"}),
    )
    .expect(200)
    .body;
    assert_eq!(rejected["state"], "rejected");
    assert!(rejected["allowed_actions"].as_array().unwrap().is_empty());
    assert_eq!(household_status(w, &hh)["status"], "rejected");
    // The worker may now be filed in another household.
    let worker = complete(&format!("{}1976{}115", crew.region, month_day(6)));
    let mut body = family(w, &worker);
    body["members"] = json!([{"relation": "worker", "name": "周建华", "national_id": worker, "work_status": "employed"}]);
    body["incomes"] = json!([]);
    body["expenditures"] = json!([]);
    body["secondary_causes"] = json!([]);
    w.app
        .post_as(&crew.officer, "/api/v1/households", &body)
        .expect(201);
    // Nothing more happens to a rejected application.
    step(w, &crew.officer, "applications", &app, "submit", json!({})).problem(409, "wrong_state");
    // Applying again for the old household would take the worker back from the new one: refused,
    // naming the member, and nothing written.
    w.app
        .post_as(
            &crew.officer,
            "/api/v1/applications",
            &json!({"household_id": hh}),
        )
        .problem(409, "already_exists")
        .has_field_error("members[0].national_id", "already_filed");
    assert_eq!(household_status(w, &hh)["status"], "rejected");
    let open_now = w
        .app
        .get_as(
            &crew.officer,
            &format!("/api/v1/applications?household_id={hh}"),
        )
        .expect(200)
        .body;
    assert_eq!(
        open_now["items"].as_array().unwrap().len(),
        1,
        "only the rejected one"
    );
}

fn an_objection_holds_the_notice_until_resolved(w: &World) {
    let crew = crew_xx(w);
    let hh = household(w, &crew, 7, 90_000);
    let app = open(w, &crew, &hh)["id"].as_str().unwrap().to_owned();
    let notice = to_notice(w, &crew, &app, &hh);
    let objections = format!("/api/v1/public-notices/{notice}/objections");
    // Any signed-in user may object; staff record one received by telephone.
    let auditor = w.person(Role::Auditor).auth.clone();
    let raised = w
        .app
        .post_as(
            &auditor,
            &objections,
            &json!({"content": "该户家中有经营性车辆"}),
        )
        .expect(201)
        .body;
    assert_eq!(raised["status"], "open");
    assert_eq!(raised["channel"], "online");
    w.app
        .post_as(
            &auditor,
            &objections,
            &json!({"content": "x", "channel": "phone"}),
        )
        .problem(422, "validation_failed")
        .has_field_error("channel", "staff_only");
    let phoned = w
        .app
        .post_as(
            &crew.officer,
            &objections,
            &json!({"content": "邻居反映收入不实", "channel": "phone", "objector": "王某"}),
        )
        .expect(201)
        .body;
    assert_eq!(
        w.app
            .get_as(&crew.reviewer, &format!("/api/v1/applications/{app}"))
            .expect(200)
            .body["notice"]["open_objections"],
        2
    );
    // The objections wait on the county, with the household they are about.
    let q = w
        .app
        .get_as(&crew.reviewer, "/api/v1/queue")
        .expect(200)
        .body;
    let item = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == raised["id"])
        .expect("the objection waits on the county")
        .clone();
    assert_eq!(item["kind"], "objection");
    assert_eq!(item["household_id"], hh.as_str());
    assert_eq!(item["worker_name"], "周**");
    assert_eq!(item["organisation_id"], crew.union.as_str());
    assert_eq!(
        item["href"],
        format!("/api/v1/public-notices/{notice}/objections")
    );

    w.app.clock.advance(TimeDelta::days(8));
    // The notice is over, but open objections block it.
    step(
        w,
        &crew.reviewer,
        "applications",
        &app,
        "end_notice",
        json!({}),
    )
    .problem(409, "open_objection");
    // Objections are no longer received after the notice.
    w.app
        .post_as(&auditor, &objections, &json!({"content": "迟到的异议"}))
        .problem(409, "notice_closed");
    // The city does not resolve objections to a filing notice; the county does, once.
    let resolve = |who: &Auth, id: &Value, outcome: &str| {
        w.app.post_as(
            who,
            &format!("/api/v1/objections/{}/resolution", id.as_str().unwrap()),
            &json!({"outcome": outcome, "resolution": "经入户核实，车辆为残疾人代步车"}),
        )
    };
    resolve(&crew.city, &raised["id"], "dismissed").problem(403, "wrong_role");
    let done = resolve(&crew.reviewer, &raised["id"], "dismissed")
        .expect(200)
        .body;
    assert_eq!(done["status"], "dismissed");
    let again = resolve(&crew.reviewer, &raised["id"], "upheld").problem(409, "wrong_state");
    says_both_ways(&again, &["dismissed"], &["异议不成立"]);
    step(
        w,
        &crew.reviewer,
        "applications",
        &app,
        "end_notice",
        json!({}),
    )
    .problem(409, "open_objection");
    resolve(&crew.reviewer, &phoned["id"], "dismissed").expect(200);
    app_step(w, &crew.reviewer, &app, "end_notice");
    let filed = app_step(w, &crew.city, &app, "city_approve");
    assert_eq!(filed["state"], "filed");
    // Listed a page at a time, oldest first, like every other list.
    let first = w
        .app
        .get_as(&crew.reviewer, &format!("{objections}?limit=1"))
        .expect(200)
        .body;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    assert_eq!(first["items"][0]["id"], raised["id"]);
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = w
        .app
        .get_as(
            &crew.reviewer,
            &format!("{objections}?limit=1&cursor={cursor}"),
        )
        .expect(200)
        .body;
    assert_eq!(second["items"][0]["objector"], "王某");
    assert!(second["next_cursor"].is_null(), "two objections, two pages");
    let listed = w.app.list_all_as(&crew.reviewer, &objections, 50);
    assert_eq!(listed.len(), 2);
    w.app
        .get_as(&crew.reviewer, &format!("{objections}?limit=0"))
        .problem(400, "invalid_parameter");
    // Another county cannot see them.
    let other = crew_cg(w);
    w.app
        .get_as(&other.reviewer, &objections)
        .problem(404, "not_found");
}

fn one_exits_by_tuokun_after_six_months_and_comes_back(w: &World) {
    let crew = crew_xx(w);
    let hh = household(w, &crew, 8, 90_000);
    let filed = file_all_the_way(w, &crew, &hh);
    let old_number = filed["file_number"].as_str().unwrap().to_owned();
    // Six months of verified wages above the standard (2 people × 720 yuan), the cause resolved.
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
    let a = assess(w, &crew.officer, &hh, "exit");
    assert_eq!(a["verdict"], "out_of_hardship", "{a}");
    for lang in ["zh", "en"] {
        let lines: Vec<&str> = a["explanation"][lang]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert!(
            lines.last().unwrap().contains("《实施方案》二(二)"),
            "the verdict cites its clause: {lines:?}"
        );
        super::assessments::cites_nothing_internal(&lines);
    }
    // 脱困 needs the matching assessment.
    w.app
        .post_as(
            &crew.officer,
            "/api/v1/exit-cases",
            &json!({"household_id": hh, "grounds": "out_of_hardship"}),
        )
        .problem(422, "validation_failed")
        .has_field_error("assessment_id", "required");
    let mismatch = w
        .app
        .post_as(
            &crew.officer,
            "/api/v1/exit-cases",
            &json!({"household_id": hh, "grounds": "safety_net", "assessment_id": a["id"]}),
        )
        .problem(422, "validation_failed");
    mismatch.has_field_error("assessment_id", "verdict_mismatch");
    assert_eq!(
        mismatch.body["errors"][0]["message_zh"],
        "评估结论为“脱困”（out_of_hardship），与退出类型“解困”（safety_net）不符"
    );
    let case = w
        .app
        .post_as(
            &crew.officer,
            "/api/v1/exit-cases",
            &json!({"household_id": hh, "grounds": "out_of_hardship", "assessment_id": a["id"], "opinion": "连续六个月收入高于低保标准"}),
        )
        .expect(201)
        .body;
    assert_eq!(case["state"], "proposed");
    assert_eq!(case["origin"], "grassroots");
    let id = case["id"].as_str().unwrap().to_owned();
    let queue = w
        .app
        .get_as(&crew.reviewer, "/api/v1/queue")
        .expect(200)
        .body;
    let item = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .expect("the exit case waits on the county")
        .clone();
    assert_eq!(item["kind"], "exit_case");
    assert_eq!(item["household_id"], hh.as_str());
    assert_eq!(item["actions"], json!(["start_recheck", "cancel"]));
    assert_eq!(
        item["file_number"],
        old_number.as_str(),
        "a filed household's number"
    );
    assert_eq!(item["worker_name"], "周**");
    assert_eq!(item["organisation_name"], "城关镇总工会");
    let x = |who: &Auth, action: &str| step(w, who, "exit-cases", &id, action, json!({}));
    let r = x(&crew.officer, "start_recheck").problem(403, "wrong_role");
    says_both_ways(&r, &["proposed", "start_recheck"], &["已提出", "受理复核"]);
    x(&crew.reviewer, "start_recheck").expect(200);
    x(&crew.reviewer, "confirm_recheck").expect(200);
    assert!(queue_ids(w, &crew.city).contains(&id));
    // Not a fast-path case.
    let r = x(&crew.city, "fast_exit").problem(409, "not_fast_path");
    says_both_ways(&r, &["fast_exit"], &["免公示退出"]);
    let noticed = x(&crew.city, "start_notice").expect(200).body;
    let notice = noticed["notice"]["id"].as_str().unwrap().to_owned();
    let public = w
        .app
        .get_as(&Auth::None, &format!("/api/v1/public-notices/{notice}"))
        .expect(200)
        .body;
    assert_eq!(public["kind"], "exit");
    assert_eq!(public["grounds"], "out_of_hardship");
    x(&crew.city, "complete_exit").problem(409, "notice_running");
    w.app.clock.advance(TimeDelta::days(8));
    let exited = x(&crew.city, "complete_exit").expect(200).body;
    assert_eq!(exited["state"], "exited");
    let life = household_status(w, &hh);
    assert_eq!(life["status"], "monitoring");
    assert_eq!(life["exit_grounds"], "out_of_hardship");
    let until = server_today(w)
        .checked_add_months(chrono::Months::new(24))
        .unwrap();
    assert_eq!(life["monitoring_until"], until.to_string());
    assert!(life["next_review_due"].is_null(), "no reviews after exit");
    // Monitoring runs for 24 months.
    let hetag = w.app.get_as(&crew.reviewer, &path).expect(200).etag();
    w.app
        .with_etag(
            &crew.reviewer,
            "POST",
            &format!("{path}/close-monitoring"),
            &hetag,
            Some(&json!({})),
        )
        .problem(409, "monitoring_running");

    // Back in hardship during monitoring: filed again, linked to the old file.
    let again = open(w, &crew, &hh);
    assert_eq!(again["previous_file_number"], old_number.as_str());
    let again_id = again["id"].as_str().unwrap().to_owned();
    // The illness is back: the cause is no longer resolved (relative hardship again).
    let etag = w.app.get_as(&crew.officer, &path).expect(200).etag();
    w.app
        .patch_as(&crew.officer, &path, &etag, &json!({"resolved_causes": []}))
        .expect(200);
    to_notice(w, &crew, &again_id, &hh);
    w.app.clock.advance(TimeDelta::days(8));
    app_step(w, &crew.reviewer, &again_id, "end_notice");
    let refiled = app_step(w, &crew.city, &again_id, "city_approve");
    assert_ne!(refiled["file_number"], old_number.as_str());
    let life = household_status(w, &hh);
    assert_eq!(life["status"], "filed");
    assert_eq!(life["previous_file_number"], old_number.as_str());
    assert!(life["monitoring_until"].is_null());
}

fn one_exits_by_the_fast_path(w: &World) {
    let crew = crew_xx(w);
    let hh = household(w, &crew, 9, 90_000);
    file_all_the_way(w, &crew, &hh);
    // Death needs a written report.
    w.app
        .post_as(
            &crew.officer,
            "/api/v1/exit-cases",
            &json!({"household_id": hh, "grounds": "death"}),
        )
        .problem(422, "validation_failed")
        .has_field_error("opinion", "required");
    let case = w
        .app
        .post_as(
            &crew.officer,
            "/api/v1/exit-cases",
            &json!({"household_id": hh, "grounds": "death", "opinion": "职工于本月病故，户主死亡证明已核"}),
        )
        .expect(201)
        .body;
    let id = case["id"].as_str().unwrap().to_owned();
    // One exit case at a time.
    w.app
        .post_as(
            &crew.officer,
            "/api/v1/exit-cases",
            &json!({"household_id": hh, "grounds": "transfer", "opinion": "迁出"}),
        )
        .problem(409, "already_exists");
    let x = |who: &Auth, action: &str| step(w, who, "exit-cases", &id, action, json!({}));
    x(&crew.reviewer, "start_recheck").expect(200);
    x(&crew.reviewer, "confirm_recheck").expect(200);
    let done = x(&crew.city, "fast_exit").expect(200).body;
    assert_eq!(done["state"], "exited");
    assert!(done["notice"].is_null(), "no notice on the fast path");
    let life = household_status(w, &hh);
    assert_eq!(life["status"], "closed");
    assert_eq!(life["exit_grounds"], "death");
    assert!(life["monitoring_until"].is_null());
    let actions: Vec<&str> = done["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["propose", "start_recheck", "confirm_recheck", "fast_exit"]
    );
}

fn a_concurrent_double_approval_has_one_winner(w: &World) {
    let crew = crew_xx(w);
    let hh = household(w, &crew, 10, 90_000);
    let app = open(w, &crew, &hh)["id"].as_str().unwrap().to_owned();
    to_notice(w, &crew, &app, &hh);
    w.app.clock.advance(TimeDelta::days(8));
    app_step(w, &crew.reviewer, &app, "end_notice");
    let second = w
        .app
        .person("city.approver.2", &w.app.root_id, &[Role::CityApprover]);
    let path = format!("/api/v1/applications/{app}");
    let etag = w.app.get_as(&crew.city, &path).expect(200).etag();
    let barrier = std::sync::Barrier::new(2);
    let statuses: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = [&crew.city, &second.auth]
            .into_iter()
            .map(|who| {
                let (barrier, etag, path) = (&barrier, &etag, &path);
                s.spawn(move || {
                    barrier.wait();
                    let r = w.app.with_etag(
                        who,
                        "POST",
                        &format!("{path}/actions"),
                        etag,
                        Some(&json!({"action": "city_approve"})),
                    );
                    (
                        r.status.as_u16(),
                        r.body["code"].as_str().unwrap_or_default().to_owned(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wins = statuses.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(wins, 1, "{statuses:?}");
    let loser = statuses.iter().find(|(s, _)| *s != 200).unwrap();
    assert!(
        (loser.0 == 412 && loser.1 == "precondition_failed")
            || (loser.0 == 409 && loser.1 == "wrong_state"),
        "{loser:?}"
    );
    let after = w.app.get_as(&crew.city, &path).expect(200).body;
    assert_eq!(after["state"], "filed");
    assert_eq!(
        after["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "city_approve")
            .count(),
        1,
        "one approval, one timeline entry"
    );
    assert_eq!(
        after["file_number"],
        format!("610724-{}-00001", server_today(w).year())
    );
}

fn annual_reviews_fall_due_and_are_recorded(w: &World) {
    let crew = crew_xx(w);
    let hh = household(w, &crew, 11, 90_000);
    file_all_the_way(w, &crew, &hh);
    let due = |status: &str| -> Vec<Value> {
        w.app
            .get_as(
                &crew.officer,
                &format!("/api/v1/annual-reviews/due?status={status}"),
            )
            .expect(200)
            .body["items"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert!(due("due").is_empty(), "a year away");
    // Eleven and a half months later it is due; the officer's queue shows it.
    w.app.clock.advance(TimeDelta::days(350));
    let items = due("due");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["household_id"], hh.as_str());
    assert_eq!(items[0]["overdue"], false);
    assert!(due("overdue").is_empty());
    let queue = w
        .app
        .get_as(&crew.officer, "/api/v1/queue")
        .expect(200)
        .body;
    let item = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == hh.as_str())
        .expect("the review waits on the officer")
        .clone();
    assert_eq!(item["kind"], "annual_review");
    assert_eq!(item["file_number"], items[0]["file_number"]);
    assert!(item["file_number"].is_string());
    assert_eq!(item["organisation_name"], "城关镇总工会");
    assert_eq!(items[0]["organisation_name"], "城关镇总工会");
    // Another month: overdue.
    w.app.clock.advance(TimeDelta::days(30));
    let items = due("overdue");
    assert_eq!(items.len(), 1);
    assert!(items[0]["days_overdue"].as_i64().unwrap() > 0);
    // The review relies on a fresh identification assessment; the next one is a year on.
    let path = format!("/api/v1/households/{hh}");
    let etag = w.app.get_as(&crew.officer, &path).expect(200).etag();
    let a = assess(w, &crew.officer, &hh, "identify");
    let review = w
        .app
        .with_etag(
            &crew.officer,
            "POST",
            &format!("{path}/annual-reviews"),
            &etag,
            Some(&json!({"assessment_id": a["id"], "opinion": "家庭情况无变化"})),
        )
        .expect(201)
        .body;
    assert_eq!(review["outcome"], "continues");
    let next = server_today(w)
        .checked_add_months(chrono::Months::new(12))
        .unwrap();
    assert_eq!(review["next_due"], next.to_string());
    assert!(due("due").is_empty());
    assert_eq!(
        w.app
            .get_as(&crew.officer, &format!("{path}/annual-reviews"))
            .expect(200)
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A household that is not filed is not reviewed.
    let draft = household(w, &crew, 12, 90_000);
    let etag = w
        .app
        .get_as(&crew.officer, &format!("/api/v1/households/{draft}"))
        .expect(200)
        .etag();
    let b = assess(w, &crew.officer, &draft, "identify");
    let r = w
        .app
        .with_etag(
            &crew.officer,
            "POST",
            &format!("/api/v1/households/{draft}/annual-reviews"),
            &etag,
            Some(&json!({"assessment_id": b["id"]})),
        )
        .problem(409, "wrong_state");
    says_both_ways(&r, &["draft"], &["建档中（尚未审批）"]);
}

fn notices_count_working_days_over_the_holiday_calendar(w: &World) {
    let crew = crew_xx(w);
    let admin = w.person(Role::CountyAdmin).auth.clone();
    let today = server_today(w);
    // Count the county's notices in working days from today; a holiday tomorrow.
    w.app
        .post_as(
            &admin,
            "/api/v1/policy/parameters",
            &json!({"key": "notice_working_days", "region_code": "610724", "effective_from": today, "value": true, "document": "西工发〔2026〕9号"}),
        )
        .expect(201);
    let holiday = today + TimeDelta::days(1);
    w.app
        .put_as(
            &admin,
            &format!("/api/v1/calendar/{holiday}"),
            &json!({"kind": "holiday", "name": "测试假日"}),
        )
        .expect(200);
    w.app
        .put_as(
            &crew.officer,
            &format!("/api/v1/calendar/{holiday}"),
            &json!({"kind": "holiday", "name": "x"}),
        )
        .problem(403, "forbidden");
    w.app
        .put_as(
            &admin,
            &format!("/api/v1/calendar/{holiday}"),
            &json!({"kind": "festival", "name": "x"}),
        )
        .problem(422, "validation_failed");
    w.app
        .put_as(
            &admin,
            "/api/v1/calendar/2026-13-01",
            &json!({"kind": "holiday", "name": "x"}),
        )
        .problem(400, "invalid_parameter")
        .has_field_error("date", "invalid_date");
    let listed = w
        .app
        .get_as(
            &crew.officer,
            &format!("/api/v1/calendar?from={today}&to={holiday}"),
        )
        .expect(200)
        .body;
    assert_eq!(listed[0]["kind"], "holiday");
    let mut calendar = jiekun_domain::calendar::Calendar::default();
    calendar
        .days
        .insert(holiday, jiekun_domain::calendar::DayKind::Holiday);
    let expected = calendar.notice_ends_on(today, 7, true);
    let hh = household(w, &crew, 13, 90_000);
    let app = open(w, &crew, &hh)["id"].as_str().unwrap().to_owned();
    to_notice(w, &crew, &app, &hh);
    let notice = w
        .app
        .get_as(&crew.reviewer, &format!("/api/v1/applications/{app}"))
        .expect(200)
        .body["notice"]
        .clone();
    assert_eq!(notice["ends_on"], expected.to_string());
    assert!(
        (expected - today).num_days() >= 8,
        "a weekend and a holiday in seven working days"
    );
    let status = w
        .app
        .send_as(
            &admin,
            w.app
                .client
                .delete(w.app.url(&format!("/api/v1/calendar/{holiday}"))),
        )
        .status;
    assert_eq!(status, 204);
    // A path date that is no date is a bad parameter, on every method.
    let r = w.app.send_as(
        &admin,
        w.app
            .client
            .delete(w.app.url("/api/v1/calendar/2026-02-30")),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], "invalid_parameter");
    r.has_field_error("date", "invalid_date");
}

fn an_upheld_objection_sends_the_case_back(w: &World) {
    let crew = crew_xx(w);
    let hh = household(w, &crew, 14, 90_000);
    let app = open(w, &crew, &hh)["id"].as_str().unwrap().to_owned();
    let notice = to_notice(w, &crew, &app, &hh);
    let objection = w
        .app
        .post_as(
            &w.person(Role::CountyAdmin).auth,
            &format!("/api/v1/public-notices/{notice}/objections"),
            &json!({"content": "该户另有商铺出租收入", "channel": "letter", "objector": "李某"}),
        )
        .expect(201)
        .body;
    let upheld = w
        .app
        .post_as(
            &crew.reviewer,
            &format!(
                "/api/v1/objections/{}/resolution",
                objection["id"].as_str().unwrap()
            ),
            &json!({"outcome": "upheld", "resolution": "经核实确有租金收入，退回补充"}),
        )
        .expect(200)
        .body;
    assert_eq!(upheld["status"], "upheld");
    assert_eq!(upheld["resolved_by"], "reviewer");
    // Returned during the notice: the notice is withdrawn and takes no more objections.
    let back = step(
        w,
        &crew.reviewer,
        "applications",
        &app,
        "return",
        json!({"opinion": "公示期间异议成立，请补充租金收入"}),
    )
    .expect(200)
    .body;
    assert_eq!(back["state"], "returned");
    let public = w
        .app
        .get_as(&Auth::None, &format!("/api/v1/public-notices/{notice}"))
        .expect(200)
        .body;
    assert_eq!(public["status"], "withdrawn");
    assert_eq!(public["accepting_objections"], false);
    w.app
        .post_as(
            &crew.officer,
            &format!("/api/v1/public-notices/{notice}/objections"),
            &json!({"content": "x"}),
        )
        .problem(409, "notice_closed");
    // Resubmitted, it gets a new notice.
    app_step(w, &crew.officer, &app, "submit");
    let again = to_notice_after_submit(w, &crew, &app, &hh);
    assert_ne!(again, notice);
}

/// From submitted to the start of the notice.
fn to_notice_after_submit(w: &World, crew: &Crew, app: &str, household: &str) -> String {
    app_step(w, &crew.reviewer, app, "start_review");
    let a = assess(w, &crew.reviewer, household, "identify");
    step(
        w,
        &crew.reviewer,
        "applications",
        app,
        "approve_review",
        json!({"assessment_id": a["id"]}),
    )
    .expect(200);
    app_step(w, &crew.reviewer, app, "start_notice")["notice"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

crate::on_both_backends!(World:
    a_household_is_filed_all_the_way_to_city_approval,
    every_refusal_says_why,
    one_is_returned_corrected_and_approved,
    one_is_rejected_and_its_people_are_free_again,
    an_objection_holds_the_notice_until_resolved,
    an_upheld_objection_sends_the_case_back,
    one_exits_by_tuokun_after_six_months_and_comes_back,
    one_exits_by_the_fast_path,
    a_concurrent_double_approval_has_one_winner,
    annual_reviews_fall_due_and_are_recorded,
    notices_count_working_days_over_the_holiday_calendar,
);
