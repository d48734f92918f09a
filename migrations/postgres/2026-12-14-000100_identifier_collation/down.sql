-- Identifiers compare in the database's own collation again.
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
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE text COLLATE "default"',
                       c.table_name, c.column_name);
    END LOOP;
END $$;
