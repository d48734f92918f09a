//! The facts a measure plan proposes from (一户一策, 《实施方案》三): a legal dispute of the
//! household; members laid off, with a business plan, paying residents' pension contributions;
//! members who need long-term care (a health detail, kept encrypted). Filed, read, changed,
//! false when not sent, refused with the field when of the wrong type.

use jiekun_domain::access::Role;
use jiekun_domain::national_id::complete;
use jiekun_store::households::{self as hs, MemberChanges};
use jiekun_store::Scope;
use serde_json::{json, Value};

use super::households::family;
use super::world::World;
use crate::common::{test_cipher, Auth};

fn officer(w: &World) -> &Auth {
    &w.person(Role::GrassrootsOfficer).auth
}

/// The test family with every fact set: the worker laid off and planning a business, the spouse
/// paying residents' pension contributions and needing long-term care, a labour dispute on file.
fn family_with_facts(w: &World) -> Value {
    let mut body = family(w, &complete("61072419800101123"));
    body["legal_dispute"] = json!(true);
    body["members"][0]["laid_off"] = json!(true);
    body["members"][0]["business_plan"] = json!(true);
    body["members"][1]["residents_pension"] = json!(true);
    body["members"][1]["health"]["long_term_care"] = json!(true);
    body
}

/// (laid_off, business_plan, residents_pension) of each member.
fn member_facts(household: &Value) -> Vec<(bool, bool, bool)> {
    household["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["laid_off"].as_bool().unwrap(),
                m["business_plan"].as_bool().unwrap(),
                m["residents_pension"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn the_facts_are_filed_read_back_and_changed(w: &World) {
    let o = officer(w);
    let made = w
        .app
        .post_as(o, "/api/v1/households", &family_with_facts(w))
        .expect(201);
    let hid = made.body["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/households/{hid}");
    assert_eq!(made.body["legal_dispute"], true);
    let filed = vec![
        (true, true, false),
        (false, false, true),
        (false, false, false),
    ];
    assert_eq!(member_facts(&made.body), filed);
    assert!(
        !made.text.contains("long_term_care"),
        "health stays hidden: {}",
        made.text
    );
    let got = w.app.get_as(o, &base).expect(200);
    assert_eq!(got.body, made.body);
    let revealed = w
        .app
        .get_as(o, &format!("{base}?reveal=health"))
        .expect(200);
    assert_eq!(
        revealed.body["members"][1]["health"]["long_term_care"],
        true
    );
    assert_eq!(
        revealed.body["members"][0]["health"]["long_term_care"],
        false
    );

    // The household's fact changes alone; the other facts stay.
    let changed = w
        .app
        .patch_as(o, &base, "\"1\"", &json!({"legal_dispute": false}))
        .expect(200);
    assert_eq!(changed.etag(), "\"2\"");
    assert_eq!(changed.body["legal_dispute"], false);
    assert_eq!(member_facts(&changed.body), filed);
    let kept = w
        .app
        .patch_as(
            o,
            &base,
            "\"2\"",
            &json!({"address": "西乡县城关镇东大街14号"}),
        )
        .expect(200);
    assert_eq!(kept.body["legal_dispute"], false, "kept when not sent");

    // A member's facts change one at a time; what is not sent stays.
    let worker = made.body["members"][0]["id"].as_str().unwrap();
    let m = w
        .app
        .patch_as(
            o,
            &format!("{base}/members/{worker}"),
            "\"3\"",
            &json!({"business_plan": false, "residents_pension": true}),
        )
        .expect(200);
    assert_eq!(m.etag(), "\"4\"");
    assert_eq!(
        (
            &m.body["laid_off"],
            &m.body["business_plan"],
            &m.body["residents_pension"]
        ),
        (&json!(true), &json!(false), &json!(true))
    );
    let m = w
        .app
        .patch_as(
            o,
            &format!("{base}/members/{worker}"),
            "\"4\"",
            &json!({"name": "张建国", "health": {"status": "disabled", "disability_type": "physical", "disability_grade": 1, "long_term_care": true}}),
        )
        .expect(200);
    assert_eq!(m.body["laid_off"], true, "kept when not sent");
    assert!(m.body["health"].is_null(), "health stays hidden");

    // A member added with facts: a brother who cannot work and needs care.
    let added = w
        .app
        .with_etag(
            o,
            "POST",
            &format!("{base}/members"),
            "\"5\"",
            Some(&json!({"relation": "sibling", "name": "张建军", "national_id": complete("61072419840303115"),
                         "work_status": "unable_to_work", "residents_pension": true,
                         "health": {"status": "disabled", "disability_type": "intellectual", "disability_grade": 2,
                                    "long_term_care": true}})),
        )
        .expect(201);
    assert_eq!(
        (
            &added.body["laid_off"],
            &added.body["business_plan"],
            &added.body["residents_pension"]
        ),
        (&json!(false), &json!(false), &json!(true))
    );

    let all = w
        .app
        .get_as(o, &format!("{base}?reveal=health"))
        .expect(200);
    assert_eq!(all.etag(), "\"6\"");
    assert_eq!(all.body["legal_dispute"], false);
    assert_eq!(
        member_facts(&all.body),
        vec![
            (true, false, true),
            (false, false, true),
            (false, false, false),
            (false, false, true)
        ]
    );
    let care: Vec<&Value> = all.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["health"]["long_term_care"])
        .collect();
    // The child has no health details at all.
    assert_eq!(
        care,
        [&json!(true), &json!(true), &Value::Null, &json!(true)]
    );
    assert_eq!(all.body["members"][0]["health"]["disability_grade"], 1);
}

fn facts_not_sent_are_false(w: &World) {
    let o = officer(w);
    let made = w
        .app
        .post_as(
            o,
            "/api/v1/households",
            &family(w, &complete("61072419800101123")),
        )
        .expect(201);
    assert_eq!(made.body["legal_dispute"], false);
    assert_eq!(member_facts(&made.body), vec![(false, false, false); 3]);
    let hid = made.body["id"].as_str().unwrap();
    let revealed = w
        .app
        .get_as(o, &format!("/api/v1/households/{hid}?reveal=health"))
        .expect(200);
    assert_eq!(
        revealed.body["members"][0]["health"]["long_term_care"],
        false
    );
    assert_eq!(
        revealed.body["members"][1]["health"]["long_term_care"],
        false
    );
}

/// Health details stored before long-term care was recorded still read, as not needing it.
fn health_stored_without_long_term_care_still_reads(w: &World) {
    let o = officer(w);
    let made = w
        .app
        .post_as(
            o,
            "/api/v1/households",
            &family(w, &complete("61072419800101123")),
        )
        .expect(201);
    let hid = made.body["id"].as_str().unwrap().to_owned();
    let spouse = made.body["members"][1]["id"].as_str().unwrap().to_owned();
    let mut c = w.app.db.pool.get().unwrap();
    let old =
        r#"{"status":"disabled","illness":null,"disability_type":"physical","disability_grade":2}"#;
    hs::update_member(
        &mut c,
        &test_cipher(),
        &Scope::All,
        &hid,
        &spouse,
        1,
        MemberChanges::default(),
        Some(Some(old.to_owned())),
    )
    .unwrap();
    drop(c);
    let got = w
        .app
        .get_as(o, &format!("/api/v1/households/{hid}?reveal=health"))
        .expect(200);
    let health = &got.body["members"][1]["health"];
    assert_eq!(health["disability_grade"], 2);
    assert_eq!(health["long_term_care"], false);
    // The rules read it too.
    w.app
        .post_as(
            o,
            &format!("/api/v1/households/{hid}/assessments"),
            &json!({"kind": "identify"}),
        )
        .expect(201);
}

fn facts_of_the_wrong_type_are_refused_by_field(w: &World) {
    let o = officer(w);
    let before = w
        .app
        .get_as(o, "/api/v1/households?count=true")
        .expect(200)
        .body["total"]
        .clone();
    let with = |path: &[&str], v: Value| {
        let mut body = family(w, &complete("61072419800101123"));
        let mut at = &mut body;
        for p in path {
            at = match p.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*p],
            };
        }
        *at = v;
        body
    };
    let cases = [
        (with(&["legal_dispute"], json!("yes")), "legal_dispute"),
        (with(&["legal_dispute"], Value::Null), "legal_dispute"),
        (
            with(&["members", "0", "laid_off"], json!(1)),
            "members[0].laid_off",
        ),
        (
            with(&["members", "1", "business_plan"], json!("true")),
            "members[1].business_plan",
        ),
        (
            with(&["members", "2", "residents_pension"], json!([])),
            "members[2].residents_pension",
        ),
        (
            with(&["members", "1", "health", "long_term_care"], json!("no")),
            "members[1].health.long_term_care",
        ),
    ];
    for (body, field) in cases {
        w.app
            .post_as(o, "/api/v1/households", &body)
            .problem(422, "validation_failed")
            .has_field_error(field, "invalid_type");
    }
    let after = w
        .app
        .get_as(o, "/api/v1/households?count=true")
        .expect(200)
        .body["total"]
        .clone();
    assert_eq!(after, before, "nothing filed");

    let base = format!("/api/v1/households/{}", w.hh_xx.id);
    let etag = w.app.get_as(o, &base).expect(200).etag();
    w.app
        .patch_as(o, &base, &etag, &json!({"legal_dispute": "no"}))
        .problem(422, "validation_failed")
        .has_field_error("legal_dispute", "invalid_type");
    let member = format!("{base}/members/{}", w.hh_xx.worker);
    for (body, field) in [
        (json!({"laid_off": 0}), "laid_off"),
        (json!({"business_plan": "false"}), "business_plan"),
        (json!({"residents_pension": {}}), "residents_pension"),
        (
            json!({"health": {"status": "healthy", "long_term_care": 1}}),
            "health.long_term_care",
        ),
    ] {
        w.app
            .patch_as(o, &member, &etag, &body)
            .problem(422, "validation_failed")
            .has_field_error(field, "invalid_type");
    }
    assert_eq!(
        w.app.get_as(o, &base).expect(200).etag(),
        etag,
        "nothing changed"
    );
}

crate::on_both_backends!(World:
    the_facts_are_filed_read_back_and_changed,
    facts_not_sent_are_false,
    health_stored_without_long_term_care_still_reads,
    facts_of_the_wrong_type_are_refused_by_field,
);
