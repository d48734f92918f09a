//! Closed lists in the contract: a field that holds a value of a closed list is documented as a
//! string enum of its codes, described with what each code means in English and Chinese. Used
//! as `#[schema(schema_with = closed::<List>)]` (inline schemas, headed by what the list is).

use jiekun_domain::closed::ClosedList;
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::Array;

/// The list's name and every code with its meaning, in both languages.
fn described<T: ClosedList>() -> String {
    let mut d = format!("{} · {}\n", T::ABOUT.0, T::ABOUT.1);
    for v in T::values() {
        d.push_str(&format!(
            "\n- `{}`: {} · {}",
            v.code(),
            v.meaning_en(),
            v.meaning_zh()
        ));
    }
    d
}

fn codes<T: ClosedList>() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(T::codes()))
        .description(Some(described::<T>()))
}

/// A value of the list `T`.
pub(crate) fn closed<T: ClosedList>() -> Object {
    codes::<T>().build()
}

/// A value of the list `T`, or `null`.
pub(crate) fn closed_or_null<T: ClosedList>() -> Object {
    let mut values: Vec<serde_json::Value> = T::codes().into_iter().map(Into::into).collect();
    values.push(serde_json::Value::Null);
    codes::<T>()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
        .build()
}

/// Values of the list `T`.
pub(crate) fn closed_array<T: ClosedList>() -> Array {
    ArrayBuilder::new().items(codes::<T>()).build()
}
