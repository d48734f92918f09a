//! `/api/v1/households`: the household file (建档立卡) — households, members, income and rigid
//! expenditure. Personal data is masked in every answer unless the caller's role may see it and the
//! request asks for it (`reveal=`), and every such read is audited.
//!
//! `dto` holds the shapes, `parse` turns them into what the store keeps, `present` shows stored
//! rows; `members` and `money` are the sub-resources. Every change is one unit of work of
//! `jiekun_store::household_file`, which also appends the audit event.

mod dto;
mod members;
mod money;
mod money_dto;
mod parse;
mod present;

use actix_web::http::header::ETag;
use actix_web::{get, patch, post, web, HttpResponse, HttpResponseBuilder};
use jiekun_domain::access::{roles_allow, Action};
use jiekun_domain::household::{Category, HouseholdStatus};
use jiekun_domain::NationalId;
use jiekun_store::audit;
use jiekun_store::household_file::{self as unit, FileChanges};
use jiekun_store::households::{self as store, HouseholdChanges, HouseholdFilter, ListedHousehold};
use jiekun_store::page::Page;
use serde::Serialize;
use utoipa_actix_web::service_config::ServiceConfig;

pub use dto::{today, Household};
pub(crate) use parse::file_error;

use super::{changed_region, not_found, query_error};
use crate::auth::{forbidden, Access};
use crate::body::Body;
use crate::db::JsonBody;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{etag, ApiQuery, Change};
use crate::fields::Fields;
use crate::pagination::{next_cursor, page_request, total_if, PageOf};
use crate::{db, AppState};
use dto::{CreateHousehold, HouseholdQuery, RevealQuery, SearchHouseholds, UpdateHousehold};
use present::{Reveal, Shown};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(search)
        .service(get_one)
        .service(update);
    members::configure(cfg);
    money::configure(cfg);
}

/// An answer carrying the household's version as its `ETag`.
fn tagged<T: Serialize>(mut builder: HttpResponseBuilder, version: i64, body: T) -> HttpResponse {
    builder.insert_header(ETag(etag(version))).json(body)
}

fn no_content(version: i64) -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(ETag(etag(version)))
        .finish()
}

/// Refuses people already in another active household before a change claims them: the refusal
/// is logged with the caller, the masked number and the other file, and counted against the
/// caller, who is slowed down like a failed sign-in (429 with `Retry-After`) once they have had
/// several — each refusal tells that a number is filed somewhere.
async fn not_filed_elsewhere(
    state: &AppState,
    access: &Access,
    scope: &jiekun_store::Scope,
    people: Vec<(usize, String, String)>,
    household_id: Option<String>,
    items: &'static str,
) -> ApiResult<()> {
    let key = access.actor().id.unwrap_or_default();
    let now_ms = state.clock.now().timestamp_millis();
    state.auth.person_refusals.check(&key, now_ms).await?;
    let (cipher, caller, scope) = (state.cipher.clone(), access.caller(), scope.clone());
    let refused = db::write(&state.db, move |c| {
        let people: Vec<(usize, &str, &str)> = people
            .iter()
            .map(|(i, n, m)| (*i, n.as_str(), m.as_str()))
            .collect();
        unit::people_filed_elsewhere(
            c,
            &caller,
            &cipher,
            &scope,
            &people,
            household_id.as_deref(),
        )
        .map_err(|e| parse::rule_error(e, items))
    })
    .await?;
    match refused {
        Some(e) => {
            // Counted; the refusal itself is the answer (a wait applies from the next check).
            let _ = state.auth.person_refusals.attempt(&key, now_ms).await;
            Err(file_error(e, items))
        }
        None => Ok(()),
    }
}

fn household_not_found(e: ApiError) -> ApiError {
    not_found(e, "household", "档案")
}

/// A closed-list filter value, or 400 naming the parameter and the values it takes.
fn closed_filter<T: jiekun_domain::closed::ClosedList>(
    field: &str,
    v: &Option<String>,
) -> ApiResult<()> {
    match v {
        Some(x) if T::from_code(x).is_none() => {
            let allowed = T::codes().join(", ");
            Err(query_error(FieldError::new(
                field,
                "invalid_value",
                format!("{x} is not one of {allowed}"),
                format!("{x} 不是允许的取值（{allowed}）"),
            )))
        }
        _ => Ok(()),
    }
}

