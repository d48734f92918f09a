//! The rules through the API: the policy book, stored and replayable assessments, exit
//! candidates and simulations.

use diesel::connection::SimpleConnection;
use jiekun_domain::access::Role;
use jiekun_domain::household::Month;
use serde_json::{json, Value};

use super::households::family;
use super::world::World;
use crate::common::Auth;

fn officer(w: &World) -> &Auth {
    &w.person(Role::GrassrootsOfficer).auth
}

fn today() -> chrono::NaiveDate {
    jiekun_api::routes::households::today()
}

/// The last `n` complete months, oldest first, as `YYYY-MM`.
fn last_months(n: usize) -> Vec<String> {
    let mut m = Month::of(today());
    let mut out = Vec::new();
    for _ in 0..n {
        m = m.prev();
        out.push(m.to_string());
    }
    out.reverse();
    out
}

/// Files a two-person household whose worker earns `wage` fen in each of the last twelve months.
fn household_with_wage(w: &World, seq: u32, wage: i64) -> String {
    let worker = jiekun_domain::national_id::complete(&format!("610724197505{seq:02}115"));
    let mut body = family(w, &worker);
    body["members"] = json!([
        {"relation": "worker", "name": "周某", "national_id": worker, "work_status": "employed"},
        {"relation": "spouse", "name": "吴某", "national_id": jiekun_domain::national_id::complete(&format!("610724197806{seq:02}126")), "work_status": "unable_to_work"},
    ]);
    body["incomes"] = Value::Array(
        last_months(12)
            .iter()
            .map(|m| json!({"member_index": 0, "month": m, "kind": "wage", "amount_fen": wage}))
            .collect(),
    );
    body["expenditures"] = json!([]);
    body["secondary_causes"] = json!([]);
    w.app
        .post_as(officer(w), "/api/v1/households", &body)
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Text users read names no internal source: no file, design section or code item.
pub fn cites_nothing_internal(lines: &[&str]) {
    for l in lines {
        for internal in ["seed", "DESIGN", "§", "[`"] {
            assert!(!l.contains(internal), "{internal} in {l}");
        }
    }
}

fn assessments_are_explained_stored_and_replayable(w: &World) {
    // 72000 fen a person a month (the demo standard for 6107 from 2026-07): two people, twelve
    // months: 1,728,000. A wage of 100000 a month (1,200,000 a year) is deep hardship.
    let hid = household_with_wage(w, 1, 100_000);
    let r = w
        .app
        .post_as(
            officer(w),
            &format!("/api/v1/households/{hid}/assessments"),
            &json!({"kind": "identify"}),
        )
        .expect(201);
    let a = &r.body;
    assert_eq!(a["verdict"], "deep");
    assert_eq!(a["decision"]["figures"]["income_counted_fen"], 1_200_000);
    assert_eq!(a["decision"]["figures"]["members_counted"], 2);
    assert!(a["explanation"]["zh"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l.as_str().unwrap().contains("深度困难")));
    assert!(a["explanation"]["en"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l.as_str().unwrap().contains("deep hardship")));
    // Each test cites the plan by title and clause, in both languages; nothing internal.
    for lang in ["zh", "en"] {
        let lines: Vec<&str> = a["explanation"][lang]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert!(
            lines.iter().any(|l| l.contains("《实施方案》二(一)")),
            "{lang}: {lines:?}"
        );
        cites_nothing_internal(&lines);
    }
    let standard = a["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "dibao_standard_fen")
        .unwrap();
    assert!(standard["document"].is_string());
    assert_eq!(a["hash"].as_str().unwrap().len(), 64);

    // A policy change after the fact does not change the replay: the versions used are stored.
    let admin = &w.person(Role::CountyAdmin).auth;
    let tomorrow = today().succ_opt().unwrap();
    w.app.post_as(admin, "/api/v1/policy/parameters", &json!({"key": "dibao_standard_fen", "region_code": "610724", "effective_from": tomorrow, "value": 50000, "document": "西民发〔2026〕99号"})).expect(201);
    let aid = a["id"].as_str().unwrap();
    let replay = w
        .app
        .get_as(officer(w), &format!("/api/v1/assessments/{aid}/replay"))
        .expect(200);
    assert_eq!(replay.body["identical"], true);
    assert_eq!(replay.body["hash_matches"], true);
    assert_eq!(replay.body["replayed_verdict"], "deep");

    // Exit is assessed once the household is on file.
    let mut c = w.app.db.pool.get().unwrap();
    c.batch_execute(&format!(
        "UPDATE households SET status = 'filed' WHERE id = '{hid}'"
    ))
    .unwrap();
    drop(c);
    let exit = w
        .app
        .post_as(
            officer(w),
            &format!("/api/v1/households/{hid}/assessments"),
            &json!({"kind": "exit"}),
        )
        .expect(201);
    assert_eq!(exit.body["verdict"], "stay");
    assert_eq!(exit.body["decision"]["months"].as_array().unwrap().len(), 6);
    let listed = w
        .app
        .get_as(officer(w), &format!("/api/v1/households/{hid}/assessments"))
        .expect(200);
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    assert_eq!(listed.body[0]["kind"], "exit", "newest first");

    // Refusals.
    w.app
        .post_as(
            officer(w),
            &format!("/api/v1/households/{hid}/assessments"),
            &json!({"kind": "identify", "date": "2099-01-01"}),
        )
        .problem(422, "validation_failed")
        .has_field_error("date", "in_the_future");
    w.app
        .post_as(
            &w.person(Role::Auditor).auth,
            &format!("/api/v1/households/{hid}/assessments"),
            &json!({"kind": "identify"}),
        )
        .problem(403, "forbidden");
    let outsider = w
        .app
        .person("officer.cg9", &w.bowang, &[Role::GrassrootsOfficer]);
    w.app
        .get_as(&outsider.auth, &format!("/api/v1/assessments/{aid}/replay"))
        .problem(404, "not_found");
}

fn tampering_with_a_stored_decision_shows_in_the_replay(w: &World) {
    let hid = household_with_wage(w, 2, 100_000);
    let a = w
        .app
        .post_as(
            officer(w),
            &format!("/api/v1/households/{hid}/assessments"),
            &json!({"kind": "identify"}),
        )
        .expect(201);
    let aid = a.body["id"].as_str().unwrap();
    let mut c = w.app.db.pool.get().unwrap();
    c.batch_execute(&format!("UPDATE assessments SET decision = replace(decision, '\"deep\"', '\"relative\"'), verdict = 'relative' WHERE id = '{aid}'")).unwrap();
    let replay = w
        .app
        .get_as(officer(w), &format!("/api/v1/assessments/{aid}/replay"))
        .expect(200);
    assert_eq!(replay.body["hash_matches"], false);
    assert_eq!(replay.body["identical"], false);
    assert_eq!(replay.body["replayed_verdict"], "deep");
}

fn the_policy_book_takes_new_versions_only(w: &World) {
    let admin = &w.person(Role::CountyAdmin).auth;
    let tomorrow = today().succ_opt().unwrap();
    let body = |region: &str, from: chrono::NaiveDate, value: Value| json!({"key": "dibao_standard_fen", "region_code": region, "effective_from": from, "value": value, "document": "西民发〔2026〕12号"});
    let made = w
        .app
        .post_as(
            admin,
            "/api/v1/policy/parameters",
            &body("610724", tomorrow, json!(75000)),
        )
        .expect(201);
    assert_eq!(made.body["region_prefix"], "610724");
    assert_eq!(made.body["value"], 75000);
    w.app
        .post_as(
            admin,
            "/api/v1/policy/parameters",
            &body("610724", today().pred_opt().unwrap(), json!(75000)),
        )
        .problem(422, "validation_failed")
        .has_field_error("effective_from", "in_the_past");
    w.app
        .post_as(
            admin,
            "/api/v1/policy/parameters",
            &body("610724", tomorrow, json!("lots")),
        )
        .problem(422, "validation_failed")
        .has_field_error("value", "invalid_type");
    w.app.post_as(admin, "/api/v1/policy/parameters", &json!({"key": "happiness", "region_code": "610724", "effective_from": tomorrow, "value": 1, "document": "x"}))
        .problem(422, "validation_failed").has_field_error("key", "invalid_value");
    w.app
        .post_as(
            admin,
            "/api/v1/policy/parameters",
            &body("610722", tomorrow, json!(75000)),
        )
        .problem(403, "forbidden");
    w.app
        .post_as(
            officer(w),
            "/api/v1/policy/parameters",
            &body("610724", tomorrow, json!(75000)),
        )
        .problem(403, "forbidden");
    // Today's figure is unchanged; tomorrow's is the new version.
    let now = w
        .app
        .get_as(officer(w), "/api/v1/policy/resolved?region_code=610724")
        .expect(200);
    let standard = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|p| p["key"] == "dibao_standard_fen")
            .unwrap()
            .clone()
    };
    assert_eq!(standard(&now.body)["value"], 72000);
    let later = w
        .app
        .get_as(
            officer(w),
            &format!("/api/v1/policy/resolved?region_code=610724&date={tomorrow}"),
        )
        .expect(200);
    assert_eq!(standard(&later.body)["value"], 75000);
    assert_eq!(standard(&later.body)["document"], "西民发〔2026〕12号");
    // A later version for the county ends the county's version before it; the city's version
    // (6107) stays for the other counties.
    let after = tomorrow.succ_opt().unwrap();
    w.app
        .post_as(
            admin,
            "/api/v1/policy/parameters",
            &body("610724", after, json!(76000)),
        )
        .expect(201);
    let versions = w
        .app
        .get_as(
            &w.person(Role::Auditor).auth,
            "/api/v1/policy/parameters?region_code=610724&key=dibao_standard_fen",
        )
        .expect(200);
    let versions = versions.body.as_array().unwrap();
    assert!(versions.len() >= 5, "every version is kept");
    let first = versions
        .iter()
        .find(|v| v["id"] == made.body["id"])
        .unwrap();
    assert_eq!(
        first["effective_to"],
        after.to_string(),
        "the version before ends where the new one begins"
    );
    let events = w
        .app
        .get_as(
            &w.person(Role::Auditor).auth,
            "/api/v1/audit/events?action=policy.parameter_add",
        )
        .expect(200);
    assert_eq!(events.body["items"].as_array().unwrap().len(), 2);
}

