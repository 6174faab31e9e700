// The channels a gateway serves (PG_CHANNELS) and their columns, read from the database
// at start-up, so that a filter on a column that does not exist is refused by name.
import type pg from 'pg';

export async function loadChannelColumns(pool: pg.Pool, channels: string[]): Promise<Map<string, Set<string>>> {
  const { rows } = await pool.query<{ table_name: string; column_name: string; streamed: boolean }>(
    `SELECT c.table_name, c.column_name,
            EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = format('%I', c.table_name)::regclass AND t.tgname = 'realtime_change') AS streamed
     FROM information_schema.columns c
     WHERE c.table_schema = 'public' AND c.table_name = ANY($1)`,
    [channels],
  );
  const columns = new Map<string, Set<string>>();
  const streamed = new Set<string>();
  for (const r of rows) {
    if (!columns.has(r.table_name)) columns.set(r.table_name, new Set());
    columns.get(r.table_name)!.add(r.column_name);
    if (r.streamed) streamed.add(r.table_name);
  }
  const missing = channels.filter((c) => !columns.has(c));
  if (missing.length) throw new Error(`PG_CHANNELS names ${missing.join(', ')}, which the database has no table for; fix PG_CHANNELS or migrate`);
  const unstreamed = channels.filter((c) => !streamed.has(c));
  if (unstreamed.length) {
    throw new Error(`PG_CHANNELS names ${unstreamed.join(', ')}, whose changes are not captured; add SELECT realtime_enable('${unstreamed[0]}'); to a migration`);
  }
  return columns;
}

/**
 * The project column the capture trigger records for a table (realtime_enable's third
 * argument), or null when it records none: only then may a replay narrow by project in
 * SQL, since the outbox's project_id is what that trigger wrote.
 */
export async function loadCapturedProject(pool: pg.Pool, table: string): Promise<string | null> {
  const { rows } = await pool.query<{ args: Buffer }>(
    `SELECT t.tgargs AS args FROM pg_trigger t WHERE t.tgrelid = to_regclass(format('public.%I', $1::text)) AND t.tgname = 'realtime_change'`,
    [table],
  );
  if (!rows[0]) return null;
  // tgargs: the arguments, each ended by a zero byte (key column, then project column).
  const args = rows[0].args.toString('utf8').split('\0').slice(0, -1);
  return args[1] ?? null;
}
