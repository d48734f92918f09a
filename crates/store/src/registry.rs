//! The rules over a whole registry (what-if simulation, exit candidates, return-to-hardship
//! watch): the households of a scope are split into ranges of ids, and a few threads, each on a
//! connection of its own, read the snapshots of a range at a time and fold them. Results come
//! back in id order, so that the answer is the same as reading one household after another.

use std::sync::mpsc;
use std::sync::Mutex;

use chrono::NaiveDate;
use diesel::prelude::*;
use jiekun_domain::rules::Snapshot;

use crate::crypto::FieldCipher;
use crate::error::{StoreError, StoreResult};
use crate::rules::HouseholdFacts;
use crate::schema::households::dsl as h;
use crate::scope::Scope;
use crate::{DbConnection, Pool};

/// What to scan: the households of `scope` with one of `statuses`, as of `date`.
#[derive(Clone, Debug)]
pub struct Scan {
    pub scope: Scope,
    pub statuses: Vec<String>,
    pub date: NaiveDate,
    /// Households a range holds.
    pub per_range: usize,
    /// Threads reading ranges at once, each with a connection of its own.
    pub workers: usize,
}

impl Scan {
    pub fn new(scope: Scope, statuses: &[&str], date: NaiveDate) -> Scan {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Scan {
            scope,
            statuses: statuses.iter().map(|s| s.to_string()).collect(),
            date,
            per_range: 1000,
            workers: cores.clamp(1, 4),
        }
    }
}

/// The scope and status filters of a scan on a boxed households query.
macro_rules! filtered {
    ($q:expr, $scan:expr) => {{
        let mut q = $q;
        match &$scan.scope {
            Scope::Subtree { path, .. } => {
                q = q.filter(h::organisation_path.like(format!("{path}%")))
            }
            // Department keys never get here (`fold_ranges` answers nothing for them).
            Scope::Region(_) | Scope::All => {}
        }
        if !$scan.statuses.is_empty() {
            q = q.filter(h::status.eq_any($scan.statuses.clone()));
        }
        q
    }};
}

/// The households of `scan` with ids in `first..=last`, in id order.
fn households_between(
    conn: &mut DbConnection,
    scan: &Scan,
    first: &str,
    last: &str,
) -> StoreResult<Vec<HouseholdFacts>> {
    let mut q = h::households
        .select(HouseholdFacts::as_select())
        .filter(h::id.ge(first.to_owned()).and(h::id.le(last.to_owned())))
        .into_boxed();
    q = filtered!(q, scan);
    Ok(q.order(h::id.asc()).load(conn)?)
}

/// The next `limit` ids of `scan` after `after`, in order.
fn ids_after(
    conn: &mut DbConnection,
    scan: &Scan,
    after: Option<&str>,
    limit: usize,
) -> StoreResult<Vec<String>> {
    let mut q = h::households.select(h::id).into_boxed();
    q = filtered!(q, scan);
    if let Some(a) = after {
        q = q.filter(h::id.gt(a.to_owned()));
    }
    Ok(q.order(h::id.asc()).limit(limit as i64).load(conn)?)
}

/// Lists the ranges of `scan` in id order (ids only, a range at a time), handing each to `each`
/// with its index; stops when `each` answers `false`.
fn list_ranges(
    conn: &mut DbConnection,
    scan: &Scan,
    mut each: impl FnMut(usize, &str, &str) -> StoreResult<bool>,
) -> StoreResult<()> {
    let mut after: Option<String> = None;
    for index in 0.. {
        let ids = ids_after(conn, scan, after.as_deref(), scan.per_range.max(1))?;
        let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
            break;
        };
        if !each(index, first, last)? {
            break;
        }
        after = Some(last.clone());
    }
    Ok(())
}

