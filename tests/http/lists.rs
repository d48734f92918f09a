//! `count=true` on the lists of the filing and exit procedure: `total` is the number of items in
//! all pages, with the same filters; without it, no `total`.

use chrono::TimeDelta;
use jiekun_domain::access::Role;
use serde_json::json;

use super::workflows::{crew_xx, file_all_the_way, household, open, to_notice};
use super::world::World;
use crate::common::Auth;

/// `total` of `path` (with `count=true`) equals the items read page by page, one at a time; the
/// count is returned.
fn counted(w: &World, who: &Auth, path: &str) -> u64 {
    let sep = if path.contains('?') { '&' } else { '?' };
    let page = w
        .app
        .get_as(who, &format!("{path}{sep}count=true&limit=1"))
        .expect(200);
    let total = page.body["total"]
        .as_u64()
        .unwrap_or_else(|| panic!("{path}: no total in {}", page.body));
    let all = w.app.list_all_as(who, path, 1);
    assert_eq!(total, all.len() as u64, "{path}");
    assert!(
        w.app
            .get_as(who, path)
            .expect(200)
            .body
            .get("total")
            .is_none(),
        "{path}: total without count=true"
    );
    total
}

fn case_lists_count_their_pages(w: &World) {
    let crew = crew_xx(w);
    let filed = household(w, &crew, 31, 90_000);
    file_all_the_way(w, &crew, &filed);
    let (noticed, draft) = (
        household(w, &crew, 32, 90_000),
        household(w, &crew, 33, 90_000),
    );
    let app = open(w, &crew, &noticed)["id"].as_str().unwrap().to_owned();
    let notice = to_notice(w, &crew, &app, &noticed);
    open(w, &crew, &draft);
    let who = &crew.reviewer;
    assert_eq!(counted(w, who, "/api/v1/applications"), 3);
    assert_eq!(counted(w, who, "/api/v1/applications?state=draft"), 1);
    assert_eq!(
        counted(
            w,
            who,
            &format!("/api/v1/applications?household_id={noticed}")
        ),
        1
    );
    assert_eq!(counted(w, who, "/api/v1/applications?state=filed,draft"), 2);

    assert_eq!(counted(w, who, "/api/v1/public-notices"), 2);
    assert_eq!(counted(w, who, "/api/v1/public-notices?running=true"), 1);

    let objections = format!("/api/v1/public-notices/{notice}/objections");
    let auditor = w.person(Role::Auditor).auth.clone();
    for content in ["收入不实", "家中有经营性车辆", "另有住房"] {
        w.app
            .post_as(&auditor, &objections, &json!({ "content": content }))
            .expect(201);
    }
    assert_eq!(counted(w, who, &objections), 3);

    assert_eq!(counted(w, who, "/api/v1/exit-cases"), 0);
    w.app
        .post_as(
            &crew.officer,
            "/api/v1/exit-cases",
            &json!({"household_id": filed, "grounds": "death", "opinion": "职工于本月病故，死亡证明已核"}),
        )
        .expect(201);
    assert_eq!(counted(w, who, "/api/v1/exit-cases"), 1);
    assert_eq!(counted(w, who, "/api/v1/exit-cases?state=proposed"), 1);
    assert_eq!(counted(w, who, "/api/v1/exit-cases?state=exited"), 0);

    assert_eq!(counted(w, who, "/api/v1/annual-reviews/due"), 0);
    w.app.clock.advance(TimeDelta::days(350));
    assert_eq!(counted(w, who, "/api/v1/annual-reviews/due"), 1);
    assert_eq!(
        counted(w, who, "/api/v1/annual-reviews/due?status=overdue"),
        0
    );
}

crate::on_both_backends!(World: case_lists_count_their_pages);