fn filter_of(q: &HouseholdQuery) -> ApiResult<HouseholdFilter> {
    let region = match &q.region_code {
        Some(r) => Some(crate::fields::region("region_code", r).map_err(query_error)?),
        None => None,
    };
    closed_filter::<Category>("category", &q.category)?;
    closed_filter::<HouseholdStatus>("status", &q.status)?;
    if q.main_cause.is_some_and(|c| !(1..=10).contains(&c)) {
        return Err(query_error(FieldError::new(
            "main_cause",
            "out_of_range",
            "1–10",
            "应为 1–10",
        )));
    }
    Ok(HouseholdFilter {
        region,
        organisation_id: q.organisation_id.clone(),
        category: q.category.clone(),
        status: q.status.clone(),
        main_cause: q.main_cause.map(i64::from),
        single_parent: q.single_parent,
        disability_household: q.disability_household,
        zero_employment: q.zero_employment,
    })
}

/// List households · 查询档案列表
///
/// Household files of your organisation's subtree, in a stable order, filtered and paged with a
/// cursor. Names and numbers are masked; members are not included.
///
/// 分页列出本组织及下级的困难职工家庭档案，可按行政区划、组织、类别、状态、主要致困原因和标记筛选。姓名、账号均脱敏，不含成员明细。
#[utoipa::path(operation_id = "list_households", tag = "households", params(HouseholdQuery),
    responses((status = 200, description = "A page of households. 一页档案。", body = PageOf<Household>)))]
#[get("/households")]
async fn list(
    state: web::Data<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<HouseholdQuery>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let filter = filter_of(&q)?;
    let count = q.count;
    let app = state.clone();
    let read = move |c: &mut _| {
        let total = total_if(count, || store::count(c, &scope, &filter))?;
        Ok((store::list(c, &scope, &filter, &page)?, total))
    };
    let present = move |(rows, total): (Page<ListedHousehold>, _)| {
        let shown = Shown::masked(&app.cipher);
        JsonBody::of(&PageOf {
            items: rows.items.into_iter().map(|h| shown.listed(h)).collect(),
            next_cursor: next_cursor(rows.next_after.as_deref()),
            total,
        })
    };
    let body = db::run_presented(&state.db, read, present).await?;
    Ok(body.into_response(HttpResponse::Ok()))
}

/// File a household · 新建档案
///
/// Creates the file of a hardship-worker household in a grassroots union of your scope: the
/// household, its members (exactly one worker), and optionally income and rigid expenditure, all
/// in one transaction. Each identity number is checked (length, check character, date of birth,
/// agreement with sex and birth date); a person already in another active household is refused
/// with 409, naming that household only if you may see it.
///
/// **What the 409 reveals.** One person may be in one active household only, system-wide, so
/// the 409 `already_exists` tells that the number is in an active file somewhere — possibly in a
/// county you cannot see. Every such refusal is written to the audit log (you, the masked number
/// and the other file), and after 10 of them in 15 minutes each further check waits, doubling
/// (429 `rate_limited` with `Retry-After`).
///
/// 在本范围内的基层工会新建困难职工家庭档案：户信息、家庭成员（有且仅有一名职工本人）以及可选的收入、刚性支出，在同一事务中写入。逐一校验身份号码；已在其他有效档案中的人员返回 409，仅在您有权查看时指明该档案。
///
/// **409 所透露的信息**：全系统一人只能在一个有效档案中，因此 409 already_exists 表明该号码在某个有效档案中（可能在您无权查看的县）。每次此类拒绝都记入审计日志（调用人、脱敏号码和另一档案）；15 分钟内超过 10 次后，每次查验需等待且时间倍增（429 rate_limited，附 Retry-After）。
#[utoipa::path(operation_id = "create_household", tag = "households", request_body = CreateHousehold,
    responses((status = 201, description = "Filed. 已建档。", body = Household,
        headers(("ETag" = String, description = "Version. 版本标签。"), ("Location" = String, description = "URL of the file. 档案地址。")))))]
