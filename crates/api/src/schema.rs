//! Closed lists as named `enum` schemas of the contract, each value with its meaning in English and
//! Chinese. Fields point at them with `#[schema(value_type = schema::HousingType)]`.

use std::borrow::Cow;

use jiekun_domain::closed::ClosedList;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// The schema of a closed list: a string `enum` whose description is a table of meanings.
pub fn closed<T: ClosedList>() -> RefOr<Schema> {
    let mut text = format!(
        "{}. {}。\n\n| value | meaning | 含义 |\n|---|---|---|\n",
        T::ABOUT.0,
        T::ABOUT.1
    );
    for v in T::values() {
        text.push_str(&format!(
            "| `{}` | {} | {} |\n",
            v.code(),
            v.meaning_en(),
            v.meaning_zh()
        ));
    }
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(T::codes()))
        .description(Some(text))
        .build()
        .into()
}

/// Declares a schema type for each closed list of the domain.
macro_rules! closed_schemas {
    ($($name:ident => $domain:path;)*) => {
        $(
            #[doc = concat!("The closed list `", stringify!($name), "` in the contract.")]
            pub struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    closed::<$domain>()
                }
            }

            impl utoipa::ToSchema for $name {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed(stringify!($name))
                }
            }
        )*

        /// Every closed list in the contract, by name, with its codes (for checks over the spec).
        pub fn all_closed_lists() -> Vec<(&'static str, Vec<&'static str>)> {
            vec![$((stringify!($name), <$domain as ClosedList>::codes()),)*]
        }
    };
}

closed_schemas! {
    Relation => jiekun_domain::household::Relation;
    WorkStatus => jiekun_domain::household::WorkStatus;
    HealthStatus => jiekun_domain::household::HealthStatus;
    DisabilityType => jiekun_domain::household::DisabilityType;
    SchoolingLevel => jiekun_domain::household::SchoolingLevel;
    HousingType => jiekun_domain::household::HousingType;
    IncomeKind => jiekun_domain::household::IncomeKind;
    ExpenditureKind => jiekun_domain::household::ExpenditureKind;
    HouseholdStatus => jiekun_domain::household::HouseholdStatus;
    Category => jiekun_domain::household::Category;
    Sex => jiekun_domain::Sex;
    CampaignKind => jiekun_domain::campaign::CampaignKind;
    EligibilityRule => jiekun_domain::campaign::EligibilityRule;
    ContactKind => jiekun_domain::contact::ContactKind;
    GapKind => jiekun_domain::contact::GapKind;
    ReportName => jiekun_domain::report::ReportName;
}

/// The national list of hardship causes (致困原因), as integer codes 1–10.
pub struct HardshipCause;

impl utoipa::PartialSchema for HardshipCause {
    fn schema() -> RefOr<Schema> {
        use jiekun_domain::household::HardshipCause as C;
        let mut text = String::from(
            "Hardship cause, from the national code list. 致困原因（全国统一代码）。\n\n| code | meaning | 含义 |\n|---|---|---|\n",
        );
        let codes: Vec<u8> = (1..=10).collect();
        for c in codes.iter().filter_map(|c| C::new(*c)) {
            text.push_str(&format!(
                "| {} | {} | {} |\n",
                c.code(),
                c.name_en(),
                c.name_zh()
            ));
        }
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .enum_values(Some(codes))
            .description(Some(text))
            .build()
            .into()
    }
}

impl utoipa::ToSchema for HardshipCause {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("HardshipCause")
    }
}
