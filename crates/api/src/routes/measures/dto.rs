//! Request and response shapes of the catalogue and the household plans.

use chrono::{DateTime, NaiveDate, Utc};
use jiekun_domain::assistance::{PlanItemOrigin, PlanItemStatus, ReferralStatus};
use jiekun_domain::closed::ClosedList;
use jiekun_domain::measure::{Measure, Mechanism};
use jiekun_domain::DepartmentCode;
use jiekun_store::measures::plans::PlanView;
use jiekun_store::measures::{split_ids, MeasureRow, PlanItemRow, ReferralRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::schema::closed;

fn utc(t: chrono::NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A unit named in the catalogue. 措施责任单位。
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitName {
    /// Unit code: a department kind (`hrss`, `civil_affairs`, `union` …), or `towns`,
    /// `grassroots_unions`, `related_departments`. 单位代码。
    #[schema(schema_with = crate::routes::closed::unit_code)]
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

fn unit(code: &str) -> UnitName {
    let (zh, en) = match code.parse::<DepartmentCode>() {
        Ok(d) => (d.name_zh().to_owned(), d.name_en().to_owned()),
        Err(_) => match code {
            "towns" => ("各镇（街道）".into(), "towns and sub-districts".into()),
            "grassroots_unions" => ("各基层工会".into(), "grassroots unions".into()),
            _ => ("相关部门（单位）".into(), "related departments".into()),
        },
    };
    UnitName {
        code: code.to_owned(),
        name_zh: zh,
        name_en: en,
    }
}

/// One of the 19 measures of 《实施方案》三. 帮扶措施。
#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureOut {
    /// 1–19, as the plan numbers them. 措施序号。
    #[schema(minimum = 1, maximum = 19, example = 4)]
    pub number: i64,
    #[schema(schema_with = closed::<Measure>)]
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// 1–9. 所属机制序号。
    #[schema(minimum = 1, maximum = 9)]
    pub mechanism_number: i64,
    #[schema(schema_with = closed::<Mechanism>)]
    pub mechanism: String,
    /// `《实施方案》三(三)4`.
    pub clause_zh: String,
    pub clause_en: String,
    /// Lead units: a referral goes to the first that is a department kind. 牵头单位。
    pub lead: Vec<UnitName>,
    /// The department kind its referrals go to (`union`: the union leads it). 转介部门。
    #[schema(schema_with = crate::routes::closed::department_code)]
    pub lead_department: String,
    /// Responsible units. 责任单位。
    pub responsible: Vec<UnitName>,
    /// Referrals of this measure carry the members' full ID numbers (the lead department
    /// matches persons in its register). 转介是否提供完整身份证号。
    pub referral_shows_full_id: bool,
    /// What the plan says, in short. 政策要点。
    pub gist: String,
}

impl TryFrom<MeasureRow> for MeasureOut {
    type Error = ApiError;
    fn try_from(r: MeasureRow) -> ApiResult<MeasureOut> {
        let m = measure_of(r.number)?;
        let split = |s: &str| s.split(',').filter(|u| !u.is_empty()).map(unit).collect();
        Ok(MeasureOut {
            number: r.number,
            code: r.code,
            name_zh: r.name_zh,
            name_en: m.meaning_en().to_owned(),
            mechanism_number: r.mechanism_number,
            mechanism: r.mechanism_code,
            clause_zh: m.clause_zh(),
            clause_en: m.clause_en(),
            lead: split(&r.lead_units),
            lead_department: m
                .lead_department()
                .map(|d| d.as_str().to_owned())
                .unwrap_or_default(),
            responsible: split(&r.responsible_units),
            referral_shows_full_id: m.needs_full_id(),
            gist: r.gist,
        })
    }
}

pub(crate) fn measure_of(n: i64) -> ApiResult<Measure> {
    u8::try_from(n)
        .ok()
        .and_then(Measure::from_number)
        .ok_or_else(|| ApiError::internal(format!("stored measure {n}")))
}

/// Why the rules propose a measure. 建议理由。
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReasonOut {
    /// Stable code of the reason. 理由代码。
    #[schema(schema_with = closed::<jiekun_domain::rules::plan::ReasonCode>)]
    pub code: String,
    pub en: String,
    pub zh: String,
    pub clause_en: String,
    pub clause_zh: String,
}

/// A measure's referral, in short. 转介概况。
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralBrief {
    pub id: String,
    #[schema(schema_with = crate::routes::closed::department_code)]
    pub department_code: String,
    #[schema(schema_with = closed::<ReferralStatus>)]
    pub status: String,
    pub due_on: NaiveDate,
}

/// One measure in a household's plan. 计划中的一项措施。
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanItem {
    #[schema(minimum = 1, maximum = 19, example = 4)]
    pub measure: i64,
    #[schema(schema_with = closed::<Measure>)]
    pub measure_code: String,
    pub name_zh: String,
    pub name_en: String,
    pub clause_zh: String,
    #[schema(schema_with = closed::<PlanItemOrigin>)]
    pub origin: String,
    #[schema(schema_with = closed::<PlanItemStatus>)]
    pub status: String,
    /// The members it concerns (empty: the household as a whole). 涉及成员。
    pub member_ids: Vec<String>,
    pub reasons: Vec<ReasonOut>,
    pub note: Option<String>,
    pub drop_reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The referral of an accepted measure. 已采纳措施的转介。
    pub referral: Option<ReferralBrief>,
}

/// A household's plan of measures (一户一策). 家庭帮扶措施计划。
#[derive(Debug, Serialize, ToSchema)]
pub struct Plan {
    pub household_id: String,
    /// Bumped by every change; send it back as `If-Match`. 版本号。
    pub version: i64,
    pub proposed_on: NaiveDate,
    pub items: Vec<PlanItem>,
    pub updated_at: DateTime<Utc>,
}

fn item(i: PlanItemRow, refs: &[ReferralRow]) -> ApiResult<PlanItem> {
    let m = measure_of(i.measure_number)?;
    let reasons: Vec<ReasonOut> = serde_json::from_str(&i.reasons).map_err(ApiError::internal)?;
    Ok(PlanItem {
        measure: i.measure_number,
        measure_code: m.as_str().to_owned(),
        name_zh: m.meaning_zh().to_owned(),
        name_en: m.meaning_en().to_owned(),
        clause_zh: m.clause_zh(),
        referral: refs
            .iter()
            .find(|r| r.plan_item_id == i.id)
            .map(|r| ReferralBrief {
                id: r.id.clone(),
                department_code: r.department_code.clone(),
                status: r.status.clone(),
                due_on: r.due_on,
            }),
        origin: i.origin,
        status: i.status,
        member_ids: split_ids(&i.member_ids),
        reasons,
        note: i.note,
        drop_reason: i.drop_reason,
        decided_by: i.decided_by,
        decided_at: i.decided_at.map(utc),
    })
}

impl TryFrom<PlanView> for Plan {
    type Error = ApiError;
    fn try_from(v: PlanView) -> ApiResult<Plan> {
        Ok(Plan {
            household_id: v.plan.household_id,
            version: v.plan.version,
            proposed_on: v.plan.proposed_on,
            items: v
                .items
                .into_iter()
                .map(|i| item(i, &v.referrals))
                .collect::<ApiResult<_>>()?,
            updated_at: utc(v.plan.updated_at),
        })
    }
}

/// Accepting a proposed measure. 采纳建议措施。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "请民政局核实后纳入低保。"}))]
pub struct AcceptMeasure {
    /// A note for the lead unit. 给牵头单位的说明。
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// Dropping a proposed measure. 放弃建议措施。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "已由企业安置就业，暂不需要。"}))]
pub struct DropMeasure {
    /// Why it is dropped. 放弃理由。
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Adding a measure the rules did not propose. 添加措施。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"measure": 15, "member_ids": [], "note": "家庭遭遇变故，需心理疏导。"}))]
pub struct AddMeasure {
    /// The measure, 1–19. 措施序号。
    #[validate(range(min = 1, max = 19))]
    #[schema(minimum = 1, maximum = 19)]
    pub measure: i64,
    #[validate(
        length(max = 20, code = "too_many"),
        custom(function = "crate::limits::ids")
    )]
    #[schema(schema_with = crate::limits::member_ids_schema)]
    #[serde(default)]
    pub member_ids: Vec<String>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub note: Option<String>,
}
