ALTER TABLE discrepancies
    DROP CONSTRAINT discrepancies_task_fkey,
    ADD CONSTRAINT discrepancies_task_id_fkey FOREIGN KEY (task_id) REFERENCES verification_tasks (id),
    ADD CONSTRAINT discrepancies_household_id_fkey FOREIGN KEY (household_id) REFERENCES households (id);
ALTER TABLE verified_facts
    DROP CONSTRAINT verified_facts_task_fkey,
    ADD CONSTRAINT verified_facts_task_id_fkey FOREIGN KEY (task_id) REFERENCES verification_tasks (id),
    ADD CONSTRAINT verified_facts_household_id_fkey FOREIGN KEY (household_id) REFERENCES households (id);
ALTER TABLE verification_tasks DROP CONSTRAINT verification_tasks_id_household_key;
