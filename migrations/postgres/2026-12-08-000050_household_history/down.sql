DROP INDEX workflow_events_state_idx;
DROP TRIGGER household_history_update ON households;
DROP TRIGGER household_history_insert ON households;
DROP FUNCTION household_history_record();
DROP TABLE household_history;
