//! From what a caller sent to what the store keeps: each field parsed into its domain value, every
//! problem collected with the field it concerns, and the store's refusals told as fields.

use chrono::NaiveDate;
use jiekun_domain::household::{
    area_hundredths, check_causes, check_fen, check_vehicle_exemption, AreaError, AssetRuleError,
    CauseError, HealthStatus, MemberRuleError, Month, MonthError, Relation, ResolvedCauseError,
};
use jiekun_domain::{DepartmentCode, NationalIdError};
use jiekun_store::household_file::FileRuleError;
use jiekun_store::households::{
    ExpenditureInput, FileError, HouseholdInput, IncomeInput, MemberInput,
};

use super::dto::{Assets, CreateHousehold};
use super::members::parse_member;
use super::money_dto::{ExpenditureIn, IncomeIn};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::fields::Fields;

pub(super) fn id_error(field: &str, e: NationalIdError) -> FieldError {
    let (code, zh) = match e {
        NationalIdError::Length => ("invalid_length", "公民身份号码应为 18 位".to_owned()),
        NationalIdError::Character => (
            "invalid_character",
            "前 17 位应为数字，末位为数字或 X".to_owned(),
        ),
        NationalIdError::Region => ("invalid_region", "前两位不是有效的省级代码".to_owned()),
        NationalIdError::BirthDate => (
            "invalid_birth_date",
            "第 7–14 位不是有效的出生日期".to_owned(),
        ),
        NationalIdError::FutureBirthDate => {
            ("future_birth_date", "出生日期不能晚于今天".to_owned())
        }
        NationalIdError::CheckCharacter { expected } => (
            "invalid_check_character",
            format!("校验码错误（ISO 7064 MOD 11-2），应为 {expected}"),
        ),
    };
    FieldError::new(field, code, e.to_string(), zh)
}

pub(super) fn member_rule_error(at: &str, e: MemberRuleError) -> FieldError {
    let (field, code, zh) = match e {
        MemberRuleError::ExclusionReason => {
            ("exclusion_reason", "required", "不计入家庭人口时须说明原因")
        }
        MemberRuleError::Disability => (
            "health.disability_type",
            "not_allowed",
            "仅残疾人填写残疾类别和等级",
        ),
        MemberRuleError::DisabilityGrade => (
            "health.disability_grade",
            "out_of_range",
            "残疾等级为 1–4 级",
        ),
        MemberRuleError::WorkerCount => ("relation", "one_worker", "每户有且仅有一名职工本人"),
    };
    FieldError::new(format!("{at}.{field}"), code, e.to_string(), zh)
}

/// A month `YYYY-MM`, not after the month of `latest`.
pub(super) fn month(f: &mut Fields, field: &str, value: &str, latest: NaiveDate) -> Option<Month> {
    f.check(Month::parse(value, latest).map_err(|e| match e {
        MonthError::Format => FieldError::new(
            field,
            "invalid_format",
            "write the month as YYYY-MM",
            "月份格式应为 YYYY-MM",
        ),
        MonthError::Future => FieldError::new(
            field,
            "future_month",
            "the month is in the future",
            "月份不能晚于本月",
        ),
    }))
}

/// An amount in fen within the accepted range.
pub(super) fn fen(f: &mut Fields, field: &str, amount: i64) -> Option<i64> {
    f.check(check_fen(amount).map_err(|m| {
        let zh = if amount < 0 {
            "金额以分为单位，不能为负数".to_owned()
        } else {
            format!("金额超出允许范围：{m}")
        };
        FieldError::new(field, "out_of_range", m, zh)
    }))
}

/// A floor area in m², at most two decimals, as hundredths.
pub(super) fn area(f: &mut Fields, field: &str, m2: f64) -> Option<i64> {
    f.check(area_hundredths(m2).map_err(|e| match e {
        AreaError::OutOfRange => FieldError::new(
            field,
            "out_of_range",
            e.to_string(),
            "面积应在 0 到 100000 平方米之间",
        ),
        AreaError::Precision => {
            FieldError::new(field, "too_precise", e.to_string(), "面积最多保留两位小数")
        }
    }))
}

pub(super) fn cause_error(e: CauseError, main: u8) -> FieldError {
    let (field, code, zh) = match e {
        CauseError::Unknown(c) if c == main => (
            "main_cause",
            "unknown_cause",
            "致困原因应为全国统一代码 1–10",
        ),
        CauseError::Unknown(_) => (
            "secondary_causes",
            "unknown_cause",
            "致困原因应为全国统一代码 1–10",
        ),
        CauseError::TooMany => ("secondary_causes", "too_many", "次要致困原因最多三项"),
        CauseError::Repeated => (
            "secondary_causes",
            "repeated",
            "次要致困原因不能重复，也不能与主要原因相同",
        ),
    };
    FieldError::new(field, code, e.to_string(), zh)
}

