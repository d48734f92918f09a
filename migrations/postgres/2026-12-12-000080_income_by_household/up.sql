-- SQLite stores income records in the order of (household, id) from this version on;
-- PostgreSQL keeps its heap and its index on (household, month), which serve the same reads.
SELECT 1;
