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
    audit_archives (id) {
        id -> Text,
        first_seq -> BigInt,
        boundary_seq -> BigInt,
        boundary_hash -> Text,
        events -> BigInt,
        before_time -> Timestamp,
        file_name -> Text,
        file_sha256 -> Text,
        key_id -> Text,
        signature -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_head (id) {
        id -> BigInt,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    throttle_failures (subject) {
        subject -> Text,
        failures -> BigInt,
        last_ms -> BigInt,
        refused -> BigInt,
        expires_ms -> BigInt,
    }
}

diesel::table! {
    throttle_requests (subject) {
        subject -> Text,
        window_minute -> BigInt,
        hits -> BigInt,
        previous_hits -> BigInt,
        refused -> BigInt,
        expires_ms -> BigInt,
    }
}

diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(api_keys -> departments (department_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    household_digests,
    departments,
    enterprises,
    users,
    api_keys,
    audit_events,
    audit_head,
    households,
    household_members,
    active_persons,
    income_records,
    expenditures,
    policy_parameters,
    assessments,
    household_accidents,
    applications,
    exit_cases,
    public_notices,
    objections,
    workflow_events,
    file_sequences,
    household_lifecycle,
    annual_reviews,
    calendar_days,
    measures,
    household_plans,
    plan_items,
    referrals,
    assistance_records,
    idempotency_keys,
    consents,
    verifications,
    verification_tasks,
    verified_facts,
    discrepancies,
    exchange_secrets,
    exchange_batches,
    exchange_batch_tasks,
    throttle_failures,
    throttle_requests,
    campaigns,
    campaign_quotas,
    campaign_payments,
);

diesel::table! {
    households (id) {
        id -> Text,
        file_number -> Nullable<Text>,
        organisation_id -> Text,
        organisation_path -> Text,
        region_code -> Text,
        address -> Text,
        enterprise_id -> Nullable<Text>,
        worker_name -> Text,
        housing_type -> Text,
        housing_area_dm2 -> Nullable<BigInt>,
        bank_name -> Nullable<Text>,
        bank_account_enc -> Nullable<Text>,
        bank_account_masked -> Nullable<Text>,
        main_cause -> BigInt,
        secondary_causes -> Text,
        single_parent -> Bool,
        disability_household -> Bool,
        zero_employment -> Bool,
        homes_count -> BigInt,
        homes_area_dm2 -> BigInt,
        vehicles_count -> BigInt,
        vehicle_disability_exempt -> Bool,
        controlling_shareholder -> Bool,
        high_fee_schooling -> Bool,
        refuses_cooperation -> Bool,
        category -> Nullable<Text>,
        status -> Text,
        members_count -> BigInt,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        resolved_causes -> Text,
        legal_dispute -> Bool,
    }
}

diesel::table! {
    household_members (id) {
        id -> Text,
        household_id -> Text,
        position -> BigInt,
        relation -> Text,
        name -> Text,
        national_id_enc -> Text,
        national_id_index -> Text,
        national_id_masked -> Text,
        sex -> Text,
        birth_date -> Date,
        health_enc -> Nullable<Text>,
        work_status -> Text,
        schooling_level -> Nullable<Text>,
        school -> Nullable<Text>,
        school_year -> Nullable<BigInt>,
        included -> Bool,
        exclusion_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        business_plan -> Bool,
        residents_pension -> Bool,
        laid_off -> Bool,
    }
}

diesel::table! {
    active_persons (national_id_index) {
        national_id_index -> Text,
        household_id -> Text,
        member_id -> Text,
    }
}

diesel::table! {
    income_records (id) {
        id -> Text,
        household_id -> Text,
        member_id -> Nullable<Text>,
        month -> BigInt,
        kind -> Text,
        source -> Text,
        amount_fen -> BigInt,
        verified -> Bool,
        note -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    expenditures (id) {
        id -> Text,
        household_id -> Text,
        member_id -> Nullable<Text>,
        kind -> Text,
        amount_fen -> BigInt,
        start_month -> BigInt,
        end_month -> BigInt,
        description -> Nullable<Text>,
        evidence -> Nullable<Text>,
        verified -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(household_members -> households (household_id));
diesel::joinable!(income_records -> households (household_id));
diesel::joinable!(expenditures -> households (household_id));

diesel::table! {
    policy_parameters (id) {
        id -> Text,
        key -> Text,
        region_prefix -> Text,
        effective_from -> Date,
        value -> Text,
        document -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        effective_to -> Nullable<Date>,
    }
}

diesel::table! {
    assessments (id) {
        id -> Text,
        household_id -> Text,
        kind -> Text,
        assessment_date -> Date,
        verdict -> Text,
        snapshot_enc -> Text,
        decision -> Text,
        hash -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    household_accidents (household_id) {
        household_id -> Text,
        description -> Text,
        occurred_on -> Date,
        costs_fen -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    applications (id) {
        id -> Text,
        household_id -> Text,
        organisation_path -> Text,
        region_code -> Text,
        state -> Text,
        category -> Nullable<Text>,
        assessment_id -> Nullable<Text>,
        notice_id -> Nullable<Text>,
        previous_file_number -> Nullable<Text>,
        file_number -> Nullable<Text>,
        opened_by -> Text,
        state_since -> Timestamp,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    exit_cases (id) {
        id -> Text,
        household_id -> Text,
        organisation_path -> Text,
        region_code -> Text,
        state -> Text,
        grounds -> Text,
        origin -> Text,
        assessment_id -> Nullable<Text>,
        notice_id -> Nullable<Text>,
        opened_by -> Text,
        state_since -> Timestamp,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    public_notices (id) {
        id -> Text,
        subject_kind -> Text,
        subject_id -> Text,
        household_id -> Text,
        organisation_path -> Text,
        region_code -> Text,
        masked_name -> Text,
        unit -> Text,
        category -> Nullable<Text>,
        grounds -> Nullable<Text>,
        starts_on -> Date,
        ends_on -> Date,
        days -> BigInt,
        working_days -> Bool,
        contact_organisation -> Text,
        contact_address -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    objections (id) {
        id -> Text,
        notice_id -> Text,
        subject_kind -> Text,
        organisation_path -> Text,
        channel -> Text,
        content -> Text,
        objector -> Nullable<Text>,
        raised_by -> Text,
        status -> Text,
        resolution -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    workflow_events (id) {
        id -> Text,
        subject_kind -> Text,
        subject_id -> Text,
        household_id -> Text,
        action -> Text,
        from_state -> Nullable<Text>,
        to_state -> Nullable<Text>,
        actor -> Text,
        actor_role -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
        organisation_name -> Nullable<Text>,
        opinion -> Nullable<Text>,
        assessment_id -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::table! {
    file_sequences (region_code, year) {
        region_code -> Text,
        year -> BigInt,
        last_value -> BigInt,
    }
}

diesel::table! {
    plan_proposals (household_id, proposed_at, measure_number) {
        household_id -> Text,
        proposed_at -> Timestamp,
        measure_number -> BigInt,
    }
}

diesel::table! {
    household_digests (household_id) {
        household_id -> Text,
        gen -> BigInt,
        body -> Nullable<Text>,
        health_enc -> Nullable<Text>,
    }
}

diesel::table! {
    household_history (seq) {
        seq -> BigInt,
        household_id -> Text,
        valid_from -> Timestamp,
        status -> Text,
        category -> Nullable<Text>,
        organisation_id -> Text,
        organisation_path -> Text,
        region_code -> Text,
        main_cause -> BigInt,
        single_parent -> Bool,
        disability_household -> Bool,
        zero_employment -> Bool,
    }
}

diesel::table! {
    household_lifecycle (household_id) {
        household_id -> Text,
        filed_on -> Nullable<Date>,
        next_review_due -> Nullable<Date>,
        exited_on -> Nullable<Date>,
        exit_grounds -> Nullable<Text>,
        monitoring_until -> Nullable<Date>,
        closed_on -> Nullable<Date>,
        previous_file_number -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    annual_reviews (id) {
        id -> Text,
        household_id -> Text,
        organisation_path -> Text,
        due_on -> Nullable<Date>,
        reviewed_on -> Date,
        assessment_id -> Text,
        verdict -> Text,
        outcome -> Text,
        opinion -> Nullable<Text>,
        reviewed_by -> Text,
        next_due -> Date,
        created_at -> Timestamp,
    }
}

diesel::table! {
    calendar_days (day) {
        day -> Date,
        kind -> Text,
        name -> Text,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(household_lifecycle -> households (household_id));
diesel::joinable!(applications -> households (household_id));
diesel::joinable!(exit_cases -> households (household_id));

diesel::table! {
    measures (number) {
        number -> BigInt,
        code -> Text,
        mechanism_number -> BigInt,
        mechanism_code -> Text,
        name_zh -> Text,
        lead_units -> Text,
        responsible_units -> Text,
        gist -> Text,
    }
}

diesel::table! {
    household_plans (household_id) {
        household_id -> Text,
        organisation_path -> Text,
        region_code -> Text,
        proposed_on -> Date,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    plan_items (id) {
        id -> Text,
        household_id -> Text,
        measure_number -> BigInt,
        origin -> Text,
        status -> Text,
        member_ids -> Text,
        reasons -> Text,
        note -> Nullable<Text>,
        drop_reason -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    referrals (id) {
        id -> Text,
        household_id -> Text,
        plan_item_id -> Text,
        measure_number -> BigInt,
        department_code -> Text,
        organisation_path -> Text,
        region_code -> Text,
        member_ids -> Text,
        status -> Text,
        due_on -> Date,
        note -> Nullable<Text>,
        decline_reason -> Nullable<Text>,
        delivered_on -> Nullable<Date>,
        delivery_note -> Nullable<Text>,
        answered_by -> Nullable<Text>,
        created_by -> Text,
        state_since -> Timestamp,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    assistance_records (id) {
        id -> Text,
        household_id -> Text,
        member_id -> Nullable<Text>,
        measure_number -> BigInt,
        referral_id -> Nullable<Text>,
        organisation_path -> Text,
        region_code -> Text,
        unit_kind -> Text,
        unit_id -> Text,
        unit_name -> Text,
        delivered_on -> Date,
        year -> BigInt,
        kind -> Text,
        amount_fen -> BigInt,
        fund_source -> Nullable<Text>,
        evidence -> Nullable<Text>,
        note -> Nullable<Text>,
        reverses_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (caller_id, key) {
        caller_id -> Text,
        key -> Text,
        operation -> Text,
        request_hash -> Text,
        status -> BigInt,
        location -> Nullable<Text>,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    consents (id) {
        id -> Text,
        household_id -> Text,
        member_id -> Text,
        signed_by_member_id -> Text,
        number -> Text,
        signed_on -> Date,
        domains -> Text,
        evidence -> Text,
        revoked_at -> Nullable<Timestamp>,
        revoke_reason -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    verifications (id) {
        id -> Text,
        household_id -> Text,
        organisation_path -> Text,
        region_code -> Text,
        domains -> Text,
        member_ids -> Text,
        status -> Text,
        reason -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    verification_tasks (id) {
        id -> Text,
        verification_id -> Text,
        household_id -> Text,
        organisation_path -> Text,
        region_code -> Text,
        domain -> Text,
        department_code -> Text,
        member_ids -> Text,
        status -> Text,
        due_on -> Date,
        answered_at -> Nullable<Timestamp>,
        answered_by -> Nullable<Text>,
        answered_via -> Nullable<Text>,
        batch_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    verified_facts (id) {
        id -> Text,
        task_id -> Text,
        household_id -> Text,
        member_id -> Text,
        domain -> Text,
        source -> Text,
        as_of -> Date,
        count -> Nullable<BigInt>,
        area_dm2 -> Nullable<BigInt>,
        status -> Nullable<Text>,
        month -> Nullable<BigInt>,
        amount_fen -> Nullable<BigInt>,
        set_aside -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    discrepancies (id) {
        id -> Text,
        household_id -> Text,
        organisation_path -> Text,
        task_id -> Text,
        field -> Text,
        member_id -> Nullable<Text>,
        month -> Nullable<BigInt>,
        kind -> Nullable<Text>,
        declared -> BigInt,
        verified -> BigInt,
        status -> Text,
        resolution -> Nullable<Text>,
        note -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    exchange_secrets (department_id) {
        department_id -> Text,
        secret_enc -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    exchange_batches (id) {
        id -> Text,
        department_id -> Text,
        department_code -> Text,
        organisation_path -> Text,
        format -> Text,
        row_count -> BigInt,
        sha256 -> Text,
        signature -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        imported_sha256 -> Nullable<Text>,
        imported_rows -> Nullable<BigInt>,
        imported_by -> Nullable<Text>,
        imported_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    exchange_batch_tasks (batch_id, task_id) {
        batch_id -> Text,
        task_id -> Text,
    }
}

diesel::joinable!(plan_items -> household_plans (household_id));
diesel::joinable!(referrals -> households (household_id));
diesel::joinable!(assistance_records -> households (household_id));

diesel::table! {
    campaigns (id) {
        id -> Text,
        organisation_id -> Text,
        organisation_path -> Text,
        region_code -> Text,
        kind -> Text,
        name -> Text,
        starts_on -> Date,
        ends_on -> Date,
        budget_fen -> BigInt,
        measure_number -> BigInt,
        eligibility -> Text,
        amount -> Text,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    campaign_quota_history (seq) {
        seq -> BigInt,
        campaign_id -> Text,
        organisation_id -> Text,
        organisation_path -> Text,
        quota_fen -> BigInt,
        valid_from -> Timestamp,
    }
}

diesel::table! {
    campaign_quotas (campaign_id, organisation_id) {
        campaign_id -> Text,
        organisation_id -> Text,
        organisation_path -> Text,
        parent_id -> Text,
        quota_fen -> BigInt,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    campaign_payments (id) {
        id -> Text,
        campaign_id -> Text,
        household_id -> Text,
        organisation_path -> Text,
        amount_fen -> BigInt,
        paid_on -> Date,
        assistance_id -> Text,
        paid_by_organisation_id -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(campaign_quotas -> campaigns (campaign_id));
diesel::joinable!(campaign_payments -> campaigns (campaign_id));

diesel::table! {
    contact_assignments (id) {
        id -> Text,
        kind -> Text,
        county_id -> Text,
        organisation_path -> Text,
        region_code -> Text,
        contact_user_id -> Nullable<Text>,
        contact_name -> Text,
        contact_title -> Nullable<Text>,
        household_id -> Nullable<Text>,
        enterprise_id -> Nullable<Text>,
        valid_from -> Date,
        valid_until -> Nullable<Date>,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contact_visits (id) {
        id -> Text,
        assignment_id -> Text,
        organisation_path -> Text,
        household_id -> Nullable<Text>,
        enterprise_id -> Nullable<Text>,
        visited_on -> Date,
        activity_type -> Text,
        notes -> Nullable<Text>,
        referral_id -> Nullable<Text>,
        assistance_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}
