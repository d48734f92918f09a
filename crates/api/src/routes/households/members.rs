//! Members of a household (家庭成员): their shapes, how a member as sent becomes a stored one, and
//! the handlers that add, change and remove them.

use actix_web::{delete, patch, post, web, HttpResponse};
use chrono::NaiveDate;
use jiekun_domain::access::Action;
use jiekun_domain::household::{
    check_member, DisabilityType, HealthStatus, MemberFacts, Relation, SchoolingLevel, WorkStatus,
};
use jiekun_domain::{NationalId, Sex};
use jiekun_store::household_file::{self as unit, MemberUpdate};
use jiekun_store::households::{self as store, MemberChanges, MemberInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::parse::{file_error, id_error, member_rule_error, rule_error};
use super::present::Shown;
use super::{household_not_found, no_content, not_filed_elsewhere, tagged};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{Change, Versioned};
use crate::fields::{double_option, Fields};
use crate::schema;
use crate::{db, AppState};

/// Health details (sensitive: stored encrypted, shown only on request). 健康状况（加密存储）。
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Health {
    #[schema(value_type = schema::HealthStatus)]
    pub status: HealthStatus,
    /// Diagnosis in words. 疾病名称。
    #[validate(length(max = 200, code = "too_long"))]
    #[schema(max_length = 200)]
    pub illness: Option<String>,
    /// Only for a member whose status is `disabled`. 仅残疾人填写。
    #[schema(value_type = Option<schema::DisabilityType>)]
    pub disability_type: Option<DisabilityType>,
    /// 1–4 (一级–四级), only for a member whose status is `disabled`. 残疾等级。
    #[validate(range(min = 1, max = 4, code = "out_of_range"))]
    #[schema(minimum = 1, maximum = 4)]
    pub disability_grade: Option<u8>,
    /// Needs long-term care: disabled or dependent on others (《实施方案》三(四)7); default false.
    /// 需要长期护理（残疾或失能）。
    #[serde(default)]
    pub long_term_care: bool,
}

/// Schooling of a member. 就学情况。
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Schooling {
    #[schema(value_type = schema::SchoolingLevel)]
    pub level: SchoolingLevel,
    #[validate(length(max = 100, code = "too_long"))]
    #[schema(max_length = 100)]
    pub school: Option<String>,
    /// Year of study, 1–10. 年级。
    #[validate(range(min = 1, max = 10, code = "out_of_range"))]
    #[schema(minimum = 1, maximum = 10)]
    pub year: Option<i64>,
}

/// A member as sent. 家庭成员（提交）。
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!(crate::examples::new_member()))]
pub struct MemberIn {
    /// Exactly one `worker` per household. 每户有且仅有一名职工本人。
    #[schema(value_type = schema::Relation)]
    pub relation: Relation,
    #[validate(length(max = 50, code = "too_long"))]
    #[schema(example = "张三", max_length = 50)]
    pub name: String,
    /// 18 characters, GB 11643 (lower-case x accepted). 公民身份号码。
    #[validate(length(max = 18, code = "too_long"))]
    #[schema(
        example = "610724198001011238",
        min_length = 18,
        max_length = 18,
        pattern = "^[0-9]{17}[0-9Xx]$"
    )]
    pub national_id: String,
    /// Must agree with the identity number when given. 须与身份号码一致。
    #[schema(value_type = Option<schema::Sex>)]
    pub sex: Option<String>,
    /// Must agree with the identity number when given. 须与身份号码一致。
    pub birth_date: Option<NaiveDate>,
    #[validate(nested)]
    pub health: Option<Health>,
    #[schema(value_type = schema::WorkStatus)]
    pub work_status: WorkStatus,
    /// Laid off by an enterprise or lost their job there (《实施方案》三(六)12、三(九)18);
    /// default false. 企业下岗失业人员。
    #[serde(default)]
    pub laid_off: bool,
    /// Has a business plan and wants to start a business (《实施方案》三(二)3); default false.
    /// 有创业意愿和创业计划。
    #[serde(default)]
    pub business_plan: bool,
    /// Pays urban-rural residents' basic pension contributions (《实施方案》三(六)11); default
    /// false. 缴纳城乡居民基本养老保险费。
    #[serde(default)]
    pub residents_pension: bool,
    #[validate(nested)]
    pub schooling: Option<Schooling>,
    /// Counted in the household (default true); a reason is required when not. 是否计入家庭人口。
    #[serde(default = "yes")]
    pub included: bool,
    #[validate(length(max = 200, code = "too_long"))]
    #[schema(max_length = 200)]
    pub exclusion_reason: Option<String>,
}

