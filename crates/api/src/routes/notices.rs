//! Public notices (公示) and the objections raised against them, and the holiday calendar that
//! notices are counted by.

use actix_web::{delete, get, post, put, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use jiekun_domain::access::{roles_allow, Action, Role};
use jiekun_domain::calendar::DayKind;
use jiekun_store::workflows::{self as store, CalendarDayRow, ObjectionRow};
use jiekun_store::{audit, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::query_error;
use super::utc;
use super::workflows::out_of_scope;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::extract::{ApiJson, ApiQuery};
use crate::pagination::{page_of, page_request, PageOf};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_notices)
        .service(get_notice)
        .service(raise_objection)
        .service(list_objections)
        .service(resolve_objection)
        .service(list_calendar)
        .service(put_calendar_day)
        .service(delete_calendar_day);
}

/// A public notice: only what may be published. 公示：仅含可公开的内容。
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicNotice {
    pub id: String,
    /// `filing` (拟建档公示) or `exit` (拟退出公示).
    #[schema(example = "filing")]
    pub kind: String,
    /// 公示标题。
    #[schema(example = "困难职工家庭建档公示")]
    pub title: String,
    /// The worker's name, masked. 职工姓名（脱敏）。
    #[schema(example = "张*")]
    pub name: String,
    /// Employer, or the grassroots union when there is none. 工作单位。
    pub unit: String,
    /// `deep`, `relative`, `accident`. 困难类别。
    pub category: Option<String>,
    /// For exits: `out_of_hardship`, `safety_net`, `death`, `transfer`. 退出类型。
    pub grounds: Option<String>,
    pub starts_on: NaiveDate,
    /// Last day (inclusive). 截止日（含）。
    pub ends_on: NaiveDate,
    /// Length, in calendar or working days. 公示天数。
    pub days: i64,
    pub working_days: bool,
    /// `running`, `ended`, `withdrawn`; `running` also before and after its dates until closed.
    pub status: String,
    /// Whether objections are accepted today. 今天是否受理异议。
    pub accepting_objections: bool,
    /// How to object. 异议受理方式。
    pub how_to_object: HowToObject,
}

/// Where and until when to object. 异议受理。
#[derive(Debug, Serialize, ToSchema)]
pub struct HowToObject {
    /// The union that receives objections. 受理单位。
    pub organisation: String,
    pub address: Option<String>,
    /// Last day objections are received. 受理截止日。
    pub until: NaiveDate,
    /// 说明。
    pub text_zh: String,
    pub text: String,
    /// Where signed-in users object through the API. 在线提出异议的接口。
    #[schema(example = "/api/v1/public-notices/{id}/objections")]
    pub endpoint: String,
}

fn accepting(n: &store::NoticeRow, today: NaiveDate) -> bool {
    n.status == "running" && n.starts_on <= today && today <= n.ends_on
}

fn notice_view(n: store::NoticeRow, today: NaiveDate) -> PublicNotice {
    let filing = n.subject_kind == "application";
    let (kind, title) = if filing {
        ("filing", "困难职工家庭建档公示 · Notice of filing")
    } else {
        ("exit", "困难职工家庭退出公示 · Notice of exit")
    };
    PublicNotice {
        accepting_objections: accepting(&n, today),
        how_to_object: HowToObject {
            text_zh: format!(
                "如对公示对象有异议，请于 {} 前（含当日）向{}实名反映。",
                n.ends_on, n.contact_organisation
            ),
            text: format!(
                "Objections, with your name, to {} until {} inclusive.",
                n.contact_organisation, n.ends_on
            ),
            organisation: n.contact_organisation,
            address: n.contact_address,
            until: n.ends_on,
            endpoint: format!("/api/v1/public-notices/{}/objections", n.id),
        },
        id: n.id,
        kind: kind.into(),
        title: title.into(),
        name: n.masked_name,
        unit: n.unit,
        category: n.category,
        grounds: n.grounds,
        starts_on: n.starts_on,
        ends_on: n.ends_on,
        days: n.days,
        working_days: n.working_days,
        status: n.status,
    }
}

/// Notice filters. 公示筛选。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NoticeQuery {
    /// Only notices running today. 仅列出今天在公示期内的。
    pub running: Option<bool>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// List public notices · 查询公示
