//! Precise measures (精准施策, 《实施方案》三): the catalogue of 19 measures and each household's
//! plan (一户一策). Referrals and the assistance ledger have resources of their own.

pub mod dto;
mod plan;

use actix_web::get;
use actix_web::web;
use jiekun_domain::access::{Action, Role};
use jiekun_domain::assistance::CapBreach;
use jiekun_domain::closed::ClosedList;
use jiekun_domain::verification::DataDomain;
use jiekun_store::measures::{self as store, Doer, MeasureError, Unit};
use jiekun_store::StoreError;
use utoipa_actix_web::service_config::ServiceConfig;

use self::dto::MeasureOut;
use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_measures)
        .service(plan::get_plan)
        .service(plan::propose)
        .service(plan::accept)
        .service(plan::drop_measure)
        .service(plan::add);
}

/// The measures · 帮扶措施目录
///
/// The 19 measures of 《实施方案》三 in their 9 mechanisms, each with its lead and responsible
/// units, the department kind its referrals go to, and whether a referral carries full ID
/// numbers. Readable by every signed-in user and every department key, whatever its scopes.
///
/// 《实施方案》三规定的 9 项机制 19 项措施，含牵头单位、责任单位、转介部门及转介是否提供完整身份证号。所有登录用户和任何部门密钥均可查询。
#[utoipa::path(operation_id = "list_measures", tag = "measures",
    responses((status = 200, description = "The catalogue, in measure order. 措施目录。", body = Vec<MeasureOut>)))]
#[get("/measures")]
async fn list_measures(
    state: web::Data<AppState>,
    _access: Access,
) -> ApiResult<web::Json<Vec<MeasureOut>>> {
    let rows = db::run(&state.db, |c| Ok(store::catalogue(c)?)).await?;
    let out = rows
        .into_iter()
        .map(MeasureOut::try_from)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(out))
}

/// The caller as a doer of measures, once allowed `action`: union staff act for their
/// organisation, a key for its department.
pub(crate) fn doer(access: &Access, action: Action) -> ApiResult<Doer> {
    let scope = access.require(action)?;
    let caller = access.caller();
    Ok(match &access.principal {
        Principal::User(u) => Doer {
            name: u.username.clone(),
            role: u
                .roles
                .iter()
                .copied()
                .find(|r| {
                    matches!(
                        r,
                        Role::GrassrootsOfficer | Role::CountyReviewer | Role::CountyAdmin
                    )
                })
                .or(u.roles.first().copied()),
            unit: Unit::Organisation {
                id: u.organisation_id.clone(),
            },
            scope,
            caller,
        },
        Principal::Key(k) => Doer {
            name: k.name.clone(),
            role: None,
            unit: Unit::Department {
                id: k.department_id.clone(),
                code: k.department_code.clone(),
                region: k.region,
            },
            scope,
            caller,
        },
    })
}

/// A change to a plan, a referral or the ledger that did not happen, as the API answers it.
pub(crate) fn measure_error(e: MeasureError) -> ApiError {
    match e {
        MeasureError::NotFound(what) => {
            let zh = match what {
                "household" => "档案",
                "plan" => "帮扶计划",
                "referral" => "转介",
                "consent" => "授权书",
                "verification" => "核对请求",
                "verification task" => "核对任务",
                "discrepancy" => "核对差异",
                _ => "帮扶记录",
            };
            ApiError::not_found(what, zh)
        }
        MeasureError::Invalid {
            field,
            code,
            message,
            message_zh,
        } => ApiError::validation(vec![FieldError::new(field, code, message, message_zh)]),
        MeasureError::WrongState {
            message,
            message_zh,
        } => ApiError::new(ErrorCode::WrongState, message, message_zh),
        MeasureError::Forbidden {
            message,
            message_zh,
        } => crate::auth::forbidden(message, message_zh),
        MeasureError::Stale { expected, actual } => {
            StoreError::VersionMismatch { expected, actual }.into()
        }
        MeasureError::OverCap {
            breach,
            measure,
            year,
        } => over_cap(breach, measure, year),
        MeasureError::ConsentMissing(members) => consent_missing(members),
        MeasureError::Problems(list) => ApiError::validation(
            list.into_iter()
                .map(|(field, code, en, zh)| FieldError::new(field, code, en, zh))
                .collect(),
        ),
        MeasureError::Policy(m) => ApiError::internal(m),
        MeasureError::Store(s) => s.into(),
    }
}

/// A verification the consents do not cover: each member named, with the domains missing.
fn consent_missing(members: Vec<(String, String, Vec<DataDomain>)>) -> ApiError {
    let en_of = |d: &[DataDomain]| d.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(", ");
    let zh_of = |d: &[DataDomain]| {
        d.iter()
            .map(|d| d.meaning_zh())
            .collect::<Vec<_>>()
            .join("、")
    };
    let who_en: Vec<String> = members
        .iter()
        .map(|(_, name, d)| format!("{name} ({})", en_of(d)))
        .collect();
    let who_zh: Vec<String> = members
        .iter()
        .map(|(_, name, d)| format!("{name}（{}）", zh_of(d)))
        .collect();
    let errors = members
        .iter()
        .map(|(id, name, d)| {
            FieldError::new(
                format!("members.{id}"),
                "consent_missing",
                format!("no standing consent of {name} covers: {}", en_of(d)),
                format!("{name}的有效授权未覆盖：{}", zh_of(d)),
            )
        })
        .collect();
    let mut e = ApiError::new(
        ErrorCode::ConsentMissing,
        format!("the members' signed consents do not cover the data asked for: {}; record their consents first", who_en.join("; ")),
        format!("以下成员的签署授权未覆盖所请求核对的数据：{}；请先登记其授权书", who_zh.join("；")),
    );
    e.errors = errors;
    e
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

fn over_cap(breach: CapBreach, measure: i64, year: i64) -> ApiError {
    let (en, zh) = match breach {
        CapBreach::Measure {
            cap_fen,
            recorded_fen,
            amount_fen,
        } => (
            format!(
                "measure {measure} already holds {} yuan for this household in {year}; {} more would pass the yearly cap of {} yuan per measure",
                yuan(recorded_fen), yuan(amount_fen), yuan(cap_fen)
            ),
            format!(
                "该家庭 {year} 年第{measure}项措施已登记 {} 元，再登记 {} 元将超过每项措施年度上限 {} 元",
                yuan(recorded_fen), yuan(amount_fen), yuan(cap_fen)
            ),
        ),
        CapBreach::Total {
            cap_fen,
            recorded_fen,
            amount_fen,
        } => (
            format!(
                "the household already holds {} yuan of help in {year}; {} more would pass the yearly cap of {} yuan for all measures together",
                yuan(recorded_fen), yuan(amount_fen), yuan(cap_fen)
            ),
            format!(
                "该家庭 {year} 年已登记帮扶 {} 元，再登记 {} 元将超过各项措施合计的年度上限 {} 元",
                yuan(recorded_fen), yuan(amount_fen), yuan(cap_fen)
            ),
        ),
    };
    ApiError::new(ErrorCode::OverCap, en.clone(), zh.clone()).with_field(FieldError::new(
        "amount_fen",
        "over_cap",
        en,
        zh,
    ))
}
