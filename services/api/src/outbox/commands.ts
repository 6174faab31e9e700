// The outbox commands, shared by the CLI and the API's outbox endpoints: each
// takes a pool and writes lines; none holds more than a page of rows in memory.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type pg from 'pg';
import { FLOOR_SQL, HEAD_SQL } from '@realtime/db';
import type { HistoryEntry, OutboxStats } from '../types';
import { countQuery, diffRows, listQuery, OUTBOX_COUNT_CAP, renderTable, type ListFilters } from './parse';

export interface Out {
  line(text: string): Promise<void>;
}

export function outTo(stream: Writable): Out {
  return {
    async line(text) {
      if (!stream.write(`${text}\n`)) await once(stream, 'drain');
    },
  };
}

export type Stats = OutboxStats;

export async function stats(pool: pg.Pool, opts: { gatewayUrls: string[]; lagWarnBytes: number; backlogWarnSeconds: number }): Promise<Stats> {
  const { rows } = await pool.query(`
    SELECT s.mode, s.reason, s.leader, ${HEAD_SQL} AS head_seq, s.backlog::bigint AS backlog, s.slot_name,
           s.slot_wal_status, s.slot_lag_bytes,
           ${FLOOR_SQL} AS floor,
           (SELECT min(created_at) FROM change_outbox) AS oldest,
           (SELECT max(created_at) FROM change_outbox) AS newest,
           (SELECT extract(epoch FROM now() - min(created_at)) FROM change_outbox WHERE seq IS NULL) AS unstamped_age
    FROM realtime_status s`);
  const r = rows[0];
  const gateways = await Promise.all(
    opts.gatewayUrls.map(async (url) => {
      try {
        const res = await fetch(new URL('/status', url), { signal: AbortSignal.timeout(2000) });
        const body = (await res.json()) as { gateway?: { sockets: number; subscriptions: number } | null };
        return { url, sockets: body.gateway?.sockets ?? null, subscriptions: body.gateway?.subscriptions ?? null };
      } catch (err) {
        return { url, sockets: null, subscriptions: null, error: (err as Error).message };
      }
    }),
  );
  const s: Stats = {
    mode: r.mode,
    reason: r.reason,
    leader: r.leader,
    headSeq: Number(r.head_seq),
    backlog: Number(r.backlog),
    oldestUnstampedAgeSeconds: r.unstamped_age === null ? null : Math.round(Number(r.unstamped_age)),
    slotName: r.slot_name,
    slotStatus: r.slot_wal_status,
    slotLagBytes: r.slot_lag_bytes === null ? null : Number(r.slot_lag_bytes),
    retentionFloor: Number(r.floor),
    oldestChange: r.oldest?.toISOString() ?? null,
    newestChange: r.newest?.toISOString() ?? null,
    gateways,
    warnings: [],
  };
  if (s.mode !== 'wal') s.warnings.push(`the replicator is in ${s.mode} mode${s.reason ? `: ${s.reason}` : ''}`);
  if (s.slotLagBytes !== null && s.slotLagBytes > opts.lagWarnBytes) s.warnings.push(`slot ${s.slotName} is ${s.slotLagBytes} bytes behind (threshold ${opts.lagWarnBytes}): is the replicator running?`);
  if (s.slotStatus === 'lost') s.warnings.push(`slot ${s.slotName} was invalidated; the replicator falls back to NOTIFY mode and recreates it`);
  if ((s.oldestUnstampedAgeSeconds ?? 0) > opts.backlogWarnSeconds) s.warnings.push(`${s.backlog} change(s) unstamped, the oldest for ${s.oldestUnstampedAgeSeconds} s`);
  for (const g of gateways) if (g.error) s.warnings.push(`gateway ${g.url} unreachable: ${g.error}`);
  return s;
}

export async function printStats(out: Out, s: Stats, json: boolean): Promise<void> {
  if (json) return out.line(JSON.stringify(s));
  const kv: [string, unknown][] = [
    ['mode', s.reason ? `${s.mode} (${s.reason})` : s.mode],
    ['leader', s.leader ?? '-'],
    ['head seq', s.headSeq],
    ['unstamped backlog', s.oldestUnstampedAgeSeconds === null ? s.backlog : `${s.backlog} (oldest ${s.oldestUnstampedAgeSeconds} s)`],
    ['slot', s.slotName ? `${s.slotName} (${s.slotStatus ?? 'missing'})` : '-'],
    ['slot lag', s.slotLagBytes === null ? '-' : `${s.slotLagBytes} bytes`],
    ['retention floor', s.retentionFloor],
    ['oldest change', s.oldestChange ?? '-'],
    ['newest change', s.newestChange ?? '-'],
    ...s.gateways.map((g): [string, unknown] => [`gateway ${g.url}`, g.error ? `unreachable (${g.error})` : `${g.sockets} sockets, ${g.subscriptions} subscriptions`]),
  ];
  for (const [k, v] of kv) await out.line(`${k.padEnd(20)} ${String(v)}`);
  for (const w of s.warnings) await out.line(`warning: ${w}`);
}

