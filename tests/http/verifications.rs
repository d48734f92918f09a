//! Information sharing: consents, verification requests answered by departments' keys, verified
//! facts in the rules, discrepancies, and the notice waiting on the answers.

use jiekun_domain::access::Role;
use serde_json::{json, Value};

use super::workflows::{self as wf, Crew};
use super::world::World;
use crate::common::Auth;

const ALL: [&str; 6] = [
    "vehicles",
    "real_estate",
    "social_insurance",
    "social_assistance",
    "business",
    "tax",
];

/// What the authorisation table needs of information sharing in one county.
pub struct Shared {
    pub worker: String,
    pub revoked_consent: String,
    pub verification: String,
    pub answered_task: String,
    pub resolved_discrepancy: String,
}

pub fn members(w: &World, who: &Auth, household: &str) -> Vec<String> {
    w.app
        .get_as(who, &format!("/api/v1/households/{household}"))
        .expect(200)
        .body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

fn consent(
    w: &World,
    who: &Auth,
    household: &str,
    member: &str,
    domains: &[&str],
) -> crate::common::Resp {
    w.app.post_as(
        who,
        &format!("/api/v1/households/{household}/consents"),
        &json!({"member_id": member, "number": "西乡授〔2026〕0001号", "signed_on": "2026-11-02",
                "domains": domains, "evidence": "授权书原件存档"}),
    )
}

pub fn consent_all(w: &World, crew: &Crew, household: &str) {
    for m in members(w, &crew.officer, household) {
        consent(w, &crew.officer, household, &m, &ALL).expect(201);
    }
}

pub fn open(w: &World, crew: &Crew, household: &str, domains: &[&str]) -> crate::common::Resp {
    w.app.post_as(
        &crew.reviewer,
        "/api/v1/verifications",
        &json!({"household_id": household, "domains": domains}),
    )
}

fn task_of<'a>(v: &'a Value, domain: &str) -> &'a Value {
    v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["domain"] == domain)
        .unwrap()
}

fn answer(w: &World, key: &Auth, task: &str, facts: Value) -> crate::common::Resp {
    w.app.post_as(
        key,
        &format!("/api/v1/verifications/tasks/{task}/answer"),
        &json!({"facts": facts}),
    )
}

/// Consents for the filed household, one revoked; a verification of every domain; its 人社 task
/// answered by `key` with a pension nobody declared; the discrepancy it flagged, resolved.
pub fn setup(w: &World, crew: &Crew, filed: &str, key: &Auth) -> Shared {
    consent_all(w, crew, filed);
    let worker = members(w, &crew.officer, filed)[0].clone();
    let revoked_consent = consent(w, &crew.officer, filed, &worker, &["tax"])
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.app
        .post_as(
            &crew.officer,
            &format!("/api/v1/households/{filed}/consents/{revoked_consent}/revoke"),
            &json!({"reason": "本人申请撤销"}),
        )
        .expect(200);
    let v = open(w, crew, filed, &ALL).expect(201).body;
    let task = task_of(&v, "social_insurance")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let month = wf::last_months(w, 1)[0].clone();
    let today = w.app.clock.today().to_string();
    let spouse = members(w, &crew.officer, filed)[1].clone();
    let answered = answer(w, key, &task, json!([{"member_id": worker, "as_of": today, "status": "retired", "month": month, "amount_fen": 185000},
        {"member_id": spouse, "as_of": today, "status": "not_insured"}]))
        .expect(200);
    assert_eq!(answered.body["discrepancies"], 1, "{}", answered.body);
    let listed = w
        .app
        .get_as(
            &crew.reviewer,
            &format!("/api/v1/discrepancies?household_id={filed}&status=open"),
        )
        .expect(200);
    let d = listed.body["items"][0]["id"].as_str().unwrap().to_owned();
    w.app
        .post_as(
            &crew.reviewer,
            &format!("/api/v1/discrepancies/{d}/resolve"),
            &json!({"resolution": "accept_verified", "note": "经核实属实"}),
        )
        .expect(200);
    Shared {
        worker,
        revoked_consent,
        verification: v["id"].as_str().unwrap().to_owned(),
        answered_task: task,
        resolved_discrepancy: d,
    }
}

