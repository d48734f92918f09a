//! The household reads are prepared once per connection and then only run: after many requests
//! with other ids and filters, the statements each connection keeps have run as many times as
//! the requests asked, and SQLite prepared none of them again (with STAT4 and without the planner's
//! stability guarantee it prepared a read by id again on every request). So are the statements
//! that append each write's audit event, and the inserts of rows with columns that may be NULL.

use jiekun_store::statements::{self, Prepared};

use super::workflows::{crew_xx, household};
use super::world::World;

/// The list filters of the benchmark's mix, in shapes of one and two filters.
const SHAPES: [&str; 6] = [
    "",
    "&main_cause=6",
    "&status=draft",
    "&status=draft&single_parent=false",
    "&region_code=610724",
    "&zero_employment=false&main_cause=1",
];

fn household_reads_are_prepared_once(w: &World) {
    let crew = crew_xx(w);
    let ids: Vec<String> = (0..5)
        .map(|i| household(w, &crew, 60 + i, 90_000))
        .collect();
    let (mut gets, mut lists) = (0i64, 0i64);
    for _ in 0..4 {
        for id in &ids {
            let got = w
                .app
                .get_as(&crew.officer, &format!("/api/v1/households/{id}"))
                .expect(200);
            assert_eq!(got.body["id"], id.as_str());
            gets += 1;
        }
        for shape in SHAPES {
            w.app
                .get_as(&crew.officer, &format!("/api/v1/households?limit=2{shape}"))
                .expect(200);
            lists += 1;
        }
    }
    let (kept, connections) = kept_by_the_pool(w);
    let listing = || {
        kept.iter()
            .map(|p| format!("{} runs, {:?} reprepares: {}", p.runs, p.reprepares, p.sql))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let runs = |found: &dyn Fn(&str) -> bool| -> (usize, i64) {
        let of: Vec<&Prepared> = kept.iter().filter(|p| found(&p.sql)).collect();
        (of.len(), of.iter().map(|p| p.runs).sum())
    };
    // The read by id: the household with its members, in one statement.
    let (copies, ran) = runs(&|sql| {
        sql.contains("LEFT OUTER JOIN \"household_members\"")
            && sql.contains("\"households\".\"id\" =")
    });
    assert!(
        copies >= 1 && copies <= connections,
        "the read by id is kept once per connection at most ({copies} copies):\n{}",
        listing()
    );
    assert!(
        ran >= gets,
        "the kept read by id ran {ran} times for {gets} requests: it was prepared again for some:\n{}",
        listing()
    );
    // The list: one statement per shape of filter, each kept once per connection at most.
    let (copies, ran) = runs(&|sql| {
        sql.contains("FROM \"households\"")
            && sql.contains("ORDER BY")
            && !sql.contains("household_members")
    });
    assert!(
        copies >= SHAPES.len() && copies <= SHAPES.len() * connections,
        "each shape of the list is kept once per connection at most ({copies} copies):\n{}",
        listing()
    );
    assert!(
        ran >= lists,
        "the kept list statements ran {ran} times for {lists} requests:\n{}",
        listing()
    );
    // SQLite says how often it prepared a kept statement again: never.
    if let Some(again) = kept.iter().find(|p| p.reprepares.is_some_and(|n| n > 0)) {
        panic!(
            "SQLite prepared a statement again {:?} times: {}",
            again.reprepares, again.sql
        );
    }
}

/// What every connection of the server's pool keeps prepared, all of them held at once so none
/// is left out, with how many connections there are.
fn kept_by_the_pool(w: &World) -> (Vec<Prepared>, usize) {
    let pool = &w.app.db.pool;
    let mut held: Vec<_> = (0..pool.max_size()).map(|_| pool.get().unwrap()).collect();
    let kept = held
        .iter_mut()
        .flat_map(|c| statements::prepared(c).unwrap())
        // SQLite quotes names with backticks, PostgreSQL with double quotes.
        .map(|p| Prepared {
            sql: p.sql.replace('`', "\""),
            ..p
        })
        .collect();
    (kept, held.len())
}

fn audited_writes_are_prepared_once(w: &World) {
    let crew = crew_xx(w);
    // Each filing is a write with its audit event; the edits are more.
    let mut writes = 0i64;
    for i in 0..6 {
        let id = household(w, &crew, 70 + i, 90_000);
        writes += 1;
        let got = w
            .app
            .get_as(&crew.officer, &format!("/api/v1/households/{id}"))
            .expect(200);
        let etag = got.header("etag").expect("an ETag").to_owned();
        w.app
            .patch_as(
                &crew.officer,
                &format!("/api/v1/households/{id}"),
                &etag,
                &serde_json::json!({"address": format!("西乡县城关镇东大街{i}号")}),
            )
            .expect(200);
        writes += 1;
    }
    let (kept, connections) = kept_by_the_pool(w);
    let listing = || {
        kept.iter()
            .map(|p| format!("{} runs, {:?} reprepares: {}", p.runs, p.reprepares, p.sql))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // The events these statements wrote chain as every event must.
    let chain = jiekun_store::audit::verify(&mut w.app.db.pool.get().unwrap()).unwrap();
    assert!(chain.first_broken.is_none(), "{:?}", chain.first_broken);
    assert!(
        chain.checked >= writes,
        "{} events for {writes} writes",
        chain.checked
    );
    // The chain's next number, the event's insert (on PostgreSQL with the head's move), and the
    // household's own insert, whose columns that may be NULL are sent as NULL, not DEFAULT.
    for (what, part, at_least) in [
        (
            "the next number",
            "UPDATE audit_head SET seq = seq + 1",
            writes,
        ),
        ("the event", "INSERT INTO audit_events", writes),
        ("the household", "INSERT INTO \"households\"", writes / 2),
    ] {
        let of: Vec<&Prepared> = kept.iter().filter(|p| p.sql.contains(part)).collect();
        let ran: i64 = of.iter().map(|p| p.runs).sum();
        assert!(
            !of.is_empty() && of.len() <= connections,
            "{what} is kept once per connection at most ({} copies):\n{}",
            of.len(),
            listing()
        );
        assert!(
            ran >= at_least,
            "{what} ran {ran} times in kept statements, not {at_least}: it was prepared again \
             for some:\n{}",
            listing()
        );
        if let Some(again) = of.iter().find(|p| p.reprepares.is_some_and(|n| n > 0)) {
            panic!("SQLite prepared {what} again: {:?}", again.reprepares);
        }
    }
}

crate::on_both_backends!(World: household_reads_are_prepared_once, audited_writes_are_prepared_once);
