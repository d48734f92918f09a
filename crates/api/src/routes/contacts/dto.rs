//! Request and response shapes of the dual contacts.

use chrono::{DateTime, NaiveDate, Utc};
use jiekun_domain::closed::ClosedList;
use jiekun_domain::contact::{ContactKind, Gap as DomainGap, GapKind, Subject};
use jiekun_store::contacts::{AssignmentRow, Contact, NewAssignment, VisitRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::error::{ApiError, ApiResult, FieldError};
use crate::fields::Fields;
use crate::schema;

/// An assignment to make. 新建双包联系。
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "leader_household", "contact_name": "王建国",
    "contact_title": "县总工会副主席", "household_id": crate::examples::HOUSEHOLD_ID,
    "valid_from": "2026-01-01"}))]
pub struct CreateContact {
    #[schema(value_type = schema::ContactKind)]
    pub kind: ContactKind,
    /// Who keeps in touch, as a user: of the county union for `leader_household`, of a union of
    /// the county for `cadre_worker`. Give this or `contact_name`; neither for `union_enterprise`
    /// (the county union itself). 联系人账号（班子成员须为县总工会账号，干部须为本县工会账号），与 contact_name 二选一；联系企业时不填（即县总工会）。
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub contact_user_id: Option<String>,
    /// Who keeps in touch, as a person named (when they have no account). 联系人姓名（无账号时填写）。
    #[validate(length(max = 50))]
    #[schema(max_length = 50)]
    pub contact_name: Option<String>,
    /// Their post, with a named person. 联系人职务。
    #[validate(length(max = 50))]
    #[schema(max_length = 50)]
    pub contact_title: Option<String>,
    /// The household, for `leader_household` and `cadre_worker`. 联系的困难职工家庭。
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub household_id: Option<String>,
    /// The difficult enterprise, for `union_enterprise`. 联系的困难企业。
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub enterprise_id: Option<String>,
    /// First day of the assignment. 联系开始日期。
    pub valid_from: NaiveDate,
    /// Last day of the assignment; absent while it runs. 联系结束日期（不填为长期）。
    pub valid_until: Option<NaiveDate>,
}

impl CreateContact {
    pub fn parsed(self) -> ApiResult<NewAssignment> {
        let mut f = Fields::default();
        let name = f.optional_text("contact_name", self.contact_name.as_deref(), 50);
        let title = f.optional_text("contact_title", self.contact_title.as_deref(), 50);
        if self.valid_until.is_some_and(|u| u < self.valid_from) {
            f.push(FieldError::new(
                "valid_until",
                "before_start",
                "an assignment cannot end before it begins",
                "联系结束日期不能早于开始日期",
            ));
        }
        let contact = match (self.contact_user_id, name.clone().flatten()) {
            (Some(_), Some(_)) => {
                f.push(FieldError::new(
                    "contact_name",
                    "one_of",
                    "give contact_user_id or contact_name, not both",
                    "contact_user_id 与 contact_name 只能填写一项",
                ));
                None
            }
            (Some(u), None) => Some(Contact::User(u)),
            (None, Some(n)) => Some(Contact::Named {
                name: n,
                title: title.clone().flatten(),
            }),
            (None, None) => None,
        };
        f.finish()?;
        Ok(NewAssignment {
            kind: self.kind,
            contact,
            household_id: self.household_id,
            enterprise_id: self.enterprise_id,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
        })
    }
}

/// When an assignment ends. 结束联系。
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"valid_until": "2026-12-31"}))]
pub struct EndContact {
    /// Its last day: not before it began. 联系最后一日（不早于开始日期）。
    pub valid_until: NaiveDate,
}

/// A dual-contact assignment. 双包联系。
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactOut {
    pub id: String,
    #[schema(value_type = schema::ContactKind)]
    pub kind: String,
    pub kind_meaning: String,
    pub kind_meaning_zh: String,
    /// The county union responsible. 负责的县总工会。
    pub county_id: String,
    pub contact_user_id: Option<String>,
    /// The contact's name (the user's, when a user). 联系人姓名。
    pub contact_name: String,
    pub contact_title: Option<String>,
    pub household_id: Option<String>,
    pub enterprise_id: Option<String>,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub version: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub fn contact(r: AssignmentRow) -> ContactOut {
    let kind: Option<ContactKind> = r.kind.parse().ok();
    ContactOut {
        kind_meaning: kind.map(|k| k.meaning_en().to_owned()).unwrap_or_default(),
        kind_meaning_zh: kind.map(|k| k.meaning_zh().to_owned()).unwrap_or_default(),
        id: r.id,
        kind: r.kind,
        county_id: r.county_id,
        contact_user_id: r.contact_user_id,
        contact_name: r.contact_name,
        contact_title: r.contact_title,
        household_id: r.household_id,
        enterprise_id: r.enterprise_id,
        valid_from: r.valid_from,
        valid_until: r.valid_until,
        version: r.version,
        created_by: r.created_by,
        created_at: r.created_at.and_utc(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    #[param(value_type = Option<schema::ContactKind>)]
    pub kind: Option<ContactKind>,
    /// Only those with this household. 仅限该家庭。
    #[param(max_length = 64)]
    pub household_id: Option<String>,
    /// Only those with this enterprise. 仅限该企业。
    #[param(max_length = 64)]
    pub enterprise_id: Option<String>,
    /// Only those of this user. 仅限该联系人账号。
    #[param(max_length = 64)]
    pub contact_user_id: Option<String>,
    /// Only those valid on this day. 仅限该日有效的联系。
    pub valid_on: Option<NaiveDate>,
}

/// A visit to record. 登记走访。
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"assignment_id": crate::examples::CONTACT_ID,
    "household_id": crate::examples::HOUSEHOLD_ID, "visited_on": "2026-11-20",
    "activity_type": "home_visit", "notes": "了解冬季取暖情况"}))]
