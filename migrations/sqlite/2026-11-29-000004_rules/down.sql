DROP TABLE household_accidents;
DROP TABLE assessments;
DROP TABLE policy_parameters;
ALTER TABLE households DROP COLUMN resolved_causes;
