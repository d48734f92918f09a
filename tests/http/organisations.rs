use serde_json::{json, Value};

use crate::common::TestApp;

/// Creates 西乡县总工会 under the seeded 汉中市总工会 and returns both ids.
pub fn city_and_county(app: &TestApp) -> (String, String) {
    let city_id = app.root_id.clone();
    let county = app
        .post(
            "/api/v1/organisations",
            &json!({"kind": "county_federation", "parent_id": city_id, "name": "西乡县总工会", "region_code": "610724"}),
        )
        .expect(201);
    (city_id, county.body["id"].as_str().unwrap().to_owned())
}

fn count(app: &TestApp) -> usize {
    app.list_all("/api/v1/organisations", 200).len()
}

fn builds_the_hierarchy(app: &TestApp) {
    let (city, county) = city_and_county(app);
    let union = app
        .post(
            "/api/v1/organisations",
            &json!({"kind": "grassroots_union", "union_type": "town_street", "parent_id": county,
                    "name": " 西乡县城关镇总工会 ", "short_name": "城关镇工会", "region_code": "610724"}),
        )
        .expect(201);
    let id = union.body["id"].as_str().unwrap();
    assert_eq!(
        union.header("location"),
        Some(format!("/api/v1/organisations/{id}").as_str())
    );
    assert_eq!(union.etag(), "\"1\"");
    assert_eq!(
        union.body["name"], "西乡县城关镇总工会",
        "names are trimmed"
    );
    assert_eq!(union.body["union_type"], "town_street");
    assert_eq!(union.body["version"], 1);

    let got = app.get(&format!("/api/v1/organisations/{id}")).expect(200);
    assert_eq!(got.body, union.body);
    assert_eq!(got.etag(), "\"1\"");

    let children = app
        .get(&format!("/api/v1/organisations?parent_id={county}"))
        .expect(200);
    let names: Vec<&str> = children.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["西乡县城关镇总工会"]);
    let roots = app
        .get("/api/v1/organisations?kind=city_federation")
        .expect(200);
    assert_eq!(roots.body["items"][0]["id"], city.as_str());
    assert_eq!(roots.body["items"].as_array().unwrap().len(), 1);
    let in_county = app
        .get("/api/v1/organisations?region_code=610724")
        .expect(200);
    assert_eq!(in_county.body["items"].as_array().unwrap().len(), 2);
    let in_city = app
        .get("/api/v1/organisations?region_code=610700")
        .expect(200);
    assert_eq!(
        in_city.body["items"].as_array().unwrap().len(),
        3,
        "a city code contains its counties"
    );
    let by_name = app
        .get("/api/v1/organisations?name_contains=%E5%9F%8E%E5%85%B3")
        .expect(200);
    assert_eq!(by_name.body["items"].as_array().unwrap().len(), 1);
    let wildcard = app
        .get("/api/v1/organisations?name_contains=%25")
        .expect(200);
    assert_eq!(
        wildcard.body["items"].as_array().unwrap().len(),
        0,
        "% is matched literally"
    );
}

fn refuses_misplaced_organisations_and_writes_nothing(app: &TestApp) {
    let (city, county) = city_and_county(app);
    let before = count(app);
    let unknown = "01900000-0000-7000-8000-000000000000";
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"kind": "county_federation", "parent_id": unknown, "name": "甲", "region_code": "610724"}),
            "parent_id",
            "unknown_reference",
        ),
        (
            json!({"kind": "county_federation", "name": "甲", "region_code": "610724"}),
            "parent_id",
            "required",
        ),
        (
            json!({"kind": "city_federation", "parent_id": city, "name": "甲", "region_code": "610700"}),
            "parent_id",
            "not_allowed",
        ),
        (
            json!({"kind": "city_federation", "name": "甲", "region_code": "610724"}),
            "region_code",
            "wrong_region_level",
        ),
        (
            json!({"kind": "county_federation", "parent_id": city, "name": "甲", "region_code": "610115"}),
            "region_code",
            "outside_parent_region",
        ),
        (
            json!({"kind": "grassroots_union", "union_type": "other", "parent_id": city, "name": "甲", "region_code": "610724"}),
            "parent_id",
            "wrong_parent_kind",
        ),
        (
            json!({"kind": "grassroots_union", "parent_id": county, "name": "甲", "region_code": "610724"}),
            "union_type",
            "not_allowed",
        ),
        (
            json!({"kind": "county_federation", "parent_id": city, "name": "甲", "region_code": "61072X"}),
            "region_code",
            "invalid_format",
        ),
        (
            json!({"kind": "county_federation", "parent_id": city, "name": "甲", "region_code": "990724"}),
            "region_code",
            "unknown_region",
        ),
        (
            json!({"kind": "county_federation", "parent_id": city, "name": "  ", "region_code": "610724"}),
            "name",
            "empty",
        ),
        (
            json!({"kind": "county_federation", "parent_id": city, "name": "长".repeat(101), "region_code": "610724"}),
            "name",
            "too_long",
        ),
        (
            json!({"kind": "province_federation", "name": "甲", "region_code": "610000"}),
            "kind",
            "invalid_value",
        ),
        (
            json!({"kind": "city_federation", "name": "甲"}),
            "region_code",
            "required",
        ),
        (
            json!({"kind": "city_federation", "name": "甲", "region_code": 610700}),
            "region_code",
            "invalid_type",
        ),
        (
            json!({"kind": "city_federation", "name": "甲", "region_code": "610700", "colour": "red"}),
            "colour",
            "unknown_field",
        ),
    ];
    for (body, field, code) in cases {
        let r = app
            .post("/api/v1/organisations", &body)
            .problem(422, "validation_failed");
        r.has_field_error(field, code);
    }
    assert_eq!(count(app), before, "no refused request wrote anything");
}

