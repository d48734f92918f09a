//! The household file (建档立卡, DESIGN §2): members, income, rigid expenditure, assets and
//! hardship causes, with the rules a file must satisfy whatever its category.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $s)] $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s,)* }
            }
        }

        impl FromStr for $name {
            type Err = crate::access::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($s => Ok($name::$variant),)* _ => Err(crate::access::UnknownName) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_enum! {
    /// How a member is related to the worker (the worker is the head of the file).
    Relation {
        Worker = "worker",
        Spouse = "spouse",
        Child = "child",
        Parent = "parent",
        Sibling = "sibling",
        Grandchild = "grandchild",
        OtherDependant = "other_dependant",
    }
}

code_enum! {
    WorkStatus {
        Employed = "employed",
        SelfEmployed = "self_employed",
        Unemployed = "unemployed",
        Retired = "retired",
        UnableToWork = "unable_to_work",
        Student = "student",
        Preschool = "preschool",
    }
}

code_enum! {
    /// Health (sensitive; stored encrypted).
    HealthStatus {
        Healthy = "healthy",
        ChronicIllness = "chronic_illness",
        SeriousIllness = "serious_illness",
        Disabled = "disabled",
    }
}

code_enum! {
    /// Disability type as the disability certificate (残疾人证) records it.
    DisabilityType {
        Visual = "visual",
        Hearing = "hearing",
        Speech = "speech",
        Physical = "physical",
        Intellectual = "intellectual",
        Mental = "mental",
        Multiple = "multiple",
    }
}

code_enum! {
    SchoolingLevel {
        Preschool = "preschool",
        Primary = "primary",
        JuniorSecondary = "junior_secondary",
        SeniorSecondary = "senior_secondary",
        Vocational = "vocational",
        Undergraduate = "undergraduate",
        Postgraduate = "postgraduate",
    }
}

code_enum! {
    HousingType {
        Owned = "owned",
        PublicRental = "public_rental",
        PrivateRental = "private_rental",
        Employer = "employer",
        Relatives = "relatives",
        None = "none",
    }
}

code_enum! {
    /// Kinds of income. Which kinds count towards assessment income is policy (issue of the rules).
    IncomeKind {
        Wage = "wage",
        Business = "business",
        Property = "property",
        Transfer = "transfer",
        Pension = "pension",
        ResidentsBasicPension = "residents_basic_pension",
        UnemploymentBenefit = "unemployment_benefit",
        Dibao = "dibao",
        SpecialHardship = "special_hardship",
        Award = "award",
        Scholarship = "scholarship",
        Other = "other",
    }
}

code_enum! {
    /// Rigid expenditure (刚性支出).
    ExpenditureKind {
        Medical = "medical",
        Disability = "disability",
        Schooling = "schooling",
        Housing = "housing",
        JobSeeking = "job_seeking",
        LongTermCare = "long_term_care",
        Other = "other",
    }
}

code_enum! {
    HouseholdStatus {
        Draft = "draft",
        Filed = "filed",
        Monitoring = "monitoring",
        Closed = "closed",
        Withdrawn = "withdrawn",
        Rejected = "rejected",
    }
}

code_enum! {
    Category {
        Deep = "deep",
        Relative = "relative",
        Accident = "accident",
    }
}

impl HouseholdStatus {
    /// Whether the household still holds its members (one active household per person).
    pub fn is_active(self) -> bool {
        !matches!(
            self,
            HouseholdStatus::Closed | HouseholdStatus::Withdrawn | HouseholdStatus::Rejected
        )
    }
}

/// The national list of hardship causes (致困原因).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct HardshipCause(u8);

impl HardshipCause {
    pub const NAMES: [(&'static str, &'static str); 10] = [
        ("无劳动能力", "no capacity to work"),
        ("有劳动能力未就业", "able to work but not employed"),
        ("下岗失业", "laid off or unemployed"),
        ("未参加社会保险", "not covered by social insurance"),
        ("社保待遇未落实", "social-insurance benefits not delivered"),
        ("患重特大疾病", "serious or major illness"),
        ("自然灾害", "natural disaster"),
        ("意外事故", "accident"),
        ("子女上学", "children's schooling"),
        ("其他", "other"),
    ];

    pub fn new(code: u8) -> Option<Self> {
        (1..=10).contains(&code).then_some(HardshipCause(code))
    }

    pub fn code(self) -> u8 {
        self.0
    }

    pub fn name_zh(self) -> &'static str {
        Self::NAMES[usize::from(self.0 - 1)].0
    }

    pub fn name_en(self) -> &'static str {
        Self::NAMES[usize::from(self.0 - 1)].1
    }
}

impl TryFrom<u8> for HardshipCause {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        HardshipCause::new(v).ok_or_else(|| format!("{v} is not a hardship cause (1–10)"))
    }
}

