-- The publication now sends what a change needs, not only its id, so that the replicator
-- can deliver a whole transaction numbered from the WAL before its stamp statement runs
-- (services/replicator/src/sequencer/early.ts). Still inserts only, and still a column
-- list: seq, committed_at and the columns only operators read stay out of the stream.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'realtime_outbox') THEN
    ALTER PUBLICATION realtime_outbox SET TABLE change_outbox (id, table_name, op, row_id, new_row, old_row, txid, actor, row_bytes);
  ELSE
    CREATE PUBLICATION realtime_outbox FOR TABLE change_outbox (id, table_name, op, row_id, new_row, old_row, txid, actor, row_bytes) WITH (publish = 'insert');
  END IF;
END
$$;
