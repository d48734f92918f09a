//! What every endpoint shares: problem+json for every kind of bad input, request ids, limits.

use serde_json::json;

use crate::common::TestApp;

fn bad_bodies_get_problems_and_write_nothing(app: &TestApp) {
    let path = "/api/v1/enterprises";
    app.raw("POST", path, "application/json", br#"{"name": "a", "#)
        .problem(400, "malformed_json");
    app.raw("POST", path, "application/json", b"")
        .problem(400, "malformed_json");
    app.raw("POST", path, "text/plain", br#"{"name": "a"}"#)
        .problem(415, "unsupported_media_type");
    app.raw("POST", path, "application/merge-patch+json", br#"[1]"#)
        .problem(422, "validation_failed");
    let big = format!(
        r#"{{"name": "{}", "credit_code": "91610724MA6YQ1234E", "region_code": "610724"}}"#,
        "x".repeat(300 * 1024)
    );
    app.raw("POST", path, "application/json", big.as_bytes())
        .problem(413, "payload_too_large");
    assert_eq!(app.list_all(path, 10).len(), 0);
}

fn bad_parameters_are_named(app: &TestApp) {
    app.get("/api/v1/organisations?limit=abc")
        .problem(400, "invalid_parameter")
        .has_field_error("limit", "invalid_value");
    app.get("/api/v1/organisations?limit=0")
        .problem(400, "invalid_parameter")
        .has_field_error("limit", "out_of_range");
    app.get("/api/v1/organisations?limit=201")
        .problem(400, "invalid_parameter");
    app.get("/api/v1/organisations?cursor=bm90LWEtY3Vyc29y")
        .problem(400, "invalid_parameter")
        .has_field_error("cursor", "invalid_format");
    app.get("/api/v1/organisations?regoin_code=610724")
        .problem(400, "invalid_parameter")
        .has_field_error("regoin_code", "unknown_field");
    app.get("/api/v1/organisations?kind=castle")
        .problem(400, "invalid_parameter")
        .has_field_error("kind", "invalid_value");
    app.get("/api/v1/organisations?region_code=6107")
        .problem(400, "invalid_parameter")
        .has_field_error("region_code", "invalid_format");
}

fn unknown_routes_and_methods(app: &TestApp) {
    app.get("/api/v1/households-of-mars")
        .problem(404, "route_not_found");
    app.get("/nothing/here").problem(404, "route_not_found");
    let r = app
        .raw(
            "DELETE",
            "/api/v1/organisations/abc",
            "application/json",
            b"",
        )
        .problem(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET, PATCH"));
    app.get("/api/v1/organisations/01900000-0000-7000-8000-000000000000")
        .problem(404, "not_found");
}

fn request_ids_are_echoed_or_made(app: &TestApp) {
    let given = app.send(
        app.client
            .get(app.url("/healthz"))
            .header("x-request-id", "trace-42.a:b"),
    );
    assert_eq!(given.header("x-request-id"), Some("trace-42.a:b"));
    let made = app.get("/healthz");
    let id = made.header("x-request-id").unwrap();
    assert_eq!(id.len(), 36, "a uuid: {id}");
    let hostile = app.send(
        app.client
            .get(app.url("/healthz"))
            .header("x-request-id", "a b<script>"),
    );
    assert_ne!(
        hostile.header("x-request-id"),
        Some("a b<script>"),
        "unsafe ids are replaced"
    );
    let err = app.send(
        app.client
            .post(app.url("/api/v1/enterprises"))
            .header("x-request-id", "req-7")
            .json(&json!({})),
    );
    let err = err.problem(422, "validation_failed");
    assert_eq!(err.body["request_id"], "req-7");
    assert_eq!(err.body["instance"], "/api/v1/enterprises");
}

crate::on_both_backends!(TestApp:
    bad_bodies_get_problems_and_write_nothing,
    bad_parameters_are_named,
    unknown_routes_and_methods,
    request_ids_are_echoed_or_made,
);
