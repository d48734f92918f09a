DROP TABLE expenditures;
DROP TABLE income_records;
DROP TABLE active_persons;
DROP TABLE household_members;
DROP TABLE households;
