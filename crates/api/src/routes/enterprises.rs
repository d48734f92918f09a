//! `/api/v1/enterprises`: employers (企业), keyed by the unified social credit code.

use actix_web::{get, patch, post};
use chrono::{DateTime, Utc};
use jiekun_store::enterprises::{
    self as store, EnterpriseChanges, EnterpriseFilter, EnterpriseRow, NewEnterprise,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::directory::{self, Entry};
use super::{changed_region, query_error, utc};
use crate::error::{ApiError, ApiResult};
use crate::fields::{double_option, Fields};
use crate::pagination::PageOf;
use jiekun_domain::access::Action;
use jiekun_store::{DbConnection, Scope};
use validator::Validate;

/// An employer. 企业。
#[derive(Debug, Serialize, ToSchema)]
pub struct Enterprise {
    pub id: String,
    #[schema(example = "陕西汉江机械有限公司")]
    pub name: String,
    /// Unified social credit code (GB 32100), upper case. 统一社会信用代码。
    #[schema(example = "91610724MA6YQ1234E")]
    pub credit_code: String,
    /// GB/T 2260 code of where it operates. 所在行政区划。
    #[schema(example = "610724")]
    pub region_code: String,
    /// Recognised as a difficult enterprise (困难企业). 是否困难企业。
    pub difficult: bool,
    pub address: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<EnterpriseRow> for Enterprise {
    fn from(r: EnterpriseRow) -> Self {
        Enterprise {
            id: r.id,
            name: r.name,
            credit_code: r.credit_code,
            region_code: r.region_code,
            difficult: r.difficult,
            address: r.address,
            version: r.version,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        }
    }
}

/// A new employer. 新建企业。
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "西乡县汉水食品有限公司", "credit_code": crate::examples::CREDIT_CODE, "region_code": "610724", "difficult": true}))]
pub struct CreateEnterprise {
    #[schema(example = "陕西汉江机械有限公司")]
    #[validate(length(max = 100, code = "too_long"))]
    #[schema(max_length = 100)]
    pub name: String,
    /// 18 characters with a valid GB 32100 check character; lower case is accepted.
    /// 18 位，校验码须正确，可用小写。
    #[schema(example = "91610724MA6YQ1234E")]
    #[validate(length(max = 18, code = "too_long"))]
    #[schema(min_length = 18, max_length = 18, pattern = "^[0-9A-Za-z]{18}$")]
    pub credit_code: String,
    #[schema(example = "610724", pattern = "^[0-9]{6}$")]
    pub region_code: String,
    /// Default false. 默认否。
    #[serde(default)]
    pub difficult: bool,
    #[validate(length(max = 200, code = "too_long"))]
    #[schema(max_length = 200)]
    pub address: Option<String>,
}

/// Changes to an employer. 修改企业。
#[derive(Debug, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"address": "西乡县工业园区2号"}))]
pub struct UpdateEnterprise {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 100, code = "too_long"))]
    #[schema(max_length = 100)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// 18 characters with a valid GB 32100 check character; lower case is accepted.
    /// 18 位，校验码须正确，可用小写。
    #[validate(length(max = 18, code = "too_long"))]
    #[schema(min_length = 18, max_length = 18, pattern = "^[0-9A-Za-z]{18}$")]
    pub credit_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]{6}$")]
    pub region_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difficult: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 200, code = "too_long"))]
    #[schema(value_type = Option<String>, max_length = 200)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Option<String>>,
}

/// Filters for the enterprise list. 企业列表筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EnterpriseQuery {
    /// Inside this GB/T 2260 division. 所属行政区划（含下级）。
    pub region_code: Option<String>,
    pub difficult: Option<bool>,
    /// Exact unified social credit code. 统一社会信用代码（精确）。
    pub credit_code: Option<String>,
    /// Part of the name. 名称包含。
    pub name_contains: Option<String>,
    /// Page size, 1–200 (default 50). 每页条数。
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page. 上一页返回的游标。
    pub cursor: Option<String>,
    /// `true` to have the answer carry `total`, the number of matching records in all pages.
    /// 为 true 时返回符合条件的总条数 total。
    pub count: Option<bool>,
}

impl CreateEnterprise {
    fn parse(self) -> ApiResult<NewEnterprise> {
        let mut f = Fields::default();
        let name = f.name("name", &self.name, 100);
        let credit_code = f.credit_code("credit_code", &self.credit_code);
        let region_code = f.region("region_code", &self.region_code);
        let address = f.optional_text("address", self.address.as_deref(), 200);
        f.finish()?;
        let (Some(name), Some(credit_code), Some(region_code), Some(address)) =
            (name, credit_code, region_code, address)
        else {
            return Err(ApiError::internal("field parsing lost a value"));
        };
        Ok(NewEnterprise {
            name,
            credit_code,
            region_code,
            difficult: self.difficult,
            address,
        })
    }
}

