-- Custom SQL migration: numeric and int8 values reach every consumer in the column's own
-- text form. to_jsonb keeps them as JSON numbers (10.00, 9007199254740993), and every
-- JSON parser in JavaScript turns those into doubles: the trailing zeros and the digits
-- beyond 2^53 are lost before any code can see them. As strings they survive pgoutput,
-- the replay's reads and the API's reads alike. The trigger function is 0011's otherwise.
CREATE OR REPLACE FUNCTION realtime_row_json(r anyelement) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT s.j || coalesce((
    SELECT pg_catalog.jsonb_object_agg(a.attname, s.j ->> a.attname::text)
    FROM pg_catalog.pg_type rt
    JOIN pg_catalog.pg_attribute a ON a.attrelid = rt.typrelid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    WHERE rt.oid = pg_catalog.pg_typeof(r)
      -- A domain over numeric or int8 is one of them too.
      AND (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END) IN ('pg_catalog.int8'::regtype, 'pg_catalog.numeric'::regtype)
      AND pg_catalog.jsonb_typeof(s.j -> a.attname::text) = 'number'
  ), '{}'::jsonb)
  FROM (SELECT pg_catalog.to_jsonb(r) AS j) s
$$;
--> statement-breakpoint
COMMENT ON FUNCTION realtime_row_json(anyelement) IS 'to_jsonb of a row with its numeric and int8 columns as strings in their own text form (10.00 stays "10.00"): what the outbox records and the API returns.';
--> statement-breakpoint
CREATE OR REPLACE FUNCTION notify_row_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  new_json jsonb;
  old_json jsonb;
  project text;
  moved text;
  outbox_id bigint;
BEGIN
  IF TG_OP <> 'DELETE' THEN
    new_json := realtime_row_json(NEW);
    -- A value nested thousands deep is stored by Postgres but overflows the stack of
    -- every consumer after it (a clone between threads past ~3,000 levels, JSON text past
    -- ~4,000, a browser's IndexedDB): refused here, for every writer. Nesting N levels deep
    -- takes at least 2N bytes, so smaller rows skip the walk.
    IF pg_column_size(new_json) > 512 AND jsonb_path_exists(new_json, 'strict $.**{256}') THEN
      RAISE EXCEPTION '%: a value in the row is nested more than 255 levels deep, which the stream cannot carry', TG_TABLE_NAME
        USING ERRCODE = '22023', HINT = 'Store it flatter (or as text); the API refuses bodies nested more than 64 levels.';
    END IF;
  END IF;
  IF TG_OP <> 'INSERT' THEN old_json := realtime_row_json(OLD); END IF;
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
