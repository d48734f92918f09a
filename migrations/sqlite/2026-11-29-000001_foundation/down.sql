DROP TABLE enterprises;
DROP TABLE departments;
DROP TABLE organisations;