/// Folds the snapshots of every household of `scan`, a range at a time, on `scan.workers`
/// threads (on the calling thread alone when `scan.workers` is 0); returns what `fold` made of
/// each range, in id order. The calling thread lists the
/// ranges (ids only) while the workers read them, with at most two ranges a worker waiting, so
/// memory does not grow with the registry.
pub fn fold_ranges<A, F>(
    pool: &Pool,
    cipher: &FieldCipher,
    scan: &Scan,
    fold: F,
) -> StoreResult<Vec<A>>
where
    A: Send,
    F: Fn(Vec<Snapshot>) -> A + Sync,
{
    // Department keys do not read household files.
    if matches!(scan.scope, Scope::Region(_)) {
        return Ok(Vec::new());
    }
    if scan.workers == 0 {
        let mut conn = pool.get()?;
        let mut ranges = Vec::new();
        list_ranges(&mut conn, scan, |_, first, last| {
            ranges.push((first.to_owned(), last.to_owned()));
            Ok(true)
        })?;
        let mut out = Vec::with_capacity(ranges.len());
        for (first, last) in ranges {
            let rows = households_between(&mut conn, scan, &first, &last)?;
            out.push(fold(crate::rules::scan_snapshots(
                &mut conn, cipher, rows, scan.date,
            )?));
        }
        return Ok(out);
    }
    let workers = scan.workers;
    let (send, receive) = mpsc::sync_channel::<(usize, String, String)>(workers * 2);
    let receive = Mutex::new(receive);
    let results: Mutex<Vec<(usize, A)>> = Mutex::new(Vec::new());
    let failure: Mutex<Option<StoreError>> = Mutex::new(None);
    std::thread::scope(|s| -> StoreResult<()> {
        for _ in 0..workers {
            s.spawn(|| {
                let run = || -> StoreResult<()> {
                    let mut conn = pool.get()?;
                    loop {
                        let next = receive.lock().map(|r| r.recv());
                        let Ok(Ok((index, first, last))) = next else {
                            return Ok(());
                        };
                        let rows = households_between(&mut conn, scan, &first, &last)?;
                        let snaps =
                            crate::rules::scan_snapshots(&mut conn, cipher, rows, scan.date)?;
                        let made = fold(snaps);
                        if let Ok(mut r) = results.lock() {
                            r.push((index, made));
                        }
                    }
                };
                if let Err(e) = run() {
                    if let Ok(mut f) = failure.lock() {
                        f.get_or_insert(e);
                    }
                    // Keep taking ranges (and dropping them) so that the lister never waits on
                    // a full channel; it stops listing once it sees the failure.
                    while let Ok(Ok(_)) = receive.lock().map(|r| r.recv()) {}
                }
            });
        }
        let listed = pool.get().and_then(|mut conn| {
            list_ranges(&mut conn, scan, |index, first, last| {
                let failed = failure.lock().map_or(true, |f| f.is_some());
                // After a failure (or once every worker stopped) the workers' error is the one
                // to report.
                Ok(!failed
                    && send
                        .send((index, first.to_owned(), last.to_owned()))
                        .is_ok())
            })
        });
        drop(send);
        listed
    })?;
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    Ok(results.into_iter().map(|(_, a)| a).collect())
}

/// Builds the digest of every household whose digest is empty (after a bulk load without
/// digests, a key rotation, or writes since the last scan), a range of empty ones at a time on
/// one connection, so that the next scan reads digests only; answers how many it built.
pub fn refresh_digests(conn: &mut DbConnection, cipher: &FieldCipher) -> StoreResult<usize> {
    use crate::schema::household_digests as d;
    let mut after = String::new();
    let mut built = 0;
    loop {
        let ids: Vec<String> = d::table
            .select(d::household_id)
            .filter(d::body.is_null())
            .filter(d::household_id.gt(&after))
            .order(d::household_id.asc())
            .limit(1000)
            .load(conn)?;
        let Some(last) = ids.last() else {
            return Ok(built);
        };
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        crate::rules::digest::refresh(conn, cipher, &refs)?;
        built += ids.len();
        after = last.clone();
    }
}
