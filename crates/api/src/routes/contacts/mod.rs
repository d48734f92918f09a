//! Dual contact (双包联系, 《实施方案》三(七)14): assignments of the county union to difficult
//! enterprises, of its leadership members and of union cadres to hardship households, with their
//! periods; the visits logged against them; and the gaps against the plan's bounds.

pub mod dto;

use actix_web::http::header::ETag;
use actix_web::{get, post, web, HttpResponse};
use jiekun_domain::access::Action;
use jiekun_store::contacts::{
    self as store, AssignmentFilter, ContactError, NewVisit, VisitFilter,
};
use utoipa_actix_web::service_config::ServiceConfig;

use self::dto::{
    ContactOut, ContactQuery, CreateContact, CreateVisit, EndContact, GapOut, GapQuery, VisitOut,
    VisitQuery,
};
use crate::auth::Access;
use crate::body::Body;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::extract::{etag, Change};
use crate::fields::Fields;
use crate::pagination::{page_of, total_if, PageOf, Paged};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    // The fixed paths before `/contacts/{id}`.
    cfg.service(list_visits)
        .service(create_visit)
        .service(list_gaps)
        .service(list)
        .service(create)
        .service(get_one)
        .service(end);
}

/// A dual-contact step that did not happen, as the API answers it.
fn contact_error(e: ContactError) -> ApiError {
    match e {
        ContactError::NotFound(what) => {
            let zh = match what {
                "assignment" => "双包联系",
                _ => "组织",
            };
            ApiError::not_found(what, zh)
        }
        ContactError::Invalid {
            field,
            code,
            message,
            message_zh,
        } => ApiError::validation(vec![FieldError::new(field, code, message, message_zh)]),
        ContactError::UnknownActivity { allowed } => dto::unknown_activity(&allowed),
        ContactError::Overlaps { id } => ApiError::new(
            ErrorCode::AlreadyExists,
            format!("the same contact already keeps in touch with it for part of this period (assignment {id}): end that one first"),
            format!("同一联系人在该期间已联系该对象（联系 {id}），请先结束原联系"),
        )
        .with_field(FieldError::new(
            "valid_from",
            "overlaps",
            format!("overlaps assignment {id}"),
            format!("与联系 {id} 期间重叠"),
        )),
        ContactError::AlreadyEnded { valid_until } => ApiError::new(
            ErrorCode::AlreadyEnded,
            format!("the assignment ended on {valid_until} already"),
            format!("该联系已于{valid_until}结束"),
        )
        .with_field(FieldError::new(
            "valid_until",
            "already_ended",
            format!("ended on {valid_until}"),
            format!("已于{valid_until}结束"),
        )),
        ContactError::Stale { expected, actual } => {
            jiekun_store::StoreError::VersionMismatch { expected, actual }.into()
        }
        ContactError::Store(s) => s.into(),
    }
}

/// Assign a dual contact · 分配双包联系
///
/// The county union pairs itself with a difficult enterprise (`union_enterprise`), one of its
/// leadership members with a hardship household (`leader_household`: a user of the county union,
/// or a person named), or a union cadre with a hardship worker's household (`cadre_worker`: a
/// user of a union of the county, or a person named), from `valid_from`, until `valid_until` or
/// open (《实施方案》三(七)14). The household must lie in your scope, the enterprise in your region
/// and registered as difficult; otherwise 422 with the field. The same contact with the same
/// household or enterprise for an overlapping period is 409 `already_exists`. Audited. County
/// reviewers and admins assign; department keys are refused.
///
/// 县总工会分配双包联系：县总工会联系困难企业（union_enterprise）、班子成员联系困难职工家庭（leader_household，县总工会账号或填写姓名）、机关或企业工会干部联系困难职工（cadre_worker，本县工会账号或填写姓名），自 valid_from 起，至 valid_until 止或长期有效（《实施方案》三(七)14）。家庭须在管辖范围内，企业须在本区域且登记为困难企业，否则返回 422 并指明字段。同一联系人在重叠期间联系同一对象返回 409 already_exists。记入审计。由县总工会审核人、管理员分配；部门密钥不可调用。
#[utoipa::path(operation_id = "create_contact", tag = "contacts", request_body = CreateContact,
    responses((status = 201, description = "Assigned. 已分配。", body = ContactOut,
        headers(("ETag" = String, description = "Version. 版本标签。"), ("Location" = String, description = "URL of the assignment. 联系地址。")))))]
