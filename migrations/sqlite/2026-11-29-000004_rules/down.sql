DROP TABLE assessments;
DROP TABLE policy_parameters;
ALTER TABLE households DROP COLUMN resolved_causes;
