//! Every request body the contract documents is one the API accepts: each operation's example,
//! with the documented placeholder ids replaced by real ones, is sent by a caller allowed to send
//! it, against a fresh server, and must get the documented success.

use jiekun_domain::access::Role;
use serde_json::Value;

use super::authz::{recipe, Target};
use super::world::World;

/// How every documented placeholder id begins.
const PLACEHOLDER: &str = "01900000-0000-7000-8000-";

/// The example of a request body: on the media type, or on the schema it references.
fn example_of(spec: &Value, op: &Value) -> Option<Value> {
    let media = &op["requestBody"]["content"]["application/json"];
    if !media["example"].is_null() {
        return Some(media["example"].clone());
    }
    let schema = &media["schema"];
    let named = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next());
    let schema = match named {
        Some(name) => &spec["components"]["schemas"][name],
        None => schema,
    };
    (!schema["example"].is_null()).then(|| schema["example"].clone())
}

/// Replaces the documented placeholder ids with the fixture's own.
fn with_real_ids(w: &World, example: &Value) -> Value {
    let text = example
        .to_string()
        .replace(jiekun_api::examples::GRASSROOTS_UNION_ID, &w.chengguan)
        .replace(jiekun_api::examples::ENTERPRISE_ID, &w.ent_xx)
        .replace(jiekun_api::examples::COUNTY_FEDERATION_ID, &w.xixiang)
        .replace(jiekun_api::examples::DEPARTMENT_ID, &w.dept_xx);
    serde_json::from_str(&text).unwrap()
}

/// The first `member_id` anywhere in a request body.
fn member_in(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) => m
            .get("member_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| m.values().find_map(member_in)),
        Value::Array(a) => a.iter().find_map(member_in),
        _ => None,
    }
}

fn every_documented_example_is_accepted(_: &World) {
    let spec: Value = serde_json::from_str(&jiekun_api::openapi_json()).unwrap();
    let mut failures = Vec::new();
    let mut sent = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["requestBody"].is_null() {
                continue;
            }
            let id = op["operationId"].as_str().unwrap();
            // A file upload (an exchange answer file) has no JSON example: its own tests send it.
            if op["requestBody"]["content"]["application/json"].is_null() {
                continue;
            }
            let Some(example) = example_of(&spec, op) else {
                failures.push(format!("{method} {path} ({id}): no example"));
                continue;
            };
            // A fresh server for each example, so that no earlier one is in its way.
            let backend = current_backend();
            let Some(w) = World::create(backend) else {
                return;
            };
            if id == "sign_in" {
                // The demo's administrator: made here with the documented name and password.
                let user = serde_json::json!({"organisation_id": w.xixiang, "username": example["username"], "display_name": "示例",
                    "password": example["password"], "roles": ["county_admin"]});
                w.app
                    .post_as(&w.person(Role::SystemAdmin).auth, "/api/v1/users", &user)
                    .expect(201);
                let got = w.app.post("/api/v1/auth/token", &example);
                sent += 1;
                if got.status != 200 {
                    failures.push(format!(
                        "sign_in: example refused: {} {}",
                        got.status, got.text
                    ));
                }
                continue;
            }
            let Some(c) = recipe(&w, id, Target::Own) else {
                failures.push(format!("{id}: no recipe in the authorisation table"));
                continue;
            };
            let mut body = with_real_ids(&w, &example);
            // A member of the household the table's request names.
            if let Some(member) = c.body.as_ref().and_then(member_in) {
                body = serde_json::from_str(
                    &body
                        .to_string()
                        .replace(jiekun_api::examples::MEMBER_ID, &member),
                )
                .unwrap();
            }
            // Ids of records in a particular state (a draft household, a fresh assessment) are
            // the ones the authorisation table's own request uses.
            if let (Some(fields), Some(own)) = (body.as_object_mut(), c.body.as_ref()) {
                for (k, v) in fields.iter_mut() {
                    if v.as_str().is_some_and(|s| s.starts_with(PLACEHOLDER))
                        && !own[k.as_str()].is_null()
                    {
                        *v = own[k.as_str()].clone();
                    }
                }
            }
            let mut statuses = Vec::new();
            let callers = [
                Role::GrassrootsOfficer,
                Role::CountyReviewer,
                Role::CountyAdmin,
                Role::CityApprover,
                Role::SystemAdmin,
            ];
            // Operations only departments call are sent with a key of the right scope.
            let mut auths: Vec<(String, crate::common::Auth)> = callers
                .iter()
                .map(|r| (format!("{r:?}"), w.person(*r).auth.clone()))
                .collect();
            auths.push(("key".into(), w.key(&w.key_verify)));
            let accepted = auths.iter().any(|(role, auth)| {
                let m = reqwest::Method::from_bytes(c.method.as_bytes()).unwrap();
                let mut req = w.app.client.request(m, w.app.url(&c.path));
                if let Some(read) = &c.if_match {
                    let current = w.app.get_as(&w.person(Role::CityApprover).auth, read);
                    let current = if current.status == 200 {
                        current
                    } else {
                        w.app.get(read)
                    };
                    req = req.header("If-Match", current.etag());
                }
                let got = w.app.send_as(auth, req.json(&body));
                statuses.push(format!("{role} {} {}", got.status, got.text));
                sent += 1;
                // Where the table's own request meets a case in a state that refuses the step
                // (409), the example must get the same answer: its shape was accepted.
                got.status.as_u16() == c.success && got.body["code"] != "validation_failed"
            });
            if !accepted {
                failures.push(format!(
                    "{id}: example {body} refused:\n  {}",
                    statuses.join("\n  ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} examples not accepted:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(sent > 0);
}

thread_local! {
    static BACKEND: std::cell::Cell<Option<crate::common::Backend>> = const { std::cell::Cell::new(None) };
}

fn current_backend() -> crate::common::Backend {
    BACKEND.with(|b| b.get()).expect("backend set by the test")
}

fn on(backend: crate::common::Backend) {
    let Some(w) = World::create(backend) else {
        return;
    };
    BACKEND.with(|b| b.set(Some(backend)));
    every_documented_example_is_accepted(&w);
}

#[test]
fn sqlite_every_documented_example_is_accepted() {
    on(crate::common::Backend::Sqlite);
}

#[test]
fn postgres_every_documented_example_is_accepted() {
    on(crate::common::Backend::Postgres);
}
