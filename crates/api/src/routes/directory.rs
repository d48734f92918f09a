//! The directory resources — organisations, partner departments, enterprises — share one
//! implementation of create, read and change: each says only what differs (its shapes, how a body
//! is parsed and checked against the caller's scope, and which store functions keep it).

use actix_web::http::header::ETag;
use actix_web::{web, HttpResponse};
use jiekun_domain::access::Action;
use jiekun_store::{audit, DbConnection, Page, PageRequest, Scope, StoreResult};
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::ToSchema;
use validator::Validate;

use super::{not_found, ok_with_etag};
use crate::auth::Access;
use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::extract::{etag, Change};
use crate::pagination::{page_of, page_request, total_if, PageOf};
use crate::{db, AppState};

/// A stored directory record: its id and version.
pub(crate) trait Record: Clone + Send + 'static {
    fn id(&self) -> &str;
    fn version(&self) -> i64;
}

/// What one directory resource is made of.
pub(crate) trait Entry: 'static {
    type Row: Record;
    type Out: Serialize + ToSchema + From<Self::Row>;
    type Create: DeserializeOwned + Validate;
    type Update: DeserializeOwned + Validate + Serialize;
    type New: Send + 'static;
    type Changes: Send + 'static;
    /// The list's query parameters, and the store filter they become.
    type Query;
    type Filter: Send + 'static;
    /// The resource's name in audit events and messages (`department`), and in Chinese.
    const KIND: (&'static str, &'static str);
    /// Where its records live (`/api/v1/departments`).
    const COLLECTION: &'static str;
    /// What a caller needs to create or change one.
    const WRITE: Action;

    /// The paging parameters of a list query: `limit`, `cursor`, `count`.
    fn paging(q: &Self::Query) -> (Option<u32>, Option<&str>, Option<bool>);
    /// The store filter of a list query (its parameters checked).
    fn filter(q: Self::Query) -> ApiResult<Self::Filter>;
    /// A new record, parsed and checked against the caller's scope.
    fn new(body: Self::Create, scope: &Scope) -> ApiResult<Self::New>;
    /// Changes, parsed and checked against the caller's scope.
    fn changes(body: Self::Update, scope: &Scope) -> ApiResult<Self::Changes>;
    fn insert(c: &mut DbConnection, scope: &Scope, new: &Self::New) -> ApiResult<Self::Row>;
    fn fetch(c: &mut DbConnection, scope: &Scope, id: &str) -> StoreResult<Self::Row>;
    fn change(
        c: &mut DbConnection,
        scope: &Scope,
        id: &str,
        version: i64,
        changes: &Self::Changes,
    ) -> StoreResult<Self::Row>;
    fn list(
        c: &mut DbConnection,
        scope: &Scope,
        filter: &Self::Filter,
        page: &PageRequest,
    ) -> StoreResult<Page<Self::Row>>;
    fn count(c: &mut DbConnection, scope: &Scope, filter: &Self::Filter) -> StoreResult<u64>;
}

fn missing<E: Entry>(e: ApiError) -> ApiError {
    not_found(e, E::KIND.0, E::KIND.1)
}

/// A page of records in the caller's scope, with `total` when the query asks `count=true`.
pub(crate) async fn list<E: Entry>(
    state: web::Data<AppState>,
    access: Access,
    q: E::Query,
) -> ApiResult<web::Json<PageOf<E::Out>>> {
    let scope = access.require(Action::DirectoryRead)?;
    let (limit, cursor, count) = E::paging(&q);
    let page = page_request(limit, cursor)?;
    let filter = E::filter(q)?;
    let (rows, total) = db::run(&state.db, move |c| {
        let total = total_if(count, || E::count(c, &scope, &filter))?;
        Ok((E::list(c, &scope, &filter, &page)?, total))
    })
    .await?;
    Ok(web::Json(page_of(rows, E::Out::from).with_total(total)))
}

