use serde_json::json;

use crate::common::TestApp;

const GOOD: &str = "91610724MA6YQ1234E";

fn registers_and_finds_by_credit_code(app: &TestApp) {
    let created = app
        .post(
            "/api/v1/enterprises",
            &json!({"name": "陕西汉江机械有限公司", "credit_code": GOOD.to_lowercase(), "region_code": "610724", "difficult": true}),
        )
        .expect(201);
    assert_eq!(
        created.body["credit_code"], GOOD,
        "normalised to upper case"
    );
    assert_eq!(created.body["difficult"], true);
    let id = created.body["id"].as_str().unwrap();
    let got = app.get(&format!("/api/v1/enterprises/{id}")).expect(200);
    assert_eq!(got.body, created.body);

    let found = app
        .get(&format!("/api/v1/enterprises?credit_code={GOOD}"))
        .expect(200);
    assert_eq!(found.body["items"][0]["id"], id);
    let difficult = app.get("/api/v1/enterprises?difficult=false").expect(200);
    assert_eq!(difficult.body["items"].as_array().unwrap().len(), 0);
    app.get("/api/v1/enterprises?credit_code=91610724MA6YQ1234F")
        .problem(400, "invalid_parameter")
        .has_field_error("credit_code", "invalid_check_character");
}

fn refuses_bad_credit_codes(app: &TestApp) {
    let cases = [
        ("91610724MA6YQ1234F", "invalid_check_character"),
        ("91610724MA6YQ1234", "invalid_length"),
        ("91610724MA6YQ12O4E", "invalid_character"),
        ("9161A724MA6YQ1234E", "invalid_format"),
    ];
    for (code, field_code) in cases {
        let r = app
            .post(
                "/api/v1/enterprises",
                &json!({"name": "某公司", "credit_code": code, "region_code": "610724"}),
            )
            .problem(422, "validation_failed");
        r.has_field_error("credit_code", field_code);
        if field_code == "invalid_check_character" {
            let msg = r.body["errors"][0]["message"].as_str().unwrap();
            assert!(msg.contains("expected E"), "{msg}");
            assert!(r.body["errors"][0]["message_zh"]
                .as_str()
                .unwrap()
                .contains("校验码"));
        }
    }
    // Every field error is reported at once.
    let r = app
        .post(
            "/api/v1/enterprises",
            &json!({"name": "", "credit_code": "x", "region_code": "1"}),
        )
        .problem(422, "validation_failed");
    assert_eq!(r.field_errors().len(), 3, "{:?}", r.field_errors());
    assert_eq!(
        app.list_all("/api/v1/enterprises", 50).len(),
        0,
        "nothing written"
    );
}

fn one_enterprise_per_credit_code(app: &TestApp) {
    let body = json!({"name": "甲公司", "credit_code": GOOD, "region_code": "610724"});
    app.post("/api/v1/enterprises", &body).expect(201);
    app.post(
        "/api/v1/enterprises",
        &json!({"name": "乙公司", "credit_code": GOOD, "region_code": "610724"}),
    )
    .problem(409, "already_exists")
    .has_field_error("credit_code", "duplicate");

    // Changing another enterprise's code to a registered one is refused and changes nothing.
    let other = app
        .post("/api/v1/enterprises", &json!({"name": "丙公司", "credit_code": "91610700MA6YQ0009F", "region_code": "610700"}))
        .expect(201);
    let path = format!("/api/v1/enterprises/{}", other.body["id"].as_str().unwrap());
    app.patch(
        &path,
        &other.etag(),
        &json!({"credit_code": GOOD, "name": "丁公司"}),
    )
    .problem(409, "already_exists");
    let after = app.get(&path).expect(200);
    assert_eq!(after.body, other.body);
    let updated = app
        .patch(
            &path,
            &other.etag(),
            &json!({"difficult": true, "name": "丙公司（改）"}),
        )
        .expect(200);
    assert_eq!(updated.body["difficult"], true);
    assert_eq!(updated.body["version"], 2);
}

/// `count=true` counts every page, with the filters; an empty PATCH changes nothing.
fn directory_lists_count_and_empty_changes_keep_the_version(app: &TestApp) {
    for (i, code) in ["91610724MA6YQ00098", "91610724MA6YQ1234E"]
        .iter()
        .enumerate()
    {
        app.post(
            "/api/v1/enterprises",
            &json!({"name": format!("计数企业{i}"), "credit_code": code, "region_code": "610724", "difficult": i == 0}),
        )
        .expect(201);
    }
    let total = |q: &str| {
        app.get(&format!("/api/v1/enterprises?limit=1&count=true{q}"))
            .expect(200)
            .body["total"]
            .clone()
    };
    assert_eq!(total(""), 2);
    assert_eq!(total("&difficult=true"), 1);
    assert_eq!(total("&name_contains=没有"), 0);
    let orgs = app
        .get("/api/v1/organisations?count=true&limit=1")
        .expect(200);
    assert_eq!(orgs.body["items"].as_array().unwrap().len(), 1);
    assert!(orgs.body["total"].as_u64().unwrap() >= 1);
    assert_eq!(
        app.get("/api/v1/departments?count=true").expect(200).body["total"],
        0
    );
    assert!(app
        .get("/api/v1/enterprises?limit=1")
        .expect(200)
        .body
        .get("total")
        .is_none());

    let one = app.get("/api/v1/enterprises?limit=1").expect(200).body["items"][0].clone();
    let path = format!("/api/v1/enterprises/{}", one["id"].as_str().unwrap());
    let audit_before = app.get("/api/v1/audit/events?limit=200").expect(200).body["items"]
        .as_array()
        .unwrap()
        .len();
    let same = app
        .with_etag(&app.admin.auth, "PATCH", &path, "\"1\"", Some(&json!({})))
        .expect(200);
    assert_eq!(same.body["version"], 1);
    assert_eq!(same.etag(), "\"1\"");
    let audit_after = app.get("/api/v1/audit/events?limit=200").expect(200).body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        audit_before, audit_after,
        "an empty change writes no audit event"
    );
    app.with_etag(&app.admin.auth, "PATCH", &path, "\"7\"", Some(&json!({})))
        .problem(412, "precondition_failed");
}

crate::on_both_backends!(TestApp:
    directory_lists_count_and_empty_changes_keep_the_version,
    registers_and_finds_by_credit_code,
    refuses_bad_credit_codes,
    one_enterprise_per_credit_code,
);