fn a_request_without_consent_is_refused(w: &World) {
    let crew = wf::crew_xx(w);
    let h = wf::household(w, &crew, 60, 90_000);
    let ids = members(w, &crew.officer, &h);
    let r = open(w, &crew, &h, &["vehicles", "tax"]).problem(409, "consent_missing");
    for m in &ids {
        r.has_field_error(&format!("members.{m}"), "consent_missing");
    }
    assert!(
        r.body["detail_zh"].as_str().unwrap().contains("周建华"),
        "{}",
        r.body
    );
    assert!(
        r.body["detail"].as_str().unwrap().contains("vehicles, tax"),
        "{}",
        r.body
    );
    // The worker consents to vehicles only, the spouse to both: the worker still lacks tax.
    consent(w, &crew.officer, &h, &ids[0], &["vehicles"]).expect(201);
    consent(w, &crew.officer, &h, &ids[1], &["vehicles", "tax"]).expect(201);
    let r = open(w, &crew, &h, &["vehicles", "tax"]).problem(409, "consent_missing");
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 1, "{}", r.body);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .ends_with("tax"),
        "{}",
        r.body
    );
    // Nothing was written by the refusals.
    let none = w
        .app
        .get_as(
            &crew.reviewer,
            &format!("/api/v1/verifications?household_id={h}"),
        )
        .expect(200);
    assert_eq!(none.body["items"].as_array().unwrap().len(), 0);
    // A consent limited to the asked domain suffices when only that domain is asked.
    let v = open(w, &crew, &h, &["vehicles"]).expect(201).body;
    assert_eq!(v["tasks"].as_array().unwrap().len(), 1);
    // A revoked consent covers nothing.
    let c = consent(w, &crew.officer, &h, &ids[0], &["tax"])
        .expect(201)
        .body;
    w.app
        .post_as(
            &crew.officer,
            &format!(
                "/api/v1/households/{h}/consents/{}/revoke",
                c["id"].as_str().unwrap()
            ),
            &json!({"reason": "撤销"}),
        )
        .expect(200)
        .body["revoked"]
        .as_bool()
        .filter(|r| *r)
        .unwrap();
    open(w, &crew, &h, &["tax"]).problem(409, "consent_missing");
    // Every domain, every member: one task per domain, each for its department, due in five
    // working days.
    consent_all(w, &crew, &h);
    let v = open(w, &crew, &h, &ALL).expect(201).body;
    let tasks = v["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 6);
    let departments: Vec<&str> = tasks
        .iter()
        .map(|t| t["department_code"].as_str().unwrap())
        .collect();
    for d in [
        "public_security",
        "housing",
        "hrss",
        "civil_affairs",
        "market_regulation",
        "tax",
    ] {
        assert!(departments.contains(&d), "{departments:?}");
    }
    let today = w.app.clock.today();
    let due = chrono::NaiveDate::parse_from_str(tasks[0]["due_on"].as_str().unwrap(), "%Y-%m-%d")
        .unwrap();
    assert!(
        due >= today + chrono::TimeDelta::days(5) && due <= today + chrono::TimeDelta::days(11),
        "{due}"
    );
    assert!(tasks
        .iter()
        .all(|t| t["status"] == "open" && t["members"].as_array().unwrap().len() == 2));
}

