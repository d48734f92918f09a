// Kept by hand in step with migrations/{sqlite,postgres}; a test checks both backends agree.

diesel::table! {
    organisations (id) {
        id -> Text,
        parent_id -> Nullable<Text>,
        kind -> Text,
        union_type -> Nullable<Text>,
        name -> Text,
        short_name -> Nullable<Text>,
        region_code -> Text,
        address -> Nullable<Text>,
        path -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    departments (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        region_code -> Text,
        address -> Nullable<Text>,
        active -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    enterprises (id) {
        id -> Text,
        name -> Text,
        credit_code -> Text,
        region_code -> Text,
        difficult -> Bool,
        address -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(organisations, departments, enterprises);
