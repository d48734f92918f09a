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

crate::on_both_backends!(TestApp:
    registers_and_finds_by_credit_code,
    refuses_bad_credit_codes,
    one_enterprise_per_credit_code,
);
