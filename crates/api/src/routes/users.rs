//! `/api/v1/users`: people who sign in, their roles and passwords.

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use jiekun_domain::access::{check_password, join_list, parse_list, Action, Role};
use jiekun_domain::OrganisationKind;
use jiekun_store::users::{self as store, NewUser, UserChanges, UserFilter, UserRow};
use jiekun_store::{audit, organisations, Scope, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{not_found, ok_with_etag, utc};
use crate::auth::{forbidden, password, Access, UserPrincipal};
use crate::body::Body;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::extract::{etag, ApiQuery, Change, Posted};
use crate::fields::Fields;
use crate::pagination::{page_of, page_request, total_if, PageOf};
use crate::{db, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(update)
        .service(change_password);
}

/// A role. 角色：grassroots_officer 基层工会经办人, county_reviewer 县总工会审核人,
/// county_admin 县总工会管理员, city_approver 市总工会审批人, auditor 审计/督查,
/// system_admin 系统管理员.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    GrassrootsOfficer,
    CountyReviewer,
    CountyAdmin,
    CityApprover,
    Auditor,
    SystemAdmin,
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Role {
        match r {
            RoleName::GrassrootsOfficer => Role::GrassrootsOfficer,
            RoleName::CountyReviewer => Role::CountyReviewer,
            RoleName::CountyAdmin => Role::CountyAdmin,
            RoleName::CityApprover => Role::CityApprover,
            RoleName::Auditor => Role::Auditor,
            RoleName::SystemAdmin => Role::SystemAdmin,
        }
    }
}

/// Account status. 账号状态。
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// 正常
    Active,
    /// 锁定：暂时不能登录
    Locked,
    /// 停用
    Disabled,
}

impl UserStatus {
    fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Locked => "locked",
            UserStatus::Disabled => "disabled",
        }
    }
}

/// A person who signs in. 系统用户。
#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    pub id: String,
    pub organisation_id: String,
    #[schema(example = "xixiang.reviewer")]
    pub username: String,
    #[schema(example = "王芳")]
    pub display_name: String,
    #[schema(value_type = Vec<RoleName>)]
    pub roles: Vec<String>,
    #[schema(value_type = UserStatus)]
    pub status: String,
    pub last_login_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            organisation_id: r.organisation_id,
            username: r.username,
            display_name: r.display_name,
            roles: r
                .roles
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            status: r.status,
            last_login_at: r.last_login_at.map(utc),
            version: r.version,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        }
    }
}

/// A new user. 新建用户。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"organisation_id": crate::examples::GRASSROOTS_UNION_ID, "username": "shahe.officer", "display_name": "赵敏", "password": "Correct-Horse-2026", "roles": ["grassroots_officer"]}))]
pub struct CreateUser {
    /// An organisation inside your own subtree. 须在本组织及下级范围内。
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(max_length = 64)]
    pub organisation_id: String,
    /// 3–64 characters: lower-case letters, digits, `.`, `_`, `-`; unique. 登录名。
    #[validate(length(max = 64, code = "too_long"))]
    #[schema(example = "chengguan.officer", max_length = 64)]
    pub username: String,
    /// 1–50 characters. 姓名。
    #[validate(length(max = 50, code = "too_long"))]
    #[schema(example = "李明", max_length = 50)]
    pub display_name: String,
    /// 12–128 characters mixing at least two kinds of character. 至少 12 位，含两类字符。
    #[validate(length(max = 128, code = "too_long"))]
    #[schema(max_length = 128)]
    pub password: String,
    /// At least one; each must fit the organisation's level (grassroots_officer in a grassroots
    /// union, county_* in a county federation, city_approver in a city federation; auditor and
    /// system_admin anywhere) and be one you may grant. 角色须与组织层级相符，且不超出您可授予的范围。
    #[validate(length(max = 6, code = "too_many"))]
    #[schema(max_items = 6)]
    pub roles: Vec<RoleName>,
}

/// Changes to a user; a change of roles or status ends their sessions. 修改用户。
#[derive(Debug, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"display_name": "赵敏（经办）"}))]
pub struct UpdateUser {
    /// 1–50 characters. 姓名。
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 50, code = "too_long"))]
    #[schema(max_length = 50)]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 6, code = "too_many"))]
    #[schema(max_items = 6)]
    pub roles: Option<Vec<RoleName>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatus>,
}

