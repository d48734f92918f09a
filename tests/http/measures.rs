//! Precise measures through HTTP: the catalogue, a filed household's plan, referrals as the lead
//! departments see them, the assistance ledger with its caps and `Idempotency-Key`, and 解困
//! reached once 低保 is granted and union help recorded.

use jiekun_domain::access::Role;
use jiekun_domain::household::Month;
use serde_json::{json, Value};

use super::workflows::{self as wf, Crew};
use super::world::World;
use crate::common::{Auth, Resp};

/// Sets up a filed household's measures for the authorisation table: a plan, measure 2 added
/// (a referral to 人社), and a reversed ledger entry. In 西乡县 (`by_key`) 人社's key delivers the
/// referral and records and reverses the entry; in 城固县 the union records and reverses it.
/// Returns the referral and the reversing entry.
pub fn setup(w: &World, crew: &Crew, filed: &str, by_key: bool) -> (String, String) {
    let plan = propose(w, &crew.officer, filed).expect(201);
    let plan = add(w, &crew.officer, filed, &plan.etag(), 2)
        .expect(200)
        .body;
    let referral = item(&plan, 2)["referral"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let today = w.app.clock.today().to_string();
    let (recorder, measure) = if by_key {
        let key = w.key(&w.key_referrals);
        let path = format!("/api/v1/referrals/{referral}");
        let etag = w.app.get_as(&key, &path).expect(200).etag();
        w.app
            .with_etag(
                &key,
                "POST",
                &format!("{path}/deliver"),
                &etag,
                Some(&json!({})),
            )
            .expect(200);
        (w.key(&w.key_wrong_scope), 2)
    } else {
        (crew.officer.clone(), 14)
    };
    let entry = record(
        w,
        &recorder,
        &json!({"household_id": filed, "measure": measure, "delivered_on": today, "kind": "service", "amount_fen": 0}),
    )
    .expect(201)
    .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reversal = w
        .app
        .post_as(
            &recorder,
            &format!("/api/v1/assistance/{entry}/reverse"),
            &json!({"reason": "登记有误"}),
        )
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (referral, reversal)
}

fn propose(w: &World, who: &Auth, hh: &str) -> Resp {
    let path = format!("/api/v1/households/{hh}/plan");
    let current = w.app.get_as(who, &path);
    if current.status == 200 {
        w.app.with_etag(who, "POST", &path, &current.etag(), None)
    } else {
        w.app.post_as(who, &path, &json!(null))
    }
}

fn add(w: &World, who: &Auth, hh: &str, etag: &str, measure: i64) -> Resp {
    w.app.with_etag(
        who,
        "POST",
        &format!("/api/v1/households/{hh}/plan/measures"),
        etag,
        Some(&json!({"measure": measure})),
    )
}

fn decide(w: &World, who: &Auth, hh: &str, measure: i64, what: &str, body: Value) -> Resp {
    let path = format!("/api/v1/households/{hh}/plan");
    let etag = w.app.get_as(who, &path).expect(200).etag();
    w.app.with_etag(
        who,
        "POST",
        &format!("{path}/measures/{measure}/{what}"),
        &etag,
        Some(&body),
    )
}

fn item(plan: &Value, measure: i64) -> &Value {
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["measure"] == measure)
        .unwrap_or_else(|| panic!("measure {measure} in {plan}"))
}

fn record(w: &World, who: &Auth, body: &Value) -> Resp {
    w.app.post_as(who, "/api/v1/assistance", body)
}

fn numbers(plan: &Value) -> Vec<i64> {
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["measure"].as_i64().unwrap())
        .collect()
}

