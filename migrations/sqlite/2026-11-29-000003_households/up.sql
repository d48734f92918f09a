-- The household file (建档立卡, DESIGN §2). Personal data (identity numbers, bank accounts, health)
-- is stored only encrypted (`*_enc`), with a keyed hash (`*_index`) for lookup and a masked form
-- for display.
CREATE TABLE households (
    id TEXT PRIMARY KEY NOT NULL,
    file_number TEXT,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    -- The grassroots union's path, copied so that scope is one prefix match on this table.
    organisation_path TEXT NOT NULL,
    region_code TEXT NOT NULL,
    address TEXT NOT NULL,
    enterprise_id TEXT REFERENCES enterprises (id),
    worker_name TEXT NOT NULL,
    housing_type TEXT NOT NULL,
    -- Hundredths of a square metre.
    housing_area_dm2 BIGINT,
    bank_name TEXT,
    bank_account_enc TEXT,
    bank_account_masked TEXT,
    main_cause BIGINT NOT NULL,
    secondary_causes TEXT NOT NULL,
    single_parent BOOLEAN NOT NULL,
    disability_household BOOLEAN NOT NULL,
    zero_employment BOOLEAN NOT NULL,
    homes_count BIGINT NOT NULL,
    homes_area_dm2 BIGINT NOT NULL,
    vehicles_count BIGINT NOT NULL,
    vehicle_disability_exempt BOOLEAN NOT NULL,
    controlling_shareholder BOOLEAN NOT NULL,
    high_fee_schooling BOOLEAN NOT NULL,
    refuses_cooperation BOOLEAN NOT NULL,
    category TEXT,
    status TEXT NOT NULL,
    members_count BIGINT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX households_file_number_key ON households (file_number);
-- Lists are ordered by id and paged after an id: each filter's index carries the id, so that a
-- filtered page is an ordered index range that stops after one page, never a sort.
CREATE INDEX households_path_idx ON households (organisation_path, id);
CREATE INDEX households_region_idx ON households (region_code, id);
CREATE INDEX households_status_idx ON households (status, id);
CREATE INDEX households_main_cause_idx ON households (main_cause, id);
CREATE INDEX households_category_idx ON households (category, id);

CREATE TABLE household_members (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    position BIGINT NOT NULL,
    relation TEXT NOT NULL,
    name TEXT NOT NULL,
    national_id_enc TEXT NOT NULL,
    national_id_index TEXT NOT NULL,
    national_id_masked TEXT NOT NULL,
    sex TEXT NOT NULL,
    birth_date DATE NOT NULL,
    -- Encrypted JSON: health status, illness, disability type and grade.
    health_enc TEXT,
    work_status TEXT NOT NULL,
    schooling_level TEXT,
    school TEXT,
    school_year BIGINT,
    included BOOLEAN NOT NULL,
    exclusion_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX household_members_household_idx ON household_members (household_id, position);
CREATE INDEX household_members_index_idx ON household_members (national_id_index);

-- One person is in at most one active household, system-wide.
CREATE TABLE active_persons (
    national_id_index TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    member_id TEXT NOT NULL
);
CREATE INDEX active_persons_household_idx ON active_persons (household_id);

CREATE TABLE income_records (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    member_id TEXT REFERENCES household_members (id),
    -- YYYYMM.
    month BIGINT NOT NULL,
    kind TEXT NOT NULL,
    -- `declared` or the code of the department that reported it.
    source TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
    verified BOOLEAN NOT NULL,
    note TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX income_records_household_idx ON income_records (household_id, month);

CREATE TABLE expenditures (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    member_id TEXT REFERENCES household_members (id),
    kind TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
    start_month BIGINT NOT NULL,
    end_month BIGINT NOT NULL,
    description TEXT,
    evidence TEXT,
    verified BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX expenditures_household_idx ON expenditures (household_id);
