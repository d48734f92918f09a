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

CREATE TRIGGER household_digest_new AFTER INSERT ON households
BEGIN
    INSERT OR IGNORE INTO household_digests (household_id) VALUES (NEW.id);
END;

CREATE TRIGGER household_digest_members_insert AFTER INSERT ON household_members
BEGIN
    UPDATE household_digests SET body = NULL, health_enc = NULL, gen = gen + 1 WHERE household_id = NEW.household_id;
END;
CREATE TRIGGER household_digest_members_update AFTER UPDATE ON household_members
BEGIN
    UPDATE household_digests SET body = NULL, health_enc = NULL, gen = gen + 1
    WHERE household_id IN (OLD.household_id, NEW.household_id);
END;
CREATE TRIGGER household_digest_members_delete AFTER DELETE ON household_members
BEGIN
    UPDATE household_digests SET body = NULL, health_enc = NULL, gen = gen + 1 WHERE household_id = OLD.household_id;
END;

CREATE TRIGGER household_digest_incomes_insert AFTER INSERT ON income_records
BEGIN
    UPDATE household_digests SET body = NULL, health_enc = NULL, gen = gen + 1 WHERE household_id = NEW.household_id;
END;
CREATE TRIGGER household_digest_incomes_update AFTER UPDATE ON income_records
BEGIN
    UPDATE household_digests SET body = NULL, health_enc = NULL, gen = gen + 1
    WHERE household_id IN (OLD.household_id, NEW.household_id);
END;
CREATE TRIGGER household_digest_incomes_delete AFTER DELETE ON income_records
BEGIN
    UPDATE household_digests SET body = NULL, health_enc = NULL, gen = gen + 1 WHERE household_id = OLD.household_id;
END;

CREATE TRIGGER household_digest_expenditures_insert AFTER INSERT ON expenditures
BEGIN
    UPDATE household_digests SET body = NULL, health_enc = NULL, gen = gen + 1 WHERE household_id = NEW.household_id;
END;
CREATE TRIGGER household_digest_expenditures_update AFTER UPDATE ON expenditures
BEGIN
    UPDATE household_digests SET body = NULL, health_enc = NULL, gen = gen + 1
    WHERE household_id IN (OLD.household_id, NEW.household_id);
END;
CREATE TRIGGER household_digest_expenditures_delete AFTER DELETE ON expenditures
BEGIN
    UPDATE household_digests SET body = NULL, health_enc = NULL, gen = gen + 1 WHERE household_id = OLD.household_id;
END;