///
/// Notices about households in the caller's scope, in creation order.
///
/// 按创建顺序列出本辖区的公示。
#[utoipa::path(operation_id = "list_public_notices", tag = "workflows", params(NoticeQuery),
    responses((status = 200, description = "A page of notices. 一页公示。", body = PageOf<PublicNotice>)))]
#[get("/public-notices")]
async fn list_notices(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<NoticeQuery>,
) -> ApiResult<web::Json<PageOf<PublicNotice>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let today = state.clock.today();
    let running = q.running.unwrap_or(false).then_some(today);
    let rows = db::run(&state.db, move |c| {
        Ok(store::list_notices(c, &scope, running, &page)?)
    })
    .await?;
    Ok(web::Json(page_of(rows, |n| notice_view(n, today))))
}

/// Read a public notice · 查看公示
///
/// What may be published about the case: the masked name, the unit, the category (or exit
/// grounds), the dates and how to object — never identity numbers, income, health or bank data.
/// Public: no credentials needed, so that it can be shown on a notice board or website.
///
/// 公示内容：脱敏姓名、单位、困难类别（或退出类型）、公示起止日期及异议受理方式，不含身份证号、收入、健康、银行账户等信息。无需登录即可查看。
#[utoipa::path(operation_id = "get_public_notice", tag = "workflows",
    params(("id" = String, Path, description = "Notice id. 公示标识。")),
    responses((status = 200, description = "The notice. 公示。", body = PublicNotice)))]
#[get("/public-notices/{id}")]
async fn get_notice(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<web::Json<PublicNotice>> {
    let id = id.into_inner();
    let today = state.clock.today();
    let n = db::run(&state.db, move |c| {
        store::notice(c, &id).map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("public notice", "公示"),
            e => e.into(),
        })
    })
    .await?;
    Ok(web::Json(notice_view(n, today)))
}

/// An objection. 公示异议。
#[derive(Debug, Serialize, ToSchema)]
pub struct Objection {
    pub id: String,
    pub notice_id: String,
    /// `online`, `phone`, `letter`, `visit`. 受理渠道。
    pub channel: String,
    /// 异议内容。
    pub content: String,
    /// Who objected, when recorded by staff. 异议人（工作人员代为登记时）。
    pub objector: Option<String>,
    /// The signed-in user who raised or recorded it. 提出或登记人。
    pub raised_by: String,
    /// `open`, `upheld`, `dismissed`.
    pub status: String,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<ObjectionRow> for Objection {
    fn from(o: ObjectionRow) -> Self {
        Objection {
            id: o.id,
            notice_id: o.notice_id,
            channel: o.channel,
            content: o.content,
            objector: o.objector,
            raised_by: o.raised_by,
            status: o.status,
            resolution: o.resolution,
            resolved_by: o.resolved_by,
            resolved_at: o.resolved_at.map(utc),
            created_at: utc(o.created_at),
        }
    }
}

/// How an objection came in. 异议渠道。
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Raised by the signed-in user themselves. 本人在线提出。
    Online,
    /// Received by telephone and recorded by staff. 电话反映，工作人员登记。
    Phone,
    /// 来信
    Letter,
    /// 来访
    Visit,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Phone => "phone",
            Channel::Letter => "letter",
            Channel::Visit => "visit",
        }
    }
}

/// A new objection. 提出异议。
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"content": "该户家中经营门面，收入未如实申报。"}))]
pub struct NewObjection {
    /// What is wrong with the notice's subject. 异议内容。
    pub content: String,
    /// Default `online`; other channels are recorded by case staff. 默认 online。
    pub channel: Option<Channel>,
    /// Who objected (recorded channels). 异议人。
    pub objector: Option<String>,
}

/// Object to a notice · 对公示提出异议
///
/// Any signed-in user may object while the notice runs (its first to its last day); case staff
/// (grassroots, county, city) also record objections received by telephone, letter or visit,
/// naming the objector. An open objection blocks the decision until it is resolved. Outside the
/// notice's dates: 409 `notice_closed`.
///
/// 公示期内任何登录用户均可提出异议；经办人员可登记电话、来信、来访反映的异议。存在未处理异议时不能作出决定。公示期外提出返回 409 notice_closed。
#[utoipa::path(operation_id = "raise_objection", tag = "workflows",
    params(("id" = String, Path, description = "Notice id. 公示标识。")),
    request_body = NewObjection,
    responses((status = 201, description = "Recorded. 已登记。", body = Objection)))]
