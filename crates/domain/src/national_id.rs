//! Citizen identity numbers (公民身份号码), GB 11643-1999: six digits of region, eight of birth date,
//! three of sequence (odd for men), and an ISO 7064 MOD 11-2 check character (`0`–`9` or `X`).

use chrono::{Datelike, NaiveDate};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

crate::closed_list! {
    /// Sex, as the identity number's 17th digit gives it (odd for men).
    Sex ("Sex", "性别") {
        Male = "male" ("male", "男"),
        Female = "female" ("female", "女"),
    }
}

impl Sex {
    pub fn parse(s: &str) -> Option<Sex> {
        s.parse().ok()
    }
}

/// A valid identity number; holds the normalised text (upper-case `X`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NationalId(String);

impl std::fmt::Debug for NationalId {
    // Never print the full number by accident.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NationalId({})", self.masked())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NationalIdError {
    #[error("an identity number has 18 characters")]
    Length,
    #[error("the first 17 characters are digits and the last a digit or X")]
    Character,
    #[error("the first two digits are not a province")]
    Region,
    #[error("characters 7–14 are not a real date of birth")]
    BirthDate,
    #[error("the date of birth is in the future")]
    FutureBirthDate,
    #[error("the check character is wrong: expected {expected}")]
    CheckCharacter { expected: char },
}

/// The check character for 17 digits.
pub fn check_character(body: &[u8]) -> char {
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(&d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize] as char
}

impl NationalId {
    /// Parses and checks a number as of `today` (for "born in the future"); a lower-case `x` is
    /// accepted and stored upper-case.
    pub fn parse(s: &str, today: NaiveDate) -> Result<Self, NationalIdError> {
        let text = s.trim().to_ascii_uppercase();
        let b = text.as_bytes();
        if text.chars().count() != 18 || b.len() != 18 {
            return Err(NationalIdError::Length);
        }
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(NationalIdError::Character);
        }
        let province = (b[0] - b'0') * 10 + (b[1] - b'0');
        if !(11..=82).contains(&province) {
            return Err(NationalIdError::Region);
        }
        let birth = NaiveDate::parse_from_str(&text[6..14], "%Y%m%d")
            .ok()
            .filter(|d| d.year() >= 1890)
            .ok_or(NationalIdError::BirthDate)?;
        if birth > today {
            return Err(NationalIdError::FutureBirthDate);
        }
        let expected = check_character(&b[..17]);
        if b[17] as char != expected {
            return Err(NationalIdError::CheckCharacter { expected });
        }
        Ok(NationalId(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").unwrap_or_default()
    }

    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// `6107**********123X`: region of issue and the last four characters.
    pub fn masked(&self) -> String {
        format!("{}{}{}", &self.0[..4], "*".repeat(10), &self.0[14..])
    }
}

/// Completes 17 digits with their check character (demo data, tests).
pub fn complete(body17: &str) -> String {
    format!("{body17}{}", check_character(body17.as_bytes()))
}

/// A name with all but its first character hidden: 张三 → 张*, 欧阳修 → 欧**.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// An account number with all but its last four characters hidden.
pub fn mask_account(account: &str) -> String {
    let n = account.chars().count();
    account
        .chars()
        .enumerate()
        .map(|(i, c)| if i + 4 < n { '*' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    #[test]
    fn accepts_valid_numbers_and_reads_them() {
        let id = complete("61072419800101123");
        let parsed = NationalId::parse(&id, today()).unwrap();
        assert_eq!(
            parsed.birth_date(),
            NaiveDate::from_ymd_opt(1980, 1, 1).unwrap()
        );
        assert_eq!(parsed.sex(), Sex::Male);
        assert_eq!(parsed.masked(), format!("6107**********{}", &id[14..]));
        assert_eq!(
            NationalId::parse(&complete("61072419850615124"), today())
                .unwrap()
                .sex(),
            Sex::Female
        );
        // GB 11643's own example.
        assert!(NationalId::parse("11010519491231002X", today()).is_ok());
        assert_eq!(
            NationalId::parse("11010519491231002x", today())
                .unwrap()
                .as_str(),
            "11010519491231002X"
        );
    }

    #[test]
    fn rejects_each_kind_of_error() {
        let t = today();
        assert_eq!(
            NationalId::parse("61072419800101", t),
            Err(NationalIdError::Length)
        );
        assert_eq!(
            NationalId::parse("6107241980010112A4", t),
            Err(NationalIdError::Character)
        );
        assert_eq!(
            NationalId::parse(&complete("99072419800101123"), t),
            Err(NationalIdError::Region)
        );
        assert_eq!(
            NationalId::parse(&complete("61072419800230123"), t),
            Err(NationalIdError::BirthDate)
        );
        assert_eq!(
            NationalId::parse(&complete("61072420270101123"), t),
            Err(NationalIdError::FutureBirthDate)
        );
        assert_eq!(
            NationalId::parse(&complete("61072418000101123"), t),
            Err(NationalIdError::BirthDate)
        );
        let good = complete("61072419800101123");
        let wrong = if good.ends_with('0') { "1" } else { "0" };
        assert!(matches!(
            NationalId::parse(&format!("{}{wrong}", &good[..17]), t),
            Err(NationalIdError::CheckCharacter { .. })
        ));
    }

    #[test]
    fn every_single_digit_change_is_caught() {
        let good = complete("61072419800101123");
        for i in 0..17 {
            for d in b'0'..=b'9' {
                let mut bad = good.clone().into_bytes();
                if bad[i] == d {
                    continue;
                }
                bad[i] = d;
                let s = String::from_utf8(bad).unwrap();
                assert!(NationalId::parse(&s, today()).is_err(), "{s}");
            }
        }
    }

    #[test]
    fn masks() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳修"), "欧**");
        assert_eq!(mask_account("6222021234567890123"), "***************0123");
        assert_eq!(mask_account("123"), "123");
        assert_eq!(
            format!(
                "{:?}",
                NationalId::parse("11010519491231002X", today()).unwrap()
            ),
            "NationalId(1101**********002X)"
        );
    }
}
