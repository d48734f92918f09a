//! Free-text names as the registry stores them: trimmed, non-empty, bounded, no control characters.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Name(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
}

impl Name {
    /// Parses a name of at most `max` characters (Unicode scalar values, not bytes).
    pub fn parse(s: &str, max: usize) -> Result<Self, NameError> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        if trimmed.chars().count() > max {
            return Err(NameError::TooLong { max });
        }
        if trimmed.chars().any(char::is_control) {
            return Err(NameError::ControlCharacter);
        }
        Ok(Name(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(
            Name::parse("  西乡县总工会 ", 10).unwrap().as_str(),
            "西乡县总工会"
        );
        assert_eq!(Name::parse("   ", 10), Err(NameError::Empty));
        assert_eq!(
            Name::parse("一二三四五六", 5),
            Err(NameError::TooLong { max: 5 })
        );
        assert_eq!(Name::parse("一二三四五", 5).unwrap().as_str(), "一二三四五");
        assert_eq!(Name::parse("a\u{0}b", 5), Err(NameError::ControlCharacter));
    }
}