fn consent_is_signed_by_the_member_or_a_guardian(w: &World) {
    let crew = wf::crew_xx(w);
    let h = wf::household(w, &crew, 61, 90_000);
    let ids = members(w, &crew.officer, &h);
    let etag = w
        .app
        .get_as(&crew.officer, &format!("/api/v1/households/{h}"))
        .expect(200)
        .etag();
    let child = w
        .app
        .with_etag(
            &crew.officer,
            "POST",
            &format!("/api/v1/households/{h}/members"),
            &etag,
            Some(&json!({"relation": "child", "name": "周小明", "national_id": jiekun_domain::national_id::complete("61072420150101211"), "work_status": "student"})),
        )
        .expect(201);
    let child_id = child.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/households/{h}/consents");
    let body = |member: &str, signer: Option<&str>| json!({"member_id": member, "signed_by_member_id": signer, "number": "授-1", "signed_on": "2026-11-02", "domains": ["tax"], "evidence": "存档"});
    w.app
        .post_as(&crew.officer, &path, &body(&child_id, None))
        .problem(422, "validation_failed")
        .has_field_error("signed_by_member_id", "guardian_required");
    w.app
        .post_as(&crew.officer, &path, &body(&ids[0], Some(&ids[1])))
        .problem(422, "validation_failed")
        .has_field_error("signed_by_member_id", "adult_signs_for_self");
    let ok = w
        .app
        .post_as(&crew.officer, &path, &body(&child_id, Some(&ids[0])))
        .expect(201)
        .body;
    assert_eq!(ok["signed_by_member_id"], ids[0].as_str());
    w.app.post_as(&crew.officer, &path, &json!({"member_id": ids[0], "number": "授-2", "signed_on": "2099-01-01", "domains": ["tax"], "evidence": "存档"}))
        .problem(422, "validation_failed")
        .has_field_error("signed_on", "in_future");
    w.app.post_as(&crew.officer, &path, &json!({"member_id": ids[0], "number": "授-2", "signed_on": "2026-11-02", "domains": ["tax", "palmistry"], "evidence": "存档"}))
        .problem(422, "validation_failed");
    let listed = w.app.get_as(&crew.reviewer, &path).expect(200).body;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // The consent is the file's: an auditor reads it, a department key does not.
    w.app
        .get_as(&w.person(Role::Auditor).auth, &path)
        .expect(200);
    w.app
        .get_as(&w.key(&w.key_verify), &path)
        .problem(403, "forbidden");
}

/// A department of `code` in 西乡县 and a key of it with `verification:respond`.
pub fn department_key(w: &World, code: &str, name: &str) -> (String, Auth) {
    let admin = &w.person(Role::CountyAdmin).auth;
    let d = w
        .app
        .post_as(
            admin,
            "/api/v1/departments",
            &json!({"code": code, "name": name, "region_code": "610724"}),
        )
        .expect(201);
    let key = w
        .app
        .post_as(admin, "/api/v1/api-keys", &json!({"department_id": d.body["id"], "name": format!("{name}核对"), "scopes": ["verification:respond"], "rate_limit_per_minute": 6000}))
        .expect(201);
    (
        d.body["id"].as_str().unwrap().to_owned(),
        Auth::ApiKey(key.body["key"].as_str().unwrap().to_owned()),
    )
}

fn a_department_sees_only_its_own_tasks_and_the_minimum(w: &World) {
    let crew = wf::crew_xx(w);
    let h = wf::household(w, &crew, 62, 90_000);
    consent_all(w, &crew, &h);
    let v = open(w, &crew, &h, &ALL).expect(201).body;
    let hrss = w.key(&w.key_verify);
    let mine = w
        .app
        .list_all_as(&hrss, "/api/v1/verifications/tasks?status=open", 50);
    assert!(!mine.is_empty());
    for t in &mine {
        assert_eq!(t["department_code"], "hrss", "{t}");
        assert!(
            t["region_code"].as_str().unwrap().starts_with("610724"),
            "{t}"
        );
        let keys: Vec<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
        for hidden in ["household_id", "facts", "address", "worker_name"] {
            assert!(
                !keys.contains(&hidden),
                "{hidden} shown to a department: {t}"
            );
        }
        for m in t["members"].as_array().unwrap() {
            let keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys.len(), 4, "{m}");
            assert_eq!(
                m["national_id"].as_str().unwrap().len(),
                18,
                "the full number: {m}"
            );
            assert!(!m["national_id"].as_str().unwrap().contains('*'));
        }
    }
    let own = task_of(&v, "social_insurance")["id"].as_str().unwrap();
    assert!(mine.iter().any(|t| t["id"] == own));
    // Another department's task is not found; 城固县's 人社 does not see 西乡县's.
    let vehicles = task_of(&v, "vehicles")["id"].as_str().unwrap();
    w.app
        .get_as(&hrss, &format!("/api/v1/verifications/tasks/{vehicles}"))
        .problem(404, "not_found");
    w.app
        .get_as(
            &w.key(&w.key_verify_cg),
            &format!("/api/v1/verifications/tasks/{own}"),
        )
        .problem(404, "not_found");
    let cg = w
        .app
        .list_all_as(&w.key(&w.key_verify_cg), "/api/v1/verifications/tasks", 50);
    assert!(cg
        .iter()
        .all(|t| t["region_code"].as_str().unwrap().starts_with("610722")));
    // A key without the scope, and the request itself, are closed to departments.
    w.app
        .get_as(&w.key(&w.key_ok), "/api/v1/verifications/tasks")
        .problem(403, "forbidden");
    w.app
        .get_as(
            &hrss,
            &format!("/api/v1/verifications/{}", v["id"].as_str().unwrap()),
        )
        .problem(403, "forbidden");
    // Staff see the same task masked, with the household.
    let staff = w
        .app
        .get_as(
            &crew.reviewer,
            &format!("/api/v1/verifications/tasks/{own}"),
        )
        .expect(200)
        .body;
    assert_eq!(staff["household_id"], h.as_str());
    assert!(
        staff["members"][0]["national_id"]
            .as_str()
            .unwrap()
            .contains('*'),
        "{staff}"
    );
    // Every disclosure to a department is audited: who received which members, for which request.
    w.app
        .get_as(&hrss, &format!("/api/v1/verifications/tasks/{own}"))
        .expect(200);
    let events = w.app.list_all_as(
        &w.person(Role::SystemAdmin).auth,
        "/api/v1/audit/events?action=verification.disclose",
        200,
    );
    let hit = events
        .iter()
        .find(|e| e.to_string().contains(own))
        .unwrap_or_else(|| panic!("no disclosure of {own}"));
    assert_eq!(hit["actor_type"], "api_key", "{hit}");
    let text = hit.to_string();
    assert!(
        text.contains(v["id"].as_str().unwrap())
            && text.contains(&members(w, &crew.officer, &h)[0]),
        "{hit}"
    );
}

