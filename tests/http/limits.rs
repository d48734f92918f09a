//! Shape limits: every request body states how long its texts and how long its lists may be, and
//! the API refuses what goes beyond them with the field's path.

use serde_json::{json, Value};

use jiekun_domain::access::Role;

use crate::common::TestApp;
use crate::world::World;

/// The schema `r` points at, following `$ref`s into the components.
fn resolve<'a>(spec: &'a Value, mut r: &'a Value) -> &'a Value {
    while let Some(name) = r["$ref"].as_str() {
        let name = name.trim_start_matches("#/components/schemas/");
        r = &spec["components"]["schemas"][name];
    }
    r
}

fn is_type(schema: &Value, t: &str) -> bool {
    match &schema["type"] {
        Value::String(s) => s == t,
        Value::Array(ts) => ts.iter().any(|v| v == t),
        _ => false,
    }
}

/// Collects, under `at`, every string without a length limit and every list without an item
/// limit. A closed list (`enum`, `const`), a format (dates, times) and a `pattern` give a string
/// a fixed shape and so a limit of their own.
fn unlimited(
    spec: &Value,
    schema: &Value,
    at: &str,
    seen: &mut Vec<String>,
    out: &mut Vec<String>,
) {
    if let Some(name) = schema["$ref"].as_str() {
        if seen.iter().any(|s| s == name) {
            return;
        }
        seen.push(name.to_owned());
        let short = name.rsplit('/').next().unwrap_or(name);
        unlimited(spec, resolve(spec, schema), short, seen, out);
        seen.pop();
        return;
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for part in schema[key].as_array().into_iter().flatten() {
            unlimited(spec, part, at, seen, out);
        }
    }
    let shaped = ["enum", "const", "format", "pattern", "maxLength"]
        .iter()
        .any(|k| !schema[*k].is_null());
    if is_type(schema, "string") && !shaped {
        out.push(format!("{at}: a string without maxLength"));
    }
    if is_type(schema, "array") {
        if schema["maxItems"].is_null() {
            out.push(format!("{at}: a list without maxItems"));
        }
        unlimited(spec, &schema["items"], &format!("{at}[]"), seen, out);
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        unlimited(spec, property, &format!("{at}.{name}"), seen, out);
    }
    if schema["additionalProperties"].is_object() {
        unlimited(
            spec,
            &schema["additionalProperties"],
            &format!("{at}{{}}"),
            seen,
            out,
        );
    }
}

/// Fields of request bodies that do not state their limit yet, each a gap to close, not a
/// licence: the length of each member a verification request names.
const NOT_YET_LIMITED: &[&str] = &[];

#[test]
fn every_request_body_states_its_limits() {
    let spec: Value = serde_json::from_str(&jiekun_api::openapi_json()).unwrap();
    let mut out = Vec::new();
    let mut bodies = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for media in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                bodies += 1;
                let at = format!("{method} {path}: ");
                let mut seen = Vec::new();
                unlimited(&spec, &media.1["schema"], &at, &mut seen, &mut out);
            }
        }
    }
    assert!(bodies >= 30, "{bodies} request bodies");
    out.sort();
    out.dedup();
    for gap in NOT_YET_LIMITED {
        assert!(
            out.iter().any(|o| o.starts_with(gap)),
            "{gap} states its limit now: take it off NOT_YET_LIMITED"
        );
    }
    out.retain(|o| !NOT_YET_LIMITED.iter().any(|gap| o.starts_with(gap)));
    assert!(
        out.is_empty(),
        "request bodies without limits:\n{}",
        out.join("\n")
    );
}

/// The walk finds what it is meant to find.
#[test]
fn the_walk_finds_unlimited_strings_and_lists() {
    let spec = json!({"components": {"schemas": {"Inner": {"type": "object", "properties": {
        "note": {"type": ["string", "null"]},
        "day": {"type": "string", "format": "date"},
        "code": {"type": "string", "pattern": "^[0-9]{6}$"},
        "kind": {"type": "string", "enum": ["a"]},
        "ids": {"type": "array", "maxItems": 3, "items": {"type": "string"}},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 9}},
        "self": {"$ref": "#/components/schemas/Inner"}
    }}}}});
    let mut out = Vec::new();
    let body = json!({"$ref": "#/components/schemas/Inner"});
    unlimited(&spec, &body, "", &mut Vec::new(), &mut out);
    out.sort();
    assert_eq!(
        out,
        [
            "Inner.ids[]: a string without maxLength",
            "Inner.note: a string without maxLength",
            "Inner.tags: a list without maxItems",
        ]
    );
}

fn long(n: usize) -> String {
    "长".repeat(n)
}

fn oversize_fields_are_refused_with_their_path(app: &TestApp) {
    let user = json!({"organisation_id": app.root_id, "username": "a".repeat(65),
        "display_name": long(51), "password": "Aa1".repeat(43),
        "roles": vec!["auditor"; 7]});
    app.post("/api/v1/users", &user)
        .problem(422, "validation_failed")
        .has_field_error("username", "too_long")
        .has_field_error("display_name", "too_long")
        .has_field_error("password", "too_long")
        .has_field_error("roles", "too_many");

    let key = json!({"department_id": "d", "name": long(101), "scopes": ["directory:read"],
        "allowed_addresses": ["10.0.0.1", "1".repeat(65)]});
    app.post("/api/v1/api-keys", &key)
        .problem(422, "validation_failed")
        .has_field_error("name", "too_long")
        .has_field_error("allowed_addresses", "too_long");
    let many: Vec<String> = (0..51).map(|i| format!("10.0.0.{i}")).collect();
    let key = json!({"department_id": "d", "name": "接口", "scopes": ["directory:read"],
        "allowed_addresses": many});
    app.post("/api/v1/api-keys", &key)
        .problem(422, "validation_failed")
        .has_field_error("allowed_addresses", "too_many");

    let organisation = json!({"parent_id": app.root_id, "kind": "county_federation",
        "name": "某县总工会", "region_code": "610724", "short_name": long(31)});
    app.post("/api/v1/organisations", &organisation)
        .problem(422, "validation_failed")
        .has_field_error("short_name", "too_long");

    // A sign-in beyond the limits is refused before any password is compared.
    let sign_in = json!({"username": "a", "password": "x".repeat(129)});
    app.post("/api/v1/auth/token", &sign_in)
        .problem(422, "validation_failed")
        .has_field_error("password", "too_long");
}

/// The opinion of a case keeps the limit it always had, now stated in the contract.
fn an_opinion_holds_at_most_2000_characters(w: &World) {
    let officer = w.person(Role::GrassrootsOfficer);
    let case = json!({"household_id": "h", "opinion": long(2001)});
    w.app
        .post_as(&officer.auth, "/api/v1/applications", &case)
        .problem(422, "validation_failed")
        .has_field_error("opinion", "too_long");
}

crate::on_both_backends!(TestApp: oversize_fields_are_refused_with_their_path);

mod in_the_world {
    use super::*;
    crate::on_both_backends!(World: an_opinion_holds_at_most_2000_characters);
}
