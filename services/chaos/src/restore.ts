// The restore fault's two halves, as services/gateway/test/history.pg.test.ts does them
// (the embedded server has no pg_dump of its version): a backup is the streamed tables,
// change_outbox and realtime_state copied into a scratch schema in one REPEATABLE READ
// snapshot, with the outbox id sequence's position; a restore puts exactly those rows back
// as the superuser with `session_replication_role = replica` (no trigger fires, as in
// pg_restore's data load), resets the sequence and drops the replication slot (a database
// loaded from a dump has none; the replicator makes it again and scans for unstamped rows).
// Users and sessions are left alone: the run's sign-ins outlive the restore, as a deployment
// that restores only its data would have them.
import type pg from 'pg';
import type { Stack } from './stack';
import { waitFor } from './stack';

const SCHEMA = 'chaos_backup';

/** The tables a backup holds: the streamed ones (the catalog's), change_outbox and realtime_state. */
export const backedUp = (streamed: Iterable<string>) => [...new Set([...streamed, 'change_outbox', 'realtime_state'])].sort();

async function columnsOf(c: pg.Client, table: string): Promise<string[]> {
  const { rows } = await c.query<{ name: string }>(
    `SELECT quote_ident(a.attname) AS name FROM pg_attribute a WHERE a.attrelid = ('public.' || quote_ident($1))::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum`,
    [table],
  );
  return rows.map((r) => r.name);
}

/** Copies `tables` and the outbox id sequence in one snapshot; returns the head seq the copy holds. */
export async function takeBackup(s: Stack, tables: readonly string[]): Promise<number> {
  return s.transaction(async (c) => {
    await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await c.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await c.query(`CREATE SCHEMA ${SCHEMA}`);
    for (const t of tables) await c.query(`CREATE TABLE ${SCHEMA}.${c.escapeIdentifier(t)} AS SELECT * FROM public.${c.escapeIdentifier(t)}`);
    // The identity sequence of change_outbox.id, read in the same snapshot.
    const [seq] = (await c.query<{ name: string }>(`SELECT pg_get_serial_sequence('public.change_outbox', 'id') AS name`)).rows;
    await c.query(`CREATE TABLE ${SCHEMA}.outbox_id AS SELECT $1::text AS name, last_value, is_called FROM ${seq!.name}`, [seq!.name]);
    const [h] = (await c.query<{ h: number }>(`SELECT coalesce(max(seq), 0)::int AS h FROM ${SCHEMA}.change_outbox`)).rows;
    return h!.h;
  });
}

/**
 * Puts the backup back over `tables` (every row written since is gone, every row of the
 * backup is back), the outbox id sequence where it was, and no replication slot. The
 * replicators must be stopped (their slot released) and nothing may write meanwhile.
 */
export async function restoreBackup(s: Stack, tables: readonly string[]): Promise<void> {
  await waitFor('the replication slot released', async () => Number((await s.query<{ n: string }>(`SELECT count(*) AS n FROM pg_replication_slots WHERE database = current_database() AND active`))[0]!.n) === 0, 30_000, 100);
  await s.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()`);
  await s.transaction(async (c) => {
    await c.query(`SET LOCAL session_replication_role = replica`);
    for (const t of tables) await c.query(`DELETE FROM public.${c.escapeIdentifier(t)}`);
    for (const t of tables) {
      const cols = (await columnsOf(c, t)).join(', ');
      await c.query(`INSERT INTO public.${c.escapeIdentifier(t)} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${cols} FROM ${SCHEMA}.${c.escapeIdentifier(t)}`);
    }
    await c.query(`SELECT setval(name::regclass, last_value, is_called) FROM ${SCHEMA}.outbox_id WHERE last_value IS NOT NULL`);
    await c.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
  });
}
