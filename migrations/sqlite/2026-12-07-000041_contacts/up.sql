-- Dual contact (双包联系, 《实施方案》三(七)14): the county union keeps in touch with 1-3 difficult
-- enterprises, each of its leadership members with 2-3 hardship households, union cadres with
-- hardship workers; each assignment valid from a day, until a day or open.
CREATE TABLE contact_assignments (
    id TEXT PRIMARY KEY NOT NULL,
    -- union_enterprise, leader_household or cadre_worker.
    kind TEXT NOT NULL,
    -- The county union responsible (the one that keeps in touch, for union_enterprise).
    county_id TEXT NOT NULL REFERENCES organisations (id),
    -- Whose subtree sees it: the household's union, or the county union for an enterprise.
    organisation_path TEXT NOT NULL,
    region_code TEXT NOT NULL,
    -- Who keeps in touch: a user, or a person named (name kept either way).
    contact_user_id TEXT REFERENCES users (id),
    contact_name TEXT NOT NULL,
    contact_title TEXT,
    household_id TEXT REFERENCES households (id),
    enterprise_id TEXT REFERENCES enterprises (id),
    valid_from DATE NOT NULL,
    valid_until DATE,
    version BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX contact_assignments_path_idx ON contact_assignments (organisation_path, id);
CREATE INDEX contact_assignments_household_idx ON contact_assignments (household_id);
CREATE INDEX contact_assignments_county_idx ON contact_assignments (county_id, kind);

-- A visit of a contact, with the activity (from the county's list) and any help that followed.
CREATE TABLE contact_visits (
    id TEXT PRIMARY KEY NOT NULL,
    assignment_id TEXT NOT NULL REFERENCES contact_assignments (id),
    organisation_path TEXT NOT NULL,
    household_id TEXT REFERENCES households (id),
    enterprise_id TEXT REFERENCES enterprises (id),
    visited_on DATE NOT NULL,
    activity_type TEXT NOT NULL,
    notes TEXT,
    referral_id TEXT REFERENCES referrals (id),
    assistance_id TEXT REFERENCES assistance_records (id),
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX contact_visits_assignment_idx ON contact_visits (assignment_id, visited_on);
CREATE INDEX contact_visits_path_idx ON contact_visits (organisation_path, id);
