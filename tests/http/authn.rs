//! Signing in, throttles, sessions that end, and what an API key must satisfy.

use jiekun_domain::access::Role;
use serde_json::json;

use super::world::World;
use crate::common::{Auth, PASSWORD};

fn sign_in(w: &World, username: &str, password: &str) -> crate::common::Resp {
    w.app.post_as(
        &Auth::None,
        "/api/v1/auth/token",
        &json!({"username": username, "password": password}),
    )
}

fn signs_in_and_the_token_works(w: &World) {
    let r = sign_in(w, "county.admin", PASSWORD).expect(200);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let token = Auth::Bearer(r.body["access_token"].as_str().unwrap().to_owned());
    let me = w.app.get_as(&token, "/api/v1/auth/me").expect(200);
    assert_eq!(me.body["name"], "county.admin");
    assert_eq!(me.body["roles"], json!(["county_admin"]));
    assert_eq!(me.body["region_code"], "610724");
    // The username is not case-sensitive; the password is.
    sign_in(w, "County.Admin", PASSWORD).expect(200);
    sign_in(w, "county.admin", &PASSWORD.to_lowercase()).problem(401, "invalid_credentials");
    sign_in(w, "nobody.here", PASSWORD).problem(401, "invalid_credentials");
    w.app
        .post_as(&Auth::None, "/api/v1/auth/token", &json!({"username": "x"}))
        .problem(422, "validation_failed")
        .has_field_error("password", "required");
}

fn brute_force_is_throttled(w: &World) {
    // The test server allows 3 failures per username and address and 6 per address, then makes
    // the next attempt wait (5 s, doubling).
    for _ in 0..3 {
        sign_in(w, "reviewer", "wrong-password-1").problem(401, "invalid_credentials");
    }
    let r = sign_in(w, "reviewer", PASSWORD).problem(429, "rate_limited");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Other users from the same address still get in, until the address is used up too.
    sign_in(w, "approver", PASSWORD).expect(200);
    for _ in 0..3 {
        sign_in(w, "auditor", "wrong-password-2").problem(401, "invalid_credentials");
    }
    sign_in(w, "sysadmin", PASSWORD).problem(429, "rate_limited");
    // Failures are in the audit log.
    let events = w
        .app
        .get("/api/v1/audit/events?action=auth.login&outcome=failure")
        .expect(200);
    assert!(events.body["items"].as_array().unwrap().len() >= 6);
}

fn locked_and_disabled_users_cannot_sign_in(w: &World) {
    let admin = &w.person(Role::CountyAdmin).auth;
    let target = &w.target_xx;
    let path = format!("/api/v1/users/{}", target.id);
    let etag = w.app.get_as(admin, &path).expect(200).etag();
    w.app.get_as(&target.auth, "/api/v1/auth/me").expect(200);
    let locked = w.app.send_as(
        admin,
        w.app
            .client
            .patch(w.app.url(&path))
            .header("If-Match", etag)
            .json(&json!({"status": "locked"})),
    );
    assert_eq!(locked.expect(200).body["status"], "locked");
    sign_in(w, "target.xx", PASSWORD).problem(403, "account_unavailable");
    // Locking ends the sessions the user already had.
    w.app
        .get_as(&target.auth, "/api/v1/auth/me")
        .problem(401, "unauthenticated");
    // A county admin cannot lock themselves out, nor touch a city-level account.
    let me = &w.person(Role::CountyAdmin);
    let own = format!("/api/v1/users/{}", me.id);
    let etag = w.app.get_as(admin, &own).expect(200).etag();
    w.app
        .send_as(
            admin,
            w.app
                .client
                .patch(w.app.url(&own))
                .header("If-Match", etag)
                .json(&json!({"status": "disabled"})),
        )
        .problem(403, "forbidden");
    let city = format!("/api/v1/users/{}", w.person(Role::CityApprover).id);
    w.app.get_as(admin, &city).problem(404, "not_found");
}