fn exit_candidates_and_simulations(w: &World) {
    // Six months at 150000 for two people (144000) with the cause resolved: 脱困.
    let ready = household_with_wage(w, 3, 150_000);
    let not_resolved = household_with_wage(w, 4, 150_000);
    let poor = household_with_wage(w, 5, 100_000);
    let mut c = w.app.db.pool.get().unwrap();
    c.batch_execute(&format!("UPDATE households SET status = 'filed' WHERE id IN ('{ready}', '{not_resolved}', '{poor}')")).unwrap();
    drop(c);
    let etag = w
        .app
        .get_as(officer(w), &format!("/api/v1/households/{ready}"))
        .expect(200)
        .etag();
    let resolved = w
        .app
        .with_etag(
            officer(w),
            "PATCH",
            &format!("/api/v1/households/{ready}"),
            &etag,
            Some(&json!({"resolved_causes": [6]})),
        )
        .expect(200);
    assert_eq!(resolved.body["resolved_causes"], json!([6]));
    w.app
        .with_etag(
            officer(w),
            "PATCH",
            &format!("/api/v1/households/{ready}"),
            &resolved.etag(),
            Some(&json!({"resolved_causes": [9]})),
        )
        .problem(422, "validation_failed")
        .has_field_error("resolved_causes", "not_a_cause");
    let found = w
        .app
        .get_as(
            &w.person(Role::CountyReviewer).auth,
            "/api/v1/exit-candidates",
        )
        .expect(200);
    let ids: Vec<&str> = found
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["household_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![ready.as_str()]);
    assert_eq!(found.body[0]["verdict"], "out_of_hardship");
    assert_eq!(found.body[0]["consecutive_months_above"], 6);

    // What if the standard were 50000? The poor household (1,200,000 a year, bound 1,200,000)
    // stays deep at the bound; the 150000 ones (1,800,000 ≤ 2,400,000) stay relative.
    let sim = w
        .app
        .post_as(
            &w.person(Role::CountyAdmin).auth,
            "/api/v1/policy/simulations",
            &json!({"parameters": {"dibao_standard_fen": 50000}}),
        )
        .expect(200);
    let r = &sim.body["by_region"]["610724"];
    assert_eq!(
        sim.body["households"].as_u64().unwrap(),
        r["current"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>()
    );
    // What if it were 40000? Then 1,200,000 > 960,000: deep becomes relative (cause 6).
    let sim = w
        .app
        .post_as(
            &w.person(Role::CountyAdmin).auth,
            "/api/v1/policy/simulations",
            &json!({"parameters": {"dibao_standard_fen": 40000}}),
        )
        .expect(200);
    let changes = sim.body["changes"].as_array().unwrap();
    let poor_change = changes
        .iter()
        .find(|c| c["household_id"] == poor.as_str())
        .expect("the poor household changes");
    assert_eq!(poor_change["current"], "deep");
    assert_eq!(poor_change["proposed"], "relative");
    assert!(
        sim.body["by_region"]["610724"]["would_change_category"]
            .as_u64()
            .unwrap()
            >= 1
    );
    w.app
        .post_as(
            &w.person(Role::CountyAdmin).auth,
            "/api/v1/policy/simulations",
            &json!({"parameters": {"dibao_standard_fen": "x"}}),
        )
        .problem(422, "validation_failed")
        .has_field_error("parameters.dibao_standard_fen", "invalid_type");
    w.app
        .post_as(
            &w.person(Role::CountyAdmin).auth,
            "/api/v1/policy/simulations",
            &json!({"parameters": {}}),
        )
        .problem(422, "validation_failed");
}

fn monitored_households_that_fall_back_are_flagged(w: &World) {
    let fell_back = household_with_wage(w, 6, 90_000);
    let doing_well = household_with_wage(w, 7, 500_000);
    let mut c = w.app.db.pool.get().unwrap();
    c.batch_execute(&format!(
        "UPDATE households SET status = 'monitoring' WHERE id IN ('{fell_back}', '{doing_well}')"
    ))
    .unwrap();
    drop(c);
    let warnings = w
        .app
        .get_as(
            &w.person(Role::CountyReviewer).auth,
            "/api/v1/return-to-hardship",
        )
        .expect(200);
    let warnings = warnings.body.as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["household_id"], fell_back.as_str());
    assert_eq!(warnings[0]["verdict"], "deep");
    // Another county sees none of it.
    let outsider = w
        .app
        .person("reviewer.cg", &w.chenggu, &[Role::CountyReviewer]);
    assert_eq!(
        w.app
            .get_as(&outsider.auth, "/api/v1/return-to-hardship")
            .expect(200)
            .body
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

fn accidents_make_accident_caused_households(w: &World) {
    // 400000 a month for two (4,800,000 a year) is far above twice the standard; an accident
    // costing more than 80% of that (3,840,000) makes the household accident-caused.
    let hid = household_with_wage(w, 8, 400_000);
    let path = format!("/api/v1/households/{hid}");
    let o = officer(w);
    w.app
        .get_as(o, &format!("{path}/accident"))
        .problem(404, "not_found");
    let etag = w.app.get_as(o, &path).expect(200).etag();
    let bad = w.app.with_etag(
        o,
        "PUT",
        &format!("{path}/accident"),
        &etag,
        Some(&json!({"description": " ", "occurred_on": "2099-01-01", "costs_fen": -1})),
    );
    bad.problem(422, "validation_failed")
        .has_field_error("occurred_on", "in_the_future")
        .has_field_error("costs_fen", "out_of_range")
        .has_field_error("description", "empty");
    let set = w.app.with_etag(o, "PUT", &format!("{path}/accident"), &etag, Some(&json!({"description": "2026年7月洪灾，住房受损", "occurred_on": "2026-07-20", "costs_fen": 3_900_000}))).expect(200);
    assert_ne!(set.etag(), etag, "the household's version moved");
    assert_eq!(
        w.app
            .get_as(o, &format!("{path}/accident"))
            .expect(200)
            .body["costs_fen"],
        3_900_000
    );
    let a = w
        .app
        .post_as(
            o,
            &format!("{path}/assessments"),
            &json!({"kind": "identify"}),
        )
        .expect(201);
    assert_eq!(a.body["verdict"], "accident");
    assert!(a.body["explanation"]["zh"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l.as_str().unwrap().contains("意外致困")));
    w.app
        .with_etag(o, "DELETE", &format!("{path}/accident"), &set.etag(), None)
        .expect(204);
    let a = w
        .app
        .post_as(
            o,
            &format!("{path}/assessments"),
            &json!({"kind": "identify"}),
        )
        .expect(201);
    assert_eq!(a.body["verdict"], "not_eligible");
}

/// Exit (《实施方案》二(二)) is assessed only for a household on file: one being filed, withdrawn
/// or rejected is refused with nothing stored and no assessment audited.
fn exit_assessments_need_a_filed_household(w: &World) {
    use super::workflows::{crew_xx, file_all_the_way, household, open, step};
    let crew = crew_xx(w);
    let assess = |hid: &str, kind: &str| {
        w.app.post_as(
            &crew.officer,
            &format!("/api/v1/households/{hid}/assessments"),
            &json!({"kind": kind}),
        )
    };
    let stored = |hid: &str| {
        w.app
            .get_as(
                &crew.officer,
                &format!("/api/v1/households/{hid}/assessments"),
            )
            .expect(200)
            .body
            .as_array()
            .unwrap()
            .len()
    };
    let audited = |hid: &str| {
        w.app
            .get_as(
                &w.person(Role::Auditor).auth,
                &format!("/api/v1/audit/events?resource_id={hid}&action=household.assess"),
            )
            .expect(200)
            .body["items"]
            .as_array()
            .unwrap()
            .len()
    };
    let refused = |hid: &str, status: &str, status_zh: &str| {
        let r = assess(hid, "exit").problem(409, "household_not_filed");
        let (en, zh) = (
            r.body["detail"].as_str().unwrap(),
            r.body["detail_zh"].as_str().unwrap(),
        );
        assert!(en.contains(&format!("`{status}`")), "{en}");
        assert!(
            zh.contains("《实施方案》二(二)") && zh.contains(status_zh),
            "{zh}"
        );
        cites_nothing_internal(&[en, zh]);
        assert_eq!(stored(hid), 0, "no assessment stored");
        assert_eq!(audited(hid), 0, "no assessment audited");
    };

    // Being filed.
    let draft = household(w, &crew, 1, 90_000);
    refused(&draft, "draft", "建档中（尚未审批）");
    // Withdrawn.
    let withdrawn = household(w, &crew, 2, 90_000);
    let app = open(w, &crew, &withdrawn)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    step(
        w,
        &crew.officer,
        "applications",
        &app,
        "withdraw",
        json!({}),
    )
    .expect(200);
    refused(&withdrawn, "withdrawn", "申请已撤回");
    // Rejected.
    let rejected = household(w, &crew, 3, 90_000);
    let app = open(w, &crew, &rejected)["id"].as_str().unwrap().to_owned();
    step(w, &crew.officer, "applications", &app, "submit", json!({})).expect(200);
    step(
        w,
        &crew.reviewer,
        "applications",
        &app,
        "start_review",
        json!({}),
    )
    .expect(200);
    step(
        w,
        &crew.reviewer,
        "applications",
        &app,
        "reject",
        json!({"opinion": "家庭拥有两套住房，不符合条件"}),
    )
    .expect(200);
    refused(&rejected, "rejected", "申请未获批准");
    // Identification, which filing relies on, is still made while a household is being filed.
    assert_eq!(
        assess(&draft, "identify").expect(201).body["kind"],
        "identify"
    );

    // Filed: exit is assessed and stored.
    let filed = household(w, &crew, 4, 90_000);
    file_all_the_way(w, &crew, &filed);
    let exit = assess(&filed, "exit").expect(201);
    assert_eq!(exit.body["kind"], "exit");
    assert_eq!(
        audited(&filed),
        2,
        "the identification filing relied on, and the exit"
    );
}

/// A parameter has one version per region and start date: a second is refused with nothing
/// written, also when several arrive at once. A new version ends the one before it (in the store,
/// in the same change), and an assessment takes the version in force on its date.
fn policy_versions_are_one_per_start_and_end_the_one_before(w: &World) {
    let admin = &w.person(Role::CountyAdmin).auth;
    let auditor = &w.person(Role::Auditor).auth;
    let today = w.app.clock.today();
    let day = |n: i64| today + chrono::TimeDelta::days(n);
    let body = |key: &str, from: chrono::NaiveDate, value: i64, doc: &str| json!({"key": key, "region_code": "610724", "effective_from": from, "value": value, "document": doc});
    let add = |b: &Value| w.app.post_as(admin, "/api/v1/policy/parameters", b);
    // The versions entered for the county (not the city's or the province's).
    let county = |key: &str| -> Vec<Value> {
        w.app
            .get_as(
                auditor,
                &format!("/api/v1/policy/parameters?region_code=610724&key={key}"),
            )
            .expect(200)
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["region_prefix"] == "610724")
            .cloned()
            .collect()
    };
    let added = |resource: &str| {
        w.app
            .get_as(
                auditor,
                &format!("/api/v1/audit/events?action=policy.parameter_add&resource_id={resource}"),
            )
            .expect(200)
            .body["items"]
            .as_array()
            .unwrap()
            .clone()
    };

    let first = add(&body(
        "dibao_standard_fen",
        day(1),
        75_000,
        "西民发〔2026〕31号",
    ))
    .expect(201);
    let first_id = first.body["id"].as_str().unwrap().to_owned();
    assert!(first.body["effective_to"].is_null());
    // The same key, region and start again, whatever the value: refused, nothing written.
    let refused = add(&body(
        "dibao_standard_fen",
        day(1),
        76_000,
        "西民发〔2026〕32号",
    ))
    .problem(409, "policy_version_exists");
    refused.has_field_error("effective_from", "duplicate");
    let (en, zh) = (
        refused.body["detail"].as_str().unwrap(),
        refused.body["detail_zh"].as_str().unwrap(),
    );
    assert!(
        en.contains("dibao_standard_fen") && en.contains(&day(1).to_string()),
        "{en}"
    );
    assert!(
        zh.contains("城市低保标准") && zh.contains(&day(1).to_string()),
        "{zh}"
    );
    cites_nothing_internal(&[en, zh]);
    let versions = county("dibao_standard_fen");
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert_eq!(versions[0]["value"], 75_000);
    let all_added = || {
        w.app
            .get_as(auditor, "/api/v1/audit/events?action=policy.parameter_add")
            .expect(200)
            .body["items"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(all_added(), 1, "the refusal is not recorded as an addition");

    // Several at once: one is added, the others are refused (by the database when the requests
    // pass the check side by side).
    let barrier = std::sync::Barrier::new(4);
    let statuses: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let (barrier, b) = (
                    &barrier,
                    body("notice_days", day(2), 10 + i, "西工发〔2026〕5号"),
                );
                s.spawn(move || {
                    barrier.wait();
                    let r = add(&b);
                    (
                        r.status.as_u16(),
                        r.body["code"].as_str().unwrap_or_default().to_owned(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .filter(|(s, _)| *s != 201)
            .all(|(s, c)| *s == 409 && c == "policy_version_exists"),
        "{statuses:?}"
    );
    assert_eq!(county("notice_days").len(), 1);
    assert_eq!(all_added(), 2);

    // A later version ends the one before it.
    let last = add(&body(
        "dibao_standard_fen",
        day(3),
        77_000,
        "西民发〔2026〕33号",
    ))
    .expect(201);
    let last_id = last.body["id"].as_str().unwrap().to_owned();
    // One entered between them ends the first, and ends where the later one begins.
    let middle = add(&body(
        "dibao_standard_fen",
        day(2),
        76_000,
        "西民发〔2026〕34号",
    ))
    .expect(201);
    let middle_id = middle.body["id"].as_str().unwrap().to_owned();
    assert_eq!(middle.body["effective_to"], day(3).to_string());
    let ends = |versions: &[Value], id: &str| {
        versions.iter().find(|v| v["id"] == id).unwrap()["effective_to"].clone()
    };
    let versions = county("dibao_standard_fen");
    assert_eq!(versions.len(), 3);
    assert_eq!(ends(&versions, &first_id), day(2).to_string());
    assert_eq!(ends(&versions, &middle_id), day(3).to_string());
    assert!(ends(&versions, &last_id).is_null());
    // The ends are stored with the versions, set by the change that entered the next one.
    let mut c = w.app.db.pool.get().unwrap();
    let stored: Vec<(String, Option<chrono::NaiveDate>)> =
        jiekun_store::rules::parameter_rows(&mut c)
            .unwrap()
            .into_iter()
            .filter(|r| r.key == "dibao_standard_fen")
            .map(|r| (r.id, r.effective_to))
            .collect();
    drop(c);
    assert_eq!(
        stored,
        vec![
            (first_id.clone(), Some(day(2))),
            (middle_id.clone(), Some(day(3))),
            (last_id.clone(), None),
        ]
    );
    assert_eq!(added(&middle_id)[0]["changes"]["ends"], json!([first_id]));
    assert_eq!(
        added(&last_id)[0]["changes"]["ends"],
        json!([first_id]),
        "ended first, at the time"
    );

    // Assessments take the version in force on their date, before and after each start.
    let hid = household_with_wage(w, 9, 100_000);
    w.app.clock.advance(chrono::TimeDelta::days(3));
    let standard_on = |date: chrono::NaiveDate| {
        let a = w
            .app
            .post_as(
                officer(w),
                &format!("/api/v1/households/{hid}/assessments"),
                &json!({"kind": "identify", "date": date}),
            )
            .expect(201);
        let p = a.body["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["key"] == "dibao_standard_fen")
            .unwrap()
            .clone();
        (
            p["id"].as_str().unwrap().to_owned(),
            p["value"].as_i64().unwrap(),
        )
    };
    assert_eq!(
        standard_on(today).1,
        72_000,
        "the city's version before any of them"
    );
    assert_eq!(standard_on(day(1)), (first_id, 75_000));
    assert_eq!(standard_on(day(2)), (middle_id, 76_000));
    assert_eq!(standard_on(day(3)), (last_id, 77_000));
}

crate::on_both_backends!(World:
    policy_versions_are_one_per_start_and_end_the_one_before,
    exit_assessments_need_a_filed_household,
    accidents_make_accident_caused_households,
    monitored_households_that_fall_back_are_flagged,
    assessments_are_explained_stored_and_replayable,
    tampering_with_a_stored_decision_shows_in_the_replay,
    the_policy_book_takes_new_versions_only,
    exit_candidates_and_simulations,
);
