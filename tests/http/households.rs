//! The household file through the API: filing, validation, one household per person, masking,
//! audited unmasked reads, search by identity number, sub-resources, and encryption at rest.

use diesel::connection::SimpleConnection;
use jiekun_domain::access::Role;
use jiekun_domain::national_id::complete;
use jiekun_store::DatabaseTarget;
use serde_json::{json, Value};

use super::world::World;
use crate::common::{Auth, Resp};

/// A valid identity number of 西乡县 for a birth date and a sequence (odd: male).
fn id(birth: &str, seq: u32) -> String {
    complete(&format!("610724{birth}{seq:03}"))
}

pub fn family(w: &World, worker_id: &str) -> Value {
    json!({
        "organisation_id": w.chengguan,
        "region_code": "610724",
        "address": "西乡县城关镇东大街12号",
        "enterprise_id": w.ent_xx,
        "housing_type": "private_rental",
        "housing_area_m2": 48.5,
        "bank_name": "中国农业银行西乡县支行",
        "bank_account": "6228480312345678901",
        "main_cause": 6,
        "secondary_causes": [9],
        "members": [
            {"relation": "worker", "name": "张建国", "national_id": worker_id, "sex": "male", "birth_date": "1980-01-01",
             "work_status": "employed", "health": {"status": "healthy"}},
            {"relation": "spouse", "name": "李秀英", "national_id": id("19820315", 124), "work_status": "unemployed",
             "health": {"status": "serious_illness", "illness": "尿毒症"}},
            {"relation": "child", "name": "张小明", "national_id": id("20080901", 135), "work_status": "student",
             "schooling": {"level": "senior_secondary", "school": "西乡县第一中学", "year": 2}},
        ],
        "incomes": [
            {"member_index": 0, "month": "2026-09", "kind": "wage", "amount_fen": 210000},
            {"member_index": 0, "month": "2026-10", "kind": "wage", "amount_fen": 215000, "source": "hrss", "verified": true},
        ],
        "expenditures": [
            {"member_index": 1, "kind": "medical", "amount_fen": 1800000, "start_month": "2026-01", "end_month": "2026-10", "evidence": "医疗票据 2026-031"},
        ],
    })
}

fn officer(w: &World) -> &Auth {
    &w.person(Role::GrassrootsOfficer).auth
}

fn count(w: &World) -> usize {
    w.app
        .get_as(
            &w.person(Role::CityApprover).auth,
            "/api/v1/households?limit=200",
        )
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .len()
}

fn file(w: &World, body: &Value) -> Resp {
    w.app.post_as(officer(w), "/api/v1/households", body)
}

fn files_a_household_and_masks_it(w: &World) {
    let worker = id("19800101", 123);
    let made = file(w, &family(w, &worker)).expect(201);
    let b = &made.body;
    assert_eq!(b["status"], "draft");
    assert_eq!(b["members_count"], 3);
    assert_eq!(b["worker_name"], "张**");
    assert_eq!(b["bank_account"], "***************8901");
    assert_eq!(b["housing_area_m2"], 48.5);
    assert_eq!(b["secondary_causes"], json!([9]));
    assert_eq!(b["revealed"], json!([]));
    let m0 = &b["members"][0];
    assert_eq!(
        m0["national_id"],
        format!("6107**********{}", &worker[14..])
    );
    assert_eq!(m0["name"], "张**");
    assert_eq!(m0["birth_date"], "1980-**-**");
    assert_eq!(m0["sex"], "male");
    assert!(m0["health"].is_null(), "health is hidden by default");
    assert_eq!(b["members"][2]["schooling"]["level"], "senior_secondary");
    assert!(
        !made.text.contains(&worker)
            && !made.text.contains("6228480312345678901")
            && !made.text.contains("尿毒症")
    );

    let hid = b["id"].as_str().unwrap();
    let got = w
        .app
        .get_as(officer(w), &format!("/api/v1/households/{hid}"))
        .expect(200);
    assert_eq!(got.etag(), "\"1\"");
    assert_eq!(got.body, made.body);
    let incomes = w
        .app
        .get_as(officer(w), &format!("/api/v1/households/{hid}/incomes"))
        .expect(200);
    let incomes = &incomes.body["items"];
    assert_eq!(incomes.as_array().unwrap().len(), 2);
    assert_eq!(incomes[0]["month"], "2026-10", "newest first");
    assert_eq!(incomes[0]["source"], "hrss");
    assert_eq!(incomes[1]["source"], "declared");
    assert_eq!(incomes[0]["member_id"], b["members"][0]["id"]);
    let spending = w
        .app
        .get_as(
            officer(w),
            &format!("/api/v1/households/{hid}/expenditures"),
        )
        .expect(200);
    assert_eq!(spending.body["items"][0]["amount_fen"], 1800000);
    assert_eq!(
        spending.body["items"][0]["member_id"],
        b["members"][1]["id"]
    );
    let in_2026 = w
        .app
        .get_as(
            officer(w),
            &format!("/api/v1/households/{hid}/incomes?from=2026-10&to=2026-10"),
        )
        .expect(200);
    assert_eq!(in_2026.body["items"].as_array().unwrap().len(), 1);
    // A page of one, with the total of every page and a cursor to the next.
    let page = w
        .app
        .get_as(
            officer(w),
            &format!("/api/v1/households/{hid}/incomes?limit=1&count=true"),
        )
        .expect(200);
    assert_eq!(page.body["total"], 2);
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    let next = page.body["next_cursor"].as_str().unwrap();
    let rest = w
        .app
        .get_as(
            officer(w),
            &format!("/api/v1/households/{hid}/incomes?limit=1&cursor={next}"),
        )
        .expect(200);
    assert_eq!(rest.body["items"][0]["source"], "declared");
    assert!(rest.body.get("next_cursor").is_none());
}