#[post("/contacts")]
async fn create(state: web::Data<AppState>, access: Access, body: Body) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::ContactWrite)?;
    let new = body.parse::<CreateContact>()?.parsed()?;
    let (caller, by, county) = (
        access.caller(),
        user.username.clone(),
        user.organisation_id.clone(),
    );
    let at = state.clock.stored_now();
    let row = db::write(&state.db, move |c| {
        store::create(c, &caller, &by, &scope, &county, at, &new).map_err(contact_error)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/contacts/{}", row.id)))
        .insert_header(ETag(etag(row.version)))
        .json(dto::contact(row)))
}

/// List dual contacts · 查询双包联系
///
/// The assignments of your scope (of households in your subtree, and the county union's
/// enterprises), oldest first, by kind, household, enterprise, contact or the day they are valid
/// on. Auditors and union staff read them; department keys are refused.
///
/// 查询管辖范围内的双包联系（本组织及下级的家庭、县总工会联系的企业），按创建先后排列，可按类型、家庭、企业、联系人或有效日期筛选。审计人员和工会工作人员可查阅；部门密钥不可调用。
#[utoipa::path(operation_id = "list_contacts", tag = "contacts",
    params(ContactQuery, crate::pagination::PageQuery),
    responses((status = 200, description = "A page of assignments. 一页双包联系。", body = PageOf<ContactOut>)))]
#[get("/contacts")]
async fn list(
    state: web::Data<AppState>,
    access: Access,
    q: Paged<ContactQuery>,
) -> ApiResult<web::Json<PageOf<ContactOut>>> {
    let (_, scope) = access.require_user(Action::ContactRead)?;
    let page = q.page.page_request()?;
    let f = q.filter;
    let filter = AssignmentFilter {
        kind: f.kind,
        household_id: f.household_id,
        enterprise_id: f.enterprise_id,
        contact_user_id: f.contact_user_id,
        valid_on: f.valid_on,
    };
    let count = q.page.count;
    let (rows, total) = db::run(&state.db, move |c| {
        let total = total_if(count, || store::count(c, &scope, &filter)).map_err(contact_error)?;
        Ok((
            store::list(c, &scope, &filter, &page).map_err(contact_error)?,
            total,
        ))
    })
    .await?;
    Ok(web::Json(page_of(rows, dto::contact).with_total(total)))
}

/// Get a dual contact · 查看双包联系
///
/// One assignment of your scope, with its version as the `ETag` (what ending it sends as
/// `If-Match`). Department keys are refused.
///
/// 查看管辖范围内的单个双包联系，ETag 为其版本（结束联系时作为 If-Match 提交）。部门密钥不可调用。
#[utoipa::path(operation_id = "get_contact", tag = "contacts",
    params(("id" = String, Path, description = "Assignment id. 联系标识。")),
    responses((status = 200, description = "The assignment. 双包联系。", body = ContactOut,
        headers(("ETag" = String, description = "Version. 版本标签。")))))]
#[get("/contacts/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::ContactRead)?;
    let id = id.into_inner();
    let row = db::run(&state.db, move |c| {
        store::get(c, &scope, &id).map_err(contact_error)
    })
    .await?;
    Ok(crate::routes::ok_with_etag(row.version, dto::contact(row)))
}