/// Creates a record and logs it, in one transaction.
pub(crate) async fn create<E: Entry>(
    state: web::Data<AppState>,
    access: Access,
    body: Body,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(E::WRITE)?;
    let new = E::new(body.parse()?, &scope)?;
    let caller = access.caller();
    let row = db::write(&state.db, move |c| {
        let row = E::insert(c, &scope, &new)?;
        let recorded = serde_json::to_value(E::Out::from(row.clone())).unwrap_or_default();
        let action = format!("{}.create", E::KIND.0);
        audit::append(c, caller.event(&action, E::KIND.0, row.id(), recorded))?;
        Ok(row)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("{}/{}", E::COLLECTION, row.id())))
        .insert_header(ETag(etag(row.version())))
        .json(E::Out::from(row)))
}

/// One record, with its version as the `ETag`.
pub(crate) async fn get<E: Entry>(
    state: web::Data<AppState>,
    access: Access,
    id: String,
) -> ApiResult<HttpResponse> {
    let scope = access.require(Action::DirectoryRead)?;
    let row = db::run(&state.db, move |c| Ok(E::fetch(c, &scope, &id)?))
        .await
        .map_err(missing::<E>)?;
    Ok(ok_with_etag(row.version(), E::Out::from(row)))
}

/// Changes a record and logs it, in one transaction. An empty body changes nothing: the version
/// stays and nothing is logged (a stale `If-Match` is still 412).
pub(crate) async fn update<E: Entry>(
    state: web::Data<AppState>,
    access: Access,
    Change { id, version, body }: Change,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(E::WRITE)?;
    let body: E::Update = body.parse()?;
    let recorded = serde_json::to_value(&body).unwrap_or_default();
    let nothing = recorded.as_object().is_some_and(|o| o.is_empty());
    let changes = E::changes(body, &scope)?;
    let caller = access.caller();
    let row = db::write(&state.db, move |c| {
        if nothing {
            let row = E::fetch(c, &scope, &id)?;
            if row.version() != version {
                return Err(jiekun_store::StoreError::VersionMismatch {
                    expected: version,
                    actual: row.version(),
                }
                .into());
            }
            return Ok(row);
        }
        let row = E::change(c, &scope, &id, version, &changes)?;
        let action = format!("{}.update", E::KIND.0);
        audit::append(c, caller.event(&action, E::KIND.0, row.id(), recorded))?;
        Ok(row)
    })
    .await
    .map_err(missing::<E>)?;
    Ok(ok_with_etag(row.version(), E::Out::from(row)))
}

/// Implements [`Record`] for rows with `id` and `version` fields.
macro_rules! record {
    ($($row:ty),*) => {
        $(impl crate::routes::directory::Record for $row {
            fn id(&self) -> &str {
                &self.id
            }
            fn version(&self) -> i64 {
                self.version
            }
        })*
    };
}
pub(crate) use record;

/// The [`Entry`] functions kept by a store module with the directory's functions `get`, `update`,
/// `list` and `count`, and the paging of a list query with `limit`, `cursor` and `count` fields.
macro_rules! kept_in {
    ($store:ident) => {
        fn paging(q: &Self::Query) -> (Option<u32>, Option<&str>, Option<bool>) {
            (q.limit, q.cursor.as_deref(), q.count)
        }
        fn fetch(
            c: &mut jiekun_store::DbConnection,
            scope: &jiekun_store::Scope,
            id: &str,
        ) -> jiekun_store::StoreResult<Self::Row> {
            $store::get(c, scope, id)
        }
        fn change(
            c: &mut jiekun_store::DbConnection,
            scope: &jiekun_store::Scope,
            id: &str,
            version: i64,
            changes: &Self::Changes,
        ) -> jiekun_store::StoreResult<Self::Row> {
            $store::update(c, scope, id, version, changes)
        }
        fn list(
            c: &mut jiekun_store::DbConnection,
            scope: &jiekun_store::Scope,
            filter: &Self::Filter,
            page: &jiekun_store::PageRequest,
        ) -> jiekun_store::StoreResult<jiekun_store::Page<Self::Row>> {
            $store::list(c, scope, filter, page)
        }
        fn count(
            c: &mut jiekun_store::DbConnection,
            scope: &jiekun_store::Scope,
            filter: &Self::Filter,
        ) -> jiekun_store::StoreResult<u64> {
            $store::count(c, scope, filter)
        }
    };
}
pub(crate) use kept_in;