fn causes(f: &mut Fields, main: u8, secondary: &[u8]) -> Option<String> {
    let (_, s) = f.check(check_causes(main, secondary).map_err(|e| cause_error(e, main)))?;
    Some(
        s.iter()
            .map(|c| c.code().to_string())
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// `declared`, or the code of the department that reported the figure.
pub(super) fn source(f: &mut Fields, field: &str, s: Option<&str>) -> Option<String> {
    match s.unwrap_or("declared") {
        "declared" => Some("declared".into()),
        other if other.parse::<DepartmentCode>().is_ok() => Some(other.to_owned()),
        other => {
            f.push(FieldError::new(
                field,
                "invalid_value",
                format!("{other} is neither `declared` nor a department code"),
                format!("{other} 既不是 declared，也不是部门代码"),
            ));
            None
        }
    }
}

pub(super) fn bank_account(f: &mut Fields, v: Option<&str>) -> Option<Option<String>> {
    match v.map(|s| s.replace([' ', '-'], "")) {
        None => Some(None),
        Some(a) if (8..=32).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_digit()) => {
            Some(Some(a))
        }
        Some(_) => {
            f.push(FieldError::new(
                "bank_account",
                "invalid_format",
                "8–32 digits",
                "银行账号应为 8–32 位数字",
            ));
            None
        }
    }
}

pub(super) fn asset_error(e: AssetRuleError) -> FieldError {
    let zh = match e {
        AssetRuleError::ExemptionWithoutDisabledMember => {
            "残疾人代步车豁免仅适用于有残疾成员的家庭"
        }
        AssetRuleError::ExemptionWithoutVehicle => "没有机动车时不能申请代步车豁免",
    };
    FieldError::new(
        "assets.vehicle_disability_exempt",
        "not_allowed",
        e.to_string(),
        zh,
    )
}

/// Homes count, homes area (hundredths of m²), vehicles count.
pub(super) fn assets(f: &mut Fields, a: &Assets) -> Option<(i64, i64, i64)> {
    let homes_area = area(f, "assets.homes_area_m2", a.homes_area_m2);
    Some((a.homes_count, homes_area?, a.vehicles_count))
}

pub(super) fn income(
    f: &mut Fields,
    at: &str,
    i: &IncomeIn,
    today: NaiveDate,
) -> Option<IncomeInput> {
    let month = month(f, &format!("{at}.month"), &i.month, today);
    let amount = fen(f, &format!("{at}.amount_fen"), i.amount_fen);
    let source = source(f, &format!("{at}.source"), i.source.as_deref());
    let note = f.optional_text(&format!("{at}.note"), i.note.as_deref(), 200);
    Some(IncomeInput {
        member_id: i.member_id.clone(),
        month: i64::from(month?.key()),
        kind: i.kind.as_str().to_owned(),
        source: source?,
        amount_fen: amount?,
        verified: i.verified,
        note: note?,
    })
}

pub(super) fn expenditure(
    f: &mut Fields,
    at: &str,
    e: &ExpenditureIn,
    today: NaiveDate,
) -> Option<ExpenditureInput> {
    let start = month(f, &format!("{at}.start_month"), &e.start_month, today);
    // The end of a period may be later this year (a school year, a treatment plan).
    let end = month(
        f,
        &format!("{at}.end_month"),
        &e.end_month,
        today + chrono::TimeDelta::days(366),
    );
    if let (Some(s), Some(en)) = (start, end) {
        if en < s {
            f.push(FieldError::new(
                format!("{at}.end_month"),
                "out_of_range",
                "not before start_month",
                "截止月份不能早于起始月份",
            ));
        }
    }
    let amount = fen(f, &format!("{at}.amount_fen"), e.amount_fen);
    let description = f.optional_text(&format!("{at}.description"), e.description.as_deref(), 200);
    let evidence = f.optional_text(&format!("{at}.evidence"), e.evidence.as_deref(), 200);
    Some(ExpenditureInput {
        member_id: e.member_id.clone(),
        kind: e.kind.as_str().to_owned(),
        amount_fen: amount?,
        start_month: i64::from(start?.key()),
        end_month: i64::from(end?.key()),
        description: description?,
        evidence: evidence?,
        verified: e.verified,
    })
}

pub(super) type ParsedFile = (
    HouseholdInput,
    Vec<MemberInput>,
    Vec<(Option<usize>, IncomeInput)>,
    Vec<(Option<usize>, ExpenditureInput)>,
);

fn member_index(f: &mut Fields, at: &str, index: Option<usize>, members: usize) {
    if index.is_some_and(|m| m >= members) {
        f.push(FieldError::new(
            format!("{at}.member_index"),
            "unknown_reference",
            "no member at this position",
            "该序号没有对应成员",
        ));
    }
}

fn lost() -> ApiError {
    ApiError::internal("field parsing lost a value")
}

fn all<T>(v: Vec<Option<T>>) -> ApiResult<Vec<T>> {
    v.into_iter().collect::<Option<Vec<_>>>().ok_or_else(lost)
}

impl CreateHousehold {
    /// Every field parsed, or a 422 with every problem found.
    pub(super) fn parse(&self, today: NaiveDate) -> ApiResult<ParsedFile> {
        let mut f = Fields::default();
        let region = f.region("region_code", &self.region_code);
        let address = f.name("address", &self.address, 200);
        let housing_area = self
            .housing_area_m2
            .map(|a| area(&mut f, "housing_area_m2", a));
        let bank_name = f.optional_text("bank_name", self.bank_name.as_deref(), 100);
        let bank_account = bank_account(&mut f, self.bank_account.as_deref());
        let causes = causes(&mut f, self.main_cause, &self.secondary_causes);
        let assets = assets(&mut f, &self.assets);
        let workers = self
            .members
            .iter()
            .filter(|m| m.relation == Relation::Worker)
            .count();
        if self.members.is_empty() {
            f.push(FieldError::new(
                "members",
                "required",
                "a household has at least the worker",
                "至少包含职工本人",
            ));
        } else if workers != 1 {
            f.push(FieldError::new(
                "members",
                "one_worker",
                "a household has exactly one worker",
                "每户有且仅有一名职工本人",
            ));
        }
        let disabled = self.members.iter().any(|m| {
            m.health
                .as_ref()
                .is_some_and(|h| h.status == HealthStatus::Disabled)
        });
        if let Err(e) = check_vehicle_exemption(
            self.assets.vehicle_disability_exempt,
            self.assets.vehicles_count,
            disabled,
        ) {
            f.push(asset_error(e));
        }
        let members: Vec<_> = self
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| parse_member(&mut f, &format!("members[{i}]"), m, today))
            .collect();
        let mut incomes = Vec::new();
        for (i, r) in self.incomes.iter().enumerate() {
            let at = format!("incomes[{i}]");
            if r.member_id.is_some() {
                f.push(FieldError::new(
                    format!("{at}.member_id"),
                    "not_allowed",
                    "use member_index when creating a household",
                    "新建档案时请用 member_index",
                ));
            }
            member_index(&mut f, &at, r.member_index, self.members.len());
            incomes.push(income(&mut f, &at, r, today).map(|p| (r.member_index, p)));
        }
        let mut spending = Vec::new();
        for (i, e) in self.expenditures.iter().enumerate() {
            let at = format!("expenditures[{i}]");
            member_index(&mut f, &at, e.member_index, self.members.len());
            spending.push(expenditure(&mut f, &at, e, today).map(|p| (e.member_index, p)));
        }
        f.finish()?;
        let (homes_count, homes_area_dm2, vehicles_count) = assets.ok_or_else(lost)?;
        let input = HouseholdInput {
            organisation_id: self.organisation_id.clone(),
            region_code: region.ok_or_else(lost)?.to_string(),
            address: address.ok_or_else(lost)?,
            enterprise_id: self.enterprise_id.clone(),
            housing_type: self.housing_type.as_str().to_owned(),
            housing_area_dm2: housing_area.flatten(),
            bank_name: bank_name.ok_or_else(lost)?,
            bank_account: bank_account.ok_or_else(lost)?,
            main_cause: i64::from(self.main_cause),
            secondary_causes: causes.ok_or_else(lost)?,
            single_parent: self.single_parent,
            disability_household: self.disability_household,
            zero_employment: self.zero_employment,
            homes_count,
            homes_area_dm2,
            vehicles_count,
            vehicle_disability_exempt: self.assets.vehicle_disability_exempt,
            controlling_shareholder: self.assets.controlling_shareholder,
            high_fee_schooling: self.assets.high_fee_schooling,
            refuses_cooperation: self.assets.refuses_cooperation,
            legal_dispute: self.legal_dispute,
        };
        Ok((input, all(members)?, all(incomes)?, all(spending)?))
    }
}

