CREATE TABLE income_records_next (
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
INSERT INTO income_records_next SELECT id, household_id, member_id, month, kind, source, amount_fen,
    verified, note, created_at, updated_at FROM income_records;
DROP TABLE income_records;
ALTER TABLE income_records_next RENAME TO income_records;
CREATE INDEX income_records_household_idx ON income_records (household_id, month);
