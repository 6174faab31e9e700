// The naive design the outbox replaces, as the benchmarks' baseline: a trigger that
// sends the whole row through pg_notify on every write, for a listener to broadcast.
// No outbox, no seq, no replay; a row over NOTIFY's 8000-byte limit fails its write.
import type pg from 'pg';
import { loadStreamedTables, type ChangeOp } from '@realtime/db';

export const NAIVE_CHANNEL = 'naive_change';

/** What the naive trigger sends: the row as JSON, and the time the trigger ran. */
export interface NaivePayload {
  table: string;
  op: ChangeOp;
  row: Record<string, unknown> | null;
  old: Record<string, unknown> | null;
  committedAt: string;
}

// clock_timestamp() is when the trigger ran, a little before the commit: the baseline's
// latency includes the rest of its transaction, which for one INSERT statement is short.
const FUNCTION_SQL = `
CREATE OR REPLACE FUNCTION naive_notify_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${NAIVE_CHANNEL}', json_build_object(
    'table', TG_TABLE_NAME,
    'op', TG_OP,
    'row', CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END,
    'old', CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) END,
    'committedAt', clock_timestamp()
  )::text);
  RETURN NULL;
END
$$`;

/** Installs the naive trigger on `tables`; the outbox trigger stays where it is. */
export async function installNaiveTrigger(client: pg.ClientBase, tables: readonly string[]): Promise<void> {
  await client.query(FUNCTION_SQL);
  for (const t of tables) {
    await client.query(`CREATE OR REPLACE TRIGGER naive_change AFTER INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION naive_notify_row()`);
  }
}

/** The baseline database: every streamed table with the naive trigger instead of the outbox's. */
export async function makeNaiveDatabase(client: pg.ClientBase): Promise<void> {
  // The migrations declare the streamed tables; the catalog is the list.
  const tables = [...(await loadStreamedTables(client)).keys()];
  for (const t of tables) await client.query(`SELECT realtime_disable($1)`, [t]);
  await installNaiveTrigger(client, tables);
}
