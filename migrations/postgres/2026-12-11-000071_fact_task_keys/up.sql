-- A verified fact and a discrepancy belong to the household of their task: one key on (task,
-- household) says so, where two keys (to the task, to the household) let them disagree. It is also
-- one check a row instead of two when an exchange batch writes 100,000 of them. The household
-- exists because the task's does.
ALTER TABLE verification_tasks
    ADD CONSTRAINT verification_tasks_id_household_key UNIQUE (id, household_id);
ALTER TABLE verified_facts
    DROP CONSTRAINT verified_facts_task_id_fkey,
    DROP CONSTRAINT verified_facts_household_id_fkey,
    ADD CONSTRAINT verified_facts_task_fkey FOREIGN KEY (task_id, household_id)
        REFERENCES verification_tasks (id, household_id);
ALTER TABLE discrepancies
    DROP CONSTRAINT discrepancies_task_id_fkey,
    DROP CONSTRAINT discrepancies_household_id_fkey,
    ADD CONSTRAINT discrepancies_task_fkey FOREIGN KEY (task_id, household_id)
        REFERENCES verification_tasks (id, household_id);
