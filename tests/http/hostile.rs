//! Hostile input at the edge: characters no database should see, JSON that is not quite JSON,
//! shapes read by position, forged versions and tokens, floods of sign-ins, oversized requests.
//! Every refusal is problem+json with a stable code, and nothing is written.

use jiekun_domain::access::Role;
use serde_json::{json, Value};

use super::households::family;
use super::world::World;
use crate::common::{Auth, Resp};

fn officer(w: &World) -> &Auth {
    &w.person(Role::GrassrootsOfficer).auth
}

fn household_path(w: &World) -> String {
    format!("/api/v1/households/{}", w.hh_xx.id)
}

/// The household as it is now: body and ETag.
fn household_now(w: &World) -> (Value, String) {
    let r = w.app.get_as(officer(w), &household_path(w)).expect(200);
    let etag = r.etag();
    (r.body, etag)
}

fn household_count(w: &World) -> usize {
    w.app
        .list_all_as(
            &w.person(Role::CityApprover).auth,
            "/api/v1/households",
            200,
        )
        .len()
}

/// A raw request body with a content type, as `auth`.
fn raw_as(
    w: &World,
    auth: &Auth,
    method: &str,
    path: &str,
    etag: Option<&str>,
    body: &[u8],
) -> Resp {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = w
        .app
        .client
        .request(method, w.app.url(path))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(e) = etag {
        req = req.header("If-Match", e);
    }
    w.app.send_as(auth, req)
}

fn nul_and_invisible_characters_are_refused_on_both_databases(w: &World) {
    let before = household_now(w);
    let count = household_count(w);

    // Sign-in, without credentials: a NUL in the username is a field error, not a server error.
    w.app
        .post_as(
            &Auth::None,
            "/api/v1/auth/token",
            &json!({"username": "a\u{0}b", "password": "x"}),
        )
        .problem(422, "validation_failed")
        .has_field_error("username", "invalid_character");
    // Path parameters, percent-encoded or as raw UTF-8, are named by the route's name for them.
    let r = w
        .app
        .send_as(
            &Auth::None,
            w.app.client.get(w.app.url("/api/v1/public-notices/x%00")),
        )
        .problem(400, "invalid_parameter");
    r.has_field_error("id", "invalid_character");
    assert!(r.body["detail_zh"].as_str().unwrap().contains("id"));
    for path in [
        format!("{}%00", household_path(w)),
        format!("{}%E2%80%AE", household_path(w)),
        format!("{}%0A", household_path(w)),
        format!("{}%7F", household_path(w)),
        format!("{}%C2%85", household_path(w)),
    ] {
        w.app
            .get_as(officer(w), &path)
            .problem(400, "invalid_parameter")
            .has_field_error("id", "invalid_character");
    }
    raw_as(
        w,
        officer(w),
        "DELETE",
        &format!("{}/incomes/x%00y", household_path(w)),
        None,
        b"",
    )
    .problem(400, "invalid_parameter")
    .has_field_error("income_id", "invalid_character");
    w.app
        .get_as(officer(w), &format!("{}%FF", household_path(w)))
        .problem(400, "invalid_parameter")
        .has_field_error("id", "invalid_encoding");
    // Query values and names.
    for (query, field) in [
        ("organisation_id=x%00", "organisation_id"),
        ("region_code=6107%E2%80%8B24", "region_code"),
        ("status=draft%09", "status"),
        ("category=%EF%BB%BFdeep", "category"),
        ("lim%00it=5", "lim\\u{0}it"),
    ] {
        w.app
            .get_as(officer(w), &format!("/api/v1/households?{query}"))
            .problem(400, "invalid_parameter")
            .has_field_error(field, "invalid_character");
    }
    // JSON strings and keys, named by their path; ids in bodies too.
    let mut body = family(w, &complete_id(1));
    body["members"][1]["name"] = json!("李\u{202e}秀英");
    body["organisation_id"] = json!(format!("{}\u{0}", w.chengguan));
    let r = w
        .app
        .post_as(officer(w), "/api/v1/households", &body)
        .problem(422, "validation_failed");
    r.has_field_error("members[1].name", "invalid_character")
        .has_field_error("organisation_id", "invalid_character");
    let zh = r.body["errors"][0]["message_zh"].as_str().unwrap();
    assert!(zh.contains("控制字符") && zh.contains("U+"), "{zh}");
    w.app
        .post_as(
            officer(w),
            "/api/v1/households/search",
            &json!({"national_id": "6107\u{0}"}),
        )
        .problem(422, "validation_failed")
        .has_field_error("national_id", "invalid_character");
    w.app
        .post_as(
            officer(w),
            "/api/v1/applications",
            &json!({"household_id": format!("{}\u{0}", w.hh_xx.id)}),
        )
        .problem(422, "validation_failed")
        .has_field_error("household_id", "invalid_character");
    raw_as(
        w,
        officer(w),
        "PATCH",
        &household_path(w),
        Some(&before.1),
        "{\"addr\\u0000ess\": \"东大街1号\"}".as_bytes(),
    )
    .problem(422, "validation_failed")
    .has_field_error("addr\\u{0}ess", "invalid_character");
    w.app
        .patch_as(
            officer(w),
            &household_path(w),
            &before.1,
            &json!({"address": "东大街\u{200b}1号"}),
        )
        .problem(422, "validation_failed")
        .has_field_error("address", "invalid_character");

    assert_eq!(household_now(w), before, "nothing changed");
    assert_eq!(household_count(w), count, "nothing was filed");
}

