//! `/api/v1/organisations`: the union hierarchy (组织机构).

use actix_web::{get, patch, post};
use chrono::{DateTime, Utc};
use jiekun_domain as domain;
use jiekun_store::organisations::{
    self as store, CreateOrganisationError, NewOrganisation, OrganisationChanges,
    OrganisationFilter, OrganisationRow,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::directory::{self, Entry};
use super::{query_error, utc};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::fields::{double_option, Fields};
use crate::pagination::PageOf;
use jiekun_domain::access::Action;
use jiekun_store::{DbConnection, Scope};
use validator::Validate;

/// Level in the union hierarchy. 组织层级。
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    /// 市总工会 — city federation of trade unions.
    CityFederation,
    /// 县总工会 — county federation of trade unions.
    CountyFederation,
    /// 基层工会 — grassroots union.
    GrassrootsUnion,
}

/// What a grassroots union is organised around. 基层工会类型。
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnionType {
    /// 企业工会
    Enterprise,
    /// 乡镇（街道）工会
    TownStreet,
    /// 行业工会
    Industry,
    /// 其他基层工会
    Other,
}

impl From<OrganisationKind> for domain::OrganisationKind {
    fn from(k: OrganisationKind) -> Self {
        match k {
            OrganisationKind::CityFederation => domain::OrganisationKind::CityFederation,
            OrganisationKind::CountyFederation => domain::OrganisationKind::CountyFederation,
            OrganisationKind::GrassrootsUnion => domain::OrganisationKind::GrassrootsUnion,
        }
    }
}

impl From<UnionType> for domain::UnionType {
    fn from(k: UnionType) -> Self {
        match k {
            UnionType::Enterprise => domain::UnionType::Enterprise,
            UnionType::TownStreet => domain::UnionType::TownStreet,
            UnionType::Industry => domain::UnionType::Industry,
            UnionType::Other => domain::UnionType::Other,
        }
    }
}

/// An organisation of the union hierarchy. 工会组织。
#[derive(Debug, Serialize, ToSchema)]
pub struct Organisation {
    /// Opaque id. 不透明标识。
    #[schema(example = "0193a8f2-5c1e-7b2a-9d41-3f6b2c8e9a10")]
    pub id: String,
    /// The parent organisation; absent for a city federation. 上级组织。
    pub parent_id: Option<String>,
    #[schema(value_type = OrganisationKind)]
    pub kind: String,
    /// Only for grassroots unions. 仅基层工会有。
    #[schema(value_type = Option<UnionType>)]
    pub union_type: Option<String>,
    /// Full name. 全称。
    #[schema(example = "西乡县总工会")]
    pub name: String,
    pub short_name: Option<String>,
    /// GB/T 2260 region code. 行政区划代码。
    #[schema(example = "610724")]
    pub region_code: String,
    pub address: Option<String>,
    /// Version for `If-Match`; also sent as the `ETag` header. 版本号。
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<OrganisationRow> for Organisation {
    fn from(r: OrganisationRow) -> Self {
        Organisation {
            id: r.id,
            parent_id: r.parent_id,
            kind: r.kind,
            union_type: r.union_type,
            name: r.name,
            short_name: r.short_name,
            region_code: r.region_code,
            address: r.address,
            version: r.version,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        }
    }
}

/// A new organisation. 新建组织。
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[schema(example = json!({"parent_id": crate::examples::COUNTY_FEDERATION_ID, "kind": "grassroots_union", "union_type": "town_street", "name": "西乡县沙河镇总工会", "region_code": "610724", "address": "西乡县沙河镇政府院内"}))]
#[serde(deny_unknown_fields)]
pub struct CreateOrganisation {
    /// Required except for a city federation; a county federation sits under a city federation, a
    /// grassroots union under a county federation. 除市总工会外必填。
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub parent_id: Option<String>,
    pub kind: OrganisationKind,
    /// Required for a grassroots union, absent otherwise. 基层工会必填。
    pub union_type: Option<UnionType>,
    /// 1–100 characters, unique among its siblings. 同一上级下不重名。
    #[schema(example = "西乡县城关镇总工会")]
    #[validate(length(max = 100, code = "too_long"))]
    #[schema(max_length = 100)]
    pub name: String,
    #[validate(length(max = 30, code = "too_long"))]
    #[schema(max_length = 30)]
    pub short_name: Option<String>,
    /// City federations: prefecture level (`610700`); others: county level inside the parent's
    /// region (`610724`). 市总工会为地级代码，其余为上级辖区内的县级代码。
    #[schema(example = "610724", pattern = "^[0-9]{6}$")]
    pub region_code: String,
    #[validate(length(max = 200, code = "too_long"))]
    #[schema(max_length = 200)]
    pub address: Option<String>,
}

/// Filters for the organisation list. 组织列表筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrganisationQuery {
    /// Direct children of this organisation. 指定上级组织的直接下级。
    pub parent_id: Option<String>,
    pub kind: Option<OrganisationKind>,
    /// Inside this GB/T 2260 division (`610700` matches every code `6107xx`). 所属行政区划（含下级）。
    pub region_code: Option<String>,
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

/// Changes to an organisation; absent fields stay, `null` clears an optional one. 修改组织。
#[derive(Debug, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"address": "西乡县城关镇人民路8号"}))]
pub struct UpdateOrganisation {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 100, code = "too_long"))]
    #[schema(max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 30, code = "too_long"))]
    #[schema(value_type = Option<String>, max_length = 30)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 200, code = "too_long"))]
    #[schema(value_type = Option<String>, max_length = 200)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Option<String>>,
}

