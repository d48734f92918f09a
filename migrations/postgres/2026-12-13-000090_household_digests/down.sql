DROP TRIGGER household_digest_stale ON expenditures;
DROP TRIGGER household_digest_stale ON income_records;
DROP TRIGGER household_digest_stale ON household_members;
DROP FUNCTION household_digest_stale();
DROP TRIGGER household_digest_new ON households;
DROP FUNCTION household_digest_new();
DROP TABLE household_digests;
