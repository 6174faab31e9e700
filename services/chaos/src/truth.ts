// What the checker holds the run to, read from the database once nothing writes: the
// outbox's changes of the subscribed channels, the membership history, where each
// subscription's debt starts, and whether the outbox replays to the tables as they are.
import { HEAD_SQL, type StreamedTable } from '@realtime/db';
import { membershipHistory, readCursor, type EpochFrom, type MemberChange, type Memberships, type OutboxChange } from './checker';
import type { Stack } from './stack';
import type { Epoch, Subscriber } from './subscriber';
import { tables } from './workload';

export interface Truth {
  /** The streamed changes by table, in seq order, with the columns the rules read. */
  byTable: Map<string, OutboxChange[]>;
  memberChanges: MemberChange[];
  history: Memberships;
  head: number;
}

/** The outbox once everything is stamped: the changes of the subscribed channels and the membership history. */
export async function readTruth(s: Stack, catalog: ReadonlyMap<string, StreamedTable>, subs: readonly Subscriber[]): Promise<Truth> {
  const projectColumns = [...catalog.values()].flatMap((t) => (t.projectColumn ? [t.projectColumn] : []));
  const columns = [...new Set(['id', ...projectColumns, ...subs.flatMap((x) => Object.keys(x.spec.filter))])];
  const channels = [...new Set(subs.map((x) => x.spec.channel))];
  const side = (col: 'old_row' | 'new_row') => `CASE WHEN ${col} IS NULL THEN NULL ELSE (SELECT jsonb_object_agg(k, ${col} ->> k) FROM unnest($1::text[]) k) END`;
  const changes = await s.query<OutboxChange>(
    `SELECT seq::int AS seq, table_name AS table, op, ${side('old_row')} AS old, ${side('new_row')} AS new FROM change_outbox WHERE seq IS NOT NULL AND table_name = ANY($2) ORDER BY seq`,
    [columns, channels],
  );
  const byTable = new Map<string, OutboxChange[]>();
  for (const c of changes) {
    if (!byTable.has(c.table)) byTable.set(c.table, []);
    byTable.get(c.table)!.push(c);
  }
  const memberChanges = await s.query<MemberChange>(
    `SELECT seq::int AS seq, op, coalesce(new_row ->> 'user_id', old_row ->> 'user_id') AS "userId", coalesce(new_row ->> 'project_id', old_row ->> 'project_id') AS "projectId"
     FROM change_outbox WHERE table_name = 'project_members' AND seq IS NOT NULL ORDER BY seq`,
  );
  const [h] = await s.query<{ head: number }>(`SELECT (${HEAD_SQL})::int AS head`);
  return { byTable, memberChanges, history: membershipHistory(memberChanges), head: h!.head };
}

/** The key an epoch's start is cached under (epochs from the same list share it). */
export function fromKey(e: Epoch): string {
  return 'since' in e.start ? `since ${e.start.since}` : e.start.cursor;
}

/**
 * Where an epoch's debt starts: after its `since`, or after its list's head seq except
 * the changes whose transaction the list's snapshot already saw (Postgres decides that,
 * with pg_visible_in_snapshot).
 */
export async function epochFrom(s: Stack, e: Epoch): Promise<EpochFrom> {
  if ('since' in e.start) return { after: e.start.since, inList: new Set() };
  const c = readCursor(e.start.cursor);
  const rows = await s.query<{ seq: number }>(`SELECT seq::int AS seq FROM change_outbox WHERE seq > $1 AND pg_visible_in_snapshot(txid, $2::pg_snapshot)`, [c.head, c.snapshot]);
  return { after: c.head, inList: new Set(rows.map((row) => row.seq)) };
}

/** Atomic capture: the last outbox image of every row is the row in its table, and deleted rows are gone. */
export async function outboxReplaysToTables(s: Stack): Promise<number> {
  let mismatched = 0;
  for (const t of [...tables, 'project_members']) {
    const [row] = await s.query<{ n: number }>(
      // An UPDATE that changed the primary key also ends the old key's row.
      `WITH ev AS (SELECT row_id, seq, op, new_row FROM change_outbox WHERE table_name = $1
         UNION ALL SELECT old_row ->> 'id', seq, 'DELETE', NULL FROM change_outbox WHERE table_name = $1 AND op = 'UPDATE' AND old_row ->> 'id' IS DISTINCT FROM row_id),
       last AS (SELECT DISTINCT ON (row_id) row_id, op, new_row FROM ev ORDER BY row_id, seq DESC)
       SELECT count(*)::int AS n FROM (SELECT row_id, new_row FROM last WHERE op <> 'DELETE') a
       FULL JOIN (SELECT id::text AS row_id, to_jsonb(x) AS cur FROM ${t} x) b USING (row_id)
       WHERE a.new_row IS DISTINCT FROM b.cur`,
      [t],
    );
    mismatched += row!.n;
  }
  return mismatched;
}
