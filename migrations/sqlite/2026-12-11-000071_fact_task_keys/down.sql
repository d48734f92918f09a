CREATE TABLE verified_facts_next (
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
INSERT INTO verified_facts_next SELECT id, task_id, household_id, member_id, domain, source, as_of,
    count, area_dm2, status, month, amount_fen, set_aside, created_at FROM verified_facts;
DROP TABLE verified_facts;
ALTER TABLE verified_facts_next RENAME TO verified_facts;
CREATE INDEX verified_facts_household_idx ON verified_facts (household_id, domain);
CREATE INDEX verified_facts_task_idx ON verified_facts (task_id);

CREATE TABLE discrepancies_next (
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
INSERT INTO discrepancies_next SELECT id, household_id, organisation_path, task_id, field, member_id,
    month, kind, declared, verified, status, resolution, note, resolved_by, resolved_at, created_at
    FROM discrepancies;
DROP TABLE discrepancies;
ALTER TABLE discrepancies_next RENAME TO discrepancies;
CREATE INDEX discrepancies_household_idx ON discrepancies (household_id, status);
CREATE INDEX discrepancies_path_idx ON discrepancies (organisation_path, id);

DROP INDEX verification_tasks_id_household_key;
