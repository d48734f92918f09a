//! Closed lists in the contract: a field that holds a value of a closed list is documented as a
//! string enum of its codes, described with what each code means in English and Chinese. Used
//! as `#[schema(schema_with = closed::<List>)]` (inline schemas, headed by what the list is).

use jiekun_domain::closed::ClosedList;
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::Array;

/// The list's name and every code with its meaning, in both languages.
fn described<T: ClosedList>() -> String {
    let mut d = format!("{} · {}\n", T::ABOUT.0, T::ABOUT.1);
    for v in T::values() {
        d.push_str(&format!(
            "\n- `{}`: {} · {}",
            v.code(),
            v.meaning_en(),
            v.meaning_zh()
        ));
    }
    d
}

fn codes<T: ClosedList>() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(T::codes()))
        .description(Some(described::<T>()))
}

/// A value of the list `T`.
pub(crate) fn closed<T: ClosedList>() -> Object {
    codes::<T>().build()
}

/// A value of the list `T`, or `null`.
pub(crate) fn closed_or_null<T: ClosedList>() -> Object {
    let mut values: Vec<serde_json::Value> = T::codes().into_iter().map(Into::into).collect();
    values.push(serde_json::Value::Null);
    codes::<T>()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
        .build()
}

/// Values of the list `T`.
pub(crate) fn closed_array<T: ClosedList>() -> Array {
    ArrayBuilder::new().items(codes::<T>()).build()
}

/// One list inside a union: what it is, and its codes with their meanings.
struct Part {
    about: (&'static str, &'static str),
    values: Vec<(&'static str, &'static str, &'static str)>,
}

fn part<T: ClosedList>() -> Part {
    Part {
        about: T::ABOUT,
        values: T::values()
            .iter()
            .map(|v| (v.code(), v.meaning_en(), v.meaning_zh()))
            .collect(),
    }
}

/// A value of any of several lists (a field that holds, say, a filing or an exit state): one
/// enum of every code, described list by list.
fn union(parts: &[Part]) -> ObjectBuilder {
    let mut codes: Vec<&str> = Vec::new();
    let mut d = String::new();
    for p in parts {
        d.push_str(&format!("{} · {}\n", p.about.0, p.about.1));
        for (code, en, zh) in &p.values {
            d.push_str(&format!("\n- `{code}`: {en} · {zh}"));
            if !codes.contains(code) {
                codes.push(code);
            }
        }
        d.push_str("\n\n");
    }
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(codes))
        .description(Some(d.trim_end().to_owned()))
}

fn or_null(o: ObjectBuilder, parts: &[Part]) -> Object {
    let mut values: Vec<serde_json::Value> = Vec::new();
    for p in parts {
        for (code, _, _) in &p.values {
            let v = serde_json::Value::from(*code);
            if !values.contains(&v) {
                values.push(v);
            }
        }
    }
    values.push(serde_json::Value::Null);
    o.schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
        .build()
}

jiekun_domain::closed_list! {
    /// Events on a case's timeline beyond the steps of filing and exit.
    CaseEvent ("Other events on a timeline", "办理记录中的其他事项") {
        Open = "open" ("a case was opened", "开启办理"),
        Propose = "propose" ("an exit was proposed", "提出退出"),
        Review = "review" ("an annual review was recorded", "记录年度复核"),
        CloseMonitoring = "close_monitoring" ("the monitoring period was closed", "结束返困监测"),
    }
}

jiekun_domain::closed_list! {
    /// Events of a household's measures on its timeline (《实施方案》三).
    MeasureEvent ("Events of a household's measures", "帮扶措施办理记录") {
        ProposePlan = "propose_plan" ("measures were proposed for the household's plan", "生成帮扶措施建议"),
        AcceptMeasure = "accept_measure" ("a proposed measure was accepted and referred to its lead unit", "采纳措施并转介牵头单位"),
        DropMeasure = "drop_measure" ("a proposed measure was dropped, with a reason", "放弃建议措施"),
        AddMeasure = "add_measure" ("staff added a measure and referred it to its lead unit", "添加措施并转介牵头单位"),
        RecordAssistance = "record_assistance" ("help given was recorded in the assistance ledger", "登记帮扶记录"),
        ReverseAssistance = "reverse_assistance" ("an assistance entry was reversed", "冲正帮扶记录"),
    }
}

jiekun_domain::closed_list! {
    /// Units named in the catalogue of measures that are not partner departments.
    OtherUnit ("Units that are not partner departments", "非合作部门的责任单位") {
        Towns = "towns" ("towns and sub-districts (local government)", "各镇（街道）"),
        GrassrootsUnions = "grassroots_unions" ("the grassroots unions", "各基层工会"),
        RelatedDepartments = "related_departments" ("whichever departments a case needs", "相关部门（单位）"),
    }
}