impl UpdateEnterprise {
    fn parse(self) -> ApiResult<EnterpriseChanges> {
        let mut f = Fields::default();
        let name = self.name.as_deref().and_then(|n| f.name("name", n, 100));
        let credit_code = self
            .credit_code
            .as_deref()
            .and_then(|c| f.credit_code("credit_code", c))
            .map(|c| c.to_string());
        let region_code = changed_region(&mut f, "region_code", self.region_code.as_deref());
        let address = self
            .address
            .map(|v| f.optional_text("address", v.as_deref(), 200).flatten());
        f.finish()?;
        Ok(EnterpriseChanges {
            name,
            credit_code,
            region_code,
            difficult: self.difficult,
            address,
        })
    }
}

directory::operations! {
    entry: Enterprises, tag: "enterprises", out: Enterprise, kind: "Enterprise id. 企业标识。",
    /// List enterprises · 查询企业列表
    ///
    /// Employers by region, difficult-enterprise flag, credit code or name, in a stable order, paged
    /// with a cursor.
    ///
    /// 按行政区划、困难企业标记、统一社会信用代码或名称分页列出企业。
    list: ("list_enterprises", EnterpriseQuery, "A page of enterprises. 一页企业。"),
    /// Register an enterprise · 登记企业
    ///
    /// Registers an employer. The unified social credit code is checked (length, alphabet, region
    /// digits, GB 32100 check character) and must not be registered already (409).
    ///
    /// 登记企业。校验统一社会信用代码（长度、字符集、行政区划位、GB 32100 校验码），重复登记返回 409。
    create: ("create_enterprise", "/enterprises", CreateEnterprise, "URL of the new enterprise. 新资源地址。"),
    /// Get an enterprise · 查看企业
    ///
    /// One employer, with its version in the `ETag` header.
    ///
    /// 查看单个企业，版本号在 ETag 响应头中。
    get: ("get_enterprise", "/enterprises/{id}", "The enterprise. 企业。"),
    /// Update an enterprise · 修改企业
    ///
    /// Changes any field; a corrected credit code is checked like a new one. Requires `If-Match`.
    ///
    /// 修改企业信息，更正的统一社会信用代码同样校验。须携带 If-Match。
    update: ("update_enterprise", "/enterprises/{id}", UpdateEnterprise),
}

/// Enterprises in the shared directory implementation.
pub(crate) struct Enterprises;

directory::record!(EnterpriseRow);

impl Entry for Enterprises {
    type Row = EnterpriseRow;
    type Out = Enterprise;
    type Create = CreateEnterprise;
    type Update = UpdateEnterprise;
    type New = NewEnterprise;
    type Changes = EnterpriseChanges;
    type Query = EnterpriseQuery;
    type Filter = EnterpriseFilter;
    const KIND: (&'static str, &'static str) = ("enterprise", "企业");
    const COLLECTION: &'static str = "/api/v1/enterprises";
    const WRITE: Action = Action::EnterpriseWrite;

    directory::kept_in!(store);

    fn filter(q: EnterpriseQuery) -> ApiResult<EnterpriseFilter> {
        let region = match &q.region_code {
            Some(r) => Some(crate::fields::region("region_code", r).map_err(query_error)?),
            None => None,
        };
        let credit_code = match &q.credit_code {
            Some(c) => Some(crate::fields::credit_code("credit_code", c).map_err(query_error)?),
            None => None,
        };
        Ok(EnterpriseFilter {
            region,
            difficult: q.difficult,
            credit_code,
            name_contains: q.name_contains,
        })
    }
    fn new(body: CreateEnterprise, scope: &Scope) -> ApiResult<NewEnterprise> {
        let new = body.parse()?;
        if !scope.covers_region(&new.region_code) {
            return Err(super::outside_region());
        }
        Ok(new)
    }
    fn changes(body: UpdateEnterprise, scope: &Scope) -> ApiResult<EnterpriseChanges> {
        let changes = body.parse()?;
        if let Some(region) = &changes.region_code {
            let region = jiekun_domain::RegionCode::parse(region).map_err(ApiError::internal)?;
            if !scope.covers_region(&region) {
                return Err(super::outside_region());
            }
        }
        Ok(changes)
    }
    fn insert(c: &mut DbConnection, _: &Scope, new: &NewEnterprise) -> ApiResult<EnterpriseRow> {
        Ok(store::create(c, new)?)
    }
}