fn yes() -> bool {
    true
}

/// A member as answered; personal data masked unless revealed. 家庭成员（默认脱敏）。
#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    pub id: String,
    #[schema(value_type = schema::Relation)]
    pub relation: String,
    /// `张*` unless revealed. 姓名。
    pub name: String,
    /// `6107**********123X` unless revealed. 身份号码。
    pub national_id: String,
    #[schema(value_type = schema::Sex)]
    pub sex: String,
    /// `1980-**-**` unless the identity number is revealed. 出生日期。
    pub birth_date: String,
    /// Present only when `health` is revealed. 仅在显式请求时返回。
    pub health: Option<Health>,
    #[schema(value_type = schema::WorkStatus)]
    pub work_status: String,
    /// Laid off by an enterprise or lost their job there (《实施方案》三(六)12、三(九)18).
    /// 企业下岗失业人员。
    pub laid_off: bool,
    /// Has a business plan and wants to start a business (《实施方案》三(二)3). 有创业意愿和创业计划。
    pub business_plan: bool,
    /// Pays urban-rural residents' basic pension contributions (《实施方案》三(六)11).
    /// 缴纳城乡居民基本养老保险费。
    pub residents_pension: bool,
    pub schooling: Option<Schooling>,
    pub included: bool,
    pub exclusion_reason: Option<String>,
}

/// Changes to a member. The identity number cannot change: remove the member and add them again.
/// 修改家庭成员（身份号码不可修改）。
#[derive(Debug, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"work_status": "unemployed", "laid_off": true, "health": {"status": "serious_illness", "illness": "尿毒症"}}))]
pub struct UpdateMember {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<schema::Relation>)]
    pub relation: Option<Relation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 50, code = "too_long"))]
    #[schema(max_length = 50)]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[validate(nested)]
    pub health: Option<Option<Health>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<schema::WorkStatus>)]
    pub work_status: Option<WorkStatus>,
    /// Laid off by an enterprise or lost their job there (《实施方案》三(六)12、三(九)18).
    /// 企业下岗失业人员。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub laid_off: Option<bool>,
    /// Has a business plan and wants to start a business (《实施方案》三(二)3). 有创业意愿和创业计划。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_plan: Option<bool>,
    /// Pays urban-rural residents' basic pension contributions (《实施方案》三(六)11).
    /// 缴纳城乡居民基本养老保险费。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residents_pension: Option<bool>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[validate(nested)]
    pub schooling: Option<Option<Schooling>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub included: Option<bool>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub exclusion_reason: Option<Option<String>>,
}

pub(super) fn health_json(h: &Health) -> String {
    serde_json::to_string(h).unwrap_or_default()
}

/// The member rules of one member (exclusion reason, disability details only for the disabled).
fn check_health(
    f: &mut Fields,
    at: &str,
    h: Option<&Health>,
    relation: Relation,
    included: bool,
    has_reason: bool,
) {
    let facts = MemberFacts {
        relation,
        included,
        has_exclusion_reason: has_reason,
        health: h.map(|h| h.status),
        disability_type: h.is_some_and(|h| h.disability_type.is_some()),
        disability_grade: h.and_then(|h| h.disability_grade),
    };
    if let Err(e) = check_member(&facts) {
        f.push(member_rule_error(at, e));
    }
}

