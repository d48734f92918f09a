//! The two money ledgers of a file — monthly income (收入记录) and rigid expenditure (刚性支出) —
//! served by one implementation: list a page, add several at once, change one, delete one.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::NaiveDate;
use jiekun_domain::access::Action;
use jiekun_store::household_file::{self as unit, Expenditures, Incomes, Ledger};
use jiekun_store::households::{
    self as store, ExpenditureChanges, ExpenditureRow, IncomeChanges, IncomeRow,
};
use jiekun_store::DbConnection;
use serde::de::DeserializeOwned;
use serde::Serialize;
use validator::Validate;

use super::money_dto::{
    AddExpenditures, AddIncomes, Expenditure, ExpenditureIn, Income, IncomeIn, LedgerQuery,
    UpdateExpenditure, UpdateIncome,
};
use super::parse::{expenditure, fen, income, month, rule_error, source};
use super::{household_not_found, no_content, tagged};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiQuery, Change, Versioned};
use crate::fields::Fields;
use crate::pagination::{page_request, PageOf};
use crate::routes::{not_found, query_error};
use crate::{db, AppState};

/// What differs between the two ledgers; everything else is shared.
trait Money:
    Ledger<Row: Send + HasId, Input: Send + 'static, Changes: Send + 'static> + Send + 'static
{
    type In: Serialize + DeserializeOwned + Validate + Send + Sync + 'static;
    type Add: DeserializeOwned + Validate;
    type Update: Serialize + DeserializeOwned + Validate + Send + 'static;
    type Out: Serialize + From<Self::Row>;
    /// The name of an item in messages.
    const WHAT: (&'static str, &'static str);
    /// The list field of an addition (`records` / `items`).
    const LIST: &'static str;
    fn items(add: Self::Add) -> Vec<Self::In>;
    fn parse(f: &mut Fields, at: &str, item: &Self::In, today: NaiveDate) -> Option<Self::Input>;
    fn changes(u: &Self::Update, today: NaiveDate) -> ApiResult<Self::Changes>;
    fn load(
        c: &mut DbConnection,
        id: &str,
        q: &LedgerQuery,
        from: Option<i64>,
        to: Option<i64>,
    ) -> jiekun_store::StoreResult<Vec<Self::Row>>;
}

/// A stored item's id, for paging.
trait HasId {
    fn id(&self) -> &str;
}

