//! Shapes of information sharing: consents, verification requests and tasks, the facts departments
//! answer with, and the discrepancies they reveal.

use chrono::{DateTime, NaiveDate, Utc};
use jiekun_domain::household::{IncomeKind, Month, Relation};
use jiekun_domain::verification::{
    AnswerChannel, AssistanceStatus, CheckedField, DataDomain, DiscrepancyStatus, Fact,
    InsuranceStatus, Resolution, TaskStatus,
};
use jiekun_store::measures::split_ids;
use jiekun_store::sharing::{
    domains_of, ConsentRow, DiscrepancyRow, FactRow, TaskRow, VerificationRow,
};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::error::FieldError;
use crate::schema::closed;

/// The data domains, as a schema: an array of the closed list. 数据类别数组。
fn domain_list() -> RefOr<Schema> {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(closed::<DataDomain>())
        .min_items(Some(1))
        .max_items(Some(DataDomain::ALL.len()))
        .into()
}

/// A status a department reports: social insurance or assistance, by domain. 部门报告的状态。
fn fact_status() -> RefOr<Schema> {
    use jiekun_domain::closed::ClosedList;
    let mut text = String::from("Status, by domain: `social_insurance` takes one of ");
    let ins: Vec<String> = InsuranceStatus::ALL
        .iter()
        .map(|s| format!("`{}` ({} {})", s.code(), s.meaning_en(), s.meaning_zh()))
        .collect();
    let aid: Vec<String> = AssistanceStatus::ALL
        .iter()
        .map(|s| format!("`{}` ({} {})", s.code(), s.meaning_en(), s.meaning_zh()))
        .collect();
    text.push_str(&ins.join(", "));
    text.push_str("; `social_assistance` takes one of ");
    text.push_str(&aid.join(", "));
    text.push_str(". 状态，按数据类别取值。");
    let mut values: Vec<&str> = InsuranceStatus::codes();
    values.extend(AssistanceStatus::codes());
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(text))
        .into()
}

/// Recording a signed consent (授权书). 登记授权书。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"member_id": crate::examples::MEMBER_ID, "number": "西乡授〔2026〕0001号",
    "signed_on": "2026-11-02", "domains": ["vehicles", "real_estate", "social_insurance", "social_assistance", "business", "tax"],
    "evidence": "授权书原件存城关镇总工会档案柜 A-12"}))]
pub struct NewConsentBody {
    /// The member the consent is for. 授权成员。
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub member_id: String,
    /// The member who signed: absent for an adult signing for themselves; an adult member of the
    /// household as guardian for a minor. 签署人：成年人本人签署时省略；未成年人由家庭中的成年成员作为监护人签署。
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub signed_by_member_id: Option<String>,
    /// The consent form's number. 授权书编号。
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub number: String,
    /// When it was signed (not in the future). 签署日期。
    pub signed_on: NaiveDate,
    /// The data domains it covers. 授权核对的数据类别。
    #[validate(length(min = 1, max = 6))]
    #[schema(schema_with = domain_list)]
    pub domains: Vec<DataDomain>,
    /// Where the signed form is kept (a reference, not the scan). 授权书原件存放位置或凭证编号。
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub evidence: String,
}

/// Revoking a consent. 撤销授权书。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "本人书面申请撤销授权。"}))]
pub struct RevokeConsentBody {
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// A signed consent. 授权书。
#[derive(Debug, Serialize, ToSchema)]
pub struct Consent {
    pub id: String,
    pub household_id: String,
    pub member_id: String,
    pub signed_by_member_id: String,
    pub number: String,
    pub signed_on: NaiveDate,
    #[schema(schema_with = domain_list)]
    pub domains: Vec<DataDomain>,
    pub evidence: String,
    /// Whether it was revoked (a revoked consent covers nothing). 是否已撤销。
    pub revoked: bool,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<ConsentRow> for Consent {
    fn from(r: ConsentRow) -> Self {
        Consent {
            domains: domains_of(&r.domains),
            revoked: r.revoked_at.is_some(),
            revoked_at: r.revoked_at.map(|t| t.and_utc()),
            id: r.id,
            household_id: r.household_id,
            member_id: r.member_id,
            signed_by_member_id: r.signed_by_member_id,
            number: r.number,
            signed_on: r.signed_on,
            evidence: r.evidence,
            revoke_reason: r.revoke_reason,
            created_by: r.created_by,
            created_at: r.created_at.and_utc(),
        }
    }
}

/// Asking departments to verify a household's data. 发起数据核对。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"household_id": crate::examples::HOUSEHOLD_ID,
    "domains": ["vehicles", "real_estate", "social_insurance", "social_assistance", "business", "tax"],
    "reason": "县总工会审核，核对家庭收入和财产状况。"}))]
