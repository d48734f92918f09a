//! Unified social credit code (统一社会信用代码), GB 32100-2015: 18 characters from a 31-symbol
//! alphabet (digits and upper-case letters without I, O, S, V, Z); characters 3–8 are the GB/T 2260
//! region of registration; the 18th is a check character over the first 17 (weights 3^i mod 31).

use std::fmt;

use serde::Serialize;

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CreditCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("a unified social credit code has exactly 18 characters")]
    Length,
    #[error("character {position} is not allowed (digits and A–Y without I, O, S, V, Z)")]
    Character { position: usize },
    #[error("characters 3–8 must be the six digits of a region code")]
    Region,
    #[error("the check character is wrong: expected {expected}")]
    CheckCharacter { expected: char },
}

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for the first 17 characters, already known to be in the alphabet.
fn check_character(body: &[u8]) -> char {
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(&c, w)| value(c).unwrap_or(0) * w)
        .sum();
    ALPHABET[((31 - sum % 31) % 31) as usize] as char
}

impl CreditCode {
    /// Parses a code; surrounding spaces are trimmed and lower-case letters accepted.
    pub fn parse(s: &str) -> Result<Self, CreditCodeError> {
        let upper = s.trim().to_ascii_uppercase();
        let bytes = upper.as_bytes();
        if upper.chars().count() != 18 || bytes.len() != 18 {
            return Err(CreditCodeError::Length);
        }
        if let Some(position) = bytes.iter().position(|&c| value(c).is_none()) {
            return Err(CreditCodeError::Character {
                position: position + 1,
            });
        }
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(CreditCodeError::Region);
        }
        let expected = check_character(&bytes[..17]);
        if bytes[17] as char != expected {
            return Err(CreditCodeError::CheckCharacter { expected });
        }
        Ok(CreditCode(upper))
    }

    /// Completes 17 characters with their check character (used to generate demo data).
    pub fn complete(body: &str) -> Result<Self, CreditCodeError> {
        if body.len() != 17 {
            return Err(CreditCodeError::Length);
        }
        let c = check_character(body.as_bytes());
        Self::parse(&format!("{body}{c}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The region of registration (characters 3–8), not always a code still in force.
    pub fn registration_region(&self) -> &str {
        &self.0[2..8]
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_published_codes() {
        for s in ["91350100M000100Y43", "91110000802100433B"] {
            assert_eq!(CreditCode::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(
            CreditCode::parse(" 91110000802100433b ").unwrap().as_str(),
            "91110000802100433B"
        );
    }

    #[test]
    fn rejects_each_kind_of_error() {
        assert_eq!(CreditCode::parse("9135010"), Err(CreditCodeError::Length));
        assert_eq!(
            CreditCode::parse("91350100M000100Y4"),
            Err(CreditCodeError::Length)
        );
        assert_eq!(
            CreditCode::parse("91350100M000100I43"),
            Err(CreditCodeError::Character { position: 16 })
        );
        assert_eq!(
            CreditCode::parse("9135A100M000100Y43"),
            Err(CreditCodeError::Region)
        );
        assert_eq!(
            CreditCode::parse("91350100M000100Y44"),
            Err(CreditCodeError::CheckCharacter { expected: '3' })
        );
        assert_eq!(
            CreditCode::parse("91350100M000100Y4中"),
            Err(CreditCodeError::Length)
        );
    }

    #[test]
    fn every_single_character_change_of_the_body_is_caught() {
        let good = b"91350100M000100Y43";
        for i in 0..17 {
            for &c in ALPHABET {
                if c == good[i] {
                    continue;
                }
                let mut bad = good.to_vec();
                bad[i] = c;
                let s = String::from_utf8(bad).unwrap();
                assert!(CreditCode::parse(&s).is_err(), "{s} accepted");
            }
        }
    }

    #[test]
    fn complete_adds_the_check_character() {
        let c = CreditCode::complete("91610724MA6YQ1234").unwrap();
        assert_eq!(c.as_str(), "91610724MA6YQ1234E");
        assert_eq!(c.registration_region(), "610724");
    }
}
