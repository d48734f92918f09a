-- Workflows across the union hierarchy (DESIGN §4): filing applications, exit cases, public
-- notices and objections, annual reviews, one timeline for all of them, file numbers and the
-- holiday calendar that notices are counted by.

-- Filing (建档申请): draft → submitted → county_review → verification → public_notice →
-- city_approval → filed; returned, rejected, withdrawn.
CREATE TABLE applications (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    -- The household's grassroots union path, copied so that scope is one prefix match.
    organisation_path TEXT NOT NULL,
    region_code TEXT NOT NULL,
    state TEXT NOT NULL,
    -- The category the county review settled on, from the assessment it relied on.
    category TEXT,
    assessment_id TEXT REFERENCES assessments (id),
    notice_id TEXT,
    -- Set when a household returning to hardship is filed again: the file it had before.
    previous_file_number TEXT,
    file_number TEXT,
    opened_by TEXT NOT NULL,
    -- When it entered its current state (work queues: how long it has waited).
    state_since TIMESTAMP NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX applications_path_idx ON applications (organisation_path, id);
CREATE INDEX applications_state_idx ON applications (state, state_since, id);
CREATE INDEX applications_household_idx ON applications (household_id, created_at);
-- At most one application on its way per household.
CREATE UNIQUE INDEX applications_open_key ON applications (household_id)
    WHERE state NOT IN ('filed', 'rejected', 'withdrawn');

-- Exit (退出): proposed → county_recheck → city_review → public_notice → exited; cancelled; the
-- fast path for death or transfer goes from city_review straight to exited.
CREATE TABLE exit_cases (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    organisation_path TEXT NOT NULL,
    region_code TEXT NOT NULL,
    state TEXT NOT NULL,
    -- out_of_hardship (脱困), safety_net (解困), death, transfer.
    grounds TEXT NOT NULL,
    -- grassroots (reported by the union) or candidate (opened from the system's exit candidates).
    origin TEXT NOT NULL,
    assessment_id TEXT REFERENCES assessments (id),
    notice_id TEXT,
    opened_by TEXT NOT NULL,
    state_since TIMESTAMP NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX exit_cases_path_idx ON exit_cases (organisation_path, id);
CREATE INDEX exit_cases_state_idx ON exit_cases (state, state_since, id);
CREATE INDEX exit_cases_household_idx ON exit_cases (household_id, created_at);
CREATE UNIQUE INDEX exit_cases_open_key ON exit_cases (household_id)
    WHERE state NOT IN ('exited', 'cancelled');

-- A public notice (公示) holds only what may be published: masked name, unit, category, dates and
-- how to object. Never identity numbers, income, health or bank data.
CREATE TABLE public_notices (
    id TEXT PRIMARY KEY NOT NULL,
    -- application or exit_case.
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    organisation_path TEXT NOT NULL,
    region_code TEXT NOT NULL,
    masked_name TEXT NOT NULL,
    unit TEXT NOT NULL,
    category TEXT,
    grounds TEXT,
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    days BIGINT NOT NULL,
    working_days BOOLEAN NOT NULL,
    -- The union that receives objections.
    contact_organisation TEXT NOT NULL,
    contact_address TEXT,
    -- running, ended, withdrawn.
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX public_notices_path_idx ON public_notices (organisation_path, starts_on);
CREATE INDEX public_notices_subject_idx ON public_notices (subject_id);

-- Objections (异议) raised during a notice; an open one blocks the decision.
CREATE TABLE objections (
    id TEXT PRIMARY KEY NOT NULL,
    notice_id TEXT NOT NULL REFERENCES public_notices (id),
    -- What the notice is about: application or exit_case.
    subject_kind TEXT NOT NULL,
    organisation_path TEXT NOT NULL,
    -- online (raised by the signed-in user), phone, letter, visit (recorded by staff).
    channel TEXT NOT NULL,
    content TEXT NOT NULL,
    -- Who objected, when staff record it (shown to staff only).
    objector TEXT,
    raised_by TEXT NOT NULL,
    -- open, upheld, dismissed.
    status TEXT NOT NULL,
    resolution TEXT,
    resolved_by TEXT,
    resolved_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX objections_notice_idx ON objections (notice_id, created_at);
CREATE INDEX objections_open_idx ON objections (status, organisation_path, created_at);

-- The timeline of every workflow: who did what, in which role and organisation, when, with what
-- opinion and on the strength of which assessment.
CREATE TABLE workflow_events (
    id TEXT PRIMARY KEY NOT NULL,
    -- application, exit_case, annual_review, household.
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    actor TEXT NOT NULL,
    actor_role TEXT,
    organisation_id TEXT,
    organisation_name TEXT,
    opinion TEXT,
    assessment_id TEXT,
    at TIMESTAMP NOT NULL
);
CREATE INDEX workflow_events_subject_idx ON workflow_events (subject_id, at, id);
CREATE INDEX workflow_events_household_idx ON workflow_events (household_id, at, id);

-- File numbers: region code, year, sequence.
CREATE TABLE file_sequences (
    region_code TEXT NOT NULL,
    year BIGINT NOT NULL,
    last_value BIGINT NOT NULL,
    PRIMARY KEY (region_code, year)
);

-- Where a household is in its life after filing: review due, exit, monitoring, closing.
CREATE TABLE household_lifecycle (
    household_id TEXT PRIMARY KEY NOT NULL REFERENCES households (id),
    filed_on DATE,
    next_review_due DATE,
    exited_on DATE,
    exit_grounds TEXT,
    monitoring_until DATE,
    closed_on DATE,
    previous_file_number TEXT,
    updated_at TIMESTAMP NOT NULL
);
-- (due, id): the queue of reviews due reads the index in order and stops after a page.
CREATE INDEX household_lifecycle_review_idx ON household_lifecycle (next_review_due, household_id);
CREATE INDEX household_lifecycle_monitoring_idx ON household_lifecycle (monitoring_until, household_id);

-- Annual reviews (年度复核) done.
CREATE TABLE annual_reviews (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    organisation_path TEXT NOT NULL,
    due_on DATE,
    reviewed_on DATE NOT NULL,
    assessment_id TEXT NOT NULL REFERENCES assessments (id),
    -- The verdict of the assessment: deep, relative, accident or not_eligible.
    verdict TEXT NOT NULL,
    -- continues or no_longer_eligible.
    outcome TEXT NOT NULL,
    opinion TEXT,
    reviewed_by TEXT NOT NULL,
    next_due DATE NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX annual_reviews_household_idx ON annual_reviews (household_id, reviewed_on);

-- Exceptions to the Monday-to-Friday week: public holidays and swapped working days (调休).
CREATE TABLE calendar_days (
    day DATE PRIMARY KEY NOT NULL,
    -- holiday or workday.
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
