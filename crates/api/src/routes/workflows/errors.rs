//! Steps that did not happen, as the API answers them.

use jiekun_domain::workflow::Refusal;
use jiekun_store::cases::{RefusedStep, StepError};
use jiekun_store::StoreError;

use super::super::households::file_error;
use crate::error::{ApiError, ErrorCode, FieldError};

/// A step that did not happen, as the API answers it.
pub(crate) fn step_error(e: StepError) -> ApiError {
    match e {
        StepError::NotFound(what) => ApiError::not_found(what, case_zh(what)),
        StepError::OutOfScope(what) => out_of_scope(what, case_zh(what)),
        StepError::Refused { refusal, step } => refusal_error(refusal, &step),
        StepError::NoticeRunning { ends_on } => {
            let next = ends_on.succ_opt().unwrap_or(ends_on);
            ApiError::new(
                ErrorCode::NoticeRunning,
                format!("the public notice runs until {ends_on} inclusive: it can be closed from {next}"),
                format!("公示期至 {ends_on}（含），{next} 起方可结束公示"),
            )
        }
        StepError::NoticeClosed { starts_on, ends_on } => ApiError::new(
            ErrorCode::NoticeClosed,
            format!("objections are received from {starts_on} to {ends_on} while the notice runs"),
            format!("异议受理期为公示期间，即 {starts_on} 至 {ends_on}"),
        ),
        StepError::MonitoringRunning { until } => ApiError::new(
            ErrorCode::MonitoringRunning,
            format!("monitoring runs until {until} inclusive"),
            format!("监测期至 {until}（含）"),
        ),
        StepError::VerificationPending { open, requested } => {
            let (en, zh) = if requested {
                (format!("{open} verification tasks are still unanswered: wait for the departments, or give `verification_override` with the reason"),
                 format!("尚有 {open} 项数据核对任务未答复：请等待部门答复，或在 verification_override 中说明理由"))
            } else {
                ("no verification was asked of the departments since the application opened: open one, or give `verification_override` with the reason".to_owned(),
                 "本次申请以来未向部门发起数据核对：请发起核对，或在 verification_override 中说明理由".to_owned())
            };
            ApiError::new(ErrorCode::VerificationPending, en, zh)
        }
        StepError::Stale { expected, actual } => {
            StoreError::VersionMismatch { expected, actual }.into()
        }
        StepError::Invalid {
            field,
            code,
            message,
            message_zh,
        } => ApiError::validation(vec![FieldError::new(field, code, message, message_zh)]),
        StepError::WrongState {
            message,
            message_zh,
        } => ApiError::new(ErrorCode::WrongState, message, message_zh),
        StepError::WrongRole {
            message,
            message_zh,
        } => ApiError::new(ErrorCode::WrongRole, message, message_zh),
        StepError::AlreadyOpen { kind, id } => already_open(kind, &id),
        StepError::Policy(m) => ApiError::internal(m),
        StepError::File(f) => file_error(f, "members"),
        StepError::Store(s) => s.into(),
    }
}

fn already_open(kind: &str, id: &str) -> ApiError {
    let (en, zh) = if kind == "exit_case" {
        ("an exit case", "退出事项")
    } else {
        ("an application", "建档申请")
    };
    ApiError::new(
        ErrorCode::AlreadyExists,
        format!("the household already has {en} on its way {id}")
            .trim_end()
            .to_owned(),
        format!("该家庭已有在办的{zh} {id}").trim_end().to_owned(),
    )
    .with_field(FieldError::new(
        "household_id",
        "case_open",
        format!("{en} is on its way"),
        format!("已有在办的{zh}"),
    ))
}

/// The Chinese name of what a step is about.
fn case_zh(what: &str) -> &'static str {
    match what {
        "household" => "档案",
        "exit case" => "退出事项",
        "public notice" => "公示",
        "objection" => "异议",
        _ => "建档申请",
    }
}

/// A refusal of the state machine, as the API answers it: in English by the codes, in Chinese
/// by the names of the state and the step.
fn refusal_error(r: Refusal, step: &RefusedStep) -> ApiError {
    let ((case, case_zh), (state, state_zh), (action, action_zh)) =
        (step.case, step.state, step.action);
    match r {
        Refusal::WrongState => ApiError::new(
            ErrorCode::WrongState,
            format!("the {case} is in state `{state}`: `{action}` cannot be taken now"),
            format!("该{case_zh}当前状态为“{state_zh}”，不能执行“{action_zh}”"),
        ),
        Refusal::WrongRole => ApiError::new(
            ErrorCode::WrongRole,
            format!("`{action}` on the {case} in state `{state}` belongs to another role"),
            format!("该{case_zh}处于“{state_zh}”状态，“{action_zh}”应由其他角色办理"),
        ),
        Refusal::NoticeRunning => ApiError::bare(ErrorCode::NoticeRunning),
        Refusal::OpenObjection => ApiError::new(
            ErrorCode::OpenObjection,
            "an objection to the notice is still open: resolve it first",
            "公示期间的异议尚未处理，请先处理异议",
        ),
        Refusal::ReasonRequired => ApiError::validation(vec![FieldError::new(
            "opinion",
            "required",
            "a reason or opinion is required for this step",
            "此操作须填写理由或意见",
        )]),
        Refusal::NotFastPath => ApiError::new(
            ErrorCode::NotFastPath,
            format!(
                "only death or transfer leaves without notice: `{action}` is not for this {case}"
            ),
            format!("仅死亡或迁出可免公示直接退出，该{case_zh}不能执行“{action_zh}”"),
        ),
    }
}

fn out_of_scope(what: &str, what_zh: &str) -> ApiError {
    ApiError::new(
        ErrorCode::OutOfScope,
        format!("this {what} lies outside your organisation's scope"),
        format!("该{what_zh}不在您所在组织的管辖范围内"),
    )
}
