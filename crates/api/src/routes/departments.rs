//! `/api/v1/departments`: partner departments (合作部门) that lead measures and answer verification.

use actix_web::{get, patch, post};
use chrono::{DateTime, Utc};
use jiekun_domain::DepartmentCode;
use jiekun_store::departments::{
    self as store, DepartmentChanges, DepartmentFilter, DepartmentRow, NewDepartment,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::directory::{self, Entry};
use super::{query_error, utc};
use crate::error::{ApiError, ApiResult};
use crate::fields::{double_option, Fields};
use crate::pagination::PageOf;
use jiekun_domain::access::Action;
use jiekun_store::{DbConnection, Scope};
use validator::Validate;

/// Kind of partner department. 部门类别。
///
/// hrss 人社, civil_affairs 民政, public_security 公安, housing 住建, market_regulation 市场监管,
/// tax 税务, medical_insurance 医保, education 教体, finance 财政, justice 司法, health 卫健,
/// disabled_persons 残联, red_cross 红十字会, charity 慈善协会, civilization_office 文明办,
/// union 总工会.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DepartmentKind {
    Hrss,
    CivilAffairs,
    PublicSecurity,
    Housing,
    MarketRegulation,
    Tax,
    MedicalInsurance,
    Education,
    Finance,
    Justice,
    Health,
    DisabledPersons,
    RedCross,
    Charity,
    CivilizationOffice,
    Union,
}

impl From<DepartmentKind> for DepartmentCode {
    fn from(k: DepartmentKind) -> Self {
        use DepartmentKind as K;
        match k {
            K::Hrss => DepartmentCode::Hrss,
            K::CivilAffairs => DepartmentCode::CivilAffairs,
            K::PublicSecurity => DepartmentCode::PublicSecurity,
            K::Housing => DepartmentCode::Housing,
            K::MarketRegulation => DepartmentCode::MarketRegulation,
            K::Tax => DepartmentCode::Tax,
            K::MedicalInsurance => DepartmentCode::MedicalInsurance,
            K::Education => DepartmentCode::Education,
            K::Finance => DepartmentCode::Finance,
            K::Justice => DepartmentCode::Justice,
            K::Health => DepartmentCode::Health,
            K::DisabledPersons => DepartmentCode::DisabledPersons,
            K::RedCross => DepartmentCode::RedCross,
            K::Charity => DepartmentCode::Charity,
            K::CivilizationOffice => DepartmentCode::CivilizationOffice,
            K::Union => DepartmentCode::Union,
        }
    }
}

/// A partner department of one region. 某地区的合作部门。
#[derive(Debug, Serialize, ToSchema)]
pub struct Department {
    pub id: String,
    /// Kind of department. 部门类别。
    #[schema(value_type = DepartmentKind)]
    pub code: String,
    /// 部门全称。
    #[schema(example = "西乡县人力资源和社会保障局")]
    pub name: String,
    /// GB/T 2260 code of the region the department serves. 服务的行政区划。
    #[schema(example = "610724")]
    pub region_code: String,
    pub address: Option<String>,
    /// Inactive departments keep their history but take no new work. 停用后保留历史，不再接收新任务。
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<DepartmentRow> for Department {
    fn from(r: DepartmentRow) -> Self {
        Department {
            id: r.id,
            code: r.code,
            name: r.name,
            region_code: r.region_code,
            address: r.address,
            active: r.active,
            version: r.version,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        }
    }
}

/// A new partner department; one of each kind per region. 新建部门（每个地区每类一个）。
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "red_cross", "name": "西乡县红十字会", "region_code": "610724", "address": "西乡县城关镇北大街3号"}))]
pub struct CreateDepartment {
    pub code: DepartmentKind,
    #[schema(example = "西乡县民政局")]
    #[validate(length(max = 100, code = "too_long"))]
    #[schema(max_length = 100)]
    pub name: String,
    #[schema(example = "610724", pattern = "^[0-9]{6}$")]
    pub region_code: String,
    #[validate(length(max = 200, code = "too_long"))]
    #[schema(max_length = 200)]
    pub address: Option<String>,
}