#[post("/public-notices/{id}/objections")]
async fn raise_objection(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    ApiJson(body): ApiJson<NewObjection>,
) -> ApiResult<HttpResponse> {
    let (user, _) = access.require_user(Action::ObjectionRaise)?;
    let raised_by = user.username.clone();
    let staff = roles_allow(&user.roles, Action::WorkflowAct);
    let channel = body.channel.unwrap_or(Channel::Online);
    let mut errors = Vec::new();
    let content = crate::fields::name("content", &body.content, 2000)
        .map_err(|e| errors.push(e))
        .ok();
    if channel != Channel::Online && !staff {
        errors.push(FieldError::new(
            "channel",
            "staff_only",
            "only case staff record objections received by other channels",
            "仅经办人员可登记其他渠道的异议",
        ));
    }
    let objector = match body.objector.as_deref().map(str::trim) {
        Some(o) if !o.is_empty() => crate::fields::name("objector", o, 100)
            .map_err(|e| errors.push(e))
            .ok(),
        _ => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let content = content.unwrap_or_default();
    let today = state.clock.today();
    let at = state.clock.stored_now();
    let id = id.into_inner();
    let row = db::write(&state.db, move |c| {
        let n = store::notice(c, &id).map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("public notice", "公示"),
            e => e.into(),
        })?;
        if !accepting(&n, today) {
            return Err(ApiError::new(
                ErrorCode::NoticeClosed,
                format!(
                    "objections are received from {} to {} while the notice runs",
                    n.starts_on, n.ends_on
                ),
                format!("异议受理期为 {} 至 {}", n.starts_on, n.ends_on),
            ));
        }
        let row = ObjectionRow {
            id: jiekun_store::new_id(),
            notice_id: n.id.clone(),
            subject_kind: n.subject_kind.clone(),
            organisation_path: n.organisation_path.clone(),
            channel: channel.as_str().into(),
            content,
            objector,
            raised_by,
            status: "open".into(),
            resolution: None,
            resolved_by: None,
            resolved_at: None,
            created_at: at,
        };
        store::insert_objection(c, &row)?;
        audit::append(
            c,
            access.event(
                "objection.raise",
                "objection",
                &row.id,
                serde_json::json!({"notice_id": n.id, "subject_id": n.subject_id, "channel": row.channel}),
            ),
        )?;
        Ok(row)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/public-notices/{}/objections", row.notice_id),
        ))
        .json(Objection::from(row)))
}

/// List objections to a notice · 查询公示异议
///
/// Every objection to the notice, oldest first: for case staff and auditors whose scope holds
/// the household.
///
/// 按时间顺序列出对该公示的全部异议，供辖区内经办、审核人员及审计人员查看。
#[utoipa::path(operation_id = "list_objections", tag = "workflows",
    params(("id" = String, Path, description = "Notice id. 公示标识。")),
    responses((status = 200, description = "The objections. 异议列表。", body = Vec<Objection>)))]
#[get("/public-notices/{id}/objections")]
async fn list_objections(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<Objection>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let id = id.into_inner();
    let rows = db::run(&state.db, move |c| {
        let n = store::notice(c, &id).map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("public notice", "公示"),
            e => e.into(),
        })?;
        if !scope.covers_path(&n.organisation_path) {
            return Err(ApiError::not_found("public notice", "公示"));
        }
        Ok(store::objections_of(c, &id)?)
    })
    .await?;
    Ok(web::Json(rows.into_iter().map(Objection::from).collect()))
}

/// The outcome of an objection. 异议处理结果。
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The objection holds: the case should be returned or rejected. 异议成立。
    Upheld,
    /// The objection does not hold. 异议不成立。
    Dismissed,
}

/// Resolving an objection. 异议处理。
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"outcome": "dismissed", "resolution": "经入户核查，门面已于2025年转让，异议不成立。"}))]
pub struct Resolution {
    pub outcome: Outcome,
    /// What was checked and found. 核实情况及处理意见。
    pub resolution: String,
}

