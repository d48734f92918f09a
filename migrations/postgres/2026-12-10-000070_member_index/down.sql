DROP INDEX household_members_index_idx;
CREATE INDEX household_members_index_idx ON household_members (national_id_index);
