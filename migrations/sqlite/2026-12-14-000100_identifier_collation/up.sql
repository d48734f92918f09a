-- SQLite compares text byte by byte (its BINARY collation) already: identifiers need no change here.
-- PostgreSQL's migration of the same name gives them COLLATE "C".
SELECT 1;