/// A valid identity number of 西乡县 that no seeded member has.
fn complete_id(n: u32) -> String {
    jiekun_domain::national_id::complete(&format!("61072419750101{:03}", 700 + n))
}

fn json_must_be_one_value_of_the_documented_shape(w: &World) {
    let before = household_now(w);
    let count = household_count(w);
    let path = household_path(w);

    // Trailing garbage after the value.
    raw_as(
        w,
        officer(w),
        "PATCH",
        &path,
        Some(&before.1),
        "{\"address\":\"东大街1号\"} this is not JSON".as_bytes(),
    )
    .problem(400, "malformed_json");
    raw_as(
        w,
        officer(w),
        "PATCH",
        &path,
        Some(&before.1),
        "{\"address\":\"东大街1号\"}{}".as_bytes(),
    )
    .problem(400, "malformed_json");
    // Arrays where objects are documented, at the top and nested.
    raw_as(w, officer(w), "PATCH", &path, Some(&before.1), b"[\"x\"]")
        .problem(422, "validation_failed")
        .has_field_error("", "invalid_type");
    raw_as(
        w,
        officer(w),
        "PATCH",
        &path,
        Some(&before.1),
        br#"{"assets": [9, 999.0]}"#,
    )
    .problem(422, "validation_failed")
    .has_field_error("assets", "invalid_type");
    let mut body = family(w, &complete_id(2));
    body["assets"] = json!([9, 999.0]);
    w.app
        .post_as(officer(w), "/api/v1/households", &body)
        .problem(422, "validation_failed")
        .has_field_error("assets", "invalid_type");
    let mut body = family(w, &complete_id(3));
    body["members"][0]["health"] = json!(["healthy"]);
    w.app
        .post_as(officer(w), "/api/v1/households", &body)
        .problem(422, "validation_failed")
        .has_field_error("members[0].health", "invalid_type");

    // Numbers past any range, integers past i64, nesting past 128 levels.
    raw_as(
        w,
        officer(w),
        "PATCH",
        &path,
        Some(&before.1),
        br#"{"housing_area_m2": 1e400}"#,
    )
    .problem(400, "malformed_json");
    let r = raw_as(
        w,
        officer(w),
        "PATCH",
        &path,
        Some(&before.1),
        br#"{"assets": {"homes_count": 99999999999999999999}}"#,
    )
    .problem(422, "validation_failed");
    r.has_field_error("assets.homes_count", "invalid_type");
    let zh = r.body["errors"][0]["message_zh"].as_str().unwrap();
    assert!(zh.contains("应为整数") && zh.contains("小数"), "{zh}");
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    raw_as(
        w,
        officer(w),
        "PATCH",
        &path,
        Some(&before.1),
        deep.as_bytes(),
    )
    .problem(400, "malformed_json");
    let deep_object = format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200));
    raw_as(
        w,
        officer(w),
        "PATCH",
        &path,
        Some(&before.1),
        deep_object.as_bytes(),
    )
    .problem(400, "malformed_json");

    // An unknown value names itself and the allowed ones in both languages.
    let r = w
        .app
        .patch_as(
            officer(w),
            &path,
            &before.1,
            &json!({"housing_type": "castle"}),
        )
        .problem(422, "validation_failed");
    r.has_field_error("housing_type", "invalid_value");
    let e = &r.body["errors"][0];
    for text in [
        e["message"].as_str().unwrap(),
        e["message_zh"].as_str().unwrap(),
    ] {
        assert!(
            text.contains("castle") && text.contains("private_rental"),
            "{text}"
        );
    }
    let r = w
        .app
        .patch_as(officer(w), &path, &before.1, &json!({"main_cause": "six"}))
        .problem(422, "validation_failed");
    let zh = r.body["errors"][0]["message_zh"].as_str().unwrap();
    assert!(zh.contains("非负整数") && zh.contains("six"), "{zh}");
    let r = w
        .app
        .patch_as(officer(w), &path, &before.1, &json!({"adress": "x"}))
        .problem(422, "validation_failed");
    let zh = r.body["errors"][0]["message_zh"].as_str().unwrap();
    assert!(zh.contains("adress") && zh.contains("address"), "{zh}");

    assert_eq!(household_now(w), before, "nothing changed");
    assert_eq!(household_count(w), count, "nothing was filed");
}

