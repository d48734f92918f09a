//! The examples of the contract: request bodies the API accepts. Ids of records that must exist
//! are placeholders, documented in the API's description; replace them with ids from your server
//! (`GET /api/v1/organisations`, `GET /api/v1/enterprises`).

use serde_json::{json, Value};

/// Placeholder id of a grassroots union (基层工会) in the caller's scope.
pub const GRASSROOTS_UNION_ID: &str = "01900000-0000-7000-8000-00000000a001";
/// Placeholder id of an enterprise in the caller's region.
pub const ENTERPRISE_ID: &str = "01900000-0000-7000-8000-00000000e001";
/// A valid identity number (GB 11643) of a man born on 1980-01-01 in 西乡县.
pub const WORKER_ID: &str = "610724198001011238";
/// A valid identity number of a woman born on 1982-03-05.
pub const SPOUSE_ID: &str = "610724198203051625";
/// A valid identity number of a boy born on 2010-09-15.
pub const CHILD_ID: &str = "610724201009152013";
/// A valid identity number of a woman born on 1955-06-20.
pub const PARENT_ID: &str = "61072419550620121X";

/// A new household file: a worker laid off, with a labour dispute on file, a spouse with a serious
/// illness who pays residents' pension contributions, a child at school.
pub fn create_household() -> Value {
    json!({
        "organisation_id": GRASSROOTS_UNION_ID,
        "region_code": "610724",
        "address": "西乡县城关镇东大街12号",
        "enterprise_id": ENTERPRISE_ID,
        "housing_type": "private_rental",
        "housing_area_m2": 56.5,
        "bank_name": "中国农业银行西乡县支行",
        "bank_account": "6228480000000000012",
        "main_cause": 6,
        "secondary_causes": [3, 9],
        "legal_dispute": true,
        "members": [
            {"relation": "worker", "name": "张三", "national_id": WORKER_ID, "work_status": "unemployed",
             "laid_off": true},
            {"relation": "spouse", "name": "李四", "national_id": SPOUSE_ID, "work_status": "unable_to_work",
             "residents_pension": true, "health": {"status": "serious_illness", "illness": "尿毒症"}},
            {"relation": "child", "name": "张小明", "national_id": CHILD_ID, "work_status": "student",
             "schooling": {"level": "junior_secondary", "school": "西乡县第一中学", "year": 2}}
        ],
        "incomes": [{"member_index": 0, "month": "2026-10", "kind": "unemployment_benefit", "amount_fen": 150000}],
        "expenditures": [{"member_index": 1, "kind": "medical", "amount_fen": 2400000, "start_month": "2026-01", "end_month": "2026-10",
                          "evidence": "西乡县人民医院票据 2026-0012"}]
    })
}

/// A member added to an existing file: a retired parent who needs long-term care after a stroke.
pub fn new_member() -> Value {
    json!({"relation": "parent", "name": "王五", "national_id": PARENT_ID, "work_status": "retired",
           "health": {"status": "chronic_illness", "illness": "脑梗死后遗症", "long_term_care": true}})
}

/// Placeholder id of a county federation (县总工会) in the caller's scope.
pub const COUNTY_FEDERATION_ID: &str = "01900000-0000-7000-8000-00000000c001";
/// Placeholder id of a partner department in the caller's region.
pub const DEPARTMENT_ID: &str = "01900000-0000-7000-8000-00000000d001";
/// A valid unified social credit code (GB 32100) of an enterprise in 西乡县.
pub const CREDIT_CODE: &str = "91610724MA6YQ00098";
/// Placeholder id of a household file in the caller's scope.
pub const HOUSEHOLD_ID: &str = "01900000-0000-7000-8000-00000000b001";
/// Placeholder id of a stored assessment of that household.
pub const ASSESSMENT_ID: &str = "01900000-0000-7000-8000-00000000f001";
/// Placeholder id of a member of that household (its worker).
pub const MEMBER_ID: &str = "01900000-0000-7000-8000-00000000b101";
/// Placeholder id of a dual-contact assignment in the caller's scope.
pub const CONTACT_ID: &str = "01900000-0000-7000-8000-00000000a101";
