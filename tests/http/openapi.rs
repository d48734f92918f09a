//! The contract: `openapi/openapi.json` is what the server serves, and it documents everything.

use jiekun_api::error::ErrorCode;
use serde_json::Value;

use crate::common::{Backend, TestApp};

const SPEC_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");

/// Fails when the checked-in document differs from the generated one; `UPDATE_OPENAPI=1` (or
/// `make openapi`) rewrites it.
#[test]
fn checked_in_spec_is_fresh() {
    let generated = jiekun_api::openapi_json();
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(SPEC_FILE, &generated).expect("write openapi.json");
        return;
    }
    let on_disk = std::fs::read_to_string(SPEC_FILE).unwrap_or_default();
    assert!(
        on_disk == generated,
        "openapi/openapi.json is stale: run `make openapi` and commit the result"
    );
}

#[test]
fn served_spec_is_the_checked_in_one() {
    let app = TestApp::create(Backend::Sqlite).expect("app");
    let served = app.get("/api/v1/openapi.json").expect(200).body;
    let on_disk: Value =
        serde_json::from_str(&std::fs::read_to_string(SPEC_FILE).unwrap()).unwrap();
    assert_eq!(served, on_disk);
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));

    let docs = app.get("/docs/");
    assert_eq!(docs.status, 200);
    assert!(docs.text.contains("swagger-ui"), "Swagger UI is served");
    let redirect = app.send(app.client.get(app.url("/docs")));
    assert_eq!(redirect.status, 200, "/docs leads to the UI");
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

fn has_latin_words(s: &str) -> bool {
    s.split_whitespace()
        .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
        .count()
        >= 2
}

#[test]
fn every_operation_is_documented_in_both_languages() {
    let spec: Value = serde_json::from_str(&jiekun_api::openapi_json()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 8);
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let at = format!("{method} {path}");
            let summary = op["summary"].as_str().unwrap_or_default();
            let description = op["description"].as_str().unwrap_or_default();
            assert!(
                has_cjk(summary) && has_latin_words(summary),
                "{at}: summary in both languages: {summary:?}"
            );
            assert!(
                has_cjk(description) && has_latin_words(description),
                "{at}: description in both languages"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{at}: tagged"
            );
            for (status, response) in op["responses"].as_object().unwrap() {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{at} {status}"
                );
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{at} {status}: errors are problem+json"
                    );
                }
            }
        }
    }
    assert!(operations >= 14, "{operations} operations");
}

#[test]
fn every_error_code_is_in_the_spec() {
    let json = jiekun_api::openapi_json();
    let spec: Value = serde_json::from_str(&json).unwrap();
    let listed: Vec<&str> = spec["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode enum")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed, all);
    let description = spec["info"]["description"].as_str().unwrap();
    for code in ErrorCode::ALL {
        assert!(description.contains(&format!(
            "| `{}` | {} |",
            code.as_str(),
            code.status().as_u16()
        )));
    }
    // Every code an endpoint can answer with has an example.
    for code in [
        "malformed_json",
        "validation_failed",
        "precondition_failed",
        "precondition_required",
        "not_found",
        "already_exists",
        "payload_too_large",
        "unsupported_media_type",
    ] {
        assert!(
            json.contains(&format!("\"urn:jiekun:problem:{code}\"")),
            "{code} has an example"
        );
    }
}

/// The probes answer with their own schema, not a household member's health.
#[test]
fn probes_reference_their_own_schema() {
    let spec: Value = serde_json::from_str(&jiekun_api::openapi_json()).unwrap();
    for path in ["/healthz", "/readyz"] {
        let schema = &spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["$ref"];
        assert_eq!(schema, "#/components/schemas/HealthReport", "{path}");
    }
    let schemas = &spec["components"]["schemas"];
    assert!(schemas["HealthReport"]["properties"]["database"].is_object());
    assert!(
        schemas["Health"]["properties"]["illness"].is_object(),
        "Health is the member's health"
    );
}

/// Every list documents the paging limits the server enforces.
#[test]
fn paging_parameters_carry_the_enforced_limits() {
    let spec: Value = serde_json::from_str(&jiekun_api::openapi_json()).unwrap();
    let mut lists = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let schema = &p["schema"];
                match p["name"].as_str().unwrap() {
                    "limit" => {
                        lists += 1;
                        assert_eq!(schema["minimum"], 1, "{method} {path}");
                        assert_eq!(schema["maximum"], 200, "{method} {path}");
                        assert_eq!(schema["default"], 50, "{method} {path}");
                    }
                    "cursor" => {
                        assert_eq!(schema["maxLength"], 64, "{method} {path}");
                        assert_eq!(schema["pattern"], "^[A-Za-z0-9_-]{1,64}$");
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(lists >= 10, "{lists} lists");
    let page = &spec["components"]["schemas"]["PageOf_Household"]["properties"];
    assert!(page["total"].is_object(), "pages can carry a total");
}
