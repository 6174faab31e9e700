-- Custom migration: change capture. Every row change of a realtime table writes one
-- change_outbox row in the writer's own transaction; the replicator stamps it later.
-- To stream another table, add one line to a new migration:
--     SELECT realtime_enable('my_table');            -- key column defaults to "id"
INSERT INTO realtime_state (id) VALUES (1) ON CONFLICT (id) DO NOTHING;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION notify_row_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  new_json jsonb;
  old_json jsonb;
  outbox_id bigint;
BEGIN
  IF TG_OP <> 'DELETE' THEN new_json := to_jsonb(NEW); END IF;
  IF TG_OP <> 'INSERT' THEN old_json := to_jsonb(OLD); END IF;

  INSERT INTO change_outbox (table_name, op, row_id, new_row, old_row, txid, actor, db_user, application_name)
  VALUES (
    TG_TABLE_NAME,
    TG_OP,
    coalesce(new_json, old_json) ->> coalesce(TG_ARGV[0], 'id'),
    new_json,
    old_json,
    pg_current_xact_id(),
    nullif(current_setting('app.actor', true), ''),
    current_user,
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
CREATE OR REPLACE FUNCTION realtime_forbid_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'TRUNCATE of realtime table % would bypass the change outbox', TG_TABLE_NAME
    USING HINT = 'Delete the rows instead (DELETE FROM ...), so that every subscriber sees them go.';
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION realtime_enable(target regclass, key_column text DEFAULT 'id') RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_attribute
    WHERE attrelid = target AND attname = key_column AND attnum > 0 AND NOT attisdropped
  ) THEN
    RAISE EXCEPTION 'realtime_enable(%): no column "%" to use as the row id', target, key_column
      USING HINT = 'Pass the key column: SELECT realtime_enable(''table'', ''key_column'').';
  END IF;
  EXECUTE format(
    'CREATE OR REPLACE TRIGGER realtime_change AFTER INSERT OR UPDATE OR DELETE ON %s '
    'FOR EACH ROW EXECUTE FUNCTION notify_row_change(%L)', target, key_column);
  EXECUTE format(
    'CREATE OR REPLACE TRIGGER realtime_no_truncate BEFORE TRUNCATE ON %s '
    'FOR EACH STATEMENT EXECUTE FUNCTION realtime_forbid_truncate()', target);
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION realtime_disable(target regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS realtime_change ON %s', target);
  EXECUTE format('DROP TRIGGER IF EXISTS realtime_no_truncate ON %s', target);
END
$$;
--> statement-breakpoint
SELECT realtime_enable('projects');
--> statement-breakpoint
SELECT realtime_enable('extraction_jobs');
--> statement-breakpoint
SELECT realtime_enable('extraction_results');
--> statement-breakpoint
SELECT realtime_enable('data_layers');
--> statement-breakpoint
SELECT realtime_enable('supplier_matches');
--> statement-breakpoint
-- The outbox is insert-only for writers: only the replicator's stamp (seq, committed_at)
-- may change a row, and only once. Column triggers keep this free for the stamp itself.
CREATE OR REPLACE FUNCTION change_outbox_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_NAME = 'change_outbox_restamp' THEN
    RAISE EXCEPTION 'change_outbox row % already has seq %; a seq is assigned once', OLD.id, OLD.seq
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RAISE EXCEPTION 'change_outbox is insert-only: column updates other than the stamp are refused'
    USING HINT = 'Write to the realtime table instead; its trigger records the change.';
END
$$;
--> statement-breakpoint
CREATE TRIGGER change_outbox_immutable
  BEFORE UPDATE OF id, table_name, op, row_id, new_row, old_row, txid, actor, db_user, application_name, created_at
  ON change_outbox FOR EACH ROW EXECUTE FUNCTION change_outbox_guard();
--> statement-breakpoint
CREATE TRIGGER change_outbox_restamp
  BEFORE UPDATE OF seq ON change_outbox
  FOR EACH ROW WHEN (OLD.seq IS NOT NULL AND NEW.seq IS DISTINCT FROM OLD.seq)
  EXECUTE FUNCTION change_outbox_guard();
--> statement-breakpoint
-- Inserts only: stamping (an UPDATE) must not echo back into the stream. Only the id
-- column (Postgres 15 column lists): the replicator needs nothing else from the WAL, and
-- decoding less keeps the stream fast whatever the size of the rows. Creating it needs
-- no wal_level=logical, so a database without logical replication migrates too.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'realtime_outbox') THEN
    CREATE PUBLICATION realtime_outbox FOR TABLE change_outbox (id) WITH (publish = 'insert');
  END IF;
END
$$;
--> statement-breakpoint
-- One row for operators and health checks: what the replicator does and how far behind
-- it is, from the database alone (npm run outbox -- stats reads it too).
CREATE OR REPLACE VIEW realtime_status AS
SELECT
  s.mode,
  s.reason,
  s.leader,
  s.leader_since,
  s.notify_enabled,
  s.updated_at,
  greatest((SELECT max(seq) FROM change_outbox), s.pruned_through) AS head_seq,
  greatest(s.pruned_through, (SELECT min(seq) - 1 FROM change_outbox WHERE seq IS NOT NULL)) AS retention_floor,
  (SELECT count(*) FROM change_outbox WHERE seq IS NULL) AS backlog,
  s.slot_name,
  slot.wal_status AS slot_wal_status,
  slot.confirmed_flush_lsn AS acked_lsn,
  CASE WHEN slot.confirmed_flush_lsn IS NOT NULL
       THEN pg_wal_lsn_diff(pg_current_wal_lsn(), slot.confirmed_flush_lsn)::bigint END AS slot_lag_bytes
FROM realtime_state s
LEFT JOIN pg_replication_slots slot ON slot.slot_name = s.slot_name AND slot.database = current_database()
WHERE s.id = 1;
