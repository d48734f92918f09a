-- The rules read a household's income records together (a what-if simulation or the exit
-- candidates read a range of households at a time, in id order): stored in the order of
-- (household, id), they are read in one pass, without a sort or a lookup per row, and the
-- separate index on (household, month) is no longer needed. A record's id stays unique. SQLite
-- changes a table's key by building the table again.
CREATE TABLE income_records_next (
    id TEXT NOT NULL,
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
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (household_id, id)
) WITHOUT ROWID;
INSERT INTO income_records_next SELECT id, household_id, member_id, month, kind, source, amount_fen,
    verified, note, created_at, updated_at FROM income_records;
DROP TABLE income_records;
ALTER TABLE income_records_next RENAME TO income_records;
CREATE UNIQUE INDEX income_records_id_key ON income_records (id);
