DROP TABLE contact_visits;
DROP TABLE contact_assignments;
