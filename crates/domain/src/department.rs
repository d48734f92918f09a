//! Partner departments (部门) that lead or share the programme's measures (DESIGN §2).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! department_codes {
    ($($variant:ident = $code:literal, $zh:literal, $en:literal;)*) => {
        /// The kind of a partner department: which government function it is.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum DepartmentCode { $($variant,)* }

        impl DepartmentCode {
            pub const ALL: &'static [DepartmentCode] = &[$(DepartmentCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(DepartmentCode::$variant => $code,)* }
            }

            /// The usual Chinese short name, as the policy text writes it.
            pub fn name_zh(self) -> &'static str {
                match self { $(DepartmentCode::$variant => $zh,)* }
            }

            pub fn name_en(self) -> &'static str {
                match self { $(DepartmentCode::$variant => $en,)* }
            }
        }

        impl FromStr for DepartmentCode {
            type Err = UnknownDepartmentCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($code => Ok(DepartmentCode::$variant),)* _ => Err(UnknownDepartmentCode) }
            }
        }
    };
}

department_codes! {
    Hrss = "hrss", "人社", "Human Resources and Social Security";
    CivilAffairs = "civil_affairs", "民政", "Civil Affairs";
    PublicSecurity = "public_security", "公安", "Public Security";
    Housing = "housing", "住建", "Housing and Urban-Rural Development";
    MarketRegulation = "market_regulation", "市场监管", "Market Regulation";
    Tax = "tax", "税务", "Taxation";
    MedicalInsurance = "medical_insurance", "医保", "Medical Insurance";
    Education = "education", "教体", "Education and Sports";
    Finance = "finance", "财政", "Finance";
    Justice = "justice", "司法", "Justice";
    Health = "health", "卫健", "Health";
    DisabledPersons = "disabled_persons", "残联", "Disabled Persons' Federation";
    RedCross = "red_cross", "红十字会", "Red Cross Society";
    Charity = "charity", "慈善协会", "Charity Federation";
    CivilizationOffice = "civilization_office", "文明办", "Civilization Office";
    Union = "union", "总工会", "Federation of Trade Unions";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a known department code")]
pub struct UnknownDepartmentCode;

impl fmt::Display for DepartmentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        assert_eq!(DepartmentCode::ALL.len(), 16);
        for &c in DepartmentCode::ALL {
            assert_eq!(c.as_str().parse::<DepartmentCode>(), Ok(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert_eq!(
            "police".parse::<DepartmentCode>(),
            Err(UnknownDepartmentCode)
        );
    }
}
