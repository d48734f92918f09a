//! Shapes of referrals, as union staff and as lead departments see them.

use chrono::{DateTime, NaiveDate, Utc};
use jiekun_domain::assistance::ReferralStatus;
use jiekun_domain::closed::ClosedList;
use jiekun_domain::household::Relation;
use jiekun_domain::measure::Measure;
use jiekun_domain::national_id::mask_name;
use jiekun_store::crypto::FieldCipher;
use jiekun_store::households::{self as hstore, HouseholdRow, MemberRow};
use jiekun_store::measures::{split_ids, ReferralRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::routes::measures::dto::measure_of;
use crate::schema::closed;

/// A member a referral concerns, as the lead unit needs them. 转介涉及的成员。
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferredMember {
    pub id: String,
    #[schema(schema_with = closed::<Relation>)]
    pub relation: String,
    pub name: String,
    /// Masked (`6107**********123X`) unless the measure needs the full number to match the
    /// person in the department's register (see `referral_shows_full_id` in the catalogue).
    /// 身份证号：默认脱敏，措施需要时提供完整号码。
    pub national_id: String,
    /// Whether `national_id` is the full number (that read is audited). 是否为完整号码（读取记入审计）。
    pub national_id_full: bool,
}

/// The household facts a referral carries: who, where, and whom to ask. 转介所附家庭信息。
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferredHousehold {
    pub id: String,
    pub file_number: Option<String>,
    /// The worker's name: in full for the lead unit that must reach them, masked for staff lists.
    /// 职工姓名。
    pub worker_name: String,
    pub address: String,
    /// The grassroots union that keeps the file: the contact for the referral. 建档基层工会（联系单位）。
    pub organisation_id: String,
    pub organisation_name: String,
    /// The members the measure concerns (the worker, when it concerns the household as a whole).
    /// 措施涉及的成员。
    pub members: Vec<ReferredMember>,
}

/// A referral of a measure to its lead unit. 转介。
#[derive(Debug, Serialize, ToSchema)]
pub struct Referral {
    pub id: String,
    pub household_id: String,
    #[schema(minimum = 1, maximum = 19, example = 4)]
    pub measure: i64,
    #[schema(schema_with = closed::<Measure>)]
    pub measure_code: String,
    pub measure_name_zh: String,
    pub measure_name_en: String,
    pub clause_zh: String,
    /// The department kind it is sent to (`union`: the union itself). 转介部门类型。
    #[schema(schema_with = crate::routes::closed::department_code)]
    pub department_code: String,
    pub region_code: String,
    #[schema(schema_with = closed::<ReferralStatus>)]
    pub status: String,
    /// The lead unit answers by this day. 办理期限。
    pub due_on: NaiveDate,
    /// Still pending after its due date. 是否逾期。
    pub overdue: bool,
    pub note: Option<String>,
    pub decline_reason: Option<String>,
    pub delivered_on: Option<NaiveDate>,
    pub delivery_note: Option<String>,
    pub answered_by: Option<String>,
    pub household: ReferredHousehold,
    /// Send back as `If-Match`. 版本号。
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How much of a household a referral shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Union staff: masked, as every list of the file.
    Staff,
    /// The lead department: the worker's name in full, and full ID numbers where the measure
    /// needs them.
    LeadUnit,
}

/// Everything needed to show one referral.
pub struct ReferralFacts {
    pub row: ReferralRow,
    pub household: HouseholdRow,
    pub members: Vec<MemberRow>,
    pub organisation_name: String,
}

impl ReferralFacts {
    /// Whether showing it to `audience` reveals full ID numbers.
    pub fn reveals(&self, audience: Audience) -> ApiResult<bool> {
        Ok(audience == Audience::LeadUnit && measure_of(self.row.measure_number)?.needs_full_id())
    }

    pub fn show(
        self,
        audience: Audience,
        cipher: &FieldCipher,
        today: NaiveDate,
    ) -> ApiResult<Referral> {
        let m = measure_of(self.row.measure_number)?;
        let full = self.reveals(audience)?;
        let wanted = split_ids(&self.row.member_ids);
        let members = self
            .members
            .into_iter()
            .filter(|x| {
                if wanted.is_empty() {
                    x.relation == Relation::Worker.as_str()
                } else {
                    wanted.contains(&x.id)
                }
            })
            .map(|x| {
                let national_id = if full {
                    cipher
                        .decrypt(&hstore::member_context(&x.id), &x.national_id_enc)
                        .map_err(ApiError::internal)?
                } else {
                    x.national_id_masked.clone()
                };
                Ok(ReferredMember {
                    name: if audience == Audience::LeadUnit {
                        x.name.clone()
                    } else {
                        mask_name(&x.name)
                    },
                    id: x.id,
                    relation: x.relation,
                    national_id,
                    national_id_full: full,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let r = self.row;
        let h = self.household;
        let pending = ReferralStatus::from_code(&r.status).is_some_and(|s| s.is_pending());
        Ok(Referral {
            overdue: pending && r.due_on < today,
            measure_code: m.as_str().to_owned(),
            measure_name_zh: m.meaning_zh().to_owned(),
            measure_name_en: m.meaning_en().to_owned(),
            clause_zh: m.clause_zh(),
            household: ReferredHousehold {
                id: h.id,
                file_number: h.file_number,
                worker_name: if audience == Audience::LeadUnit {
                    h.worker_name
                } else {
                    mask_name(&h.worker_name)
                },
                address: h.address,
                organisation_id: h.organisation_id,
                organisation_name: self.organisation_name,
                members,
            },
            id: r.id,
            household_id: r.household_id,
            measure: r.measure_number,
            department_code: r.department_code,
            region_code: r.region_code,
            status: r.status,
            due_on: r.due_on,
            note: r.note,
            decline_reason: r.decline_reason,
            delivered_on: r.delivered_on,
            delivery_note: r.delivery_note,
            answered_by: r.answered_by,
            version: r.version,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        })
    }
}

/// Filters of the referral list. 转介列表筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReferralQuery {
    /// Only referrals in this status. 按状态筛选。
    #[param(schema_with = closed::<ReferralStatus>)]
    pub status: Option<ReferralStatus>,
    /// `true`: only referrals still pending after their due date. 仅逾期未办结的转介。
    pub overdue: Option<bool>,
    /// Only the referrals of this household. 按家庭筛选。
    pub household_id: Option<String>,
    /// Only referrals of this measure, 1–19. 按措施筛选。
    #[param(minimum = 1, maximum = 19)]
    pub measure: Option<i64>,
    /// Only referrals to this department kind (union staff). 按转介部门筛选。
    #[param(schema_with = crate::routes::closed::department_code)]
    pub department_code: Option<jiekun_domain::DepartmentCode>,
}

/// Taking up a referral. 受理转介。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "已受理，正在核实。"}))]
pub struct AcknowledgeReferral {
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// Declining a referral. 不予受理转介。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "经核实，家庭人均收入高于低保标准，不符合条件。"}))]
pub struct DeclineReferral {
    /// Why it is declined. 不予受理的理由。
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Recording that a measure was delivered. 登记已落实。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"delivered_on": "2026-11-20", "note": "已纳入城市低保。"}))]
pub struct DeliverReferral {
    /// When it was delivered (today when absent; never in the future). 落实日期。
    pub delivered_on: Option<NaiveDate>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub note: Option<String>,
}
