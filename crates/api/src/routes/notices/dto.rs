//! What the notice, objection and calendar endpoints take and answer.

use chrono::{DateTime, NaiveDate, Utc};
use jiekun_store::workflows::{CalendarDayRow, NoticeRow, ObjectionRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use jiekun_domain::calendar::DayKind;
use jiekun_domain::household::Category;
use jiekun_domain::workflow::{
    ExitGrounds, NoticeKind, NoticeStatus, ObjectionChannel, ObjectionOutcome, ObjectionStatus,
};

use super::super::closed::{closed, closed_or_null};
use super::super::utc;

/// A public notice: only what may be published. 公示：仅含可公开的内容。
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicNotice {
    pub id: String,
    #[schema(schema_with = closed::<NoticeKind>)]
    pub kind: String,
    /// 公示标题。
    #[schema(example = "困难职工家庭建档公示")]
    pub title: String,
    /// The worker's name, masked. 职工姓名（脱敏）。
    #[schema(example = "张*")]
    pub name: String,
    /// Employer, or the grassroots union when there is none. 工作单位。
    pub unit: String,
    /// 困难类别。
    #[schema(schema_with = closed_or_null::<Category>)]
    pub category: Option<String>,
    /// For exits. 退出类型（退出公示）。
    #[schema(schema_with = closed_or_null::<ExitGrounds>)]
    pub grounds: Option<String>,
    pub starts_on: NaiveDate,
    /// Last day (inclusive). 截止日（含）。
    pub ends_on: NaiveDate,
    /// Length, in calendar or working days. 公示天数。
    pub days: i64,
    pub working_days: bool,
    #[schema(schema_with = closed::<NoticeStatus>)]
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

impl PublicNotice {
    /// What a notice publishes, as of `today`.
    pub fn of(n: NoticeRow, today: NaiveDate) -> PublicNotice {
        let (kind, title) = if n.subject_kind == "application" {
            ("filing", "困难职工家庭建档公示 · Notice of filing")
        } else {
            ("exit", "困难职工家庭退出公示 · Notice of exit")
        };
        PublicNotice {
            accepting_objections: n.status == "running"
                && n.starts_on <= today
                && today <= n.ends_on,
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
    /// `true` to have the answer carry `total`, the number of matching records in all pages.
    /// 为 true 时返回符合条件的总条数 total。
    pub count: Option<bool>,
}

/// A page of objections. 异议分页。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ObjectionQuery {
    /// Page size, 1–200 (default 50). 每页条数。
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page. 上一页返回的游标。
    pub cursor: Option<String>,
    /// `true` to have the answer carry `total`, the number of matching records in all pages.
    /// 为 true 时返回符合条件的总条数 total。
    pub count: Option<bool>,
}

/// An objection. 公示异议。
#[derive(Debug, Serialize, ToSchema)]
pub struct Objection {
    pub id: String,
    pub notice_id: String,
    #[schema(schema_with = closed::<ObjectionChannel>)]
    pub channel: String,
    /// 异议内容。
    pub content: String,
    /// Who objected, when recorded by staff. 异议人（工作人员代为登记时）。
    pub objector: Option<String>,
    /// The signed-in user who raised or recorded it. 提出或登记人。
    pub raised_by: String,
    #[schema(schema_with = closed::<ObjectionStatus>)]
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

/// A new objection. 提出异议。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"content": "该户家中经营门面，收入未如实申报。"}))]
pub struct NewObjection {
    /// What is wrong with the notice's subject, at most 2000 characters. 异议内容（不超过 2000 字）。
    #[validate(length(max = 2000, code = "too_long"))]
    #[schema(max_length = 2000)]
    pub content: String,
    /// Default `online`; other channels are recorded by case staff. 默认 online。
    #[schema(schema_with = closed_or_null::<ObjectionChannel>)]
    pub channel: Option<ObjectionChannel>,
    /// Who objected (recorded channels), at most 100 characters. 异议人。
    #[validate(length(max = 100, code = "too_long"))]
    #[schema(max_length = 100)]
    pub objector: Option<String>,
}

/// Resolving an objection. 异议处理。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"outcome": "dismissed", "resolution": "经入户核查，门面已于2025年转让，异议不成立。"}))]
pub struct Resolution {
    #[schema(schema_with = closed::<ObjectionOutcome>)]
    pub outcome: ObjectionOutcome,
    /// What was checked and found, at most 2000 characters. 核实情况及处理意见（不超过 2000 字）。
    #[validate(length(max = 2000, code = "too_long"))]
    #[schema(max_length = 2000)]
    pub resolution: String,
}

/// A day the calendar treats differently from its weekday. 节假日或调休工作日。
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarDay {
    pub date: NaiveDate,
    #[schema(schema_with = closed::<DayKind>)]
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

/// A day's kind. 日期类型。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "holiday", "name": "元旦"}))]
pub struct CalendarDayIn {
    #[schema(schema_with = closed::<DayKind>)]
    pub kind: String,
    /// 1–50 characters. 名称。
    #[validate(length(max = 50, code = "too_long"))]
    #[schema(example = "国庆节", max_length = 50)]
    pub name: String,
}