const LIST_COLUMNS = ['id', 'seq', 'table_name', 'op', 'row_id', 'actor', 'committed_at'];

/** One page of the operators' list, and where the filtered set stands. */
export interface OutboxListPage {
  items: Record<string, unknown>[];
  /** The `before` of the next (older) page, or null at the end. */
  next: number | null;
  /** The filtered set's size, exact up to OUTBOX_COUNT_CAP; `totalCapped` when there are more. */
  total: number;
  totalCapped: boolean;
}

/**
 * One page of the filtered list (see listQuery: rows and bytes both capped), the position
 * of the next page (right below the last change returned), and the filtered set's size,
 * read in one snapshot with the page so that the two agree.
 */
export async function listRows(pool: pg.Pool, filters: ListFilters, pageBytes: number): Promise<OutboxListPage> {
  const q = listQuery(filters, pageBytes);
  const c = countQuery(filters);
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await client.query(q.text, q.values);
    const counted = await client.query<{ n: number }>(c.text, c.values);
    await client.query('COMMIT');
    const fetched = rows.length ? Number(rows[0].fetched) : 0;
    const items = rows.map(({ fetched: _, ...r }) => r);
    const n = counted.rows[0]!.n;
    return {
      items,
      next: fetched > items.length ? Number(items[items.length - 1]!.id) : null,
      total: Math.min(n, OUTBOX_COUNT_CAP),
      totalCapped: n > OUTBOX_COUNT_CAP,
    };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export async function list(pool: pg.Pool, out: Out, filters: ListFilters, pageBytes: number, json: boolean): Promise<number> {
  const { items, next, total, totalCapped } = await listRows(pool, filters, pageBytes);
  if (json) for (const r of items) await out.line(JSON.stringify(r));
  else {
    await out.line(renderTable(items, LIST_COLUMNS));
    const of = totalCapped ? `over ${OUTBOX_COUNT_CAP}` : String(total);
    await out.line(`${items.length} of ${of} change(s)${next !== null ? ` (older ones with --before ${next})` : ''}`);
  }
  return items.length;
}

/** Every change of one row, oldest first, each with the columns it changed. */
/** A row's changes, oldest first; with `latest`, only that many of the most recent. */
export async function historyRows(pool: pg.Pool, table: string, rowId: string, latest?: number): Promise<HistoryEntry[]> {
  const { rows } = await pool.query(
    `SELECT * FROM (
       SELECT id, seq, op, actor, created_at, committed_at, txid::text AS txid, new_row, old_row FROM change_outbox
       WHERE table_name = $1 AND row_id = $2 ORDER BY id DESC LIMIT $3) h
     ORDER BY id`,
    [table, rowId, latest ?? null],
  );
  return rows.map((r) => ({
    seq: r.seq === null ? null : Number(r.seq),
    op: r.op,
    actor: r.actor,
    committedAt: r.committed_at?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
    txid: r.txid,
    changes: diffRows(r.old_row, r.new_row),
  }));
}

export async function history(pool: pg.Pool, out: Out, table: string, rowId: string, json: boolean): Promise<number> {
  const rows = await historyRows(pool, table, rowId);
  for (const r of rows) {
    if (json) {
      await out.line(JSON.stringify(r));
      continue;
    }
    await out.line(`seq ${r.seq ?? '(unstamped)'}  ${r.op}  by ${r.actor ?? '(no actor)'}  at ${r.committedAt ?? r.createdAt}  txid ${r.txid}`);
    for (const c of r.changes) await out.line(`    ${c.column}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`);
  }
  if (!json && rows.length === 0) await out.line(`no changes recorded for ${table} ${rowId}`);
  return rows.length;
}

/** Every change as NDJSON, oldest first, a page at a time (any size, bounded memory). */
export async function exportAll(pool: pg.Pool, out: Out, f: { table?: string; fromSeq?: number; toSeq?: number }, page = 2000): Promise<number> {
  let after = 0;
  let n = 0;
  for (;;) {
    const { rows } = await pool.query(
      `SELECT id, seq, table_name, op, row_id, actor, db_user, application_name, txid::text AS txid, created_at, committed_at, new_row, old_row
       FROM change_outbox WHERE id > $1 AND ($2::text IS NULL OR table_name = $2)
         AND ($3::bigint IS NULL OR seq >= $3) AND ($4::bigint IS NULL OR seq <= $4)
       ORDER BY id LIMIT $5`,
      [after, f.table ?? null, f.fromSeq ?? null, f.toSeq ?? null, page],
    );
    for (const r of rows) await out.line(JSON.stringify({ ...r, id: Number(r.id), seq: r.seq === null ? null : Number(r.seq) }));
    n += rows.length;
    if (rows.length < page) return n;
    after = Number(rows[rows.length - 1].id);
  }
}

export interface PrunePlan {
  /** Stamped changes with seq below this go; the highest of them (toSeq) becomes the floor. */
  belowSeq: number;
  count: number;
  fromSeq: number | null;
  toSeq: number | null;
}

/**
 * What a prune would remove: always a prefix of the stamped seqs (so the floor stays one
 * number) and never an unstamped row. `olderThan` keeps every change from the first one
 * committed at or after the cutoff.
 */
export async function planPrune(pool: pg.Pool, by: { belowSeq?: number; olderThanMs?: number }): Promise<PrunePlan> {
  let belowSeq = by.belowSeq;
  if (belowSeq === undefined) {
    const cutoff = new Date(Date.now() - by.olderThanMs!);
    const { rows } = await pool.query(
      `SELECT coalesce((SELECT min(seq) FROM change_outbox WHERE seq IS NOT NULL AND coalesce(committed_at, created_at) >= $1),
                       (SELECT max(seq) + 1 FROM change_outbox WHERE seq IS NOT NULL), 0)::bigint AS below`,
      [cutoff],
    );
    belowSeq = Number(rows[0].below);
  }
  const { rows } = await pool.query(`SELECT count(*)::bigint AS n, min(seq)::bigint AS lo, max(seq)::bigint AS hi FROM change_outbox WHERE seq IS NOT NULL AND seq < $1 AND ${PRUNABLE}`, [belowSeq]);
  return { belowSeq, count: Number(rows[0].n), fromSeq: rows[0].lo === null ? null : Number(rows[0].lo), toSeq: rows[0].hi === null ? null : Number(rows[0].hi) };
}

/**
 * Membership changes are never pruned: the gateway decides what a user may see at any seq
 * from their whole grant history, and they are few.
 */
const PRUNABLE = `table_name <> 'project_members'`;

export async function prune(pool: pg.Pool, plan: PrunePlan, batch = 10_000): Promise<number> {
  // The floor moves first: a client that asks for a pruned seq is told to resync even
  // if this is interrupted half way.
  if (plan.toSeq !== null) await pool.query(`UPDATE realtime_state SET pruned_through = greatest(pruned_through, $1) WHERE id = 1`, [plan.toSeq]);
  let deleted = 0;
  for (;;) {
    const { rowCount } = await pool.query(
      `DELETE FROM change_outbox WHERE id IN (
         SELECT id FROM change_outbox WHERE seq IS NOT NULL AND seq < $1 AND ${PRUNABLE} ORDER BY seq LIMIT $2)`,
      [plan.belowSeq, batch],
    );
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < batch) return deleted;
  }
}

