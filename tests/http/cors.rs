//! Cross-origin access: closed by default, open to the configured origins only.

use crate::common::{test_config, Backend, TestApp, TestDb};

const FRONTEND: &str = "https://app.example.cn";
const STRANGER: &str = "https://evil.example.com";

struct Open(TestApp);

impl Open {
    fn create(backend: Backend) -> Option<Open> {
        let mut config = test_config();
        config.cors_origins = vec![FRONTEND.to_owned()];
        Some(Open(TestApp::serve(TestDb::create(backend)?, config)))
    }
}

struct Closed(TestApp);

impl Closed {
    fn create(backend: Backend) -> Option<Closed> {
        Some(Closed(TestApp::create(backend)?))
    }
}

/// A preflight for a PATCH with `If-Match` and a JSON body from `origin`.
fn preflight(app: &TestApp, origin: &str) -> reqwest::blocking::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/households"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "PATCH")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type, if-match",
        )
        .send()
        .expect("preflight")
}

/// A refused preflight: a 4xx problem+json, and no permission for the browser.
fn refused(r: reqwest::blocking::Response) {
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(allow_origin(&r), None);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(ct, "application/problem+json");
}

fn allow_origin(r: &reqwest::blocking::Response) -> Option<String> {
    r.headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn closed_by_default(fx: &Closed) {
    let app = &fx.0;
    refused(preflight(app, FRONTEND));
    // The request itself is answered, without the headers a browser needs to read it.
    let r = app
        .send(
            app.client
                .get(app.url("/api/v1/organisations"))
                .header("Origin", FRONTEND),
        )
        .expect(200);
    assert_eq!(r.header("access-control-allow-origin"), None);
}

fn open_to_the_configured_origins(fx: &Open) {
    let app = &fx.0;
    let r = preflight(app, FRONTEND);
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(allow_origin(&r).as_deref(), Some(FRONTEND));
    let methods = r
        .headers()
        .get("access-control-allow-methods")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(methods.contains("PATCH"), "{methods}");
    let got = app
        .send(
            app.client
                .get(app.url("/api/v1/organisations"))
                .header("Origin", FRONTEND),
        )
        .expect(200);
    assert_eq!(got.header("access-control-allow-origin"), Some(FRONTEND));
    let exposed = got
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for h in ["etag", "location", "x-request-id"] {
        assert!(exposed.contains(h), "{exposed}");
    }
    // Another origin gets nothing of it.
    refused(preflight(app, STRANGER));
    let other = app
        .send(
            app.client
                .get(app.url("/api/v1/organisations"))
                .header("Origin", STRANGER),
        )
        .expect(200);
    assert_eq!(other.header("access-control-allow-origin"), None);
}

mod closed {
    crate::on_both_backends!(Closed: closed_by_default);
    use super::*;
}

mod open {
    crate::on_both_backends!(Open: open_to_the_configured_origins);
    use super::*;
}