/// Resolve an objection · 处理公示异议
///
/// The union that holds the case decides: the county union for filing notices, the city union
/// for exit notices (other roles: 403 `wrong_role`; outside scope: 403 `out_of_scope`). An
/// objection is resolved once (409 `wrong_state` after). When upheld, the case is then returned
/// or rejected; when dismissed, the notice may close once its time is over.
///
/// 由办理单位核实处理：建档公示由县总工会、退出公示由市总工会处理。异议成立的，应退回或不予通过；不成立的，公示期满后可继续办理。
#[utoipa::path(operation_id = "resolve_objection", tag = "workflows",
    params(("id" = String, Path, description = "Objection id. 异议标识。")),
    request_body = Resolution,
    responses((status = 200, description = "Resolved. 已处理。", body = Objection)))]
#[post("/objections/{id}/resolution")]
async fn resolve_objection(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    ApiJson(body): ApiJson<Resolution>,
) -> ApiResult<web::Json<Objection>> {
    let (user, scope) = access.require_user(Action::WorkflowAct)?;
    let by = user.username.clone();
    let roles = user.roles.clone();
    let text = crate::fields::name("resolution", &body.resolution, 2000)
        .map_err(|e| ApiError::validation(vec![e]))?;
    let at = state.clock.stored_now();
    let id = id.into_inner();
    let row = db::write(&state.db, move |c| {
        let o = store::objection(c, &id).map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("objection", "异议"),
            e => e.into(),
        })?;
        if !scope.covers_path(&o.organisation_path) {
            return Err(out_of_scope("objection", "异议"));
        }
        if o.status != "open" {
            return Err(ApiError::new(
                ErrorCode::WrongState,
                format!("the objection is already {}", o.status),
                format!("该异议已处理（{}）", o.status),
            ));
        }
        let deciders: &[Role] = if o.subject_kind == "application" {
            &[Role::CountyReviewer, Role::CountyAdmin]
        } else {
            &[Role::CityApprover]
        };
        if !roles.iter().any(|r| deciders.contains(r)) {
            return Err(ApiError::new(
                ErrorCode::WrongRole,
                "objections to this notice are resolved by the union holding the case",
                "该公示的异议应由办理单位处理",
            ));
        }
        let outcome = match body.outcome {
            Outcome::Upheld => "upheld",
            Outcome::Dismissed => "dismissed",
        };
        if !store::resolve_objection(c, &o.id, outcome, &text, &by, at)? {
            return Err(ApiError::new(
                ErrorCode::WrongState,
                format!("the objection is already {}", o.status),
                format!("该异议已处理（{}）", o.status),
            ));
        }
        audit::append(
            c,
            access.event(
                "objection.resolve",
                "objection",
                &o.id,
                serde_json::json!({"notice_id": o.notice_id, "outcome": outcome}),
            ),
        )?;
        Ok(store::objection(c, &o.id)?)
    })
    .await?;
    Ok(web::Json(Objection::from(row)))
}

// ---- calendar ------------------------------------------------------------------------------

/// A day the calendar treats differently from its weekday. 节假日或调休工作日。
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarDay {
    pub date: NaiveDate,
    /// `holiday` (法定节假日) or `workday` (调休上班).
    #[schema(example = "holiday")]
    pub kind: String,
    /// 名称。
    #[schema(example = "国庆节")]
    pub name: String,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

impl From<CalendarDayRow> for CalendarDay {
    fn from(r: CalendarDayRow) -> Self {
        CalendarDay {
            date: r.day,
            kind: r.kind,
            name: r.name,
            updated_by: r.updated_by,
            updated_at: utc(r.updated_at),
        }
    }
}

/// Calendar range. 日期范围。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// Default: 1 January of this year. 默认今年 1 月 1 日。
    pub from: Option<NaiveDate>,
    /// Default: 31 December of next year; at most three years after `from`. 默认明年年底。
    pub to: Option<NaiveDate>,
}

/// List holidays and swapped working days · 查询节假日与调休
///
/// The exceptions to the Monday-to-Friday week that notices counted in working days follow.
///
/// 列出按工作日计算公示期时所依据的节假日和调休工作日。
#[utoipa::path(operation_id = "list_calendar_days", tag = "workflows", params(CalendarQuery),
    responses((status = 200, description = "The days. 日期列表。", body = Vec<CalendarDay>)))]