/// A new password. 修改密码。
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"new_password": "Another-Horse-2027"}))]
pub struct ChangePassword {
    /// Required when changing your own password. 修改本人密码时必填。
    #[validate(length(max = 128, code = "too_long"))]
    #[schema(max_length = 128)]
    pub current_password: Option<String>,
    /// 12–128 characters mixing at least two kinds of character. 至少 12 位，含两类字符。
    #[validate(length(max = 128, code = "too_long"))]
    #[schema(max_length = 128)]
    pub new_password: String,
}

/// Filters for the user list. 用户列表筛选条件。
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub organisation_id: Option<String>,
    pub role: Option<RoleName>,
    pub status: Option<UserStatus>,
    /// Page size, 1–200 (default 50). 每页条数。
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page. 上一页返回的游标。
    pub cursor: Option<String>,
    /// `true` to have the answer carry `total`, the number of matching users in all pages.
    /// 为 true 时返回符合条件的用户总数 total。
    pub count: Option<bool>,
}

fn username(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let ok = (3..=64).contains(&v.len())
        && v.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if ok {
        Ok(v.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "invalid_format",
            "3–64 characters: lower-case letters, digits, '.', '_' or '-'",
            "3–64 位小写字母、数字、“.”、“_”或“-”",
        ))
    }
}

fn password_field(field: &str, value: &str) -> Result<(), FieldError> {
    check_password(value).map_err(|e| {
        FieldError::new(
            field,
            "weak_password",
            e.to_string(),
            "密码至少 12 位，且至少包含小写字母、大写字母、数字、符号中的两类",
        )
    })
}

/// Checks that `actor` may give `roles` to somebody in an organisation of `kind`.
fn check_roles(actor: &UserPrincipal, roles: &[Role], kind: OrganisationKind) -> ApiResult<()> {
    if roles.is_empty() {
        return Err(ApiError::validation(vec![FieldError::new(
            "roles",
            "required",
            "at least one role",
            "至少一个角色",
        )]));
    }
    let misplaced: Vec<FieldError> = roles
        .iter()
        .filter(|r| r.home_kind().is_some_and(|k| k != kind))
        .map(|r| {
            FieldError::new(
                "roles",
                "role_does_not_fit_organisation",
                format!("{r} is not held in a {}", kind.as_str()),
                format!("{r} 与所在组织层级不符"),
            )
        })
        .collect();
    if !misplaced.is_empty() {
        return Err(ApiError::validation(misplaced));
    }
    if let Some(r) = roles
        .iter()
        .find(|&&r| !actor.roles.iter().any(|a| a.may_grant(r)))
    {
        return Err(forbidden(
            format!("you may not grant the role {r}"),
            format!("您无权授予角色 {r}"),
        ));
    }
    Ok(())
}

fn organisation_kind(
    conn: &mut jiekun_store::DbConnection,
    scope: &Scope,
    id: &str,
) -> ApiResult<OrganisationKind> {
    let org = organisations::get(conn, scope, id).map_err(|e| match e {
        StoreError::NotFound => ApiError::validation(vec![FieldError::new(
            "organisation_id",
            "unknown_reference",
            "no such organisation",
            "组织不存在",
        )]),
        e => e.into(),
    })?;
    org.kind
        .parse()
        .map_err(|()| ApiError::internal(format!("stored kind {}", org.kind)))
}

/// List users · 查询用户列表
///
/// Users of your organisation and the organisations below it.
///
/// 列出本组织及下级组织的用户。
#[utoipa::path(
    operation_id = "list_users",tag = "users", params(UserQuery),
    responses((status = 200, description = "A page of users. 一页用户。", body = PageOf<User>)))]
#[get("/users")]
async fn list(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<web::Json<PageOf<User>>> {
    let (_, scope) = access.require_user(Action::UserRead)?;
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let filter = UserFilter {
        organisation_id: q.organisation_id,
        status: q.status.map(|s| s.as_str().to_owned()),
        role: q.role.map(|r| Role::from(r).as_str().to_owned()),
    };
    let count = q.count;
    let (rows, total) = db::run(&state.db, move |c| {
        let total = total_if(count, || store::count(c, &scope, &filter))?;
        Ok((store::list(c, &scope, &filter, &page)?, total))
    })
    .await?;
    Ok(web::Json(page_of(rows, User::from).with_total(total)))
}

/// Create a user · 新建用户
///
/// Adds a person to an organisation in your subtree with roles you may grant: a county admin
/// grants grassroots and county roles; only a system admin grants city, auditor and system-admin
/// roles.
///
/// 在本组织及下级组织中新建用户。县总工会管理员可授予基层和县级角色；市级、审计和系统管理员角色仅系统管理员可授予。
#[utoipa::path(
    operation_id = "create_user",tag = "users", request_body = CreateUser,
    responses((status = 201, description = "Created. 已创建。", body = User,
        headers(("ETag" = String, description = "Version. 版本标签。"),
                ("Location" = String, description = "URL of the new user. 新资源地址。")))))]
