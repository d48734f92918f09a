-- Identifiers (`id`, `…_id`), keyed hashes (`…_index`) and union paths compare byte by byte
-- (COLLATE "C"), whatever the database's own collation. They are ASCII, so their order is the
-- same; but a collation other than "C" compares text through the C library's locale routines and
-- sorts without abbreviated keys, which made building the indexes of a bulk load and every
-- lookup and join on these keys slower than it needs to be (docs/scale.md has the figures).
-- A `LIKE 'prefix%'` on a path can then use the path's plain index.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT table_name, column_name
        FROM information_schema.columns
        WHERE table_schema = current_schema() AND data_type = 'text'
          AND table_name <> '__diesel_schema_migrations'
          AND (column_name = 'id' OR column_name LIKE '%\_id' OR column_name LIKE '%\_index'
               OR column_name IN ('path', 'organisation_path'))
          -- A column a trigger's condition reads cannot change its type: it keeps its collation.
          AND NOT EXISTS (
              SELECT 1 FROM pg_depend d JOIN pg_attribute a
                ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
              WHERE d.classid = 'pg_trigger'::regclass
                AND d.refobjid = format('%I', table_name)::regclass
                AND a.attname = column_name)
        ORDER BY table_name, column_name
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE text COLLATE "C"',
                       c.table_name, c.column_name);
    END LOOP;
END $$;
