//! Checking an answer file row by row, then applying it: rows of one task stand together, so a
//! task's facts are gathered while the file streams past, twice (check, then apply).

use std::collections::{HashMap, HashSet};
use std::io::Read;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiekun_domain::verification::{DataDomain, Fact};
use serde_json::json;

use super::apply::apply_chunk;
use super::format::{self, FileError, Format, Row};
use super::{BatchRow, ImportError, Imported, Manifest, RowProblem};
use crate::audit;
use crate::conn::DbConnection;
use crate::measures::split_ids;
use crate::schema::{
    exchange_batch_tasks as batch_tasks, exchange_batches as batches, verification_tasks as tasks,
};
use crate::sharing::answers::check_against;
use crate::sharing::{Doer, MeasureError, MeasureResult, TaskRow};

/// A task of the batch, as the rows are checked against it.
struct Asked {
    task: TaskRow,
    domain: DataDomain,
    members: Vec<String>,
}

fn load_batch_tasks(c: &mut DbConnection, batch_id: &str) -> MeasureResult<HashMap<String, Asked>> {
    let rows: Vec<TaskRow> = tasks::table
        .inner_join(batch_tasks::table.on(batch_tasks::task_id.eq(tasks::id)))
        .filter(batch_tasks::batch_id.eq(batch_id))
        .select(TaskRow::as_select())
        .load(c)?;
    rows.into_iter()
        .map(|t| {
            let domain = t
                .domain
                .parse()
                .map_err(|_| MeasureError::Policy(format!("unknown domain {}", t.domain)))?;
            Ok((
                t.id.clone(),
                Asked {
                    members: split_ids(&t.member_ids),
                    domain,
                    task: t,
                },
            ))
        })
        .collect()
}

/// The fact a row states, or its problems.
fn fact_of(row: &Row, asked: &Asked, today: NaiveDate) -> Result<Fact, Vec<RowProblem>> {
    let mut problems = Vec::new();
    let mut bad = |field: &str, code: &'static str, en: String, zh: String| {
        problems.push(RowProblem {
            line: row.line,
            field: field.to_owned(),
            code,
            en,
            zh,
        })
    };
    let int =
        |field: &str, bad: &mut dyn FnMut(&str, &'static str, String, String)| -> Option<i64> {
            let v = row.get(field)?;
            v.parse::<i64>()
                .map_err(|_| {
                    bad(
                        field,
                        "invalid",
                        format!("`{v}` is not a whole number"),
                        format!("“{v}”不是整数"),
                    )
                })
                .ok()
        };
    if let Some(d) = row.get("domain") {
        if d != asked.domain.as_str() {
            bad(
                "domain",
                "wrong_domain",
                format!("this task asks about `{}` only", asked.domain.as_str()),
                "数据类别与任务不符".into(),
            );
        }
    }
    let as_of = match row
        .get("as_of")
        .map(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d"))
    {
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => {
            bad(
                "as_of",
                "invalid",
                "a date is written YYYY-MM-DD".into(),
                "日期格式为 YYYY-MM-DD".into(),
            );
            None
        }
        None => None,
    };
    let count = int("count", &mut bad);
    let amount_fen = int("amount_fen", &mut bad);
    let area_dm2 = row.get("area_m2").and_then(|v| {
        match v
            .parse::<f64>()
            .ok()
            .map(jiekun_domain::household::area_hundredths)
        {
            Some(Ok(a)) => Some(a),
            _ => {
                bad(
                    "area_m2",
                    "invalid",
                    "an area is square metres with at most two decimals".into(),
                    "面积为平方米，最多两位小数".into(),
                );
                None
            }
        }
    });
    let month =
        row.get("month")
            .and_then(|v| match jiekun_domain::household::Month::parse(v, today) {
                Ok(m) => Some(m.key()),
                Err(_) => {
                    bad(
                        "month",
                        "invalid",
                        "a month is written YYYY-MM, not after this month".into(),
                        "月份格式为 YYYY-MM，且不晚于本月".into(),
                    );
                    None
                }
            });
    let fact = Fact {
        member_id: row.get("member_id").unwrap_or_default().to_owned(),
        domain: Some(asked.domain),
        as_of: as_of.or(if row.get("as_of").is_some() {
            Some(today)
        } else {
            None
        }),
        count,
        area_dm2,
        status: row.get("status").map(str::to_owned),
        month,
        amount_fen,
    };
    for p in fact.check(today) {
        if !problems.iter().any(|q| q.field == p.field) {
            problems.push(RowProblem {
                line: row.line,
                field: p.field.to_owned(),
                code: p.code,
                en: p.en,
                zh: p.zh,
            });
        }
    }
    if !asked.members.contains(&fact.member_id) {
        problems.push(RowProblem {
            line: row.line,
            field: "member_id".into(),
            code: "not_asked",
            en: "this task does not ask about this member".into(),
            zh: "该任务未要求核对此成员".into(),
        });
    }
    if problems.is_empty() {
        Ok(fact)
    } else {
        Err(problems)
    }
}