/// A member as sent, checked and parsed for the store; errors name `at.<field>`.
pub(super) fn parse_member(
    f: &mut Fields,
    at: &str,
    m: &MemberIn,
    today: NaiveDate,
) -> Option<MemberInput> {
    let name = f.name(&format!("{at}.name"), &m.name, 50);
    let id = f.check(
        NationalId::parse(&m.national_id, today)
            .map_err(|e| id_error(&format!("{at}.national_id"), e)),
    );
    if let Some(id) = &id {
        if let Some(sex) = &m.sex {
            match Sex::parse(sex) {
                Some(s) if s == id.sex() => {}
                Some(_) => f.push(FieldError::new(
                    format!("{at}.sex"),
                    "inconsistent",
                    "does not agree with the identity number",
                    "与身份号码中的性别不一致",
                )),
                None => f.push(FieldError::new(
                    format!("{at}.sex"),
                    "invalid_value",
                    "male or female",
                    "应为 male 或 female",
                )),
            }
        }
        if m.birth_date.is_some_and(|b| b != id.birth_date()) {
            f.push(FieldError::new(
                format!("{at}.birth_date"),
                "inconsistent",
                "does not agree with the identity number",
                "与身份号码中的出生日期不一致",
            ));
        }
    }
    let reason = f.optional_text(
        &format!("{at}.exclusion_reason"),
        m.exclusion_reason.as_deref(),
        200,
    );
    let has_reason = reason.as_ref().is_some_and(|r| r.is_some());
    check_health(f, at, m.health.as_ref(), m.relation, m.included, has_reason);
    let id = id?;
    Some(MemberInput {
        relation: m.relation,
        name: name?,
        national_id_masked: id.masked(),
        sex: id.sex().as_str().to_owned(),
        birth_date: id.birth_date(),
        national_id: id.as_str().to_owned(),
        health: m.health.as_ref().map(health_json),
        work_status: m.work_status.as_str().to_owned(),
        schooling_level: m.schooling.as_ref().map(|s| s.level.as_str().to_owned()),
        school: m.schooling.as_ref().and_then(|s| s.school.clone()),
        school_year: m.schooling.as_ref().and_then(|s| s.year),
        included: m.included,
        exclusion_reason: reason?,
        business_plan: m.business_plan,
        residents_pension: m.residents_pension,
        laid_off: m.laid_off,
    })
}

/// The changes to a member, checked against the member as stored where a rule spans fields.
fn member_update(body: &UpdateMember, current: &store::MemberRow) -> ApiResult<MemberUpdate> {
    let mut f = Fields::default();
    let name = body.name.as_deref().and_then(|n| f.name("name", n, 50));
    let reason = body.exclusion_reason.as_ref().map(|r| {
        f.optional_text("exclusion_reason", r.as_deref(), 200)
            .flatten()
    });
    // The rules look at the member as it will be.
    let relation = body
        .relation
        .or_else(|| current.relation.parse().ok())
        .unwrap_or(Relation::OtherDependant);
    let included = body.included.unwrap_or(current.included);
    let has_reason = match &reason {
        Some(r) => r.is_some(),
        None => current.exclusion_reason.is_some(),
    };
    match &body.health {
        Some(h) => check_health(&mut f, "member", h.as_ref(), relation, included, has_reason),
        None if !included && !has_reason => f.push(FieldError::new(
            "exclusion_reason",
            "required",
            "a member left out needs a reason",
            "不计入家庭人口时须说明原因",
        )),
        None => {}
    }
    f.finish()?;
    let schooling = body.schooling.as_ref();
    Ok(MemberUpdate {
        changes: MemberChanges {
            relation: body.relation.map(|r| r.as_str().to_owned()),
            name,
            health_enc: None,
            work_status: body.work_status.map(|w| w.as_str().to_owned()),
            schooling_level: schooling.map(|s| s.as_ref().map(|s| s.level.as_str().to_owned())),
            school: schooling.map(|s| s.as_ref().and_then(|s| s.school.clone())),
            school_year: schooling.map(|s| s.as_ref().and_then(|s| s.year)),
            included: body.included,
            exclusion_reason: reason,
            business_plan: body.business_plan,
            residents_pension: body.residents_pension,
            laid_off: body.laid_off,
        },
        health: body.health.as_ref().map(|h| h.as_ref().map(health_json)),
        recorded: serde_json::to_value(body).unwrap_or_default(),
    })
}

