-- Custom SQL migration: numeric and int8 values reach every consumer in the column's own
-- text form. to_jsonb keeps them as JSON numbers (10.00, 9007199254740993), and every
-- JSON parser in JavaScript turns those into doubles: the trailing zeros and the digits
-- beyond 2^53 are lost before any code can see them. As strings they survive pgoutput,
-- the replay's reads and the API's reads alike. realtime_enable (0010's otherwise) names
-- those columns in the trigger's arguments, and the trigger function (0011's otherwise)
-- records them as text; every streamed table is declared again to get its arguments.
CREATE OR REPLACE FUNCTION realtime_row_json(r anyelement) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  j jsonb := to_jsonb(r);
  c text;
BEGIN
  FOR c IN
    SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.typrelid = a.attrelid
    WHERE t.oid = pg_catalog.pg_typeof(r) AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid IN ('pg_catalog.int8'::regtype, 'pg_catalog.numeric'::regtype)
  LOOP
    IF jsonb_typeof(j -> c) = 'number' THEN j := jsonb_set(j, ARRAY[c], to_jsonb(j ->> c)); END IF;
  END LOOP;
  RETURN j;
END
$$;
--> statement-breakpoint
COMMENT ON FUNCTION realtime_row_json(anyelement) IS 'to_jsonb of a table''s row with its numeric and int8 columns as strings in their own text form (10.00 stays "10.00"), as the capture trigger records rows: for SQL by hand (the API builds the same expression from the catalog).';
--> statement-breakpoint
CREATE OR REPLACE FUNCTION notify_row_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  new_json jsonb;
  old_json jsonb;
  i int;
  c text;
  project text;
  moved text;
  outbox_id bigint;
BEGIN
  IF TG_OP <> 'DELETE' THEN new_json := to_jsonb(NEW); END IF;
  IF TG_OP <> 'INSERT' THEN old_json := to_jsonb(OLD); END IF;
  -- numeric and int8 columns (realtime_enable lists them from the third argument on) as
  -- their own text.
  FOR i IN 2 .. TG_NARGS - 1 LOOP
    c := TG_ARGV[i];
    IF jsonb_typeof(new_json -> c) = 'number' THEN new_json := jsonb_set(new_json, ARRAY[c], to_jsonb(new_json ->> c)); END IF;
    IF jsonb_typeof(old_json -> c) = 'number' THEN old_json := jsonb_set(old_json, ARRAY[c], to_jsonb(old_json ->> c)); END IF;
  END LOOP;
  -- A value nested thousands deep is stored by Postgres but overflows the stack of
  -- every consumer after it (a clone between threads past ~3,000 levels, JSON text past
  -- ~4,000, a browser's IndexedDB): refused here, for every writer. Nesting N levels deep
  -- takes at least 2N bytes, so smaller rows skip the walk.
  IF pg_column_size(new_json) > 512 AND jsonb_path_exists(new_json, 'strict $.**{256}') THEN
    RAISE EXCEPTION '%: a value in the row is nested more than 255 levels deep, which the stream cannot carry', TG_TABLE_NAME
      USING ERRCODE = '22023', HINT = 'Store it flatter (or as text); the API refuses bodies nested more than 64 levels.';
  END IF;
  IF TG_NARGS > 1 AND TG_ARGV[1] <> '' THEN
    project := CASE WHEN new_json IS NOT NULL THEN new_json ->> TG_ARGV[1] ELSE old_json ->> TG_ARGV[1] END;
    IF TG_OP = 'UPDATE' AND (old_json ->> TG_ARGV[1]) IS DISTINCT FROM (new_json ->> TG_ARGV[1]) THEN
      moved := old_json ->> TG_ARGV[1];
    END IF;
  END IF;

  INSERT INTO change_outbox (table_name, op, row_id, new_row, old_row, txid, project_id, moved_from, row_bytes, actor, actor_id, db_user, application_name)
  VALUES (
    TG_TABLE_NAME,
    TG_OP,
    coalesce(new_json, old_json) ->> coalesce(TG_ARGV[0], 'id'),
    new_json,
    old_json,
    pg_current_xact_id(),
    project,
    moved,
    coalesce(pg_column_size(new_json), 0) + coalesce(pg_column_size(old_json), 0),
    nullif(current_setting('app.actor', true), ''),
    nullif(current_setting('app.user_id', true), '')::uuid,
    CASE WHEN current_setting('role') = 'none' THEN session_user ELSE current_setting('role') END,
    nullif(current_setting('application_name'), '')
  )
  RETURNING id INTO outbox_id;

  -- NOTIFY takes a database-wide lock at commit, so it is sent only while the
  -- replicator has no WAL stream; the payload is a reference, never the row.
  IF (SELECT notify_enabled FROM realtime_state WHERE id = 1) THEN
    PERFORM pg_notify('realtime_outbox', outbox_id::text);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION realtime_enable(target regclass, key_column text DEFAULT 'id', project_column text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  tbl text;
  project_type text;
  version_type text;
  exact_args text;
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

  -- The trigger's arguments: the key, the project column ('' for none) and then each
  -- numeric and int8 column, which the trigger records as text. Read here rather than by
  -- the trigger on every row (a catalog read per row doubled its cost); a column added or
  -- retyped later needs this call again, and the catalog's readers say so.
  SELECT coalesce(string_agg(format('%L', attname), ', ' ORDER BY attnum), '') INTO exact_args FROM pg_attribute
  WHERE attrelid = target AND attnum > 0 AND NOT attisdropped AND atttypid IN ('int8'::regtype, 'numeric'::regtype);
  EXECUTE format(
    'CREATE OR REPLACE TRIGGER realtime_change AFTER INSERT OR UPDATE OR DELETE ON %s '
    'FOR EACH ROW EXECUTE FUNCTION notify_row_change(%s)', target,
    concat_ws(', ', format('%L', key_column),
      CASE WHEN project_column IS NOT NULL OR exact_args <> '' THEN format('%L', coalesce(project_column, '')) END,
      nullif(exact_args, '')));
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
-- Every table declared before: its trigger gets its numeric and int8 columns (tables with
-- none keep the arguments they had).
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT tr.tgrelid::regclass AS target, encode(tr.tgargs, 'escape') AS args
    FROM pg_trigger tr
    WHERE tr.tgname = 'realtime_change' AND NOT tr.tgisinternal
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tr.tgrelid AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid IN ('int8'::regtype, 'numeric'::regtype))
  LOOP
    PERFORM realtime_enable(t.target, coalesce(nullif(split_part(t.args, '\000', 1), ''), 'id'), nullif(split_part(t.args, '\000', 2), ''));
  END LOOP;
END
$$;