/// Each rule, broken once: a 422 naming the field, and nothing written.
fn every_validation_rule_refuses_and_writes_nothing(w: &World) {
    let before = count(w);
    let worker = id("19800101", 123);
    let good = family(w, &worker);
    let with = |path: &[&str], v: Value| {
        let mut b = good.clone();
        let mut at = &mut b;
        for (i, p) in path.iter().enumerate() {
            if i + 1 == path.len() {
                break;
            }
            at = match p.parse::<usize>() {
                Ok(n) => &mut at[n],
                Err(_) => &mut at[*p],
            };
        }
        let last = path[path.len() - 1];
        match last.parse::<usize>() {
            Ok(n) => at[n] = v,
            Err(_) => at[last] = v,
        }
        b
    };
    let wrong_check = format!(
        "{}{}",
        &worker[..17],
        if worker.ends_with('0') { "1" } else { "0" }
    );
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(&["members", "0", "national_id"], json!("61072419800101")),
            "members[0].national_id",
            "invalid_length",
        ),
        (
            with(&["members", "0", "national_id"], json!(wrong_check)),
            "members[0].national_id",
            "invalid_check_character",
        ),
        (
            with(
                &["members", "0", "national_id"],
                json!(complete("61072419800230123")),
            ),
            "members[0].national_id",
            "invalid_birth_date",
        ),
        (
            with(
                &["members", "0", "national_id"],
                json!(complete("61072420990101123")),
            ),
            "members[0].national_id",
            "future_birth_date",
        ),
        (
            with(
                &["members", "0", "national_id"],
                json!("6107241980010112A3"),
            ),
            "members[0].national_id",
            "invalid_character",
        ),
        (
            with(&["members", "0", "sex"], json!("female")),
            "members[0].sex",
            "inconsistent",
        ),
        (
            with(&["members", "0", "birth_date"], json!("1980-01-02")),
            "members[0].birth_date",
            "inconsistent",
        ),
        (
            with(&["members", "1", "national_id"], json!(worker)),
            "members[1].national_id",
            "duplicate_in_household",
        ),
        (
            with(&["region_code"], json!("6107")),
            "region_code",
            "invalid_format",
        ),
        (
            with(&["region_code"], json!("610722")),
            "region_code",
            "outside_union_region",
        ),
        (
            with(&["organisation_id"], json!(w.bowang)),
            "organisation_id",
            "unknown_reference",
        ),
        (
            with(&["enterprise_id"], json!(w.ent_cg)),
            "enterprise_id",
            "unknown_reference",
        ),
        (
            with(&["incomes", "0", "amount_fen"], json!(-1)),
            "incomes[0].amount_fen",
            "out_of_range",
        ),
        (
            with(&["incomes", "0", "amount_fen"], json!(1.5)),
            "incomes[0].amount_fen",
            "invalid_type",
        ),
        (
            with(&["incomes", "0", "month"], json!("2099-01")),
            "incomes[0].month",
            "future_month",
        ),
        (
            with(&["incomes", "0", "month"], json!("2026/09")),
            "incomes[0].month",
            "invalid_format",
        ),
        (
            with(&["incomes", "0", "member_index"], json!(7)),
            "incomes[0].member_index",
            "unknown_reference",
        ),
        (
            with(&["incomes", "0", "source"], json!("rumour")),
            "incomes[0].source",
            "invalid_value",
        ),
        (
            with(&["incomes", "0", "kind"], json!("lottery")),
            "incomes[0].kind",
            "invalid_value",
        ),
        (
            with(&["expenditures", "0", "end_month"], json!("2025-12")),
            "expenditures[0].end_month",
            "out_of_range",
        ),
        (
            with(&["main_cause"], json!(11)),
            "main_cause",
            "unknown_cause",
        ),
        (
            with(&["secondary_causes"], json!([1, 2, 3, 4])),
            "secondary_causes",
            "too_many",
        ),
        (
            with(&["secondary_causes"], json!([6])),
            "secondary_causes",
            "repeated",
        ),
        (
            with(&["secondary_causes"], json!([12])),
            "secondary_causes",
            "unknown_cause",
        ),
        (
            with(&["members", "1", "relation"], json!("worker")),
            "members",
            "one_worker",
        ),
        (
            with(&["members", "0", "relation"], json!("spouse")),
            "members",
            "one_worker",
        ),
        (
            with(&["members", "2", "included"], json!(false)),
            "members[2].exclusion_reason",
            "required",
        ),
        (
            with(
                &["members", "1", "health"],
                json!({"status": "disabled", "disability_type": "physical", "disability_grade": 5}),
            ),
            "members[1].health.disability_grade",
            "out_of_range",
        ),
        (
            with(
                &["members", "1", "health"],
                json!({"status": "healthy", "disability_grade": 2}),
            ),
            "members[1].health.disability_type",
            "not_allowed",
        ),
        (
            with(&["bank_account"], json!("12ab")),
            "bank_account",
            "invalid_format",
        ),
        (
            with(&["housing_area_m2"], json!(-3)),
            "housing_area_m2",
            "out_of_range",
        ),
        (with(&["members"], json!([])), "members", "required"),
        (
            with(&["members", "0", "relation"], json!("cousin")),
            "members[0].relation",
            "invalid_value",
        ),
    ];
    for (body, field, code) in cases {
        let r = file(w, &body);
        assert_eq!(r.status.as_u16(), 422, "{field}/{code}: {}", r.text);
        r.has_field_error(field, code);
    }
    // A county admin sees the county federation, which keeps no files itself.
    w.app
        .post_as(
            &w.person(Role::CountyAdmin).auth,
            "/api/v1/households",
            &with(&["organisation_id"], json!(w.xixiang)),
        )
        .problem(422, "validation_failed")
        .has_field_error("organisation_id", "not_a_grassroots_union");
    assert_eq!(count(w), before, "no refused filing wrote anything");
    // A lower-case x is accepted and stored upper-case.
    let x_id = complete("61072419800101127");
    let lower = if x_id.ends_with('X') {
        x_id.to_lowercase()
    } else {
        x_id.clone()
    };
    let made = file(w, &with(&["members", "0", "national_id"], json!(lower))).expect(201);
    let hid = made.body["id"].as_str().unwrap();
    let full = w
        .app
        .get_as(
            officer(w),
            &format!("/api/v1/households/{hid}?reveal=national_id"),
        )
        .expect(200);
    assert_eq!(full.body["members"][0]["national_id"], x_id);
}

