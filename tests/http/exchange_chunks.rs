//! An answer file applied a few tasks at a time gives exactly what answering the same tasks one by
//! one through the API gives: the facts, the verified income, the differences, the task and
//! request states, over two rounds (the second replacing the department's earlier figures), and
//! the audit chain still verifies.

use std::collections::HashMap;
use std::io::Write;

use jiekun_domain::access::Role;
use jiekun_store::audit::{Actor, Caller};
use jiekun_store::measures::{Doer, Unit};
use jiekun_store::sharing::exchange::format::{decode, Charset, Format};
use jiekun_store::sharing::exchange::{self as ex, Manifest};
use jiekun_store::Scope;
use serde_json::{json, Value};

use super::verifications::{consent_all, department_key, members, open};
use super::workflows::{self as wf, Crew};
use super::world::World;
use crate::common::{test_cipher, Auth};

/// The facts one household's task is answered with: `i` tells the households of a pair apart
/// from the other pairs, `round` the first answer from the second.
fn facts(w: &World, domain: &str, people: &[String], i: usize, round: i64) -> Vec<Value> {
    let today = w.app.clock.today().to_string();
    let (worker, spouse) = (&people[0], &people[1]);
    match domain {
        "tax" => {
            let mut out: Vec<Value> = wf::last_months(w, 12)
                .iter()
                .enumerate()
                .map(|(j, m)| {
                    // Some months as declared, others not; the second round changes a few.
                    let amount = if (i + j).is_multiple_of(3) {
                        20_000
                    } else {
                        20_000 + 1_000 * (j as i64) * round
                    };
                    json!({"member_id": worker, "as_of": today, "month": m, "amount_fen": amount})
                })
                .collect();
            let month = &wf::last_months(w, 1)[0];
            out.push(json!({"member_id": spouse, "as_of": today, "month": month,
                "amount_fen": if i.is_multiple_of(2) { 0 } else { 5_000 * round }}));
            out
        }
        _ => vec![
            json!({"member_id": worker, "as_of": today, "count": (i % 2) as i64 + round - 1}),
            json!({"member_id": spouse, "as_of": today, "count": 0}),
        ],
    }
}

fn task_id(v: &Value, domain: &str) -> String {
    v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["domain"] == domain)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Exports the department's open tasks; the batch id and the file's two header lines.
fn export(w: &World, who: &Auth, department: &str) -> (String, String) {
    let Auth::Bearer(t) = who else { unreachable!() };
    let res = w
        .app
        .client
        .get(
            w.app
                .url(&format!("/api/v1/exchange/outbox/{department}?format=csv")),
        )
        .bearer_auth(t)
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    let batch = res.headers()["x-exchange-batch"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = res.text().unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    let header = format!("{}\n{}\n", lines.next().unwrap(), lines.next().unwrap());
    (batch, header)
}

/// Applies an answer file with a manifest signed by `secret`, two tasks at a time.
fn import_in_chunks(w: &World, batch: &str, secret: &str, file: &str, rows: u64) -> ex::Imported {
    let sha = ex::sha256_hex(file.as_bytes());
    let manifest = Manifest {
        batch_id: batch.to_owned(),
        rows,
        sha256: sha.clone(),
        signature: ex::sign(secret.as_bytes(), &ex::signing_text(batch, rows, &sha)),
    };
    let doer = Doer {
        name: "县级复核".into(),
        role: None,
        unit: Unit::Organisation { id: String::new() },
        scope: Scope::All,
        caller: Caller {
            actor: Actor {
                kind: "system",
                name: Some("县级复核".into()),
                ..Actor::default()
            },
            ..Caller::default()
        },
    };
    let text = tempfile::NamedTempFile::new().unwrap();
    let mut out = std::io::BufWriter::new(text.reopen().unwrap());
    decode(file.as_bytes(), Charset::Utf8, &mut out).unwrap();
    out.flush().unwrap();
    drop(out);
    let cipher = test_cipher();
    let when = (w.app.clock.stored_now(), w.app.clock.today());
    let mut c = w.app.db.pool.get().unwrap();
    jiekun_store::write(&mut c, |c| -> Result<ex::Imported, ex::ImportError> {
        let (b, before) = ex::check_manifest(c, &cipher, &doer, &manifest, &sha)?;
        assert!(!before);
        ex::import_rows_in_chunks(c, &doer, when, &b, &manifest, (Format::Csv, 2), || {
            ex::reader(text.path())
        })
    })
    .unwrap_or_else(|e| panic!("import: {e:?}"))
}

/// What a household holds after its answers, without ids, times and the way the answers came,
/// members named by their place in the household.
fn state(w: &World, crew: &Crew, household: &str) -> Value {
    let people = members(w, &crew.officer, household);
    let tasks = w.app.list_all_as(
        &crew.reviewer,
        &format!("/api/v1/verifications/tasks?household_id={household}"),
        50,
    );
    let discrepancies = w.app.list_all_as(
        &crew.reviewer,
        &format!("/api/v1/discrepancies?household_id={household}"),
        50,
    );
    let incomes = w.app.list_all_as(
        &crew.officer,
        &format!("/api/v1/households/{household}/incomes"),
        50,
    );
    let mut verifications: Vec<Value> = tasks
        .iter()
        .map(|t| t["verification_id"].as_str().unwrap().to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|v| {
            w.app
                .get_as(&crew.reviewer, &format!("/api/v1/verifications/{v}"))
                .expect(200)
                .body["status"]
                .clone()
        })
        .collect();
    verifications.sort_by_key(|v| v.to_string());
    let mut s = json!({
        "tasks": sorted(tasks),
        "discrepancies": sorted(discrepancies),
        "incomes": sorted(incomes),
        "verifications": verifications,
    });
    strip(&mut s);
    let mut text = s.to_string();
    for (n, m) in people.iter().enumerate() {
        text = text.replace(m.as_str(), &format!("member-{n}"));
    }
    serde_json::from_str(&text).unwrap()
}

const VARYING: [&str; 15] = [
    "national_id",
    "id",
    "task_id",
    "household_id",
    "verification_id",
    "organisation_path",
    "created_at",
    "updated_at",
    "answered_at",
    "answered_by",
    "answered_via",
    "batch_id",
    "note",
    "etag",
    "due_on",
];

fn strip(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !VARYING.contains(&k.as_str()));
            map.values_mut().for_each(strip);
        }
        Value::Array(items) => {
            items.iter_mut().for_each(strip);
            let mut keyed: Vec<(String, Value)> =
                items.drain(..).map(|i| (i.to_string(), i)).collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            items.extend(keyed.into_iter().map(|(_, i)| i));
        }
        _ => {}
    }
}