pub struct NewVerificationBody {
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub household_id: String,
    /// The domains to check: one task each, for the department that answers for it. 核对的数据类别（每类一项任务）。
    #[validate(length(min = 1, max = 6))]
    #[schema(schema_with = domain_list)]
    pub domains: Vec<DataDomain>,
    #[validate(
        length(min = 1, max = 30, code = "too_many"),
        custom(function = "crate::limits::ids")
    )]
    #[schema(schema_with = crate::limits::checked_members_schema)]
    pub member_ids: Option<Vec<String>>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// A fact a department reports, as shown. 核实信息。
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifiedFact {
    pub id: String,
    pub task_id: String,
    pub member_id: String,
    #[schema(schema_with = closed::<DataDomain>)]
    pub domain: String,
    /// The department code that reported it. 信息来源部门。
    #[schema(schema_with = crate::routes::closed::department_code)]
    pub source: String,
    /// The day the department's data holds on. 信息截止日期。
    pub as_of: NaiveDate,
    pub count: Option<i64>,
    /// Floor area in square metres. 面积（平方米）。
    pub area_m2: Option<f64>,
    #[schema(schema_with = fact_status)]
    pub status: Option<String>,
    /// `YYYY-MM`.
    pub month: Option<String>,
    pub amount_fen: Option<i64>,
    /// Set aside when staff kept the declared figure against it. 是否因维持申报数而不予采用。
    pub set_aside: bool,
}

pub(crate) fn month_text(key: i64) -> String {
    format!("{:04}-{:02}", key / 100, key % 100)
}

impl From<FactRow> for VerifiedFact {
    fn from(f: FactRow) -> Self {
        VerifiedFact {
            id: f.id,
            task_id: f.task_id,
            member_id: f.member_id,
            domain: f.domain,
            source: f.source,
            as_of: f.as_of,
            count: f.count,
            area_m2: f.area_dm2.map(|a| a as f64 / 100.0),
            status: f.status,
            month: f.month.map(month_text),
            amount_fen: f.amount_fen,
            set_aside: f.set_aside,
        }
    }
}

/// A person a task asks about. 核对对象。
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskSubject {
    pub member_id: String,
    #[schema(schema_with = closed::<Relation>)]
    pub relation: String,
    /// In full for the department that must find the person; masked for union staff. 姓名。
    pub name: String,
    /// In full for the department (that read is audited as a disclosure); masked for union staff.
    /// 身份证号：对答复部门提供完整号码（记入审计），对工会用户脱敏。
    pub national_id: String,
}

/// One department's task of a verification request. 部门核对任务。
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationTask {
    pub id: String,
    pub verification_id: String,
    /// The household (union staff only). 家庭标识（仅工会用户可见）。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub household_id: Option<String>,
    #[schema(schema_with = closed::<DataDomain>)]
    pub domain: String,
    #[schema(schema_with = crate::routes::closed::department_code)]
    pub department_code: String,
    pub region_code: String,
    #[schema(schema_with = closed::<TaskStatus>)]
    pub status: String,
    /// The department answers by this day. 答复期限。
    pub due_on: NaiveDate,
    pub overdue: bool,
    pub members: Vec<TaskSubject>,
    pub answered_at: Option<DateTime<Utc>>,
    #[schema(schema_with = crate::routes::closed::closed_or_null::<AnswerChannel>)]
    pub answered_via: Option<String>,
    pub batch_id: Option<String>,
    /// What the department reported (union staff only). 核实信息（仅工会用户可见）。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts: Option<Vec<VerifiedFact>>,
}