fn one_active_household_per_person(w: &World) {
    let worker = id("19800101", 123);
    let first = file(w, &family(w, &worker)).expect(201);
    let hid = first.body["id"].as_str().unwrap().to_owned();
    // The same worker again, with other members: refused, naming the file the officer can see.
    let mut again = family(w, &worker);
    again["members"] = json!([{"relation": "worker", "name": "张建国", "national_id": worker, "work_status": "employed"}]);
    again["incomes"] = json!([]);
    again["expenditures"] = json!([]);
    let r = file(w, &again).problem(409, "already_exists");
    r.has_field_error("members[0].national_id", "already_filed");
    assert!(r.text.contains(&hid), "names the visible file: {}", r.text);
    // From another county, the person is as taken, but the file is not named.
    let other = w
        .app
        .person("officer.cg", &w.bowang, &[Role::GrassrootsOfficer]);
    let mut elsewhere = again.clone();
    elsewhere["organisation_id"] = json!(w.bowang);
    elsewhere["region_code"] = json!("610722");
    elsewhere["enterprise_id"] = json!(w.ent_cg);
    let r = w
        .app
        .post_as(&other.auth, "/api/v1/households", &elsewhere)
        .problem(409, "already_exists");
    assert!(
        !r.text.contains(&hid),
        "does not reveal the file: {}",
        r.text
    );
    // Adding the spouse of the first file to a second household is refused too.
    let mut third = family(w, &id("19750505", 151));
    third["members"] = json!([{"relation": "worker", "name": "王强", "national_id": id("19750505", 151), "work_status": "employed"}]);
    third["incomes"] = json!([]);
    third["expenditures"] = json!([]);
    let third = file(w, &third).expect(201);
    let path = format!(
        "/api/v1/households/{}/members",
        third.body["id"].as_str().unwrap()
    );
    w.app.with_etag(officer(w), "POST", &path, &third.etag(), Some(&json!({"relation": "spouse", "name": "李秀英", "national_id": id("19820315", 124), "work_status": "unemployed"})))
        .problem(409, "already_exists");
    assert_eq!(
        w.app
            .get_as(
                officer(w),
                &format!("/api/v1/households/{}", third.body["id"].as_str().unwrap())
            )
            .expect(200)
            .body["members_count"],
        1
    );
}

fn masking_depends_on_role_and_unmasking_is_audited(w: &World) {
    let worker = id("19800101", 123);
    let made = file(w, &family(w, &worker)).expect(201);
    let hid = made.body["id"].as_str().unwrap();
    let path = format!("/api/v1/households/{hid}");
    // Those who handle cases may ask for the full values.
    for role in [
        Role::GrassrootsOfficer,
        Role::CountyReviewer,
        Role::CountyAdmin,
        Role::CityApprover,
    ] {
        let r = w
            .app
            .get_as(&w.person(role).auth, &format!("{path}?reveal=all"))
            .expect(200);
        assert_eq!(r.body["members"][0]["national_id"], worker, "{role}");
        assert_eq!(r.body["members"][0]["name"], "张建国");
        assert_eq!(r.body["members"][0]["birth_date"], "1980-01-01");
        assert_eq!(r.body["members"][1]["health"]["illness"], "尿毒症");
        assert_eq!(r.body["bank_account"], "6228480312345678901");
        assert_eq!(
            r.body["revealed"],
            json!(["name", "national_id", "bank_account", "health"])
        );
    }
    let only_id = w
        .app
        .get_as(officer(w), &format!("{path}?reveal=national_id"))
        .expect(200);
    assert_eq!(only_id.body["members"][0]["name"], "张**");
    assert!(only_id.body["members"][1]["health"].is_null());
    // Auditors see masked data only; system admins do not handle cases at all.
    let auditor = &w.person(Role::Auditor).auth;
    let masked = w.app.get_as(auditor, &path).expect(200);
    assert_eq!(
        masked.body["members"][0]["national_id"],
        made.body["members"][0]["national_id"]
    );
    w.app
        .get_as(auditor, &format!("{path}?reveal=national_id"))
        .problem(403, "forbidden");
    w.app
        .get_as(&w.person(Role::SystemAdmin).auth, &path)
        .problem(403, "forbidden");
    w.app
        .get_as(officer(w), &format!("{path}?reveal=everything"))
        .problem(400, "invalid_parameter");
    // Every unmasked read is in the audit log, with the fields and without the values.
    let events = w
        .app
        .get_as(
            auditor,
            &format!("/api/v1/audit/events?action=household.reveal&resource_id={hid}"),
        )
        .expect(200);
    let events = events.body["items"].as_array().unwrap();
    // The county auditor sees the four reads made inside the county (not the city approver's).
    assert_eq!(events.len(), 4);
    assert_eq!(events[0]["changes"]["fields"], json!(["national_id"]));
    assert!(!serde_json::to_string(events).unwrap().contains(&worker));
    // A masked read is not an unmasked read.
    let plain = w
        .app
        .get_as(
            auditor,
            &format!(
                "/api/v1/audit/events?action=household.reveal&actor_id={}",
                w.person(Role::Auditor).id
            ),
        )
        .expect(200);
    assert_eq!(plain.body["items"].as_array().unwrap().len(), 0);
}