fn siblings_have_distinct_names(app: &TestApp) {
    let (city, _) = city_and_county(app);
    let r = app
        .post(
            "/api/v1/organisations",
            &json!({"kind": "county_federation", "parent_id": city, "name": "西乡县总工会", "region_code": "610724"}),
        )
        .problem(409, "already_exists");
    r.has_field_error("name", "duplicate");
}

fn updates_with_if_match(app: &TestApp) {
    let (city, _) = city_and_county(app);
    let path = format!("/api/v1/organisations/{city}");
    let read = app.get(&path).expect(200);
    let etag = read.etag();

    let updated = app
        .patch(
            &path,
            &etag,
            &json!({"short_name": "汉中市总", "address": "汉中市汉台区"}),
        )
        .expect(200);
    assert_eq!(updated.etag(), "\"2\"");
    assert_eq!(updated.body["short_name"], "汉中市总");
    assert_eq!(updated.body["name"], "汉中市总工会", "absent fields stay");

    // The first ETag is stale now: 412, and nothing changes.
    app.patch(&path, &etag, &json!({"name": "改名"}))
        .problem(412, "precondition_failed");
    let missing = app.send(
        app.client
            .patch(app.url(&path))
            .json(&json!({"name": "改名"})),
    );
    missing.problem(428, "precondition_required");
    app.patch(&path, "W/\"2\"", &json!({"name": "改名"}))
        .problem(400, "invalid_parameter")
        .has_field_error("If-Match", "invalid_format");
    app.patch(&path, "\"2\"", &json!({"kind": "county_federation"}))
        .problem(422, "validation_failed")
        .has_field_error("kind", "unknown_field");
    let after = app.get(&path).expect(200);
    assert_eq!(after.body, updated.body, "refused changes wrote nothing");

    // null clears an optional field.
    let cleared = app
        .patch(&path, "\"2\"", &json!({"address": null}))
        .expect(200);
    assert_eq!(cleared.body["address"], Value::Null);
    assert_eq!(cleared.body["short_name"], "汉中市总");

    app.patch(
        "/api/v1/organisations/01900000-0000-7000-8000-000000000000",
        "\"1\"",
        &json!({"name": "x"}),
    )
    .problem(404, "not_found");
}

fn pages_are_stable_and_complete(app: &TestApp) {
    let (_, county) = city_and_county(app);
    for i in 0..7 {
        app.post(
            "/api/v1/organisations",
            &json!({"kind": "grassroots_union", "union_type": "enterprise", "parent_id": county,
                    "name": format!("企业工会{i}"), "region_code": "610724"}),
        )
        .expect(201);
    }
    let all = app.list_all("/api/v1/organisations", 200);
    assert_eq!(all.len(), 9);
    for limit in [1, 2, 4, 9, 10] {
        let paged = app.list_all("/api/v1/organisations", limit);
        assert_eq!(paged, all, "limit {limit} gives the same sequence");
    }
    let ids: Vec<&str> = all.iter().map(|o| o["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "ordered by id");
    let last = app.get("/api/v1/organisations?limit=9").expect(200);
    assert!(
        last.body.get("next_cursor").is_none(),
        "no cursor on the last page"
    );
}

crate::on_both_backends!(TestApp:
    builds_the_hierarchy,
    refuses_misplaced_organisations_and_writes_nothing,
    siblings_have_distinct_names,
    updates_with_if_match,
    pages_are_stable_and_complete,
);
