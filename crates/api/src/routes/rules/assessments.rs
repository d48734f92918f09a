//! Assessments of a household: made and stored with their snapshot, listed with their
//! explanation, and replayed.

use actix_web::{get, post, web, HttpResponse};
use chrono::NaiveDate;
use jiekun_domain::access::Action;
use jiekun_domain::closed::ClosedList;
use jiekun_domain::household::HouseholdStatus;
use jiekun_domain::rules::{ParamKey, PolicyBook, PolicyError};
use jiekun_store::rules::{self as store, AssessmentRow, Stored};

use super::dto::{Assessment, AssessmentKind, NewAssessment, PolicyParameter, Replay};
use super::explain;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::extract::Posted;
use crate::routes::{not_found, utc};
use crate::{db, AppState};

/// No policy for the household's region on the date.
fn policy_error(e: PolicyError) -> ApiError {
    let zh = match &e {
        PolicyError::Missing { key, region, date } => {
            format!("{date} 区划 {region} 没有生效的政策参数 {key}")
        }
        PolicyError::WrongType { key } => format!("政策参数 {key} 的取值类型不正确"),
    };
    ApiError::validation(vec![FieldError::new(
        "date",
        "no_policy",
        e.to_string(),
        zh,
    )])
}

/// An exit assessment of a household that is not on file.
fn not_on_file(status: &str) -> ApiError {
    let status_zh = HouseholdStatus::from_code(status).map_or("未知", |s| s.meaning_zh());
    ApiError::new(
        ErrorCode::HouseholdNotFiled,
        format!(
            "exit (《实施方案》二(二)) is assessed only for a filed household, or one that has \
             exited since; this household is `{status}`"
        ),
        format!(
            "按《实施方案》二(二)，退出评估仅适用于已建档立卡（或已退出）的家庭；该家庭档案状态为“{status_zh}”"
        ),
    )
}

fn kind_of(s: &str) -> AssessmentKind {
    match store::AssessmentKind::of(s) {
        store::AssessmentKind::Exit => AssessmentKind::Exit,
        store::AssessmentKind::Identify => AssessmentKind::Identify,
    }
}

fn answer(row: AssessmentRow, stored: &Stored) -> ApiResult<Assessment> {
    let kind = kind_of(&row.kind);
    let decision: serde_json::Value =
        serde_json::from_str(&row.decision).map_err(ApiError::internal)?;
    let explanation = match kind {
        AssessmentKind::Identify => explain::explain_identify(
            &serde_json::from_value(decision.clone()).map_err(ApiError::internal)?,
        ),
        AssessmentKind::Exit => explain::explain_exit(
            &serde_json::from_value(decision.clone()).map_err(ApiError::internal)?,
        ),
    };
    let used = used_parameters(stored);
    Ok(Assessment {
        id: row.id,
        household_id: row.household_id,
        kind,
        assessment_date: row.assessment_date,
        verdict: row.verdict,
        decision,
        explanation,
        parameters: used,
        hash: row.hash,
        created_by: row.created_by,
        created_at: utc(row.created_at),
    })
}

/// The versions in force on the assessment date among those stored with it.
fn used_parameters(stored: &Stored) -> Vec<PolicyParameter> {
    let book = PolicyBook {
        parameters: stored.parameters.clone(),
    };
    ParamKey::ALL
        .iter()
        .filter_map(|k| {
            book.lookup(
                *k,
                &stored.snapshot.region_code,
                stored.snapshot.assessment_date,
            )
            .ok()
        })
        .map(PolicyParameter::from)
        .collect()
}

fn open_stored(
    cipher: &jiekun_store::crypto::FieldCipher,
    row: &AssessmentRow,
) -> ApiResult<(String, Stored)> {
    let json = cipher
        .decrypt(&store::snapshot_context(&row.id), &row.snapshot_enc)
        .map_err(ApiError::internal)?;
    let stored: Stored = serde_json::from_str(&json).map_err(ApiError::internal)?;
    Ok((json, stored))
}

/// What to assess and on which date (today by default, never in the future).
fn assessment_of(
    body: &NewAssessment,
    today: NaiveDate,
) -> ApiResult<(store::AssessmentKind, NaiveDate)> {
    let date = body.date.unwrap_or(today);
    if date > today {
        return Err(ApiError::validation(vec![FieldError::new(
            "date",
            "in_the_future",
            "the assessment date is not in the future",
            "评估日期不能晚于今天",
        )]));
    }
    let kind = match body.kind {
        AssessmentKind::Identify => store::AssessmentKind::Identify,
        AssessmentKind::Exit => store::AssessmentKind::Exit,
    };
    Ok((kind, date))
}