fn finds_households_by_identity_number(w: &World) {
    let worker = id("19800101", 123);
    let made = file(w, &family(w, &worker)).expect(201);
    let hid = made.body["id"].as_str().unwrap();
    let found = w
        .app
        .post_as(
            officer(w),
            "/api/v1/households/search",
            &json!({"national_id": worker}),
        )
        .expect(200);
    assert_eq!(found.body.as_array().unwrap().len(), 1);
    assert_eq!(found.body[0]["id"], hid);
    let spouse = w
        .app
        .post_as(
            officer(w),
            "/api/v1/households/search",
            &json!({"national_id": id("19820315", 124)}),
        )
        .expect(200);
    assert_eq!(spouse.body[0]["id"], hid, "any member finds the file");
    let none = w
        .app
        .post_as(
            officer(w),
            "/api/v1/households/search",
            &json!({"national_id": id("19900101", 111)}),
        )
        .expect(200);
    assert_eq!(none.body.as_array().unwrap().len(), 0);
    let outsider = w
        .app
        .person("officer.cg2", &w.bowang, &[Role::GrassrootsOfficer]);
    let hidden = w
        .app
        .post_as(
            &outsider.auth,
            "/api/v1/households/search",
            &json!({"national_id": worker}),
        )
        .expect(200);
    assert_eq!(
        hidden.body.as_array().unwrap().len(),
        0,
        "outside the caller's scope"
    );
    w.app
        .post_as(
            officer(w),
            "/api/v1/households/search",
            &json!({"national_id": "123"}),
        )
        .problem(422, "validation_failed")
        .has_field_error("national_id", "invalid_length");
}

