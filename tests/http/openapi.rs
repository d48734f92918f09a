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

/// The whole contract cites the policy by its
/// title and clause, and names no internal file, design section or code item.
#[test]
fn the_contract_names_nothing_internal() {
    let spec: Value = serde_json::from_str(&jiekun_api::openapi_json()).unwrap();
    // The whole document: every operation, schema and description.
    let text = spec.to_string();
    for internal in [
        "seed", "DESIGN", "§", "[`", "crate::", "jiekun_", ".rs", "::",
    ] {
        let at: Vec<&str> = text
            .match_indices(internal)
            .map(|(i, _)| text.get(i.saturating_sub(60)..i + 40).unwrap_or(internal))
            .collect();
        assert!(at.is_empty(), "the document says {internal:?}: {at:?}");
    }
    assert!(text.contains("《实施方案》二(一)"));
    assert!(text.contains("《实施方案》二(二)"));
}

/// A parameter's value is documented as what it is — a whole number, true or false, a
/// comparator or a list — with every parameter named under its type; never as an object.
#[test]
fn parameter_values_are_documented_as_what_they_are() {
    let spec: Value = serde_json::from_str(&jiekun_api::openapi_json()).unwrap();
    let schemas = &spec["components"]["schemas"];
    let values = [
        &schemas["PolicyParameter"]["properties"]["value"],
        &schemas["ResolvedParameter"]["properties"]["value"],
        &schemas["NewParameter"]["properties"]["value"],
        &schemas["Simulation"]["properties"]["parameters"]["additionalProperties"],
    ];
    for value in values {
        let options = value["anyOf"].as_array().expect("anyOf");
        let types: Vec<&str> = options
            .iter()
            .map(|o| o["type"].as_str().unwrap())
            .collect();
        for t in ["integer", "boolean", "string", "array"] {
            assert!(types.contains(&t), "{t} in {types:?}");
        }
        assert!(!types.contains(&"object"), "{value}");
        for key in jiekun_domain::rules::ParamKey::ALL {
            let under: Vec<_> = options
                .iter()
                .filter(|o| {
                    o["description"]
                        .as_str()
                        .unwrap()
                        .split([':', ',', ' '])
                        .any(|w| w == key.as_str())
                })
                .collect();
            assert_eq!(under.len(), 1, "{} is named under one type", key.as_str());
        }
    }
}

