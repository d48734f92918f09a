//! What each report counts: its title, parameters, columns and how its rows are read.

use chrono::{NaiveDateTime, TimeZone, Utc};
use jiekun_domain::closed::ClosedList;
use jiekun_domain::household::{Month, MonthError};
use jiekun_domain::report::{ExceptionKind, ReportName};
use jiekun_domain::workflow::ExitGrounds;
use jiekun_store::{DbConnection, Scope};

use super::dto::{Built, Cell, Column, ReportInfo, ReportQuery, ReportScope};
use crate::error::{ApiResult, FieldError};
use crate::routes::query_error;

/// The most months a flows report spans.
const MAX_MONTHS: i32 = 120;

/// A report's own parameters, checked.
pub enum Params {
    None,
    Months { from: Month, to: Month },
}

fn title(name: ReportName) -> (&'static str, &'static str) {
    match name {
        ReportName::Roster => ("Roster of the register", "建档立卡家庭花名册统计"),
        ReportName::Flows => (
            "Flows in and out of the register",
            "建档、退出与返困流动统计",
        ),
        ReportName::Assistance => ("Assistance delivered", "帮扶落实统计"),
        ReportName::Exceptions => ("Exceptions", "异常情况统计"),
    }
}

fn columns(name: ReportName) -> Vec<Column> {
    match name {
        ReportName::Roster => vec![
            Column::label("region_code", "region", "行政区划"),
            Column::label("organisation_id", "union", "工会标识"),
            Column::label("organisation_name", "union name", "工会名称"),
            Column::label("category", "category", "困难类别"),
            Column::label("main_cause", "main cause", "主要致困原因"),
            Column::label("status", "status", "档案状态"),
            Column::count("households", "households", "户数"),
            Column::count("single_parent", "single-parent households", "单亲家庭户数"),
            Column::count(
                "disability_household",
                "households with a disabled member",
                "残疾人家庭户数",
            ),
            Column::count(
                "zero_employment",
                "zero-employment households",
                "零就业家庭户数",
            ),
        ],
        ReportName::Flows => vec![
            Column::label("month", "month", "月份"),
            Column::count("filed", "filed for the first time", "新建档户数"),
            Column::count(
                "returned",
                "returned to hardship (filed again)",
                "返困再建档户数",
            ),
            Column::count("exited", "exited, all grounds", "退出户数（合计）"),
            Column::count(
                "exited_out_of_hardship",
                "exited: out of hardship (脱困)",
                "脱困退出户数",
            ),
            Column::count(
                "exited_safety_net",
                "exited: hardship relieved (解困)",
                "解困退出户数",
            ),
            Column::count(
                "exited_other",
                "exited: death or transfer",
                "其他原因退出户数（死亡、迁出或转出）",
            ),
        ],
        ReportName::Assistance => vec![
            Column::label("month", "month delivered", "帮扶月份"),
            Column::label("measure", "measure (《实施方案》三, 1–19)", "措施序号"),
            Column::label("unit_kind", "kind of delivering unit", "落实单位类型"),
            Column::label("unit_id", "delivering unit", "落实单位标识"),
            Column::label("unit_name", "delivering unit's name", "落实单位名称"),
            Column::label("fund_source", "fund source", "资金来源"),
            Column::count("entries", "entries recorded", "登记笔数"),
            Column::count("reversed", "entries reversed", "冲正笔数"),
            Column::count(
                "households",
                "households with an entry standing",
                "受助户数",
            ),
            Column::count("amount_fen", "net amount (fen)", "净金额（分）"),
        ],
        ReportName::Exceptions => vec![
            Column::label("kind", "kind", "异常类型"),
            Column::label("meaning", "meaning", "说明（英文）"),
            Column::label("meaning_zh", "meaning in Chinese", "说明"),
            Column::count("items", "exceptions", "异常数"),
            Column::count("households", "households concerned", "涉及户数"),
        ],
    }
}

