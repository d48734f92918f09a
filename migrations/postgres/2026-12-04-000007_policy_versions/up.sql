-- A parameter has one version per region prefix and start date; with two, which one applied
-- depended on the order rows were read in. Duplicates entered before this migration are reduced
-- to the one entered last (ids sort by creation; the audit log keeps a record of each), then a
-- unique index holds the rule.
DELETE FROM policy_parameters
WHERE EXISTS (
    SELECT 1 FROM policy_parameters AS later
    WHERE later.key = policy_parameters.key
      AND later.region_prefix = policy_parameters.region_prefix
      AND later.effective_from = policy_parameters.effective_from
      AND later.id > policy_parameters.id
);
DROP INDEX policy_parameters_key_idx;
CREATE UNIQUE INDEX policy_parameters_version_key
    ON policy_parameters (key, region_prefix, effective_from);

-- Where a version ends (exclusive): the start of the next version of the same key and region
-- prefix, set when that version is entered; NULL while none follows.
ALTER TABLE policy_parameters ADD COLUMN effective_to DATE;
UPDATE policy_parameters SET effective_to = (
    SELECT MIN(successor.effective_from) FROM policy_parameters AS successor
    WHERE successor.key = policy_parameters.key
      AND successor.region_prefix = policy_parameters.region_prefix
      AND successor.effective_from > policy_parameters.effective_from
);