impl HasId for IncomeRow {
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for ExpenditureRow {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Money for Incomes {
    type In = IncomeIn;
    type Add = AddIncomes;
    type Update = UpdateIncome;
    type Out = Income;
    const WHAT: (&'static str, &'static str) = ("income record", "收入记录");
    const LIST: &'static str = "records";

    fn items(add: AddIncomes) -> Vec<IncomeIn> {
        add.records
    }
    fn parse(
        f: &mut Fields,
        at: &str,
        r: &IncomeIn,
        today: NaiveDate,
    ) -> Option<store::IncomeInput> {
        if r.member_index.is_some() {
            f.push(FieldError::new(
                format!("{at}.member_index"),
                "not_allowed",
                "use member_id on an existing household",
                "已有档案请用 member_id",
            ));
        }
        income(f, at, r, today)
    }
    fn changes(u: &UpdateIncome, today: NaiveDate) -> ApiResult<IncomeChanges> {
        let mut f = Fields::default();
        let month = u
            .month
            .as_deref()
            .and_then(|m| month(&mut f, "month", m, today));
        let amount = u.amount_fen.and_then(|a| fen(&mut f, "amount_fen", a));
        let source = u
            .source
            .as_deref()
            .and_then(|s| source(&mut f, "source", Some(s)));
        let note = u
            .note
            .as_ref()
            .map(|n| f.optional_text("note", n.as_deref(), 200).flatten());
        f.finish()?;
        Ok(IncomeChanges {
            month: month.map(|m| i64::from(m.key())),
            kind: u.kind.map(|k| k.as_str().to_owned()),
            source,
            amount_fen: amount,
            verified: u.verified,
            note,
        })
    }
    fn load(
        c: &mut DbConnection,
        id: &str,
        q: &LedgerQuery,
        from: Option<i64>,
        to: Option<i64>,
    ) -> jiekun_store::StoreResult<Vec<IncomeRow>> {
        store::incomes(c, id, from, to, q.member_id.as_deref())
    }
}

impl Money for Expenditures {
    type In = ExpenditureIn;
    type Add = AddExpenditures;
    type Update = UpdateExpenditure;
    type Out = Expenditure;
    const WHAT: (&'static str, &'static str) = ("expenditure item", "刚性支出");
    const LIST: &'static str = "items";

    fn items(add: AddExpenditures) -> Vec<ExpenditureIn> {
        add.items
    }
    fn parse(
        f: &mut Fields,
        at: &str,
        e: &ExpenditureIn,
        today: NaiveDate,
    ) -> Option<store::ExpenditureInput> {
        expenditure(f, at, e, today)
    }
    fn changes(u: &UpdateExpenditure, today: NaiveDate) -> ApiResult<ExpenditureChanges> {
        // The end of a period may be later this year (a school year, a treatment plan).
        let latest = today + chrono::TimeDelta::days(366);
        let mut f = Fields::default();
        let start = u
            .start_month
            .as_deref()
            .and_then(|m| month(&mut f, "start_month", m, latest));
        let end = u
            .end_month
            .as_deref()
            .and_then(|m| month(&mut f, "end_month", m, latest));
        let amount = u.amount_fen.and_then(|a| fen(&mut f, "amount_fen", a));
        let description = u
            .description
            .as_ref()
            .map(|d| f.optional_text("description", d.as_deref(), 200).flatten());
        let evidence = u
            .evidence
            .as_ref()
            .map(|d| f.optional_text("evidence", d.as_deref(), 200).flatten());
        f.finish()?;
        Ok(ExpenditureChanges {
            kind: u.kind.map(|k| k.as_str().to_owned()),
            amount_fen: amount,
            start_month: start.map(|m| i64::from(m.key())),
            end_month: end.map(|m| i64::from(m.key())),
            description,
            evidence,
            verified: u.verified,
        })
    }
    fn load(
        c: &mut DbConnection,
        id: &str,
        q: &LedgerQuery,
        _: Option<i64>,
        _: Option<i64>,
    ) -> jiekun_store::StoreResult<Vec<ExpenditureRow>> {
        let mut rows = store::expenditure_items(c, id)?;
        if let Some(m) = &q.member_id {
            rows.retain(|r| r.member_id.as_deref() == Some(m.as_str()));
        }
        Ok(rows)
    }
}

fn month_query(field: &str, v: &Option<String>) -> ApiResult<Option<i64>> {
    let Some(s) = v else { return Ok(None) };
    let far = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
    jiekun_domain::household::Month::parse(s, far)
        .map(|m| Some(i64::from(m.key())))
        .map_err(|_| {
            query_error(FieldError::new(
                field,
                "invalid_format",
                "YYYY-MM",
                "月份格式应为 YYYY-MM",
            ))
        })
}

async fn list<M: Money>(
    state: web::Data<AppState>,
    access: Access,
    id: String,
    q: LedgerQuery,
) -> ApiResult<web::Json<PageOf<M::Out>>>
where
    M::Out: utoipa::ToSchema,
{
    let (_, scope) = access.require_user(Action::HouseholdRead)?;
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let (from, to) = (month_query("from", &q.from)?, month_query("to", &q.to)?);
    let q_count = q.count;
    let rows = db::run(&state.db, move |c| {
        store::get(c, &scope, &id)?;
        Ok(M::load(c, &id, &q, from, to)?)
    })
    .await
    .map_err(household_not_found)?;
    // A ledger is bounded per household, so a page is a slice after the cursor's item.
    let total = (q_count == Some(true)).then_some(rows.len() as u64);
    let start = match &page.after {
        Some(after) => rows
            .iter()
            .position(|r| r.id() == after)
            .map_or(rows.len(), |p| p + 1),
        None => 0,
    };
    let limit = page.limit as usize;
    let last = (start + limit).min(rows.len());
    let next = (last < rows.len() && last > start).then(|| rows[last - 1].id().to_owned());
    let items = rows
        .into_iter()
        .skip(start)
        .take(limit)
        .map(M::Out::from)
        .collect();
    Ok(web::Json(PageOf {
        items,
        next_cursor: crate::pagination::next_cursor(next.as_deref()),
        total,
    }))
}

async fn add<M: Money>(
    state: web::Data<AppState>,
    access: Access,
    Change { id, version, body }: Change,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let items = M::items(body.parse::<M::Add>()?);
    let today = state.clock.today();
    let mut f = Fields::default();
    let parsed: Vec<_> = items
        .iter()
        .enumerate()
        .map(|(i, r)| M::parse(&mut f, &format!("{}[{i}]", M::LIST), r, today))
        .collect();
    f.finish()?;
    let parsed: Vec<M::Input> = parsed
        .into_iter()
        .collect::<Option<_>>()
        .ok_or_else(|| ApiError::internal("field parsing lost a value"))?;
    let caller = access.caller();
    let (rows, v) = db::write(&state.db, move |c| {
        unit::add_items::<M>(c, &caller, &scope, &id, version, &parsed)
            .map_err(|e| rule_error(e, M::LIST))
    })
    .await
    .map_err(household_not_found)?;
    Ok(tagged(
        HttpResponse::Created(),
        v,
        rows.into_iter().map(M::Out::from).collect::<Vec<_>>(),
    ))
}

async fn update<M: Money>(
    state: web::Data<AppState>,
    access: Access,
    Change { id, version, body }: Change<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let body: M::Update = body.parse()?;
    let (id, item) = id;
    let changes = M::changes(&body, state.clock.today())?;
    let recorded = serde_json::to_value(&body).unwrap_or_default();
    let caller = access.caller();
    let (row, v) = db::write(&state.db, move |c| {
        unit::update_item::<M>(c, &caller, &scope, &id, &item, version, &changes, recorded)
            .map_err(|e| rule_error(e, M::LIST))
    })
    .await
    .map_err(|e| not_found(e, M::WHAT.0, M::WHAT.1))?;
    Ok(tagged(HttpResponse::Ok(), v, M::Out::from(row)))
}

async fn remove<M: Money>(
    state: web::Data<AppState>,
    access: Access,
    Versioned { id, version }: Versioned<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (_, scope) = access.require_user(Action::HouseholdWrite)?;
    let (id, item) = id;
    let caller = access.caller();
    let v = db::write(&state.db, move |c| {
        unit::delete_item::<M>(c, &caller, &scope, &id, &item, version)
            .map_err(|e| rule_error(e, M::LIST))
    })
    .await
    .map_err(|e| not_found(e, M::WHAT.0, M::WHAT.1))?;
    Ok(no_content(v))
}

/// The documented list, add, update and delete operations of one ledger: the same answers for
/// both, each with its own paths, operation ids, shapes and words.
macro_rules! ledger_operations {
    (
        ledger: $ledger:ident, out: $out:ident,
        item: ($item:literal, $item_doc:literal),
        $(#[doc = $list_doc:literal])*
        list: ($list_fn:ident, $list_op:literal, $collection:literal, $page:literal),
        $(#[doc = $add_doc:literal])*
        add: ($add_fn:ident, $add_op:literal, $add_body:ident),
        $(#[doc = $update_doc:literal])*
        update: ($update_fn:ident, $update_op:literal, $one:literal, $update_body:ident),
        $(#[doc = $delete_doc:literal])*
        delete: ($delete_fn:ident, $delete_op:literal),
    ) => {
        $(#[doc = $list_doc])*
        #[utoipa::path(operation_id = $list_op, tag = "households",
            params(("id" = String, Path, description = "Household id. 档案标识。"), LedgerQuery),
            responses((status = 200, description = $page, body = PageOf<$out>)))]
        #[get($collection)]
        async fn $list_fn(
            state: web::Data<AppState>,
            access: Access,
            id: web::Path<String>,
            ApiQuery(q): ApiQuery<LedgerQuery>,
        ) -> ApiResult<web::Json<PageOf<$out>>> {
            list::<$ledger>(state, access, id.into_inner(), q).await
        }

        $(#[doc = $add_doc])*
        #[utoipa::path(operation_id = $add_op, tag = "households",
            params(("id" = String, Path, description = "Household id. 档案标识。"), ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
            request_body = $add_body,
            responses((status = 201, description = "Added. 已新增。", body = Vec<$out>, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
        #[post($collection)]
        async fn $add_fn(
            state: web::Data<AppState>,
            access: Access,
            change: Change,
        ) -> ApiResult<HttpResponse> {
            add::<$ledger>(state, access, change).await
        }

        $(#[doc = $update_doc])*
        #[utoipa::path(operation_id = $update_op, tag = "households",
            params(("id" = String, Path, description = "Household id. 档案标识。"), ($item = String, Path, description = $item_doc),
                   ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
            request_body = $update_body,
            responses((status = 200, description = "Updated. 已修改。", body = $out, headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
        #[patch($one)]
        async fn $update_fn(
            state: web::Data<AppState>,
            access: Access,
            change: Change<(String, String)>,
        ) -> ApiResult<HttpResponse> {
            update::<$ledger>(state, access, change).await
        }

        $(#[doc = $delete_doc])*
        #[utoipa::path(operation_id = $delete_op, tag = "households",
            params(("id" = String, Path, description = "Household id. 档案标识。"), ($item = String, Path, description = $item_doc),
                   ("If-Match" = String, Header, description = "The household's ETag. 户档案 ETag。")),
            responses((status = 204, description = "Deleted. 已删除。", headers(("ETag" = String, description = "The household's new version. 户档案新版本。")))))]
        #[delete($one)]
        async fn $delete_fn(
            state: web::Data<AppState>,
            access: Access,
            target: Versioned<(String, String)>,
        ) -> ApiResult<HttpResponse> {
            remove::<$ledger>(state, access, target).await
        }
    };
}

ledger_operations! {
    ledger: Incomes, out: Income,
    item: ("income_id", "Income record id. 收入记录标识。"),
    /// List income records · 查询收入记录
    ///
    /// Monthly income of the household's members, newest month first, a page at a time. The
    /// monthly amounts departments proved in answering verification tasks (taxable income, a
    /// pension, 低保 or special-hardship support; 《实施方案》三(一)1) are listed as the
    /// department's verified records, with the id of the fact: for each department, member,
    /// month and kind the latest answer stands and replaces any record of the same department,
    /// member, month and kind. They change only through their discrepancy
    /// (`POST /discrepancies/{id}/resolve`), so updating or deleting one answers 404.
    ///
    /// 按月份倒序分页列出家庭成员的收入记录。部门答复核对任务时核实的月度金额（纳税收入、养老金、
    /// 低保或特困供养金；《实施方案》三(一)1）作为该部门的已核实记录列出，标识为核实信息的标识：
    /// 同一部门、成员、月份和类别以最近一次答复为准，并取代该部门同一成员、月份和类别的其他记录。
    /// 这些记录只能通过差异处理（`POST /discrepancies/{id}/resolve`）改变，修改或删除将返回 404。
    list: (list_incomes, "list_household_incomes", "/households/{id}/incomes", "A page of income records. 一页收入记录。"),
    /// Add income records · 新增收入记录
    ///
    /// Adds 1–500 monthly income records in one transaction (all or none). Amounts are integer fen,
    /// never negative; months are not in the future. Requires the household's `If-Match`.
    ///
    /// 批量新增 1–500 条月度收入记录，同一事务，要么全部成功要么全部不写。金额以分为单位且不为负；月份不得晚于本月。须携带户档案的 If-Match。
    add: (add_incomes, "add_household_incomes", AddIncomes),
    /// Update an income record · 修改收入记录
    ///
    /// Requires the household's `If-Match`.
    ///
    /// 修改一条收入记录，须携带户档案的 If-Match。
    update: (update_income, "update_household_income", "/households/{id}/incomes/{income_id}", UpdateIncome),
    /// Delete an income record · 删除收入记录
    ///
    /// Requires the household's `If-Match`.
    ///
    /// 删除一条收入记录，须携带户档案的 If-Match。
    delete: (delete_income, "delete_household_income"),
}

ledger_operations! {
    ledger: Expenditures, out: Expenditure,
    item: ("item_id", "Item id. 支出标识。"),
    /// List rigid expenditure · 查询刚性支出
    ///
    /// The household's rigid expenditure items, latest period first, a page at a time.
    ///
    /// 按期间倒序分页列出该户的刚性支出。
    list: (list_expenditures, "list_household_expenditures", "/households/{id}/expenditures", "A page of expenditure items. 一页刚性支出。"),
    /// Add rigid expenditure · 新增刚性支出
    ///
    /// Adds 1–200 items in one transaction (all or none). Requires the household's `If-Match`.
    ///
    /// 批量新增 1–200 条刚性支出，同一事务。须携带户档案的 If-Match。
    add: (add_expenditures, "add_household_expenditures", AddExpenditures),
    /// Update a rigid expenditure item · 修改刚性支出
    ///
    /// Requires the household's `If-Match`.
    ///
    /// 修改一条刚性支出，须携带户档案的 If-Match。
    update: (update_expenditure, "update_household_expenditure", "/households/{id}/expenditures/{item_id}", UpdateExpenditure),
    /// Delete a rigid expenditure item · 删除刚性支出
    ///
    /// Requires the household's `If-Match`.
    ///
    /// 删除一条刚性支出，须携带户档案的 If-Match。
    delete: (delete_expenditure, "delete_household_expenditure"),
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_incomes)
        .service(add_incomes)
        .service(update_income)
        .service(delete_income)
        .service(list_expenditures)
        .service(add_expenditures)
        .service(update_expenditure)
        .service(delete_expenditure);
}
