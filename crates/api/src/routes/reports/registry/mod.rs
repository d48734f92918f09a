//! What each report counts: its title, parameters, columns and how its rows are read.

use chrono::{NaiveDateTime, TimeZone, Utc};
use jiekun_domain::household::{Month, MonthError};
use jiekun_domain::report::ReportName;
use jiekun_store::{DbConnection, Scope};

use super::dto::{Built, Cell, Column, ReportInfo, ReportQuery, ReportScope};
use crate::error::{ApiResult, FieldError};
use crate::routes::query_error;

mod rows;
mod timeliness;
use rows::{accountability, coverage, exceptions, flows};
use timeliness::timeliness;

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
        ReportName::Coverage => ("Coverage of the measures", "帮扶措施覆盖统计"),
        ReportName::Campaigns => ("Campaign spending against quotas", "帮扶活动额度使用统计"),
        ReportName::Exceptions => ("Exceptions", "异常情况统计"),
        ReportName::Timeliness => ("Timeliness of the workflow steps", "流程环节时效统计"),
        ReportName::Accountability => ("Accountability of the lead units", "牵头单位履职统计"),
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
        ReportName::Accountability => vec![
            Column::label("lead_unit", "lead unit", "牵头单位代码"),
            Column::label("lead_unit_name", "lead unit's name", "牵头单位"),
            Column::count("referrals", "referrals sent", "转介数"),
            Column::count("open", "not yet answered", "未答复"),
            Column::count("acknowledged", "taken up", "已受理"),
            Column::count("declined", "declined", "不予受理"),
            Column::count("delivered", "delivered", "已落实"),
            Column::count(
                "overdue",
                "past due, not delivered or declined",
                "逾期未办结",
            ),
            Column::label(
                "median_days_to_delivery",
                "days to delivery, median",
                "落实用时中位数（天）",
            ),
            Column::label(
                "p90_days_to_delivery",
                "days to delivery, 90th percentile",
                "落实用时第90百分位（天）",
            ),
            Column::count("verification_tasks", "verification tasks", "核对任务数"),
            Column::count("answered_on_time", "answered on time", "按期答复"),
            Column::count("answered_late", "answered late", "逾期答复"),
            Column::count("unanswered_overdue", "past due, unanswered", "逾期未答复"),
            Column::count(
                "contact_assignments",
                "dual-contact assignments standing (union)",
                "双包联系在册数（工会）",
            ),
            Column::count(
                "contact_visits",
                "their visits recorded (union)",
                "走访次数（工会）",
            ),
            Column::count(
                "contacts_behind_rhythm",
                "of them, longer without a visit than the policy allows (union)",
                "超过规定间隔未走访数（工会）",
            ),
        ],
        ReportName::Timeliness => vec![
            Column::label("case_kind", "kind of case", "事项类型"),
            Column::label("state", "workflow step", "流程环节"),
            Column::count("stays", "stays completed", "已完成停留次数"),
            Column::label("median_days", "days per stay, median", "停留天数中位数"),
            Column::label(
                "p90_days",
                "days per stay, 90th percentile",
                "停留天数第90百分位",
            ),
            Column::count("waiting", "cases still in the step", "仍在该环节的事项数"),
            Column::label(
                "longest_wait_days",
                "longest wait so far (days)",
                "最长已等待天数",
            ),
            Column::count(
                "short_of_policy",
                "notices published for a shorter period than the policy asks",
                "公示期短于政策规定的公示数",
            ),
            Column::count(
                "overdue",
                "past their due date (annual reviews)",
                "已逾期（年度复核）",
            ),
        ],
        ReportName::Campaigns => vec![
            Column::label("campaign_id", "campaign", "活动标识"),
            Column::label("campaign_name", "campaign's name", "活动名称"),
            Column::label("campaign_kind", "kind of campaign", "活动类型"),
            Column::label("organisation_id", "quota holder", "额度单位标识"),
            Column::label("organisation_name", "quota holder's name", "额度单位名称"),
            Column::label("level", "budget or quota", "预算或分配额度"),
            Column::label("quota_fen", "budget or quota (fen)", "额度（分）"),
            Column::label("payments", "payments in its subtree", "发放笔数"),
            Column::label("paid_fen", "paid in its subtree (fen)", "发放金额（分）"),
            Column::label("remaining_fen", "left (fen)", "剩余额度（分）"),
            Column::count(
                "over_quota_fen",
                "paid over the quota (fen)",
                "超出额度金额（分）",
            ),
        ],
        ReportName::Coverage => vec![
            Column::label("measure", "measure (《实施方案》三, 1–19)", "措施序号"),
            Column::label("measure_code", "measure", "措施代码"),
            Column::label("measure_name", "measure's name", "措施名称"),
            Column::label("clause", "clause of the plan", "政策依据"),
            Column::label("lead_unit", "lead unit", "牵头单位代码"),
            Column::count(
                "called_for",
                "filed households the rules called for it in",
                "按规则需要该措施的已建档户数",
            ),
            Column::count("referred", "of those, referred", "其中已转介户数"),
            Column::count(
                "assisted",
                "of those, with help recorded",
                "其中已登记帮扶户数",
            ),
            Column::count(
                "contacted",
                "of those, with a contact person (dual contact)",
                "其中已落实联系人户数（双包联系）",
            ),
            Column::count(
                "uncovered",
                "of those, with none of these",
                "其中尚未覆盖户数",
            ),
            Column::count(
                "dropped",
                "of the uncovered, dropped by staff with a reason",
                "未覆盖中经工作人员说明理由放弃的户数",
            ),
            Column::count(
                "unplanned",
                "counted without a plan proposal on record",
                "未提出帮扶计划建议而计入的户数",
            ),
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
        ReportName::Accountability => (
            "Per lead unit (a department, or the union for the measures it leads), as things stood at as_of for the households of the scope: referrals sent, by the state their timeline had reached; those past their due date and neither delivered nor declined; whole days (China Standard Time) from sending to delivery, median and 90th percentile by nearest rank (empty when none was delivered); verification tasks made, answered by their due date, answered after it, and past it unanswered. For the union, which leads dual contact (《实施方案》三(七)14), the last three columns count the contact assignments of the scope standing on the day of as_of, their visits recorded by then, and those that had gone longer without a visit (since the last one, or since the assignment began) than the policy's contact_visit_gap_days allows; they are empty for departments. The policy book is read as it stood at as_of; `policy_versions` lists the versions used.",
            "按牵头单位（部门，或牵头措施的工会），统计 as_of 时点管辖家庭的：已发转介数及各状态数量；超过期限仍未落实或不予受理的数量；自转介至落实的天数（北京时间整日）中位数和第90百分位（最近秩法，无落实时为空）；核对任务数、按期答复数、逾期答复数和逾期未答复数。工会牵头双包联系（《实施方案》三(七)14），其最后三列为管辖范围内 as_of 当日有效的联系安排数、截至当时登记的走访次数，以及自上次走访（或联系安排开始）以来超过政策参数 contact_visit_gap_days 规定天数未走访的联系安排数；部门的这三列为空。政策参数按 as_of 时点的版本读取，所用版本见 policy_versions。",
            vec![],
        ),
        ReportName::Timeliness => (
            "For filing applications and exit cases of the households of the scope, from their timeline up to as_of: for each workflow step, the stays completed (a case entering a step twice counts twice) with their whole days (China Standard Time) as median and 90th percentile by nearest rank, the cases still in the step at as_of and the longest of their waits. On the public-notice steps, `short_of_policy` counts the notices published by as_of (whatever became of them) whose period ends before the policy in force on their first day asks, counted in the holiday calendar (it should be zero). A last row, `annual_review` / `due`, counts in `stays` the annual reviews recorded by as_of, in `waiting` the households filed at as_of (each awaiting its next review) with in `longest_wait_days` the longest time since a filing or review, and in `overdue` those whose review fell due before the day of as_of: the due date the last review set, or the review interval after the last filing (for a household loaded without a filing step, the filing day on its record). The policy book is read as it stood at as_of; `policy_versions` lists the versions used.",
            "依据截至 as_of 的流程记录，统计管辖家庭的建档申请和退出事项在各流程环节的：已完成停留次数（同一事项两次进入同一环节计两次）及停留天数（北京时间整日）的中位数和第90百分位（最近秩法）；as_of 时仍在该环节的事项数及其中最长已等待天数。公示环节的 short_of_policy 为截至 as_of 已发布（不论结果）、按节假日安排计算公示期短于其首日适用政策规定的公示数（应为零）。最后一行 annual_review / due：stays 为截至 as_of 已登记的年度复核数，waiting 为 as_of 时点已建档（均待下次复核）的家庭数，longest_wait_days 为自建档或上次复核以来的最长天数，overdue 为复核到期日早于 as_of 当日的家庭数（到期日为上次复核确定的日期，或最近一次建档后加复核间隔；未经建档流程批量导入的家庭以其档案记载的建档日期计）。政策参数按 as_of 时点的版本读取，所用版本见 policy_versions。",
            vec![],
        ),
        ReportName::Campaigns => (
            "For each campaign made by as_of (送温暖, 金秋助学 and the others), one row per quota holder: the campaign's union with the whole budget (`level` budget) and each organisation below with the quota its parent gave it (`level` quota), as the quota stood at as_of (from the quotas' history); the payments recorded by then by the holder and the unions below it, with their amount; what is left of the quota; and any amount paid over it (it must be zero). A person sees the holders in their union's subtree; a department key, the campaigns of its region. The holders nest, so only `over_quota_fen` is summed in `totals`.",
            "对截至 as_of 已发起的每项活动（送温暖、金秋助学等），每个额度单位一行：发起工会及其总预算（level 为 budget），下级组织及上级分配的额度（level 为 quota），额度取 as_of 时点的数值（依据额度变更历史）；截至当时该单位及其下级工会登记的发放笔数和金额；剩余额度；以及超出额度的金额（应为零）。个人用户看到所在工会及下级的额度单位，部门密钥看到其所在地区的活动。额度单位逐级包含，totals 仅合计 over_quota_fen。",
            vec![],
        ),
        ReportName::Coverage => (
            "For each measure the plan rules can propose (《实施方案》三; 1, 16 and 19 never are), among the households of the scope filed at as_of: in how many the rules called for it — the measures of the household's last plan proposal made by as_of, and dual contact (14) and psychological care (15) for every filed household, as the rules propose them whatever the facts — and of those, how many had by as_of a referral of the measure (whatever became of it), help under it recorded and not reversed, or (dual contact) a contact person assigned on that day, and how many had none of these. Of the uncovered, `dropped` counts those where staff had dropped the measure from the plan with a reason; `unplanned` counts households filed without any plan proposal on record, which are counted for 14 and 15 only: propose their plan to have their facts looked at.",
            "对规则可建议的每项措施（《实施方案》三；第1、16、19项不由规则建议），统计 as_of 时点管辖范围内已建档家庭中：按规则需要该措施的户数（以截至 as_of 最近一次帮扶计划建议为准；双包联系（第14项）和心理疏导关怀（第15项）按规则适用于全部已建档家庭），其中截至 as_of 已转介该措施（不论结果）、已登记该措施帮扶且未冲正、或（双包联系）当日已落实联系人的户数，以及均无的户数。未覆盖户中，dropped 为工作人员已说明理由放弃该措施的户数；unplanned 为尚无帮扶计划建议记录的已建档家庭，仅计入第14、15项，应为其提出帮扶计划以核查其情况。",
            vec![],
        ),
        ReportName::Exceptions => (
            "What needs an auditor's attention at as_of, one row per kind (every kind, zeros included): discrepancies between declared and verified data flagged by then and not resolved by then; objections to public notices raised by then and not resolved by then; identity numbers in two or more household files active at as_of (it must be zero); households filed at as_of whose last identification assessment made by then found them not eligible; and help over a cap (it must be zero): for each household and calendar year, the help standing at as_of (entries less reversals recorded by then) under each measure above the per-measure cap, and in total above the yearly cap, each counted once, under the caps of the policy book as it stood at as_of for the household's region on the day of the year's last delivery (`policy_versions` lists them).",
            "as_of 时点须关注的异常，每类一行（含为零的类别）：截至该时点已发现但未处理的核对差异；已提出但未处理的公示异议；同一身份证号出现在两个以上有效档案中（应为零）；as_of 时点已建档、但截至该时点最近一次精准识别评估结论为不符合条件的家庭；帮扶金额超过上限（应为零）：按户按年度，截至 as_of 有效的帮扶金额（登记减截至该时点的冲正）单项措施超过单项上限、年度合计超过总上限的，各计一次，上限取 as_of 时点政策参数中该户所在地区在当年最后一次帮扶日期适用的版本（见 policy_versions）。",
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
            ReportName::Roster
            | ReportName::Coverage
            | ReportName::Campaigns
            | ReportName::Exceptions
            | ReportName::Accountability
            | ReportName::Timeliness => {
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

pub(super) fn month_text(m: Month) -> String {
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
    let mut policy_versions = Vec::new();
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
        (ReportName::Exceptions, _) => exceptions(c, scope, as_of, &mut policy_versions)?,
        (ReportName::Accountability, _) => accountability(c, scope, as_of, &mut policy_versions)?,
        (ReportName::Coverage, _) => coverage(c, scope, as_of)?,
        (ReportName::Campaigns, _) => jiekun_store::reports::campaigns_at(c, scope, as_of)?
            .into_iter()
            .map(|q| {
                let over = (q.paid_fen - q.quota_fen).max(0);
                vec![
                    q.campaign_id.into(),
                    q.campaign_name.into(),
                    q.campaign_kind.into(),
                    q.organisation_id.into(),
                    q.organisation_name.into(),
                    q.level.into(),
                    q.quota_fen.into(),
                    q.payments.into(),
                    q.paid_fen.into(),
                    (q.quota_fen - q.paid_fen).into(),
                    over.into(),
                ]
            })
            .collect(),
        (ReportName::Timeliness, _) => timeliness(c, scope, as_of, &mut policy_versions)?,
        (ReportName::Flows | ReportName::Assistance, Params::None) => Vec::new(),
    };
    Ok(Built {
        report: name,
        title: title(name),
        as_of: Utc.from_utc_datetime(&as_of),
        parameters: params.json(),
        scope: shown_scope,
        policy_versions,
        columns: columns(name),
        rows,
    })
}