/// Changes to a department. 修改部门。
#[derive(Debug, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"address": "西乡县城关镇南大街21号"}))]
pub struct UpdateDepartment {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 100, code = "too_long"))]
    #[schema(max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 200, code = "too_long"))]
    #[schema(value_type = Option<String>, max_length = 200)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// Filters for the department list. 部门列表筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DepartmentQuery {
    pub code: Option<DepartmentKind>,
    /// Inside this GB/T 2260 division. 所属行政区划（含下级）。
    pub region_code: Option<String>,
    pub active: Option<bool>,
    /// Page size, 1–200 (default 50). 每页条数。
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page. 上一页返回的游标。
    pub cursor: Option<String>,
    /// `true` to have the answer carry `total`, the number of matching records in all pages.
    /// 为 true 时返回符合条件的总条数 total。
    pub count: Option<bool>,
}

impl CreateDepartment {
    fn parse(self) -> ApiResult<NewDepartment> {
        let mut f = Fields::default();
        let name = f.name("name", &self.name, 100);
        let region_code = f.region("region_code", &self.region_code);
        let address = f.optional_text("address", self.address.as_deref(), 200);
        f.finish()?;
        let (Some(name), Some(region_code), Some(address)) = (name, region_code, address) else {
            return Err(ApiError::internal("field parsing lost a value"));
        };
        Ok(NewDepartment {
            code: self.code.into(),
            name,
            region_code,
            address,
        })
    }
}

impl UpdateDepartment {
    fn parse(self) -> ApiResult<DepartmentChanges> {
        let mut f = Fields::default();
        let name = match &self.name {
            Some(n) => f.name("name", n, 100),
            None => None,
        };
        let address = self
            .address
            .map(|v| f.optional_text("address", v.as_deref(), 200).flatten());
        f.finish()?;
        Ok(DepartmentChanges {
            name,
            address,
            active: self.active,
        })
    }
}

directory::operations! {
    entry: Departments, tag: "departments", out: Department, kind: "Department id. 部门标识。",
    /// List departments · 查询部门列表
    ///
    /// Partner departments by kind and region, in a stable order, paged with a cursor.
    ///
    /// 按类别和行政区划分页列出合作部门。
    list: ("list_departments", DepartmentQuery, "A page of departments. 一页部门。"),
    /// Register a department · 登记部门
    ///
    /// Registers the partner department of one kind for one region (a region has at most one of each
    /// kind). API keys for department systems belong to a department.
    ///
    /// 登记某地区的一个合作部门（每个地区每类最多一个）。部门系统的 API 密钥归属于部门。
    create: ("create_department", "/departments", CreateDepartment, "URL of the new department. 新资源地址。"),
    /// Get a department · 查看部门
    ///
    /// One department, with its version in the `ETag` header.
    ///
    /// 查看单个部门，版本号在 ETag 响应头中。
    get: ("get_department", "/departments/{id}", "The department. 部门。"),
    /// Update a department · 修改部门
    ///
    /// Changes the name or address, or (de)activates the department. Requires `If-Match`.
    ///
    /// 修改名称、地址或启用状态，须携带 If-Match。
    update: ("update_department", "/departments/{id}", UpdateDepartment),
}

/// Departments in the shared directory implementation.
pub(crate) struct Departments;

directory::record!(DepartmentRow);

impl Entry for Departments {
    type Row = DepartmentRow;
    type Out = Department;
    type Create = CreateDepartment;
    type Update = UpdateDepartment;
    type New = NewDepartment;
    type Changes = DepartmentChanges;
    type Query = DepartmentQuery;
    type Filter = DepartmentFilter;
    const KIND: (&'static str, &'static str) = ("department", "部门");
    const COLLECTION: &'static str = "/api/v1/departments";
    const WRITE: Action = Action::DepartmentWrite;

    directory::kept_in!(store);

    fn filter(q: DepartmentQuery) -> ApiResult<DepartmentFilter> {
        let region = match &q.region_code {
            Some(r) => Some(crate::fields::region("region_code", r).map_err(query_error)?),
            None => None,
        };
        Ok(DepartmentFilter {
            code: q.code.map(Into::into),
            region,
            active: q.active,
        })
    }
    fn new(body: CreateDepartment, scope: &Scope) -> ApiResult<NewDepartment> {
        let new = body.parse()?;
        if !scope.covers_region(&new.region_code) {
            return Err(super::outside_region());
        }
        Ok(new)
    }
    fn changes(body: UpdateDepartment, _: &Scope) -> ApiResult<DepartmentChanges> {
        body.parse()
    }
    fn insert(c: &mut DbConnection, _: &Scope, new: &NewDepartment) -> ApiResult<DepartmentRow> {
        Ok(store::create(c, new)?)
    }
}
