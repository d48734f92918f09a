//! The audit log: written with every change, readable by auditors in their scope, append-only,
//! and a broken chain is named.

use diesel::connection::SimpleConnection;
use diesel::Connection;
use jiekun_domain::access::Role;
use jiekun_store::DatabaseTarget;
use serde_json::json;

use super::world::World;
use crate::common::Auth;

fn events(w: &World, auth: &crate::common::Auth, query: &str) -> Vec<serde_json::Value> {
    w.app
        .get_as(auth, &format!("/api/v1/audit/events?{query}"))
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn changes_are_audited_with_who_where_and_what(w: &World) {
    let admin = w.person(Role::CountyAdmin);
    let auditor = &w.person(Role::Auditor).auth;
    let created = w.app.send_as(
        &admin.auth,
        w.app
            .client
            .post(w.app.url("/api/v1/users"))
            .header("x-request-id", "audit-req-1")
            .json(&json!({"organisation_id": w.chengguan, "username": "audited.user", "display_name": "被审计",
                          "password": "Another-Secret-77", "roles": ["grassroots_officer"]})),
    );
    let id = created.expect(201).body["id"].as_str().unwrap().to_owned();
    let found = events(w, auditor, &format!("resource_id={id}"));
    assert_eq!(found.len(), 1);
    let e = &found[0];
    assert_eq!(e["action"], "user.create");
    assert_eq!(e["actor_type"], "user");
    assert_eq!(e["actor_id"], admin.id.as_str());
    assert_eq!(e["organisation_id"], admin.organisation_id.as_str());
    assert_eq!(e["outcome"], "success");
    assert_eq!(e["request_id"], "audit-req-1");
    assert_eq!(e["source_address"], "127.0.0.1");
    assert_eq!(e["changes"]["username"], "audited.user");
    assert!(e["hash"].as_str().unwrap().len() == 64);

    // A password reset is audited without the password.
    w.app
        .post_as(
            &admin.auth,
            &format!("/api/v1/users/{id}/password"),
            &json!({"new_password": "Reset-Secret-88"}),
        )
        .expect(204);
    let reset = events(
        w,
        auditor,
        &format!("resource_id={id}&action=user.password_reset"),
    );
    assert_eq!(reset.len(), 1);
    assert!(!reset[0].to_string().contains("Reset-Secret-88"));

    // Newest first, paged with a cursor, filtered.
    let page = w
        .app
        .get_as(auditor, "/api/v1/audit/events?limit=1")
        .expect(200);
    assert_eq!(page.body["items"][0]["action"], "user.password_reset");
    let next = page.body["next_cursor"].as_str().unwrap();
    let second = w
        .app
        .get_as(
            auditor,
            &format!("/api/v1/audit/events?limit=1&cursor={next}"),
        )
        .expect(200);
    assert_eq!(second.body["items"][0]["action"], "user.create");
    w.app
        .get_as(auditor, "/api/v1/audit/events?outcome=maybe")
        .problem(400, "invalid_parameter");
    w.app
        .get_as(auditor, "/api/v1/audit/events?from=yesterday")
        .problem(400, "invalid_parameter");
}

fn auditors_see_their_subtree_only(w: &World) {
    let city_admin = &w.person(Role::SystemAdmin).auth;
    let made = w
        .app
        .post_as(city_admin, "/api/v1/organisations", &json!({"kind": "grassroots_union", "union_type": "other", "parent_id": w.chenggu, "name": "城固某工会", "region_code": "610722"}))
        .expect(201);
    let id = made.body["id"].as_str().unwrap();
    let county_auditor = &w.person(Role::Auditor).auth;
    assert!(
        events(w, county_auditor, &format!("resource_id={id}")).is_empty(),
        "a county auditor does not see the city's actions"
    );
    let city_auditor = w
        .app
        .person("city.auditor", &w.app.root_id, &[Role::Auditor]);
    assert_eq!(
        events(w, &city_auditor.auth, &format!("resource_id={id}")).len(),
        1
    );
    // Totals count what the caller sees, across pages.
    let total = |who: &Auth, q: &str| {
        w.app
            .get_as(who, &format!("/api/v1/audit/events?{q}&count=true&limit=1"))
            .expect(200)
            .body["total"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(total(&city_auditor.auth, &format!("resource_id={id}")), 1);
    assert_eq!(total(county_auditor, &format!("resource_id={id}")), 0);
    for n in 0..4 {
        w.app
            .post_as(city_admin, "/api/v1/organisations", &json!({"kind": "grassroots_union", "union_type": "other", "parent_id": w.chenggu, "name": format!("城固工会{n}"), "region_code": "610722"}))
            .expect(201);
    }
    let all = total(&city_auditor.auth, "outcome=success");
    let pages = w.app.list_all_as(
        &city_auditor.auth,
        "/api/v1/audit/events?outcome=success",
        2,
    );
    assert_eq!(all as usize, pages.len());
    assert!(all >= 5, "{all}");
}

fn the_log_cannot_be_changed_through_the_api(w: &World) {
    let auditor = &w.person(Role::Auditor).auth;
    for method in ["PUT", "PATCH", "DELETE", "POST"] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = w.app.send_as(
            auditor,
            w.app
                .client
                .request(m, w.app.url("/api/v1/audit/events"))
                .json(&json!({})),
        );
        let r = r.problem(405, "method_not_allowed");
        assert_eq!(r.header("allow"), Some("GET"));
    }
}

/// Edits one event directly in the database (as an intruder with database access would, first
/// disabling the append-only trigger) and checks that verification names that event.
fn tampering_is_named(w: &World) {
    let auditor = &w.person(Role::Auditor).auth;
    let admin = &w.person(Role::CountyAdmin).auth;
    for i in 0..3 {
        w.app.post_as(admin, "/api/v1/enterprises", &json!({"name": format!("企业{i}"), "credit_code": jiekun_domain::CreditCode::complete(&format!("91610724MA8YQ000{i}")).unwrap().as_str(), "region_code": "610724"})).expect(201);
    }
    let report = w.app.get_as(auditor, "/api/v1/audit/verify").expect(200);
    assert_eq!(report.body["intact"], true);
    let head = report.body["head_seq"].as_i64().unwrap();
    assert_eq!(report.body["checked"].as_i64().unwrap(), head);
    assert!(head >= 3);
    let victim = head - 1;

    // The trigger refuses an ordinary edit.
    let edit = format!("UPDATE audit_events SET resource_id = 'forged' WHERE seq = {victim}");
    match w.app.db.target() {
        DatabaseTarget::Sqlite(path) => {
            let mut c = diesel::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
            assert!(c.batch_execute(&edit).is_err(), "append-only");
            c.batch_execute(&format!("DROP TRIGGER audit_events_no_update; {edit};"))
                .unwrap();
        }
        DatabaseTarget::Postgres(url) => {
            let mut c = diesel::PgConnection::establish(&url).unwrap();
            assert!(c.batch_execute(&edit).is_err(), "append-only");
            c.batch_execute(&format!(
                "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change; {edit};"
            ))
            .unwrap();
        }
    }
    let report = w.app.get_as(auditor, "/api/v1/audit/verify").expect(200);
    assert_eq!(report.body["intact"], false);
    assert_eq!(report.body["first_broken"]["seq"], victim);
    assert_eq!(report.body["first_broken"]["reason"], "hash_mismatch");
    assert_eq!(report.body["checked"], victim - 1);
    let mut c = w.app.db.pool.get().unwrap();
    let v = jiekun_store::audit::verify(&mut c).unwrap();
    assert_eq!(v.first_broken.unwrap().seq, victim);
}

crate::on_both_backends!(World:
    changes_are_audited_with_who_where_and_what,
    auditors_see_their_subtree_only,
    the_log_cannot_be_changed_through_the_api,
    tampering_is_named,
);
