-- Custom migration: the capture trigger records each change's project (and, on a move,
-- the project it left) and the size of its row images, so that a replay of one project
-- reads that project's changes through an index and pages are sized in bytes.
-- To stream another table that belongs to a project, name its project column:
--     SELECT realtime_enable('my_table', 'id', 'project_id');
DROP FUNCTION IF EXISTS realtime_enable(regclass, text);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION realtime_enable(target regclass, key_column text DEFAULT 'id', project_column text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
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
END
$$;
--> statement-breakpoint
-- As in 0003 (SECURITY DEFINER, actor, db_user), plus project_id, moved_from, row_bytes.
-- row_bytes is pg_column_size of the images just built: in memory they are not yet
-- compressed, so this is their full size, at no cost of serializing them again.
CREATE OR REPLACE FUNCTION notify_row_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  new_json jsonb;
  old_json jsonb;
  project text;
  moved text;
  outbox_id bigint;
BEGIN
  IF TG_OP <> 'DELETE' THEN new_json := to_jsonb(NEW); END IF;
  IF TG_OP <> 'INSERT' THEN old_json := to_jsonb(OLD); END IF;
  IF TG_NARGS > 1 THEN
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
SELECT realtime_enable('project_members', 'id', 'project_id');
--> statement-breakpoint
-- Changes captured before this migration: the same columns, computed once from the
-- stored rows (their text size stands in for the size at capture).
UPDATE change_outbox o SET
  row_bytes = coalesce(octet_length(o.new_row::text), 0) + coalesce(octet_length(o.old_row::text), 0),
  project_id = CASE WHEN o.new_row IS NOT NULL THEN o.new_row ->> p.col ELSE o.old_row ->> p.col END,
  moved_from = CASE WHEN o.op = 'UPDATE' AND (o.old_row ->> p.col) IS DISTINCT FROM (o.new_row ->> p.col) THEN o.old_row ->> p.col END
FROM (
  SELECT x.id, c.col FROM change_outbox x
  LEFT JOIN (VALUES ('projects', 'id'), ('extraction_jobs', 'project_id'), ('extraction_results', 'project_id'),
                    ('data_layers', 'project_id'), ('supplier_matches', 'project_id'), ('project_members', 'project_id')) c(tbl, col)
    ON c.tbl = x.table_name
) p
WHERE p.id = o.id;
--> statement-breakpoint
-- The new columns are the capture's too: nobody changes them afterwards.
DROP TRIGGER IF EXISTS change_outbox_immutable ON change_outbox;
--> statement-breakpoint
CREATE TRIGGER change_outbox_immutable
  BEFORE UPDATE OF id, table_name, op, row_id, new_row, old_row, txid, project_id, moved_from, row_bytes, actor, actor_id, db_user, application_name, created_at
  ON change_outbox FOR EACH ROW EXECUTE FUNCTION change_outbox_guard();
