//! What the rules look at: a self-contained snapshot of a household on a date. Stored with each
//! decision, so that the decision can be replayed later and must come out the same.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::household::{ExpenditureKind, HealthStatus, IncomeKind, Relation, WorkStatus};
use crate::national_id::Sex;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSnap {
    pub id: String,
    pub relation: Relation,
    pub included: bool,
    pub birth_date: NaiveDate,
    #[serde(with = "sex_text")]
    pub sex: Sex,
    pub work_status: WorkStatus,
    pub health: Option<HealthStatus>,
}

mod sex_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::national_id::Sex;

    pub fn serialize<S: Serializer>(s: &Sex, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Sex, D::Error> {
        let s = String::deserialize(d)?;
        Sex::parse(&s).ok_or_else(|| serde::de::Error::custom("male or female"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomeSnap {
    pub member_id: Option<String>,
    /// YYYYMM.
    pub month: i32,
    pub kind: IncomeKind,
    pub amount_fen: i64,
    pub verified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpenditureSnap {
    pub kind: ExpenditureKind,
    pub amount_fen: i64,
    /// YYYYMM, inclusive.
    pub start_month: i32,
    pub end_month: i32,
    pub verified: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AssetsSnap {
    pub homes_count: i64,
    pub homes_area_dm2: i64,
    pub vehicles_count: i64,
    pub vehicle_disability_exempt: bool,
    pub controlling_shareholder: bool,
    pub high_fee_schooling: bool,
    pub refuses_cooperation: bool,
}

/// A sudden event (意外) and what it cost the household after compensation and insurance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccidentSnap {
    pub description: String,
    pub date: NaiveDate,
    pub costs_fen: i64,
}

/// Help the household receives (for the safety-net exit, 解困).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AssistanceSnap {
    pub dibao: bool,
    pub special_hardship: bool,
    pub union_help: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub household_id: String,
    pub region_code: String,
    pub assessment_date: NaiveDate,
    pub members: Vec<MemberSnap>,
    pub incomes: Vec<IncomeSnap>,
    pub expenditures: Vec<ExpenditureSnap>,
    pub assets: AssetsSnap,
    pub main_cause: u8,
    pub secondary_causes: Vec<u8>,
    /// Causes marked resolved (for exit).
    pub resolved_causes: Vec<u8>,
    pub single_parent: bool,
    pub disability_household: bool,
    pub accident: Option<AccidentSnap>,
    pub assistance: AssistanceSnap,
    /// Facts departments verified (vehicles, homes, businesses, assistance status): they replace
    /// the declared figures in the rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verified: Vec<crate::verification::VerifiedSnap>,
}
