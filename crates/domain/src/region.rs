//! GB/T 2260 administrative division codes (行政区划代码): six digits, `PPCCDD` —
//! province, prefecture-level city, county-level division.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Province-level prefixes in force under GB/T 2260 (including 71 台湾, 81 香港, 82 澳门).
const PROVINCES: &[u8] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

/// A six-digit GB/T 2260 region code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode([u8; 6]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegionCodeError {
    #[error("a region code has exactly six digits")]
    Format,
    #[error("the first two digits are not a province-level division")]
    UnknownProvince,
    #[error("a county-level code cannot sit under a prefecture code of 00")]
    Structure,
}

/// The level a code names: `PP0000`, `PPCC00` or `PPCCDD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RegionLevel {
    Province,
    Prefecture,
    County,
}

impl RegionCode {
    pub fn parse(s: &str) -> Result<Self, RegionCodeError> {
        let bytes = s.as_bytes();
        if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(RegionCodeError::Format);
        }
        let mut digits = [0u8; 6];
        digits.copy_from_slice(bytes);
        let code = RegionCode(digits);
        if !PROVINCES.contains(&code.pair(0)) {
            return Err(RegionCodeError::UnknownProvince);
        }
        // Municipalities use 01/02 for the prefecture pair; a county pair under "00" does not exist.
        if code.pair(2) == 0 && code.pair(4) != 0 {
            return Err(RegionCodeError::Structure);
        }
        Ok(code)
    }

    fn pair(&self, at: usize) -> u8 {
        (self.0[at] - b'0') * 10 + (self.0[at + 1] - b'0')
    }

    pub fn level(&self) -> RegionLevel {
        match (self.pair(2), self.pair(4)) {
            (0, _) => RegionLevel::Province,
            (_, 0) => RegionLevel::Prefecture,
            _ => RegionLevel::County,
        }
    }

    /// The significant prefix: `61` for a province, `6107` for a city, `610724` for a county.
    pub fn prefix(&self) -> &str {
        let len = match self.level() {
            RegionLevel::Province => 2,
            RegionLevel::Prefecture => 4,
            RegionLevel::County => 6,
        };
        self.as_str().get(..len).unwrap_or_default()
    }

    /// Whether `other` lies inside this division (a code contains itself).
    pub fn contains(&self, other: &RegionCode) -> bool {
        other.as_str().starts_with(self.prefix())
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for RegionCode {
    type Error = RegionCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        RegionCode::parse(&s)
    }
}

impl From<RegionCode> for String {
    fn from(c: RegionCode) -> String {
        c.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_levels() {
        let cases = [
            ("610000", RegionLevel::Province, "61"),
            ("610700", RegionLevel::Prefecture, "6107"),
            ("610724", RegionLevel::County, "610724"),
            ("110101", RegionLevel::County, "110101"),
        ];
        for (s, level, prefix) in cases {
            let c = RegionCode::parse(s).unwrap();
            assert_eq!(c.level(), level, "{s}");
            assert_eq!(c.prefix(), prefix, "{s}");
            assert_eq!(c.to_string(), s);
        }
    }

    #[test]
    fn rejects_bad_codes() {
        let cases = [
            ("61072", RegionCodeError::Format),
            ("6107245", RegionCodeError::Format),
            ("61072a", RegionCodeError::Format),
            ("６１０７２４", RegionCodeError::Format),
            ("990724", RegionCodeError::UnknownProvince),
            ("000000", RegionCodeError::UnknownProvince),
            ("610024", RegionCodeError::Structure),
        ];
        for (s, err) in cases {
            assert_eq!(RegionCode::parse(s), Err(err), "{s}");
        }
    }

    #[test]
    fn containment() {
        let shaanxi = RegionCode::parse("610000").unwrap();
        let hanzhong = RegionCode::parse("610700").unwrap();
        let xixiang = RegionCode::parse("610724").unwrap();
        let xian = RegionCode::parse("610100").unwrap();
        assert!(shaanxi.contains(&hanzhong));
        assert!(hanzhong.contains(&xixiang));
        assert!(xixiang.contains(&xixiang));
        assert!(!xixiang.contains(&hanzhong));
        assert!(!xian.contains(&xixiang));
    }
}