fn sorted(mut items: Vec<Value>) -> Value {
    items.sort_by_key(|i| i.to_string());
    Value::Array(items)
}

fn a_file_applied_in_chunks_equals_answers_one_by_one(w: &World) {
    let crew = wf::crew_xx(w);
    let admin = &w.person(Role::CountyAdmin).auth;
    let keys: HashMap<&str, (String, Auth)> = [
        ("tax", department_key(w, "tax", "西乡县税务局分批")),
        (
            "vehicles",
            department_key(w, "public_security", "西乡县公安局分批"),
        ),
    ]
    .into_iter()
    .collect();
    let secrets: HashMap<&str, String> = keys
        .iter()
        .map(|(domain, (dept, _))| {
            let s = w
                .app
                .post_as(
                    admin,
                    &format!("/api/v1/departments/{dept}/exchange-secret"),
                    &json!({}),
                )
                .expect(201)
                .body["secret"]
                .as_str()
                .unwrap()
                .to_owned();
            (*domain, s)
        })
        .collect();
    // Pairs of like households: the first of each answered through the API, the second by file.
    let pairs: Vec<(String, String)> = (0..5u32)
        .map(|i| {
            let a = wf::household(w, &crew, 80 + 2 * i, 20_000);
            let b = wf::household(w, &crew, 81 + 2 * i, 20_000);
            consent_all(w, &crew, &a);
            consent_all(w, &crew, &b);
            (a, b)
        })
        .collect();
    let today = w.app.clock.today().to_string();
    for (round, domains) in [(1i64, vec!["tax", "vehicles"]), (2, vec!["tax"])] {
        let opened: Vec<(Value, Value)> = pairs
            .iter()
            .map(|(a, b)| {
                (
                    open(w, &crew, a, &domains).expect(201).body,
                    open(w, &crew, b, &domains).expect(201).body,
                )
            })
            .collect();
        for domain in &domains {
            let (dept, key) = &keys[domain];
            for (i, ((a, _), (va, _))) in pairs.iter().zip(&opened).enumerate() {
                let people = members(w, &crew.officer, a);
                w.app
                    .post_as(
                        key,
                        &format!("/api/v1/verifications/tasks/{}/answer", task_id(va, domain)),
                        &json!({"facts": facts(w, domain, &people, i, round)}),
                    )
                    .expect(200);
            }
            let (batch, mut file) = export(w, &crew.reviewer, dept);
            let mut rows = 0u64;
            for (i, ((_, b), (_, vb))) in pairs.iter().zip(&opened).enumerate() {
                let people = members(w, &crew.officer, b);
                let task = task_id(vb, domain);
                for f in facts(w, domain, &people, i, round) {
                    let cell = |k: &str| f[k].as_str().map_or(f[k].to_string(), str::to_owned);
                    let (count, month, amount) = if *domain == "tax" {
                        (String::new(), cell("month"), cell("amount_fen"))
                    } else {
                        (cell("count"), String::new(), String::new())
                    };
                    file.push_str(&format!(
                        "{task},{domain},{},,,,,{today},{count},,,{month},{amount}\n",
                        cell("member_id")
                    ));
                    rows += 1;
                }
            }
            let done = import_in_chunks(w, &batch, &secrets[domain], &file, rows);
            assert_eq!((done.applied, done.tasks), (true, 5), "{done:?}");
        }
        for (a, b) in &pairs {
            let (sa, sb) = (state(w, &crew, a), state(w, &crew, b));
            assert_eq!(sa, sb, "round {round}: the file gave what the API gave");
            assert!(sa["discrepancies"].as_array().unwrap().len() > 1, "{sa}");
        }
    }
    let mut c = w.app.db.pool.get().unwrap();
    let chain = jiekun_store::audit::verify(&mut c).unwrap();
    assert_eq!(chain.first_broken, None);
}

crate::on_both_backends!(World: a_file_applied_in_chunks_equals_answers_one_by_one);
