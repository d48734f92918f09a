-- Each household's digest for registry scans (what-if simulation, exit candidates, the return
-- watch): its members, incomes and expenditures in one text, so that a scan reads one row per
-- household, and its members' health (when any is on file) encrypted beside it. A write to any of the three tables empties the household's
-- digest and counts its generation on (triggers); a scan builds an empty digest from the tables
-- and stores it only under the generation it read first. Every household has its row from its
-- first insert on, so a write always finds the row to empty.
CREATE TABLE household_digests (
    household_id TEXT PRIMARY KEY NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    gen BIGINT NOT NULL DEFAULT 0,
    body TEXT,
    health_enc TEXT
);

INSERT INTO household_digests (household_id) SELECT id FROM households;

CREATE FUNCTION household_digest_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO household_digests (household_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER household_digest_new AFTER INSERT ON households
FOR EACH ROW EXECUTE FUNCTION household_digest_new();

CREATE FUNCTION household_digest_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE household_digests SET body = NULL, health_enc = NULL, gen = gen + 1
        WHERE household_id = OLD.household_id;
    END IF;
    IF TG_OP = 'INSERT' THEN
        UPDATE household_digests SET body = NULL, health_enc = NULL, gen = gen + 1
        WHERE household_id = NEW.household_id;
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.household_id IS DISTINCT FROM OLD.household_id THEN
            UPDATE household_digests SET body = NULL, health_enc = NULL, gen = gen + 1
            WHERE household_id = NEW.household_id;
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER household_digest_stale AFTER INSERT OR UPDATE OR DELETE ON household_members
FOR EACH ROW EXECUTE FUNCTION household_digest_stale();
CREATE TRIGGER household_digest_stale AFTER INSERT OR UPDATE OR DELETE ON income_records
FOR EACH ROW EXECUTE FUNCTION household_digest_stale();
CREATE TRIGGER household_digest_stale AFTER INSERT OR UPDATE OR DELETE ON expenditures
FOR EACH ROW EXECUTE FUNCTION household_digest_stale();