impl VerificationTask {
    pub fn of(
        t: TaskRow,
        members: Vec<TaskSubject>,
        staff: bool,
        facts: Option<Vec<VerifiedFact>>,
        today: NaiveDate,
    ) -> Self {
        VerificationTask {
            overdue: t.status == "open" && t.due_on < today,
            household_id: staff.then_some(t.household_id),
            id: t.id,
            verification_id: t.verification_id,
            domain: t.domain,
            department_code: t.department_code,
            region_code: t.region_code,
            status: t.status,
            due_on: t.due_on,
            members,
            answered_at: t.answered_at.map(|a| a.and_utc()),
            answered_via: t.answered_via,
            batch_id: t.batch_id,
            facts,
        }
    }
}

/// A verification request with its tasks. 数据核对请求及其任务。
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    pub id: String,
    pub household_id: String,
    /// `open` until every task is answered. 全部任务答复前为 open。
    #[schema(schema_with = closed::<TaskStatus>)]
    pub status: String,
    #[schema(schema_with = domain_list)]
    pub domains: Vec<DataDomain>,
    pub member_ids: Vec<String>,
    pub reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub tasks: Vec<VerificationTask>,
}

impl Verification {
    pub fn of(r: VerificationRow, tasks: Vec<VerificationTask>) -> Self {
        Verification {
            domains: domains_of(&r.domains),
            member_ids: split_ids(&r.member_ids),
            id: r.id,
            household_id: r.household_id,
            status: r.status,
            reason: r.reason,
            created_by: r.created_by,
            created_at: r.created_at.and_utc(),
            tasks,
        }
    }
}

/// Filters of the verification list. 核对请求列表筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VerificationQuery {
    /// Only the requests of this household. 按家庭筛选。
    #[param(max_length = 64)]
    pub household_id: Option<String>,
    #[param(schema_with = closed::<TaskStatus>)]
    pub status: Option<TaskStatus>,
}

/// Filters of the task list. 核对任务列表筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    #[param(schema_with = closed::<TaskStatus>)]
    pub status: Option<TaskStatus>,
    #[param(schema_with = closed::<DataDomain>)]
    pub domain: Option<DataDomain>,
    /// Only the tasks of this household (union staff). 按家庭筛选（工会用户）。
    #[param(max_length = 64)]
    pub household_id: Option<String>,
    /// `true`: only open tasks past their due date. 仅逾期未答复的任务。
    pub overdue: Option<bool>,
}

/// One fact of an answer. 一条核实信息。
#[derive(Debug, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
pub struct FactBody {
    /// A member the task asks about. 核对的成员。
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub member_id: String,
    /// The task's domain (it may be left out). 数据类别（可省略，即任务的类别）。
    #[schema(schema_with = crate::routes::closed::closed_or_null::<DataDomain>)]
    pub domain: Option<DataDomain>,
    /// The day the department's data holds on: from 2000-01-01, not in the future. 信息截止日期。
    pub as_of: NaiveDate,
    /// `vehicles`: vehicles registered; `real_estate`: homes owned; `business`: businesses the
    /// person controls. 数量：机动车辆数、房产套数或控股企业数。
    #[validate(range(min = 0, max = 999))]
    #[schema(minimum = 0, maximum = 999)]
    pub count: Option<i64>,
    /// `real_estate`: floor area of the homes, square metres, two decimals at most. 房产总面积（平方米）。
    #[validate(range(min = 0.0, max = 100000.0))]
    #[schema(minimum = 0, maximum = 100000)]
    pub area_m2: Option<f64>,
    #[schema(schema_with = fact_status)]
    pub status: Option<String>,
    /// `tax`, and a pension, 低保 or special-hardship amount: the month (`YYYY-MM`). 月份。
    #[validate(length(equal = 7))]
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$", example = "2026-10")]
    pub month: Option<String>,
    /// The month's amount in fen: taxable income, the pension, or the assistance paid. 月金额（分）。
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub amount_fen: Option<i64>,
}

