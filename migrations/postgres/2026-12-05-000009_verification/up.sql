-- Information sharing (信息共享, 《实施方案》三(一)1): consents, verification requests and the
-- tasks each department answers, the facts it reports, and the differences from the declared file.

-- A signed authorisation (授权书): one member, the data domains it covers, signed by the member
-- (an adult) or by an adult member as guardian.
CREATE TABLE consents (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    member_id TEXT NOT NULL REFERENCES household_members (id),
    signed_by_member_id TEXT NOT NULL REFERENCES household_members (id),
    number TEXT NOT NULL,
    signed_on DATE NOT NULL,
    -- Comma-separated data domains.
    domains TEXT NOT NULL,
    evidence TEXT NOT NULL,
    revoked_at TIMESTAMP,
    revoke_reason TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX consents_household_idx ON consents (household_id, member_id);

CREATE TABLE verifications (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    organisation_path TEXT NOT NULL,
    region_code TEXT NOT NULL,
    domains TEXT NOT NULL,
    member_ids TEXT NOT NULL,
    -- open | answered
    status TEXT NOT NULL,
    reason TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX verifications_household_idx ON verifications (household_id, id);
CREATE INDEX verifications_path_idx ON verifications (organisation_path, id);

-- One task per data domain: what a department is asked, due in working days.
CREATE TABLE verification_tasks (
    id TEXT PRIMARY KEY NOT NULL,
    verification_id TEXT NOT NULL REFERENCES verifications (id),
    household_id TEXT NOT NULL REFERENCES households (id),
    organisation_path TEXT NOT NULL,
    region_code TEXT NOT NULL,
    domain TEXT NOT NULL,
    department_code TEXT NOT NULL,
    member_ids TEXT NOT NULL,
    -- open | answered
    status TEXT NOT NULL,
    due_on DATE NOT NULL,
    answered_at TIMESTAMP,
    answered_by TEXT,
    -- api | exchange
    answered_via TEXT,
    batch_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX verification_tasks_department_idx ON verification_tasks (department_code, status, id);
CREATE INDEX verification_tasks_verification_idx ON verification_tasks (verification_id, id);
CREATE INDEX verification_tasks_household_idx ON verification_tasks (household_id, status);

-- A dated fact a department reported, with its task and source.
CREATE TABLE verified_facts (
    id TEXT PRIMARY KEY NOT NULL,
    task_id TEXT NOT NULL REFERENCES verification_tasks (id),
    household_id TEXT NOT NULL REFERENCES households (id),
    member_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    source TEXT NOT NULL,
    as_of DATE NOT NULL,
    count BIGINT,
    area_dm2 BIGINT,
    status TEXT,
    month BIGINT,
    amount_fen BIGINT,
    -- Set aside when staff keep the declared figure against it.
    set_aside BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX verified_facts_household_idx ON verified_facts (household_id, domain);
CREATE INDEX verified_facts_task_idx ON verified_facts (task_id);

-- A difference between the declared file and a verified figure; only staff resolve it.
CREATE TABLE discrepancies (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    organisation_path TEXT NOT NULL,
    task_id TEXT NOT NULL REFERENCES verification_tasks (id),
    field TEXT NOT NULL,
    member_id TEXT,
    month BIGINT,
    kind TEXT,
    declared BIGINT NOT NULL,
    verified BIGINT NOT NULL,
    -- open | resolved
    status TEXT NOT NULL,
    resolution TEXT,
    note TEXT,
    resolved_by TEXT,
    resolved_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX discrepancies_household_idx ON discrepancies (household_id, status);
CREATE INDEX discrepancies_path_idx ON discrepancies (organisation_path, id);