/// An ETag is compared as the string it is: `"01"` or `"+1"` is not version 1's.
fn if_match_takes_only_the_etag_as_written(w: &World) {
    let (body, etag) = household_now(w);
    let version = etag.trim_matches('"').to_owned();
    let path = household_path(w);
    let change = json!({"address": "西乡县城关镇南街3号"});
    for tag in [
        format!("\"0{version}\""),
        format!("\"+{version}\""),
        format!("\"-{version}\""),
        format!("\" {version}\""),
        format!("\"{version} \""),
        format!("\"{version}.0\""),
        format!("\"0x{version}\""),
        format!("W/\"{version}\""),
        version.clone(),
        "\"\"".to_owned(),
        "\"0\"".to_owned(),
        "\"99999999999999999999\"".to_owned(),
        "*".to_owned(),
    ] {
        w.app
            .patch_as(officer(w), &path, &tag, &change)
            .problem(400, "invalid_parameter")
            .has_field_error("If-Match", "invalid_format");
    }
    assert_eq!(household_now(w), (body, etag.clone()), "nothing changed");
    // The tag as read still works.
    let changed = w
        .app
        .patch_as(officer(w), &path, &etag, &change)
        .expect(200);
    assert_ne!(changed.etag(), etag);
}

/// Personal data is never kept by a cache, and no answer is sniffed as another type.
fn answers_carry_security_headers(w: &World) {
    let nosniff = |r: &Resp| assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let r = w.app.get_as(officer(w), &household_path(w)).expect(200);
    nosniff(&r);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = w
        .app
        .get_as(officer(w), "/api/v1/households?limit=1")
        .expect(200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    for r in [
        w.app
            .get_as(
                officer(w),
                "/api/v1/households/01900000-0000-7000-8000-000000000000",
            )
            .problem(404, "not_found"),
        w.app
            .get_as(&Auth::None, "/api/v1/households")
            .problem(401, "unauthenticated"),
        w.app
            .get_as(officer(w), "/api/v1/nothing-here")
            .problem(404, "route_not_found"),
    ] {
        nosniff(&r);
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    for path in ["/api/v1/openapi.json", "/docs/", "/healthz"] {
        let r = w.app.get_as(&Auth::None, path).expect(200);
        nosniff(&r);
        assert_ne!(r.header("cache-control"), Some("no-store"), "{path}");
    }
}

/// A token claiming to be issued in the future, even signed with the right secret, is refused.
fn tokens_from_the_future_are_refused(w: &World) {
    let me = w.person(Role::GrassrootsOfficer);
    let now = chrono::Utc::now().timestamp();
    let forge = |iat: i64| {
        Auth::Bearer(
            crate::common::token_config()
                .issue(&me.id, 1, iat)
                .expect("token")
                .0,
        )
    };
    for ahead in [3600, 86_400 * 365, 120] {
        w.app
            .get_as(&forge(now + ahead), "/api/v1/auth/me")
            .problem(401, "unauthenticated");
    }
    // A clock a little ahead is tolerated.
    w.app
        .get_as(&forge(now + 20), "/api/v1/auth/me")
        .expect(200);
}

/// `Allow` lists the methods of the route the path names, not those of its neighbours.
fn allow_names_the_methods_of_the_exact_route(w: &World) {
    let hh = household_path(w);
    for (method, path, allow) in [
        ("OPTIONS", "/api/v1/households/search", "POST"),
        ("GET", "/api/v1/households/search", "POST"),
        ("PATCH", "/api/v1/households/search", "POST"),
        ("DELETE", "/api/v1/households/search", "POST"),
        ("OPTIONS", hh.as_str(), "GET, PATCH"),
        ("POST", hh.as_str(), "GET, PATCH"),
        ("DELETE", hh.as_str(), "GET, PATCH"),
        ("OPTIONS", "/api/v1/households", "GET, POST"),
        ("PUT", "/api/v1/households", "GET, POST"),
        ("DELETE", "/api/v1/households", "GET, POST"),
    ] {
        for auth in [&Auth::None, officer(w)] {
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let r = w
                .app
                .send_as(auth, w.app.client.request(m, w.app.url(path)))
                .problem(405, "method_not_allowed");
            assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
            assert!(r.body["detail_zh"].as_str().unwrap().contains(allow));
        }
    }
    // The routed methods still answer.
    w.app
        .post_as(
            officer(w),
            "/api/v1/households/search",
            &json!({"national_id": complete_id(9)}),
        )
        .expect(200);
    w.app.get_as(officer(w), &hh).expect(200);
}

/// Long URLs and many or large headers get problem+json up to what the HTTP parser itself can
/// read; past that (a URL of 64 KiB or more, more than 96 header fields) the parser answers on
/// its own, with an empty body, and the server goes on serving.
fn oversized_urls_and_headers(w: &World) {
    let long_query = |bytes: usize| format!("/api/v1/households?region_code={}", "6".repeat(bytes));
    for bytes in [9 * 1024, 60 * 1024] {
        let r = w
            .app
            .get_as(officer(w), &long_query(bytes))
            .problem(414, "uri_too_long");
        assert!(r.body["detail_zh"].as_str().unwrap().contains("8192"));
    }
    let long_path = format!("/api/v1/households/{}", "a".repeat(10 * 1024));
    w.app
        .get_as(officer(w), &long_path)
        .problem(414, "uri_too_long");
    // Just under the limit, the URL is read (and the value refused on its merits).
    w.app
        .get_as(officer(w), &long_query(8000))
        .problem(400, "invalid_parameter")
        .has_field_error("region_code", "invalid_format");

    let with_headers = |n: usize, size: usize| {
        let mut req = w.app.client.get(w.app.url(&household_path(w)));
        for i in 0..n {
            req = req.header(format!("x-h-{i}"), "v".repeat(size));
        }
        w.app.send_as(officer(w), req)
    };
    with_headers(40, 16).expect(200);
    with_headers(70, 16).problem(431, "headers_too_large");
    with_headers(20, 2000).problem(431, "headers_too_large");

    // Past the parser's own limits: its bare answers, and the server still serves. (No HTTP
    // client library builds such a request, so it is written by hand.)
    let (status, body) = raw_http(
        &w.app,
        &format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", long_query(70 * 1024)),
    );
    assert_eq!((status, body.as_str()), (400, ""));
    let many: String = (0..120).map(|i| format!("x-h-{i}: v\r\n")).collect();
    let (status, _) = raw_http(
        &w.app,
        &format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n"),
    );
    assert_eq!(status, 431);
    // The same, written by hand, under the limits: problem+json.
    let (status, body) = raw_http(
        &w.app,
        &format!(
            "GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            long_query(60 * 1024)
        ),
    );
    assert_eq!(status, 414);
    assert!(body.contains("uri_too_long"), "{body}");
    w.app.get_as(officer(w), &household_path(w)).expect(200);
}

/// Writes `request` on a fresh connection and reads the answer to its end: status and body.
fn raw_http(app: &crate::common::TestApp, request: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = app.base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    conn.write_all(request.as_bytes()).expect("write");
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Paging parameters out of their documented range are named.
fn paging_out_of_range_is_named(w: &World) {
    for query in [
        "limit=0",
        "limit=201",
        "limit=-1",
        "limit=4294967296",
        "limit=1e2",
    ] {
        w.app
            .get_as(officer(w), &format!("/api/v1/households?{query}"))
            .problem(400, "invalid_parameter")
            .has_field_error(
                "limit",
                if query == "limit=0" || query == "limit=201" {
                    "out_of_range"
                } else {
                    "invalid_value"
                },
            );
    }
    w.app
        .get_as(officer(w), "/api/v1/households?limit=5&limit=6")
        .problem(400, "invalid_parameter")
        .has_field_error("limit", "duplicate");
    w.app
        .get_as(
            officer(w),
            &format!("/api/v1/households?cursor={}", "A".repeat(65)),
        )
        .problem(400, "invalid_parameter")
        .has_field_error("cursor", "invalid_format");
    w.app
        .get_as(officer(w), "/api/v1/households?limit=1&limit=")
        .problem(400, "invalid_parameter")
        .has_field_error("limit", "duplicate");
    w.app
        .get_as(officer(w), "/api/v1/households?limit=200")
        .expect(200);
}

crate::on_both_backends!(World:
    paging_out_of_range_is_named,
    oversized_urls_and_headers,
    allow_names_the_methods_of_the_exact_route,
    tokens_from_the_future_are_refused,
    answers_carry_security_headers,
    nul_and_invisible_characters_are_refused_on_both_databases,
    json_must_be_one_value_of_the_documented_shape,
    if_match_takes_only_the_etag_as_written,
);

/// Sign-in throttles, behind a proxy whose `X-Forwarded-For` names the client.
mod throttle {
    use chrono::TimeDelta;
    use serde_json::{json, Value};

    use crate::common::{test_config, Auth, Backend, Resp, TestApp, TestDb, PASSWORD};

    pub struct Proxied(TestApp);

    impl Proxied {
        pub fn create(backend: Backend) -> Option<Proxied> {
            let mut config = test_config();
            config.trust_forwarded = true;
            Some(Proxied(TestApp::serve(TestDb::create(backend)?, config)))
        }
    }

    fn sign_in_from(app: &TestApp, address: &str, body: &Value) -> Resp {
        app.send_as(
            &Auth::None,
            app.client
                .post(app.url("/api/v1/auth/token"))
                .header("X-Forwarded-For", address)
                .json(body),
        )
    }

    fn retry_after(r: &Resp) -> u64 {
        r.header("retry-after").unwrap().parse().unwrap()
    }

    /// The test server allows 3 failures per username and address and 6 per address, then
    /// waits 5 s, 10 s, 20 s… at most 60 s.
    fn an_attacker_cannot_lock_the_administrator_out(p: &Proxied) {
        let app = &p.0;
        let admin = app.admin.username.clone();
        let attacker = "203.0.113.7";
        let wrong = json!({"username": admin, "password": "guess-1"});
        let right = json!({"username": admin, "password": PASSWORD});
        for _ in 0..3 {
            sign_in_from(app, attacker, &wrong).problem(401, "invalid_credentials");
        }
        let r = sign_in_from(app, attacker, &wrong).problem(429, "rate_limited");
        assert!((1..=5).contains(&retry_after(&r)), "{r:?}");
        // The right password from the attacker's address waits too…
        sign_in_from(app, attacker, &right).problem(429, "rate_limited");
        // …but the administrator, elsewhere, signs in.
        let ok = sign_in_from(app, "198.51.100.2", &right).expect(200);
        assert!(ok.body["access_token"].is_string());

        // Each further failure doubles the wait, up to the cap.
        let mut last = 5;
        for expected in [10, 20, 40, 60, 60] {
            app.clock.advance(TimeDelta::seconds(last + 1));
            sign_in_from(app, attacker, &wrong).problem(401, "invalid_credentials");
            let r = sign_in_from(app, attacker, &wrong).problem(429, "rate_limited");
            let wait = retry_after(&r);
            assert!(
                wait <= expected && wait + 2 >= expected,
                "{wait} vs {expected}"
            );
            last = expected as i64;
        }
        sign_in_from(app, "198.51.100.2", &right).expect(200);
        // Once the wait is over the right password gets in from there too.
        app.clock.advance(TimeDelta::seconds(61));
        sign_in_from(app, attacker, &right).expect(200);
    }

    /// Bodies that cannot be a sign-in (a NUL in the username, not JSON at all) count against
    /// their address.
    fn garbage_counts_against_its_address(p: &Proxied) {
        let app = &p.0;
        let garbage = "192.0.2.9";
        let nul = json!({"username": "root\u{0}admin", "password": "x"});
        for _ in 0..3 {
            sign_in_from(app, garbage, &nul)
                .problem(422, "validation_failed")
                .has_field_error("username", "invalid_character");
        }
        for _ in 0..3 {
            app.send_as(
                &Auth::None,
                app.client
                    .post(app.url("/api/v1/auth/token"))
                    .header("X-Forwarded-For", garbage)
                    .header("content-type", "application/json")
                    .body("{\"username\": "),
            )
            .problem(400, "malformed_json");
        }
        let right = json!({"username": app.admin.username, "password": PASSWORD});
        let r = sign_in_from(app, garbage, &right).problem(429, "rate_limited");
        assert!(retry_after(&r) <= 5);
        sign_in_from(app, garbage, &nul).problem(429, "rate_limited");
        sign_in_from(app, "192.0.2.10", &right).expect(200);
    }

    crate::on_both_backends!(Proxied:
        an_attacker_cannot_lock_the_administrator_out,
        garbage_counts_against_its_address,
    );
}