/** Follows new stamped changes (like tail -f) until `count` were printed or the signal aborts. */
export async function tail(pool: pg.Pool, out: Out, f: { table?: string; fromSeq?: number; count?: number; json: boolean; pollMs?: number; signal?: AbortSignal }): Promise<number> {
  let after = f.fromSeq ?? Number((await pool.query(`SELECT ${HEAD_SQL} AS h`)).rows[0].h);
  let printed = 0;
  while (!f.signal?.aborted) {
    const { rows } = await pool.query(
      `SELECT seq, table_name, op, row_id, actor, committed_at, new_row, old_row FROM change_outbox
       WHERE seq > $1 AND ($2::text IS NULL OR table_name = $2) ORDER BY seq LIMIT 500`,
      [after, f.table ?? null],
    );
    for (const r of rows) {
      after = Number(r.seq);
      if (f.json) await out.line(JSON.stringify({ ...r, seq: Number(r.seq) }));
      else await out.line(`${String(r.seq).padStart(8)}  ${r.committed_at.toISOString()}  ${r.op.padEnd(6)}  ${r.table_name} ${r.row_id}  by ${r.actor ?? '-'}`);
      if (f.count !== undefined && ++printed >= f.count) return printed;
    }
    if (rows.length === 0) await new Promise((r) => setTimeout(r, f.pollMs ?? 500));
  }
  return printed;
}
