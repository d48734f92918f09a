-- The register's history for reports (督查问效, 《实施方案》四(三)): every change of what a report
-- counts a household by (status, category, union, region, main cause, flags) adds a row, valid
-- from the household's updated_at; a report as of a time reads each household's last row from
-- before it. Kept by triggers, so no path that writes households (COPY included) can forget it.
CREATE TABLE household_history (
    seq BIGSERIAL PRIMARY KEY,
    household_id TEXT NOT NULL,
    valid_from TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    category TEXT,
    organisation_id TEXT NOT NULL,
    organisation_path TEXT NOT NULL,
    region_code TEXT NOT NULL,
    main_cause BIGINT NOT NULL,
    single_parent BOOLEAN NOT NULL,
    disability_household BOOLEAN NOT NULL,
    zero_employment BOOLEAN NOT NULL
);
CREATE INDEX household_history_household_idx ON household_history (household_id, seq);

-- What stands today, valid since the last change of each household.
INSERT INTO household_history (household_id, valid_from, status, category, organisation_id,
    organisation_path, region_code, main_cause, single_parent, disability_household, zero_employment)
SELECT id, updated_at, status, category, organisation_id, organisation_path, region_code,
    main_cause, single_parent, disability_household, zero_employment
FROM households ORDER BY updated_at, id;

CREATE FUNCTION household_history_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO household_history (household_id, valid_from, status, category, organisation_id,
        organisation_path, region_code, main_cause, single_parent, disability_household,
        zero_employment)
    VALUES (NEW.id, NEW.updated_at, NEW.status, NEW.category, NEW.organisation_id,
        NEW.organisation_path, NEW.region_code, NEW.main_cause, NEW.single_parent,
        NEW.disability_household, NEW.zero_employment);
    RETURN NULL;
END;
$$;

CREATE TRIGGER household_history_insert AFTER INSERT ON households
FOR EACH ROW EXECUTE FUNCTION household_history_record();

CREATE TRIGGER household_history_update AFTER UPDATE ON households
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
    OR OLD.category IS DISTINCT FROM NEW.category
    OR OLD.organisation_id IS DISTINCT FROM NEW.organisation_id
    OR OLD.organisation_path IS DISTINCT FROM NEW.organisation_path
    OR OLD.region_code IS DISTINCT FROM NEW.region_code
    OR OLD.main_cause IS DISTINCT FROM NEW.main_cause
    OR OLD.single_parent IS DISTINCT FROM NEW.single_parent
    OR OLD.disability_household IS DISTINCT FROM NEW.disability_household
    OR OLD.zero_employment IS DISTINCT FROM NEW.zero_employment)
EXECUTE FUNCTION household_history_record();

-- The flows report reads filings and exits by state and time.
CREATE INDEX workflow_events_state_idx ON workflow_events (to_state, subject_kind, at);