const NAME_MAX: usize = 100;
const ADDRESS_MAX: usize = 200;

impl CreateOrganisation {
    fn parse(self) -> ApiResult<NewOrganisation> {
        let mut f = Fields::default();
        let name = f.name("name", &self.name, NAME_MAX);
        let short_name = f.optional_text("short_name", self.short_name.as_deref(), 30);
        let address = f.optional_text("address", self.address.as_deref(), ADDRESS_MAX);
        let region_code = f.region("region_code", &self.region_code);
        f.finish()?;
        let (Some(name), Some(short_name), Some(address), Some(region_code)) =
            (name, short_name, address, region_code)
        else {
            return Err(ApiError::internal("field parsing lost a value"));
        };
        Ok(NewOrganisation {
            parent_id: self.parent_id,
            kind: self.kind.into(),
            union_type: self.union_type.map(Into::into),
            name,
            short_name,
            region_code,
            address,
        })
    }
}

impl UpdateOrganisation {
    fn parse(self) -> ApiResult<OrganisationChanges> {
        let mut f = Fields::default();
        let name = match &self.name {
            Some(n) => f.name("name", n, NAME_MAX),
            None => None,
        };
        let short_name = self
            .short_name
            .map(|v| f.optional_text("short_name", v.as_deref(), 30).flatten());
        let address = self.address.map(|v| {
            f.optional_text("address", v.as_deref(), ADDRESS_MAX)
                .flatten()
        });
        f.finish()?;
        Ok(OrganisationChanges {
            name,
            short_name,
            address,
        })
    }
}

impl OrganisationQuery {
    fn filter(&self) -> ApiResult<OrganisationFilter> {
        let region = match &self.region_code {
            Some(r) => Some(crate::fields::region("region_code", r).map_err(query_error)?),
            None => None,
        };
        Ok(OrganisationFilter {
            parent_id: self.parent_id.clone(),
            kind: self.kind.map(Into::into),
            region,
            name_contains: self.name_contains.clone(),
        })
    }
}

