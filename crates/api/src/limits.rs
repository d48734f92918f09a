//! Shape limits that several request bodies share, and the checks and schemas of lists whose
//! items carry a limit of their own (the derive states a list's item count, not its items'
//! lengths).

use std::borrow::Cow;

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::Array;
use validator::ValidationError;

/// An identifier of a stored record.
pub const ID_MAX: usize = 64;
/// An address or CIDR block of a key's allow-list (an IPv6 block is at most 43 characters).
pub const ADDRESS_MAX: usize = 64;
/// Addresses in a key's allow-list.
pub const ADDRESSES_MAX: usize = 50;
/// Members a measure concerns.
pub const MEMBER_IDS_MAX: usize = 20;

/// Every item at most `max` characters; the error names the list and gives the limit.
fn each_at_most(items: &[String], max: usize) -> Result<(), ValidationError> {
    if items.iter().all(|s| s.chars().count() <= max) {
        return Ok(());
    }
    let mut e = ValidationError::new("too_long");
    e.add_param(Cow::Borrowed("max"), &max);
    Err(e)
}

/// Identifiers, each at most [`ID_MAX`] characters.
pub fn ids(items: &[String]) -> Result<(), ValidationError> {
    each_at_most(items, ID_MAX)
}

/// Addresses or CIDR blocks, each at most [`ADDRESS_MAX`] characters.
pub fn addresses(items: &[String]) -> Result<(), ValidationError> {
    each_at_most(items, ADDRESS_MAX)
}

fn strings(max_items: usize, max_length: usize, description: &str) -> Array {
    ArrayBuilder::new()
        .description(Some(description))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(max_length)),
        )
        .max_items(Some(max_items))
        .build()
}

/// The schema of the members a measure concerns.
pub fn member_ids_schema() -> Array {
    strings(
        MEMBER_IDS_MAX,
        ID_MAX,
        "The members it concerns (empty: the household as a whole), at most 20. 涉及成员（最多 20 人）。",
    )
}

/// The schema of the members a verification checks.
pub fn checked_members_schema() -> Array {
    strings(
        30,
        ID_MAX,
        "The members to check, at most 30; every member included in the household when absent. 核对的成员（最多 30 人，省略时为全部计入家庭的成员）。",
    )
}

/// The schema of a key's allow-list.
pub fn addresses_schema() -> Array {
    strings(
        ADDRESSES_MAX,
        ADDRESS_MAX,
        "Addresses or CIDR blocks, at most 50; absent or empty allows any. 允许的来源地址或网段（最多 50 项）。",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_fails_when_one_item_is_too_long() {
        assert!(ids(&["a".repeat(64), "b".into()]).is_ok());
        let e = ids(&["a".into(), "中".repeat(65)]).unwrap_err();
        assert_eq!(e.code, "too_long");
        assert_eq!(e.params["max"], 64);
        assert!(addresses(&[]).is_ok());
    }
}