/// Assess a household · 评估家庭
///
/// Runs identification (category) or exit on the household as it is now, under the policy in
/// force for its region on the date, and stores the decision with its full input snapshot
/// (encrypted) and a hash of both, so that it can be replayed and must give the same answer.
/// Exit (《实施方案》二(二)) is assessed only for a filed household, or one that has exited since:
/// a household being filed, withdrawn or rejected is refused (409 `household_not_filed`) and
/// nothing is stored.
///
/// 对当前档案按该地区评估日期生效的政策进行精准识别（困难类别）或退出评估，并保存结论、完整输入快照（加密）及其哈希，以便日后复算且结论必须一致。按《实施方案》二(二)，退出评估仅适用于已建档立卡（或已退出）的家庭；建档中、已撤回或未获批准的家庭不予评估（409），不保存任何记录。
#[utoipa::path(operation_id = "assess_household", tag = "assessments",
    params(("id" = String, Path, description = "Household id. 档案标识。")),
    request_body = NewAssessment,
    responses((status = 201, description = "Assessed. 已评估。", body = Assessment)))]
#[post("/households/{id}/assessments")]
pub(super) async fn assess(
    state: web::Data<AppState>,
    access: Access,
    Posted { id, body }: Posted,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdAssess)?;
    let body: NewAssessment = body.parse()?;
    let (kind, date) = assessment_of(&body, state.clock.today())?;
    let (cipher, caller, at) = (
        state.cipher.clone(),
        access.caller(),
        state.clock.stored_now(),
    );
    let (row, stored) = db::write(&state.db, move |c| {
        store::assess(c, &cipher, &caller, &scope, &id, kind, (at, date)).map_err(|e| match e {
            store::AssessError::Policy(p) => policy_error(p),
            store::AssessError::NotOnFile { status } => not_on_file(&status),
            store::AssessError::Store(s) => s.into(),
        })
    })
    .await
    .map_err(|e| not_found(e, "household", "档案"))?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/assessments/{}/replay", row.id)))
        .json(answer(row, &stored)?))
}

/// List assessments · 查询评估记录
///
/// Every stored assessment of a household, newest first, with its explanation.
///
/// 按时间倒序列出某户的全部评估及其说明。
#[utoipa::path(operation_id = "list_household_assessments", tag = "assessments",
    params(("id" = String, Path, description = "Household id. 档案标识。")),
    responses((status = 200, description = "Assessments. 评估记录。", body = Vec<Assessment>)))]
#[get("/households/{id}/assessments")]
pub(super) async fn list_assessments(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<Assessment>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let id = id.into_inner();
    let rows = db::run(&state.db, move |c| {
        jiekun_store::households::get(c, &scope, &id)?;
        Ok(store::assessments_of(c, &id)?)
    })
    .await
    .map_err(|e| not_found(e, "household", "档案"))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (_, stored) = open_stored(&state.cipher, &row)?;
        out.push(answer(row, &stored)?);
    }
    Ok(web::Json(out))
}

/// Replay an assessment · 复算评估
///
/// Runs the rules again on the stored snapshot and parameter versions, and checks both the hash
/// and that the decision comes out identical.
///
/// 用保存的快照和参数版本重新运行规则，核对哈希并确认结论完全一致。
#[utoipa::path(operation_id = "replay_assessment", tag = "assessments",
    params(("id" = String, Path, description = "Assessment id. 评估标识。")),
    responses((status = 200, description = "Replayed. 已复算。", body = Replay)))]
#[get("/assessments/{id}/replay")]
pub(super) async fn replay(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<Replay>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let id = id.into_inner();
    let row = db::run(&state.db, move |c| Ok(store::assessment(c, &scope, &id)?))
        .await
        .map_err(|e| not_found(e, "assessment", "评估记录"))?;
    let (json, stored) = open_stored(&state.cipher, &row)?;
    let book = PolicyBook {
        parameters: stored.parameters.clone(),
    };
    let (verdict, decision) = store::decide(
        store::AssessmentKind::of(&row.kind),
        &stored.snapshot,
        &book,
    )
    .map_err(policy_error)?;
    Ok(web::Json(Replay {
        hash_matches: store::assessment_hash(&json, &row.decision) == row.hash,
        identical: serde_json::from_str::<serde_json::Value>(&row.decision)
            .is_ok_and(|stored| stored == decision),
        assessment_id: row.id,
        stored_verdict: row.verdict,
        replayed_verdict: verdict,
    }))
}
