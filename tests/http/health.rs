use std::path::PathBuf;
use std::time::Duration;

use jiekun_store::{DatabaseTarget, Pool, PoolOptions};

use crate::common::{test_config, Backend, TestApp, TestDb};

fn probes_answer(app: &TestApp) {
    let live = app.get("/healthz").expect(200);
    assert_eq!(live.body["status"], "ok");
    let ready = app.get("/readyz").expect(200);
    assert_eq!(
        ready.body["database"],
        match app.db.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    );
}

crate::on_both_backends!(TestApp: probes_answer);

/// A database that cannot be reached: live, but not ready.
#[test]
fn readiness_fails_without_a_database() {
    let unreachable = [
        DatabaseTarget::Sqlite(PathBuf::from("/nonexistent-folder/jiekun.db")),
        DatabaseTarget::Postgres("postgres://nobody@127.0.0.1:1/none?connect_timeout=1".into()),
    ];
    for target in unreachable {
        let pool = Pool::open_lazy(
            target,
            &PoolOptions {
                max_size: Some(1),
                connection_timeout: Duration::from_millis(500),
                min_idle: None,
            },
        );
        let db = TestDb::create(Backend::Sqlite).expect("sqlite");
        let app = TestApp::serve_with_pool(db, pool, test_config());
        app.get("/healthz").expect(200);
        let r = app.get("/readyz").problem(503, "service_unavailable");
        assert!(
            !r.text.contains("nonexistent") && !r.text.contains("nobody"),
            "no internals: {}",
            r.text
        );
        app.get("/api/v1/organisations")
            .problem(503, "service_unavailable");
    }
}