pub struct CreateVisit {
    /// The assignment visited. 对应的双包联系。
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub assignment_id: String,
    /// The assignment's household, when it is with one. 联系的家庭（须与联系一致）。
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub household_id: Option<String>,
    /// The assignment's enterprise, when it is with one. 联系的企业（须与联系一致）。
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub enterprise_id: Option<String>,
    /// The day of the visit: within the assignment's period, not in the future. 走访日期（在联系期间内，不晚于今天）。
    pub visited_on: NaiveDate,
    /// From the county's list (policy parameter `contact_activity_types`; by default home_visit,
    /// phone_call, help_delivered, send_warmth, send_policy, send_jobs, send_skills).
    /// 活动类型，取自本县配置的列表（政策参数 contact_activity_types）。
    #[validate(length(max = 40))]
    #[schema(max_length = 40, pattern = "^[a-z][a-z0-9_]{0,39}$")]
    pub activity_type: String,
    /// What was done and found, in at most 500 characters: no personal data beyond the file's.
    /// 走访情况（不超过 500 字；不得记录档案以外的个人信息）。
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub notes: Option<String>,
    /// A referral of the household that followed. 随后的转介（须为该家庭的）。
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub referral_id: Option<String>,
    /// An assistance record of the household that followed. 随后的帮扶记录（须为该家庭的）。
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub assistance_id: Option<String>,
}

/// A visit. 走访记录。
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitOut {
    pub id: String,
    pub assignment_id: String,
    pub household_id: Option<String>,
    pub enterprise_id: Option<String>,
    pub visited_on: NaiveDate,
    pub activity_type: String,
    pub notes: Option<String>,
    pub referral_id: Option<String>,
    pub assistance_id: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub fn visit(r: VisitRow) -> VisitOut {
    VisitOut {
        id: r.id,
        assignment_id: r.assignment_id,
        household_id: r.household_id,
        enterprise_id: r.enterprise_id,
        visited_on: r.visited_on,
        activity_type: r.activity_type,
        notes: r.notes,
        referral_id: r.referral_id,
        assistance_id: r.assistance_id,
        created_by: r.created_by,
        created_at: r.created_at.and_utc(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VisitQuery {
    #[param(max_length = 64)]
    pub assignment_id: Option<String>,
    #[param(max_length = 64)]
    pub household_id: Option<String>,
    /// Visits on or after this day. 起始日期。
    pub from: Option<NaiveDate>,
    /// Visits on or before this day. 截止日期。
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GapQuery {
    /// Only gaps of this kind. 仅限该类缺口。
    #[param(value_type = Option<schema::GapKind>)]
    pub kind: Option<GapKind>,
}

/// A gap in the dual contacts. 双包联系缺口。
#[derive(Debug, Serialize, ToSchema)]
pub struct GapOut {
    #[schema(value_type = schema::GapKind)]
    pub kind: String,
    /// What the gap is about: `leader` (the user's id, or for a person named the id of their
    /// first assignment),
    /// `county`, `household` or `assignment`. 缺口对象类型。
    #[schema(example = "household")]
    pub subject_type: String,
    pub subject_id: String,
    /// The figure that falls short: households, enterprises, or days since the last visit.
    /// 相关数字：户数、企业数或未走访天数。
    pub count: Option<i64>,
    pub description: String,
    pub description_zh: String,
}

pub fn gap(g: DomainGap) -> GapOut {
    let (t, id) = match g.subject {
        Subject::Leader(s) => ("leader", s),
        Subject::County(s) => ("county", s),
        Subject::Household(s) => ("household", s),
        Subject::Assignment(s) => ("assignment", s),
    };
    GapOut {
        kind: g.kind.as_str().into(),
        subject_type: t.into(),
        subject_id: id,
        count: g.count,
        description: g.description,
        description_zh: g.description_zh,
    }
}

/// The 422 for an activity type not on the county's list, naming the allowed ones.
pub fn unknown_activity(allowed: &[String]) -> ApiError {
    let list = allowed.join(", ");
    ApiError::validation(vec![FieldError::new(
        "activity_type",
        "unknown",
        format!("not on the county's list of activity types: {list}"),
        format!("不在本县配置的活动类型中，可选：{list}"),
    )])
}
