-- Duplicates removed on the way up are not brought back.
ALTER TABLE policy_parameters DROP COLUMN effective_to;
DROP INDEX policy_parameters_version_key;
CREATE INDEX policy_parameters_key_idx ON policy_parameters (key, region_prefix, effective_from);