/// The most bad rows an answer lists (their total is always given).
pub const MAX_PROBLEMS: usize = 1000;

/// How many tasks apply together: enough that each statement carries thousands of rows, few
/// enough that a chunk's rows stay small in memory.
pub const CHUNK_TASKS: usize = 1000;

/// Applies an answer file whose manifest checked out: `text` opens the file decoded to UTF-8
/// (twice: every row is checked before any is applied). Rows of one task stand together. Writes the
/// facts of every task answered, [`CHUNK_TASKS`] tasks at a time, marks the batch imported, and
/// audits the import once. Call it inside one transaction: nothing applies unless all does.
pub fn import_rows<R: Read>(
    c: &mut DbConnection,
    doer: &Doer,
    when: (NaiveDateTime, NaiveDate),
    b: &BatchRow,
    manifest: &Manifest,
    format: Format,
    text: impl FnMut() -> std::io::Result<R>,
) -> Result<Imported, ImportError> {
    import_rows_in_chunks(c, doer, when, b, manifest, (format, CHUNK_TASKS), text)
}

/// [`import_rows`] with the number of tasks applied together.
pub fn import_rows_in_chunks<R: Read>(
    c: &mut DbConnection,
    doer: &Doer,
    (at, today): (NaiveDateTime, NaiveDate),
    b: &BatchRow,
    manifest: &Manifest,
    (format, chunk_tasks): (Format, usize),
    mut text: impl FnMut() -> std::io::Result<R>,
) -> Result<Imported, ImportError> {
    let chunk_tasks = chunk_tasks.max(1);
    let asked = load_batch_tasks(c, &b.id)?;
    let mut problems: Vec<RowProblem> = Vec::new();
    let mut total = 0u64;
    let mut seen: HashSet<String> = HashSet::new();
    let mut current: Option<(String, u64, Vec<Fact>)> = None;
    let finish =
        |cur: Option<(String, u64, Vec<Fact>)>, problems: &mut Vec<RowProblem>, total: &mut u64| {
            if let Some((task, line, facts)) = cur {
                if let Some(a) = asked.get(&task) {
                    for (field, code, en, zh) in check_against(&a.task, &facts) {
                        if code == "member_unanswered" {
                            *total += 1;
                            problems.push(RowProblem {
                                line,
                                field: field.replace("facts", "member_id"),
                                code,
                                en,
                                zh,
                            });
                        }
                    }
                }
            }
        };
    let open = |e: std::io::Error| ImportError::File(FileError::Io(e.to_string()));
    let rows = format::read_rows(text().map_err(open)?, format, |row| {
        let task = row.get("task_id").unwrap_or_default().to_owned();
        let mut report = |p: RowProblem| {
            total += 1;
            if problems.len() < MAX_PROBLEMS {
                problems.push(p);
            }
        };
        let Some(a) = asked.get(&task) else {
            report(RowProblem {
                line: row.line,
                field: "task_id".into(),
                code: "not_in_batch",
                en: "this task is not in the batch".into(),
                zh: "该任务不在本批次中".into(),
            });
            return Ok(());
        };
        if a.task.status != "open" {
            report(RowProblem {
                line: row.line,
                field: "task_id".into(),
                code: "answered",
                en: "this task is already answered".into(),
                zh: "该任务已答复".into(),
            });
            return Ok(());
        }
        if current.as_ref().is_none_or(|(t, _, _)| *t != task) {
            if seen.contains(&task) {
                report(RowProblem {
                    line: row.line,
                    field: "task_id".into(),
                    code: "not_together",
                    en: "the rows of one task stand together".into(),
                    zh: "同一任务的各行须相邻".into(),
                });
                return Ok(());
            }
            seen.insert(task.clone());
            let done = current.replace((task.clone(), row.line, Vec::new()));
            let mut extra = Vec::new();
            let mut t = 0;
            finish(done, &mut extra, &mut t);
            for p in extra {
                report(p);
            }
        }
        match fact_of(&row, a, today) {
            Ok(f) => {
                if let Some((_, _, facts)) = current.as_mut() {
                    facts.push(f);
                }
            }
            Err(ps) => {
                // A row with a problem still names its member, for the check that each is answered.
                if let Some((_, _, facts)) = current.as_mut() {
                    facts.push(Fact {
                        member_id: row.get("member_id").unwrap_or_default().to_owned(),
                        ..Fact::default()
                    });
                }
                for p in ps {
                    report(p);
                }
            }
        }
        Ok(())
    })
    .map_err(ImportError::File)?;
    let mut extra = Vec::new();
    let mut t = 0;
    finish(current.take(), &mut extra, &mut t);
    total += t;
    problems.extend(
        extra
            .into_iter()
            .take(MAX_PROBLEMS.saturating_sub(problems.len())),
    );
    if rows != manifest.rows {
        total += 1;
        problems.insert(
            0,
            RowProblem {
                line: 0,
                field: "rows".into(),
                code: "row_count",
                en: format!(
                    "the manifest says {} rows; the file holds {rows}",
                    manifest.rows
                ),
                zh: format!("清单载明 {} 行，文件实有 {rows} 行", manifest.rows),
            },
        );
    }
    if total > 0 {
        return Err(ImportError::Rows(problems, total));
    }
    // Every row checked out: apply, a chunk of tasks at a time.
    let mut answered = 0u64;
    let mut flagged = 0u64;
    let by = format!("{} (exchange {})", doer.name, b.id);
    let mut failure: Option<MeasureError> = None;
    let mut chunk: Vec<(&TaskRow, Vec<Fact>)> = Vec::with_capacity(chunk_tasks);
    let mut flush = |chunk: &mut Vec<(&TaskRow, Vec<Fact>)>,
                     c: &mut DbConnection|
     -> Result<(), MeasureError> {
        flagged += apply_chunk(c, &by, at, &b.id, chunk)?;
        answered += chunk.len() as u64;
        chunk.clear();
        Ok(())
    };
    format::read_rows(text().map_err(open)?, format, |row| {
        if failure.is_some() {
            return Ok(());
        }
        let Some(a) = asked.get(row.get("task_id").unwrap_or_default()) else {
            return Ok(());
        };
        let Ok(fact) = fact_of(&row, a, today) else {
            return Ok(());
        };
        if chunk.last().is_none_or(|(t, _)| t.id != a.task.id) {
            if chunk.len() >= chunk_tasks {
                if let Err(e) = flush(&mut chunk, c) {
                    failure = Some(e);
                    return Ok(());
                }
            }
            chunk.push((&a.task, Vec::new()));
        }
        if let Some((_, facts)) = chunk.last_mut() {
            facts.push(fact);
        }
        Ok(())
    })
    .map_err(ImportError::File)?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    flush(&mut chunk, c)?;
    let n = diesel::update(
        batches::table
            .find(&b.id)
            .filter(batches::imported_at.is_null()),
    )
    .set((
        batches::imported_sha256.eq(Some(manifest.sha256.to_ascii_lowercase())),
        batches::imported_rows.eq(Some(rows as i64)),
        batches::imported_by.eq(Some(&doer.name)),
        batches::imported_at.eq(Some(at)),
    ))
    .execute(c)?;
    if n == 0 {
        return Err(ImportError::AnsweredByAnother);
    }
    audit::append(
        c,
        doer.caller.event("exchange.import", "exchange_batch", &b.id,
            json!({"department_id": b.department_id, "rows": rows, "tasks": answered, "discrepancies": flagged, "sha256": manifest.sha256})),
    )?;
    Ok(Imported {
        batch_id: b.id.clone(),
        applied: true,
        rows,
        tasks: answered,
        discrepancies: flagged,
    })
}