/// End a dual contact · 结束双包联系
///
/// Sets the assignment's last day (not before it began: 422 `before_start`); one that has ended
/// already gets 409 `already_ended`. Takes the assignment's `If-Match` and bumps its version.
/// Audited. County reviewers and admins; department keys are refused.
///
/// 设置联系的最后一日（不得早于开始日期，否则返回 422 before_start）；已结束的联系返回 409 already_ended。须携带 If-Match，版本递增。记入审计。由县总工会审核人、管理员操作；部门密钥不可调用。
#[utoipa::path(operation_id = "end_contact", tag = "contacts",
    params(("id" = String, Path, description = "Assignment id. 联系标识。"),
        ("If-Match" = String, Header, description = "The assignment's ETag. 联系的 ETag。")),
    request_body = EndContact,
    responses((status = 200, description = "Ended. 已结束。", body = ContactOut,
        headers(("ETag" = String, description = "Version. 版本标签。")))))]
#[post("/contacts/{id}/end")]
async fn end(
    state: web::Data<AppState>,
    access: Access,
    Change { id, version, body }: Change,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::ContactWrite)?;
    let b: EndContact = body.parse()?;
    let (caller, at) = (access.caller(), state.clock.stored_now());
    let row = db::write(&state.db, move |c| {
        store::end(c, &caller, &scope, &id, version, b.valid_until, at).map_err(contact_error)
    })
    .await?;
    Ok(crate::routes::ok_with_etag(row.version, dto::contact(row)))
}

/// Record a visit · 登记走访
///
/// Logs a visit of an assignment of your scope: its day (within the assignment's period, not in
/// the future), the household or enterprise (the assignment's own, else 422
/// `not_the_assignments`), the activity type from your county's list (policy parameter
/// `contact_activity_types`; an unknown one gets 422 naming those allowed), notes of at most 500
/// characters with no personal data beyond the file's, and any referral or assistance record of
/// the household that followed. Audited. Grassroots officers and county staff record visits in
/// their scope; department keys are refused.
///
/// 登记管辖范围内双包联系的走访：走访日期（在联系期间内，不晚于今天）、家庭或企业（须与联系一致，否则返回 422 not_the_assignments）、活动类型（取自本县配置列表，即政策参数 contact_activity_types；不在列表中返回 422 并列出可选类型）、不超过 500 字的走访情况（不得记录档案以外的个人信息），以及随后的转介或帮扶记录（须为该家庭的）。记入审计。由基层工会经办人和县总工会工作人员在管辖范围内登记；部门密钥不可调用。
#[utoipa::path(operation_id = "create_contact_visit", tag = "contacts", request_body = CreateVisit,
    responses((status = 201, description = "Recorded. 已登记。", body = VisitOut)))]
#[post("/contacts/visits")]
async fn create_visit(
    state: web::Data<AppState>,
    access: Access,
    body: Body,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::ContactVisitWrite)?;
    let b = body.parse::<CreateVisit>()?;
    let mut f = Fields::default();
    let notes = f.optional_text("notes", b.notes.as_deref(), 500);
    f.finish()?;
    let new = NewVisit {
        assignment_id: b.assignment_id,
        visited_on: b.visited_on,
        household_id: b.household_id,
        enterprise_id: b.enterprise_id,
        activity_type: b.activity_type,
        notes: notes.flatten(),
        referral_id: b.referral_id,
        assistance_id: b.assistance_id,
    };
    let (caller, by) = (access.caller(), user.username.clone());
    let (at, today) = (state.clock.stored_now(), state.clock.today());
    let row = db::write(&state.db, move |c| {
        let book = jiekun_store::rules::policy_book(c)?;
        store::record_visit(c, &caller, &by, &scope, (at, today), &book, &new)
            .map_err(contact_error)
    })
    .await?;
    Ok(HttpResponse::Created().json(dto::visit(row)))
}