impl From<HardshipCause> for u8 {
    fn from(c: HardshipCause) -> u8 {
        c.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CauseError {
    #[error("{0} is not a hardship cause (1–10)")]
    Unknown(u8),
    #[error("at most three secondary causes")]
    TooMany,
    #[error("a secondary cause repeats the main cause or another secondary cause")]
    Repeated,
}

/// Checks one main and up to three distinct secondary causes.
pub fn check_causes(
    main: u8,
    secondary: &[u8],
) -> Result<(HardshipCause, Vec<HardshipCause>), CauseError> {
    let main = HardshipCause::new(main).ok_or(CauseError::Unknown(main))?;
    if secondary.len() > 3 {
        return Err(CauseError::TooMany);
    }
    let mut out = Vec::with_capacity(secondary.len());
    for &s in secondary {
        let c = HardshipCause::new(s).ok_or(CauseError::Unknown(s))?;
        if c == main || out.contains(&c) {
            return Err(CauseError::Repeated);
        }
        out.push(c);
    }
    Ok((main, out))
}

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MonthError {
    #[error("a month is written YYYY-MM")]
    Format,
    #[error("the month is in the future")]
    Future,
}

impl Month {
    pub fn parse(s: &str, today: NaiveDate) -> Result<Month, MonthError> {
        let (y, m) = s.split_once('-').ok_or(MonthError::Format)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(MonthError::Format);
        }
        let year: i32 = y.parse().map_err(|_| MonthError::Format)?;
        let month: u32 = m.parse().map_err(|_| MonthError::Format)?;
        if !(1..=12).contains(&month) || year < 1990 {
            return Err(MonthError::Format);
        }
        let parsed = Month { year, month };
        if parsed > Month::of(today) {
            return Err(MonthError::Future);
        }
        Ok(parsed)
    }

    pub fn of(d: NaiveDate) -> Month {
        Month {
            year: d.year(),
            month: d.month(),
        }
    }

    /// `YYYYMM` as an integer, the stored form (sorts and compares like the month).
    pub fn key(self) -> i32 {
        self.year * 100 + self.month as i32
    }

    pub fn from_key(k: i32) -> Option<Month> {
        let m = Month {
            year: k / 100,
            month: (k % 100) as u32,
        };
        (1..=12).contains(&m.month).then_some(m)
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Amounts of money in fen (分): integers, never negative.
pub fn check_fen(amount: i64) -> Result<i64, &'static str> {
    if amount < 0 {
        Err("amounts are never negative")
    } else if amount > 100_000_000_000 {
        Err("amount out of range")
    } else {
        Ok(amount)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemberRuleError {
    #[error("a household has exactly one worker")]
    WorkerCount,
    #[error("a member left out of the household needs a reason")]
    ExclusionReason,
    #[error("disability type and grade go with the disabled health status")]
    Disability,
    #[error("disability grades are 1 to 4")]
    DisabilityGrade,
}

/// The facts of one member that the member rules look at.
#[derive(Debug, Clone, Copy)]
pub struct MemberFacts {
    pub relation: Relation,
    pub included: bool,
    pub has_exclusion_reason: bool,
    pub health: Option<HealthStatus>,
    pub disability_type: bool,
    pub disability_grade: Option<u8>,
}

/// Rules of one member on their own.
pub fn check_member(m: &MemberFacts) -> Result<(), MemberRuleError> {
    if !m.included && !m.has_exclusion_reason {
        return Err(MemberRuleError::ExclusionReason);
    }
    if let Some(g) = m.disability_grade {
        if !(1..=4).contains(&g) {
            return Err(MemberRuleError::DisabilityGrade);
        }
    }
    let disabled = m.health == Some(HealthStatus::Disabled);
    if !disabled && (m.disability_type || m.disability_grade.is_some()) {
        return Err(MemberRuleError::Disability);
    }
    Ok(())
}

/// Rules across the members of one household: exactly one worker.
pub fn check_members(relations: &[Relation]) -> Result<(), MemberRuleError> {
    if relations.iter().filter(|r| **r == Relation::Worker).count() != 1 {
        return Err(MemberRuleError::WorkerCount);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes() {
        assert!(check_causes(6, &[9, 2]).is_ok());
        assert_eq!(check_causes(11, &[]), Err(CauseError::Unknown(11)));
        assert_eq!(check_causes(0, &[]), Err(CauseError::Unknown(0)));
        assert_eq!(check_causes(6, &[1, 2, 3, 4]), Err(CauseError::TooMany));
        assert_eq!(check_causes(6, &[6]), Err(CauseError::Repeated));
        assert_eq!(check_causes(6, &[2, 2]), Err(CauseError::Repeated));
        assert_eq!(HardshipCause::new(9).unwrap().name_zh(), "子女上学");
    }

    #[test]
    fn months() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert_eq!(Month::parse("2026-11", today).unwrap().key(), 202611);
        assert_eq!(Month::parse("2026-12", today), Err(MonthError::Future));
        assert_eq!(Month::parse("2026-13", today), Err(MonthError::Format));
        assert_eq!(Month::parse("26-01", today), Err(MonthError::Format));
        assert_eq!(
            Month::from_key(202601).unwrap().prev().to_string(),
            "2025-12"
        );
    }

    #[test]
    fn member_rules() {
        use Relation::*;
        assert!(check_members(&[Worker, Spouse, Child]).is_ok());
        assert_eq!(check_members(&[Spouse]), Err(MemberRuleError::WorkerCount));
        assert_eq!(
            check_members(&[Worker, Worker]),
            Err(MemberRuleError::WorkerCount)
        );
        let base = MemberFacts {
            relation: Child,
            included: true,
            has_exclusion_reason: false,
            health: None,
            disability_type: false,
            disability_grade: None,
        };
        assert!(check_member(&base).is_ok());
        assert_eq!(
            check_member(&MemberFacts {
                included: false,
                ..base
            }),
            Err(MemberRuleError::ExclusionReason)
        );
        assert_eq!(
            check_member(&MemberFacts {
                disability_grade: Some(2),
                ..base
            }),
            Err(MemberRuleError::Disability)
        );
        assert_eq!(
            check_member(&MemberFacts {
                health: Some(HealthStatus::Disabled),
                disability_grade: Some(5),
                ..base
            }),
            Err(MemberRuleError::DisabilityGrade)
        );
        assert_eq!(check_fen(-1), Err("amounts are never negative"));
    }
}