fn field(field: String, code: &str, en: String, zh: &str) -> ApiError {
    ApiError::validation(vec![FieldError::new(field, code, en, zh)])
}

/// A refusal of one of the file's rules, told as the field it concerns.
/// `items` says where member references came from: `members` (a new file), `member` (the member
/// in the path), `records` or `items` (a list in the body).
pub(super) fn rule_error(e: FileRuleError, items: &str) -> ApiError {
    match e {
        FileRuleError::File(e) => file_error(e, items),
        FileRuleError::Causes(e, main) => ApiError::validation(vec![cause_error(e, main)]),
        FileRuleError::ResolvedCauses(ResolvedCauseError::NotACause(c)) => field(
            "resolved_causes".into(),
            "not_a_cause",
            format!("{c} is not one of this household's causes"),
            "只能标记本户的致困原因为已消除",
        ),
        FileRuleError::Assets(AssetRuleError::ExemptionWithoutDisabledMember)
            if items == "member" =>
        {
            field(
                "assets.vehicle_disability_exempt".into(),
                "not_allowed",
                "the household's vehicle is exempted as a disabled member's mobility vehicle, and \
                 this change would leave no disabled member: clear the exemption first"
                    .into(),
                "该户机动车按残疾人代步车豁免，此修改后将没有残疾成员，请先取消代步车豁免",
            )
        }
        FileRuleError::Assets(e) => ApiError::validation(vec![asset_error(e)]),
    }
}