/// List visits · 查询走访记录
///
/// The visits of your scope, oldest first, by assignment, household or period. Auditors and
/// union staff read them; department keys are refused.
///
/// 查询管辖范围内的走访记录，按登记先后排列，可按联系、家庭或日期筛选。审计人员和工会工作人员可查阅；部门密钥不可调用。
#[utoipa::path(operation_id = "list_contact_visits", tag = "contacts",
    params(VisitQuery, crate::pagination::PageQuery),
    responses((status = 200, description = "A page of visits. 一页走访记录。", body = PageOf<VisitOut>)))]
#[get("/contacts/visits")]
async fn list_visits(
    state: web::Data<AppState>,
    access: Access,
    q: Paged<VisitQuery>,
) -> ApiResult<web::Json<PageOf<VisitOut>>> {
    let (_, scope) = access.require_user(Action::ContactRead)?;
    let page = q.page.page_request()?;
    let f = q.filter;
    let filter = VisitFilter {
        assignment_id: f.assignment_id,
        household_id: f.household_id,
        from: f.from,
        to: f.to,
    };
    let count = q.page.count;
    let (rows, total) = db::run(&state.db, move |c| {
        let total =
            total_if(count, || store::count_visits(c, &scope, &filter)).map_err(contact_error)?;
        Ok((
            store::list_visits(c, &scope, &filter, &page).map_err(contact_error)?,
            total,
        ))
    })
    .await?;
    Ok(web::Json(page_of(rows, dto::visit).with_total(total)))
}

/// Gaps in the dual contacts · 双包联系缺口
///
/// What falls short of 《实施方案》三(七)14 in your scope today, each gap with its kind and a
/// description in both languages: leadership members with fewer than 2 or more than 3 households;
/// a county union with no difficult enterprise or more than 3; filed households nobody keeps in
/// touch with; and contacts with no visit in the last N days (policy parameter
/// `contact_visit_gap_days`, 90 by default; a new assignment has N days for its first visit).
/// Only assignments valid today count. In a stable order: by kind, then subject. Auditors and
/// union staff read them; department keys are refused.
///
/// 管辖范围内当日不符合《实施方案》三(七)14的情形，每项附类型及中英文说明：班子成员联系家庭少于2户或多于3户；县总工会未联系困难企业或多于3家；无人联系的建档立卡家庭；近N天内未走访的联系（政策参数 contact_visit_gap_days，默认90天；新建联系有N天完成首次走访）。仅计当日有效的联系。按类型、对象排序。审计人员和工会工作人员可查阅；部门密钥不可调用。
#[utoipa::path(operation_id = "list_contact_gaps", tag = "contacts",
    params(GapQuery, crate::pagination::PageQuery),
    responses((status = 200, description = "A page of gaps. 一页缺口。", body = PageOf<GapOut>)))]
#[get("/contacts/gaps")]
async fn list_gaps(
    state: web::Data<AppState>,
    access: Access,
    q: Paged<GapQuery>,
) -> ApiResult<web::Json<PageOf<GapOut>>> {
    let (_, scope) = access.require_user(Action::ContactRead)?;
    let page = q.page.page_request()?;
    let (kind, count, today) = (q.filter.kind, q.page.count, state.clock.today());
    let gaps = db::run_blocking(&state.db, move |c| {
        let book = jiekun_store::rules::policy_book(c)?;
        store::gaps(c, &scope, today, &book).map_err(contact_error)
    })
    .await?;
    let gaps: Vec<_> = gaps
        .into_iter()
        .filter(|g| kind.is_none_or(|k| g.kind == k))
        .collect();
    let total = (count == Some(true)).then_some(gaps.len() as u64);
    let mut items: Vec<_> = gaps
        .into_iter()
        .filter(|g| page.after.as_deref().is_none_or(|a| g.key() > a))
        .take(page.limit as usize + 1)
        .collect();
    let next_after = if items.len() > page.limit as usize {
        items.truncate(page.limit as usize);
        items.last().map(|g| g.key().to_owned())
    } else {
        None
    };
    let rows = jiekun_store::Page { items, next_after };
    Ok(web::Json(page_of(rows, dto::gap).with_total(total)))
}
