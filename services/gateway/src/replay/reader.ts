// Reading the stamped outbox for replay: a page at a time, by seq, bounded above by the
// head read when the replay began; the filter's columns are pushed down as parameters
// (old or new row, so that moves are found), then routed exactly in memory.
import type pg from 'pg';
import type { Filter } from '@realtime/protocol';
import { toFeedChange, type FeedChange } from '../feed';

export async function readBounds(pool: pg.Pool): Promise<{ head: number; floor: number }> {
  const { rows } = await pool.query<{ head: string | null; low: string | null }>(
    `SELECT max(seq) AS head, min(seq) AS low FROM change_outbox WHERE seq IS NOT NULL`,
  );
  const head = Number(rows[0]?.head ?? 0);
  const low = rows[0]?.low === null || rows[0]?.low === undefined ? head + 1 : Number(rows[0].low);
  // Every seq at or below the floor is gone (pruned); since must not be below it.
  return { head, floor: low - 1 };
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