#[post("/households")]
async fn create(state: web::Data<AppState>, access: Access, body: Body) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let (input, members, incomes, spending) = body
        .parse::<CreateHousehold>()?
        .parse(state.clock.today())?;
    let people = members.iter().enumerate();
    let people = people.map(|(i, m)| (i, m.national_id.clone(), m.national_id_masked.clone()));
    not_filed_elsewhere(&state, &access, &scope, people.collect(), None, "members").await?;
    let (cipher, caller) = (state.cipher.clone(), access.caller());
    let (row, ms) = db::write(&state.db, move |c| {
        unit::create(
            c, &caller, &cipher, &scope, &input, &members, &incomes, &spending,
        )
        .map_err(|e| parse::rule_error(e, "members"))
    })
    .await?;
    let location = format!("/api/v1/households/{}", row.id);
    let mut created = HttpResponse::Created();
    created.insert_header(("Location", location));
    Ok(tagged(
        created,
        row.version,
        Shown::masked(&state.cipher).household(row, Some(ms))?,
    ))
}

/// Find households by identity number · 按身份号码查找档案
///
/// Looks the number up through its keyed hash (the number itself is never stored in clear) and
/// returns the households of your scope that hold that person. The search is audited.
///
/// 通过身份号码的密钥哈希（号码本身不以明文存储）查找，返回您范围内包含此人的档案。查找记入审计。
#[utoipa::path(operation_id = "search_households", tag = "households", request_body = SearchHouseholds,
    responses((status = 200, description = "Matching households. 匹配的档案。", body = Vec<Household>)))]
#[post("/households/search")]
async fn search(
    state: web::Data<AppState>,
    access: Access,
    body: Body,
) -> ApiResult<web::Json<Vec<Household>>> {
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let body: SearchHouseholds = body.parse()?;
    let id = NationalId::parse(&body.national_id, state.clock.today())
        .map_err(|e| ApiError::validation(vec![parse::id_error("national_id", e)]))?;
    let (cipher, caller) = (state.cipher.clone(), access.caller());
    let rows = db::write(&state.db, move |c| {
        let rows = store::find_by_national_id(c, &cipher, &scope, id.as_str())?;
        let found: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let recorded = serde_json::json!({"national_id": id.masked(), "found": found});
        audit::append(
            c,
            caller.event("household.search", "household", "", recorded),
        )?;
        Ok(rows)
    })
    .await?;
    let shown = Shown::masked(&state.cipher);
    Ok(web::Json(
        rows.into_iter()
            .map(|h| shown.household(h, None))
            .collect::<ApiResult<Vec<_>>>()?,
    ))
}

/// Get a household · 查看档案
///
/// One household file with its members. Personal data is masked; with `reveal=` (roles that
/// handle cases only) the named fields are shown in full, and the read is audited.
///
/// 查看一户档案及其成员。个人信息默认脱敏；经办、审核、审批角色可用 reveal 参数查看完整信息，该次读取记入审计。
#[utoipa::path(operation_id = "get_household", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), RevealQuery),
    responses((status = 200, description = "The household. 档案。", body = Household, headers(("ETag" = String, description = "Current version. 当前版本。")))))]
#[get("/households/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    access: Access,
    id: web::Path<String>,
    ApiQuery(q): ApiQuery<RevealQuery>,
) -> ApiResult<HttpResponse> {
    let (user, scope) = access.require_user(Action::HouseholdRead)?;
    let reveal = Reveal::parse(q.reveal.as_deref())?;
    if reveal.any() && !roles_allow(&user.roles, Action::PersonalDataReveal) {
        return Err(forbidden(
            "your roles may not see unmasked personal data",
            "您的角色无权查看未脱敏的个人信息",
        ));
    }
    let id = id.into_inner();
    let shown = Shown {
        reveal,
        cipher: &state.cipher,
    };
    if !reveal.any() {
        // A masked read loads only the columns it shows.
        let app = state.clone();
        let read = move |c: &mut _| Ok(store::get_listed_with_members(c, &scope, &id)?);
        let present = move |(h, ms): (ListedHousehold, _)| {
            let version = h.version;
            let shown = Shown::masked(&app.cipher).masked_file(h, ms);
            Ok((version, JsonBody::of(&shown)?))
        };
        let (version, body) = db::run_presented(&state.db, read, present)
            .await
            .map_err(household_not_found)?;
        let mut ok = HttpResponse::Ok();
        ok.insert_header(ETag(etag(version)));
        return Ok(body.into_response(ok));
    }
    // An unmasked read writes its audit event in the same transaction as the read.
    let (fields, caller) = (reveal.names(), access.caller());
    let (h, ms) = db::write(&state.db, move |c| {
        let (h, ms) = store::get_with_members(c, &scope, &id)?;
        audit::append(
            c,
            caller.event(
                "household.reveal",
                "household",
                &h.id,
                serde_json::json!({ "fields": fields }),
            ),
        )?;
        Ok((h, ms))
    })
    .await
    .map_err(household_not_found)?;
    Ok(tagged(
        HttpResponse::Ok(),
        h.version,
        shown.household(h, Some(ms))?,
    ))
}

