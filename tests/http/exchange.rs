//! Offline exchange: a signed batch file out, a signed answer file in; tampering, a wrong
//! signature, a bad row, a bad GB18030 byte and a replay are each refused or ignored with nothing
//! applied.

use hmac::{Hmac, Mac};
use jiekun_domain::access::Role;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::verifications::{consent_all, department_key, members, open};
use super::workflows as wf;
use super::world::World;
use crate::common::Auth;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sign(secret: &str, batch: &str, rows: usize, sha: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("jiekun-exchange-v1\n{batch}\n{rows}\n{sha}").as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// The file and headers of an export.
struct Out {
    bytes: Vec<u8>,
    batch: String,
    rows: usize,
    sha: String,
    signature: String,
}

fn export(w: &World, who: &Auth, department: &str, format: &str) -> Out {
    let Auth::Bearer(t) = who else { unreachable!() };
    let res = w
        .app
        .client
        .get(w.app.url(&format!(
            "/api/v1/exchange/outbox/{department}?format={format}"
        )))
        .bearer_auth(t)
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = |n: &str| res.headers().get(n).unwrap().to_str().unwrap().to_owned();
    let (batch, rows, sha, signature) = (
        h("x-exchange-batch"),
        h("x-exchange-rows").parse().unwrap(),
        h("x-exchange-sha256"),
        h("x-exchange-signature"),
    );
    let bytes = res.bytes().unwrap().to_vec();
    Out {
        bytes,
        batch,
        rows,
        sha,
        signature,
    }
}

/// Sends an answer file with its manifest.
fn import(
    w: &World,
    who: &Auth,
    out: &Out,
    body: &[u8],
    content_type: &str,
    secret: &str,
    tamper: impl Fn(&mut Vec<u8>),
) -> crate::common::Resp {
    let rows = count_rows(body, content_type);
    let sha = hex(&Sha256::digest(body));
    let mut sent = body.to_vec();
    tamper(&mut sent);
    let req = w
        .app
        .client
        .post(w.app.url("/api/v1/exchange/inbox"))
        .header("content-type", content_type)
        .header("X-Exchange-Batch", &out.batch)
        .header("X-Exchange-Rows", rows.to_string())
        .header("X-Exchange-Sha256", &sha)
        .header("X-Exchange-Signature", sign(secret, &out.batch, rows, &sha))
        .body(sent);
    w.app.send_as(who, req)
}

fn count_rows(body: &[u8], content_type: &str) -> usize {
    if content_type.contains("csv") {
        // Two header rows; every other non-empty line is a row.
        let (text, _, _) = if content_type.contains("gb18030") {
            encoding_rs::GB18030.decode(body)
        } else {
            encoding_rs::UTF_8.decode(body)
        };
        text.lines().filter(|l| !l.trim().is_empty()).count() - 2
    } else {
        String::from_utf8_lossy(body)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
    }
}

/// Fills each outbox row with `vehicles` facts: a count of 0, or `bad` in the first row.
fn answer_csv(out: &Out, today: &str, first_count: &str) -> String {
    let text = String::from_utf8(out.bytes.clone()).unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    let mut answer = format!("{}\n{}\n", lines.next().unwrap(), lines.next().unwrap());
    for (i, l) in lines.enumerate() {
        let mut cells: Vec<String> = l.split(',').map(str::to_owned).collect();
        cells[7] = today.into();
        cells[8] = if i == 0 {
            first_count.into()
        } else {
            "0".into()
        };
        answer.push_str(&cells.join(","));
        answer.push('\n');
    }
    answer
}

fn open_tasks(w: &World, who: &Auth, household: &str) -> usize {
    w.app
        .list_all_as(
            who,
            &format!("/api/v1/verifications/tasks?household_id={household}&status=open"),
            50,
        )
        .len()
}

fn an_exported_batch_comes_back_signed_and_applies_once(w: &World) {
    let crew = wf::crew_xx(w);
    let h = wf::household(w, &crew, 70, 20_000);
    consent_all(w, &crew, &h);
    open(w, &crew, &h, &["vehicles"]).expect(201);
    let (dept, _) = department_key(w, "public_security", "西乡县公安局交换");
    let admin = &w.person(Role::CountyAdmin).auth;
    let reviewer = &crew.reviewer;
    // No secret yet: nothing goes out.
    w.app
        .get_as(reviewer, &format!("/api/v1/exchange/outbox/{dept}"))
        .problem(409, "wrong_state");
    let secret = w
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
    assert_eq!(secret.len(), 64);
    let out = export(w, reviewer, &dept, "csv");
    assert!(
        out.bytes.starts_with("\u{feff}".as_bytes()),
        "a byte-order mark for Excel and WPS"
    );
    assert_eq!(hex(&Sha256::digest(&out.bytes)), out.sha);
    assert_eq!(sign(&secret, &out.batch, out.rows, &out.sha), out.signature);
    let text = String::from_utf8(out.bytes.clone()).unwrap();
    let ids = members(w, &crew.officer, &h);
    assert!(
        out.rows >= 2 && ids.iter().all(|m| text.contains(m.as_str())),
        "{text}"
    );
    assert!(
        text.contains("周建华") && text.contains("任务编号"),
        "{text}"
    );
    let manifest = w
        .app
        .get_as(reviewer, &format!("/api/v1/exchange/batches/{}", out.batch))
        .expect(200)
        .body;
    assert_eq!(manifest["sha256"], out.sha.as_str());
    // The export handed names and numbers to the department: audited.
    let events = w.app.list_all_as(
        &w.person(Role::SystemAdmin).auth,
        &format!(
            "/api/v1/audit/events?action=exchange.export&resource_id={}",
            out.batch
        ),
        50,
    );
    assert_eq!(events.len(), 1);

    let today = w.app.clock.today().to_string();
    let good = answer_csv(&out, &today, "1");
    let csv = "text/csv; charset=utf-8";
    // A changed byte after signing: the checksum fails.
    import(w, reviewer, &out, good.as_bytes(), csv, &secret, |b| {
        let n = b.len() - 2;
        b[n] = b'9';
    })
    .problem(422, "checksum_mismatch");
    // Signed with another secret.
    import(
        w,
        reviewer,
        &out,
        good.as_bytes(),
        csv,
        &"0".repeat(64),
        |_| {},
    )
    .problem(422, "signature_invalid");
    // One bad row: all refused, named by line and field.
    let bad = answer_csv(&out, &today, "many");
    let r = import(w, reviewer, &out, bad.as_bytes(), csv, &secret, |_| {})
        .problem(422, "rows_invalid");
    r.has_field_error("rows[3].count", "invalid");
    assert_eq!(open_tasks(w, reviewer, &h), 1, "nothing applied");
    // GB18030 with a bad byte.
    let (gb, _, _) = encoding_rs::GB18030.encode(&good);
    let mut broken = gb.to_vec();
    let at = broken.iter().rposition(|b| *b == b'0').unwrap();
    broken[at] = 0xFF;
    let r = import(
        w,
        reviewer,
        &out,
        &broken,
        "text/csv; charset=gb18030",
        &secret,
        |_| {},
    )
    .problem(422, "rows_invalid");
    assert_eq!(
        r.body["errors"][0]["code"], "invalid_encoding",
        "{}",
        r.body
    );
    assert_eq!(open_tasks(w, reviewer, &h), 1, "nothing applied");
    // The good file, in GB18030: applied, the vehicle flagged.
    let done = import(
        w,
        reviewer,
        &out,
        &gb,
        "text/csv; charset=gb18030",
        &secret,
        |_| {},
    )
    .expect(200)
    .body;
    assert_eq!(done["applied"], true, "{done}");
    assert_eq!(done["tasks"], 1);
    assert_eq!(done["discrepancies"], 1);
    assert_eq!(open_tasks(w, reviewer, &h), 0);
    let task = &w.app.list_all_as(
        reviewer,
        &format!("/api/v1/verifications/tasks?household_id={h}"),
        50,
    )[0];
    assert_eq!(task["answered_via"], "exchange");
    assert_eq!(task["batch_id"], out.batch.as_str());
    assert_eq!(task["facts"].as_array().unwrap().len(), ids.len());
    // The same file again: applied once, nothing more written.
    let again = import(
        w,
        reviewer,
        &out,
        &gb,
        "text/csv; charset=gb18030",
        &secret,
        |_| {},
    )
    .expect(200)
    .body;
    assert_eq!(again["applied"], false, "{again}");
    let task2 = &w.app.list_all_as(
        reviewer,
        &format!("/api/v1/verifications/tasks?household_id={h}"),
        50,
    )[0];
    assert_eq!(task2["facts"], task["facts"]);
    // Another file for the answered batch.
    let other = answer_csv(&out, &today, "2");
    import(w, reviewer, &out, other.as_bytes(), csv, &secret, |_| {})
        .problem(409, "batch_answered");
    // Only county staff run the exchange.
    w.app
        .get_as(&crew.officer, &format!("/api/v1/exchange/outbox/{dept}"))
        .problem(403, "forbidden");
}

fn json_lines_round_trip(w: &World) {
    let crew = wf::crew_xx(w);
    let h = wf::household(w, &crew, 71, 20_000);
    consent_all(w, &crew, &h);
    open(w, &crew, &h, &["business"]).expect(201);
    let (dept, _) = department_key(w, "market_regulation", "西乡县市场监管局交换");
    let admin = &w.person(Role::CountyAdmin).auth;
    let secret = w
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
    let out = export(w, &crew.reviewer, &dept, "jsonl");
    let today = w.app.clock.today().to_string();
    let mut answer = String::new();
    for l in String::from_utf8(out.bytes.clone()).unwrap().lines() {
        let mut v: Value = serde_json::from_str(l).unwrap();
        v["as_of"] = json!(today);
        v["count"] = json!(0);
        answer.push_str(&v.to_string());
        answer.push('\n');
    }
    let done = import(
        w,
        &crew.reviewer,
        &out,
        answer.as_bytes(),
        "application/jsonl",
        &secret,
        |_| {},
    )
    .expect(200)
    .body;
    assert_eq!(
        (done["applied"].as_bool(), done["discrepancies"].as_u64()),
        (Some(true), Some(0)),
        "{done}"
    );
    assert_eq!(open_tasks(w, &crew.reviewer, &h), 0);
}

crate::on_both_backends!(World: an_exported_batch_comes_back_signed_and_applies_once, json_lines_round_trip);

/// A secret for the department and a batch exported by the county's reviewer; the batch id.
pub fn setup(w: &World, crew: &wf::Crew, department: &str) -> String {
    w.app
        .post_as(
            &w.person(Role::SystemAdmin).auth,
            &format!("/api/v1/departments/{department}/exchange-secret"),
            &json!({}),
        )
        .expect(201);
    export(w, &crew.reviewer, department, "csv").batch
}