fn departments() -> Part {
    Part {
        about: ("Kind of partner department", "合作部门类型"),
        values: jiekun_domain::DepartmentCode::ALL
            .iter()
            .map(|d| (d.as_str(), d.name_en(), d.name_zh()))
            .collect(),
    }
}

/// A partner department's kind (`union`: the union itself).
pub(crate) fn department_code() -> Object {
    union(&[departments()]).build()
}

/// A unit of the catalogue of measures: a department kind or another unit.
pub(crate) fn unit_code() -> Object {
    union(&[departments(), part::<OtherUnit>()]).build()
}

jiekun_domain::closed_list! {
    /// What a queue item waits in, beyond the states of filing and exit.
    WaitState ("Other waiting states", "其他待办状态") {
        Open = "open" ("an objection waits to be resolved", "异议待处理"),
        Due = "due" ("an annual review falls due within 30 days", "年度复核 30 天内到期"),
        Overdue = "overdue" ("an annual review is past due", "年度复核已逾期"),
        Monitoring = "monitoring" ("a monitored household's period is over", "返困监测期已满"),
    }
}

jiekun_domain::closed_list! {
    /// What the caller may do on a queue item, beyond the steps of filing and exit.
    QueueAction ("Other actions on a queue item", "待办事项的其他操作") {
        Resolve = "resolve" ("resolve the objection", "处理异议"),
        Review = "review" ("record the annual review", "记录年度复核"),
        CloseMonitoring = "close_monitoring" ("close the monitoring period", "结束返困监测"),
    }
}

jiekun_domain::closed_list! {
    /// Which annual reviews to list.
    DueStatus ("Which reviews", "复核到期情况") {
        Due = "due" ("due within 30 days, or overdue", "30 天内到期及已逾期"),
        Overdue = "overdue" ("past due only", "仅已逾期"),
    }
}

jiekun_domain::closed_list! {
    /// Who calls the API.
    CallerKind ("Kind of caller", "调用方类型") {
        User = "user" ("a signed-in person", "登录用户"),
        ApiKey = "api_key" ("a partner department's system, by API key", "部门系统（API 密钥）"),
    }
}

jiekun_domain::closed_list! {
    /// How an audited attempt ended.
    AuditOutcome ("Outcome of an audited attempt", "审计事件结果") {
        Success = "success" ("done", "成功"),
        Denied = "denied" ("refused to the caller", "被拒绝"),
        Failure = "failure" ("failed", "失败"),
    }
}

use jiekun_domain::workflow::{ExitAction, ExitState, FilingAction, FilingState, ReviewOutcome};

/// What was done on a timeline: a step of filing or exit, or another event.
pub(crate) fn timeline_action() -> Object {
    union(&[
        part::<FilingAction>(),
        part::<ExitAction>(),
        part::<CaseEvent>(),
        part::<MeasureEvent>(),
        part::<jiekun_domain::assistance::ReferralAction>(),
    ])
    .build()
}

/// A state of filing or exit, or `null`.
pub(crate) fn case_state_or_null() -> Object {
    let parts = [
        part::<FilingState>(),
        part::<ExitState>(),
        part::<jiekun_domain::assistance::ReferralStatus>(),
    ];
    or_null(union(&parts), &parts)
}

/// The state after a timeline event: of filing or exit, a review's outcome or a household status.
pub(crate) fn timeline_to_state() -> Object {
    let parts = [
        part::<FilingState>(),
        part::<ExitState>(),
        part::<ReviewOutcome>(),
        part::<jiekun_domain::household::HouseholdStatus>(),
        part::<jiekun_domain::assistance::PlanItemStatus>(),
        part::<jiekun_domain::assistance::ReferralStatus>(),
    ];
    or_null(union(&parts), &parts)
}

/// Comma-separated states of filing or exit (a query parameter).
pub(crate) fn case_states() -> Array {
    ArrayBuilder::new()
        .items(union(&[part::<FilingState>(), part::<ExitState>()]))
        .build()
}

/// What a queue item waits in.
pub(crate) fn queue_state() -> Object {
    union(&[
        part::<FilingState>(),
        part::<ExitState>(),
        part::<WaitState>(),
    ])
    .build()
}

/// What the caller may do on a queue item.
pub(crate) fn queue_actions() -> Array {
    ArrayBuilder::new()
        .items(union(&[
            part::<FilingAction>(),
            part::<ExitAction>(),
            part::<QueueAction>(),
            part::<jiekun_domain::assistance::ReferralAction>(),
        ]))
        .build()
}

/// What identification or the exit rule finds.
pub(crate) fn verdict() -> Object {
    use jiekun_domain::rules::{ExitVerdict, Verdict};
    union(&[part::<Verdict>(), part::<ExitVerdict>()]).build()
}