/// A refused change to a file, told as the field it concerns.
pub(crate) fn file_error(e: FileError, items: &str) -> ApiError {
    match e {
        FileError::Store(e) => e.into(),
        FileError::UnknownOrganisation => field(
            "organisation_id".into(),
            "unknown_reference",
            "no such grassroots union in your scope".into(),
            "您的范围内没有该基层工会",
        ),
        FileError::NotAGrassrootsUnion => field(
            "organisation_id".into(),
            "not_a_grassroots_union",
            "households belong to grassroots unions".into(),
            "档案须由基层工会建立",
        ),
        FileError::RegionOutsideUnion => field(
            "region_code".into(),
            "outside_union_region",
            "the region lies outside the union's region".into(),
            "居住地不在该基层工会辖区内",
        ),
        FileError::UnknownEnterprise => field(
            "enterprise_id".into(),
            "unknown_reference",
            "no such enterprise in your region".into(),
            "您的辖区内没有该企业",
        ),
        FileError::UnknownMember { .. } if items == "member" => {
            ApiError::not_found("member", "家庭成员")
        }
        FileError::UnknownMember { index } => {
            let at = match items {
                "members" => format!("members[{index}]"),
                other => format!("{other}[{index}].member_id"),
            };
            field(
                at,
                "unknown_reference",
                "no such member in this household".into(),
                "该户没有此成员",
            )
        }
        FileError::DuplicatePerson { first, second } => field(
            format!("members[{second}].national_id"),
            "duplicate_in_household",
            format!("the same person as members[{first}]"),
            &format!("与 members[{first}] 是同一人"),
        ),
        FileError::PeriodReversed => field(
            "end_month".into(),
            "out_of_range",
            "not before start_month".into(),
            "截止月份不能早于起始月份",
        ),
        FileError::TooManyItems { max } => field(
            items.into(),
            "too_many",
            format!("a household keeps at most {max} of these; correct or remove old ones first"),
            &format!("每户最多保存 {max} 条，请先更正或删除旧记录"),
        ),
        FileError::WorkerCount => field(
            "members".into(),
            "one_worker",
            "a household has exactly one worker".into(),
            "每户有且仅有一名职工本人",
        ),
        FileError::PersonAlreadyFiled { index, existing } => {
            let at = if items == "member" {
                "national_id".to_owned()
            } else {
                format!("members[{index}].national_id")
            };
            let (en, zh) = match &existing {
                Some(id) => (
                    format!("this person is already in the active household {id}"),
                    format!("此人已在有效档案 {id} 中"),
                ),
                None => (
                    "this person is already in an active household elsewhere".to_owned(),
                    "此人已在其他有效档案中".to_owned(),
                ),
            };
            ApiError::new(ErrorCode::AlreadyExists, en.clone(), zh.clone())
                .with_field(FieldError::new(at, "already_filed", en, zh))
        }
    }
}