#[post("/users")]
async fn create(state: web::Data<AppState>, access: Access, body: Body) -> ApiResult<HttpResponse> {
    let (actor, scope) = access.require_user(Action::UserWrite)?;
    let body: CreateUser = body.parse()?;
    let actor = actor.clone();
    let mut f = Fields::default();
    let name = f.check(username("username", &body.username));
    let display_name = f.name("display_name", &body.display_name, 50);
    f.check(password_field("password", &body.password));
    f.finish()?;
    let (Some(name), Some(display_name)) = (name, display_name) else {
        return Err(ApiError::internal("field parsing lost a value"));
    };
    let roles: Vec<Role> = body.roles.iter().copied().map(Role::from).collect();
    let plain = body.password;
    let hash = web::block(move || password::hash(&plain))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let organisation_id = body.organisation_id;
    let row = db::write(&state.db, move |c| {
        let kind = organisation_kind(c, &scope, &organisation_id)?;
        check_roles(&actor, &roles, kind)?;
        let row = store::create(
            c,
            &NewUser {
                organisation_id,
                username: name,
                display_name,
                password_hash: hash,
                roles: join_list(&roles),
            },
        )
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ApiError::new(
                ErrorCode::AlreadyExists,
                "this username is taken",
                "该用户名已被使用",
            )
            .with_field(FieldError::new(
                "username",
                "duplicate",
                "taken",
                "已被使用",
            )),
            e => e.into(),
        })?;
        let recorded = serde_json::to_value(User::from(row.clone())).unwrap_or_default();
        audit::append(c, access.event("user.create", "user", &row.id, recorded))?;
        Ok(row)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", row.id)))
        .insert_header(actix_web::http::header::ETag(etag(row.version)))
        .json(User::from(row)))
}

/// Get a user · 查看用户
///
/// One user of your subtree.
///
/// 查看本组织及下级组织的一个用户。
#[utoipa::path(
    operation_id = "get_user",tag = "users",
    params(("id" = String, Path, description = "User id. 用户标识。")),
    responses((status = 200, description = "The user. 用户。", body = User,
        headers(("ETag" = String, description = "Current version. 当前版本。")))))]
#[get("/users/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::UserRead)?;
    let id = id.into_inner();
    let found = db::run(&state.db, move |c| Ok(store::get(c, &scope, &id)?))
        .await
        .map_err(|e| not_found(e, "user", "用户"))?;
    Ok(ok_with_etag(found.user.version, User::from(found.user)))
}

/// Update a user · 修改用户
///
/// Changes the display name, roles or status (`locked`, `disabled` stop sign-in). A change of
/// roles or status ends the user's sessions at once. You may change only users whose every role
/// you may grant. Requires `If-Match`.
///
/// 修改姓名、角色或状态（锁定、停用后不能登录）。角色或状态变更立即使其已签发的令牌失效。只能修改您有权授予其全部角色的用户。须携带 If-Match。
#[utoipa::path(
    operation_id = "update_user",tag = "users",
    params(("id" = String, Path, description = "User id. 用户标识。"),
           ("If-Match" = String, Header, description = "ETag last read. 最近读取的 ETag。")),
    request_body = UpdateUser,
    responses((status = 200, description = "Updated. 已修改。", body = User,
        headers(("ETag" = String, description = "New version. 新版本。")))))]
