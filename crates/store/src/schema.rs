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

diesel::table! {
    users (id) {
        id -> Text,
        organisation_id -> Text,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        roles -> Text,
        status -> Text,
        token_version -> BigInt,
        last_login_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        department_id -> Text,
        name -> Text,
        prefix -> Text,
        secret_hash -> Text,
        scopes -> Text,
        valid_from -> Timestamp,
        valid_until -> Nullable<Timestamp>,
        allowed_addresses -> Nullable<Text>,
        rate_limit_per_minute -> BigInt,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        created_by -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        occurred_at -> Timestamp,
        actor_type -> Text,
        actor_id -> Nullable<Text>,
        actor_name -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
        organisation_path -> Nullable<Text>,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        outcome -> Text,
        request_id -> Nullable<Text>,
        source_address -> Nullable<Text>,
        changes -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_head (id) {
        id -> BigInt,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(api_keys -> departments (department_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    departments,
    enterprises,
    users,
    api_keys,
    audit_events,
    audit_head,
);
