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

DROP TRIGGER audit_events_no_delete;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN NOT EXISTS (SELECT 1 FROM audit_archives WHERE OLD.seq <= boundary_seq)
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
