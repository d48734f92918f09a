//! Dual contacts through HTTP: each kind of gap is found and disappears once the assignment or
//! visit that fixes it is made; assignments and visits are checked against the file (the
//! assignment's household, the county's activity types, the dates, referrals of the household).

use chrono::TimeDelta;
use diesel::prelude::*;
use jiekun_domain::access::Role;
use serde_json::{json, Value};

use super::campaigns::{filed, Extra};
use super::world::World;
use crate::common::{Auth, Resp};

fn reviewer(w: &World) -> &Auth {
    &w.person(Role::CountyReviewer).auth
}

fn days_ago(w: &World, n: i64) -> String {
    (w.app.clock.today() - TimeDelta::days(n)).to_string()
}

fn assign(w: &World, body: Value) -> Resp {
    w.app.post_as(reviewer(w), "/api/v1/contacts", &body)
}

fn assigned(w: &World, body: Value) -> String {
    assign(w, body).expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn leader(w: &World, household: &str) -> String {
    assigned(
        w,
        json!({"kind": "leader_household", "contact_name": "王建国", "contact_title": "副主席",
            "household_id": household, "valid_from": days_ago(w, 200)}),
    )
}

fn end(w: &World, id: &str, until: &str) -> Resp {
    let path = format!("/api/v1/contacts/{id}");
    let etag = w.app.get_as(reviewer(w), &path).expect(200).etag();
    w.app.with_etag(
        reviewer(w),
        "POST",
        &format!("{path}/end"),
        &etag,
        Some(&json!({"valid_until": until})),
    )
}

fn visit(w: &World, who: &Auth, body: Value) -> Resp {
    w.app.post_as(who, "/api/v1/contacts/visits", &body)
}

/// The gaps the reviewer sees, as (kind, subject id, count).
fn gaps(w: &World) -> Vec<(String, String, Option<i64>)> {
    let r = w
        .app
        .get_as(reviewer(w), "/api/v1/contacts/gaps?limit=200&count=true")
        .expect(200);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(r.body["total"].as_u64().unwrap() as usize, items.len());
    items
        .iter()
        .map(|g| {
            assert!(g["description_zh"]
                .as_str()
                .unwrap()
                .contains("《实施方案》三(七)14"));
            assert!(!g["description"].as_str().unwrap().is_empty());
            (
                g["kind"].as_str().unwrap().to_owned(),
                g["subject_id"].as_str().unwrap().to_owned(),
                g["count"].as_i64(),
            )
        })
        .collect()
}

fn has(g: &[(String, String, Option<i64>)], kind: &str, subject: &str) -> bool {
    g.iter().any(|(k, s, _)| k == kind && s == subject)
}

fn of_kind(g: &[(String, String, Option<i64>)], kind: &str) -> usize {
    g.iter().filter(|(k, _, _)| k == kind).count()
}

/// Difficult enterprises of 西乡县, `n` of them besides the world's (made difficult too).
fn difficult_enterprises(w: &World, n: usize) -> Vec<String> {
    use jiekun_store::schema::enterprises as e;
    let mut c = w.app.db.pool.get().unwrap();
    diesel::update(e::table.find(&w.ent_xx))
        .set(e::difficult.eq(true))
        .execute(&mut *c)
        .unwrap();
    let mut ids = vec![w.ent_xx.clone()];
    for i in 0..n {
        let id = jiekun_store::new_id();
        let now = jiekun_store::now();
        diesel::insert_into(e::table)
            .values((
                e::id.eq(&id),
                e::name.eq(format!("困难企业{i}")),
                e::credit_code.eq(format!("91610724MA0000000{i}")),
                e::region_code.eq("610724"),
                e::difficult.eq(true),
                e::version.eq(1i64),
                e::created_at.eq(now),
                e::updated_at.eq(now),
            ))
            .execute(&mut *c)
            .unwrap();
        ids.push(id);
    }
    ids
}

fn each_gap_is_found_and_disappears_once_fixed(w: &World) {
    let officer = &w.person(Role::GrassrootsOfficer);
    let union = (w.chengguan.as_str(), "610724");
    let hh: Vec<String> = (0..4)
        .map(|i| filed(w, &officer.auth, union, 200 + i, Some("deep"), Extra::None))
        .collect();
    let g = gaps(w);
    assert!(has(&g, "county_too_few_enterprises", &w.xixiang));
    for h in &hh {
        assert!(has(&g, "household_without_contact", h));
    }

    // Paged with a cursor, in the same order; filtered by kind.
    let mut paged = Vec::new();
    let mut path = "/api/v1/contacts/gaps?limit=2".to_owned();
    loop {
        let page = w.app.get_as(reviewer(w), &path).expect(200);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        paged.extend(
            items
                .iter()
                .map(|g| g["subject_id"].as_str().unwrap().to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/contacts/gaps?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(paged, g.iter().map(|g| g.1.clone()).collect::<Vec<_>>());
    let only = w
        .app
        .get_as(
            reviewer(w),
            "/api/v1/contacts/gaps?kind=household_without_contact&count=true",
        )
        .expect(200);
    assert_eq!(only.body["total"], 4);

    // The county union takes up a difficult enterprise.
    let ents = difficult_enterprises(w, 3);
    let first = assigned(
        w,
        json!({"kind": "union_enterprise", "enterprise_id": ents[0], "valid_from": days_ago(w, 10)}),
    );
    assert!(!has(&gaps(w), "county_too_few_enterprises", &w.xixiang));

    // A leadership member with one household, then two.
    let a0 = leader(w, &hh[0]);
    let g = gaps(w);
    assert!(has(&g, "leader_too_few", &a0), "{g:?}");
    assert!(!has(&g, "household_without_contact", &hh[0]));
    leader(w, &hh[1]);
    assert_eq!(of_kind(&gaps(w), "leader_too_few"), 0);

    // Four households are too many; ending one brings them back to three.
    leader(w, &hh[2]);
    let a3 = leader(w, &hh[3]);
    let g = gaps(w);
    assert!(
        g.contains(&("leader_too_many".into(), a0.clone(), Some(4))),
        "{g:?}"
    );
    end(w, &a3, &days_ago(w, 1)).expect(200);
    let g = gaps(w);
    assert_eq!(of_kind(&g, "leader_too_many"), 0);
    // …which leaves that household with nobody, until a cadre (a user of a union of the county)
    // takes it up.
    assert!(has(&g, "household_without_contact", &hh[3]));
    let cadre = assigned(
        w,
        json!({"kind": "cadre_worker", "contact_user_id": officer.id, "household_id": hh[3],
            "valid_from": days_ago(w, 5)}),
    );
    assert_eq!(of_kind(&gaps(w), "household_without_contact"), 0);

    // Contacts begun 200 days ago and never visited; a visit fixes one; a new one has time.
    let g = gaps(w);
    assert!(has(&g, "contact_not_visited", &a0));
    assert!(!has(&g, "contact_not_visited", &cadre));
    assert!(!has(&g, "contact_not_visited", &first));
    visit(
        w,
        &officer.auth,
        json!({"assignment_id": a0, "household_id": hh[0], "visited_on": days_ago(w, 3),
            "activity_type": "home_visit", "notes": "了解生活情况"}),
    )
    .expect(201);
    let g = gaps(w);
    assert!(!has(&g, "contact_not_visited", &a0));
    assert_eq!(of_kind(&g, "contact_not_visited"), 2, "{g:?}");
    // N is the county's policy parameter: a longer one closes the rest.
    w.app
        .post_as(
            &w.person(Role::CountyAdmin).auth,
            "/api/v1/policy/parameters",
            &json!({"key": "contact_visit_gap_days", "region_code": "610724",
                "effective_from": w.app.clock.today(), "value": 365, "document": "西工发〔2026〕14号"}),
        )
        .expect(201);
    assert_eq!(of_kind(&gaps(w), "contact_not_visited"), 0);

    // Four enterprises are too many; ending one fixes it.
    for e in &ents[1..] {
        assigned(
            w,
            json!({"kind": "union_enterprise", "enterprise_id": e, "valid_from": days_ago(w, 10)}),
        );
    }
    let g = gaps(w);
    assert!(g.contains(&(
        "county_too_many_enterprises".into(),
        w.xixiang.clone(),
        Some(4)
    )));
    end(w, &first, &days_ago(w, 1)).expect(200);
    assert!(gaps(w).is_empty(), "{:?}", gaps(w));

    // The officer of 城关镇 sees the households' contacts, not the county's enterprises.
    let mine = w
        .app
        .get_as(&officer.auth, "/api/v1/contacts?count=true")
        .expect(200);
    assert_eq!(mine.body["total"], 5);
    let all = w
        .app
        .get_as(
            reviewer(w),
            &format!(
                "/api/v1/contacts?count=true&valid_on={}",
                w.app.clock.today()
            ),
        )
        .expect(200);
    assert_eq!(all.body["total"], 3 + 1 + 3);
}

fn assignments_and_visits_validate(w: &World) {
    let officer = &w.person(Role::GrassrootsOfficer);
    let union = (w.chengguan.as_str(), "610724");
    let h1 = filed(w, &officer.auth, union, 210, Some("deep"), Extra::None);
    let h2 = filed(w, &officer.auth, union, 211, Some("relative"), Extra::None);
    let from = days_ago(w, 30);

    // Assignments.
    assign(
        w,
        json!({"kind": "leader_household", "contact_name": "王建国", "household_id": h1,
        "enterprise_id": w.ent_xx, "valid_from": from}),
    )
    .problem(422, "validation_failed")
    .has_field_error("enterprise_id", "not_allowed");
    assign(
        w,
        json!({"kind": "leader_household", "contact_name": "王建国",
        "household_id": w.hh_cg.id, "valid_from": from}),
    )
    .problem(422, "validation_failed")
    .has_field_error("household_id", "not_found");
    assign(
        w,
        json!({"kind": "cadre_worker", "contact_name": "李干部", "household_id": h1,
        "valid_from": from, "valid_until": days_ago(w, 31)}),
    )
    .problem(422, "validation_failed")
    .has_field_error("valid_until", "before_start");
    assign(
        w,
        json!({"kind": "cadre_worker", "contact_name": "李干部", "contact_user_id": officer.id,
        "household_id": h1, "valid_from": from}),
    )
    .problem(422, "validation_failed")
    .has_field_error("contact_name", "one_of");
    assign(
        w,
        json!({"kind": "cadre_worker", "household_id": h1, "valid_from": from}),
    )
    .problem(422, "validation_failed")
    .has_field_error("contact_user_id", "required");
    // A leadership member is of the county union; the officer of 城关镇 is not.
    assign(
        w,
        json!({"kind": "leader_household", "contact_user_id": officer.id,
        "household_id": h1, "valid_from": from}),
    )
    .problem(422, "validation_failed")
    .has_field_error("contact_user_id", "not_found");
    assign(
        w,
        json!({"kind": "union_enterprise", "enterprise_id": w.ent_xx, "valid_from": from}),
    )
    .problem(422, "validation_failed")
    .has_field_error("enterprise_id", "not_difficult");
    assign(
        w,
        json!({"kind": "family_friend", "household_id": h1, "valid_from": from}),
    )
    .expect(422);
    // Officers record visits but do not assign.
    w.app
        .post_as(
            &officer.auth,
            "/api/v1/contacts",
            &json!({"kind": "cadre_worker",
            "contact_name": "李干部", "household_id": h1, "valid_from": from}),
        )
        .problem(403, "forbidden");

    let me = w.person(Role::CountyReviewer);
    let a1 = assigned(
        w,
        json!({"kind": "leader_household", "contact_user_id": me.id,
        "household_id": h1, "valid_from": from}),
    );
    // The same member with the same household again, while the first runs: refused.
    assign(
        w,
        json!({"kind": "leader_household", "contact_user_id": me.id,
        "household_id": h1, "valid_from": days_ago(w, 10)}),
    )
    .problem(409, "already_exists")
    .has_field_error("valid_from", "overlaps");
    let got = w
        .app
        .get_as(reviewer(w), &format!("/api/v1/contacts/{a1}"))
        .expect(200);
    assert_eq!(got.body["contact_user_id"], me.id.as_str());
    assert!(got.body["kind_meaning_zh"]
        .as_str()
        .unwrap()
        .contains("班子成员"));

    // Visits.
    let ok = json!({"assignment_id": a1, "household_id": h1, "visited_on": days_ago(w, 1),
        "activity_type": "phone_call"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    visit(w, &officer.auth, with("household_id", json!(h2)))
        .problem(422, "validation_failed")
        .has_field_error("household_id", "not_the_assignments");
    visit(w, &officer.auth, with("enterprise_id", json!(w.ent_xx)))
        .problem(422, "validation_failed")
        .has_field_error("enterprise_id", "not_the_assignments");
    let unknown = visit(
        w,
        &officer.auth,
        with("activity_type", json!("dance_party")),
    );
    let unknown = unknown.problem(422, "validation_failed");
    unknown.has_field_error("activity_type", "unknown");
    assert!(unknown.text.contains("home_visit") && unknown.text.contains("send_warmth"));
    visit(w, &officer.auth, with("visited_on", json!(days_ago(w, -1))))
        .problem(422, "validation_failed")
        .has_field_error("visited_on", "in_future");
    visit(w, &officer.auth, with("visited_on", json!(days_ago(w, 31))))
        .problem(422, "validation_failed")
        .has_field_error("visited_on", "outside_assignment");
    visit(
        w,
        &officer.auth,
        with("referral_id", json!(jiekun_store::new_id())),
    )
    .problem(422, "validation_failed")
    .has_field_error("referral_id", "not_found");
    visit(w, &officer.auth, with("notes", json!("长".repeat(501)))).expect(422);
    visit(w, &officer.auth, ok.clone()).expect(201);

    // The county's own list of activity types.
    w.app
        .post_as(
            &w.person(Role::CountyAdmin).auth,
            "/api/v1/policy/parameters",
            &json!({"key": "contact_activity_types", "region_code": "610724",
                "effective_from": w.app.clock.today(), "value": ["home_visit", "send_law"],
                "document": "西工发〔2026〕15号"}),
        )
        .expect(201);
    let today = w.app.clock.today().to_string();
    visit(w, &officer.auth, with("visited_on", json!(today)).clone())
        .problem(422, "validation_failed")
        .has_field_error("activity_type", "unknown");
    let mut law = with("activity_type", json!("send_law"));
    law["visited_on"] = json!(today);
    visit(w, &officer.auth, law).expect(201);
    let visits = w
        .app
        .get_as(
            reviewer(w),
            &format!("/api/v1/contacts/visits?assignment_id={a1}&count=true"),
        )
        .expect(200);
    assert_eq!(visits.body["total"], 2);

    // Ending: not before the start, once, with If-Match.
    end(w, &a1, &days_ago(w, 31))
        .problem(422, "validation_failed")
        .has_field_error("valid_until", "before_start");
    w.app
        .post_as(
            reviewer(w),
            &format!("/api/v1/contacts/{a1}/end"),
            &json!({"valid_until": today}),
        )
        .expect(428);
    end(w, &a1, &today).expect(200);
    end(w, &a1, &today).problem(409, "already_ended");
    // After it ends, the same pair may start again.
    let tomorrow = (w.app.clock.today() + TimeDelta::days(1)).to_string();
    assign(
        w,
        json!({"kind": "leader_household", "contact_user_id": me.id,
        "household_id": h1, "valid_from": tomorrow}),
    )
    .expect(201);
    // Valid through its last day: the member still counts the household today.
    let few = w
        .app
        .get_as(reviewer(w), "/api/v1/contacts/gaps?kind=leader_too_few")
        .expect(200);
    assert_eq!(few.body["items"][0]["subject_id"], me.id.as_str());
    assert_eq!(few.body["items"][0]["count"], 1);
}

crate::on_both_backends!(
    World:
    each_gap_is_found_and_disappears_once_fixed,
    assignments_and_visits_validate,
);