fn password_changes_end_old_tokens(w: &World) {
    let me = w.person(Role::Auditor);
    let path = format!("/api/v1/users/{}/password", me.id);
    w.app
        .post_as(
            &me.auth,
            &path,
            &json!({"new_password": "New-Password-2026"}),
        )
        .problem(422, "validation_failed")
        .has_field_error("current_password", "required");
    w.app
        .post_as(
            &me.auth,
            &path,
            &json!({"current_password": "wrong", "new_password": "New-Password-2026"}),
        )
        .problem(422, "validation_failed")
        .has_field_error("current_password", "mismatch");
    w.app
        .post_as(
            &me.auth,
            &path,
            &json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .problem(422, "validation_failed")
        .has_field_error("new_password", "weak_password");
    w.app
        .post_as(
            &me.auth,
            &path,
            &json!({"current_password": PASSWORD, "new_password": "New-Password-2026"}),
        )
        .expect(204);
    w.app
        .get_as(&me.auth, "/api/v1/auth/me")
        .problem(401, "unauthenticated");
    sign_in(w, "auditor", PASSWORD).problem(401, "invalid_credentials");
    sign_in(w, "auditor", "New-Password-2026").expect(200);
}

fn roles_cannot_be_escalated(w: &World) {
    let admin = &w.person(Role::CountyAdmin).auth;
    let body = |roles: serde_json::Value, org: &str, name: &str| json!({"organisation_id": org, "username": name, "display_name": "甲", "password": "Another-Secret-77", "roles": roles});
    w.app
        .post_as(
            admin,
            "/api/v1/users",
            &body(json!(["system_admin"]), &w.xixiang, "xx1"),
        )
        .problem(403, "forbidden");
    w.app
        .post_as(
            admin,
            "/api/v1/users",
            &body(json!(["auditor"]), &w.xixiang, "xx2"),
        )
        .problem(403, "forbidden");
    w.app
        .post_as(
            admin,
            "/api/v1/users",
            &body(json!(["grassroots_officer"]), &w.xixiang, "xx3"),
        )
        .problem(422, "validation_failed")
        .has_field_error("roles", "role_does_not_fit_organisation");
    w.app
        .post_as(admin, "/api/v1/users", &body(json!([]), &w.xixiang, "xx4"))
        .problem(422, "validation_failed");
    let made = w
        .app
        .post_as(
            admin,
            "/api/v1/users",
            &body(json!(["county_reviewer"]), &w.xixiang, "xx5"),
        )
        .expect(201);
    assert_eq!(made.body["roles"], json!(["county_reviewer"]));
    assert!(!made.text.contains("password"), "no hash in answers");
    w.app
        .post_as(
            admin,
            "/api/v1/users",
            &body(json!(["county_reviewer"]), &w.xixiang, "xx5"),
        )
        .problem(409, "already_exists");
}

fn api_keys_are_shown_once_and_obey_their_limits(w: &World) {
    let admin = &w.person(Role::CountyAdmin).auth;
    let created = w
        .app
        .post_as(admin, "/api/v1/api-keys", &json!({"department_id": w.dept_xx, "name": "人社核对", "scopes": ["directory:read"], "rate_limit_per_minute": 3}))
        .expect(201);
    let key = created.body["key"].as_str().unwrap().to_owned();
    let id = created.body["api_key"]["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with(created.body["api_key"]["prefix"].as_str().unwrap()));
    assert!(created.body["api_key"]["last_used_at"].is_null());
    let read = w
        .app
        .get_as(admin, &format!("/api/v1/api-keys/{id}"))
        .expect(200);
    assert!(
        !read.text.contains(&key[16..]),
        "the secret is never shown again"
    );
    // The list counts what it pages: the world's keys of 西乡县 (one revoked) and this one.
    let total = |q: &str| {
        w.app
            .get_as(admin, &format!("/api/v1/api-keys?{q}count=true&limit=1"))
            .expect(200)
            .body["total"]
            .as_u64()
            .unwrap()
    };
    let listed = w.app.list_all_as(admin, "/api/v1/api-keys", 2).len() as u64;
    assert_eq!(total(""), listed);
    assert_eq!(
        total("active=false&"),
        w.app
            .list_all_as(admin, "/api/v1/api-keys?active=false", 2)
            .len() as u64
    );
    assert!(total("active=false&") >= 1 && total("") > total("active=false&"));

    // Both header forms work; the fourth request in a minute is refused.
    w.app
        .get_as(&Auth::ApiKey(key.clone()), "/api/v1/organisations")
        .expect(200);
    w.app
        .send_as(
            &Auth::None,
            w.app
                .client
                .get(w.app.url("/api/v1/departments"))
                .header("X-Api-Key", &key),
        )
        .expect(200);
    w.app
        .get_as(&Auth::ApiKey(key.clone()), "/api/v1/enterprises")
        .expect(200);
    let r = w
        .app
        .get_as(&Auth::ApiKey(key.clone()), "/api/v1/organisations")
        .problem(429, "rate_limited");
    assert!(r.header("retry-after").is_some());
    let used = w
        .app
        .get_as(admin, &format!("/api/v1/api-keys/{id}"))
        .expect(200);
    assert!(used.body["last_used_at"].is_string(), "last use recorded");

    // Revocation is immediate.
    let fresh = w
        .app
        .post_as(
            admin,
            "/api/v1/api-keys",
            &json!({"department_id": w.dept_xx, "name": "即将吊销", "scopes": ["directory:read"]}),
        )
        .expect(201);
    let fresh_key = Auth::ApiKey(fresh.body["key"].as_str().unwrap().to_owned());
    w.app
        .get_as(&fresh_key, "/api/v1/organisations")
        .expect(200);
    let fid = fresh.body["api_key"]["id"].as_str().unwrap();
    let revoked = w
        .app
        .post_as(
            admin,
            &format!("/api/v1/api-keys/{fid}/revoke"),
            &json!(null),
        )
        .expect(200);
    assert!(revoked.body["revoked_at"].is_string());
    w.app
        .get_as(&fresh_key, "/api/v1/organisations")
        .problem(401, "unauthenticated");

    // An address allow-list that does not hold 127.0.0.1, and a window that has not begun.
    let fenced = w
        .app
        .post_as(admin, "/api/v1/api-keys", &json!({"department_id": w.dept_xx, "name": "内网", "scopes": ["directory:read"], "allowed_addresses": ["10.20.0.0/16"]}))
        .expect(201);
    w.app
        .get_as(
            &Auth::ApiKey(fenced.body["key"].as_str().unwrap().into()),
            "/api/v1/organisations",
        )
        .problem(403, "forbidden");
    let future = w
        .app
        .post_as(admin, "/api/v1/api-keys", &json!({"department_id": w.dept_xx, "name": "未生效", "scopes": ["directory:read"], "valid_from": "2099-01-01T00:00:00Z"}))
        .expect(201);
    w.app
        .get_as(
            &Auth::ApiKey(future.body["key"].as_str().unwrap().into()),
            "/api/v1/organisations",
        )
        .problem(401, "unauthenticated");
    // Bad key requests are named.
    w.app.post_as(admin, "/api/v1/api-keys", &json!({"department_id": w.dept_xx, "name": "x", "scopes": [], "allowed_addresses": ["10.0.0.0/99"], "rate_limit_per_minute": 0}))
        .problem(422, "validation_failed")
        .has_field_error("scopes", "required")
        .has_field_error("allowed_addresses", "invalid_format")
        .has_field_error("rate_limit_per_minute", "out_of_range");
    w.app
        .post_as(
            admin,
            "/api/v1/api-keys",
            &json!({"department_id": w.dept_xx, "name": "x", "scopes": ["everything"]}),
        )
        .problem(422, "validation_failed");
    // A made-up key of the right shape, and garbage.
    let last = if key.ends_with('A') { 'B' } else { 'A' };
    let fake = format!("{}{last}", &key[..key.len() - 1]);
    w.app
        .get_as(&Auth::ApiKey(fake), "/api/v1/organisations")
        .problem(401, "unauthenticated");
    w.app
        .get_as(&Auth::ApiKey("nonsense".into()), "/api/v1/organisations")
        .problem(401, "unauthenticated");
    w.app
        .send_as(
            &Auth::None,
            w.app
                .client
                .get(w.app.url("/api/v1/organisations"))
                .header("Authorization", "Basic abc"),
        )
        .problem(401, "unauthenticated");
}

crate::on_both_backends!(World:
    signs_in_and_the_token_works,
    brute_force_is_throttled,
    locked_and_disabled_users_cannot_sign_in,
    password_changes_end_old_tokens,
    roles_cannot_be_escalated,
    api_keys_are_shown_once_and_obey_their_limits,
);