fn identify(w: &World, crew: &Crew, h: &str) -> Value {
    wf::assess(w, &crew.reviewer, h, "identify")
}

fn explanation(a: &Value) -> String {
    a["explanation"].to_string()
}

fn a_verified_vehicle_or_second_home_changes_identification(w: &World) {
    let crew = wf::crew_xx(w);
    let h = wf::household(w, &crew, 63, 20_000);
    assert_eq!(identify(w, &crew, &h)["verdict"], "deep");
    consent_all(w, &crew, &h);
    let v = open(w, &crew, &h, &["vehicles", "real_estate"])
        .expect(201)
        .body;
    let worker = members(w, &crew.officer, &h)[0].clone();
    let spouse = members(w, &crew.officer, &h)[1].clone();
    let (_, police) = department_key(w, "public_security", "西乡县公安局");
    let today = w.app.clock.today().to_string();
    let task = task_of(&v, "vehicles")["id"].as_str().unwrap().to_owned();
    // The answer is checked against the task before anything is written.
    answer(
        w,
        &police,
        &task,
        json!([{"member_id": worker, "as_of": today, "count": 1}]),
    )
    .problem(422, "validation_failed")
    .has_field_error("facts", "member_unanswered");
    answer(w, &police, &task, json!([{"member_id": worker, "as_of": today}, {"member_id": "nobody", "as_of": today, "count": 0}]))
        .problem(422, "validation_failed")
        .has_field_error("facts[0].count", "required");
    answer(w, &police, &task, json!([{"member_id": worker, "domain": "tax", "as_of": today, "month": "2026-01", "amount_fen": 1}, {"member_id": spouse, "as_of": today, "count": 0}]))
        .problem(422, "validation_failed")
        .has_field_error("facts[0].domain", "wrong_domain");
    let hrss = w.key(&w.key_verify);
    answer(w, &hrss, &task, json!([{"member_id": worker, "as_of": today, "count": 1}, {"member_id": spouse, "as_of": today, "count": 0}])).problem(404, "not_found");
    let facts = json!([{"member_id": worker, "as_of": today, "count": 1}, {"member_id": spouse, "as_of": today, "count": 0}]);
    let done = w
        .app
        .send_as(
            &police,
            w.app
                .client
                .post(
                    w.app
                        .url(&format!("/api/v1/verifications/tasks/{task}/answer")),
                )
                .header("Idempotency-Key", "vehicles-1")
                .json(&json!({"facts": facts})),
        )
        .expect(200);
    assert_eq!(done.body["discrepancies"], 1);
    assert_eq!(done.body["task"]["status"], "answered");
    // A retry with the same key answers the same; another answer is refused.
    let again = w
        .app
        .send_as(
            &police,
            w.app
                .client
                .post(
                    w.app
                        .url(&format!("/api/v1/verifications/tasks/{task}/answer")),
                )
                .header("Idempotency-Key", "vehicles-1")
                .json(&json!({"facts": facts})),
        )
        .expect(200);
    assert_eq!(again.body, done.body);
    answer(w, &police, &task, facts.clone()).problem(409, "wrong_state");
    // The difference is flagged on the household with both figures.
    let open_d = w
        .app
        .get_as(
            &crew.reviewer,
            &format!("/api/v1/discrepancies?household_id={h}&status=open"),
        )
        .expect(200)
        .body;
    let d = &open_d["items"][0];
    assert_eq!(
        (
            d["field"].as_str(),
            d["declared"].as_i64(),
            d["verified"].as_i64()
        ),
        (Some("vehicles_count"), Some(0), Some(1)),
        "{d}"
    );
    // The verified vehicle takes the household out of deep hardship (the property rules bound
    // deep hardship), and the explanation names the fact.
    let a = identify(w, &crew, &h);
    assert_eq!(a["verdict"], "relative", "{}", explanation(&a));
    let text = explanation(&a);
    assert!(
        text.contains("vehicles_count") && text.contains("public_security") && text.contains(&task),
        "{text}"
    );
    assert!(text.contains("公安"), "{text}");
    // Staff keep the declared figure: the fact is set aside and the household is eligible again.
    let did = d["id"].as_str().unwrap();
    w.app
        .post_as(
            &w.key(&w.key_verify),
            &format!("/api/v1/discrepancies/{did}/resolve"),
            &json!({"resolution": "keep_declared", "note": "车辆已过户"}),
        )
        .problem(403, "forbidden");
    w.app
        .post_as(
            &crew.officer,
            &format!("/api/v1/discrepancies/{did}/resolve"),
            &json!({"resolution": "keep_declared", "note": "车辆已过户"}),
        )
        .problem(403, "forbidden");
    w.app
        .post_as(
            &crew.reviewer,
            &format!("/api/v1/discrepancies/{did}/resolve"),
            &json!({"resolution": "keep_declared", "note": "车辆已过户"}),
        )
        .expect(200);
    w.app
        .post_as(
            &crew.reviewer,
            &format!("/api/v1/discrepancies/{did}/resolve"),
            &json!({"resolution": "keep_declared", "note": "再次"}),
        )
        .problem(409, "wrong_state");
    assert_eq!(identify(w, &crew, &h)["verdict"], "deep");
    // A second home of 150 m² for two people: excluded, flagged, and accepted into the file.
    let (_, housing) = department_key(w, "housing", "西乡县住建局");
    let homes = task_of(&v, "real_estate")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    answer(w, &housing, &homes, json!([{"member_id": worker, "as_of": today, "count": 2, "area_m2": 150.5}, {"member_id": spouse, "as_of": today, "count": 0, "area_m2": 0}])).expect(200);
    let a = identify(w, &crew, &h);
    assert_eq!(a["verdict"], "relative", "{}", explanation(&a));
    assert!(
        explanation(&a).contains("homes_count"),
        "{}",
        explanation(&a)
    );
    let flagged = w.app.list_all_as(
        &crew.reviewer,
        &format!("/api/v1/discrepancies?household_id={h}&status=open"),
        50,
    );
    let fields: Vec<&str> = flagged
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields.len(), 2, "{fields:?}");
    assert!(fields.contains(&"homes_count") && fields.contains(&"homes_area"));
    let area = flagged.iter().find(|d| d["field"] == "homes_area").unwrap();
    assert_eq!(area["verified"], 15050);
    let before = w
        .app
        .get_as(&crew.reviewer, &format!("/api/v1/households/{h}"))
        .expect(200)
        .body;
    for d in &flagged {
        w.app
            .post_as(
                &crew.reviewer,
                &format!(
                    "/api/v1/discrepancies/{}/resolve",
                    d["id"].as_str().unwrap()
                ),
                &json!({"resolution": "accept_verified", "note": "以不动产登记为准"}),
            )
            .expect(200);
    }
    let after = w
        .app
        .get_as(&crew.reviewer, &format!("/api/v1/households/{h}"))
        .expect(200)
        .body;
    assert_eq!(after["assets"]["homes_count"], 2, "{after}");
    assert!(after["version"].as_i64() > before["version"].as_i64());
    // The request is answered once every task is.
    let req = w
        .app
        .get_as(
            &crew.reviewer,
            &format!("/api/v1/verifications/{}", v["id"].as_str().unwrap()),
        )
        .expect(200)
        .body;
    assert_eq!(req["status"], "answered", "{req}");
    assert_eq!(
        task_of(&req, "real_estate")["facts"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

fn verified_income_replaces_declared_income(w: &World) {
    let crew = wf::crew_xx(w);
    let h = wf::household(w, &crew, 64, 20_000);
    consent_all(w, &crew, &h);
    let v = open(w, &crew, &h, &["tax"]).expect(201).body;
    let worker = members(w, &crew.officer, &h)[0].clone();
    let spouse = members(w, &crew.officer, &h)[1].clone();
    let (_, tax) = department_key(w, "tax", "西乡县税务局");
    let today = w.app.clock.today().to_string();
    let months = wf::last_months(w, 12);
    let mut facts: Vec<Value> = months
        .iter()
        .map(|m| json!({"member_id": worker, "as_of": today, "month": m, "amount_fen": 900_000}))
        .collect();
    facts.push(json!({"member_id": spouse, "as_of": today, "month": months[0], "amount_fen": 0}));
    answer(
        w,
        &tax,
        task_of(&v, "tax")["id"].as_str().unwrap(),
        Value::Array(facts),
    )
    .expect(200);
    let flagged = w.app.list_all_as(
        &crew.reviewer,
        &format!("/api/v1/discrepancies?household_id={h}"),
        50,
    );
    assert_eq!(
        flagged.len(),
        12,
        "one per month whose declared wage differs"
    );
    assert!(flagged.iter().all(|d| d["field"] == "income"
        && d["declared"] == 20_000
        && d["verified"] == 900_000
        && d["kind"] == "wage"));
    let a = identify(w, &crew, &h);
    assert_eq!(
        a["verdict"], "not_eligible",
        "verified wages replace the declared ones: {a}"
    );
}

/// The amounts a department proved for a member, as the household's income records list them:
/// (month, amount, verified), oldest month first.
fn proven(w: &World, crew: &Crew, h: &str, member: &str, source: &str) -> Vec<(String, i64, bool)> {
    let mut out: Vec<(String, i64, bool)> = w
        .app
        .list_all_as(
            &crew.officer,
            &format!("/api/v1/households/{h}/incomes?member_id={member}"),
            50,
        )
        .iter()
        .filter(|r| r["source"] == source)
        .map(|r| {
            (
                r["month"].as_str().unwrap().to_owned(),
                r["amount_fen"].as_i64().unwrap(),
                r["verified"].as_bool().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn the_latest_answer_stands_and_a_figure_set_aside_leaves_the_month(w: &World) {
    let crew = wf::crew_xx(w);
    let h = wf::household(w, &crew, 65, 20_000);
    consent_all(w, &crew, &h);
    let worker = members(w, &crew.officer, &h)[0].clone();
    let spouse = members(w, &crew.officer, &h)[1].clone();
    let (_, tax) = department_key(w, "tax", "西乡县税务局城关分局");
    let today = w.app.clock.today().to_string();
    let months = wf::last_months(w, 2);
    let wages = |amount: i64| -> Value {
        let mut facts: Vec<Value> = months
            .iter()
            .map(|m| json!({"member_id": worker, "as_of": today, "month": m, "amount_fen": amount}))
            .collect();
        facts.push(
            json!({"member_id": spouse, "as_of": today, "month": months[0], "amount_fen": 0}),
        );
        Value::Array(facts)
    };
    let first = open(w, &crew, &h, &["tax"]).expect(201).body;
    answer(
        w,
        &tax,
        task_of(&first, "tax")["id"].as_str().unwrap(),
        wages(900_000),
    )
    .expect(200);
    assert_eq!(
        proven(w, &crew, &h, &worker, "tax"),
        months
            .iter()
            .map(|m| (m.clone(), 900_000, true))
            .collect::<Vec<_>>(),
        "the proven wages are the department's verified records"
    );
    let counted = |a: &Value| a["decision"]["figures"]["income_counted_fen"].as_i64();
    let a = identify(w, &crew, &h);
    assert_eq!(
        counted(&a),
        Some(2 * 900_000 + 10 * 20_000),
        "two proven months replace the declared ones: {a}"
    );
    let second = open(w, &crew, &h, &["tax"]).expect(201).body;
    let task = task_of(&second, "tax")["id"].as_str().unwrap().to_owned();
    answer(w, &tax, &task, wages(30_000)).expect(200);
    assert_eq!(
        proven(w, &crew, &h, &worker, "tax"),
        months
            .iter()
            .map(|m| (m.clone(), 30_000, true))
            .collect::<Vec<_>>(),
        "a later answer replaces the department's earlier figure for the same month"
    );
    let a = identify(w, &crew, &h);
    assert_ne!(
        a["verdict"], "not_eligible",
        "the later figures decide: {a}"
    );
    // A proven amount is not a record staff edit: it changes through its discrepancy only.
    let fact = w
        .app
        .list_all_as(
            &crew.officer,
            &format!("/api/v1/households/{h}/incomes"),
            50,
        )
        .into_iter()
        .find(|r| r["source"] == "tax")
        .expect("a proven wage");
    let etag = w
        .app
        .get_as(&crew.officer, &format!("/api/v1/households/{h}"))
        .expect(200)
        .etag();
    for method in ["PATCH", "DELETE"] {
        w.app
            .with_etag(
                &crew.officer,
                method,
                &format!(
                    "/api/v1/households/{h}/incomes/{}",
                    fact["id"].as_str().unwrap()
                ),
                &etag,
                (method == "PATCH")
                    .then(|| json!({"amount_fen": 1}))
                    .as_ref(),
            )
            .problem(404, "not_found");
    }
    // Staff keep the declared wage of the newest month: the later figure is set aside, and the
    // earlier answer does not come back in its place.
    let d = w
        .app
        .list_all_as(
            &crew.reviewer,
            &format!("/api/v1/discrepancies?household_id={h}&status=open"),
            50,
        )
        .into_iter()
        .find(|d| d["task_id"] == task.as_str() && d["month"] == months[1].as_str())
        .expect("the second answer's difference in the newest month");
    w.app
        .post_as(
            &crew.reviewer,
            &format!(
                "/api/v1/discrepancies/{}/resolve",
                d["id"].as_str().unwrap()
            ),
            &json!({"resolution": "keep_declared", "note": "以申报为准"}),
        )
        .expect(200);
    assert_eq!(
        proven(w, &crew, &h, &worker, "tax"),
        vec![(months[0].clone(), 30_000, true)],
        "the month set aside is left to the declared record"
    );
    let declared = proven(w, &crew, &h, &worker, "declared");
    assert!(
        declared
            .iter()
            .any(|(m, amount, _)| m == &months[1] && *amount == 20_000),
        "{declared:?}"
    );
    let a = identify(w, &crew, &h);
    assert_eq!(
        counted(&a),
        Some(30_000 + 11 * 20_000),
        "the month set aside counts its declared wage: {a}"
    );
}

fn the_notice_waits_for_every_answer_or_an_override(w: &World) {
    let crew = wf::crew_xx(w);
    let h = wf::household(w, &crew, 65, 20_000);
    let app = wf::open(w, &crew, &h)["id"].as_str().unwrap().to_owned();
    let step = |who: &Auth, action: &str, extra: Value| {
        wf::step(w, who, "applications", &app, action, extra)
    };
    step(&crew.officer, "submit", json!({})).expect(200);
    // Not before the county review starts: the override belongs to the notice.
    step(
        &crew.reviewer,
        "start_review",
        json!({"verification_override": "x"}),
    )
    .problem(422, "validation_failed")
    .has_field_error("verification_override", "not_allowed");
    step(&crew.reviewer, "start_review", json!({})).expect(200);
    let a = identify(w, &crew, &h);
    step(
        &crew.reviewer,
        "approve_review",
        json!({"assessment_id": a["id"]}),
    )
    .expect(200);
    // No department was asked.
    let r = step(&crew.reviewer, "start_notice", json!({})).problem(409, "verification_pending");
    assert!(r.body["detail_zh"]
        .as_str()
        .unwrap()
        .contains("verification_override"));
    consent_all(w, &crew, &h);
    let v = open(w, &crew, &h, &["social_insurance", "vehicles"])
        .expect(201)
        .body;
    let worker = members(w, &crew.officer, &h)[0].clone();
    let spouse = members(w, &crew.officer, &h)[1].clone();
    let today = w.app.clock.today().to_string();
    answer(w, &w.key(&w.key_verify), task_of(&v, "social_insurance")["id"].as_str().unwrap(), json!([{"member_id": worker, "as_of": today, "status": "insured"}, {"member_id": spouse, "as_of": today, "status": "not_insured"}])).expect(200);
    // One task still open.
    let r = step(&crew.reviewer, "start_notice", json!({})).problem(409, "verification_pending");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("1 verification task"),
        "{}",
        r.body
    );
    // An explicit override with its reason moves on, and the audit log keeps the reason.
    step(
        &crew.reviewer,
        "start_notice",
        json!({"verification_override": "公安部门系统故障，已电话核实"}),
    )
    .expect(200);
    let events = w.app.list_all_as(
        &w.person(Role::SystemAdmin).auth,
        "/api/v1/audit/events?action=application.start_notice",
        200,
    );
    assert!(
        events
            .iter()
            .any(|e| e.to_string().contains("公安部门系统故障")),
        "override not audited"
    );
}

fn every_answered_task_lets_the_notice_start(w: &World) {
    let crew = wf::crew_xx(w);
    let h = wf::household(w, &crew, 66, 20_000);
    let app = wf::open(w, &crew, &h)["id"].as_str().unwrap().to_owned();
    let step = |who: &Auth, action: &str| wf::step(w, who, "applications", &app, action, json!({}));
    step(&crew.officer, "submit").expect(200);
    step(&crew.reviewer, "start_review").expect(200);
    consent_all(w, &crew, &h);
    let v = open(w, &crew, &h, &["social_insurance"]).expect(201).body;
    let ids = members(w, &crew.officer, &h);
    let today = w.app.clock.today().to_string();
    answer(w, &w.key(&w.key_verify), task_of(&v, "social_insurance")["id"].as_str().unwrap(), json!([{"member_id": ids[0], "as_of": today, "status": "insured"}, {"member_id": ids[1], "as_of": today, "status": "insured"}])).expect(200);
    let a = identify(w, &crew, &h);
    wf::step(
        w,
        &crew.reviewer,
        "applications",
        &app,
        "approve_review",
        json!({"assessment_id": a["id"]}),
    )
    .expect(200);
    step(&crew.reviewer, "start_notice").expect(200);
}

fn starting_the_review_can_open_a_verification(w: &World) {
    let crew = wf::crew_xx(w);
    let admin = &w.person(Role::CountyAdmin).auth;
    let from = w.app.clock.today().to_string();
    w.app
        .post_as(admin, "/api/v1/policy/parameters", &json!({"key": "verification_on_review", "region_code": "610724", "effective_from": from, "value": true, "document": "西工发〔2026〕20号"}))
        .expect(201);
    let h = wf::household(w, &crew, 67, 20_000);
    consent_all(w, &crew, &h);
    let bare = wf::household(w, &crew, 68, 20_000);
    for (household, expected) in [(&h, 1), (&bare, 0)] {
        let app = wf::open(w, &crew, household)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        wf::step(w, &crew.officer, "applications", &app, "submit", json!({})).expect(200);
        wf::step(
            w,
            &crew.reviewer,
            "applications",
            &app,
            "start_review",
            json!({}),
        )
        .expect(200);
        let listed = w
            .app
            .get_as(
                &crew.reviewer,
                &format!("/api/v1/verifications?household_id={household}"),
            )
            .expect(200)
            .body;
        let items = listed["items"].as_array().unwrap();
        assert_eq!(items.len(), expected, "{listed}");
        if expected == 1 {
            assert_eq!(items[0]["tasks"].as_array().unwrap().len(), 6);
        }
    }
}

crate::on_both_backends!(World:
    a_request_without_consent_is_refused,
    consent_is_signed_by_the_member_or_a_guardian,
    a_department_sees_only_its_own_tasks_and_the_minimum,
    a_verified_vehicle_or_second_home_changes_identification,
    verified_income_replaces_declared_income,
    the_latest_answer_stands_and_a_figure_set_aside_leaves_the_month,
    the_notice_waits_for_every_answer_or_an_override,
    every_answered_task_lets_the_notice_start,
    starting_the_review_can_open_a_verification
);
