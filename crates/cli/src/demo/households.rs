//! Synthetic households of 西乡县 for demonstrations and load tests, written through the store's
//! bulk loader. Drawing and sealing run on a thread of their own, a few batches ahead of the
//! writer (a bounded channel keeps memory flat whatever the count).

use std::sync::mpsc;

use anyhow::Context;
use jiekun_store::bulk::{self, HouseholdBatch, Written};
use jiekun_store::crypto::FieldCipher;
use jiekun_store::households as hs;
use jiekun_store::organisations::{self, OrganisationRow};
use jiekun_store::{enterprises, DbConnection, PageRequest, Scope};

use super::generate::{seal, Generator, REGION};
use super::region;
use crate::admin::system_event;

/// Households written per transaction.
const BATCH: usize = 2_000;
/// Batches generated ahead of the writer.
const AHEAD: usize = 2;

/// Generates `n` households of 西乡县 from `seed`; skipped when the county already holds that
/// many. Each batch is one transaction with its own audit event.
pub fn households(
    conn: &mut DbConnection,
    cipher: &FieldCipher,
    n: usize,
    seed: u64,
) -> anyhow::Result<String> {
    let county = organisations::find_by_name(conn, None, "汉中市总工会")?
        .and_then(|city| {
            organisations::find_by_name(conn, Some(&city.id), "西乡县总工会")
                .ok()
                .flatten()
        })
        .context("run the demo organisation tree first")?;
    let unions: Vec<OrganisationRow> = organisations::list(
        conn,
        &Scope::All,
        &organisations::OrganisationFilter {
            parent_id: Some(county.id.clone()),
            ..Default::default()
        },
        &PageRequest {
            after: None,
            limit: 50,
        },
    )?
    .items;
    anyhow::ensure!(!unions.is_empty(), "西乡县总工会 has no grassroots unions");
    let existing = hs::list(
        conn,
        &Scope::All,
        &hs::HouseholdFilter {
            region: Some(region(REGION)?),
            ..Default::default()
        },
        &PageRequest {
            after: None,
            limit: n.min(200_000) as u32,
        },
    )?;
    if existing.items.len() >= n || existing.next_after.is_some() {
        return Ok(format!("{n} households asked; the county has them already"));
    }
    let enterprises_here: Vec<String> = enterprises::list(
        conn,
        &Scope::All,
        &Default::default(),
        &PageRequest {
            after: None,
            limit: 50,
        },
    )?
    .items
    .into_iter()
    .map(|e| e.id)
    .collect();

    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let mut generator = Generator::new(seed, unions, enterprises_here, today);
    let (tx, rx) = mpsc::sync_channel::<anyhow::Result<HouseholdBatch>>(AHEAD);
    let made = std::thread::scope(|s| {
        s.spawn(move || {
            let mut done = 0;
            while done < n {
                let take = BATCH.min(n - done);
                let batch = generator.draw(take).and_then(|drafts| {
                    let mut batch = seal(cipher, drafts);
                    batch.file_numbers = Some(generator.file_numbers());
                    // The registry scans' digests, from the rows in hand.
                    batch.digests = jiekun_store::rules::digest::of_batch(cipher, &batch)?;
                    Ok(batch)
                });
                let failed = batch.is_err();
                // The writer stops receiving when a write fails: stop drawing then.
                if tx.send(batch).is_err() || failed {
                    return;
                }
                done += take;
            }
        });
        // Written batches are freed on a thread of their own: their millions of small strings
        // would otherwise be the one writer's time.
        let (spent, written) = mpsc::channel::<HouseholdBatch>();
        s.spawn(move || written.into_iter().for_each(drop));
        bulk::loading(conn, move |load| -> anyhow::Result<Written> {
            let mut made = Written::default();
            for batch in rx {
                let event = system_event(
                    "household.generate",
                    "household",
                    "",
                    serde_json::json!({"seed": seed, "region": REGION}),
                );
                let batch = batch?;
                made.add(load.write(&batch, event)?);
                // The freeing thread ends with the load; a batch it cannot take is freed here.
                let _ = spent.send(batch);
            }
            Ok(made)
        })
    })?;
    jiekun_store::conn::analyze(conn)?;
    Ok(format!(
        "generated {} households ({} members, {} income records, {} expenditure items) in 西乡县",
        made.households, made.members, made.incomes, made.expenditures
    ))
}
