-- What the plan rules called for (一户一策, 《实施方案》三), kept as history for the coverage report
-- (督查问效, 《实施方案》四(三)): every proposal of a household's plan adds one row per measure it
-- proposes, at the moment it was made. A report as of a time reads each household's last
-- proposal from before it, so its figures stay the same after later proposals.
CREATE TABLE plan_proposals (
    household_id TEXT NOT NULL,
    proposed_at TIMESTAMP NOT NULL,
    measure_number BIGINT NOT NULL,
    PRIMARY KEY (household_id, proposed_at, measure_number)
);

-- What stands today: the measures of each plan the rules proposed, as of its last proposal.
INSERT INTO plan_proposals (household_id, proposed_at, measure_number)
SELECT i.household_id,
    COALESCE((SELECT MAX(e.at) FROM workflow_events e WHERE e.subject_kind = 'plan'
        AND e.subject_id = i.household_id AND e.action = 'propose_plan'), p.updated_at),
    i.measure_number
FROM plan_items i JOIN household_plans p ON p.household_id = i.household_id
WHERE i.origin = 'rule';

