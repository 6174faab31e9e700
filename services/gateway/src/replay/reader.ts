// Reading the stamped outbox for replay: a page at a time, by seq, bounded above by the
// head read when the replay began; the filter's columns are pushed down as parameters
// (old or new row, so that moves are found), then routed exactly in memory.
import type pg from 'pg';
import type { Filter } from '@realtime/protocol';
import { toFeedChange, type FeedChange } from '../feed';

export async function readBounds(pool: pg.Pool): Promise<{ head: number; floor: number }> {
  // head and floor survive pruning: realtime_state.pruned_through records what went.
  const { rows } = await pool.query<{ head: string; floor: string }>(
    `SELECT head_seq AS head, coalesce(retention_floor, 0) AS floor FROM (
       SELECT greatest((SELECT max(seq) FROM change_outbox), s.pruned_through, 0) AS head_seq,
              greatest(s.pruned_through, (SELECT min(seq) - 1 FROM change_outbox WHERE seq IS NOT NULL)) AS retention_floor
       FROM realtime_state s WHERE s.id = 1) b`,
  );
  return { head: Number(rows[0]?.head ?? 0), floor: Number(rows[0]?.floor ?? 0) };
}

export async function readPage(pool: pg.Pool, q: { channel: string; after: number; upTo: number; limit: number; filter?: Filter }): Promise<FeedChange[]> {
  const params: unknown[] = [q.after, q.upTo, q.channel, q.limit];
  const pushdown: string[] = [];
  for (const [column, value] of Object.entries(q.filter ?? {})) {
    if (value === null) continue;
    params.push(column, String(value));
    const c = `$${params.length - 1}`;
    const v = `$${params.length}`;
    pushdown.push(`(new_row ->> ${c} = ${v} OR old_row ->> ${c} = ${v})`);
  }
  const { rows } = await pool.query(
    `SELECT seq, table_name, op, new_row, old_row, txid::text AS txid, committed_at FROM change_outbox
     WHERE seq > $1 AND seq <= $2 AND table_name = $3 ${pushdown.map((p) => `AND ${p}`).join(' ')}
     ORDER BY seq LIMIT $4`,
    params,
  );
  return rows.map(toFeedChange);
}
