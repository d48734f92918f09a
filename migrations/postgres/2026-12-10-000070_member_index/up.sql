-- A person in two active files (the exceptions report, 《实施方案》四(三)) is found by grouping the
-- members by identity index and household, as they stood at a time: with the household and the
-- time in the index, that reads the index alone rather than every member row. Lookups by identity
-- index use the same index as before.
DROP INDEX household_members_index_idx;
CREATE INDEX household_members_index_idx ON household_members (national_id_index, household_id, created_at);
