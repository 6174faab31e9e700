-- Custom migration: writes a client can retry and check. Rows carry a version that a
-- trigger bumps on every UPDATE (realtime_enable installs it wherever a table has an
-- integer `version` column, so a new table gets it from its declaration), and the
-- answers to Idempotency-Keys are kept per user, readable only by that user's requests.
-- OLD's version, whatever NEW says: a writer that sets version itself cannot fake one.
CREATE OR REPLACE FUNCTION realtime_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION realtime_enable(target regclass, key_column text DEFAULT 'id', project_column text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  tbl text;
  project_type text;
  version_type text;
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

  -- A table with an integer `version` column gets it bumped on every UPDATE, whoever
  -- writes: If-Match compares with it, so no writer may forget or fake it. Another type
  -- (a text "version" of the row's own meaning) is not ours to touch.
  SELECT format_type(atttypid, NULL) INTO version_type FROM pg_attribute
  WHERE attrelid = target AND attname = 'version' AND attnum > 0 AND NOT attisdropped;
  IF version_type = 'integer' THEN
    EXECUTE format(
      'CREATE OR REPLACE TRIGGER realtime_version BEFORE UPDATE ON %s '
      'FOR EACH ROW EXECUTE FUNCTION realtime_bump_version()', target);
  ELSIF version_type IS NOT NULL THEN
    RAISE NOTICE 'realtime_enable(%): column "version" is %, not integer: no version trigger', target, version_type;
  END IF;

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
--> statement-breakpoint
SELECT realtime_enable('projects', 'id', 'id');
--> statement-breakpoint
SELECT realtime_enable('extraction_jobs', 'id', 'project_id');
--> statement-breakpoint
SELECT realtime_enable('extraction_results', 'id', 'project_id');
--> statement-breakpoint
SELECT realtime_enable('data_layers', 'id', 'project_id');
--> statement-breakpoint
SELECT realtime_enable('supplier_matches', 'id', 'project_id');
--> statement-breakpoint
-- The API inserts a request's key first, as the user, then fills in the answer before
-- commit; pruning runs as the owner, so the role never deletes.
GRANT SELECT, INSERT, UPDATE ON idempotency_keys TO realtime_api;
--> statement-breakpoint
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
DROP POLICY IF EXISTS idempotency_keys_own ON idempotency_keys;
--> statement-breakpoint
CREATE POLICY idempotency_keys_own ON idempotency_keys FOR ALL TO realtime_api
  USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