#[get("/calendar")]
async fn list_calendar(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<CalendarQuery>,
) -> ApiResult<web::Json<Vec<CalendarDay>>> {
    access.require_user(Action::PolicyRead)?;
    use chrono::Datelike;
    let today = state.clock.today();
    let from = q
        .from
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today));
    let to =
        q.to.unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year() + 1, 12, 31).unwrap_or(today));
    if to < from || (to - from).num_days() > 3 * 366 {
        return Err(query_error(FieldError::new(
            "to",
            "out_of_range",
            "`to` is on or after `from`, at most three years later",
            "结束日期须不早于开始日期，且跨度不超过三年",
        )));
    }
    let rows = db::run(&state.db, move |c| {
        Ok(store::calendar_between(c, from, to)?)
    })
    .await?;
    Ok(web::Json(rows.into_iter().map(CalendarDay::from).collect()))
}

/// The `{date}` of a calendar path, or 400 naming it.
fn day_of(s: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidParameter,
            format!("path parameter date: `{s}` is not a date (YYYY-MM-DD)"),
            format!("路径参数 date 不是有效日期：{s}"),
        )
        .with_field(FieldError::new(
            "date",
            "invalid_date",
            "a date as YYYY-MM-DD",
            "日期格式应为 YYYY-MM-DD",
        ))
    })
}

/// A day's kind. 日期类型。
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "holiday", "name": "元旦"}))]
pub struct CalendarDayIn {
    /// `holiday` or `workday`.
    #[schema(example = "holiday")]
    pub kind: String,
    #[schema(example = "国庆节")]
    pub name: String,
}

/// Set a holiday or working day · 设置节假日或调休
///
/// Marks a date as a public holiday or as a weekend day worked in exchange (调休). Notices
/// already published keep their dates. System and county admins; audited.
///
/// 将某日设为法定节假日或调休工作日。已发布公示的日期不变。系统管理员和县级管理员可设置，记入审计。
#[utoipa::path(operation_id = "put_calendar_day", tag = "workflows",
    params(("date" = NaiveDate, Path, description = "The date. 日期。")),
    request_body = CalendarDayIn,
    responses((status = 200, description = "Set. 已设置。", body = CalendarDay)))]
#[put("/calendar/{date}")]
async fn put_calendar_day(
    state: web::Data<AppState>,
    access: Access,
    date: web::Path<String>,
    ApiJson(body): ApiJson<CalendarDayIn>,
) -> ApiResult<web::Json<CalendarDay>> {
    let (user, _) = access.require_user(Action::CalendarWrite)?;
    let day = day_of(&date)?;
    let by = user.username.clone();
    let mut errors = Vec::new();
    let kind = DayKind::parse(&body.kind);
    if kind.is_none() {
        errors.push(FieldError::new(
            "kind",
            "invalid_value",
            "`holiday` or `workday`",
            "取值应为 holiday 或 workday",
        ));
    }
    let name = crate::fields::name("name", &body.name, 50)
        .map_err(|e| errors.push(e))
        .ok();
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let row = CalendarDayRow {
        day,
        kind: kind.map(DayKind::as_str).unwrap_or_default().into(),
        name: name.unwrap_or_default(),
        updated_by: by,
        updated_at: state.clock.stored_now(),
    };
    let row = db::write(&state.db, move |c| {
        store::put_calendar_day(c, &row)?;
        audit::append(
            c,
            access.event(
                "calendar.set",
                "calendar_day",
                &row.day.to_string(),
                serde_json::json!({"kind": row.kind, "name": row.name}),
            ),
        )?;
        Ok(row)
    })
    .await?;
    Ok(web::Json(CalendarDay::from(row)))
}

/// Clear a calendar day · 删除节假日设置
///
/// The date follows its weekday again. System and county admins; audited.
///
/// 删除某日的节假日或调休设置，恢复按星期计算。记入审计。
#[utoipa::path(operation_id = "delete_calendar_day", tag = "workflows",
    params(("date" = NaiveDate, Path, description = "The date. 日期。")),
    responses((status = 204, description = "Cleared. 已删除。")))]
#[delete("/calendar/{date}")]
async fn delete_calendar_day(
    state: web::Data<AppState>,
    access: Access,
    date: web::Path<String>,
) -> ApiResult<HttpResponse> {
    access.require_user(Action::CalendarWrite)?;
    let day = day_of(&date)?;
    db::write(&state.db, move |c| {
        if !store::delete_calendar_day(c, day)? {
            return Err(ApiError::not_found("calendar day", "日期设置"));
        }
        audit::append(
            c,
            access.event(
                "calendar.clear",
                "calendar_day",
                &day.to_string(),
                serde_json::json!({}),
            ),
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
