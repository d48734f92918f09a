-- Policy parameters entered by county admins (on top of the built-in defaults), and stored
-- assessments with the encrypted snapshot they were made from, so that they can be replayed.
CREATE TABLE policy_parameters (
    id TEXT PRIMARY KEY NOT NULL,
    key TEXT NOT NULL,
    region_prefix TEXT NOT NULL,
    effective_from DATE NOT NULL,
    -- JSON value.
    value TEXT NOT NULL,
    document TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX policy_parameters_key_idx ON policy_parameters (key, region_prefix, effective_from);

CREATE TABLE assessments (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    -- `identify` or `exit`.
    kind TEXT NOT NULL,
    assessment_date DATE NOT NULL,
    verdict TEXT NOT NULL,
    -- Encrypted JSON: the household snapshot and the parameter versions used.
    snapshot_enc TEXT NOT NULL,
    -- JSON: the decision with its figures and tests.
    decision TEXT NOT NULL,
    -- SHA-256 of snapshot and decision, to prove neither changed.
    hash TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX assessments_household_idx ON assessments (household_id, created_at);

-- Causes marked resolved (comma-separated codes): exit needs every cause resolved.
ALTER TABLE households ADD COLUMN resolved_causes TEXT NOT NULL DEFAULT '';

-- A sudden event (意外) and what it cost the household after compensation and insurance: the
-- facts of the accident-caused category.
CREATE TABLE household_accidents (
    household_id TEXT PRIMARY KEY NOT NULL REFERENCES households (id),
    description TEXT NOT NULL,
    occurred_on DATE NOT NULL,
    costs_fen BIGINT NOT NULL CHECK (costs_fen >= 0),
    updated_at TIMESTAMP NOT NULL
);
