-- Custom migration: one line declares a streamed table. realtime_enable(table, key,
-- project_column) now also gives a table that belongs to projects what 0003 gave the
-- reference app's tables by hand (the API role's privileges and the row-level security
-- policies), and tells running gateways to read the catalog again, so that a new table
-- needs no edit outside its migration:
--     SELECT realtime_enable('invoices', 'id', 'project_id');
-- Policies are created only where missing: calling it again (every table's migration
-- already did once) changes nothing, and a table's own policies (project_members') stay.
CREATE OR REPLACE FUNCTION realtime_enable(target regclass, key_column text DEFAULT 'id', project_column text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  tbl text;
  project_type text;
  p record;
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_attribute
    WHERE attrelid = target AND attname = key_column AND attnum > 0 AND NOT attisdropped
  ) THEN
    RAISE EXCEPTION 'realtime_enable(%): no column "%" to use as the row id', target, key_column
      USING HINT = 'Pass the key column: SELECT realtime_enable(''table'', ''key_column'').';
  END IF;
  IF project_column IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM pg_attribute
    WHERE attrelid = target AND attname = project_column AND attnum > 0 AND NOT attisdropped
  ) THEN
    RAISE EXCEPTION 'realtime_enable(%): no column "%" to name the row''s project', target, project_column
      USING HINT = 'Pass the project column, or NULL for a table whose rows belong to no project.';
  END IF;
  SELECT relname INTO tbl FROM pg_class WHERE oid = target;
  IF project_column IS NOT NULL THEN
    -- The policies compare it with app_project_ids(), which are uuids.
    SELECT format_type(atttypid, NULL) INTO project_type FROM pg_attribute WHERE attrelid = target AND attname = project_column;
    IF project_type <> 'uuid' THEN
      RAISE EXCEPTION 'realtime_enable(%): the project column "%" is %, and project ids are uuid', target, project_column, project_type
        USING HINT = 'Make the column uuid REFERENCES projects(id), or pass NULL for a table whose rows belong to no project.';
    END IF;
  END IF;

  IF project_column IS NULL THEN
    EXECUTE format(
      'CREATE OR REPLACE TRIGGER realtime_change AFTER INSERT OR UPDATE OR DELETE ON %s '
      'FOR EACH ROW EXECUTE FUNCTION notify_row_change(%L)', target, key_column);
  ELSE
    EXECUTE format(
      'CREATE OR REPLACE TRIGGER realtime_change AFTER INSERT OR UPDATE OR DELETE ON %s '
      'FOR EACH ROW EXECUTE FUNCTION notify_row_change(%L, %L)', target, key_column, project_column);
  END IF;
  EXECUTE format(
    'CREATE OR REPLACE TRIGGER realtime_no_truncate BEFORE TRUNCATE ON %s '
    'FOR EACH STATEMENT EXECUTE FUNCTION realtime_forbid_truncate()', target);

  IF project_column IS NOT NULL AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'realtime_api') THEN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO realtime_api', target);
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    -- A table that is its own project (projects): read as a member, create when signed in
    -- (the creator-owns trigger makes them its owner), change and delete as owner. Rows
    -- of a project: read as a member, write as editor (0003's loop).
    FOR p IN
      SELECT * FROM (VALUES
        ('read', 'SELECT', 'USING (%1$I = ANY ((SELECT app_project_ids(''viewer''))::uuid[]))', false),
        ('create', 'INSERT', 'WITH CHECK (app_user_id() IS NOT NULL)', true),
        ('create', 'INSERT', 'WITH CHECK (%1$I = ANY ((SELECT app_project_ids(''editor''))::uuid[]))', false),
        ('change', 'UPDATE', 'USING (%1$I = ANY ((SELECT app_project_ids(''owner''))::uuid[])) WITH CHECK (%1$I = ANY ((SELECT app_project_ids(''owner''))::uuid[]))', true),
        ('change', 'UPDATE', 'USING (%1$I = ANY ((SELECT app_project_ids(''editor''))::uuid[])) WITH CHECK (%1$I = ANY ((SELECT app_project_ids(''editor''))::uuid[]))', false),
        ('delete', 'DELETE', 'USING (%1$I = ANY ((SELECT app_project_ids(''owner''))::uuid[]))', true),
        ('delete', 'DELETE', 'USING (%1$I = ANY ((SELECT app_project_ids(''editor''))::uuid[]))', false)
      ) AS v(suffix, command, rule, own)
      WHERE v.suffix = 'read' OR v.own = (project_column = key_column)
    LOOP
      IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = target AND polname = tbl || '_' || p.suffix) THEN
        EXECUTE format('CREATE POLICY %I ON %s FOR %s TO realtime_api ', tbl || '_' || p.suffix, target, p.command) || format(p.rule, project_column);
      END IF;
    END LOOP;
  END IF;

  -- Delivered at commit: gateways read the catalog again and serve the new channel.
  PERFORM pg_notify('realtime_catalog', tbl);
END
$$;