fn reason_codes(plan: &Value, measure: i64) -> Vec<String> {
    item(plan, measure)["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

/// A department of `code` in 西乡县 and a key of it with `scopes`, made through the API.
fn department_key(w: &World, code: &str, scopes: &[&str]) -> Auth {
    let admin = &w.person(Role::CountyAdmin).auth;
    let dept = w.app.post_as(
        admin,
        "/api/v1/departments",
        &json!({"code": code, "name": format!("西乡县{code}"), "region_code": "610724"}),
    );
    let dept_id = if dept.status == 201 {
        dept.body["id"].as_str().unwrap().to_owned()
    } else {
        let list = w
            .app
            .get_as(
                admin,
                &format!("/api/v1/departments?code={code}&region_code=610724"),
            )
            .expect(200);
        list.body["items"][0]["id"].as_str().unwrap().to_owned()
    };
    let key = w
        .app
        .post_as(
            admin,
            "/api/v1/api-keys",
            &json!({"department_id": dept_id, "name": format!("{code} 系统"), "scopes": scopes}),
        )
        .expect(201);
    w.key(key.body["key"].as_str().unwrap())
}

/// A filed two-person household in 西乡县 earning `wage` fen a month.
fn filed(w: &World, seq: u32, wage: i64) -> (Crew, String) {
    let crew = wf::crew_xx(w);
    let hh = wf::household(w, &crew, seq, wage);
    wf::file_all_the_way(w, &crew, &hh);
    (crew, hh)
}

fn the_catalogue_lists_the_19_measures_to_everyone(w: &World) {
    let mut callers: Vec<Auth> = w.people.iter().map(|(_, p)| p.auth.clone()).collect();
    callers.push(w.key(&w.key_ok));
    callers.push(w.key(&w.key_wrong_scope));
    for who in &callers {
        let all = w.app.get_as(who, "/api/v1/measures").expect(200).body;
        let all = all.as_array().unwrap();
        assert_eq!(all.len(), 19);
        let dibao = &all[3];
        assert_eq!(dibao["number"], 4);
        assert_eq!(dibao["code"], "dibao_inclusion");
        assert_eq!(dibao["lead_department"], "civil_affairs");
        assert_eq!(dibao["clause_zh"], "《实施方案》三(三)4");
        assert_eq!(dibao["referral_shows_full_id"], true);
        assert_eq!(all[13]["lead_department"], "union");
    }
    w.app
        .get_as(&Auth::None, "/api/v1/measures")
        .problem(401, "unauthenticated");
}

fn a_plan_proposes_what_the_facts_call_for(w: &World) {
    let (crew, hh) = filed(w, 60, 90_000);
    // Nothing is planned before filing.
    let draft = wf::household(w, &crew, 61, 90_000);
    propose(w, &crew.officer, &draft).problem(409, "wrong_state");
    w.app
        .get_as(&crew.officer, &format!("/api/v1/households/{draft}/plan"))
        .problem(404, "not_found");
    // Two people on 900 yuan a month are below the 低保 standard of 720 yuan each.
    let plan = propose(w, &crew.officer, &hh).expect(201);
    assert_eq!(numbers(&plan.body), vec![4, 14, 15], "{}", plan.body);
    assert_eq!(reason_codes(&plan.body, 4), vec!["income_below_dibao"]);
    assert_eq!(reason_codes(&plan.body, 14), vec!["every_filed_household"]);
    let reason = &item(&plan.body, 4)["reasons"][0];
    assert!(
        reason["zh"]
            .as_str()
            .unwrap()
            .contains("《实施方案》三(三)4"),
        "{reason}"
    );
    assert_eq!(item(&plan.body, 4)["status"], "proposed");
    assert_eq!(item(&plan.body, 4)["origin"], "rule");
    // Proposing again needs the plan's version.
    w.app
        .post_as(
            &crew.officer,
            &format!("/api/v1/households/{hh}/plan"),
            &json!(null),
        )
        .problem(412, "precondition_failed");
    // A laid-off worker with a business plan and a legal dispute calls for more.
    let path = format!("/api/v1/households/{hh}");
    let household = w.app.get_as(&crew.officer, &path).expect(200);
    let worker = household.body["members"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.app
        .patch_as(
            &crew.officer,
            &path,
            &household.etag(),
            &json!({"legal_dispute": true}),
        )
        .expect(200);
    let member = format!("{path}/members/{worker}");
    let etag = w.app.get_as(&crew.officer, &path).expect(200).etag();
    w.app
        .patch_as(
            &crew.officer,
            &member,
            &etag,
            &json!({"work_status": "unemployed", "laid_off": true, "business_plan": true}),
        )
        .expect(200);
    let plan = propose(w, &crew.officer, &hh).expect(201).body;
    // Measure 4 goes: an able worker without work is counted at the minimum wage, which lifts the
    // household above the standard; an undecided proposal no longer made is withdrawn.
    assert_eq!(numbers(&plan), vec![2, 3, 12, 13, 14, 15, 17, 18], "{plan}");
    assert_eq!(item(&plan, 12)["member_ids"], json!([worker]));
    assert_eq!(reason_codes(&plan, 12), vec!["laid_off"]);
    assert_eq!(reason_codes(&plan, 13), vec!["legal_dispute"]);
    assert_eq!(reason_codes(&plan, 2), vec!["unemployed_able_bodied"]);
    // The timeline shows the plan.
    let timeline = w
        .app
        .get_as(&crew.officer, &format!("/api/v1/households/{hh}/timeline"))
        .expect(200)
        .body;
    assert!(
        timeline["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "propose_plan" && e["subject_kind"] == "plan"),
        "{timeline}"
    );
}

fn referrals_reach_only_their_department_with_what_it_needs(w: &World) {
    let (crew, hh) = filed(w, 62, 90_000);
    propose(w, &crew.officer, &hh).expect(201);
    let plan = decide(
        w,
        &crew.officer,
        &hh,
        4,
        "accept",
        json!({"note": "请核实"}),
    )
    .expect(200)
    .body;
    let dibao = item(&plan, 4)["referral"].clone();
    assert_eq!(dibao["department_code"], "civil_affairs");
    assert_eq!(dibao["status"], "open");
    assert!(dibao["due_on"].as_str().unwrap() > w.app.clock.today().to_string().as_str());
    decide(w, &crew.officer, &hh, 15, "drop", json!({"reason": ""}))
        .problem(422, "validation_failed");
    let plan = decide(
        w,
        &crew.officer,
        &hh,
        15,
        "drop",
        json!({"reason": "暂不需要"}),
    )
    .expect(200)
    .body;
    assert_eq!(item(&plan, 15)["status"], "dropped");
    assert!(item(&plan, 15)["referral"].is_null());
    decide(w, &crew.officer, &hh, 15, "accept", json!({})).problem(409, "wrong_state");
    let plan = add(
        w,
        &crew.officer,
        &hh,
        &w.app
            .get_as(&crew.officer, &format!("/api/v1/households/{hh}/plan"))
            .expect(200)
            .etag(),
        2,
    )
    .expect(200)
    .body;
    assert_eq!(item(&plan, 2)["origin"], "staff");
    let hrss_referral = item(&plan, 2)["referral"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let civil = department_key(w, "civil_affairs", &["referrals:read", "referrals:write"]);
    let civil_read = department_key(w, "civil_affairs", &["referrals:read"]);
    let mine = w
        .app
        .get_as(&civil, "/api/v1/referrals?status=open")
        .expect(200)
        .body;
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{mine}");
    let r = &items[0];
    assert_eq!(r["id"], dibao["id"]);
    // 低保 matches persons by ID: the full number and name go to civil affairs, and the read is
    // audited.
    let worker = &r["household"]["members"][0];
    assert_eq!(worker["national_id_full"], true);
    assert_eq!(worker["national_id"].as_str().unwrap().len(), 18);
    assert!(!worker["national_id"].as_str().unwrap().contains('*'));
    assert_eq!(r["household"]["worker_name"], "周建华");
    assert!(r["household"].get("bank_account").is_none());
    let events = w
        .app
        .get_as(
            &w.person(Role::SystemAdmin).auth,
            "/api/v1/audit/events?action=referral.reveal",
        )
        .expect(200)
        .body;
    assert!(!events["items"].as_array().unwrap().is_empty(), "{events}");
    // 人社's key sees its own referral, masked: measure 2 does not match persons by ID.
    let hrss = w.key(&w.key_referrals);
    let theirs = w
        .app
        .get_as(&hrss, &format!("/api/v1/referrals/{hrss_referral}"))
        .expect(200)
        .body;
    assert_eq!(theirs["household"]["members"][0]["national_id_full"], false);
    assert!(theirs["household"]["members"][0]["national_id"]
        .as_str()
        .unwrap()
        .contains('*'));
    // Another department's referral does not exist for a key; a key without the scope is refused.
    let dibao_path = format!("/api/v1/referrals/{}", dibao["id"].as_str().unwrap());
    w.app.get_as(&hrss, &dibao_path).problem(404, "not_found");
    w.app
        .get_as(&w.key(&w.key_ok), "/api/v1/referrals")
        .problem(403, "forbidden");
    // Answering: the scope, then the department, then the state.
    let etag = w.app.get_as(&civil, &dibao_path).expect(200).etag();
    let ack = format!("{dibao_path}/acknowledge");
    w.app
        .with_etag(&civil_read, "POST", &ack, &etag, Some(&json!({})))
        .problem(403, "forbidden");
    w.app
        .with_etag(&hrss, "POST", &ack, &etag, Some(&json!({})))
        .problem(404, "not_found");
    w.app
        .with_etag(&crew.officer, "POST", &ack, &etag, Some(&json!({})))
        .problem(403, "forbidden");
    let acked = w
        .app
        .with_etag(
            &civil,
            "POST",
            &ack,
            &etag,
            Some(&json!({"note": "已受理"})),
        )
        .expect(200);
    assert_eq!(acked.body["status"], "acknowledged");
    w.app
        .with_etag(&civil, "POST", &ack, &acked.etag(), Some(&json!({})))
        .problem(409, "wrong_state");
    w.app
        .with_etag(
            &civil,
            "POST",
            &format!("{dibao_path}/decline"),
            &acked.etag(),
            Some(&json!({"reason": " "})),
        )
        .problem(422, "validation_failed");
    let delivered = w
        .app
        .with_etag(
            &civil,
            "POST",
            &format!("{dibao_path}/deliver"),
            &acked.etag(),
            Some(&json!({"note": "已纳入低保"})),
        )
        .expect(200);
    assert_eq!(delivered.body["status"], "delivered");
    // The union follows its referrals; nothing is overdue yet, then everything pending is.
    let open = w
        .app
        .get_as(&crew.officer, "/api/v1/referrals?overdue=true&count=true")
        .expect(200)
        .body;
    assert_eq!(open["total"], 0, "{open}");
    w.app.clock.advance(chrono::TimeDelta::days(40));
    let late = w
        .app
        .get_as(
            &crew.officer,
            &format!("/api/v1/referrals?overdue=true&household_id={hh}"),
        )
        .expect(200)
        .body;
    let late: Vec<&Value> = late["items"].as_array().unwrap().iter().collect();
    assert_eq!(late.len(), 1, "only the pending 人社 referral is overdue");
    assert_eq!(late[0]["id"], hrss_referral.as_str());
    assert_eq!(late[0]["overdue"], true);
    assert!(late[0]["household"]["worker_name"]
        .as_str()
        .unwrap()
        .contains('*'));
    // And they wait in the union's queue, to follow up.
    let queue = w
        .app
        .get_as(&crew.officer, "/api/v1/queue?limit=200")
        .expect(200)
        .body;
    let item = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "referral" && i["id"] == hrss_referral.as_str())
        .unwrap_or_else(|| panic!("the overdue referral waits in the queue: {queue}"));
    assert_eq!(item["state"], "overdue");
    assert_eq!(item["actions"], json!([]), "人社 answers it, not the union");
    assert!(item["worker_name"].as_str().unwrap().contains('*'));
}

fn assistance_is_recorded_once_per_idempotency_key(w: &World) {
    let (crew, hh) = filed(w, 63, 90_000);
    let today = w.app.clock.today().to_string();
    let body = json!({"household_id": hh, "measure": 10, "delivered_on": today, "kind": "cash", "amount_fen": 150_000, "fund_source": "金秋助学"});
    let send = |key: &str, body: &Value| {
        w.app.send_as(
            &crew.officer,
            w.app
                .client
                .post(w.app.url("/api/v1/assistance"))
                .header("Idempotency-Key", key)
                .json(body),
        )
    };
    let first = send("retry-1", &body).expect(201);
    let again = send("retry-1", &body).expect(201);
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.header("location"), again.header("location"));
    let mut other = body.clone();
    other["amount_fen"] = json!(150_001);
    send("retry-1", &other).problem(422, "idempotency_key_reused");
    send("", &body).problem(400, "invalid_parameter");
    // Retries that race record once.
    let ids: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| send("race-1", &body).expect(201).body["id"].clone()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    let ledger = w
        .app
        .get_as(
            &crew.officer,
            &format!("/api/v1/assistance?household_id={hh}&count=true"),
        )
        .expect(200)
        .body;
    assert_eq!(ledger["total"], 2, "one entry per key: {ledger}");
    // A correction is a reversing entry, once, by the unit that recorded it.
    let id = first.body["id"].as_str().unwrap();
    let reverse = format!("/api/v1/assistance/{id}/reverse");
    w.app
        .post_as(
            &w.key(&w.key_wrong_scope),
            &reverse,
            &json!({"reason": "错误"}),
        )
        .problem(404, "not_found");
    let back = w
        .app
        .post_as(&crew.officer, &reverse, &json!({"reason": "重复登记"}))
        .expect(201);
    assert_eq!(back.body["amount_fen"], -150_000);
    assert_eq!(back.body["reverses_id"], id);
    w.app
        .post_as(&crew.officer, &reverse, &json!({"reason": "再次"}))
        .problem(409, "wrong_state");
    let gone = back.body["id"].as_str().unwrap();
    w.app
        .post_as(
            &crew.officer,
            &format!("/api/v1/assistance/{gone}/reverse"),
            &json!({"reason": "x"}),
        )
        .problem(409, "wrong_state");
}

fn caps_refuse_the_extra_entry_and_write_nothing(w: &World) {
    let (crew, hh) = filed(w, 64, 90_000);
    propose(w, &crew.officer, &hh).expect(201);
    let etag = w
        .app
        .get_as(&crew.officer, &format!("/api/v1/households/{hh}/plan"))
        .expect(200)
        .etag();
    add(w, &crew.officer, &hh, &etag, 2).expect(200);
    let today = w.app.clock.today().to_string();
    let entry = |measure: i64, amount: i64| json!({"household_id": hh, "measure": measure, "delivered_on": today, "kind": "cash", "amount_fen": amount});
    let count = || {
        w.app
            .get_as(
                &crew.officer,
                &format!("/api/v1/assistance?household_id={hh}&count=true"),
            )
            .expect(200)
            .body["total"]
            .as_u64()
            .unwrap()
    };
    // Per measure (20,000 yuan a year by default), across the union and the department.
    record(w, &crew.officer, &entry(2, 1_500_000)).expect(201);
    let hrss = w.key(&w.key_wrong_scope);
    let refused = record(w, &hrss, &entry(2, 500_001)).problem(422, "over_cap");
    refused.has_field_error("amount_fen", "over_cap");
    assert!(
        refused.body["detail_zh"]
            .as_str()
            .unwrap()
            .contains("20000.00"),
        "{}",
        refused.text
    );
    assert_eq!(count(), 1);
    record(w, &hrss, &entry(2, 500_000)).expect(201);
    // In total (50,000 yuan a year by default).
    record(w, &crew.officer, &entry(14, 2_000_000)).expect(201);
    record(w, &crew.officer, &entry(15, 1_000_000)).expect(201);
    assert_eq!(count(), 4);
    record(w, &crew.officer, &entry(10, 1)).problem(422, "over_cap");
    assert_eq!(count(), 4);
    // Dates outside the ledger's range are refused by field.
    let mut early = entry(14, 1);
    early["delivered_on"] = json!("0738-10-04");
    record(w, &crew.officer, &early)
        .problem(422, "validation_failed")
        .has_field_error("delivered_on", "too_early");
    let mut late = entry(14, 1);
    late["delivered_on"] = json!("2999-01-01");
    record(w, &crew.officer, &late)
        .problem(422, "validation_failed")
        .has_field_error("delivered_on", "in_future");
    assert_eq!(count(), 4);
    // A department records only for the measures it leads.
    record(w, &hrss, &entry(4, 100)).problem(403, "forbidden");
}

fn a_household_reaches_jiekun_once_dibao_is_granted_and_union_help_recorded(w: &World) {
    let (crew, hh) = filed(w, 65, 90_000);
    let exit = |w: &World| wf::assess(w, &crew.officer, &hh, "exit");
    assert_eq!(exit(w)["verdict"], "stay");
    propose(w, &crew.officer, &hh).expect(201);
    decide(w, &crew.officer, &hh, 4, "accept", json!({})).expect(200);
    // 低保 pays the household up to the standard (2 × 720 yuan) from last month.
    let last = Month::of(w.app.clock.today()).prev().to_string();
    let path = format!("/api/v1/households/{hh}");
    let etag = w.app.get_as(&crew.officer, &path).expect(200).etag();
    w.app
        .with_etag(
            &crew.officer,
            "POST",
            &format!("{path}/incomes"),
            &etag,
            Some(&json!({"records": [{"month": last, "kind": "dibao", "amount_fen": 54_000, "source": "civil_affairs", "verified": true}]})),
        )
        .expect(201);
    let civil = department_key(w, "civil_affairs", &["assistance:write"]);
    let today = w.app.clock.today().to_string();
    record(
        w,
        &civil,
        &json!({"household_id": hh, "measure": 4, "delivered_on": today, "kind": "enrolment", "amount_fen": 0, "evidence": "西民低保〔2026〕88号"}),
    )
    .expect(201);
    // 低保 alone is not enough: union help must be on record too.
    assert_eq!(exit(w)["verdict"], "stay");
    record(
        w,
        &crew.officer,
        &json!({"household_id": hh, "measure": 14, "delivered_on": today, "kind": "in_kind", "amount_fen": 50_000, "fund_source": "送温暖"}),
    )
    .expect(201);
    let a = exit(w);
    assert_eq!(a["verdict"], "safety_net", "{a}");
    let case = w
        .app
        .post_as(
            &crew.officer,
            "/api/v1/exit-cases",
            &json!({"household_id": hh, "grounds": "safety_net", "assessment_id": a["id"]}),
        )
        .expect(201)
        .body;
    // The case shows the help of the period: the enrolment and the union's help.
    let kinds: Vec<&str> = case["assistance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["enrolment", "in_kind"], "{case}");
}

crate::on_both_backends!(
    World:
    the_catalogue_lists_the_19_measures_to_everyone,
    a_plan_proposes_what_the_facts_call_for,
    referrals_reach_only_their_department_with_what_it_needs,
    assistance_is_recorded_once_per_idempotency_key,
    caps_refuse_the_extra_entry_and_write_nothing,
    a_household_reaches_jiekun_once_dibao_is_granted_and_union_help_recorded,
);