#[patch("/users/{id}")]
async fn update(
    state: web::Data<AppState>,
    access: Access,
    Change { id, version, body }: Change,
) -> ApiResult<HttpResponse> {
    let (actor, scope) = access.require_user(Action::UserWrite)?;
    let body: UpdateUser = body.parse()?;
    let actor = actor.clone();
    let recorded = serde_json::to_value(&body).unwrap_or_default();
    let mut f = Fields::default();
    let display_name = body
        .display_name
        .as_deref()
        .and_then(|n| f.name("display_name", n, 50));
    f.finish()?;
    let roles: Option<Vec<Role>> = body
        .roles
        .map(|rs| rs.into_iter().map(Role::from).collect());
    let status = body.status;
    let row = db::write(&state.db, move |c| {
        let target = store::get(c, &scope, &id).map_err(|e| not_found(e.into(), "user", "用户"))?;
        let current = parse_list::<Role>(&target.user.roles).unwrap_or_default();
        check_may_manage(&actor, &current)?;
        if let Some(new_roles) = &roles {
            let kind = target
                .organisation_kind
                .parse()
                .map_err(|()| ApiError::internal("stored organisation kind"))?;
            check_roles(&actor, new_roles, kind)?;
        }
        if target.user.id == actor.id
            && (status.is_some_and(|s| s != UserStatus::Active) || roles.is_some())
        {
            return Err(forbidden(
                "you cannot change your own roles or lock yourself out",
                "不能修改本人的角色或停用本人账号",
            ));
        }
        let changes = UserChanges {
            display_name,
            roles: roles.as_deref().map(join_list),
            status: status.map(|s| s.as_str().to_owned()),
        };
        let row = store::update(c, &id, version, &changes)?;
        audit::append(c, access.event("user.update", "user", &row.id, recorded))?;
        Ok(row)
    })
    .await?;
    state.auth.forget_user(&row.id);
    Ok(ok_with_etag(row.version, User::from(row)))
}

fn check_may_manage(actor: &UserPrincipal, target_roles: &[Role]) -> ApiResult<()> {
    match target_roles
        .iter()
        .find(|&&r| !actor.roles.iter().any(|a| a.may_grant(r)))
    {
        Some(r) => Err(forbidden(
            format!("this user holds {r}, which you may not grant"),
            format!("该用户拥有您无权授予的角色 {r}"),
        )),
        None => Ok(()),
    }
}

/// Change a password · 修改密码
///
/// Your own password (with the current one), or, as an admin who may manage the user, a reset.
/// Every session of the user ends at once.
///
/// 修改本人密码（须提供原密码），或由有权管理该用户的管理员重置。修改后该用户已签发的令牌全部失效。
#[utoipa::path(
    operation_id = "change_password",tag = "users",
    params(("id" = String, Path, description = "User id. 用户标识。")),
    request_body = ChangePassword,
    responses((status = 204, description = "Changed. 已修改。")))]
#[post("/users/{id}/password")]
async fn change_password(
    state: web::Data<AppState>,
    access: Access,
    Posted { id, body }: Posted,
) -> ApiResult<HttpResponse> {
    let actor = match &access.principal {
        crate::auth::Principal::User(u) => u.clone(),
        crate::auth::Principal::Key(_) => return Err(crate::auth::keys_not_allowed()),
    };
    let own = actor.id == id;
    let scope = if own {
        actor.scope()
    } else {
        access.require_user(Action::UserWrite)?.1
    };
    let body: ChangePassword = body.parse()?;
    let mut f = Fields::default();
    f.check(password_field("new_password", &body.new_password));
    if own && body.current_password.is_none() {
        f.push(FieldError::required("current_password"));
    }
    f.finish()?;
    let lookup = id.clone();
    let target = db::run(&state.db, move |c| Ok(store::get(c, &scope, &lookup)?))
        .await
        .map_err(|e| not_found(e, "user", "用户"))?;
    if own {
        let current = body.current_password.unwrap_or_default();
        let stored = target.user.password_hash.clone();
        let ok = web::block(move || password::verify(&current, &stored))
            .await
            .map_err(ApiError::internal)?;
        if !ok {
            return Err(ApiError::validation(vec![FieldError::new(
                "current_password",
                "mismatch",
                "the current password is wrong",
                "原密码错误",
            )]));
        }
    } else {
        let roles = parse_list::<Role>(&target.user.roles).unwrap_or_default();
        check_may_manage(&actor, &roles)?;
    }
    let plain = body.new_password;
    let hash = web::block(move || password::hash(&plain))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    state.auth.forget_user(&id);
    let forget = id.clone();
    db::write(&state.db, move |c| {
        store::set_password(c, &id, &hash)?;
        let action = if own {
            "user.password_change"
        } else {
            "user.password_reset"
        };
        audit::append(
            c,
            access.event(
                action,
                "user",
                &id,
                serde_json::json!({"password": "changed"}),
            ),
        )?;
        Ok(())
    })
    .await?;
    state.auth.forget_user(&forget);
    Ok(HttpResponse::NoContent().finish())
}
