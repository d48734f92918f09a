DROP INDEX workflow_events_state_idx;
DROP TRIGGER household_history_update;
DROP TRIGGER household_history_insert;
DROP TABLE household_history;