/// The documented list, create, get and update operations of a directory resource, and the
/// module's `configure` that registers them (the calling module imports
/// `actix_web::{get, patch, post}`, by whose names the documentation finds the method, and
/// `PageOf`). They answer alike for every directory resource, so they are written
/// once; each resource gives its paths, operation ids, shapes and the words of its documentation.
///
/// ```ignore
/// directory::operations! {
///     entry: Departments, tag: "departments", out: Department, kind: "Department id. 部门标识。",
///     /// List departments · 查询部门列表 …
///     list: ("list_departments", DepartmentQuery, "A page of departments. 一页部门。"),
///     /// Register a department · 登记部门 …
///     create: ("create_department", "/departments", CreateDepartment, "URL of the new department. 新资源地址。"),
///     /// Get a department · 查看部门 …
///     get: ("get_department", "/departments/{id}", "The department. 部门。"),
///     /// Update a department · 修改部门 …
///     update: ("update_department", "/departments/{id}", UpdateDepartment),
/// }
/// ```
macro_rules! operations {
    (
        entry: $entry:ident, tag: $tag:literal, out: $out:ident, kind: $id_doc:literal,
        $(#[doc = $list_doc:literal])*
        list: ($list_op:literal, $query:ident, $page:literal),
        $(#[doc = $create_doc:literal])*
        create: ($create_op:literal, $collection:literal, $create_body:ident, $location:literal),
        $(#[doc = $get_doc:literal])*
        get: ($get_op:literal, $item:literal, $found:literal),
        $(#[doc = $update_doc:literal])*
        update: ($update_op:literal, $item_again:literal, $update_body:ident),
    ) => {
        pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
            cfg.service(list)
                .service(create)
                .service(get_one)
                .service(update);
        }

        $(#[doc = $list_doc])*
        #[utoipa::path(
            operation_id = $list_op,
            tag = $tag,
            params($query),
            responses((status = 200, description = $page, body = PageOf<$out>))
        )]
        #[get($collection)]
        async fn list(
            state: actix_web::web::Data<crate::AppState>,
            access: crate::auth::Access,
            crate::extract::ApiQuery(q): crate::extract::ApiQuery<$query>,
        ) -> crate::error::ApiResult<actix_web::web::Json<PageOf<$out>>> {
            crate::routes::directory::list::<$entry>(state, access, q).await
        }

        $(#[doc = $create_doc])*
        #[utoipa::path(
            operation_id = $create_op,
            tag = $tag,
            request_body = $create_body,
            responses((status = 201, description = "Created. 已创建。", body = $out,
                headers(("ETag" = String, description = "Version. 版本标签。"),
                        ("Location" = String, description = $location))))
        )]
        #[post($collection)]
        async fn create(
            state: actix_web::web::Data<crate::AppState>,
            access: crate::auth::Access,
            body: crate::body::Body,
        ) -> crate::error::ApiResult<actix_web::HttpResponse> {
            crate::routes::directory::create::<$entry>(state, access, body).await
        }

        $(#[doc = $get_doc])*
        #[utoipa::path(
            operation_id = $get_op,
            tag = $tag,
            params(("id" = String, Path, description = $id_doc)),
            responses((status = 200, description = $found, body = $out,
                headers(("ETag" = String, description = "Current version. 当前版本。"))))
        )]
        #[get($item)]
        async fn get_one(
            state: actix_web::web::Data<crate::AppState>,
            access: crate::auth::Access,
            id: actix_web::web::Path<String>,
        ) -> crate::error::ApiResult<actix_web::HttpResponse> {
            crate::routes::directory::get::<$entry>(state, access, id.into_inner()).await
        }

        $(#[doc = $update_doc])*
        #[utoipa::path(
            operation_id = $update_op,
            tag = $tag,
            params(("id" = String, Path, description = $id_doc),
                   ("If-Match" = String, Header, description = "ETag last read. 最近读取的 ETag。")),
            request_body = $update_body,
            responses((status = 200, description = "Updated. 已修改。", body = $out,
                headers(("ETag" = String, description = "New version. 新版本。"))))
        )]
        #[patch($item_again)]
        async fn update(
            state: actix_web::web::Data<crate::AppState>,
            access: crate::auth::Access,
            change: crate::extract::Change,
        ) -> crate::error::ApiResult<actix_web::HttpResponse> {
            crate::routes::directory::update::<$entry>(state, access, change).await
        }
    };
}
pub(crate) use operations;