impl FactBody {
    /// The fact, with what its fields mean checked by the domain's rules; problems carry the
    /// field path under `at`.
    pub fn fact(
        self,
        at: &str,
        task_domain: DataDomain,
        today: NaiveDate,
    ) -> Result<Fact, Vec<FieldError>> {
        let mut errors = Vec::new();
        let area_dm2 = match self.area_m2.map(jiekun_domain::household::area_hundredths) {
            Some(Ok(a)) => Some(a),
            Some(Err(e)) => {
                errors.push(FieldError::new(
                    format!("{at}.area_m2"),
                    "invalid",
                    e.to_string(),
                    "面积最多保留两位小数",
                ));
                None
            }
            None => None,
        };
        let month = match self.month.as_deref().map(|m| Month::parse(m, today)) {
            Some(Ok(m)) => Some(m.key()),
            Some(Err(e)) => {
                errors.push(FieldError::new(
                    format!("{at}.month"),
                    "invalid",
                    e.to_string(),
                    "月份格式为 YYYY-MM，且不晚于本月",
                ));
                None
            }
            None => None,
        };
        let fact = Fact {
            member_id: self.member_id,
            domain: Some(self.domain.unwrap_or(task_domain)),
            as_of: Some(self.as_of),
            count: self.count,
            area_dm2,
            status: self.status,
            month,
            amount_fen: self.amount_fen,
        };
        for p in fact.check(today) {
            if errors
                .iter()
                .any(|e| e.field == format!("{at}.{}", p.field))
            {
                continue;
            }
            errors.push(FieldError::new(
                format!("{at}.{}", p.field),
                p.code,
                p.en,
                p.zh,
            ));
        }
        if errors.is_empty() {
            Ok(fact)
        } else {
            Err(errors)
        }
    }
}

/// A department's answer to its task. 部门答复核对任务。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"facts": [{"member_id": crate::examples::MEMBER_ID, "as_of": "2026-11-30",
    "status": "retired", "month": "2026-10", "amount_fen": 185000}]}))]
pub struct AnswerBody {
    /// At least one fact for each member the task asks about. 每位核对成员至少一条核实信息。
    #[validate(length(min = 1, max = 500), nested)]
    #[schema(min_items = 1, max_items = 500)]
    pub facts: Vec<FactBody>,
}

/// A difference between the declared file and a verified figure. 申报数与核实数的差异。
#[derive(Debug, Serialize, ToSchema)]
pub struct Discrepancy {
    pub id: String,
    pub household_id: String,
    pub task_id: String,
    #[schema(schema_with = closed::<CheckedField>)]
    pub field: String,
    /// For income: whose, which month and which kind. 收入差异：成员、月份和收入类别。
    pub member_id: Option<String>,
    pub month: Option<String>,
    #[schema(schema_with = crate::routes::closed::closed_or_null::<IncomeKind>)]
    pub kind: Option<String>,
    /// The declared figure, in the field's unit. 申报数。
    pub declared: i64,
    /// The verified figure. 核实数。
    pub verified: i64,
    #[schema(schema_with = closed::<DiscrepancyStatus>)]
    pub status: String,
    #[schema(schema_with = crate::routes::closed::closed_or_null::<Resolution>)]
    pub resolution: Option<String>,
    pub note: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<DiscrepancyRow> for Discrepancy {
    fn from(d: DiscrepancyRow) -> Self {
        Discrepancy {
            id: d.id,
            household_id: d.household_id,
            task_id: d.task_id,
            field: d.field,
            member_id: d.member_id,
            month: d.month.map(month_text),
            kind: d.kind,
            declared: d.declared,
            verified: d.verified,
            status: d.status,
            resolution: d.resolution,
            note: d.note,
            resolved_by: d.resolved_by,
            resolved_at: d.resolved_at.map(|t| t.and_utc()),
            created_at: d.created_at.and_utc(),
        }
    }
}

/// Filters of the discrepancy list. 差异列表筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiscrepancyQuery {
    #[param(max_length = 64)]
    pub household_id: Option<String>,
    #[param(schema_with = closed::<DiscrepancyStatus>)]
    pub status: Option<DiscrepancyStatus>,
}

/// Settling a discrepancy. 处理核对差异。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"resolution": "accept_verified", "note": "经入户核实，该车辆登记在户主名下，更正档案。"}))]
pub struct ResolveBody {
    #[schema(schema_with = closed::<Resolution>)]
    pub resolution: Resolution,
    /// Why. 处理说明。
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub note: String,
}

/// What answering a task did. 答复结果。
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerResult {
    pub task: VerificationTask,
    /// The facts as kept. 已保存的核实信息。
    pub facts: Vec<VerifiedFact>,
    /// How many differences from the declared file were flagged for the union to settle (their
    /// figures stay with the union). 标记的差异数量（具体数据仅工会可见）。
    pub discrepancies: usize,
}
