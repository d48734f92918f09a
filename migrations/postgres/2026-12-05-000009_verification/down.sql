DROP TABLE discrepancies;
DROP TABLE verified_facts;
DROP TABLE verification_tasks;
DROP TABLE verifications;
DROP TABLE consents;