impl UpdateHousehold {
    /// The fields parsed; causes are checked against the stored file by the unit of work.
    fn changes(&self) -> ApiResult<FileChanges> {
        let mut f = Fields::default();
        let region_code = changed_region(&mut f, "region_code", self.region_code.as_deref());
        let address = self
            .address
            .as_deref()
            .and_then(|a| f.name("address", a, 200));
        let housing_area_dm2 = self
            .housing_area_m2
            .map(|a| a.and_then(|a| parse::area(&mut f, "housing_area_m2", a)));
        let bank_name = self
            .bank_name
            .as_ref()
            .map(|b| f.optional_text("bank_name", b.as_deref(), 100).flatten());
        let bank_account = self
            .bank_account
            .as_ref()
            .map(|b| parse::bank_account(&mut f, b.as_deref()).flatten());
        let assets = self.assets.as_ref().and_then(|a| parse::assets(&mut f, a));
        f.finish()?;
        let a = self.assets.as_ref();
        Ok(FileChanges {
            fields: HouseholdChanges {
                organisation_id: self.organisation_id.clone(),
                region_code,
                address,
                enterprise_id: self.enterprise_id.clone(),
                housing_type: self.housing_type.map(|h| h.as_str().to_owned()),
                housing_area_dm2,
                bank_name,
                bank_account,
                single_parent: self.single_parent,
                disability_household: self.disability_household,
                zero_employment: self.zero_employment,
                homes_count: assets.map(|a| a.0),
                homes_area_dm2: assets.map(|a| a.1),
                vehicles_count: assets.map(|a| a.2),
                vehicle_disability_exempt: a.map(|a| a.vehicle_disability_exempt),
                controlling_shareholder: a.map(|a| a.controlling_shareholder),
                high_fee_schooling: a.map(|a| a.high_fee_schooling),
                refuses_cooperation: a.map(|a| a.refuses_cooperation),
                legal_dispute: self.legal_dispute,
                ..HouseholdChanges::default()
            },
            main_cause: self.main_cause,
            secondary_causes: self.secondary_causes.clone(),
            resolved_causes: self.resolved_causes.clone(),
            recorded: serde_json::to_value(self).unwrap_or_default(),
        })
    }
}

/// Update a household · 修改档案
///
/// Changes household-level fields (union, region, address, employer, housing, bank account,
/// causes, flags, assets). Requires `If-Match` with the household's ETag. An empty body changes
/// nothing and keeps the version.
///
/// 修改户级信息（所属工会、地区、地址、企业、住房、银行账号、致困原因、标记、财产）。须携带 If-Match。请求体为空时不作修改，版本不变。
#[utoipa::path(operation_id = "update_household", tag = "households",
    params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "ETag last read. 最近读取的 ETag。")),
    request_body = UpdateHousehold,
    responses((status = 200, description = "Updated. 已修改。", body = Household, headers(("ETag" = String, description = "New version. 新版本。")))))]
#[patch("/households/{id}")]
async fn update(
    state: web::Data<AppState>,
    access: Access,
    Change { id, version, body }: Change,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let changes = body.parse::<UpdateHousehold>()?.changes()?;
    let (cipher, caller) = (state.cipher.clone(), access.caller());
    let (row, ms) = db::write(&state.db, move |c| {
        unit::update(c, &caller, &cipher, &scope, &id, version, &changes)
            .map_err(|e| parse::rule_error(e, "members"))
    })
    .await
    .map_err(household_not_found)?;
    Ok(tagged(
        HttpResponse::Ok(),
        row.version,
        Shown::masked(&state.cipher).household(row, Some(ms))?,
    ))
}