fn placement_error(e: CreateOrganisationError) -> ApiError {
    use domain::PlacementError as P;
    let (field, code, en, zh) = match e {
        CreateOrganisationError::Store(e) => return e.into(),
        CreateOrganisationError::RootOutsideScope => {
            return crate::auth::forbidden(
                "city federations (roots) are created with `jiekun admin init`",
                "市总工会（根组织）须通过 `jiekun admin init` 创建",
            )
        }
        CreateOrganisationError::UnknownParent => (
            "parent_id",
            "unknown_reference",
            "no such parent organisation".to_owned(),
            "上级组织不存在".to_owned(),
        ),
        CreateOrganisationError::Placement(p) => match p {
            P::CityHasParent => (
                "parent_id",
                "not_allowed",
                p.to_string(),
                "市总工会没有上级组织".into(),
            ),
            P::MissingParent { .. } => (
                "parent_id",
                "required",
                p.to_string(),
                "该类组织必须指定上级组织".into(),
            ),
            P::WrongParentKind { .. } => (
                "parent_id",
                "wrong_parent_kind",
                p.to_string(),
                "县总工会的上级须为市总工会，基层工会的上级须为县总工会".into(),
            ),
            P::RegionLevel { .. } => (
                "region_code",
                "wrong_region_level",
                p.to_string(),
                "市总工会须用地级行政区划代码，县总工会和基层工会须用县级代码".into(),
            ),
            P::OutsideParentRegion { .. } => (
                "region_code",
                "outside_parent_region",
                p.to_string(),
                "行政区划不在上级组织的辖区内".into(),
            ),
            P::UnionType => (
                "union_type",
                "not_allowed",
                p.to_string(),
                "基层工会必须填写工会类型，其他组织不填".into(),
            ),
        },
    };
    ApiError::validation(vec![FieldError::new(field, code, en, zh)])
}

directory::operations! {
    entry: Organisations, tag: "organisations", out: Organisation, kind: "Organisation id. 组织标识。",
    /// List organisations · 查询组织列表
    ///
    /// Lists the union hierarchy in a stable order (by creation), filtered and paged with a cursor.
    ///
    /// 按创建顺序分页列出工会组织，可按上级、层级、行政区划和名称筛选。
    list: ("list_organisations", OrganisationQuery, "A page of organisations. 一页组织。"),
    /// Create an organisation · 新建组织
    ///
    /// Adds a city federation (a root), a county federation under a city federation, or a grassroots
    /// union under a county federation. The region code must be at the level of the kind and inside
    /// the parent's region.
    ///
    /// 新建市总工会（根节点）、市总工会下的县总工会或县总工会下的基层工会。行政区划代码须与层级相符，并位于上级组织辖区内。
    create: ("create_organisation", "/organisations", CreateOrganisation, "URL of the new organisation. 新资源地址。"),
    /// Get an organisation · 查看组织
    ///
    /// One organisation, with its version in the `ETag` header.
    ///
    /// 查看单个组织，版本号在 ETag 响应头中。
    get: ("get_organisation", "/organisations/{id}", "The organisation. 组织。"),
    /// Update an organisation · 修改组织
    ///
    /// Changes the name, short name or address. Send `If-Match` with the ETag you read: a stale one
    /// gets 412 and changes nothing. Kind, parent and region are fixed once created.
    ///
    /// 修改名称、简称或地址。须在 If-Match 中携带读取到的 ETag，版本过期返回 412 且不做任何修改。层级、上级和行政区划创建后不可修改。
    update: ("update_organisation", "/organisations/{id}", UpdateOrganisation),
}

/// Organisations in the shared directory implementation.
pub(crate) struct Organisations;

directory::record!(OrganisationRow);

impl Entry for Organisations {
    type Row = OrganisationRow;
    type Out = Organisation;
    type Create = CreateOrganisation;
    type Update = UpdateOrganisation;
    type New = NewOrganisation;
    type Changes = OrganisationChanges;
    type Query = OrganisationQuery;
    type Filter = OrganisationFilter;
    const KIND: (&'static str, &'static str) = ("organisation", "组织");
    const COLLECTION: &'static str = "/api/v1/organisations";
    const WRITE: Action = Action::OrganisationWrite;

    directory::kept_in!(store);

    fn filter(q: OrganisationQuery) -> ApiResult<OrganisationFilter> {
        q.filter()
    }
    fn new(body: CreateOrganisation, _: &Scope) -> ApiResult<NewOrganisation> {
        body.parse()
    }
    fn changes(body: UpdateOrganisation, _: &Scope) -> ApiResult<OrganisationChanges> {
        body.parse()
    }
    fn insert(
        c: &mut DbConnection,
        scope: &Scope,
        new: &NewOrganisation,
    ) -> ApiResult<OrganisationRow> {
        store::create(c, scope, new).map_err(placement_error)
    }
}