/// A field of `schema` documented as the closed list `T`: a string enum of its codes, every code
/// described in English and Chinese.
fn is_closed_list<T: jiekun_domain::closed::ClosedList>(spec: &Value, schema: &str, field: &str) {
    let whole = &spec["components"]["schemas"][schema];
    let parts = whole["allOf"].as_array().cloned().unwrap_or_default();
    let mut f = std::iter::once(whole)
        .chain(parts.iter())
        .map(|p| &p["properties"][field])
        .find(|f| !f.is_null())
        .unwrap_or(&Value::Null);
    if f["type"] == "array" {
        f = &f["items"];
    }
    let listed: Vec<&str> = f["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{schema}.{field} is an enum: {f}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(listed, T::codes(), "{schema}.{field}");
    let description = f["description"].as_str().unwrap_or_default();
    for v in T::values() {
        assert!(
            description.contains(&format!(
                "`{}`: {} · {}",
                v.code(),
                v.meaning_en(),
                v.meaning_zh()
            )),
            "{schema}.{field} says what {} means in both languages",
            v.code()
        );
    }
}

#[test]
fn closed_lists_are_enums_that_say_what_each_value_means() {
    use jiekun_domain::calendar::DayKind;
    use jiekun_domain::household::{Category, HouseholdStatus};
    use jiekun_domain::rules::{ExitVerdict, ParamKey, Verdict};
    use jiekun_domain::workflow::*;
    let spec: Value = serde_json::from_str(&jiekun_api::openapi_json()).unwrap();
    let s = &spec;
    is_closed_list::<FilingState>(s, "Application", "state");
    is_closed_list::<FilingAction>(s, "Application", "allowed_actions");
    is_closed_list::<FilingAction>(s, "ApplicationStep", "action");
    is_closed_list::<Category>(s, "Application", "category");
    is_closed_list::<FilingState>(s, "ApplicationItem", "state");
    is_closed_list::<ExitState>(s, "ExitCase", "state");
    is_closed_list::<ExitAction>(s, "ExitCase", "allowed_actions");
    is_closed_list::<ExitAction>(s, "ExitStep", "action");
    is_closed_list::<ExitGrounds>(s, "ExitCase", "grounds");
    is_closed_list::<ExitGrounds>(s, "NewExitCase", "grounds");
    is_closed_list::<CaseOrigin>(s, "ExitCase", "origin");
    is_closed_list::<ExitGrounds>(s, "ExitCaseItem", "grounds");
    is_closed_list::<HouseholdStatus>(s, "HouseholdTimeline", "status");
    is_closed_list::<TimelineSubject>(s, "TimelineEntryOf", "subject_kind");
    is_closed_list::<NoticeStatus>(s, "NoticeSummary", "status");
    is_closed_list::<Verdict>(s, "AnnualReview", "verdict");
    is_closed_list::<ReviewOutcome>(s, "AnnualReview", "outcome");
    is_closed_list::<QueueKind>(s, "QueueItem", "kind");
    is_closed_list::<NoticeKind>(s, "PublicNotice", "kind");
    is_closed_list::<NoticeStatus>(s, "PublicNotice", "status");
    is_closed_list::<ObjectionChannel>(s, "Objection", "channel");
    is_closed_list::<ObjectionChannel>(s, "NewObjection", "channel");
    is_closed_list::<ObjectionStatus>(s, "Objection", "status");
    is_closed_list::<ObjectionOutcome>(s, "Resolution", "outcome");
    is_closed_list::<DayKind>(s, "CalendarDay", "kind");
    is_closed_list::<DayKind>(s, "CalendarDayIn", "kind");
    is_closed_list::<ParamKey>(s, "PolicyParameter", "key");
    is_closed_list::<ParamKey>(s, "NewParameter", "key");
    is_closed_list::<Verdict>(s, "ReturnWarning", "verdict");
    is_closed_list::<ExitVerdict>(s, "ExitCandidate", "verdict");
    is_closed_list::<Verdict>(s, "SimulatedChange", "proposed");
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

/// No closed list is left as free text: every property or parameter whose name is one of the
/// programme's closed lists is an `enum` (directly, through a reference, in its items, or as one
/// of its alternatives), and every enum schema says what its values mean.
#[test]
fn closed_lists_are_never_free_text() {
    let spec: Value = serde_json::from_str(&jiekun_api::openapi_json()).unwrap();
    let schemas = &spec["components"]["schemas"];
    const CLOSED: &[&str] = &[
        "relation",
        "sex",
        "work_status",
        "housing_type",
        "kind",
        "status",
        "category",
        "level",
        "disability_type",
        "state",
        "action",
        "grounds",
        "outcome",
        "channel",
        "verdict",
        "roles",
        "role",
        "scopes",
        "union_type",
        "code",
        "department_code",
        "main_cause",
        "secondary_causes",
        "resolved_causes",
        "origin",
        "allowed_actions",
        "from_state",
        "to_state",
        "subject",
    ];
    // Fields of these names that are not closed lists, and why.
    const FREE: &[(&str, &str)] = &[
        ("FieldError", "code"), // the field problem's code: documented per field rule
        ("Problem", "code"),    // a `$ref` to ErrorCode in the problem itself
        ("Problem", "status"),  // the HTTP status number
        ("HealthReport", "status"),
        ("Readiness", "status"),
        // Audit event names (`household.update`, `auth.login`, …) grow with every resource; the
        // log stores what was done, not a list the contract closes.
        ("AuditEvent", "action"),
    ];
    fn is_enum(schemas: &Value, s: &Value) -> bool {
        if s["enum"].is_array() {
            return true;
        }
        if let Some(r) = s["$ref"].as_str() {
            return is_enum(schemas, &schemas[r.rsplit('/').next().unwrap()]);
        }
        if s["items"].is_object() {
            return is_enum(schemas, &s["items"]);
        }
        for alt in ["oneOf", "anyOf", "allOf"] {
            if let Some(xs) = s[alt].as_array() {
                let typed: Vec<&Value> = xs.iter().filter(|x| x["type"] != "null").collect();
                return !typed.is_empty() && typed.iter().all(|x| is_enum(schemas, x));
            }
        }
        false
    }
    let mut free_text = Vec::new();
    for (name, schema) in schemas.as_object().unwrap() {
        if let Some(e) = schema["enum"].as_array() {
            let text = schema["description"].as_str().unwrap_or_default();
            if !e.is_empty() && text.is_empty() {
                free_text.push(format!("{name}: an enum without meanings"));
            }
        }
        let Some(props) = schema["properties"].as_object() else {
            continue;
        };
        for (field, s) in props {
            if CLOSED.contains(&field.as_str())
                && !FREE.contains(&(name.as_str(), field.as_str()))
                && !is_enum(schemas, s)
                && s["type"] != "integer"
                && s["type"] != "object"
            {
                free_text.push(format!("{name}.{field}"));
            }
        }
    }
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let field = p["name"].as_str().unwrap_or_default();
                let audit_name = path == "/api/v1/audit/events" && field == "action";
                if p["in"] == "query"
                    && CLOSED.contains(&field)
                    && !audit_name
                    && !is_enum(schemas, &p["schema"])
                {
                    free_text.push(format!("{method} {path} ?{field}"));
                }
            }
        }
    }
    assert!(
        free_text.is_empty(),
        "closed lists left as free text:\n{}",
        free_text.join("\n")
    );
}

/// Every `$ref` of the document points at a component it defines: a dangling reference makes
/// the whole contract unusable to code generators and to contract fuzzing.
#[test]
fn every_reference_resolves() {
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let spec: Value = serde_json::from_str(&jiekun_api::openapi_json()).unwrap();
    let mut refs = Vec::new();
    walk(&spec, &mut refs);
    assert!(!refs.is_empty());
    let dangling: Vec<&str> = refs
        .into_iter()
        .filter(|r| {
            let path = r.trim_start_matches("#/").split('/');
            let mut node = &spec;
            for part in path {
                match node.get(part) {
                    Some(n) => node = n,
                    None => return true,
                }
            }
            false
        })
        .collect();
    assert!(dangling.is_empty(), "references to nothing: {dangling:?}");
}
