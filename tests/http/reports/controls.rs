//! Reports that hold the register against the policy: exceptions, the lead units'
//! accountability and the timeliness of the workflow steps.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use diesel::connection::SimpleConnection;
use jiekun_domain::access::Role;
use serde_json::{json, Value};

use super::super::workflows::{
    assess, crew_xx, file_all_the_way, household, last_months, open, step, to_notice, Crew,
};
use super::super::world::World;
use super::{as_text, auditor, csv_rows, report, urlencode};

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
    super::super::verifications::consent_all(w, &crew, &filed);
    let v = super::super::verifications::open(w, &crew, &filed, &["social_insurance"])
        .expect(201)
        .body;
    let task = v["tasks"][0]["id"].as_str().unwrap().to_owned();
    let people = super::super::verifications::members(w, &crew.officer, &filed);
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
    // The same person in two active files: the active-person index refuses it, so the worker of
    // one is copied into the other by hand. One number, two households; then taken out again.
    let sql = |q: &str| {
        let mut c = w.app.db.pool.get().unwrap();
        c.batch_execute(q).unwrap();
    };
    sql(&format!(
        "INSERT INTO household_members (id, household_id, position, relation, name, \
           national_id_enc, national_id_index, national_id_masked, sex, birth_date, work_status, \
           included, created_at, updated_at, business_plan, residents_pension, laid_off) \
         SELECT 'dup-{other}', '{other}', 9, 'other', name, national_id_enc, national_id_index, \
           national_id_masked, sex, birth_date, work_status, included, created_at, updated_at, \
           business_plan, residents_pension, laid_off \
         FROM household_members WHERE household_id = '{filed}' AND position = 0"
    ));
    let mut twice = counts(0, 0, 1, 1);
    twice[2] = ("person_in_two_files".to_owned(), 1, 2);
    let doubled = report(w, &who, "/api/v1/reports/exceptions");
    sql(&format!(
        "DELETE FROM household_members WHERE id = 'dup-{other}'"
    ));
    assert_eq!(exception_counts(&doubled), twice);
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
        super::super::verifications::consent_all(w, &crew, hh);
        let v = super::super::verifications::open(w, &crew, hh, &["social_insurance"])
            .expect(201)
            .body;
        tasks.push((hh.clone(), v["tasks"][0]["id"].as_str().unwrap().to_owned()));
    }
    let people = super::super::verifications::members(w, &crew.officer, &tasks[0].0);
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

crate::on_both_backends!(World:
    exceptions_stand_as_they_stood,
    exceptions_find_lapsed_eligibility_and_help_over_a_cap,
    the_lead_units_account_for_what_they_were_sent,
    steps_are_timed_from_the_timeline,
);