fn sub_resources_change_one_thing_at_a_time(w: &World) {
    let made = file(w, &family(w, &id("19800101", 123))).expect(201);
    let hid = made.body["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/households/{hid}");
    let o = officer(w);
    // Add a member.
    let added = w
        .app
        .with_etag(o, "POST", &format!("{base}/members"), "\"1\"", Some(&json!({"relation": "parent", "name": "张老汉", "national_id": id("19500202", 113), "work_status": "retired"})))
        .expect(201);
    assert_eq!(added.etag(), "\"2\"");
    let mid = added.body["id"].as_str().unwrap().to_owned();
    // The first ETag is stale now.
    w.app.with_etag(o, "POST", &format!("{base}/members"), "\"1\"", Some(&json!({"relation": "child", "name": "甲", "national_id": id("20100101", 115), "work_status": "student"})))
        .problem(412, "precondition_failed");
    w.app
        .send_as(
            o,
            w.app
                .client
                .post(w.app.url(&format!("{base}/members")))
                .json(&json!({})),
        )
        .problem(428, "precondition_required");
    // Change the member's health; the worker cannot be removed; a second worker cannot be added.
    let changed = w.app.with_etag(o, "PATCH", &format!("{base}/members/{mid}"), "\"2\"", Some(&json!({"health": {"status": "disabled", "disability_type": "physical", "disability_grade": 2}}))).expect(200);
    assert_eq!(changed.etag(), "\"3\"");
    let worker_id = made.body["members"][0]["id"].as_str().unwrap();
    w.app
        .with_etag(
            o,
            "DELETE",
            &format!("{base}/members/{worker_id}"),
            "\"3\"",
            None,
        )
        .problem(422, "validation_failed");
    w.app.with_etag(o, "POST", &format!("{base}/members"), "\"3\"", Some(&json!({"relation": "worker", "name": "乙", "national_id": id("19850101", 117), "work_status": "employed"})))
        .problem(422, "validation_failed");
    let revealed = w
        .app
        .get_as(o, &format!("{base}?reveal=health"))
        .expect(200);
    assert_eq!(revealed.etag(), "\"3\"", "refusals changed nothing");
    assert_eq!(revealed.body["members"][3]["health"]["disability_grade"], 2);
    // Income in bulk: one bad record and nothing is written.
    let bad = json!({"records": [
        {"member_id": mid, "month": "2026-10", "kind": "pension", "amount_fen": 150000},
        {"member_id": "no-such-member", "month": "2026-10", "kind": "wage", "amount_fen": 1000},
    ]});
    w.app
        .with_etag(o, "POST", &format!("{base}/incomes"), "\"3\"", Some(&bad))
        .problem(422, "validation_failed")
        .has_field_error("records[1].member_id", "unknown_reference");
    let bad = json!({"records": [{"member_id": mid, "month": "2026-10", "kind": "pension", "amount_fen": 150000}, {"month": "2099-10", "kind": "other", "amount_fen": 1}]});
    w.app
        .with_etag(o, "POST", &format!("{base}/incomes"), "\"3\"", Some(&bad))
        .problem(422, "validation_failed")
        .has_field_error("records[1].month", "future_month");
    assert_eq!(
        w.app.get_as(o, &format!("{base}/incomes")).expect(200).body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let good = json!({"records": [{"member_id": mid, "month": "2026-10", "kind": "pension", "amount_fen": 150000}, {"month": "2026-10", "kind": "transfer", "amount_fen": 20000}]});
    let added = w
        .app
        .with_etag(o, "POST", &format!("{base}/incomes"), "\"3\"", Some(&good))
        .expect(201);
    assert_eq!(added.etag(), "\"4\"");
    let income_id = added.body[0]["id"].as_str().unwrap();
    let fixed = w
        .app
        .with_etag(
            o,
            "PATCH",
            &format!("{base}/incomes/{income_id}"),
            "\"4\"",
            Some(&json!({"amount_fen": 152000, "verified": true})),
        )
        .expect(200);
    assert_eq!(fixed.body["amount_fen"], 152000);
    w.app
        .with_etag(
            o,
            "PATCH",
            &format!("{base}/incomes/{income_id}"),
            "\"5\"",
            Some(&json!({"amount_fen": -5})),
        )
        .problem(422, "validation_failed");
    w.app
        .with_etag(
            o,
            "DELETE",
            &format!("{base}/incomes/{income_id}"),
            "\"5\"",
            None,
        )
        .expect(204);
    w.app
        .with_etag(
            o,
            "DELETE",
            &format!("{base}/incomes/{income_id}"),
            "\"6\"",
            None,
        )
        .problem(404, "not_found");
    assert_eq!(
        w.app.get_as(o, &format!("{base}/incomes")).expect(200).body["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Expenditure.
    let items = w.app.with_etag(o, "POST", &format!("{base}/expenditures"), "\"6\"", Some(&json!({"items": [{"kind": "schooling", "amount_fen": 450000, "start_month": "2026-09", "end_month": "2027-06"}]}))).expect(201);
    let eid = items.body[0]["id"].as_str().unwrap();
    w.app
        .with_etag(
            o,
            "PATCH",
            &format!("{base}/expenditures/{eid}"),
            "\"7\"",
            Some(&json!({"end_month": "2026-01"})),
        )
        .problem(422, "validation_failed");
    w.app
        .with_etag(
            o,
            "PATCH",
            &format!("{base}/expenditures/{eid}"),
            "\"7\"",
            Some(&json!({"verified": true})),
        )
        .expect(200);
    w.app
        .with_etag(
            o,
            "DELETE",
            &format!("{base}/expenditures/{eid}"),
            "\"8\"",
            None,
        )
        .expect(204);
    // Remove the added member: their income goes with them.
    w.app
        .with_etag(o, "DELETE", &format!("{base}/members/{mid}"), "\"9\"", None)
        .expect(204);
    let after = w.app.get_as(o, &base).expect(200);
    assert_eq!(after.body["members_count"], 3);
    // The two filed with the household and the household-level transfer remain.
    assert_eq!(
        w.app.get_as(o, &format!("{base}/incomes")).expect(200).body["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Household-level change.
    let changed = w
        .app
        .with_etag(
            o,
            "PATCH",
            &base,
            "\"10\"",
            Some(&json!({"main_cause": 3, "single_parent": true, "bank_account": null})),
        )
        .expect(200);
    assert_eq!(changed.body["main_cause"], 3);
    assert_eq!(changed.body["secondary_causes"], json!([9]));
    assert!(changed.body["bank_account"].is_null());
    w.app
        .with_etag(
            o,
            "PATCH",
            &base,
            "\"11\"",
            Some(&json!({"secondary_causes": [3]})),
        )
        .problem(422, "validation_failed")
        .has_field_error("secondary_causes", "repeated");
}

fn lists_filter_and_page(w: &World) {
    let mk = |birth: &str, seq: u32, cause: u8, single: bool| {
        let mut b = family(w, &id(birth, seq));
        b["members"] = json!([{"relation": "worker", "name": "赵某", "national_id": id(birth, seq), "work_status": "unemployed"}]);
        b["main_cause"] = json!(cause);
        b["secondary_causes"] = json!([]);
        b["single_parent"] = json!(single);
        b["incomes"] = json!([]);
        b["expenditures"] = json!([]);
        file(w, &b).expect(201).body["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a = mk("19700101", 111, 3, false);
    let b = mk("19710101", 113, 6, true);
    let c = mk("19720101", 115, 6, false);
    let o = officer(w);
    let ids = |q: &str| -> Vec<String> {
        w.app
            .get_as(o, &format!("/api/v1/households?{q}"))
            .expect(200)
            .body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_owned())
            // The world's own seeded household is left out of the comparisons.
            .filter(|id| *id != w.hh_xx.id)
            .collect()
    };
    assert_eq!(ids("main_cause=6"), vec![b.clone(), c.clone()]);
    assert_eq!(ids("single_parent=true"), vec![b.clone()]);
    assert_eq!(
        ids("status=draft&region_code=610724"),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(
        ids(&format!("organisation_id={}", w.chengguan)),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(
        ids(&format!("organisation_id={}", w.bowang)),
        Vec::<String>::new()
    );
    assert_eq!(ids("category=deep"), Vec::<String>::new());
    assert_eq!(w.app.list_all_as(o, "/api/v1/households", 2).len(), 4);
    // `count=true` gives the number in all pages, with the same filters; without it, no total.
    let total = |q: &str| {
        w.app
            .get_as(o, &format!("/api/v1/households?limit=1&count=true&{q}"))
            .expect(200)
            .body["total"]
            .clone()
    };
    assert_eq!(total(""), 4);
    assert_eq!(total("main_cause=6"), 2);
    assert_eq!(total("single_parent=true&main_cause=6"), 1);
    assert_eq!(total(&format!("organisation_id={}", w.chengguan)), 4);
    assert_eq!(total(&format!("organisation_id={}", w.bowang)), 0);
    assert_eq!(total("category=deep"), 0);
    assert_eq!(total("region_code=610722"), 0);
    assert!(w
        .app
        .get_as(o, "/api/v1/households?limit=1")
        .expect(200)
        .body
        .get("total")
        .is_none());
    let first = w.app.get_as(o, "/api/v1/households?limit=1").expect(200);
    assert!(
        first.body["items"][0].get("members").is_none(),
        "lists carry no members"
    );
    w.app
        .get_as(o, "/api/v1/households?main_cause=12")
        .problem(400, "invalid_parameter");
    w.app
        .get_as(o, "/api/v1/households?status=lost")
        .problem(400, "invalid_parameter");
    // Another county's officer sees none of them, only their county's own file.
    let outsider = w
        .app
        .person("officer.cg3", &w.bowang, &[Role::GrassrootsOfficer]);
    let theirs = w
        .app
        .get_as(&outsider.auth, "/api/v1/households")
        .expect(200);
    let theirs = theirs.body["items"].as_array().unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["id"], w.hh_cg.id.as_str());
    w.app
        .get_as(&outsider.auth, &format!("/api/v1/households/{a}"))
        .problem(404, "not_found");
}

/// Reads the stored data raw and finds no identity number, bank account or health detail (the
/// need for long-term care among them) in it.
fn nothing_personal_is_stored_in_clear(w: &World) {
    let worker = id("19800101", 123);
    let mut body = family(w, &worker);
    body["members"][1]["health"]["long_term_care"] = json!(true);
    let made = file(w, &body).expect(201);
    let hid = made.body["id"].as_str().unwrap();
    // A member's health changed too, so that the change's audit event is looked at.
    let child = made.body["members"][2]["id"].as_str().unwrap();
    w.app
        .patch_as(
            officer(w),
            &format!("/api/v1/households/{hid}/members/{child}"),
            "\"1\"",
            &json!({"health": {"status": "chronic_illness", "illness": "哮喘", "long_term_care": true}}),
        )
        .expect(200);
    // Touch the audit log and the assessments too: an unmasked read, a search, an assessment.
    w.app
        .post_as(
            officer(w),
            &format!("/api/v1/households/{hid}/assessments"),
            &json!({"kind": "identify"}),
        )
        .expect(201);
    w.app
        .get_as(officer(w), &format!("/api/v1/households/{hid}?reveal=all"))
        .expect(200);
    w.app
        .post_as(
            officer(w),
            "/api/v1/households/search",
            &json!({"national_id": worker}),
        )
        .expect(200);
    let secrets = [
        worker.as_str(),
        "6228480312345678901",
        "尿毒症",
        "serious_illness",
        "哮喘",
        "\"long_term_care\"",
        &worker[6..14],
    ];
    let raw: Vec<u8> = match w.app.db.target() {
        DatabaseTarget::Sqlite(path) => {
            let mut c = w.app.db.pool.get().unwrap();
            c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
            let mut bytes = std::fs::read(&path).unwrap();
            if let Ok(wal) = std::fs::read(path.with_extension("db-wal")) {
                bytes.extend(wal);
            }
            bytes
        }
        DatabaseTarget::Postgres(url) => {
            use diesel::{Connection, RunQueryDsl};
            #[derive(diesel::QueryableByName)]
            struct Dump {
                #[diesel(sql_type = diesel::sql_types::Text)]
                dump: String,
            }
            let mut c = diesel::PgConnection::establish(&url).unwrap();
            let mut all = String::new();
            for table in [
                "households",
                "household_members",
                "income_records",
                "expenditures",
                "active_persons",
                "assessments",
                "audit_events",
                "users",
            ] {
                let rows: Vec<Dump> = diesel::sql_query(format!(
                    "SELECT coalesce(string_agg(t::text, '|'), '') AS dump FROM {table} t"
                ))
                .load(&mut c)
                .unwrap();
                all.push_str(&rows[0].dump);
            }
            assert!(all.contains("张建国"), "the dump holds the data");
            all.into_bytes()
        }
    };
    let haystack = String::from_utf8_lossy(&raw);
    assert!(
        haystack.contains("西乡县城关镇东大街"),
        "the raw read sees stored text"
    );
    for s in secrets {
        assert!(!haystack.contains(s), "{s} is stored in clear");
    }
}

/// Filing a person who is in another county's active household is refused (the one-person rule
/// holds), the refusal is in the audit log with the caller, the masked number and the other
/// file, and a caller who keeps trying is slowed down while others are not.
fn a_person_filed_elsewhere_is_audited_and_throttled(w: &World) {
    let worker = id("19800101", 123);
    let theirs = file(w, &family(w, &worker)).expect(201);
    let other = theirs.body["id"].as_str().unwrap().to_owned();
    let prober = w
        .app
        .person("officer.cg9", &w.bowang, &[Role::GrassrootsOfficer]);
    let mut body = family(w, &worker);
    body["organisation_id"] = json!(w.bowang);
    body["region_code"] = json!("610722");
    body["enterprise_id"] = Value::Null;
    let mine = |auth: &Auth| {
        w.app
            .get_as(auth, "/api/v1/households?count=true")
            .expect(200)
            .body["total"]
            .clone()
    };
    let before = mine(&prober.auth);
    let refused = w
        .app
        .post_as(&prober.auth, "/api/v1/households", &body)
        .problem(409, "already_exists");
    refused.has_field_error("members[0].national_id", "already_filed");
    assert!(
        !refused.text.contains(&other),
        "the other county's file is not named"
    );
    let admin = &w.person(Role::SystemAdmin).auth;
    let events = w
        .app
        .get_as(
            admin,
            "/api/v1/audit/events?action=household.person_already_filed",
        )
        .expect(200);
    let e = &events.body["items"][0];
    assert_eq!(e["outcome"], "denied");
    assert_eq!(e["actor_id"], prober.id.as_str());
    assert_eq!(e["changes"]["other_household_id"], other.as_str());
    assert_eq!(e["changes"]["visible_to_caller"], false);
    let masked = e["changes"]["national_id_masked"].as_str().unwrap();
    assert!(
        masked.contains('*') && !masked.contains(&worker[6..14]),
        "{masked}"
    );
    // Keeps probing: slowed down, with nothing written either way.
    let mut throttled = None;
    for _ in 0..20 {
        let r = w.app.post_as(&prober.auth, "/api/v1/households", &body);
        if r.status == 429 {
            throttled = Some(r);
            break;
        }
        r.problem(409, "already_exists");
    }
    let throttled = throttled.expect("throttled after repeated refusals");
    assert!(throttled.header("retry-after").is_some());
    assert_eq!(throttled.body["code"], "rate_limited");
    assert_eq!(mine(&prober.auth), before);
    // Another caller is not slowed down by it: they get the plain answer.
    file(w, &family(w, &worker)).problem(409, "already_exists");
}

/// A file holds at most 1,000 expenditure items of at most 10^11 fen each: at that limit the
/// rules still decide (no overflow anywhere), and one more item is refused with nothing written.
fn the_largest_file_is_still_assessed(w: &World) {
    let o = officer(w);
    let base = format!("/api/v1/households/{}", w.hh_xx.id);
    let item = json!({"kind": "medical", "amount_fen": 100_000_000_000i64, "start_month": "2026-01", "end_month": "2026-06", "verified": true});
    let held = w
        .app
        .get_as(o, &format!("{base}/expenditures?count=true&limit=1"))
        .expect(200)
        .body["total"]
        .as_i64()
        .unwrap();
    let mut left = 1000 - held;
    while left > 0 {
        let n = left.min(200);
        let etag = w.app.get_as(o, &base).expect(200).etag();
        let body = json!({"items": vec![item.clone(); n as usize]});
        w.app
            .with_etag(
                o,
                "POST",
                &format!("{base}/expenditures"),
                &etag,
                Some(&body),
            )
            .expect(201);
        left -= n;
    }
    let etag = w.app.get_as(o, &base).expect(200).etag();
    w.app
        .with_etag(
            o,
            "POST",
            &format!("{base}/expenditures"),
            &etag,
            Some(&json!({"items": [item]})),
        )
        .problem(422, "validation_failed")
        .has_field_error("items", "too_many");
    assert_eq!(
        w.app.get_as(o, &base).expect(200).etag(),
        etag,
        "nothing written"
    );
    let total = w
        .app
        .get_as(o, &format!("{base}/expenditures?count=true&limit=1"))
        .expect(200)
        .body["total"]
        .clone();
    assert_eq!(total, 1000);
    let assessed = w
        .app
        .post_as(
            o,
            &format!("{base}/assessments"),
            &json!({"kind": "identify"}),
        )
        .expect(201);
    assert!(
        assessed.body["decision"]["figures"]["expenditure_fen"]
            .as_i64()
            .unwrap()
            > 0,
        "{}",
        assessed.text
    );
}

/// Audit events of one action on one household.
fn events_of(w: &World, household: &str, action: &str) -> usize {
    w.app
        .get_as(
            &w.person(Role::Auditor).auth,
            &format!("/api/v1/audit/events?resource_id={household}&action={action}"),
        )
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .len()
}

/// A vehicle is disregarded only when it is kept for a disabled member's mobility: the exemption
/// is refused without a vehicle or without a disabled member, however the file changes, and a
/// refusal writes nothing.
fn the_vehicle_exemption_needs_a_disabled_member(w: &World) {
    let o = officer(w);
    let exempt_field = "assets.vehicle_disability_exempt";
    let disabled =
        json!({"status": "disabled", "disability_type": "physical", "disability_grade": 2});
    let before = count(w);
    // Filing: a vehicle exempted with no disabled member, or an exemption with no vehicle.
    let mut body = family(w, &id("19800101", 123));
    body["assets"] = json!({"vehicles_count": 1, "vehicle_disability_exempt": true});
    let refused = file(w, &body).problem(422, "validation_failed");
    refused.has_field_error(exempt_field, "not_allowed");
    assert_eq!(refused.field_errors().len(), 1, "{}", refused.text);
    body["members"][1]["health"] = disabled.clone();
    body["assets"] = json!({"vehicles_count": 0, "vehicle_disability_exempt": true});
    file(w, &body)
        .problem(422, "validation_failed")
        .has_field_error(exempt_field, "not_allowed");
    assert_eq!(count(w), before, "no refused filing wrote anything");

    // A household without a disabled member cannot claim the exemption by a change either.
    let mut plain = family(w, &id("19800101", 151));
    plain["members"][1]["national_id"] = json!(id("19770101", 162));
    plain["members"][2]["national_id"] = json!(id("20050101", 173));
    plain["assets"] = json!({"vehicles_count": 1});
    let plain = file(w, &plain).expect(201);
    let plain_path = format!("/api/v1/households/{}", plain.body["id"].as_str().unwrap());
    w.app
        .patch_as(
            o,
            &plain_path,
            "\"1\"",
            &json!({"assets": {"vehicles_count": 1, "vehicle_disability_exempt": true}}),
        )
        .problem(422, "validation_failed")
        .has_field_error(exempt_field, "not_allowed");
    let got = w.app.get_as(o, &plain_path).expect(200);
    assert_eq!(got.etag(), "\"1\"", "nothing written");
    assert_eq!(got.body["assets"]["vehicle_disability_exempt"], false);

    // A household whose disabled spouse's mobility vehicle is exempted.
    body["assets"] = json!({"vehicles_count": 1, "vehicle_disability_exempt": true});
    let made = file(w, &body).expect(201);
    let hid = made.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/households/{hid}");
    let spouse = made.body["members"][1]["id"].as_str().unwrap().to_owned();
    assert_eq!(made.body["assets"]["vehicle_disability_exempt"], true);
    // Taking the vehicle away while the exemption stays is refused.
    w.app
        .patch_as(
            o,
            &path,
            "\"1\"",
            &json!({"assets": {"vehicles_count": 0, "vehicle_disability_exempt": true}}),
        )
        .problem(422, "validation_failed")
        .has_field_error(exempt_field, "not_allowed");
    // A second disabled member: either may change while the other remains.
    let parent = w
        .app
        .with_etag(o, "POST", &format!("{path}/members"), "\"1\"", Some(&json!({"relation": "parent", "name": "张老汉", "national_id": id("19500202", 113), "work_status": "retired", "health": disabled})))
        .expect(201);
    let parent = parent.body["id"].as_str().unwrap().to_owned();
    let etag = w
        .app
        .patch_as(
            o,
            &format!("{path}/members/{spouse}"),
            "\"2\"",
            &json!({"health": {"status": "serious_illness", "illness": "尿毒症"}}),
        )
        .expect(200)
        .etag();
    assert_eq!(etag, "\"3\"");
    // The last disabled member can neither become not disabled nor leave the household.
    let refused = w
        .app
        .patch_as(
            o,
            &format!("{path}/members/{parent}"),
            &etag,
            &json!({"health": {"status": "healthy"}}),
        )
        .problem(422, "validation_failed");
    refused.has_field_error(exempt_field, "not_allowed");
    assert!(refused.body["errors"][0]["message_zh"]
        .as_str()
        .unwrap()
        .contains("代步车"));
    w.app
        .patch_as(
            o,
            &format!("{path}/members/{parent}"),
            &etag,
            &json!({"health": null}),
        )
        .problem(422, "validation_failed")
        .has_field_error(exempt_field, "not_allowed");
    w.app
        .with_etag(
            o,
            "DELETE",
            &format!("{path}/members/{parent}"),
            &etag,
            None,
        )
        .problem(422, "validation_failed")
        .has_field_error(exempt_field, "not_allowed");
    let got = w
        .app
        .get_as(o, &format!("{path}?reveal=health"))
        .expect(200);
    assert_eq!(got.etag(), etag, "nothing written");
    assert_eq!(got.body["members_count"], 4);
    let health = |id: &str| {
        got.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()["health"]["status"]
            .clone()
    };
    assert_eq!(health(&parent), "disabled");
    assert_eq!(health(&spouse), "serious_illness");
    assert_eq!(events_of(w, &hid, "household.member_update"), 1);
    assert_eq!(events_of(w, &hid, "household.member_remove"), 0);
    assert_eq!(events_of(w, &hid, "household.update"), 0);
    // With the exemption given up, the member may go.
    let etag = w
        .app
        .patch_as(
            o,
            &path,
            &etag,
            &json!({"assets": {"vehicles_count": 1, "vehicle_disability_exempt": false}}),
        )
        .expect(200)
        .etag();
    w.app
        .with_etag(
            o,
            "DELETE",
            &format!("{path}/members/{parent}"),
            &etag,
            None,
        )
        .expect(204);
}

crate::on_both_backends!(World:
    the_vehicle_exemption_needs_a_disabled_member,
    the_largest_file_is_still_assessed,
    a_person_filed_elsewhere_is_audited_and_throttled,
    files_a_household_and_masks_it,
    every_validation_rule_refuses_and_writes_nothing,
    one_active_household_per_person,
    masking_depends_on_role_and_unmasking_is_audited,
    finds_households_by_identity_number,
    sub_resources_change_one_thing_at_a_time,
    lists_filter_and_page,
    nothing_personal_is_stored_in_clear,
);