pub fn info(name: ReportName) -> ReportInfo {
    let (title, title_zh) = title(name);
    let (description, description_zh, parameters) = match name {
        ReportName::Roster => (
            "Households on the register at as_of — filed (建档立卡) or exited and monitored — by region, union, category, main cause and status, with how many carry each flag. Read from the register's history, so a past as_of shows the register as it stood then.",
            "as_of 时点在册家庭（已建档立卡或退出后监测中），按地区、工会、困难类别、主要致困原因和状态统计户数及各类家庭标识户数。取自档案历史，过去时点反映当时在册情况。",
            vec![],
        ),
        ReportName::Flows => (
            "Per month (China Standard Time) from `from` to `to`: households filed for the first time, filed again after an exit (returned to hardship, 返困), and exited by grounds, as recorded on the workflow timeline up to as_of, for the households of the scope as it stood at as_of.",
            "自 from 至 to 各月（北京时间）：首次建档户数、退出后再次建档（返困）户数及按退出类型的退出户数，取自截至 as_of 的流程记录，范围为 as_of 时点的管辖家庭。",
            vec!["from", "to"],
        ),
        ReportName::Assistance => (
            "The assistance ledger as recorded by as_of, for help delivered in the months from `from` to `to`, by month, measure, delivering unit (a department or a union) and fund source: entries recorded, how many of them were reversed by as_of, households with an entry still standing, and the net amount in fen (entries less reversals). A reversal counts in the month of the entry it corrects.",
            "截至 as_of 已登记的帮扶台账，帮扶日期在 from 至 to 各月，按月份、措施、落实单位（部门或工会）和资金来源统计：登记笔数、截至 as_of 已冲正笔数、仍有效帮扶的户数及净金额（分，登记减冲正）。冲正计入被冲正记录的月份。",
            vec!["from", "to"],
        ),
        ReportName::Exceptions => (
            "What needs an auditor's attention at as_of, one row per kind (every kind, zeros included): discrepancies between declared and verified data flagged by then and not resolved by then; objections to public notices raised by then and not resolved by then; identity numbers in two or more household files active at as_of (it must be zero).",
            "as_of 时点须关注的异常，每类一行（含为零的类别）：截至该时点已发现但未处理的核对差异；已提出但未处理的公示异议；同一身份证号出现在两个以上有效档案中（应为零）。",
            vec![],
        ),
    };
    ReportInfo {
        name: name.as_str().into(),
        title,
        title_zh,
        description,
        description_zh,
        parameters,
        columns: columns(name),
    }
}

/// A month of the report: `YYYY-MM`, not after the month of `as_of` (China Standard Time).
fn month_param(field: &'static str, text: &str, as_of: NaiveDateTime) -> ApiResult<Month> {
    let local = (as_of + chrono::TimeDelta::hours(8)).date();
    Month::parse(text, local).map_err(|e| {
        let (m, zh) = match e {
            MonthError::Future => (
                "must not be after the month of as_of",
                "不得晚于 as_of 所在月份",
            ),
            MonthError::Format => (
                "a month as YYYY-MM, such as 2026-01",
                "应为 YYYY-MM 格式的月份，如 2026-01",
            ),
        };
        query_error(FieldError::new(field, "invalid_value", m, zh))
    })
}

impl Params {
    pub fn parse(name: ReportName, q: &ReportQuery, as_of: NaiveDateTime) -> ApiResult<Params> {
        match name {
            ReportName::Roster | ReportName::Exceptions => {
                for (field, given) in [("from", &q.from), ("to", &q.to)] {
                    if given.is_some() {
                        return Err(query_error(FieldError::new(
                            field,
                            "not_allowed",
                            "this report takes no months: it counts what stood at as_of",
                            "该报表不接受月份参数：它统计 as_of 时点的情况",
                        )));
                    }
                }
                Ok(Params::None)
            }
            ReportName::Flows | ReportName::Assistance => {
                let to = match &q.to {
                    Some(t) => month_param("to", t, as_of)?,
                    None => Month::of((as_of + chrono::TimeDelta::hours(8)).date()),
                };
                let from = match &q.from {
                    Some(f) => month_param("from", f, as_of)?,
                    None => (0..11).fold(to, |m, _| m.prev()),
                };
                let span = months_between(from, to);
                if !(0..MAX_MONTHS).contains(&span) {
                    return Err(query_error(FieldError::new(
                        "from",
                        "out_of_range",
                        "from must not be after to, and the report spans at most 120 months",
                        "from 不得晚于 to，且报表跨度不超过 120 个月",
                    )));
                }
                Ok(Params::Months { from, to })
            }
        }
    }

    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        if let Params::Months { from, to } = self {
            m.insert("from".into(), month_text(*from).into());
            m.insert("to".into(), month_text(*to).into());
        }
        m
    }
}

