use serde_json::json;

use crate::common::TestApp;

fn one_department_of_a_kind_per_region(app: &TestApp) {
    let d = app
        .post(
            "/api/v1/departments",
            &json!({"code": "civil_affairs", "name": "西乡县民政局", "region_code": "610724"}),
        )
        .expect(201);
    assert_eq!(d.body["code"], "civil_affairs");
    assert_eq!(d.body["active"], true);
    app.post(
        "/api/v1/departments",
        &json!({"code": "civil_affairs", "name": "另一个民政局", "region_code": "610724"}),
    )
    .problem(409, "already_exists");
    app.post(
        "/api/v1/departments",
        &json!({"code": "civil_affairs", "name": "城固县民政局", "region_code": "610722"}),
    )
    .expect(201);
    app.post(
        "/api/v1/departments",
        &json!({"code": "police", "name": "公安局", "region_code": "610724"}),
    )
    .problem(422, "validation_failed")
    .has_field_error("code", "invalid_value");

    let in_xixiang = app
        .get("/api/v1/departments?region_code=610724")
        .expect(200);
    assert_eq!(in_xixiang.body["items"].as_array().unwrap().len(), 1);
    let in_city = app
        .get("/api/v1/departments?region_code=610700&code=civil_affairs")
        .expect(200);
    assert_eq!(in_city.body["items"].as_array().unwrap().len(), 2);

    let path = format!("/api/v1/departments/{}", d.body["id"].as_str().unwrap());
    let off = app
        .patch(&path, &d.etag(), &json!({"active": false}))
        .expect(200);
    assert_eq!(off.body["active"], false);
    let active = app.get("/api/v1/departments?active=true").expect(200);
    assert_eq!(active.body["items"].as_array().unwrap().len(), 1);
    app.get("/api/v1/departments/nope")
        .problem(404, "not_found");
}

crate::on_both_backends!(TestApp: one_department_of_a_kind_per_region);
