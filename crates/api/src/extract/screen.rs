//! Characters no input may carry, checked at the edge so that both databases see the same text:
//! C0 and C1 control characters (and DEL), and invisible or bidirectional formatting characters
//! that make a name look like another. Inside JSON strings a line feed and a tab stay allowed.

use serde_json::Value;

use crate::error::FieldError;

/// Whether `c` is refused; `in_text` allows the line feed and the tab of free text.
pub fn forbidden(c: char, in_text: bool) -> bool {
    match c {
        '\n' | '\t' => !in_text,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}' => true,
        _ => false,
    }
}

/// The first refused character of `s` with its position (1-based, in characters).
pub fn first_forbidden(s: &str, in_text: bool) -> Option<(usize, char)> {
    s.chars()
        .enumerate()
        .find(|(_, c)| forbidden(*c, in_text))
        .map(|(i, c)| (i + 1, c))
}

/// `s` with refused characters written as `\u{..}`, to name a key that carries them.
pub fn escaped(s: &str) -> String {
    s.chars()
        .map(|c| {
            if forbidden(c, false) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The field error for a refused character at `position`.
pub fn character_error(field: &str, position: usize, c: char) -> FieldError {
    let code = format!("U+{:04X}", u32::from(c));
    FieldError::new(
        field,
        "invalid_character",
        format!(
            "contains a control or invisible formatting character ({code} at position {position})"
        ),
        format!("包含控制字符或不可见的格式字符（第 {position} 个字符，{code}）"),
    )
}

/// At most this many refused strings are reported for one body.
const MAX_REPORTED: usize = 20;

/// Every string value and object key of a JSON body that carries a refused character, named by
/// its path (`members[0].name`).
pub fn json_strings(value: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    walk(value, &mut String::new(), &mut errors);
    errors
}

fn walk(value: &Value, path: &mut String, errors: &mut Vec<FieldError>) {
    if errors.len() >= MAX_REPORTED {
        return;
    }
    match value {
        Value::String(s) => {
            if let Some((at, c)) = first_forbidden(s, true) {
                errors.push(character_error(path, at, c));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, path, errors);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                match first_forbidden(key, false) {
                    Some((at, c)) => {
                        path.push_str(&escaped(key));
                        if errors.len() < MAX_REPORTED {
                            errors.push(character_error(path, at, c));
                        }
                    }
                    None => {
                        path.push_str(key);
                        walk(item, path, errors);
                    }
                }
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Percent-decodes one path segment or query component (`+` is a space in a query).
pub fn percent_decode(raw: &str, plus_is_space: bool) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// What is wrong with one decoded path segment or query component, if anything.
pub fn check_component(raw: &str, plus_is_space: bool) -> Result<String, Refusal> {
    let text = String::from_utf8(percent_decode(raw, plus_is_space)).map_err(|_| Refusal::Utf8)?;
    match first_forbidden(&text, false) {
        Some((at, c)) => Err(Refusal::Character(at, c)),
        None => Ok(text),
    }
}

/// Why a path segment or query component is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Percent-decoded, it is not UTF-8.
    Utf8,
    /// It carries a refused character at a position (1-based, in characters).
    Character(usize, char),
}

impl Refusal {
    pub fn field_error(self, field: &str) -> FieldError {
        match self {
            Refusal::Utf8 => FieldError::new(
                field,
                "invalid_encoding",
                "is not UTF-8 text once percent-decoded",
                "百分号解码后不是 UTF-8 文本",
            ),
            Refusal::Character(at, c) => character_error(field, at, c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refuses_controls_and_invisible_formatting_but_not_text() {
        for c in [
            '\u{0}', '\u{1}', '\r', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}', '\u{200b}', '\u{200f}',
            '\u{202e}', '\u{2060}', '\u{2064}', '\u{2066}', '\u{2069}', '\u{feff}',
        ] {
            assert!(forbidden(c, true), "{c:?}");
        }
        for c in ['a', '张', ' ', '·', '\u{a0}', '\u{3000}', '—', '\u{2070}'] {
            assert!(!forbidden(c, false), "{c:?}");
        }
        assert!(!forbidden('\n', true) && !forbidden('\t', true));
        assert!(forbidden('\n', false) && forbidden('\t', false));
        assert_eq!(first_forbidden("ab\u{0}c", true), Some((3, '\u{0}')));
    }

    #[test]
    fn json_strings_are_named_by_their_path() {
        let body = json!({
            "address": "东大街\n1号",
            "members": [{"name": "张三"}, {"name": "李\u{202e}四"}],
            "bad\u{0}key": 1,
            "notes": ["ok", "\u{feff}x"],
        });
        let errors = json_strings(&body);
        let fields: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("bad\\u{0}key", "invalid_character"),
                ("members[1].name", "invalid_character"),
                ("notes[1]", "invalid_character"),
            ]
        );
        assert!(errors[1].message.contains("U+202E at position 2"));
        assert!(errors[1].message_zh.contains("U+202E"));
    }

    #[test]
    fn components_are_percent_decoded_before_the_check() {
        assert_eq!(
            check_component("x%00", false),
            Err(Refusal::Character(2, '\0'))
        );
        assert_eq!(
            check_component("%E2%80%AE", false),
            Err(Refusal::Character(1, '\u{202e}'))
        );
        assert_eq!(check_component("%FF", false), Err(Refusal::Utf8));
        assert_eq!(check_component("a+b%20c", true).unwrap(), "a b c");
        assert_eq!(check_component("a+b", false).unwrap(), "a+b");
        assert_eq!(check_component("100%", false).unwrap(), "100%");
        assert_eq!(check_component("%4", false).unwrap(), "%4");
        assert_eq!(check_component("%zz", false).unwrap(), "%zz");
        assert_eq!(check_component("%e5%bc%a0", false).unwrap(), "张");
    }
}