fn months_between(from: Month, to: Month) -> i32 {
    to.key() / 100 * 12 + to.key() % 100 - (from.key() / 100 * 12 + from.key() % 100)
}

fn month_text(m: Month) -> String {
    format!("{:04}-{:02}", m.year, m.month)
}

/// Reads the report's rows.
pub fn build(
    c: &mut DbConnection,
    scope: &Scope,
    shown_scope: ReportScope,
    name: ReportName,
    as_of: NaiveDateTime,
    params: Params,
) -> ApiResult<Built> {
    let rows: Vec<Vec<Cell>> = match (&name, &params) {
        (ReportName::Roster, _) => jiekun_store::reports::roster(c, scope, as_of)?
            .into_iter()
            .map(|r| {
                vec![
                    r.region_code.into(),
                    r.organisation_id.into(),
                    r.organisation_name.into(),
                    r.category.into(),
                    r.main_cause.into(),
                    r.status.into(),
                    r.households.into(),
                    r.single_parent.into(),
                    r.disability_household.into(),
                    r.zero_employment.into(),
                ]
            })
            .collect(),
        (ReportName::Flows, Params::Months { from, to }) => flows(c, scope, as_of, *from, *to)?,
        (ReportName::Assistance, Params::Months { from, to }) => jiekun_store::reports::assistance(
            c,
            scope,
            as_of,
            &month_text(*from),
            &month_text(*to),
        )?
        .into_iter()
        .map(|r| {
            vec![
                r.month.into(),
                r.measure_number.into(),
                r.unit_kind.into(),
                r.unit_id.into(),
                r.unit_name.into(),
                r.fund_source.into(),
                r.entries.into(),
                r.reversed.into(),
                r.households.into(),
                r.amount_fen.into(),
            ]
        })
        .collect(),
        (ReportName::Exceptions, _) => {
            let found = jiekun_store::reports::exceptions(c, scope, as_of)?;
            ExceptionKind::ALL
                .iter()
                .map(|k| {
                    let (items, households) = found
                        .iter()
                        .find(|r| r.kind == k.as_str())
                        .map_or((0, 0), |r| (r.items, r.households));
                    vec![
                        Cell::Text(k.as_str().into()),
                        Cell::Text(k.meaning_en().into()),
                        Cell::Text(k.meaning_zh().into()),
                        items.into(),
                        households.into(),
                    ]
                })
                .collect()
        }
        (ReportName::Flows | ReportName::Assistance, Params::None) => Vec::new(),
    };
    Ok(Built {
        report: name,
        title: title(name),
        as_of: Utc.from_utc_datetime(&as_of),
        parameters: params.json(),
        scope: shown_scope,
        policy_versions: Vec::new(),
        columns: columns(name),
        rows,
    })
}

/// One row per month, every month of the span, zeros included.
fn flows(
    c: &mut DbConnection,
    scope: &Scope,
    as_of: NaiveDateTime,
    from: Month,
    to: Month,
) -> ApiResult<Vec<Vec<Cell>>> {
    let found = jiekun_store::reports::flows(c, scope, as_of, &month_text(from), &month_text(to))?;
    let mut out = Vec::new();
    let mut m = from;
    loop {
        let key = month_text(m);
        let count = |kind: &str, grounds: &[&str]| -> i64 {
            found
                .iter()
                .filter(|r| r.month == key && r.kind == kind)
                .filter(|r| grounds.is_empty() || grounds.contains(&r.grounds.as_str()))
                .map(|r| r.households)
                .sum()
        };
        out.push(vec![
            Cell::Text(key.clone()),
            count("filed", &[]).into(),
            count("returned", &[]).into(),
            count("exited", &[]).into(),
            count("exited", &[ExitGrounds::OutOfHardship.as_str()]).into(),
            count("exited", &[ExitGrounds::SafetyNet.as_str()]).into(),
            count(
                "exited",
                &[ExitGrounds::Death.as_str(), ExitGrounds::Transfer.as_str()],
            )
            .into(),
        ]);
        if m == to {
            break;
        }
        m = m.next();
    }
    Ok(out)
}
