//! Parsing request fields into domain types, collecting every field error before answering.

use jiekun_domain::{CreditCode, CreditCodeError, Name, NameError, RegionCode, RegionCodeError};

use crate::error::{ApiError, FieldError};

/// Collects field errors while a request body is parsed.
#[derive(Default)]
pub struct Fields {
    errors: Vec<FieldError>,
}

impl Fields {
    pub fn push(&mut self, e: FieldError) {
        self.errors.push(e);
    }

    /// Keeps the value or records the error.
    pub fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        r.map_err(|e| self.errors.push(e)).ok()
    }

    /// A 422 with every error found, or `Ok` when there were none.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.errors))
        }
    }

    pub fn name(&mut self, field: &str, value: &str, max: usize) -> Option<String> {
        self.check(name(field, value, max))
    }

    /// An optional text: absent or blank means none.
    pub fn optional_text(
        &mut self,
        field: &str,
        value: Option<&str>,
        max: usize,
    ) -> Option<Option<String>> {
        match value {
            None => Some(None),
            Some(v) if v.trim().is_empty() => Some(None),
            Some(v) => self.name(field, v, max).map(Some),
        }
    }

    pub fn region(&mut self, field: &str, value: &str) -> Option<RegionCode> {
        self.check(region(field, value))
    }

    pub fn credit_code(&mut self, field: &str, value: &str) -> Option<CreditCode> {
        self.check(credit_code(field, value))
    }
}

pub fn name(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    Name::parse(value, max)
        .map(Name::into_string)
        .map_err(|e| match e {
            NameError::Empty => FieldError::new(field, "empty", "must not be empty", "不能为空"),
            NameError::TooLong { max } => FieldError::new(
                field,
                "too_long",
                format!("must be at most {max} characters"),
                format!("不能超过 {max} 个字符"),
            ),
            NameError::ControlCharacter => FieldError::new(
                field,
                "invalid_character",
                "must not contain control characters",
                "不能包含控制字符",
            ),
        })
}

pub fn region(field: &str, value: &str) -> Result<RegionCode, FieldError> {
    RegionCode::parse(value).map_err(|e| {
        let (code, zh) = match e {
            RegionCodeError::Format => ("invalid_format", "行政区划代码应为 6 位数字（GB/T 2260）"),
            RegionCodeError::UnknownProvince => {
                ("unknown_region", "前两位不是有效的省级行政区划代码")
            }
            RegionCodeError::Structure => ("unknown_region", "地级代码为 00 时不能有县级代码"),
        };
        FieldError::new(field, code, format!("not a GB/T 2260 region code: {e}"), zh)
    })
}

pub fn credit_code(field: &str, value: &str) -> Result<CreditCode, FieldError> {
    CreditCode::parse(value).map_err(|e| {
        let (code, zh) = match &e {
            CreditCodeError::Length => ("invalid_length", "统一社会信用代码应为 18 位".to_owned()),
            CreditCodeError::Character { position } => (
                "invalid_character",
                format!("第 {position} 位字符不允许（不使用 I、O、S、V、Z）"),
            ),
            CreditCodeError::Region => ("invalid_format", "第 3–8 位应为行政区划代码".to_owned()),
            CreditCodeError::CheckCharacter { expected } => (
                "invalid_check_character",
                format!("校验码错误，应为 {expected}（GB 32100）"),
            ),
        };
        FieldError::new(field, code, e.to_string(), zh)
    })
}

/// `Option<Option<T>>` for PATCH bodies: a field that is absent stays as it is, `null` clears it.
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}
