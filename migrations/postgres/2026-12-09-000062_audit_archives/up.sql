-- Audit retention: events older than the retention period move to signed archive files
-- (`jiekun audit archive`). Each archive is recorded here with the last event it holds and that
-- event's hash, where the chain in the database now begins. Events stay append-only: one may be
-- deleted only once an archive that holds it is recorded (in the same transaction).
CREATE TABLE audit_archives (
    id TEXT PRIMARY KEY NOT NULL,
    first_seq BIGINT NOT NULL,
    boundary_seq BIGINT NOT NULL UNIQUE,
    boundary_hash TEXT NOT NULL,
    events BIGINT NOT NULL,
    before_time TIMESTAMP NOT NULL,
    file_name TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
        AND EXISTS (SELECT 1 FROM audit_archives WHERE OLD.seq <= boundary_seq) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql;