/// Add a member · 新增家庭成员
///
/// Adds a co-resident member to the file. Requires the household's `If-Match`; the answer's
/// `ETag` is the household's new version.
///
/// 向档案新增一名共同生活的家庭成员。须携带户档案的 If-Match，响应中的 ETag 为户档案新版本。
#[utoipa::path(operation_id = "add_household_member", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    request_body = MemberIn,
    responses((status = 201, description = "Added. 已新增。", body = Member, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[post("/households/{id}/members")]
async fn add_member(
    state: web::Data<AppState>,
    access: Access,
    Change { id, version, body }: Change,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let body: MemberIn = body.parse()?;
    if body.relation == Relation::Worker {
        return Err(ApiError::validation(vec![FieldError::new(
            "relation",
            "one_worker",
            "the household has its worker already",
            "该户已有职工本人",
        )]));
    }
    let mut f = Fields::default();
    let parsed = parse_member(&mut f, "member", &body, state.clock.today());
    f.finish()?;
    let parsed = parsed.ok_or_else(|| ApiError::internal("field parsing lost a value"))?;
    let person = vec![(
        0,
        parsed.national_id.clone(),
        parsed.national_id_masked.clone(),
    )];
    not_filed_elsewhere(&state, &access, &scope, person, Some(id.clone()), "member").await?;
    let (cipher, caller) = (state.cipher.clone(), access.caller());
    let (m, v) = db::write(&state.db, move |c| {
        unit::add_member(c, &caller, &cipher, &scope, &id, version, &parsed)
            .map_err(|e| rule_error(e, "member"))
    })
    .await
    .map_err(household_not_found)?;
    Ok(tagged(
        HttpResponse::Created(),
        v,
        Shown::masked(&state.cipher).member(m)?,
    ))
}

/// Update a member · 修改家庭成员
///
/// Changes a member's relation, name, health, work (and whether laid off), business plan,
/// residents' pension, schooling or inclusion. The identity number cannot change. While the
/// household's vehicle is exempted as a disabled member's mobility vehicle, a change that would
/// leave no disabled member is refused (422, `not_allowed` on `assets.vehicle_disability_exempt`).
/// Requires the household's `If-Match`.
///
/// 修改成员的关系、姓名、健康、就业（含是否下岗失业）、创业计划、城乡居民养老保险缴费、就学或是否计入家庭人口；身份号码不可修改。该户机动车按残疾人代步车豁免期间，修改后若已无残疾成员则不予办理（422）。须携带户档案的 If-Match。
#[utoipa::path(operation_id = "update_household_member", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("member_id" = String, Path, description = "Member id. 成员标识。"),
           ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    request_body = UpdateMember,
    responses((status = 200, description = "Updated. 已修改。", body = Member, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[patch("/households/{id}/members/{member_id}")]
async fn update_member(
    state: web::Data<AppState>,
    access: Access,
    Change { id, version, body }: Change<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let body: UpdateMember = body.parse()?;
    let (id, member_id) = id;
    let (cipher, caller) = (state.cipher.clone(), access.caller());
    let (m, v) = db::write(&state.db, move |c| {
        store::get(c, &scope, &id)?;
        let current = store::member(c, &id, &member_id).map_err(|e| file_error(e, "member"))?;
        let update = member_update(&body, &current)?;
        unit::update_member(
            c, &caller, &cipher, &scope, &id, &member_id, version, update,
        )
        .map_err(|e| rule_error(e, "member"))
    })
    .await
    .map_err(household_not_found)?;
    Ok(tagged(
        HttpResponse::Ok(),
        v,
        Shown::masked(&state.cipher).member(m)?,
    ))
}

/// Remove a member · 删除家庭成员
///
/// Removes a member (never the worker) and their income records. While the household's vehicle
/// is exempted as a disabled member's mobility vehicle, the last disabled member cannot be
/// removed (422, `not_allowed` on `assets.vehicle_disability_exempt`). Requires the household's
/// `If-Match`.
///
/// 删除一名家庭成员（不能删除职工本人）及其收入记录。该户机动车按残疾人代步车豁免期间，不能删除最后一名残疾成员（422）。须携带户档案的 If-Match。
#[utoipa::path(operation_id = "remove_household_member", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("member_id" = String, Path, description = "Member id. 成员标识。"),
           ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
    responses((status = 204, description = "Removed. 已删除。", headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
#[delete("/households/{id}/members/{member_id}")]
async fn remove_member(
    state: web::Data<AppState>,
    access: Access,
    Versioned { id, version }: Versioned<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let (id, member_id) = id;
    let (cipher, caller) = (state.cipher.clone(), access.caller());
    let v = db::write(&state.db, move |c| {
        unit::remove_member(c, &caller, &cipher, &scope, &id, &member_id, version)
            .map_err(|e| rule_error(e, "member"))
    })
    .await
    .map_err(household_not_found)?;
    Ok(no_content(v))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(add_member)
        .service(update_member)
        .service(remove_member);
}
